#!/bin/sh
# Workers die mid-task: on SQLite and on PostgreSQL, 20,000 tasks (jobs of
# three stages, the middle one planning the last) run on 4 `storetool work`
# processes while a killer sends SIGKILL to a random one every 0.05-0.2 s
# and starts another under a new name, for the whole run.  Afterwards
# `storetool check` reads the store directly: every task completed exactly
# once, by the worker that held its lease, none lost, none left running,
# every stage counted right.  A missing PostgreSQL server is a failure.
#   QUEUE_TASKS=20000  QUEUE_LIMIT=150 (seconds a backend may take)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
plan 17
ST="$SPOOL_BUILD/storetool"
TASKS=${QUEUE_TASKS:-20000}
LIMIT=${QUEUE_LIMIT:-150}
SLOTS="1 2 3 4"

# rnd LO HI: a random integer in [LO, HI]
rnd() {
	echo $(($1 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % ($2 - $1 + 1)))
}

# start SLOT: a new worker in SLOT under a fresh name (odd slots
# complete and claim in one transaction: --fused).  Its pid goes to
# $W/SLOT.pid before it runs, its exit status to $W/SLOT.rc when it ends.
start() {
	gen=$((gen + 1))
	name="w$1-$gen"
	rm -f "$W/$1.pid" "$W/$1.rc"
	(
		sh -c 'echo $$ > "$1.tmp" && mv "$1.tmp" "$1" && shift &&
		    exec "$@"' _ "$W/$1.pid" "$ST" work "$URL" --worker "$name" \
		    --batch 10 --lease 1000 --backoff 100 --fused $(($1 % 2)) \
		    > "$W/$name.log" 2>&1
		echo $? > "$W/$1.rc.tmp" && mv "$W/$1.rc.tmp" "$W/$1.rc"
	) &
	k=0
	while [ ! -s "$W/$1.pid" ] && [ $k -lt 500 ]; do sleep 0.01; k=$((k + 1)); done
}

# wait_rc SLOT: until SLOT's worker has ended (at most 20 s); its status
wait_rc() {
	k=0
	while [ ! -e "$W/$1.rc" ] && [ $k -lt 2000 ]; do sleep 0.01; k=$((k + 1)); done
	cat "$W/$1.rc" 2>/dev/null || echo none
}

# run LABEL URL: six test points, whatever happens
run() {
	label=$1 URL=$2
	W="$T/$label"
	mkdir -p "$W"
	gen=0 kills=0 odd="" hung=0
	ok "$label: seed $TASKS tasks" timeout 120 "$ST" seed "$URL" "$TASKS" \
		--attempts 100
	diag "$(cat "$T/.out")"
	t0=$(date +%s)
	for s in $SLOTS; do start "$s"; done
	while :; do
		running=0
		for s in $SLOTS; do [ -e "$W/$s.rc" ] || running=$((running + 1)); done
		[ "$running" -eq 0 ] && break
		if [ $(($(date +%s) - t0)) -ge "$LIMIT" ]; then
			hung=1
			break
		fi
		sleep "0.$(printf %03d "$(rnd 50 199)")"
		s=$(rnd 1 4)
		[ -e "$W/$s.rc" ] && continue # it finished: all work is done
		pid=$(cat "$W/$s.pid" 2>/dev/null) || continue
		kill -KILL "$pid" 2>/dev/null || continue
		rc=$(wait_rc "$s")
		case $rc in
		137) kills=$((kills + 1)); start "$s" ;;
		0) ;; # it had just finished
		*) odd="$odd $s:$rc" ;;
		esac
	done
	if [ "$hung" = 1 ]; then
		diag "$label: workers still running after ${LIMIT}s: killing them"
		for s in $SLOTS; do
			[ -e "$W/$s.rc" ] || kill -KILL "$(cat "$W/$s.pid")" 2>/dev/null
		done
	fi
	wait
	secs=$(($(date +%s) - t0))
	for s in $SLOTS; do
		rc=$(cat "$W/$s.rc" 2>/dev/null)
		[ "$rc" = 0 ] || [ "$hung" = 1 ] || odd="$odd $s:$rc"
	done
	is "$hung" 0 "$label: the workers finished within ${LIMIT}s (took ${secs}s)"
	is "${odd:-none}" none "$label: no worker failed other than by SIGKILL"
	if [ -n "$odd" ]; then
		for f in "$W"/*.log; do
			grep -v '^worker ' "$f" | sed "s|^|#   $(basename "$f"): |" | head -n 5
		done
	fi
	diag "$label: $kills workers killed and restarted in ${secs}s"
	like "$kills" '^([3-9]|[1-9][0-9]+)$' "$label: the killer killed at least 3 workers"
	ok "$label: every task completed exactly once, none lost or running" \
		timeout 120 "$ST" check "$URL" "$TASKS"
	sed 's/^/# /' "$T/.out"
	lost=$(sed -n 's/.* \([0-9][0-9]*\) leases lost and requeued.*/\1/p' "$T/.out")
	like "${lost:-0}" '^[1-9]' "$label: killed workers' leases expired and their tasks ran again"
}

run sqlite "sqlite://$T/queue.db"

# The checker is not vacuous: a task completed twice, or left running,
# fails it.
cp "$T/queue.db" "$T/bad.db"
[ ! -e "$T/queue.db-wal" ] || cp "$T/queue.db-wal" "$T/bad.db-wal"
python3 - "$T/bad.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
t = db.execute("SELECT id, attempt, lease_owner FROM task LIMIT 1").fetchone()
db.execute("INSERT INTO task_event (id, task, event, attempt, worker, time)"
           " VALUES ('dup', ?, 'completed', ?, ?, 0)", t)
db.execute("UPDATE task SET state = 'running' WHERE id = "
           "(SELECT id FROM task ORDER BY id DESC LIMIT 1)")
db.commit()
EOF
fails 1 "check fails on a doctored store" "$ST" check "sqlite://$T/bad.db" "$TASKS"
out=$(cat "$T/.out")
like "$out" '1 tasks completed more than once' "it names the task completed twice"
like "$out" '1 tasks running' "it names the task left running"

ok "a throwaway PostgreSQL cluster starts" pg_start
run postgresql "${PG_URL:-postgresql://nowhere}"
# completions take stage counters in one order: workers never deadlock
is "$(grep -c 'deadlock detected' "$PGD/server.log" 2>/dev/null)" 0 \
	"postgresql: no deadlock in the server log"
