#!/bin/sh
# pack that cannot lie (issue 11, point 4), next to running daemons that
# take seqs too: an output named like a batch must be the batch it
# names (this node, that peer, the seq it takes), or pack refuses
# before a seq is spent; a batch over this node's [batch] max_bytes is
# written with a warning naming what the peer must allow.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
plan 18

pair low high
for n in low high; do
	set_conf $n batch heartbeat 0
	set_conf $n batch max_age 1s
done
set_conf low batch max_bytes 1M
set_conf high batch max_bytes 1M
start low
start high
LOW="$SPOOLCTL --root $T/low"
U="$T/usb"
mkdir "$U"
echo one > "$T/one.txt"
nout() { $LOW batches --json | jq '[.batches[] | select(.dir == "out")] | length'; }

# the daemon takes seq 1
echo "dropped" > "$T/low/in/files/d.txt"
ok "the daemon writes seq 1" wait_for "seq 1" 20 test -e "$T/low/out/low-high-0000000001.batch.minisig"
fails 2 "pack -o named as seq 1 after seq 1 was used is refused" \
    $LOW pack --to high -o "$U/low-high-0000000001.batch" "$T/one.txt"
like "$(cat "$T/.err")" "^spoolctl: pack: '.*low-high-0000000001.batch' names seq 1, but the next seq to 'high' is 2: name it 'low-high-0000000002.batch'" \
    "... saying which name it would take"
is "$(nout)" 1 "no seq was spent"
is "$(ls "$U")" "" "nothing was written"
fails 2 "a batch name to another peer is refused" \
    $LOW pack --to high -o "$U/low-mid-0000000002.batch" "$T/one.txt"
like "$(cat "$T/.err")" "names a batch from 'low' to 'mid', but this one goes from 'low' to 'high'" \
    "... saying so"
ok "the name of the seq it takes is accepted" \
    $LOW pack --to high -o "$U/low-high-0000000002.batch" "$T/one.txt"
ok "any name that is not a batch name is too" \
    $LOW pack --to high -o "$U/for-high.batch" "$T/one.txt"
is "$($LOW batches --json | jq -r '[.batches[] | select(.dir == "out") | .seq] | max')" \
    3 "it took seq 3"

# carried as they are: high takes seq 2 under its name, no quarantine
"$SPOOLCTL" --root "$T/high" import --from "$U" > /dev/null
ok "high delivers seq 2" wait_for "delivered one.txt" 20 grep -q 'event=delivered.*one.txt' "$T/high.log"
is "$(ls "$T/high/quarantine" | grep -c 'reason.json$')" 0 "nothing quarantined"

# over max_bytes: written, with a warning naming the size to allow
rm -f "$U"/*
head -c 2097152 /dev/urandom > "$T/big.bin"
ok "pack of 2 MiB with max_bytes 1M writes the batch" \
    $LOW pack --to high -o "$U/low-high-0000000004.batch" "$T/big.bin"
like "$(cat "$T/.err")" "^spoolctl: pack: warning: the batch's tar is [0-9]+ bytes, over this node's \[batch\] max_bytes \(1048576\): 'high' refuses it unless its \[batch\] max_bytes is at least 3M$" \
    "a warning names the size the peer must allow"
"$SPOOLCTL" --root "$T/high" import --from "$U" > /dev/null
ok "high (max_bytes 1M) refuses it" wait_for "quarantined" 20 \
    test -e "$T/high/quarantine/low-high-0000000004.reason.json"
like "$(jq -r .reason "$T/high/quarantine/low-high-0000000004.reason.json")" "max_bytes" \
    "... because of its max_bytes"
sed -i 's/^max_bytes = 1M$/max_bytes = 3M/' "$T/high/spoold.conf"
eval "kill -HUP \$_pid_high"
wait_for "reloaded" 10 grep -q event=reloaded "$T/high.log"
cp "$T/high/quarantine/low-high-0000000004.batch" "$T/high/import/.x" &&
    mv "$T/high/import/.x" "$T/high/import/low-high-0000000004.batch"
cp "$T/high/quarantine/low-high-0000000004.batch.minisig" "$T/high/import/.x" &&
    mv "$T/high/import/.x" "$T/high/import/low-high-0000000004.batch.minisig"
ok "with the size the warning named, high takes it" wait_for "big delivered" 20 \
    grep -q 'event=delivered.*big.bin' "$T/high.log"
ok "flush was never called" sh -c "! grep -q 'event=flush' '$T/low.log' '$T/high.log'"
