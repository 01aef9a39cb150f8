#!/bin/sh
# A long queue of transfers is answered as it is delivered, not when the
# runner that delivers it has emptied it: 2,000 small files carried from
# low to high at once; once high has delivered some, its transfer runner
# is held (SIGSTOP, at a moment it holds no store lock); while it is
# held, high answers every delivery it recorded (not only those of the
# runner's last note) and low learns of them; the runner let go, all
# 2,000 are delivered and answered.
# Then high's store refuses answers while 1,200 more are delivered: once
# it takes them again, all 1,200 are answered with nothing else
# happening (answers the store refused are tried again, with high's
# runner long gone; an answer run takes more than its page of 1,000).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
plan 15

N=2000
pair low high
for n in low high; do
	set_conf $n batch heartbeat 0
	set_conf $n batch max_age 1s
done
set_conf high workers count 1
start low
start high
DB=$T/high/lineage.db

mkdir -p "$T/src"
i=0
while [ $i -lt $N ]; do
	i=$((i + 1))
	echo "f $i" > "$T/src/f$i.txt"
done
# (mv may complain that a file it moved is gone: spoold took it)
mv "$T/src"/* "$T/low/in/files/" 2> /dev/null
# low's batches hold all N
all_batched() {
	[ "$(grep -o 'event=batch-written .* items=[0-9]*' "$T/low.log" |
		sed 's/.*items=//' | awk '{ n += $1 } END { print n + 0 }')" -eq $N ]
}
ok "the $N files leave low in batches on their own" wait_for "batches" 120 \
	all_batched
carry low high
ndel() { ls "$T/high/delivered/low" 2> /dev/null | wc -l; }
started() { [ "$(ndel)" -ge 50 ]; }
ok "high starts delivering" wait_for "deliveries" 120 started

# the transfer runner: high's spoold's child that is not the supervisor
sup=$(grep 'event=supervisor-started' "$T/high.log" | tail -n 1 | sed 's/.*pid=//')
runner=$(pgrep -P "$_pid_high" | grep -vx "$sup" | head -n 1)
# the writers' queue lock (DB-wlock, a POSIX lock: /proc/locks) the
# runner holds from just before its BEGIN to just after its COMMIT
wl=$(stat -c %i "$DB-wlock")
queued() {
	awk -v p="$1" -v i="$wl" '$5 == p && $6 ~ (":" i "$") { f = 1 }
	    END { exit !f }' /proc/locks
}
held=0
k=0
while [ -n "$runner" ] && [ $k -lt 50 ]; do
	kill -STOP "$runner" 2> /dev/null || break
	# held outside a transaction: it holds no writers' lock, and the
	# store takes a writer
	if ! queued "$runner" &&
	    sqlite3 -cmd ".timeout 200" "$DB" "BEGIN IMMEDIATE; ROLLBACK;" \
	    > /dev/null 2>&1; then
		held=1
		break
	fi
	kill -CONT "$runner"
	sleep 0.05
	k=$((k + 1))
done
at=$(ndel)
ok "high's runner is held with the queue not done ($at of $N delivered)" \
	test "$held" = 1 -a "$at" -lt $N

completed() {
	"$SPOOLCTL" --root "$T/low" requests --json --limit 5000 |
		jq '[.requests[] | select(.state == "completed")] | length'
}
# every delivery high's runner recorded (and logged) before it was held
# is answered: low completes as many requests (carrying high's answers)
rec=$(grep -c 'event=delivered' "$T/high.log")
recorded_answered() { carry high low; [ "$(completed)" -ge "$rec" ]; }
ok "while it is held, low learns of the $rec deliveries it recorded" \
	wait_for "answers" 60 recorded_answered
got=$(completed)
ok "... of no more than were delivered ($got of $at)" test "$got" -le "$at"
is "$(ndel)" "$at" "... and nothing was delivered meanwhile"
ok "the runner is still there, held" kill -0 "$runner"
kill -CONT "$runner"

all_answered() { carry low high; carry high low; [ "$(completed)" -eq $N ]; }
ok "let go, high delivers all $N and low learns it" wait_for "all answered" 300 \
	all_answered
is "$(ndel)" $N "$N files in delivered/low"

# high's store refuses to put answers in its outbox
sqlite3 -cmd ".timeout 5000" "$DB" "CREATE TRIGGER t_refuse BEFORE INSERT ON outbox WHEN NEW.kind = 'result' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;"
i=0
while [ $i -lt 1200 ]; do
	i=$((i + 1))
	echo "g $i" > "$T/src/g$i.txt"
done
mv "$T/src"/* "$T/low/in/files/" 2> /dev/null
N=3200
ok "1,200 more leave low" wait_for "batches" 120 all_batched
carry low high
delivered() { [ "$(grep -c 'event=delivered' "$T/high.log")" -eq 3200 ]; }
ok "high delivers them, its store refusing their answers" wait_for "deliveries" \
	120 sh -c "grep -q 'event=error what=answer.*refused by the test' '$T/high.log'"
ok "... all 1,200" wait_for "deliveries" 120 delivered
# its runner gone (and reaped: reaping answers), high tries the answers
# again on its own, and the store still refuses
runner_gone() { ! pgrep -P "$_pid_high" | grep -vxq "$sup"; }
ok "... high's runner has exited" wait_for "the runner's exit" 60 runner_gone
t0=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
retried() {
	grep 'event=error what=answer' "$T/high.log" |
		sed 's/^time=\([^ ]*\) .*/\1/' |
		awk -v t="$t0" '$1 > t { f = 1 } END { exit !f }'
}
ok "... and high tries its answers again" wait_for "a retry" 90 retried
sqlite3 -cmd ".timeout 5000" "$DB" "DROP TRIGGER t_refuse"
# nothing is dropped, carried or delivered from here on: high answers
# on its own, and its answers are carried to low
back() { carry high low; [ "$(completed)" -eq 3200 ]; }
ok "the store taking them again, all 3,200 are answered" wait_for "answers" \
	150 back
