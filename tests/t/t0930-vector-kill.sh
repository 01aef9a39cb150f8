#!/bin/sh
# kill -9 of a vector loader in the middle of its COPY: nothing of the
# chunk is committed; the chunk's rerun loads it; a rerun after the
# commit loads nothing; the table holds every feature exactly once
# (count and checksum of fids against the GeoPackage's, read by ogrinfo).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
. "$(dirname "$0")/vector-check.sh"
plan 13

ok "a throwaway PostgreSQL starts" pg_start -c fsync=off
ok "with PostGIS" pg_postgis
CFG=$(jq -nc --arg u "$GIS_URL" '{postgis: $u}')
N=150000
awk -v n=$N 'BEGIN { printf "{\"type\":\"FeatureCollection\",\"features\":[";
	for (i = 1; i <= n; i++) printf "%s{\"type\":\"Feature\",\"properties\":{\"k\":%d,\"s\":\"feature %d\"},\"geometry\":{\"type\":\"Point\",\"coordinates\":[%.6f,%.6f]}}",
		(i > 1 ? "," : ""), i, i, -170 + (i % 3400) / 10, -80 + (i % 1600) / 10;
	print "]}" }' > "$T/k.geojson"
P='{"chunk_features": 100000}'
W="$T/k"
mkdir -p "$W"
vec_task "$W/convert" convert "$P" "$CFG" null "$T/k.geojson" && vec_run "$W/convert"
vec_task "$W/create" create "$P" "$CFG" "$(jq -c '.next[0]' "$W/convert/answer.json")" \
	"$T/k.geojson" "$W/convert/out/k.gpkg"
ok "convert and create plan the table" vec_run "$W/create"
is "$(jq '.next | length' "$W/create/answer.json")" 2 "two chunks (100,000 and 50,000)"
vec_task "$W/c0" load "$P" "$CFG" "$(jq -c '.next[0]' "$W/create/answer.json")" "$W/convert/out/k.gpkg"
vec_task "$W/c1" load "$P" "$CFG" "$(jq -c '.next[1]' "$W/create/answer.json")" "$W/convert/out/k.gpkg"
stg=$(jq -r '.next[0].staging' "$W/create/answer.json")

# chunk 0 by a long-lived worker, killed while its COPY runs
copying() { # a loader holds the staging table for writing: its COPY runs
	[ "$(vec_pg "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
		WHERE c.relname = '$stg' AND l.mode = 'RowExclusiveLock'")" -gt 0 ]
}
wait_copy() { # in one session, polling every 2 ms for up to 60 s
	vec_pg "DO \$\$BEGIN FOR i IN 1..30000 LOOP IF EXISTS (SELECT 1 FROM pg_locks l
		JOIN pg_class c ON c.oid = l.relation WHERE c.relname = '$stg' AND
		l.mode = 'RowExclusiveLock') THEN RETURN; END IF; PERFORM pg_sleep(0.002);
		END LOOP; RAISE EXCEPTION 'no COPY seen'; END\$\$"
}
mkfifo "$W/fifo"
"$VECTOR" --area "$W/c0" < "$W/fifo" > "$W/c0.out" 2> "$W/c0.log" &
pid=$!
exec 7> "$W/fifo"
cat "$W/c0/task.json" >&7
ok "the loader is caught in its COPY" wait_copy
kill -9 $pid
wait $pid 2> /dev/null
exec 7>&-
i=0
while copying && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
is "$(vec_pg "SELECT count(*) FROM geo.$stg")/$(vec_pg "SELECT count(*) FROM geo.spool_load WHERE chunk = 0")" \
	"0/0" "killed: no row of the chunk and no record of it"
ok "the chunk's rerun succeeds" vec_run "$W/c0"
is "$(jq '.summary.postgis_load | "\(.rows) \(.already_loaded)"' "$W/c0/answer.json")" '"100000 false"' \
	"and loads its 100,000 rows"
ok "the other chunk loads" vec_run "$W/c1"
ok "chunk 0 run again (its answer lost after the commit)" vec_run "$W/c0"
is "$(jq '.summary.postgis_load.already_loaded' "$W/c0/answer.json")" true "loads nothing: already loaded"
vec_task "$W/finish" finish "$P" "$CFG" null "$W/convert/out/k.gpkg" "$W/create/out/postgis.json"
ok "finish swaps the table in" vec_run "$W/finish"
ref=$(ogrinfo -ro -q -sql "SELECT count(*) AS n, sum(fid) AS s, sum(k) AS ks FROM k" "$W/convert/out/k.gpkg" |
	sed -n 's/^ *[a-z]* (Integer[0-9]*) = //p' | tr '\n' '|')
is "$(vec_pg "SELECT count(*), sum(fid), sum(k), count(DISTINCT fid) FROM geo.k")|" "${ref}$N|" \
	"every feature exactly once: count, sum of fids and of ids as in the GeoPackage"
