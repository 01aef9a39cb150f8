#!/bin/sh
# The query worker answers bbox, filter, properties, sortby, limit and
# offset queries against a GeoPackage, against PostGIS (read as a
# SELECT-only role) and against a zipped shapefile (read through OGR) with
# the features ogr2ogr selects with the equivalent -spat / -where /
# -select, in each format (ids and counts compared).
. "$SPOOL_TOP/tests/t/lib.sh"
. "$SPOOL_TOP/tests/t/pg.sh"
. "$SPOOL_TOP/tests/t/query-check.sh"

FORMATS="geojson jsonl csv gpkg"
plan $((1 + 3 * (4 * 8 + 4) + 2))

GPKG="$T/wild.gpkg"
ok "a GeoPackage made from coutwildrnp.zip" qc_gpkg "$GPKG"
# a missing server is a failure: the points not run count as failed
if ! pg_start > "$T/.pg" 2>&1 || ! qc_postgis >> "$T/.pg" 2>&1; then
	sed 's/^/#   /' "$T/.pg"
	echo "# cannot start PostgreSQL with PostGIS"
	exit 1
fi

TRI='{"type":"Polygon","coordinates":[[[-109,37.5],[-105,37.5],[-107,40.5],[-109,37.5]]]}'

# the request's properties, in the file's order
props() {
	case $(qc_result "$1") in
	*.geojson) jq -c '[.features[0].properties | keys_unsorted[]]' \
	    "$(qc_result "$1")" ;;
	*.jsonl) head -n 1 "$(qc_result "$1")" |
		jq -c '[.properties | keys_unsorted[]]' ;;
	*.csv) head -n 1 "$(qc_result "$1")" | tr -d '\r' ;;
	*.gpkg) ogrinfo -so "$(qc_result "$1")" coutwildrnp |
		sed -n 's/^\([A-Z]*\): .*/\1/p' | tr '\n' ' ' ;;
	esac
}

seq_or_set() {
	# a GeoPackage keeps its rows in id order: compare as a set there
	case $1 in gpkg) sort -n | tr '\n' ' ' ;; *) tr '\n' ' ' ;; esac
}

SHP="$QDATA/coutwildrnp.zip"
for S in gpkg pg ogr; do
	if [ $S = gpkg ]; then
		C=$(qc_config wild "$GPKG")
		SRC=$GPKG
		RD="--read $GPKG"
	elif [ $S = ogr ]; then
		# two layers of one source: the shapefile, and a 3857 copy
		ogr2ogr -f GeoJSON "$T/wild3857.geojson" "/vsizip/$SHP" \
		    -nln wild3857 -t_srs EPSG:3857 -lco RFC7946=NO \
		    -lco WRITE_NAME=YES -preserve_fid
		mkdir -p "$T/shp"
		ogr2ogr -f "ESRI Shapefile" "$T/shp" "/vsizip/$SHP"
		ogr2ogr -f "ESRI Shapefile" "$T/shp" "$T/wild3857.geojson" \
		    -nln wild3857
		C=$(qc_config wild "$T/shp")
		SRC="$T/shp"
		RD="--read $T/shp"
	else
		C=$(qc_config wild "$READER_URL")
		SRC=$READER_PG
		RD=""
	fi
	for F in $FORMATS; do
		n="$S-$F"
		# 1. bbox, filter (and, >, like), properties
		# shellcheck disable=SC2086
		qc_task "$n-1" '{"source":"wild","layer":"coutwildrnp",
		    "bbox":[-106.5,38.5,-105,40.5],
		    "filter":{"op":"and","args":[
		      {"op":">","args":[{"property":"AREA"},0.005]},
		      {"op":"like","args":[{"property":"NAME"},"%Peak%"]}]},
		    "properties":["NAME","AREA","STATE"],"format":"'$F'"}' \
		    "$C" $RD
		qc_same "$n-1" "$S $F: bbox + and/>/like + properties" \
		    "$SRC" coutwildrnp -spat -106.5 38.5 -105 40.5 \
		    -where "\"AREA\" > 0.005 AND \"NAME\" LIKE '%Peak%'" \
		    -select NAME,AREA,STATE
		is "$(qc_answer "$n-1" .summary.rows)" \
		    "$(qc_ids "$n-1" | wc -l | tr -d ' ')" \
		    "$S $F: summary.rows counts the features"
		# 2. or/in/between, sortby (both forms), limit
		# shellcheck disable=SC2086
		qc_task "$n-2" '{"source":"wild","layer":"coutwildrnp",
		    "filter":{"op":"or","args":[
		      {"op":"in","args":[{"property":"AGBUR"},["BLM","NPS"]]},
		      {"op":"between","args":[{"property":"AREA"},0.05,0.1]}]},
		    "sortby":["-AREA",{"field":"NAME"}],"limit":6,
		    "properties":["NAME"],"format":"'$F'"}' "$C" $RD
		want=$(ogr_json "$SRC" coutwildrnp -where \
		    "\"AGBUR\" IN ('BLM','NPS') OR \"AREA\" BETWEEN 0.05 AND 0.1" |
		    jq -s -r 'sort_by(-.properties.AREA, .properties.NAME, .id) |
		    .[:6][] | .id' | seq_or_set $F)
		got=$(qc_ids "$n-2" | seq_or_set $F)
		if [ -n "$want" ]; then
			is "$got" "$want" "$S $F: or/in/between, sortby, limit"
		else
			_report 1 "$S $F: or/in/between: ogr2ogr found nothing"
		fi
		# 3. s_intersects with a GeoJSON polygon, not, =
		# shellcheck disable=SC2086
		qc_task "$n-3" '{"source":"wild","layer":"coutwildrnp",
		    "filter":{"op":"and","args":[
		      {"op":"s_intersects","args":[{"property":"geometry"},'"$TRI"']},
		      {"op":"not","args":[{"op":"=","args":[{"property":"STATE"},"UT"]}]}]},
		    "format":"'$F'"}' "$C" $RD
		qc_same "$n-3" "$S $F: s_intersects (polygon) + not/=" \
		    "$SRC" coutwildrnp -where "NOT (\"STATE\" = 'UT')" \
		    -clipsrc "POLYGON((-109 37.5,-105 37.5,-107 40.5,-109 37.5))"
		# 4. a layer in EPSG:3857: the bbox is CRS84
		# shellcheck disable=SC2086
		qc_task "$n-4" '{"source":"wild","layer":"wild3857",
		    "bbox":[-108,37,-106,39],"properties":["NAME"],
		    "format":"'$F'"}' "$C" $RD
		qc_same "$n-4" "$S $F: EPSG:3857 layer, CRS84 bbox" \
		    "$SRC" wild3857 -spat -108 37 -106 39 -spat_srs EPSG:4326
		# 5. limit and offset, in id order
		# shellcheck disable=SC2086
		qc_task "$n-5" '{"source":"wild","layer":"coutwildrnp",
		    "limit":10,"offset":20,"properties":[],"format":"'$F'"}' \
		    "$C" $RD
		is "$(qc_ids "$n-5" | seq_or_set $F)" \
		    "$(ogr_ids "$SRC" coutwildrnp | sort -n | sed -n 21,30p |
		    seq_or_set $F)" "$S $F: limit 10 offset 20"
		# 6. isNull, in on the feature id, <=, >=
		# shellcheck disable=SC2086
		qc_task "$n-6" '{"source":"wild","layer":"coutwildrnp",
		    "filter":{"op":"or","args":[
		      {"op":"isNull","args":[{"property":"URL"}]},
		      {"op":"in","args":[{"property":"fid"},[3,5,7]]},
		      {"op":"and","args":[
		        {"op":">=","args":[{"property":"WILDRNP020"},500]},
		        {"op":"<=","args":[{"property":"WILDRNP020"},505]}]}]},
		    "format":"'$F'"}' "$C" $RD
		qc_same "$n-6" "$S $F: isNull, in on the id, <=, >=" \
		    "$SRC" coutwildrnp -where "\"URL\" IS NULL OR
		    \"fid\" IN (3, 5, 7) OR (\"WILDRNP020\" >= 500 AND
		    \"WILDRNP020\" <= 505)"
		# 7. <>, <, a string compared
		# shellcheck disable=SC2086
		qc_task "$n-7" '{"source":"wild","layer":"coutwildrnp",
		    "filter":{"op":"and","args":[
		      {"op":"<>","args":[{"property":"AGBUR"},"FS"]},
		      {"op":"<","args":[{"property":"NAME"},"P"]}]},
		    "format":"'$F'"}' "$C" $RD
		qc_same "$n-7" "$S $F: <> and < on strings" \
		    "$SRC" coutwildrnp -where "\"AGBUR\" <> 'FS' AND
		    \"NAME\" < 'P'"
	done
	# the properties asked for, and only those
	is "$(props "$S-geojson-1")" '["NAME","AREA","STATE"]' \
	    "$S geojson: the properties asked for, in that order"
	is "$(props "$S-csv-1")" 'WKT,fid,NAME,AREA,STATE' \
	    "$S csv: WKT, the id, then the properties"
	# RFC 7946: lon/lat; the 3857 layer's first point comes back where the
	# 4326 layer has it
	a=$(jq -c '.features[0] | [.id, .geometry.coordinates[0][0]]' \
	    "$(qc_result "$S-geojson-4")")
	id=$(echo "$a" | jq '.[0]')
	b=$(ogr_json "$SRC" coutwildrnp -where "\"fid\" = $id" |
	    jq -c '.geometry.coordinates[0][0]')
	ok "$S: EPSG:3857 comes back as CRS84 lon/lat ($a vs $b)" \
	    awk -v a="$a" -v b="$b" 'BEGIN {
		gsub(/[^-0-9.,]/, "", a); gsub(/[\[\]]/, "", b);
		n = split(a, x, ","); split(b, y, ",");
		d1 = x[2] - y[1]; d2 = x[3] - y[2];
		exit !(n == 3 && d1 < 1e-6 && d1 > -1e-6 && d2 < 1e-6 &&
		    d2 > -1e-6 && y[1] < -100 && y[2] > 30) }'
	# a GeoPackage result opens as one: its layer, EPSG:4326
	ok "$S gpkg: a GeoPackage with layer coutwildrnp in EPSG:4326" \
	    sh -c "ogrinfo -so '$(qc_result "$S-gpkg-1")' coutwildrnp |
	    grep -q 'ID\[\"EPSG\",4326\]'"
done

# RFC 7946 3.1.6: exterior rings counterclockwise
ok "geojson: exterior rings are counterclockwise (RFC 7946)" \
    python3 -c 'import json, sys
for f in json.load(open(sys.argv[1]))["features"]:
    r = f["geometry"]["coordinates"][0]
    a = sum(r[i][0] * r[i + 1][1] - r[i + 1][0] * r[i][1]
        for i in range(len(r) - 1))
    assert a > 0, f["id"]' "$(qc_result gpkg-geojson-3)"
ok "jsonl: one Feature per line" \
    sh -c "jq -e -s 'length > 3 and all(.type == \"Feature\")' \
    '$(qc_result pg-jsonl-3)' > /dev/null"
