#!/bin/sh
# The vector worker on odd and hostile files (what a campaign of mutated
# vectors found): a damaged file is not taken as a shorter one; a count
# the file stores that lies does not drop a layer; field names alike in
# their first 299 bytes do not hang it; a layer whose type a feature
# contradicts fails alone, saying why; names that are not UTF-8 are
# named, not dropped; a layer without CRS is judged by its features,
# not the extent its file states; coordinates that are not finite, and
# more fields than a GeoPackage holds, are refused for good; the srs
# parameter is a CRS, never a path GDAL would read; params of the wrong
# type are refused by name.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vector-check.sh"
VD="$SPOOL_TOP/tests/data/vector"
plan 36

conv() { # NAME FILE [PARAMS]
	vec_task "$T/$1" convert "${3:-{\}}" '{}' null "$2" &&
	    timeout 120 sh -c '. "$1"; vec_run "$2"' sh \
	    "$SPOOL_TOP/tests/t/vector-check.sh" "$T/$1"
}
ans() { jq -r "$2" "$T/$1/answer.json"; }
# replace same-length bytes in a file (a name made not UTF-8)
bytes() { python3 -c 'import sys
p, a, b = sys.argv[1], sys.argv[2].encode(), bytes.fromhex(sys.argv[3])
d = open(p, "rb").read(); open(p, "wb").write(d.replace(a, b))' "$@"; }
zipit() { python3 -c 'import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for f in sys.argv[2:]: z.write(f, f.rsplit("/", 1)[-1])' "$@"; }
points() { # N: a GeoJSON of N points
	awk -v n="$1" 'BEGIN { printf "{\"type\":\"FeatureCollection\",\"features\":[";
	for (i = 1; i <= n; i++) printf "%s{\"type\":\"Feature\",\"properties\":{\"a\":%d},\"geometry\":{\"type\":\"Point\",\"coordinates\":[%d.5,%d.25]}}", (i > 1 ? "," : ""), i, i, i;
	print "]}" }'
}

# 1. a shapefile whose .dbf is cut short: not 22 of its 67 features
mkdir -p "$T/shp" && (cd "$T/shp" && unzip -q "$VD/coutwildrnp.zip")
truncate -s 14411 "$T/shp/coutwildrnp.dbf"
zipit "$T/cut.zip" "$T/shp/coutwildrnp.shp" "$T/shp/coutwildrnp.shx" \
	"$T/shp/coutwildrnp.dbf" "$T/shp/coutwildrnp.prj"
conv cut "$T/cut.zip"
is "$(ans cut '"\(.status) \(.permanent)"')" "failed true" "a cut .dbf fails, for good"
like "$(ans cut .error)" "reading the layer failed after [0-9]+ features: fread\(640\) failed on DBF" \
	"saying where reading stopped, in GDAL's words"

# a shapefile without its .shx: GDAL's reason, not "no features"
(cd "$T/shp" && unzip -qo "$VD/coutwildrnp.zip")
zipit "$T/noshx.zip" "$T/shp/coutwildrnp.shp" "$T/shp/coutwildrnp.dbf" \
	"$T/shp/coutwildrnp.prj"
conv noshx "$T/noshx.zip"
is "$(ans noshx '"\(.status) \(.permanent)"')" "failed true" "a shapefile without .shx fails, for good"
like "$(ans noshx .error)" "GDAL found no layer in the upload: Unable to open .*coutwildrnp\.shx" \
	"... with GDAL's reason"

# 2. two layers; the count the GeoPackage stores for one says 0
points 10 > "$T/pts.geojson"
ogr2ogr -q -f GPKG "$T/two.gpkg" "$T/pts.geojson" -nln pts -lco SPATIAL_INDEX=NO &&
	ogr2ogr -q -update "$T/two.gpkg" "$VD/rmnp.geojson" -nln polys -lco SPATIAL_INDEX=NO
cp "$T/two.gpkg" "$T/lies.gpkg"
sqlite3 "$T/lies.gpkg" "UPDATE gpkg_ogr_contents SET feature_count = 0 WHERE table_name = 'pts'"
ok "a GeoPackage whose stored count lies converts" conv lies "$T/lies.gpkg"
is "$(ans lies '[.summary.layers[] | "\(.name) \(.features)"] | join(",")')" "pts 10,polys 1" \
	"... with every feature of both layers"

# a view whose rows do not fit the worker's memory (as under spoold's
# memory_limit): that layer fails saying so, not "no features"
cp "$T/two.gpkg" "$T/big.gpkg"
sqlite3 "$T/big.gpkg" "CREATE VIEW big AS SELECT 1 AS fid, (SELECT geom FROM pts WHERE fid = 1) AS geom, randomblob(900000000) AS b, randomblob(900000000) AS c;
	INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) VALUES ('big', 'features', 'big', 4326);
	INSERT INTO gpkg_geometry_columns VALUES ('big', 'geom', 'POINT', 4326, 0, 0)"
# (an AddressSanitizer build maps terabytes of shadow: its allocator is
# given the limit instead)
if ldd "$VECTOR" | grep -q libasan; then
	(export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}allocator_may_return_null=1:max_allocation_size_mb=512"
	    conv big "$T/big.gpkg")
else
	(ulimit -v 1048576; conv big "$T/big.gpkg")
fi
is "$(ans big '[.summary.layers[].name] | join(",")')" "pts,polys" "a view beyond the memory limit: the other layers convert"
like "$(ans big '.summary.failed_layers[0] | "\(.name): \(.reason)"')" \
	"^big: reading the layer failed: .*out of memory" "... and it fails, saying so"

# 3. two field names alike in their first 299 bytes (and more)
long=$(printf 'f%.0s' $(seq 1 400))
printf '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"%sA":1,"%sB":2},"geometry":{"type":"Point","coordinates":[1,2]}}]}' \
	"$long" "$long" > "$T/longf.geojson"
ok "two 401-byte field names alike in their first 400 convert (no endless renaming)" conv longf "$T/longf.geojson"
is "$(jq '[.layers[0].fields[].name] | unique | length' "$T/longf/out/metadata.json")" 2 \
	"... into two fields"
is "$(jq -r '[.layers[0].fields[].name | length] | map(. < 300) | all' "$T/longf/out/metadata.json")" true \
	"... each name within a GeoPackage's 299 bytes"

# 4. a point layer holding one polygon: that layer fails, the other is kept
cp "$T/two.gpkg" "$T/mixed.gpkg"
sqlite3 "$T/mixed.gpkg" "UPDATE pts SET geom = (SELECT geom FROM polys LIMIT 1) WHERE fid = 1"
ok "a layer whose type a feature contradicts: the task still succeeds" conv mixed "$T/mixed.gpkg"
is "$(ans mixed '[.summary.layers[].name] | join(",")')" polys "... with the other layer"
like "$(ans mixed '.summary.failed_layers[0] | "\(.name): \(.reason)"')" \
	"^pts: layer 'pts' holds geometry types that cannot be unified into one: MultiPolygon \(1\), Point \(9\)" \
	"... and the failed one named, with why"

# 5. names that are not UTF-8
cp "$T/two.gpkg" "$T/names.gpkg"
ogr2ogr -q -update "$T/names.gpkg" "$T/pts.geojson" -nln QQQ -lco SPATIAL_INDEX=NO
bytes "$T/names.gpkg" QQQ 51ff51
ok "a layer whose name is not UTF-8: the others convert" conv names "$T/names.gpkg"
is "$(ans names '[.summary.layers[].name] | join(",")')" "pts,polys" "... both of them"
is "$(ans names '.summary.failed_layers[0] | "\(.name): \(.reason)"')" \
	'Q\xffQ: the layer'"'"'s name is not UTF-8: rename it (or its file)' \
	"... and it is named (its stray byte written \\xff), with why"
cp "$T/two.gpkg" "$T/fname.gpkg"
bytes "$T/fname.gpkg" '"a"' 22fe22
sqlite3 "$T/fname.gpkg" "SELECT count(*) FROM pts" > /dev/null
ok "a field name that is not UTF-8 converts" conv fname "$T/fname.gpkg"
is "$(jq -r '.layers[] | select(.name == "pts") | .fields[0] | "\(.name) \(.source_name)"' "$T/fname/out/metadata.json")" \
	'? \xfe' "... named '?' in the GeoPackage, its source name kept written \\xfe"
ok "... and the GeoPackage is valid" vec_gpkg_valid "$T/fname/out/fname.gpkg"
# two such names that become alike: told apart, still UTF-8
printf '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"aX":1,"aY":2},"geometry":{"type":"Point","coordinates":[1,2]}}]}' > "$T/ab.geojson"
ogr2ogr -q -f GPKG "$T/ab.gpkg" "$T/ab.geojson" -nln ab -lco SPATIAL_INDEX=NO
bytes "$T/ab.gpkg" '"aX"' 2261ff22 && bytes "$T/ab.gpkg" '"aY"' 2261fe22
ab_ok() { conv ab "$T/ab.gpkg" && vec_gpkg_valid "$T/ab/out/ab.gpkg"; }
ok "two field names alike once made UTF-8 convert into a valid GeoPackage" ab_ok
is "$(jq -r '[.layers[0].fields[] | "\(.name) \(.source_name)"] | join(", ")' "$T/ab/out/metadata.json")" \
	'a? a\xff, a?_2 a\xfe' "... as a? and a?_2"
# a .prj whose CRS name is Latin-1
cp -r "$T/shp" "$T/shp1" && (cd "$T/shp1" && unzip -qo "$VD/coutwildrnp.zip")
sed -i 's/GEOGCS\["[^"]*"/GEOGCS["WGS 84 \xe9t\xe9"/' "$T/shp1/coutwildrnp.prj"
zipit "$T/latin1.zip" "$T/shp1/coutwildrnp.shp" "$T/shp1/coutwildrnp.shx" \
	"$T/shp1/coutwildrnp.dbf" "$T/shp1/coutwildrnp.prj"
ok "a .prj whose CRS name is Latin-1 converts" conv latin1 "$T/latin1.zip"
is "$(ans latin1 '.summary.layers[0].features')" 67 "... every feature"

# a GeoPackage layer of srs_id 0 ("undefined") in UTM metres, its
# stated extent lon/lat: no CRS, judged by its features
printf 'WKT,id\n"POINT (500000 4000000)",1\n"POINT (510000 4100000)",2\n' > "$T/utm.csv"
ogr2ogr -q -f GPKG "$T/undef.gpkg" "$T/utm.csv" -nln utm -lco SPATIAL_INDEX=NO &&
	sqlite3 "$T/undef.gpkg" "UPDATE gpkg_contents SET min_x = 0, max_x = 1, min_y = 0, max_y = 1"
conv undef "$T/undef.gpkg"
like "$(ans undef .error)" "the layer has no CRS and its coordinates \(500000, 4e\+06\) - \(510000, 4.1e\+06\) are not in the lon/lat range" \
	"an undefined CRS (srs_id 0) with UTM coordinates is not taken as EPSG:4326, whatever extent the file states"

# 6. refused for good, saying why
printf '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[1e999,2]}}]}' > "$T/inf.geojson"
conv inf "$T/inf.geojson"
is "$(ans inf '"\(.status) \(.permanent)"')" "failed true" "a coordinate of 1e999 fails, for good"
like "$(ans inf .error)" "feature 0 has a coordinate that is not a finite number" "... saying so"
awk 'BEGIN { printf "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":{";
	for (i = 0; i < 2100; i++) printf "%s\"p%d\":%d", (i ? "," : ""), i, i;
	print "},\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2]}}]}" }' > "$T/wide.geojson"
conv wide "$T/wide.geojson"
is "$(ans wide '"\(.status) \(.permanent)"')" "failed true" "2,100 fields fail, for good"
like "$(ans wide .error)" "the layer has 2100 fields; a GeoPackage table holds at most 1998" "... saying so"

# 7. params
for s in /etc/passwd '+init=/etc/passwd:root' http://example.invalid/crs; do
	conv "srs$(printf '%s' "$s" | tr -c 'a-z' _)" "$T/pts.geojson" "{\"srs\": \"$s\"}"
done
is "$(for d in "$T"/srs*; do jq -r '"\(.status) \(.error)"' "$d/answer.json"; done |
	grep -c "^failed srs '.*': write EPSG:n, WKT, PROJJSON or a +proj= string\$")" 3 \
	"srs naming a file or a URL is refused before GDAL reads it"
conv vert "$T/pts.geojson" '{"srs": "EPSG:5773"}'
is "$(ans vert .error)" "srs 'EPSG:5773' is not a geographic or projected CRS" "a vertical CRS is refused"
conv srsnum "$T/pts.geojson" '{"srs": 3857}'
is "$(ans srsnum .error)" "srs must be a string" "srs: 3857 (a number) is refused, not taken as the default"
conv laynum "$T/pts.geojson" '{"layers": 5}'
is "$(ans laynum .error)" "layers must name layers: a list of names, or names separated by commas" \
	"layers: 5 is refused by name"
conv laylong "$T/pts.geojson" "{\"layers\": [\"$long\"]}"
like "$(ans laylong .error)" "^layers: the upload has no layer 'f{64}'\$" \
	"a long layer name is echoed 64 characters long"
ok "srs EPSG:3857 still converts" conv merc "$T/pts.geojson" '{"srs": "EPSG:3857"}'
ok "srs WGS84 (a word) still converts" conv wgs "$T/pts.geojson" '{"srs": "WGS84"}'
