#!/bin/sh
# Transfers go by groups (a worker claims up to 16 tasks and records their
# deliveries in one transaction): 40 small files dropped at once on low
# are each delivered once on high, in groups, and answered; big files go
# one at a time; when high's store refuses to record a group, each of
# its tasks fails as it would alone, nothing is delivered twice, and once
# the store takes them again every delivery is recorded once and
# answered.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
plan 17

pair low high
for n in low high; do
	set_conf $n batch heartbeat 0
	set_conf $n batch max_age 1s
done
# attempts enough that the refused tasks below outlast the refusal
set_conf high workers retries 20
start low
start high
DB=$T/high/lineage.db

# drop N files named PREFIX1.txt.. at once (written aside, then moved in)
drop() {
	mkdir -p "$T/src"
	i=0
	while [ $i -lt "$2" ]; do
		i=$((i + 1))
		echo "$1 $i $(od -An -N8 -tx8 /dev/urandom)" > "$T/src/$1$i.txt"
	done
	# (mv may complain that a file it moved is gone: spoold took it)
	mv "$T/src"/* "$T/low/in/files/" 2> /dev/null
	[ -z "$(ls "$T/src")" ]
}
count() { grep -c "$2" "$T/$1.log"; }
# delivered N: carry low's batches to high; high logged N deliveries
delivered() { carry low high; [ "$(count high event=delivered)" -eq "$1" ]; }
# refused: carry; high logged a task failed with the test's reason
refused() {
	carry low high
	grep 'event=task-failed' "$T/high.log" | grep -q 'refused by the test'
}
# every batch out of low reaches high, every answer out of high reaches low
shuttle() { carry low high; carry high low; }
answered() { # answered N: low has N requests completed
	shuttle
	[ "$("$SPOOLCTL" --root "$T/low" requests --json --limit 1000 |
		jq '[.requests[] | select(.state == "completed")] | length')" -eq "$1" ]
}
# the 'delivered' lineage events in high's store, read with sqlite3
delivered_events() {
	sqlite3 -cmd ".timeout 5000" "$DB" "SELECT COUNT(*) FROM lineage_event
		WHERE event = 'delivered'"
}

drop a 40
ok "40 files leave low on their own" wait_for "batch" 30 sh -c \
	"[ \$(grep -c event=accepted '$T/low.log') -eq 40 ] && ls '$T/low/out' | grep -q minisig"
ok "high delivers the 40" wait_for "40 delivered" 60 delivered 40
is "$(ls "$T/high/delivered/low" | wc -l)" 40 "40 files in delivered/low"
bad=0
for f in "$T/high/delivered/low"/*; do
	n=$(basename "$f" .txt)
	head -c 1 "$f" | grep -q a || bad=$((bad + 1))
	[ "$(cut -d' ' -f2 "$f")" = "${n#a}" ] || bad=$((bad + 1))
done
is "$bad" 0 "each holds its own bytes"
is "$(delivered_events)" 40 "one delivery recorded for each"
ok "tasks were claimed in groups" test "$(sqlite3 -cmd ".timeout 5000" "$DB" \
	"SELECT MAX(c) FROM (SELECT COUNT(*) AS c FROM task_event
	 WHERE event = 'claimed' GROUP BY worker, time)")" -gt 1
ok "low learns that all 40 completed" wait_for "answers" 60 answered 40
like "$("$SPOOLCTL" --root "$T/low" lineage a17.txt)" "delivered" \
	"low's lineage of a17.txt goes on to its delivery on high"

# three files of 20 MiB: each over the group's 16 MiB, each its own claim
mkdir -p "$T/big"
for k in 1 2 3; do
	head -c 20971520 /dev/urandom > "$T/big/c$k.bin"
	cp "$T/big/c$k.bin" "$T/src/"
done
mv "$T/src"/* "$T/low/in/files/" 2> /dev/null
ok "the three big files are delivered" wait_for "43 delivered" 120 delivered 43
bad=0
for k in 1 2 3; do
	cmp -s "$T/big/c$k.bin" "$T/high/delivered/low/c$k.bin" || bad=$((bad + 1))
done
is "$bad" 0 "... whole"
is "$(sqlite3 -cmd ".timeout 5000" "$DB" "SELECT MAX(c) FROM (SELECT COUNT(*)
	AS c FROM task_event e JOIN task t ON t.id = e.task JOIN request r ON
	t.input LIKE '%' || r.id || '%' WHERE e.event = 'claimed' AND r.name
	LIKE 'c_.bin' GROUP BY e.worker, e.time)")" 1 "... each claimed alone"

# high's store refuses to record what a delivery made
sqlite3 -cmd ".timeout 5000" "$DB" "CREATE TRIGGER t_refuse BEFORE INSERT ON lineage_entity WHEN NEW.ref LIKE 'output:%' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;"
drop b 20
ok "the group's tasks fail, with the store's reason" wait_for "failed" 60 refused
is "$(count high 'event=delivered.*b[0-9]*\.txt')" 0 "no delivery of them is logged as done"
sqlite3 -cmd ".timeout 5000" "$DB" "DROP TRIGGER t_refuse"
ok "once the store takes them, the 20 are delivered" wait_for "63 delivered" 60 delivered 63
is "$(ls "$T/high/delivered/low" | wc -l)" 63 "63 files in delivered/low, none twice"
is "$(delivered_events)" 63 "each delivery recorded once"
ok "low learns that all 63 completed" wait_for "answers" 60 answered 63
