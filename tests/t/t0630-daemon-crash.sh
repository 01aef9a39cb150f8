#!/bin/sh
# Crash: 30 rounds of SIGKILL at random moments of intake, batching and
# import on both nodes, each followed by a restart.  At the end every
# dropped file was delivered exactly once, no batch was applied twice,
# and every request came back completed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
ROUNDS=${CRASH_ROUNDS:-30}
plan 7

pair low high
for n in low high; do
	set_conf $n batch heartbeat 0
	set_conf $n batch max_age 1s
	set_conf $n batch max_items 7
done

# kill9 NODE: SIGKILL after a random 0..250 ms
rnd_sleep() { sleep "0.$(od -An -N1 -tu1 /dev/urandom | awk '{printf "%03d", $1}')"; }
kill9() {
	eval "p=\$_pid_$1"
	rnd_sleep
	kill -KILL "$p" 2> /dev/null
	wait "$p" 2> /dev/null
}
launch() {
	"$SPOOLD" -c "$T/$1/spoold.conf" --foreground 2>> "$T/$1.log" &
	eval "_pid_$1=$!"
	_pids="$_pids $!"
}

dropped=0
r=0
while [ $r -lt "$ROUNDS" ]; do
	r=$((r + 1))
	for k in 1 2 3 4 5; do
		# the fifth is big enough to become its blob in place
		n=$((k * 3001 + r))
		[ $k -eq 5 ] && n=$((1048576 + r))
		head -c $n /dev/urandom > "$T/.f"
		mv "$T/.f" "$T/low/in/files/r$r-$k"
		dropped=$((dropped + 1))
	done
	launch low
	launch high
	kill9 low
	carry low high
	kill9 high
	carry high low
done
diag "$dropped files dropped over $ROUNDS rounds of kill -9"
kills=$(grep -c 'event=starting' "$T/low.log")

# settle: both up until every request is back
start low
start high
settle() {
	carry low high
	carry high low
	[ "$("$SPOOLCTL" --root "$T/low" status --json | jq '.completed')" -eq "$dropped" ]
}
ok "every request comes back completed" wait_for "all completed" 90 settle
is "$(ls "$T/low/in/files" | wc -l)" 0 "nothing is left in the hot folder"
is "$(ls "$T/high/delivered/low" | wc -l)" "$dropped" "every file delivered once"
is "$(ls "$T/high/delivered/low" | grep -c ' (')" 0 "none delivered twice"
bad=0
for f in "$T/high/delivered/low"/*; do
	n=$(basename "$f")
	k=${n#*-}
	rr=${n%-*}
	rr=${rr#r}
	want=$((k * 3001 + rr))
	[ "$k" -eq 5 ] && want=$((1048576 + rr))
	[ "$(stat -c %s "$f")" -eq "$want" ] || bad=$((bad + 1))
done
is "$bad" 0 "each delivered file has its size"
is "$("$SPOOLCTL" --root "$T/high" batches --json --limit 100000 | jq '[.batches[] | select(.dir == "in" and .state == "received") | .seq] | (length - (unique | length))')" \
    0 "no batch applied twice"
is "$("$SPOOLCTL" --root "$T/high" requests --json --limit 100000 | jq '.requests | length')" \
    "$dropped" "high has one request per file"
diag "low started $kills times"
