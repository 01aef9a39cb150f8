# vector.sh - the vector part of make bench (sourced by run.sh with $W,
# $B, $top; BENCH_PARTS=vector): BENCH_VECTOR_POINTS (1,000,000) points
# made here in EPSG:3857 (GeoJSON), into PostGIS reprojected to EPSG:4326,
# side by side on one throwaway cluster (fsync on, defaults):
#   ogr2ogr -f PostgreSQL --config PG_USE_COPY YES -gt 65536 -t_srs EPSG:4326
#   the vector job: convert (-> GeoPackage, metadata, preview), create,
#   the chunk loads by 2 long-lived workers in parallel, finish (GiST,
#   primary key, ANALYZE, swap), as spoold runs them (tests/bench/vector-job.py)
# Target: spool's features/s >= 1.2 x ogr2ogr's.
VN=${BENCH_VECTOR_POINTS:-1000000}
echo
echo "vector: $VN points (GeoJSON, EPSG:3857) into PostGIS as EPSG:4326"
T=$W
diag() { echo "# $*"; }
. "$top/tests/t/pg.sh"
pg_start > /dev/null || { echo "bench: cannot start PostgreSQL" >&2; exit 1; }
pg_postgis > /dev/null || { echo "bench: no PostGIS" >&2; exit 1; }
awk -v n="$VN" 'BEGIN { srand(42);
	printf "{\"type\":\"FeatureCollection\",\"crs\":{\"type\":\"name\",\"properties\":{\"name\":\"urn:ogc:def:crs:EPSG::3857\"}},\"features\":[\n";
	for (i = 1; i <= n; i++)
		printf "%s{\"type\":\"Feature\",\"properties\":{\"id\":%d,\"name\":\"p%d\"},\"geometry\":{\"type\":\"Point\",\"coordinates\":[%.2f,%.2f]}}\n",
		    (i > 1 ? "," : ""), i, i, (rand() - 0.5) * 40000000, (rand() - 0.5) * 30000000;
	print "]}" }' > "$W/vpts.geojson"
t=$(now)
ogr2ogr -f PostgreSQL PG:"dbname=spoolgis host=$PGD user=spool" \
	--config PG_USE_COPY YES -gt 65536 -t_srs EPSG:4326 -nln ogr_pts \
	"$W/vpts.geojson" || { echo "bench: ogr2ogr failed" >&2; exit 1; }
o=$(since "$t")
n=$(psql -qAtX -d "$GIS_URL" -c "SELECT count(*) FROM ogr_pts")
[ "$n" = "$VN" ] || { echo "bench: ogr2ogr loaded $n rows" >&2; exit 1; }
mkdir -p "$W/vjob"
res=$(/usr/bin/python3 "$top/tests/bench/vector-job.py" "$B/libexec/spool/vector" \
	"$W/vjob" "$W/vpts.geojson" "{\"postgis\": \"$GIS_URL\"}" \
	'{"target_table": "vpts"}' 2) || { echo "bench: the vector job failed" >&2; exit 1; }
n=$(psql -qAtX -d "$GIS_URL" -c "SELECT count(*) FROM geo.vpts")
[ "$n" = "$VN" ] || { echo "bench: the vector job loaded $n rows" >&2; exit 1; }
s=$(printf '%s' "$res" | jq .total)
echo "  ogr2ogr: $o s, $(awk -v n="$VN" -v t="$o" 'BEGIN { printf "%d", n / t }') features/s"
echo "  spool:   $s s, $(awk -v n="$VN" -v t="$s" 'BEGIN { printf "%d", n / t }') features/s" \
	"($(printf '%s' "$res" | jq -r '"convert \(.convert), create \(.create), load \(.load) in \(.chunks) chunks by 2 workers, finish \(.finish)"'))"
echo "  spool/ogr2ogr features/s: $(ratio "$o" "$s") (target >= 1.2)"
pg_stop
