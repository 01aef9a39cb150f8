#!/bin/sh
# 200,000 points made at test time: at least 20 chunk plans of the default
# 10,000, run by 2 long-lived workers in parallel (each fed several task
# lines on stdin, each keeping one PostgreSQL connection); the table holds
# them all once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
. "$(dirname "$0")/vector-check.sh"
plan 10

ok "a throwaway PostgreSQL starts" pg_start -c fsync=off
ok "with PostGIS" pg_postgis
CFG=$(jq -nc --arg u "$GIS_URL" '{postgis: $u}')
N=200000
awk -v n=$N 'BEGIN { printf "{\"type\":\"FeatureCollection\",\"features\":[";
	for (i = 1; i <= n; i++) printf "%s\n{\"type\":\"Feature\",\"properties\":{\"k\":%d},\"geometry\":{\"type\":\"Point\",\"coordinates\":[%.6f,%.6f]}}",
		(i > 1 ? "," : ""), i, -170 + (i % 3400) / 10, -80 + (i % 1600) / 10;
	print "]}" }' > "$T/many.geojson"
ok "the job runs through with 2 loaders" vec_job many "$T/many.geojson" '{}' "$CFG" 2
W="$T/many"
n=$(jq '.next | length' "$W/create/answer.json")
like "$n" "^(2[0-9]|[3-9][0-9])$" "$n chunk plans (>= 20)"
is "$(grep -c '"status":"succeeded"' "$W/loader-0.out") $(grep -c '"status":"succeeded"' "$W/loader-1.out")" \
	"$(((n + 1) / 2)) $((n / 2))" "each loader ran its share of the task lines"
is "$(vec_pg "SELECT count(*), count(DISTINCT fid), min(fid), max(fid) FROM geo.many")" \
	"$N|$N|1|$N" "geo.many holds the 200,000 points once"
is "$(vec_pg "SELECT count(DISTINCT backend) FROM geo.spool_load WHERE target = 'many' AND chunk >= 0")" 2 \
	"two connections loaded the chunks: one per long-lived worker"
is "$(vec_pg "SELECT count(*) FROM geo.spool_load WHERE target = 'many' AND chunk >= 0 AND rows > 0")" "$n" \
	"every chunk is recorded with its rows"
# in parallel: the loaders' spans of chunk commits overlap
is "$(vec_pg "SELECT max(a) < min(b) FROM (SELECT backend, min(loaded_at) a, max(loaded_at) b
	FROM geo.spool_load WHERE target = 'many' AND chunk >= 0 GROUP BY backend) s")" t \
	"the two loaders ran at the same time"
is "$(vec_pg "SELECT ST_SRID(geom) || ' ' || GeometryType(geom) FROM geo.many LIMIT 1")" "4326 POINT" \
	"points in SRID 4326"
