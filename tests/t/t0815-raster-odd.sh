#!/bin/sh
# The raster worker on odd files and hostile names (what a campaign of
# mutated rasters found): 1-bit and 12-bit GeoTIFFs make COGs (no
# predictor for samples that are not whole bytes); a raster beyond Web
# Mercator's latitudes gets a plain preview and says why; text GDAL reads
# that is not UTF-8 still lands in metadata.json; a zip holding a zip, a
# member name that overflows the reason, params of the wrong type or
# length, an input name that climbs out of in/: each fails with one short
# line of UTF-8 saying why, and nothing is written outside the task.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/raster-check.sh"
plan 33
PY=/usr/bin/python3
D=$RASTER_DATA

# good, if unusual: the COG, its pixels, metadata
for nb in 1 12; do
	if [ "$nb" = 1 ]; then
		gdal_translate -q -co NBITS=1 -scale 0 255 0 1 "$D/byte.tif" "$T/nb$nb.tif"
	else
		gdal_translate -q -ot UInt16 -co NBITS=12 -scale 0 255 0 4095 "$D/byte.tif" "$T/nb$nb.tif"
	fi
	td=$T/run-nb$nb
	raster_run "$td" raster '{}' '{}' - "$T/nb$nb.tif"
	is "$(raster_answer "$td" status)" succeeded "$nb-bit: succeeded"
	ok "$nb-bit: a valid COG with the source's pixels, still $nb-bit" sh -c ". '$SPOOL_TOP/tests/t/raster-check.sh'; check_cog '$td/out/nb$nb.tif' && check_pixels '$td/out/nb$nb.tif' '$T/nb$nb.tif' && gdalinfo '$td/out/nb$nb.tif' | grep -q 'NBITS=$nb'"
	ok "$nb-bit: metadata and Item" sh -c ". '$SPOOL_TOP/tests/t/raster-check.sh'; check_metadata '$td/out/metadata.json' && check_item '$td/out/item.json'"
done

# north of 85.0511: no extent in EPSG:3857, a plain preview
gdal_translate -q -a_srs EPSG:4326 -a_ullr -180 90 180 86 "$D/byte.tif" "$T/polar.tif"
td=$T/run-polar
raster_run "$td" raster '{}' '{}' - "$T/polar.tif"
is "$(raster_answer "$td" status)" succeeded "polar: succeeded"
like "$(raster_answer "$td" summary note)" "beyond EPSG:3857's \\+-85.0511 degrees" "polar: the summary says why it has no web-map preview"
is "$($PY -c 'from osgeo import gdal; import sys; d = gdal.Open(sys.argv[1]); print(d.RasterXSize, d.RasterYSize, d.RasterCount)' "$td/out/preview.png")" \
	"20 20 4" "polar: the preview is the raster's own aspect, RGBA"
ok "polar: valid COG, bounds as GDAL's, metadata, Item" sh -c ". '$SPOOL_TOP/tests/t/raster-check.sh'; check_cog '$td/out/polar.tif' && check_bounds '$td/out/metadata.json' '$T/polar.tif' && check_metadata '$td/out/metadata.json' && check_item '$td/out/item.json'"

# a band description that is not UTF-8 (bytes put in after GDAL wrote it)
$PY - "$D/byte.tif" "$T/latin1.tif" <<'EOF'
import sys
from osgeo import gdal
ds = gdal.Translate(sys.argv[2], sys.argv[1])
ds.GetRasterBand(1).SetDescription("QQQQZZ")
ds = None
b = open(sys.argv[2], "rb").read()
assert b.count(b"QQQQZZ") == 1
open(sys.argv[2], "wb").write(b.replace(b"QQQQZZ", b"Q\xe9\xffQZZ"))
EOF
td=$T/run-latin1
raster_run "$td" raster '{}' '{}' - "$T/latin1.tif"
is "$(raster_answer "$td" status)" succeeded "not UTF-8: succeeded"
is "$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["bands"][0]["description"])' "$td/out/metadata.json")" \
	'Q\xe9\xffQZZ' "not UTF-8: the description is kept, its bytes written \\xNN"
ok "not UTF-8: metadata.json keeps its schema" check_metadata "$td/out/metadata.json"

# one_line DIR: the error is one line of valid UTF-8, at most 480 bytes
one_line() {
	$PY -c '
import json, sys
a = json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))
e = a.get("error")
sys.exit(0 if isinstance(e, str) and 0 < len(e.encode()) <= 480 and
         "\n" not in e and "\r" not in e and "outputs" not in a else 1)' "$1/answer.json"
}

# refused IN NAME DESC REGEX [PARAMS]: failed, permanent, one short line
refused() {
	td=$T/r$_n
	raster_run "$td" raster "${5:-{\}}" '{}' - "$1"
	is "$(raster_answer "$td" status) $(raster_answer "$td" permanent)" \
		"failed true" "$3: failed, permanent"
	like "$(raster_answer "$td" error)" "$4" "$3: says why"
	ok "$3: in one line of UTF-8, at most 480 bytes, no outputs" one_line "$td"
}

mkdir -p "$T/z"
cp "$D/byte.tif" "$T/z/inner.tif"
(cd "$T/z" && zip -q inner.zip inner.tif && zip -q "$T/nested.zip" inner.zip)
refused "$T/nested.zip" nested.zip "a zip holding a zip" "holds another zip \\('inner.zip'\\)"

$PY - "$D/byte.tif" "$T/longname.zip" <<'EOF'
import sys, zipfile
with zipfile.ZipFile(sys.argv[2], "w") as z:
    z.write(sys.argv[1], "\u00e9" * 600 + ".tif")
    z.write(sys.argv[1], "ok.tif")
EOF
refused "$T/longname.zip" longname.zip "a zip whose member names overflow the reason" "holds 2 rasters .*\\.\\.\\.$"

cp "$D/byte.tif" "$T/ok.tif"
refused "$T/ok.tif" ok.tif "compress given as a number" "compress must be a string" '{"compress":5}'
refused "$T/ok.tif" ok.tif "preview_size with trailing junk" "preview_size must be 16 to 8192" '{"preview_size":"8192x"}'
long=$($PY -c 'print("x" * 2000)')
refused "$T/ok.tif" ok.tif "a 2000-character resampling" "resampling 'x{32}' is not one of" "{\"resampling\":\"$long\"}"

# a name of 251 characters on a corrupt file: still one short line
n251=$($PY -c 'print("L" * 247 + ".tif")')
cp "$D/corrupt.tif" "$T/$n251"
td=$T/run-n251
raster_run "$td" raster '{}' '{}' - "$T/$n251"
is "$(raster_answer "$td" status)" failed "a 251-character name on a corrupt file: failed"
ok "a 251-character name on a corrupt file: in one short line" one_line "$td"

# an input name that climbs out of in/ (spoold never writes one; a worker
# that made output names from it would write outside its task)
td=$T/run-climb
raster_run "$td" raster '{}' '{}' - "$T/ok.tif"
jq -c '.inputs[0].name = "../climb.tif"' "$td/task.json" > "$td/task2.json"
rm -f "$td/out/"*
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	"$RASTER_WORKER" --task "$td/task2.json" 2> "$td/log2" | tail -n 1 > "$td/answer.json"
is "$(raster_answer "$td" status) $(raster_answer "$td" permanent)" "failed true" \
	"a climbing input name: failed, permanent"
like "$(raster_answer "$td" error)" "not a plain file name" "a climbing input name: says so"
is "$(find "$T" -name 'climb.tif*' | wc -l) $(ls "$td/out" | wc -l)" "0 0" \
	"a climbing input name: nothing written, in the task or beside it"
