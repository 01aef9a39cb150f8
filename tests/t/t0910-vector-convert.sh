#!/bin/sh
# The vector worker's convert stage, driven by task files: every vector
# file of tests/data/vector gives a GeoPackage whose layers, types and
# counts agree with ogrinfo of the source; Z/M, curves, TINs and
# multipatches are made 2-D linear Multi*; mixed types fail naming them
# or split; a layer that cannot be cleaned is named while the others
# complete; metadata.json, item.json (stac-validate) and preview.png.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/vector-check.sh"
VD="$SPOOL_TOP/tests/data/vector"
STAC="$SPOOL_TOP/tests/stac/stac-validate"
plan 88

conv() { # NAME FILE [PARAMS]
	vec_task "$T/$1" convert "${3:-{\}}" '{}' null "$2" && vec_run "$T/$1"
}
err_of() { jq -r .error "$T/$1/answer.json"; }
only_outputs() {
	a=$(ls "$T/$1/out" | sort | tr '\n' ' ')
	b=$(jq -r '.outputs[].path' "$T/$1/answer.json" | sed 's|^out/||' | sort | tr '\n' ' ')
	[ "$a" = "$b" ] || { echo "out/: $a; outputs: $b" >&2; return 1; }
}

# Every output layer's count equals ogrinfo's count of its source layer
# and of the GeoPackage layer, and its declared type is one type, 2-D.
layers_match() { # NAME SRC
	gp="$T/$1/out/$(jq -r .gpkg "$T/$1/out/metadata.json")"
	jq -r '.layers[] | "\(.name)\t\(.source_layer)\t\(.features)\t\(.geometry_type)"' \
		"$T/$1/out/metadata.json" > "$T/$1.layers"
	[ -s "$T/$1.layers" ] || return 1
	while IFS='	' read -r name src n gt; do
		s=$(vec_src_count "$2" "$src")
		g=$(vec_gpkg_count "$gp" "$name")
		ty=$(vec_gpkg_type "$gp" "$name")
		want=$(echo "$gt" | sed 's/\([a-z]\)\([A-Z]\)/\1 \2/g')
		if [ "$s" != "$n" ] || [ "$g" != "$n" ] || [ "$ty" != "$want" ]; then
			echo "$name: source $s, gpkg $g, metadata $n; type '$ty' vs '$gt'" >&2
			return 1
		fi
	done < "$T/$1.layers"
}

# 1. every file (but trio.geojson: mixed types) converts and matches
for f in coutwildrnp.zip grenada.geojson rmnp.geojson test_gpx.gpx \
    test_tin.csv curves_line.csv testopenfilegdb.gdb.zip; do
	ok "$f converts" conv "c-$f" "$VD/$f"
	ok "$f: out/ holds its outputs and nothing else" only_outputs "c-$f"
	ok "$f: counts and types agree with ogrinfo" layers_match "c-$f" "$VD/$f"
	ok "$f: the GeoPackage and its spatial indexes are valid" \
		vec_gpkg_valid "$T/c-$f/out/$(jq -r .gpkg "$T/c-$f/out/metadata.json")"
	ok "$f: item.json is a valid STAC item" "$STAC" "$T/c-$f/out/item.json"
done

gp="$T/c-coutwildrnp.zip/out/coutwildrnp.gpkg"
is "$(vec_gpkg_type "$gp" coutwildrnp)/$(vec_gpkg_count "$gp" coutwildrnp)" \
	"Multi Polygon/67" "the zipped shapefile: 67 MultiPolygons (declared Polygon)"
is "$(ogrinfo -ro -so "$gp" coutwildrnp | grep -c 'GEOGCRS\["WGS 84"')" 1 \
	"the GeoPackage layer is in WGS 84"
is "$(sqlite3 "$gp" "select count(*) from gpkg_extensions where extension_name = 'gpkg_rtree_index'")" 1 \
	"it has a spatial index"
is "$(ogrinfo -ro -so "$gp" coutwildrnp | grep -c '^NAME: String')" 1 \
	"fields keep their names and types"

# GPX: exactly the non-empty layers
want=$(for l in waypoints routes tracks route_points track_points; do
	[ "$(vec_src_count "$VD/test_gpx.gpx" $l)" -gt 0 ] && echo $l; done | sort | tr '\n' ' ')
is "$(vec_meta "$T/c-test_gpx.gpx" '.layers[].name' | sort | tr '\n' ' ')" "$want" \
	"GPX: one output layer per non-empty source layer"

# FileGDB: one output (layer or table) per source layer with features
fg="$VD/testopenfilegdb.gdb.zip"
want=$(ogrinfo -ro -so -al "$fg" 2>/dev/null | awk '/^Layer name:/ {l=$3}
	/^Feature Count:/ && $3 > 0 {print l}' | sort | tr '\n' ' ')
is "$(vec_meta "$T/c-testopenfilegdb.gdb.zip" '(.layers[].name, .tables[].name)' | sort | tr '\n' ' ')" \
	"$want" "FileGDB: one output per source layer with features"
fgp="$T/c-testopenfilegdb.gdb.zip/out/testopenfilegdb.gpkg"
is "$(ogrinfo -ro -so -al "$fgp" | grep '^Geometry:' | grep -c -E '3D|Measured|Unknown|Collection')" 0 \
	"FileGDB: no output layer has Z, M or an undeclared type"
is "$(vec_gpkg_type "$fgp" multipatch)/$(vec_gpkg_type "$fgp" pointzm)/$(vec_gpkg_type "$fgp" linestringm)" \
	"Multi Polygon/Point/Multi Line String" "FileGDB: multipatch -> MultiPolygon, ZM and M layers 2-D"
is "$(vec_meta "$T/c-testopenfilegdb.gdb.zip" '[.layers[] | select(.name == "polygonzm" or .name == "multipatch") | .z_m_values_removed] | add')" \
	6 "FileGDB: Z and M removals are counted"
is "$(vec_gpkg_count "$fgp" big_layer)" 341 "FileGDB: an attribute table is copied as a plain table"
is "$(vec_meta "$T/c-testopenfilegdb.gdb.zip" '.skipped_layers[].name')" testnotnullable \
	"FileGDB: the empty layer is named as skipped"

# 2. TIN and curves
tg="$T/c-test_tin.csv/out/test_tin.gpkg"
is "$(vec_gpkg_type "$tg" test_tin)/$(vec_gpkg_count "$tg" test_tin)" "Multi Polygon/3" \
	"test_tin.csv: three 2-D MultiPolygons"
is "$(vec_meta "$T/c-test_tin.csv" '.layers[0].z_m_values_removed')" 3 "test_tin.csv: Z counted"
is "$(ogrinfo -ro -q -al "$tg" | grep -c -E ' Z |TIN|TRIANGLE')" 0 "test_tin.csv: no Z, TIN or triangle left"
cg="$T/c-curves_line.csv/out/curves_line.gpkg"
is "$(vec_gpkg_type "$cg" curves_line)/$(ogrinfo -ro -q -al "$cg" | grep -c '^  MULTILINESTRING')" \
	"Multi Line String/9" "curves_line.csv: nine MultiLineStrings"
is "$(ogrinfo -ro -q -al "$cg" | grep -c -E 'CURVE|CIRCULAR')" 0 "curves_line.csv: no curve left"
is "$(vec_meta "$T/c-curves_line.csv" '.layers[0].curves_linearised')" \
	"$(grep -c -E 'CURVE|CIRCULAR' "$VD/curves_line.csv")" "curves_line.csv: curves counted"

# trio: mixed types fail naming them, or split
fails 1 "trio.geojson fails (Point, LineString, Polygon)" conv trio "$VD/trio.geojson"
like "$(err_of trio)" "Point \(1\), LineString \(1\), Polygon \(1\)" "the error names the three types and counts"
is "$(jq .permanent "$T/trio/answer.json")" true "and is permanent"
ok "with split_by_type: yes it converts" conv trio2 "$VD/trio.geojson" '{"split_by_type": "yes"}'
is "$(ogrinfo -ro -so -al "$T/trio2/out/trio.gpkg" | sed -n 's/^Geometry: //p' | sort | tr '\n' ,)" \
	"Line String,Point,Polygon," "three layers, one type each"
ok "split_by_type: true (JSON) is the same" conv trio3 "$VD/trio.geojson" '{"split_by_type": true}'

# a layer that cannot be unified is named; the others complete
ogr2ogr -q -f GPKG "$T/two.gpkg" "$VD/trio.geojson" -nln mixed -nlt GEOMETRY &&
ogr2ogr -q -update "$T/two.gpkg" "$VD/rmnp.geojson" -nln rmnp
ok "a GeoPackage with one mixed layer and one clean layer converts" conv two "$T/two.gpkg"
is "$(vec_meta "$T/two" '.layers[].name')/$(vec_meta "$T/two" '.failed_layers[].name')" "rmnp/mixed" \
	"the clean layer is written, the mixed one named as failed"
like "$(vec_meta "$T/two" '.failed_layers[0].reason')" "Point \(1\)" "with the reason"
ok "params layers picks layers" conv two2 "$T/two.gpkg" '{"layers": ["rmnp"]}'

# refused: another format, a CRS-less file outside lon/lat
printf 'hello\n' > "$T/notes.txt"
fails 1 "a .txt is refused" conv txt "$T/notes.txt"
like "$(err_of txt)" "^unsupported format: \.txt \(supported: .*\.geojson" "saying which formats are supported"
printf 'WKT,id\n"POINT (500000 4000000)",1\n' > "$T/utm.csv"
fails 1 "a CSV without CRS outside lon/lat range is refused" conv utm "$T/utm.csv"
like "$(err_of utm)" "no CRS" "saying it has no CRS"
printf 'name,lat,lon\na,45.5,6.25\nb,46,7\n' > "$T/pts.csv"
ok "a CSV with lat/lon columns converts" conv pts "$T/pts.csv"
is "$(vec_meta "$T/pts" '.layers[0] | "\(.geometry_type) \(.features) \(.crs_assumed)"')" \
	"Point 2 EPSG:4326" "as points, EPSG:4326 assumed and said"

# preview: over exactly leaflet_bounds in EPSG:3857, long side 1024
lb=$(vec_meta "$T/c-coutwildrnp.zip" '.leaflet_bounds | "\(.[0][1]) \(.[0][0])\n\(.[1][1]) \(.[1][0])"')
merc=$(printf '%s\n' "$lb" | gdaltransform -s_srs EPSG:4326 -t_srs EPSG:3857 -output_xy)
size=$(gdalinfo "$T/c-coutwildrnp.zip/out/preview.png" | sed -n 's/^Size is \([0-9]*\), \([0-9]*\)/\1 \2/p')
is "$(printf '%s\n%s\n' "$merc" "$size" | awk 'NR==1{x0=$1;y0=$2} NR==2{x1=$1;y1=$2}
	NR==3{w=$1;h=$2} END{r=(x1-x0)/(y1-y0); printf "%d %d", w, (h - w/r < 1 && w/r - h < 1)}')" \
	"1024 1" "preview.png: 1024 px wide, the aspect of leaflet_bounds in EPSG:3857"

# what the preview draws: polygons read back, points (in EPSG:3857 in
# the upload) from what the writer kept
ok "the polygons' preview is what gdal_rasterize draws" vec_preview_ok "$T/c-coutwildrnp.zip"
awk 'BEGIN { srand(7); printf "{\"type\":\"FeatureCollection\",\"crs\":{\"type\":\"name\",\"properties\":{\"name\":\"urn:ogc:def:crs:EPSG::3857\"}},\"features\":[\n";
	for (i = 1; i <= 3000; i++)
		printf "%s{\"type\":\"Feature\",\"properties\":{\"id\":%d},\"geometry\":{\"type\":\"Point\",\"coordinates\":[%.3f,%.3f]}}\n",
		    (i > 1 ? "," : ""), i, 1000000 + rand() * 50000, 6000000 + rand() * 30000;
	print "]}" }' > "$T/pts3857.geojson"
ok "3,000 points in EPSG:3857 convert" conv p3857 "$T/pts3857.geojson"
ok "their index is valid" vec_gpkg_valid "$T/p3857/out/pts3857.gpkg"
# the index's triggers keep it right when GDAL edits the layer
idx_edits() {
	cp "$T/p3857/out/pts3857.gpkg" "$T/edit.gpkg" &&
	ogr2ogr -q -append -update -t_srs EPSG:4326 -nln pts3857 "$T/edit.gpkg" "$T/pts3857.geojson" &&
	ogrinfo -q "$T/edit.gpkg" -sql "UPDATE pts3857 SET geom = NULL WHERE fid = 5" &&
	ogrinfo -q "$T/edit.gpkg" -sql "DELETE FROM pts3857 WHERE fid = 6" &&
	[ "$(sqlite3 "$T/edit.gpkg" "SELECT rtreecheck('rtree_pts3857_geom') || ' ' || (SELECT count(*) FROM rtree_pts3857_geom) || ' ' || (SELECT count(*) FROM pts3857)")" = "ok 5998 5999" ]
}
ok "appending, nulling and deleting through GDAL keep the index whole" idx_edits
ok "their preview is what gdal_rasterize draws" vec_preview_ok "$T/p3857"

# a layer too big to index in memory is indexed by GDAL, and its points
# are drawn from the GeoPackage (SPOOL_VECTOR_INDEX_MAX stands for the
# budget a real one passes: half of the worker's address space, 96 bytes
# a box, 5.3 Mi boxes under spoold's default memory_limit)
conv_big() { (export SPOOL_VECTOR_INDEX_MAX=100; conv "$@"); }
ok "with 100 boxes at most, 3,000 points convert" conv_big p3857big "$T/pts3857.geojson"
is "$(grep -c 'event=vector_spatial_index .*by=gdal why="more boxes than the 100 ' "$T/p3857big/log")/$(grep -c 'event=vector_spatial_index' "$T/p3857/log")/$(grep -c 'by=gdal' "$T/p3857/log")" \
	"1/1/0" "the index is GDAL's, and the log says why (the worker built the one of the small run)"
ok "GDAL's index is valid" vec_gpkg_valid "$T/p3857big/out/pts3857.gpkg"
ok "the preview read back is the same" vec_preview_ok "$T/p3857big"
is "$(cmp -s "$T/p3857big/out/preview.png" "$T/p3857/out/preview.png" && echo same)" same \
	"as the one drawn from memory, byte for byte"

# reprojection and invalid geometries
ok "srs EPSG:3857 is honoured" conv merc "$VD/rmnp.geojson" '{"srs": "EPSG:3857"}'
is "$(ogrinfo -ro -so "$T/merc/out/rmnp.gpkg" rmnp | grep -c 'ID\["EPSG",3857\]')" 1 \
	"the layer is in EPSG:3857 and its bbox stays in EPSG:4326 ($(vec_meta "$T/merc" '.bbox[0]' | cut -c1-8))"
fails 1 "invalid = fail refuses the multipatch layer" conv inv "$fg" '{"layers": "multipatch", "invalid": "fail"}'
ok "invalid = skip skips what repair would mend" conv inv2 "$fg" '{"layers": "multipatch", "invalid": "skip"}'
is "$(vec_meta "$T/inv2" '.layers[0] | "\(.invalid_skipped) \(.features)"')" "5 0" "skipped are counted"

# KML and KMZ (made here by ogr2ogr's LIBKML driver)
ogr2ogr -f LIBKML "$T/rmnp.kml" "$VD/rmnp.geojson" && ogr2ogr -f LIBKML "$T/rmnp.kmz" "$VD/rmnp.geojson"
for f in rmnp.kml rmnp.kmz; do
	ok "$f converts" conv "k-$f" "$T/$f"
	ok "$f: counts and types agree with ogrinfo" layers_match "k-$f" "$T/$f"
done
