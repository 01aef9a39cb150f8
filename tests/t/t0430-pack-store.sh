#!/bin/sh
# pack takes its seq from the store and records what it sent: the batch,
# a request per file and their lineage.  A node made by spool 0.1 keeps
# counting from its store/seq/ counter files.
. "$(dirname "$0")/lib.sh"
plan 13
pair low high
cd "$T" || exit 1
printf 'one\n' > f1.txt
printf 'two\n' > f2.txt
db="$T/low/lineage.db"
q() { python3 -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print("\n".join("|".join("" if v is None else str(v) for v in r) for r in c.execute(sys.argv[2])))' "$db" "$1"; }

like "$(q "select name, key_id from peer")" "^high\|[0-9A-F]+$" "trust add recorded the peer with its key id"
ok "pack writes a batch" "$SPOOLCTL" --root "$T/low" pack --to high f1.txt f2.txt
ok "the store exists where the config says" test -f "$db"
is "$(q "select dir, peer, seq, items, state from batch")" "out|high|1|2|written" "the batch is recorded as written, seq 1"
is "$(q "select name, state, side, type, peer from request order by name")" "f1.txt|batched|submit|transfer|high
f2.txt|batched|submit|transfer|high" "a request per file, batched"
is "$(q "select count(*) from request_event")" 4 "with their history (accepted, batched)"
is "$(q "select hash from request where name = 'f1.txt'")" "$(b2sum -l 256 f1.txt | cut -d' ' -f1)" "the request keeps the file's hash"
is "$(q "select e.event, i.role, i.ref from lineage_event e join lineage_io i on i.event = e.id join request r on i.ref = 'request:' || r.id where r.name = 'f1.txt' order by e.event, i.role")" \
	"batched|used|request:$(q "select id from request where name = 'f1.txt'")
received|generated|request:$(q "select id from request where name = 'f1.txt'")" "lineage: received, then batched"
fails 1 "a pack that cannot write its output takes no seq" "$SPOOLCTL" --root "$T/low" pack --to high -o /nonexistent/x.batch f1.txt
ok "pack again" "$SPOOLCTL" --root "$T/low" pack --to high -o two.batch f1.txt
like "$(sed -n 3p two.batch.minisig)" " seq=2 " "seq 2: no gap"

# a node upgraded from spool 0.1: its counter file is taken over once
rm -f "$T/low/lineage.db"* "$T/low/store/sqlite-store"
mkdir -p "$T/low/store/seq"
printf '41\n' > "$T/low/store/seq/high"
"$SPOOLCTL" --root "$T/low" pack --to high -o old.batch f1.txt > /dev/null
like "$(sed -n 3p old.batch.minisig)" " seq=42 " "an old counter file is carried into the store"
"$SPOOLCTL" --root "$T/low" pack --to high -o old2.batch f1.txt > /dev/null
like "$(sed -n 3p old2.batch.minisig)" " seq=43 " "and the store counts on from there"
