#!/bin/sh
# Vector requests through two real daemons and a real PostGIS (issue 17):
# every test vector file dropped in low's in/vector/ comes back as a
# GeoPackage with the counts ogrinfo gives for the source, and high loads
# the layers into PostGIS with their declared type, SRID 4326 and a GiST
# index; trio.geojson fails naming its types and comes back as three
# layers from a split_by_type folder; 200,000 points load in >= 20 chunk
# tasks by both vector workers, every feature once, even after kill -9 of
# a loader in the middle.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
. "$(dirname "$0")/pg.sh"
. "$(dirname "$0")/vector-check.sh"
VD=$SPOOL_TOP/tests/data/vector
plan 29

ok "a PostgreSQL with PostGIS" pg_start
ok "a database with postgis" pg_postgis
pair low high
set_conf low batch max_age 1s
set_conf high batch max_age 1s
cat >> "$T/low/spoold.conf" <<EOF

[folder vsplit]
type = vector
split_by_type = yes
EOF
cat >> "$T/high/spoold.conf" <<EOF

[vector]
postgis = $GIS_URL

[workers.vector]
count = 2
retries = 6
EOF
start low
start high

drop() {
	cp "$2" "$T/low/in/$1/.$(basename "$2").part" &&
	mv "$T/low/in/$1/.$(basename "$2").part" "$T/low/in/$1/$(basename "$2")"
}
nresults() { ls "$T/low/results" | grep -c '^[0-9a-f]\{8\}-'; }
# to_high N: low's batches to high as low makes them on its own, then
# high's answers back until low has N results
to_high() {
	wait_for "$1 accepted" 20 sh -c "[ \$(grep -c event=accepted '$T/low.log') -eq $1 ]"
	wait_for "low's batch" 30 sh -c "ls '$T/low/out' | grep -q 'minisig\$'"
	carry low high
	_i=0
	while [ $_i -lt 1800 ]; do
		carry low high
		carry high low
		[ "$(nresults)" -ge "$1" ] && break
		sleep 0.1
		_i=$((_i + 1))
	done
	is "$(nresults)" "$1" "$1 results on low"
}
res() { echo "$T/low/results/by-name/$(id -un)/$1"; }

for f in coutwildrnp.zip test_tin.csv curves_line.csv trio.geojson \
    grenada.geojson test_gpx.gpx testopenfilegdb.gdb.zip; do
	drop vector "$VD/$f"
done
drop vsplit "$VD/trio.geojson"
to_high 8

r=$(res vector/coutwildrnp.zip)
is "$(jq -r .status "$r/result.json")" succeeded "coutwildrnp.zip: succeeded"
is "$(vec_gpkg_type "$r/coutwildrnp.gpkg" coutwildrnp)" "Multi Polygon" \
    "one declared MultiPolygon layer"
is "$(vec_gpkg_count "$r/coutwildrnp.gpkg" coutwildrnp)" \
    "$(vec_src_count "$VD/coutwildrnp.zip" coutwildrnp)" "67 features, as ogrinfo counts the source"
is "$(vec_pg "SELECT count(*) FROM geo.coutwildrnp")" 67 "67 rows in geo.coutwildrnp"
is "$(vec_pg "SELECT type || ' ' || srid FROM geometry_columns WHERE f_table_schema = 'geo' AND f_table_name = 'coutwildrnp'")" \
    "MULTIPOLYGON 4326" "declared MULTIPOLYGON, SRID 4326"
is "$(vec_pg "SELECT count(*) FROM pg_indexes WHERE schemaname = 'geo' AND tablename = 'coutwildrnp' AND indexdef LIKE '%USING gist%'")" \
    1 "with a GiST index"
like "$(jq -c .bounds "$r/result.json" 2> /dev/null; jq -c '.layers[0].bbox' "$r/metadata.json")" \
    '\[-1[01][0-9]\.[0-9]+,3[0-9]\.[0-9]+,-1[01][0-9]\.[0-9]+,4[0-9]\.[0-9]+\]' "its bbox in lon/lat"

r=$(res vector/test_tin.csv)
is "$(vec_gpkg_count "$r/test_tin.gpkg" test_tin) $(vec_gpkg_type "$r/test_tin.gpkg" test_tin)" \
    "3 Multi Polygon" "test_tin.csv: three 2-D MultiPolygons"
is "$(jq -r '.layers[0].z_m_values_removed > 0' "$r/metadata.json")" true "Z counted"
r=$(res vector/curves_line.csv)
is "$(vec_gpkg_count "$r/curves_line.gpkg" curves_line) $(vec_gpkg_type "$r/curves_line.gpkg" curves_line)" \
    "9 Multi Line String" "curves_line.csv: nine MultiLineStrings"
r=$(res vector/trio.geojson)
is "$(jq -r .status "$r/result.json")" failed "trio.geojson fails"
like "$(jq -r .error "$r/result.json")" "Point \\(1\\).*LineString \\(1\\).*Polygon \\(1\\)" \
    "naming the three types"
r=$(res vsplit/trio.geojson)
is "$(jq -r .status "$r/result.json")" succeeded "from a split_by_type folder it succeeds"
is "$(ogrinfo -ro -q "$r/trio.gpkg" | grep -c '^[0-9]*: ')" 3 "as three layers"
r=$(res vector/test_gpx.gpx)
want=$(for l in waypoints routes tracks route_points track_points; do
	[ "$(vec_src_count "$VD/test_gpx.gpx" $l)" -gt 0 ] 2> /dev/null && echo $l; done | sort | tr '\n' ' ')
is "$(jq -r '.layers[].name' "$r/metadata.json" | sort | tr '\n' ' ')" "$want" \
    "test_gpx.gpx: its non-empty layers"
r=$(res vector/testopenfilegdb.gdb.zip)
is "$(jq -r .status "$r/result.json")" succeeded "the FileGDB succeeds"
bad=0
for l in $(jq -r '.layers[].name' "$r/metadata.json"); do
	[ "$(vec_gpkg_count "$r/testopenfilegdb.gpkg" "$l")" = "$(jq -r --arg l "$l" '.layers[] | select(.name == $l) | .features' "$r/metadata.json")" ] ||
		bad=$((bad + 1))
done
is "$bad" 0 "each of its layers as many features as its metadata says"
is "$(ogrinfo -ro -so -al "$r/testopenfilegdb.gpkg" 2> /dev/null | grep '^Geometry: ' | grep -ci '3D\|Measured\|25D')" 0 \
    "no layer keeps Z or M"

# layer-state.json names the vector layers by request/layer
ok "layer-state.json lists coutwildrnp's layer" jq -e \
    '.layers[] | select(.name == "coutwildrnp" and .state == "done" and .cog == null and (.gpkg | endswith("coutwildrnp.gpkg")) and (.id | endswith("/coutwildrnp")))' \
    "$T/low/status/layer-state.json"

# 200,000 points: >= 20 chunk tasks in both workers; kill -9 of a loader
/usr/bin/python3 - "$T/pts.geojson" <<'EOF'
import json, sys
with open(sys.argv[1], "w") as f:
    f.write('{"type":"FeatureCollection","features":[\n')
    for i in range(200000):
        x = -120 + (i % 1000) * 0.05
        y = 30 + (i // 1000) * 0.05
        f.write(('' if i == 0 else ',\n') + json.dumps({"type": "Feature", "properties": {"k": i}, "geometry": {"type": "Point", "coordinates": [x, y]}}))
    f.write('\n]}\n')
EOF
# kill -9 one loader in the middle of a chunk: strace kills it at its
# 40th send() to PostgreSQL, well inside its first COPY (convert and
# create send it nothing or little)
pid=$(grep "event=worker-started kind=vector slot=0 " "$T/high.log" | tail -n 1 | sed 's/.* pid=\([0-9]*\).*/\1/')
strace -qq -f -o /dev/null -e trace=sendto -e inject=sendto:signal=KILL:when=40 -p "$pid" &
tracer=$!
wait_for "strace attached" 10 grep -q '^TracerPid:[[:space:]]*[1-9]' "/proc/$pid/status"
drop vector "$T/pts.geojson"
wait_for "accepted" 20 sh -c "[ \$(grep -c event=accepted '$T/low.log') -eq 9 ]"
wait_for "low's batch" 30 sh -c "ls '$T/low/out' | grep -q 'minisig\$'"
carry low high
ok "a loader is killed in the middle of its chunk" wait_for "killed" 180 \
    grep -q "event=task-retry kind=vector .*killed by signal 9" "$T/high.log"
kill "$tracer" 2> /dev/null
wait "$tracer" 2> /dev/null
i=0
while [ $i -lt 1800 ] && [ "$(nresults)" -lt 9 ]; do carry low high; carry high low; sleep 0.1; i=$((i + 1)); done
r=$(res vector/pts.geojson)
is "$(jq -r .status "$r/result.json")" succeeded "the 200,000 points succeed"
is "$(vec_pg "SELECT count(*), count(DISTINCT k), sum(k) FROM geo.pts")" "200000|200000|19999900000" \
    "every feature in PostGIS exactly once"
job=$("$SPOOLCTL" --root "$T/high" jobs --json | jq -r ".jobs[] | select(.request == \"$(jq -r .request "$r/result.json")\") | .id")
"$SPOOLCTL" --root "$T/high" show "$job" --json > "$T/pts.json"
like "$(jq -r '.job.stages[2].tasks | length' "$T/pts.json")" '^([2-9][0-9]|[1-9][0-9][0-9]+)$' \
    "in at least 20 chunk tasks"
is "$(jq -r '[.job.stages[2].tasks[].lease_owner] | unique | length' "$T/pts.json")" 2 \
    "loaded by both vector workers"
killed=$(grep "event=task-retry kind=vector .*killed by signal 9" "$T/high.log" | sed 's/.* task=\([^ ]*\) .*/\1/' | head -n 1)
like "$(grep "event=task-started kind=vector task=$killed " "$T/high.log" | head -n 1)" " stage=2 " \
    "the killed task was a chunk's load"
is "$(grep -c "event=task-succeeded kind=vector task=$killed " "$T/high.log")" 1 \
    "the killed chunk ran again, once"
