#!/bin/sh
# The store deleted under a running daemon (issue 14, item 15): a slip
# of `rm -rf`, a cleanup script.  The daemon notices within seconds,
# takes nothing more (a file dropped stays whole in in/), says why in its
# log, status/summary.json and spoolctl; a restart is refused with the
# reason instead of starting an empty store that reuses sequence numbers;
# with the store put back, what waited goes through.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
plan 16
pair low high
set_conf low batch max_age 1s
start low
start high

echo a > "$T/low/in/files/a.txt"
ok "a batch goes out on its own" wait_for "batch" 20 sh -c "ls '$T/low/out' | grep -q minisig"
carry low high
ok "high delivers a.txt" wait_for "delivered" 20 test -f "$T/high/delivered/low/a.txt"
ok "the node named its store" grep -qx "$T/low/lineage.db" "$T/low/store/sqlite-store"
# the operator's backup, taken while the daemon runs
python3 -c 'import sqlite3,sys; s=sqlite3.connect(sys.argv[1]); d=sqlite3.connect(sys.argv[2]); s.backup(d); d.close()' \
	"$T/low/lineage.db" "$T/low.backup.db"
n0=$(ls "$T/low/archive/sent" | grep -c 'minisig$')

rm -f "$T/low/lineage.db" "$T/low/lineage.db-wal" "$T/low/lineage.db-shm"
ok "the daemon notices within seconds" wait_for "noticed" 5 grep -q 'event=error what=store reason=.*lineage.db was deleted' "$T/low.log"
like "$(grep 'what=store' "$T/low.log" | head -n 1)" "nothing more is taken.*put it back" "the log says what it does and what to do"
ok "summary.json says intake is paused, and why" wait_for "summary" 5 sh -c "jq -e '.intake == \"paused: store lost\" and (.intake_reason | test(\"lineage.db was deleted\"))' '$T/low/status/summary.json'"
t0=$(date +%s%N)
fails 1 "spoolctl status refuses the missing store" "$SPOOLCTL" --root "$T/low" status
ms=$((($(date +%s%N) - t0) / 1000000))
like "$(cat "$T/.err")" "lineage.db is missing: it was deleted or moved" "... with the reason"
ok "... within a second ($ms ms)" test "$ms" -lt 1000
ok "spoolctl made no empty store in its place" test ! -e "$T/low/lineage.db"

echo b > "$T/low/in/files/b.txt"
sleep 3
ok "a file dropped now stays in in/, whole" test "$(cat "$T/low/in/files/b.txt")" = b
is "$(ls "$T/low/archive/sent" | grep -c 'minisig$')" "$n0" "no batch written into a lost store"
ok "low still runs" alive low

stop low
fails 1 "a restart is refused" "$SPOOLD" -c "$T/low/spoold.conf" --foreground
like "$(tail -n 3 "$T/.err" "$T/low.log" | tr '\n' ' ')" "lineage.db is missing" "... saying the store is missing"

cp "$T/low.backup.db" "$T/low/lineage.db"
start low
carry_all() { carry low high; test -f "$T/high/delivered/low/b.txt"; }
ok "with the store put back, b.txt goes through" wait_for "b delivered" 30 carry_all
