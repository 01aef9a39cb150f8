#!/bin/sh
# Batches on their own (issue 11, point 1): with daemons running and
# nobody calling flush, a batch goes out as soon as max_items lines wait
# (only full batches: a burst comes out in full batches), or when the
# oldest line is max_age old; answers go back the same way.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
plan 12

pair low high
for n in low high; do set_conf $n batch heartbeat 0; done
set_conf low batch max_items 500
set_conf low batch max_age 1h
set_conf high batch max_age 1s
start low
start high

# 10,000 files dropped at once
mkdir "$T/stage"
i=0
while [ $i -lt 10000 ]; do
	i=$((i + 1))
	printf 'file %d\n' $i > "$T/stage/s$i.txt"
done
find "$T/stage" -type f -exec mv -t "$T/low/in/files" {} +
ok "10,000 files come out as 20 batches, nobody flushing" \
    wait_for "20 batches" 300 sh -c "[ \$(ls '$T/low/out' | grep -c 'minisig\$') -eq 20 ]"
j=$("$SPOOLCTL" --root "$T/low" batches --json)
is "$(printf '%s' "$j" | jq '[.batches[] | select(.dir == "out") | .items] | unique | join(",")' -r)" \
    500 "each of them holds 500 items"
is "$("$SPOOLCTL" --root "$T/low" requests --state accepted --json | jq '.requests | length')" \
    0 "nothing waits"
is "$(grep -c event=accepted "$T/low.log")" 10000 "all 10,000 were taken"

# a few files, less than max_items: they go at max_age (1 h here: not yet)
for k in 1 2 3; do echo "late $k" > "$T/low/in/files/late$k.txt"; done
ok "3 more files taken" wait_for "3 more" 20 \
    sh -c "[ \$(grep -c event=accepted '$T/low.log') -eq 10003 ]"
sleep 1
is "$(ls "$T/low/out" | grep -c 'minisig$')" 20 "a partial batch waits for its age"

# with max_age = 2s: the 3 go at the restart; the timer armed at intake
# sends the next ones
stop low
sed -i 's/^max_age = 1h$/max_age = 2s/' "$T/low/spoold.conf"
start low
ok "the 3 waiting go once the daemon knows they are old enough" \
    wait_for "batch 21" 20 test -e "$T/low/out/low-high-0000000021.batch.minisig"
is "$("$SPOOLCTL" --root "$T/low" batches --json |
    jq '.batches[] | select(.seq == 21 and .dir == "out") | .items')" 3 "batch 21 holds them"
for k in 4 5; do echo "late $k" > "$T/low/in/files/late$k.txt"; done
ok "2 files dropped later go when the oldest is 2 s old" \
    wait_for "batch 22" 20 test -e "$T/low/out/low-high-0000000022.batch.minisig"

# high answers on its own too: import, deliver, a result batch at 1 s
mkdir "$T/two"
cp "$T/low/out/low-high-000000002"[12].batch* "$T/two/"
"$SPOOLCTL" --root "$T/high" import --from "$T/two" > /dev/null
ok "high delivers them" wait_for "5 delivered" 30 \
    sh -c "[ \$(grep -c event=delivered '$T/high.log') -eq 5 ]"
ok "and its answers go out in a batch, nobody flushing" \
    wait_for "high batch" 20 test -e "$T/high/out/high-low-0000000001.batch.minisig"
ok "flush was never called" sh -c "! grep -q 'event=flush' '$T/low.log' '$T/high.log'"
