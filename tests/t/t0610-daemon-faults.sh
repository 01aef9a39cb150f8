#!/bin/sh
# Hostile input never stops the daemon: refused drops go to rejected/
# with a reason, refused batches to quarantine/ with a reason, a replay
# is recorded as a duplicate; nothing of them is applied.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
plan 26

pair low high
for n in low high; do set_conf $n batch heartbeat 0; done
start low
start high

# ---- drops refused on low ----
R="$T/low/in/requests"
printf '{"type": "query", ' > "$T/x" && mv "$T/x" "$R/truncated.json"
head -c 2097152 /dev/zero | tr '\0' ' ' > "$T/x" && mv "$T/x" "$R/huge.json"
python3 -c 'print("[" * 5000 + "]" * 5000)' > "$T/x" && mv "$T/x" "$R/deep.json"
printf '{"type":"query","params":{"q":"\377\376"}}' > "$T/x" && mv "$T/x" "$R/latin1.json"
printf '{"type":"teleport"}' > "$T/x" && mv "$T/x" "$R/badtype.json"
printf '{"type":"query","extra":1}' > "$T/x" && mv "$T/x" "$R/unknown-key.json"
echo data > "$T/target"
ln -s "$T/target" "$T/low/in/files/link"
mkfifo "$T/low/in/files/fifo"
echo two > "$T/twolinks" && ln "$T/twolinks" "$T/low/in/files/hard"
printf 'x' > "$T/x" && mv "$T/x" "$(printf '%s/low/in/files/bad\377name' "$T")"
# symlinks, FIFOs and hard links make no close-write event: a rescan
# (what the slow timer does) takes them
"$SPOOLCTL" --root "$T/low" flush > /dev/null 2>&1

ok "10 drops rejected" wait_for "10 rejected" 20 \
    sh -c "[ \$(ls '$T/low/rejected' | grep -c 'error.json\$') -eq 10 ]"
reason() { jq -r .reason "$T/low/rejected/$1.error.json"; }
like "$(reason truncated.json)" "not a valid JSON request" "truncated JSON"
like "$(reason huge.json)" "larger than 1 MiB" "huge request"
like "$(reason deep.json)" "not a valid JSON request" "deeply nested"
like "$(reason latin1.json)" "not a valid JSON request" "not UTF-8"
like "$(reason badtype.json)" "does not match the request schema" "unknown type"
like "$(reason unknown-key.json)" "does not match the request schema" "unknown key"
like "$(reason link)" "symbolic link" "symlink"
like "$(reason fifo)" "FIFO" "fifo"
like "$(reason hard)" "hard links" "hard link"
like "$(cat "$T/low/rejected/"bad*name.error.json | jq -r .reason)" "not valid UTF-8" \
    "a file name that is not UTF-8"
is "$(jq -r '.user + " " + .folder' "$T/low/rejected/huge.json.error.json")" \
    "$(id -un) requests" "the refusal names user and folder"
is "$(cat "$T/low/rejected/truncated.json")" '{"type": "query", ' \
    "the refused file is kept as it was"
is "$("$SPOOLCTL" --root "$T/low" status --json | jq .rejected)" 10 \
    "status counts them"

# ---- batches refused on high ----
echo one > "$T/low/in/files/one.txt"
wait_for "one taken" 10 grep -q 'name=one.txt' "$T/low.log"
"$SPOOLCTL" --root "$T/low" flush
B=low-high-0000000001.batch
cp "$T/low/out/$B" "$T/good.batch"
cp "$T/low/out/$B.minisig" "$T/good.minisig"
rm -f "$T/low/out/$B"*
I="$T/high/import"
put() { # put BATCHFILE SIGFILE: into import/ under the batch's name
	cp "$1" "$I/.tmp" && mv "$I/.tmp" "$I/$B"
	cp "$2" "$I/.tmp" && mv "$I/.tmp" "$I/$B.minisig"
}
# settled N: N batches quarantined (the log line comes last, after the
# pair left import/ and the store recorded it) and import/ empty again
settled() {
	wait_for "q$1" 10 sh -c "[ \$(grep -c event=quarantined '$T/high.log') -eq $1 ] && [ -z \"\$(ls '$I')\" ]"
}

python3 -c "
import sys; b = bytearray(open('$T/good.batch','rb').read()); b[len(b)//2] ^= 1
open('$T/flip.batch','wb').write(b)"
put "$T/flip.batch" "$T/good.minisig"
ok "a bit-flipped batch is quarantined" settled 1
like "$(cat "$T/high/quarantine/"*.reason.json)" "signature" "... because its signature fails"

head -c 100 "$T/good.batch" > "$T/short.batch"
put "$T/short.batch" "$T/good.minisig"
ok "a truncated batch is quarantined" settled 2

# forged: made by a node that calls itself low but has another key
"$SPOOLCTL" init --root "$T/evil" --name low --peer high > /dev/null
echo evil > "$T/evil.txt"
"$SPOOLCTL" --root "$T/evil" trust add high "$T/high.pub" > /dev/null
"$SPOOLCTL" --root "$T/evil" pack -o "$T/forged.batch" --to high "$T/evil.txt" > /dev/null
put "$T/forged.batch" "$T/forged.batch.minisig"
ok "a forged batch is quarantined" settled 3
like "$(jq -r .reason "$T/high/quarantine/$(ls "$T/high/quarantine" | grep reason.json | sort | tail -n 1)")" \
    "key|trusted|signature" "... because low's key did not sign it"
is "$(ls "$T/high/delivered" 2> /dev/null | wc -l)" 0 "nothing of them was delivered"

put "$T/good.batch" "$T/good.minisig"
ok "the genuine batch is imported" wait_for "imported" 10 grep -q "event=imported batch=$B" "$T/high.log"
# its pair leaves import/ after the log line: a replay put before that
# is unlinked with it
wait_for "left import/" 10 sh -c "[ -z \"\$(ls '$I')\" ]"
put "$T/good.batch" "$T/good.minisig"
ok "its replay is a duplicate" wait_for "dup" 10 grep -q "event=duplicate batch=$B" "$T/high.log"
wait_for "left import/ again" 10 sh -c "[ -z \"\$(ls '$I')\" ]"
# a conflict: low's key, low's seq 1, another batch
"$SPOOLCTL" init --root "$T/clone" --name low --peer high > /dev/null
cp "$T/low/keys/"node.* "$T/clone/keys/"
"$SPOOLCTL" --root "$T/clone" trust add high "$T/high.pub" > /dev/null
echo other > "$T/other.txt"
"$SPOOLCTL" --root "$T/clone" pack -o "$T/conflict.batch" --to high "$T/other.txt" > /dev/null
put "$T/conflict.batch" "$T/conflict.batch.minisig"
ok "a conflicting batch (same seq, another id) is quarantined" settled 4
like "$(cat "$T/high/quarantine/"*.reason.json)" "conflict: seq 1 from low" "... loudly"
is "$("$SPOOLCTL" --root "$T/high" batches --json | jq -r '[.batches[] | select(.dir == "in") | .state] | sort | join(",")')" \
    "duplicate,quarantined,quarantined,quarantined,quarantined,received" "the store records each"
ok "both daemons still run" sh -c "kill -0 $_pid_low && kill -0 $_pid_high"
