#!/bin/sh
# gc applies [retention]: old archives, results, status files, jobs and
# the blobs of answered requests go; what is still moving stays.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
plan 16

pair low high
for n in low high; do
	set_conf $n batch heartbeat 0
	for k in archive results status jobs; do set_conf $n retention $k 1s; done
done
start low
start high
echo "first" > "$T/low/in/files/first.txt"
wait_for "taken" 10 grep -q 'name=first.txt' "$T/low.log"
"$SPOOLCTL" --root "$T/low" flush
carry low high
wait_for "answered" 20 grep -q 'event=answered' "$T/high.log"
"$SPOOLCTL" --root "$T/high" flush
carry high low
ok "the round trip completes" wait_for "result" 20 grep -q 'event=result' "$T/low.log"
# a new drop that is not batched yet must survive gc
echo "second" > "$T/low/in/files/second.txt"
wait_for "taken" 10 grep -q 'name=second.txt' "$T/low.log"
sleep 2
ok "gc on low (through the daemon)" "$SPOOLCTL" --root "$T/low" gc
like "$(cat "$T/.out")" "blobs: [1-9]" "it removed blobs"
is "$(ls "$T/low/archive/sent" "$T/low/archive/received" | grep -c batch)" 0 "archives expired"
is "$(ls "$T/low/results" | grep -vc by-name)" 0 "results expired"
is "$(find "$T/low/results/by-name" -type l | wc -l)" 0 "no link left dangling"
h=$(b2sum -l 256 "$T/low/in/files/second.txt" 2>/dev/null | cut -d' ' -f1)
is "$(ls "$T/low/status" | grep -c '^[0-9a-f]\{8\}-.*\.json$')" 1 "only the pending request's status file is left"
stop high
# a blob file the store never recorded (a crash, a refused import)
mkdir -p "$T/high/store/blobs/ab"
stray="$T/high/store/blobs/ab/ab$(printf '%062d' 7)"
fresh="$T/high/store/blobs/ab/ab$(printf '%062d' 8)"
echo stray > "$stray"
echo fresh > "$fresh"
touch -d '2 hours ago' "$stray"
ok "gc on high without its daemon" "$SPOOLCTL" --root "$T/high" --json gc
is "$(jq .jobs "$T/.out")" 1 "the finished job is pruned"
is "$("$SPOOLCTL" --root "$T/high" jobs --json | jq '.jobs | length')" 0 "no job left"
is "$(find "$T/high/store/blobs" -type f | wc -l)" 1 "high's blobs are gone, but for a fresh unrecorded one"
ok "an unrecorded blob file an hour old is removed" test ! -e "$stray"
ok "a fresh one is kept (it may be on its way in)" test -e "$fresh"
hf=$(b2sum -l 256 "$T/high/delivered/low/first.txt" | cut -d' ' -f1)
is "$(python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute(\"SELECT count(*) FROM lineage_event e JOIN lineage_io i ON i.event = e.id WHERE e.event = 'purged' AND i.ref = ?\", ('file:' + sys.argv[2],)).fetchone()[0])" "$T/high/lineage.db" "$hf")" \
    1 "lineage records the blob purged"
start high
"$SPOOLCTL" --root "$T/low" flush
carry low high
ok "the pending file still goes through" wait_for "second" 20 test -f "$T/high/delivered/low/second.txt"
is "$(cat "$T/high/delivered/low/second.txt")" second "intact"
