#!/bin/sh
# A file 5x batch.max_bytes travels in parts over consecutive batches and
# arrives whole (its hash checked before any job sees it).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
plan 11

pair low high
for n in low high; do set_conf $n batch heartbeat 0; done
set_conf low batch max_bytes 1M
start low
start high
head -c 5242880 /dev/urandom > "$T/big.bin"
echo small > "$T/small.txt"
cp "$T/big.bin" "$T/low/in/files/.big.part" && mv "$T/low/in/files/.big.part" "$T/low/in/files/big.bin"
cp "$T/small.txt" "$T/low/in/files/small.txt"
wait_for "both taken" 10 sh -c "[ \$(grep -c event=accepted '$T/low.log') -eq 2 ]"
ok "flush" "$SPOOLCTL" --root "$T/low" flush
n=$(ls "$T/low/out" | grep -c 'minisig$')
ok "it took 6 or more batches ($n)" test "$n" -ge 6
big=0
for b in "$T/low/out"/*.batch; do
	t=$(zstd -dc "$b" | wc -c)
	[ "$t" -le 1048576 ] || big=$((big + 1))
done
is "$big" 0 "no batch is over max_bytes"
like "$(grep event=split "$T/low.log")" "parts=6" "the file went in 6 parts"
carry low high
ok "high makes it whole" wait_for "assembled" 20 grep -q 'event=assembled' "$T/high.log"
ok "and delivers it" wait_for "delivered" 20 sh -c "[ \$(grep -c event=delivered '$T/high.log') -eq 2 ]"
cmp -s "$T/big.bin" "$T/high/delivered/low/big.bin"
is "$?" 0 "byte-identical"
cmp -s "$T/small.txt" "$T/high/delivered/low/small.txt"
is "$?" 0 "the small file beside it too"
is "$("$SPOOLCTL" --root "$T/high" requests --json | jq -r '[.requests[].state] | unique | join(",")')" \
    succeeded "both requests succeeded"

# batches carried in the reverse order: parts before their request
head -c 3000000 /dev/urandom > "$T/big2.bin"
cp "$T/big2.bin" "$T/low/in/files/.b2.part" && mv "$T/low/in/files/.b2.part" "$T/low/in/files/big2.bin"
wait_for "taken" 10 sh -c "[ \$(grep -c event=accepted '$T/low.log') -eq 3 ]"
"$SPOOLCTL" --root "$T/low" flush
for m in $(ls "$T/low/out"/*.minisig | sort -r); do
	b=${m%.minisig}
	cp "$b" "$T/high/import/.t" && mv "$T/high/import/.t" "$T/high/import/$(basename "$b")"
	cp "$m" "$T/high/import/.t" && mv "$T/high/import/.t" "$T/high/import/$(basename "$m")"
	rm -f "$b" "$m"
	sleep 0.2
done
ok "parts before their request: delivered" wait_for "big2" 20 test -f "$T/high/delivered/low/big2.bin"
cmp -s "$T/big2.bin" "$T/high/delivered/low/big2.bin"
is "$?" 0 "byte-identical"
