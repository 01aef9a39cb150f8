#!/bin/sh
# The vector worker into a real PostGIS: convert, create, the chunk loads
# by long-lived workers, finish.  The tables have the declared type, SRID
# 4326, a GiST index and the GeoPackage's counts (psql and ogrinfo, not
# the worker's own numbers); append adds; replace swaps atomically while
# a reader polls.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
. "$(dirname "$0")/vector-check.sh"
VD="$SPOOL_TOP/tests/data/vector"
plan 28

ok "a throwaway PostgreSQL starts" pg_start -c fsync=off
ok "with PostGIS" pg_postgis
CFG=$(jq -nc --arg u "$GIS_URL" '{postgis: $u}')

# Every layer of the job in geo.<table>: type, SRID, GiST, count.
tables_match() { # NAME
	gp="$T/$1/convert/out/$(jq -r .gpkg "$T/$1/convert/out/metadata.json")"
	jq -r '.summary.postgis.tables[] | "\(.layer)\t\(.table)\t\(.geometry_type)"' \
		"$T/$1/finish/answer.json" > "$T/$1.tables"
	[ "$(wc -l < "$T/$1.tables")" -eq "$(vec_meta "$T/$1/convert" '.layers | length')" ] || {
		echo "not every layer was loaded" >&2; return 1; }
	while IFS='	' read -r layer table gt; do
		s=${table%%.*} tn=${table#*.}
		got=$(vec_pg "SELECT upper(type) || ' ' || srid FROM geometry_columns
			WHERE f_table_schema = '$s' AND f_table_name = '$tn'")
		want="$(echo "$gt" | tr a-z A-Z) 4326"
		[ "$got" = "$want" ] || { echo "$table: '$got', want '$want'" >&2; return 1; }
		gist=$(vec_pg "SELECT count(*) FROM pg_indexes WHERE schemaname = '$s'
			AND tablename = '$tn' AND indexdef LIKE '%USING gist (geom)%'")
		[ "$gist" = 1 ] || { echo "$table: no GiST index" >&2; return 1; }
		n=$(vec_pg "SELECT count(*) FROM $table")
		g=$(vec_gpkg_count "$gp" "$layer")
		[ "$n" = "$g" ] || { echo "$table: $n rows, gpkg $g" >&2; return 1; }
	done < "$T/$1.tables"
}

for f in coutwildrnp.zip testopenfilegdb.gdb.zip test_gpx.gpx test_tin.csv curves_line.csv; do
	ok "$f: the job runs through" vec_job "p-$f" "$VD/$f" '{}' "$CFG" 2
	ok "$f: every layer in geo.<table>, declared type, SRID 4326, GiST, same count" tables_match "p-$f"
done
is "$(vec_pg "SELECT count(*) FROM geo.coutwildrnp")" 67 "geo.coutwildrnp holds the 67 features"
is "$(vec_pg "SELECT to_regclass('geo.testopenfilegdb_none')")" "" \
	"an attribute table is not loaded into PostGIS"
is "$(vec_pg "SELECT count(*) FROM pg_tables WHERE schemaname = 'geo' AND tablename LIKE 'spool_stage_%'")" 0 \
	"no staging table is left"

# append adds, replace replaces
VEC_REQ=00000000-0000-4000-8000-000000000002
ok "append: the job runs through" vec_job app "$VD/coutwildrnp.zip" '{"load_method": "append"}' "$CFG"
is "$(vec_pg "SELECT count(*), count(DISTINCT fid) FROM geo.coutwildrnp")" "134|134" \
	"append: 134 rows, fids distinct"
is "$(jq '.summary.postgis.tables[0].rows_in_table' "$T/app/finish/answer.json")" 134 \
	"the finish summary says so"
VEC_REQ=00000000-0000-4000-8000-000000000003
ok "replace: the job runs through" vec_job rep "$VD/coutwildrnp.zip" '{}' "$CFG"
is "$(vec_pg "SELECT count(*) FROM geo.coutwildrnp")" 67 "replace: 67 rows again"
ok "a finish rerun after its commit changes nothing" vec_run "$T/rep/finish"
is "$(vec_pg "SELECT count(*) FROM geo.coutwildrnp")" 67 "still 67 rows"

# an append to a table of another type is refused before loading
VEC_REQ=00000000-0000-4000-8000-000000000004
fails 1 "append of points to the polygon table is refused" vec_job bad "$VD/test_gpx.gpx" \
	'{"load_method": "append", "target_table": "coutwildrnp", "layers": "track_points"}' "$CFG"
like "$(jq -r .error "$T/bad/create/answer.json")" "cannot append to geo.coutwildrnp: it holds MULTIPOLYGON" \
	"naming both types"

# replace under a polling reader: it sees the old table or the new one
mkpts() { # FILE N
	awk -v n="$2" 'BEGIN { printf "{\"type\":\"FeatureCollection\",\"features\":[";
		for (i = 1; i <= n; i++) printf "%s{\"type\":\"Feature\",\"properties\":{\"k\":%d},\"geometry\":{\"type\":\"Point\",\"coordinates\":[%.6f,%.6f]}}",
			(i > 1 ? "," : ""), i, -170 + (i % 3400) / 10, -80 + (i % 1600) / 10;
		print "]}" }' > "$1"
}
mkpts "$T/pts.geojson" 20000
VEC_REQ=00000000-0000-4000-8000-000000000005
ok "20,000 points loaded into geo.pts" vec_job pts1 "$T/pts.geojson" '{"target_table": "pts"}' "$CFG"
mkpts "$T/pts.geojson" 30000
: > "$T/seen"
(
	while [ ! -e "$T/stop" ]; do
		psql -qAtX -d "$GIS_URL" -c "SELECT count(*) FROM geo.pts" >> "$T/seen" 2>&1
	done
) &
poller=$!
VEC_REQ=00000000-0000-4000-8000-000000000006
ok "30,000 points replace them in 30 chunks while a reader polls" \
	vec_job pts2 "$T/pts.geojson" '{"target_table": "pts", "chunk_features": 1000}' "$CFG" 2
sleep 0.3
touch "$T/stop"
wait $poller
is "$(sort -u "$T/seen" | tr '\n' ' ')" "20000 30000 " "the reader saw 20,000 or 30,000 rows, nothing between, no error"
like "$(wc -l < "$T/seen")" "^[0-9]{2,}" "in $(wc -l < "$T/seen") polls"
