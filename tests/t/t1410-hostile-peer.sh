#!/bin/sh
# A trusted but hostile peer (issue 14, items 1-8): batches signed with
# the peer's real key that try to freeze the daemon, amplify themselves,
# stay in import/, deliver bytes they never carried, contradict
# themselves, rewrite lineage, ignore direction or break a refusal.  Each
# is refused (or done) within seconds with its reason in quarantine/ and
# the log, spoolctl status answers within a second throughout, nothing is
# written outside the node, and good batches around the bad ones still
# go through.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
plan 52

MK="$SPOOL_TOP/tests/tools/mkbatch.py"
F="$T/forge"
mkdir -p "$F"
pair low high
node side low
"$SPOOLCTL" --root "$T/side" key show > "$T/side.pub"
"$SPOOLCTL" --root "$T/low" trust add side "$T/side.pub" > /dev/null
printf '\n[peer side]\ndirection = receive-only\n' >> "$T/low/spoold.conf"
set_conf low batch heartbeat 1s
touch "$T/.mark"
start low

# requests of low's users, sent to high (never carried: high is forged)
for f in a b c d e f g h; do echo "file $f" > "$T/low/in/files/$f.txt"; done
wait_for "taken" 10 sh -c "[ \$(grep -c event=accepted '$T/low.log') -eq 8 ]"
ok "flush" "$SPOOLCTL" --root "$T/low" flush
"$SPOOLCTL" --root "$T/low" requests --json > "$T/reqs.json"
rid() { jq -r --arg n "$1" '.requests[] | select(.name == $n) | .id' "$T/reqs.json"; }
rhash() { "$SPOOLCTL" --root "$T/low" show "$(rid "$1")" --json | jq -r .request.hash; }

# forged batches from high (seq N), by a python generator of mkbatch jobs
HKEY="$T/high/keys/node.key"
_seq_high=0 _seq_side=0
forge() { # forge FROM KEY ARGS... < python printing the spec (seq in $SEQ, ARGS in sys.argv); sets $B
	_f=$1 _k=$2
	shift 2
	eval "_seq_$_f=\$((_seq_$_f + 1)); SEQ=\$_seq_$_f"
	B="$_f-low-$(printf %010d "$SEQ")"
	SEQ=$SEQ python3 - "$@" > "$F/spec.json" || return 1
	python3 -c 'import json,sys; print(json.dumps({"out": sys.argv[1], "spec": json.load(open(sys.argv[2])), "key": sys.argv[3]}))' \
		"$F/$B.batch" "$F/spec.json" "$_k" > "$F/job"
	python3 "$MK" --jobs "$F/job" > /dev/null
}
# feed NAME: into import/ (.batch, then .minisig), wait until it left
feed() {
	cp "$F/$1.batch" "$T/low/import/.t" && mv "$T/low/import/.t" "$T/low/import/$1.batch"
	cp "$F/$1.batch.minisig" "$T/low/import/.t" &&
		mv "$T/low/import/.t" "$T/low/import/$1.batch.minisig"
	wait_for "$1 taken" "${2:-20}" sh -c "! [ -e '$T/low/import/$1.batch' ]"
}
fast() { timeout 1 "$SPOOLCTL" --root "$T/low" status > /dev/null; }
reason() { jq -r .reason "$T/low/quarantine/$1.reason.json" 2> /dev/null; }
result() { # result JSON item for request $1 with files $2 (a JSON list)
	python3 -c 'import json,sys,uuid; print(json.dumps({"kind": "result", "id": str(uuid.uuid4()), "request": sys.argv[1], "status": "succeeded", "files": json.loads(sys.argv[2]), "lineage": []}))' "$1" "${2:-[]}"
}
PY_HEAD='import hashlib, json, os, sys, uuid
def h(b): return hashlib.blake2b(b, digest_size=32).hexdigest()
def spec(files, items, frm="high"):
    return {"from": frm, "to": "low", "seq": int(os.environ["SEQ"]), "files": files, "items": items}
def res(req, files, lineage=()):
    return {"kind": "result", "id": str(uuid.uuid4()), "request": req, "status": "succeeded", "files": list(files), "lineage": list(lineage)}
'

# 1. a good answer first
forge high "$HKEY" "$(rid a.txt)" <<EOF
$PY_HEAD
blob = b"answer for a\n"
print(json.dumps(spec([{"data": blob.decode()}], [res(sys.argv[1], [{"name": "out.txt", "size": len(blob), "blob": h(blob)}])])))
EOF
feed $B
ok "a good answer goes through" test -f "$T/low/results/$(rid a.txt)/out.txt"

# item 1: 2,000 part items standing on one blob, claiming a million parts
forge high "$HKEY" <<EOF
$PY_HEAD
blob = b"x" * 16
req = str(uuid.uuid4())
items = [{"kind": "part", "request": req, "name": "big.bin", "index": i, "count": 1000000, "offset": i * 16, "size": 16, "blob": h(blob), "file_size": 16000000, "file_blob": "0" * 64} for i in range(2000)]
print(json.dumps(spec([{"data": blob.decode()}], items)))
EOF
t0=$(date +%s)
feed $B
ok "status answers within a second" fast
ok "a blob standing for 2,000 parts is refused at once" test $(($(date +%s) - t0)) -le 5
like "$(reason $B)" "stands for two part items" "with its reason in quarantine/"
wait_for "logged" 10 grep -q "event=quarantined batch=$B" "$T/low.log"
like "$(grep "event=quarantined batch=$B" "$T/low.log")" "two part items" "and in the log"

# item 1: 20,000 part items: more than [batch] max_items, refused from the
# signed facts before a byte is parsed
forge high "$HKEY" <<EOF
$PY_HEAD
req = str(uuid.uuid4())
files, items, off = [], [], 0
for i in range(20000):
    b = b"%d\n" % i
    files.append({"data": b.decode()})
    items.append({"kind": "part", "request": req, "name": "big.bin", "index": i, "count": 1000000, "offset": off, "size": len(b), "blob": h(b), "file_size": 100000000, "file_blob": "0" * 64})
    off += len(b)
print(json.dumps(spec(files, items)))
EOF
t0=$(date +%s)
feed $B
ok "20,000 part items are refused at once" test $(($(date +%s) - t0)) -le 5
like "$(reason $B)" "batch has 20000 items, more than .batch. max_items" "said why (the default max_items is 10,000)"

# item 1: 5,000 part items, each its own blob, of a file claiming a
# million parts: linear, and the node answers all along
forge high "$HKEY" <<EOF
$PY_HEAD
req = str(uuid.uuid4())
files, items, off = [], [], 0
for i in range(5000):
    b = b"%d\n" % i
    files.append({"data": b.decode()})
    items.append({"kind": "part", "request": req, "name": "big.bin", "index": i, "count": 1000000, "offset": off, "size": len(b), "blob": h(b), "file_size": 100000000, "file_blob": "0" * 64})
    off += len(b)
print(json.dumps(spec(files, items)))
EOF
t0=$(date +%s)
cp "$F/$B.batch" "$T/low/import/.t" && mv "$T/low/import/.t" "$T/low/import/$B.batch"
cp "$F/$B.batch.minisig" "$T/low/import/.t" && mv "$T/low/import/.t" "$T/low/import/$B.batch.minisig"
slow=0
while [ -e "$T/low/import/$B.batch" ] && [ $(($(date +%s) - t0)) -lt 60 ]; do
	fast || slow=$((slow + 1))
	sleep 0.2
done
el=$(($(date +%s) - t0))
diag "5,000 part items imported in ${el}s"
is "$slow" 0 "status answered within a second all along"
ok "5,000 part items take seconds, not minutes (${el}s)" test "$el" -le 20
like "$(grep "batch=$B" "$T/low.log")" "event=imported" "and are kept, waiting for the rest"
echo late > "$T/low/in/files/late.txt"
ok "flush answers after it" timeout 10 "$SPOOLCTL" --root "$T/low" flush
ok "intake went on" wait_for "late" 10 grep -q 'name=late.txt' "$T/low.log"

# item 2: 9,000 outputs naming one 1 MiB blob
forge high "$HKEY" "$(rid b.txt)" <<EOF
$PY_HEAD
blob = b"z" * (1 << 20)
f = {"name": "o.bin", "size": len(blob), "blob": h(blob)}
print(json.dumps(spec([{"size": 1 << 20, "fill": 122}], [res(sys.argv[1], [dict(f, name="o%d.bin" % i) for i in range(9000)])])))
EOF
used0=$(du -sk "$T/low" | cut -f1)
feed $B
like "$(reason $B)" "more than this batch carries" "9,000 copies of one blob: refused"
ok "nothing of it in results/" test ! -e "$T/low/results/$(rid b.txt)"
is "$(($(du -sk "$T/low" | cut -f1) - used0 < 20000))" 1 "and the disk did not fill"

# item 2: 9,000 outputs of one name (a small blob): named in one step each
forge high "$HKEY" "$(rid b.txt)" <<EOF
$PY_HEAD
blob = b"q"
print(json.dumps(spec([{"data": "q"}], [res(sys.argv[1], [{"name": "same.txt", "size": 1, "blob": h(blob)} for i in range(9000)])])))
EOF
t0=$(date +%s)
feed $B 60
el=$(($(date +%s) - t0))
ok "9,000 outputs of one name written in ${el}s" test "$el" -le 20
is "$(ls "$T/low/results/$(rid b.txt)" | wc -l)" 9001 "each under its own name, beside result.json"
ok "status answers" fast

# item 3: an output name of 250 bytes is written; an unknown blob refused
long=$(python3 -c 'print("n" * 246 + ".txt")')
forge high "$HKEY" "$(rid c.txt)" "$long" <<EOF
$PY_HEAD
blob = b"long name\n"
print(json.dumps(spec([{"data": blob.decode()}], [res(sys.argv[1], [{"name": sys.argv[2], "size": len(blob), "blob": h(blob)}])])))
EOF
feed $B
ok "a 250-byte output name is written" test -f "$T/low/results/$(rid c.txt)/$long"
forge high "$HKEY" "$(rid d.txt)" <<EOF
$PY_HEAD
print(json.dumps(spec([], [res(sys.argv[1], [{"name": "ghost.bin", "size": 5, "blob": "7" * 64, "parts": 2}])])))
EOF
feed $B
like "$(reason $B)" "neither carries nor makes whole" "a blob that is not here: quarantined with why, not retried"
ok "import/ is empty" test -z "$(ls "$T/low/import")"

# item 4: parts naming another request's input
forge high "$HKEY" "$(rid d.txt)" "$(rhash e.txt)" <<EOF
$PY_HEAD
print(json.dumps(spec([], [res(sys.argv[1], [{"name": "stolen.txt", "size": 7, "blob": sys.argv[2], "parts": 2}])])))
EOF
feed $B
like "$(reason $B)" "neither carries nor makes whole" "another user's file is not delivered as a result"
ok "no result folder for it" test ! -e "$T/low/results/$(rid d.txt)"
is "$(grep -rl 'file e' "$T/low/results" 2> /dev/null | wc -l)" 0 "e.txt's bytes are nowhere in results/"

# item 5: two answers to one request in one batch
forge high "$HKEY" "$(rid d.txt)" <<EOF
$PY_HEAD
r1 = res(sys.argv[1], []); r1["status"] = "failed"; r1["error"] = "no"
print(json.dumps(spec([], [r1, res(sys.argv[1], [])])))
EOF
feed $B
like "$(reason $B)" "conflict: two results for request" "two answers: a conflict, quarantined"
is "$("$SPOOLCTL" --root "$T/low" show "$(rid d.txt)" --json | jq -r .request.state)" batched "the request is not answered by it"

# item 6: lineage about others
forge high "$HKEY" "$(rid d.txt)" "$(rid e.txt)" <<EOF
$PY_HEAD
ev = lambda node, user, used, gen: {"id": str(uuid.uuid4()), "event": "derived", "time": "2024-05-01T12:00:00Z", "node": node, "user": user, "used": used, "generated": gen}
job = "job:" + str(uuid.uuid4())
print(json.dumps(spec([], [res(sys.argv[1], [], [ev("mid", "mallory", ["request:" + sys.argv[1]], [job]), ev("high", "mallory", ["request:" + sys.argv[2]], ["output:" + str(uuid.uuid4())])])])))
EOF
feed $B
like "$(reason $B)" "lineage event .* (was not made on the sending node|is not about that request)" "lineage from node mid about another request: refused"
like "$("$SPOOLCTL" --root "$T/low" lineage "$(rid e.txt)")" "^" "lineage of e.txt"
is "$("$SPOOLCTL" --root "$T/low" lineage "$(rid e.txt)" --json | jq '[.. | .user? // empty] | map(select(. == "mallory")) | length')" 0 "mallory is in nobody's lineage"
forge high "$HKEY" "$(rid d.txt)" "$(rid e.txt)" <<EOF
$PY_HEAD
ev = lambda used, gen, user=None: dict({"id": str(uuid.uuid4()), "event": "derived", "time": "2024-05-01T12:00:00Z", "node": "high", "used": used, "generated": gen}, **({"user": user} if user else {}))
print(json.dumps(spec([], [res(sys.argv[1], [], [ev(["request:" + sys.argv[1]], ["request:" + sys.argv[2]])])])))
EOF
feed $B
like "$(reason $B)" "makes a request or batch" "an event making another request: refused"

# a transaction that fails after d's answer was applied and logged: the
# store refuses h's (a trigger here, a failing disk in life).  The import
# is rolled back and tried again; the log names no result the store did
# not keep, and names it once when it does.
forge high "$HKEY" "$(rid d.txt)" "$(rid h.txt)" <<EOF
$PY_HEAD
print(json.dumps(spec([], [res(sys.argv[1], []), res(sys.argv[2], [])])))
EOF
DB="$T/low/lineage.db"
sqlite3 -cmd ".timeout 5000" "$DB" "CREATE TRIGGER t_refuse BEFORE UPDATE OF state ON request WHEN NEW.id = '$(rid h.txt)' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;"
cp "$F/$B.batch" "$T/low/import/.t" && mv "$T/low/import/.t" "$T/low/import/$B.batch"
cp "$F/$B.batch.minisig" "$T/low/import/.t" && mv "$T/low/import/.t" "$T/low/import/$B.batch.minisig"
ok "the store's refusal is logged" wait_for "refused" 20 grep -q "event=error what=import .*refused by the test" "$T/low.log"
is "$(grep -c "event=result request=$(rid d.txt)" "$T/low.log")" 0 "no result is logged that the store did not keep"
sqlite3 -cmd ".timeout 5000" "$DB" "DROP TRIGGER t_refuse"
ok "the batch is taken when the store takes it" wait_for "imported" 30 grep -q "event=imported batch=$B" "$T/low.log"
is "$(grep -c "event=result request=$(rid d.txt)" "$T/low.log")" 1 "then d's result is logged, once"

# item 7: send-only means never accepted from
sed -i 's/^direction = two-way$/direction = send-only/' "$T/low/spoold.conf"
eval "kill -HUP \$_pid_low"
wait_for "reloaded" 10 grep -q event=reloaded "$T/low.log"
forge high "$HKEY" "$(rid f.txt)" <<EOF
$PY_HEAD
print(json.dumps(spec([], [res(sys.argv[1], [])])))
EOF
feed $B
like "$(reason $B)" "send-only" "a batch from a send-only peer: refused"
SENDONLY=$B
ok "not applied" test ! -e "$T/low/results/$(rid f.txt)"
sed -i 's/^direction = send-only$/direction = two-way/' "$T/low/spoold.conf"
eval "kill -HUP \$_pid_low"
wait_for "reloaded again" 10 sh -c "[ \$(grep -c event=reloaded '$T/low.log') -ge 2 ]"
# receive-only: side's request is processed but nothing is ever written to side
forge side "$T/side/keys/node.key" <<EOF
$PY_HEAD
blob = b"from side\n"
item = {"kind": "request", "id": str(uuid.uuid4()), "type": "transfer", "name": "s.txt", "user": "sid", "priority": 0, "created": "2024-05-01T12:00:00Z", "files": [{"name": "s.txt", "size": len(blob), "blob": h(blob)}]}
print(json.dumps(spec([{"data": blob.decode()}], [item], frm="side")))
EOF
feed $B
ok "side's file is delivered" wait_for "delivered" 20 test -f "$T/low/delivered/side/s.txt"
ok "its answer is held, and said" wait_for "held" 20 grep -q 'event=answer-held .*peer=side' "$T/low.log"
sleep 2
ok "flush" "$SPOOLCTL" --root "$T/low" flush
is "$(ls "$T/low/out" "$T/low/archive/sent" | grep -c '^low-side-')" 0 "no batch, heartbeat or ack to a receive-only peer"
ok "while high gets heartbeats" test -n "$(ls "$T/low/archive/sent" | grep '^low-high-')"
fails 2 "pack refuses a receive-only peer" "$SPOOLCTL" --root "$T/low" pack --to side -o "$T/x.batch" "$T/reqs.json"
like "$(cat "$T/.err")" "receive-only" "saying why"

# item 8: a pair whose name is not UTF-8
bad=$(printf 'high-low-\377\376.batch')
cp "$F/$SENDONLY.batch" "$T/low/import/.t" && mv "$T/low/import/.t" "$T/low/import/$bad"
cp "$F/$SENDONLY.batch.minisig" "$T/low/import/.t" && mv "$T/low/import/.t" "$T/low/import/$bad.minisig"
ok "a name that is not UTF-8 is quarantined" wait_for "bad name" 20 sh -c "! [ -e '$T/low/import/$bad' ]"
r=$(cat "$T/low/quarantine/"*.reason.json | jq -r 'select(.name | test("xff")) | .reason')
like "$r" "does not match the signed name" "with its reason.json (the name written \\xNN)"

# a good answer after all of them
forge high "$HKEY" "$(rid g.txt)" <<EOF
$PY_HEAD
blob = b"answer for g\n"
print(json.dumps(spec([{"data": blob.decode()}], [res(sys.argv[1], [{"name": "out.txt", "size": len(blob), "blob": h(blob)}])])))
EOF
feed $B
ok "a good answer after them goes through" test -f "$T/low/results/$(rid g.txt)/out.txt"
is "$(ls "$T/low/import" | wc -l)" 0 "import/ is empty: nothing left to retry"
is "$(ls "$T/low/quarantine" | grep -c 'reason.json$')" 10 "each refused batch has its reason.json"
ok "status answers" fast
ok "the daemon still runs" alive low
outside=$(find "$T" -newer "$T/.mark" ! -path "$T/low*" ! -path "$T/forge*" ! -path "$T/high*" ! -path "$T/side*" ! -name '.*' ! -name reqs.json ! -name low.log | grep -v "^$T\$")
is "$outside" "" "nothing written outside the node"
