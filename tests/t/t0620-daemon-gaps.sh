#!/bin/sh
# A batch lost in the middle and one lost at the tail are both reported
# as gaps (the tail through a heartbeat); resend heals them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
plan 15

pair low high
set_conf high batch heartbeat 0
set_conf low batch heartbeat 0
start low
start high

# drop FILE, flush: one batch per call
send() {
	echo "$1" > "$T/low/in/files/$1"
	wait_for "$1 taken" 10 grep -q "name=$1 " "$T/low.log"
	"$SPOOLCTL" --root "$T/low" flush
}
lose() { rm -f "$T/low/out/low-high-$(printf %010d "$1").batch"*; }
missing() { "$SPOOLCTL" --root "$T/high" status --json | jq -c '.peers.low.missing'; }

send one
send two
send three
lose 2
carry low high
ok "1 and 3 imported" wait_for "3 imported" 10 grep -q 'event=imported batch=low-high-0000000003' "$T/high.log"
is "$(missing)" "[2]" "the middle one is a gap"
like "$("$SPOOLCTL" --root "$T/high" status)" "missing from low: 2" "status names it"
ok "summary.json names it" wait_for "summary" 5 \
    sh -c "[ \"\$(jq -c .peers.low.missing '$T/high/status/summary.json')\" = '[2]' ]"

ok "resend 2" "$SPOOLCTL" --root "$T/low" resend 2
like "$(cat "$T/.out")" "low-high-0000000002.batch: back in out/" "says so"
cmp -s "$T/low/out/low-high-0000000002.batch" "$T/low/archive/sent/low-high-0000000002.batch"
is "$?" 0 "unchanged bytes"
fails 1 "resend again while it waits in out/" "$SPOOLCTL" --root "$T/low" resend 2
fails 1 "resend of a seq never sent" "$SPOOLCTL" --root "$T/low" resend 99
carry low high
ok "2 imported" wait_for "2 imported" 10 grep -q 'event=imported batch=low-high-0000000002' "$T/high.log"
is "$(missing)" "[]" "the gap is healed"
ok "two.txt delivered" wait_for "two" 10 test -f "$T/high/delivered/low/two"

# the tail: 4 is lost and nothing else goes; a heartbeat tells high
send four
lose 4
stop low
sed -i "s/^heartbeat = 0$/heartbeat = 1s/" "$T/low/spoold.conf"
start low
ok "a heartbeat is written" wait_for "heartbeat" 10 test -f "$T/low/out/low-high-0000000005.batch.minisig"
stop low
carry low high
wait_for "5 imported" 10 grep -q 'event=imported batch=low-high-0000000005' "$T/high.log"
is "$(missing)" "[4]" "the lost tail batch is a gap"
"$SPOOLCTL" --root "$T/low" resend 4 > /dev/null
carry low high
wait_for "4 imported" 10 grep -q 'event=imported batch=low-high-0000000004' "$T/high.log"
is "$(missing)" "[]" "resend heals it"
