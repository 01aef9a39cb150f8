#!/bin/sh
# The tiled path, with this test playing the supervisor: a raster above a
# lowered tile_threshold gets a plan (stage "raster"), each planned tile
# its COG and Item (stage "tile"), then the mosaic stage writes a VRT with
# relative paths, one preview, metadata and a STAC Collection.  The VRT
# opens in gdalinfo with the full size and the source's pixels; reprojected
# tiles share one grid, so the mosaic equals one gdalwarp onto that grid.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/raster-check.sh"
plan 31
PY=/usr/bin/python3
D=$RASTER_DATA
CFG='{"tile_threshold":1000000,"tile_bytes":786432}'

# 1536 x 1280, 3 bands, 256-pixel blocks, nodata 0: 5.9 MB of pixels
gdal_translate -q -outsize 1536 1280 -r bilinear -co TILED=YES \
	-co BLOCKXSIZE=256 -co BLOCKYSIZE=256 "$D/RGB.byte.tif" "$T/big.tif"

# tiled PARAMS TAG: stage 1, every tile, the mosaic; outputs gathered in
# $T/TAG/res as spoold would deliver them (one directory)
tiled() {
	w=$T/$2
	mkdir -p "$w/res"
	raster_run "$w/plan" raster "$1" "$CFG" - "$T/big.tif"
	n=$($RASTER_CHECK plans "$w/plan/answer.json" "$w")
	i=0 fails=0 ins=""
	while [ "$i" -lt "$n" ]; do
		raster_run "$w/tile$i" tile "$1" "$CFG" "$(cat "$w/plan-$i.json")" "$T/big.tif" ||
			fails=$((fails + 1))
		[ "$(raster_answer "$w/tile$i" status)" = succeeded ] || {
			fails=$((fails + 1)); cat "$w/tile$i/answer.json" >&2; }
		cp "$w/tile$i"/out/* "$w/res/"
		i=$((i + 1))
	done
	echo "$n $fails"
	# the mosaic task: the request's file, then every earlier output
	raster_run "$w/mosaic" mosaic "$1" "$CFG" - "$T/big.tif" "$w"/res/* >&2
	cp "$w/mosaic"/out/* "$w/res/"
}

set -- $(tiled '{}' plain)
w=$T/plain
is "$(raster_answer "$w/plan" status) $(raster_answer "$w/plan" outputs) $(raster_answer "$w/plan" summary tiled)" \
	"succeeded null true" "above the threshold: a plan, no COG"
is "$1" 9 "nine tiles of about tile_bytes"
ok "the tiles are cut on block boundaries and cover the raster once" $PY -c '
import json, sys
plans = [json.load(open("%s/plan-%d.json" % (sys.argv[1], i))) for i in range(int(sys.argv[2]))]
seen = set()
for p in plans:
    assert p["xoff"] % 256 == 0 and p["yoff"] % 256 == 0, p
    for y in range(p["yoff"], p["yoff"] + p["ysize"], 64):
        for x in range(p["xoff"], p["xoff"] + p["xsize"], 64):
            assert (x, y) not in seen, (x, y)
            seen.add((x, y))
assert len(seen) == (1536 // 64) * (1280 // 64), len(seen)
assert len(set(p["name"] for p in plans)) == len(plans)' "$w" "$1"
is "$2" 0 "every tile task succeeded"
ok "every tile is a valid COG" sh -c ". '$SPOOL_TOP/tests/t/raster-check.sh'; for f in '$w'/res/big-r*.tif; do check_cog \"\$f\" || exit 1; done"
ok "every tile's Item is valid" sh -c ". '$SPOOL_TOP/tests/t/raster-check.sh'; for f in '$w'/res/big-r*.json; do check_item \"\$f\" || exit 1; done"
is "$(raster_answer "$w/mosaic" status)" succeeded "the mosaic stage succeeded"
is "$(raster_answer "$w/mosaic" outputs | $PY -c 'import json,sys; print(" ".join(o["name"] for o in json.load(sys.stdin)))')" \
	"big.vrt preview.png collection.json metadata.json" "mosaic outputs: VRT, preview, Collection, metadata"
is "$(gdalinfo -json "$w/res/big.vrt" | $PY -c 'import json,sys; print(json.load(sys.stdin)["size"])')" \
	"[1536, 1280]" "gdalinfo opens the VRT with the full size"
ok "the VRT names its tiles relative to itself" sh -c "! grep SourceFilename '$w/res/big.vrt' | grep -v 'relativeToVRT=\"1\">big-r[0-9]*-c[0-9]*.tif<'"
ok "the mosaic's pixels are the source's" check_pixels "$w/res/big.vrt" "$T/big.tif"
ok "the Collection is valid and links every tile's Item" check_collection "$w/res/collection.json"
is "$($PY -c 'import json,sys; c=json.load(open(sys.argv[1])); print(sum(l["rel"] == "item" for l in c["links"]))' "$w/res/collection.json")" \
	9 "the Collection links nine Items"
ok "the mosaic's preview fits leaflet_bounds" check_preview "$w/res/preview.png" "$w/res/metadata.json"
ok "the mosaic's metadata: schema, no inf/NaN, hashes of tiles and mosaic" check_metadata "$w/res/metadata.json"
ok "the mosaic's bounds agree with TransformBounds" check_bounds "$w/res/metadata.json" "$w/res/big.vrt"
# (GDAL keeps a tile's valid percentage to 4 digits: means within 1e-4)
ok "statistics pooled from the tiles agree with the source's" $PY -c '
import json, sys
from osgeo import gdal
m = json.load(open(sys.argv[1])); ds = gdal.Open(sys.argv[2])
for i, b in enumerate(m["bands"]):
    mn, mx, mean, sd = ds.GetRasterBand(i + 1).ComputeStatistics(False)
    assert (b["min"], b["max"]) == (mn, mx), (i, b, mn, mx)
    for k, v in (("mean", mean), ("stddev", sd)):
        assert abs(b[k] - v) <= 1e-4 * max(1, abs(v)), (i, k, b[k], v)' "$w/res/metadata.json" "$T/big.tif"
is "$(raster_answer "$w/mosaic" summary | $PY -c 'import json,sys; s=json.load(sys.stdin); print(s["tiled"], s["tiles"], s["vrt"], s["width"], s["height"], s["crs"])')" \
	"True 9 big.vrt 1536 1280 EPSG:32618" "the mosaic's summary"

# reprojected: the tiles are windows of one target grid
set -- $(tiled '{"reproject":"EPSG:4326"}' warped)
w=$T/warped
ok "reprojected: the plan carries the target grid" $PY -c '
import json, sys
p = json.load(open(sys.argv[1] + "/plan-0.json"))
assert p["grid"]["srs"] == "EPSG:4326" and len(p["grid"]["geotransform"]) == 6' "$w"
like "$1" "^[0-9]+$" "reprojected: $1 tiles"
is "$2" 0 "reprojected: every tile task succeeded"
ok "reprojected: every tile is a valid COG" sh -c ". '$SPOOL_TOP/tests/t/raster-check.sh'; for f in '$w'/res/big-r*.tif; do check_cog \"\$f\" || exit 1; done"
is "$(raster_answer "$w/mosaic" status)" succeeded "reprojected: the mosaic stage succeeded"
is "$(gdalinfo -json "$w/res/big.vrt" | $PY -c 'import json,sys; print(json.load(sys.stdin)["size"])')" \
	"$($PY -c 'import json,sys; g=json.load(open(sys.argv[1]))["grid"]; print([g["width"], g["height"]])' "$w/plan-0.json")" \
	"reprojected: the VRT has the grid's size"
ok "reprojected: the Collection is valid" check_collection "$w/res/collection.json"
ok "reprojected: metadata and bounds" sh -c ". '$SPOOL_TOP/tests/t/raster-check.sh'; check_metadata '$w/res/metadata.json' && check_bounds '$w/res/metadata.json' '$w/res/big.vrt'"
# one gdalwarp of the whole onto the same grid (-of COG: the same warped-VRT
# path the worker takes): no seams between tiles
$PY - "$w/plan-0.json" "$T/big.tif" "$T/whole.tif" <<'EOF'
import json, sys
from osgeo import gdal
gdal.UseExceptions()
g = json.load(open(sys.argv[1]))["grid"]
gt, W, H = g["geotransform"], g["width"], g["height"]
gdal.Warp(sys.argv[3], sys.argv[2], format="COG", dstSRS=g["srs"], outputBounds=(gt[0], gt[3] + H * gt[5], gt[0] + W * gt[1], gt[3]),
          width=W, height=H, resampleAlg="bilinear")
EOF
ok "reprojected: the mosaic equals one gdalwarp -of COG of the whole on that grid" \
	check_pixels "$w/res/big.vrt" "$T/whole.tif"
ok "reprojected: no black collar (corners are nodata)" $PY -c '
import sys
from osgeo import gdal
ds = gdal.Open(sys.argv[1]); b = ds.GetRasterBand(1)
m = b.GetMaskBand()
sys.exit(0 if m.ReadRaster(0, 0, 1, 1) == b"\x00" and m.ReadRaster(ds.RasterXSize - 1, ds.RasterYSize - 1, 1, 1) == b"\x00" else 1)' "$w/res/big.vrt"

# tile_bytes bigger than the raster: one tile; the threshold not reached: a COG
raster_run "$T/one" raster '{}' '{"tile_threshold":1000000,"tile_bytes":"1G"}' - "$T/big.tif"
is "$(raster_answer "$T/one" summary tiles)" 1 "tile_bytes \"1G\" over the raster: one tile"
raster_run "$T/under" raster '{}' '{"tile_threshold":"1G"}' - "$T/big.tif"
is "$(raster_answer "$T/under" summary tiled) $(raster_answer "$T/under" next)" "false null" "under tile_threshold: one COG, no plan"
raster_run "$T/noplan" tile '{}' '{}' - "$T/big.tif"
is "$(raster_answer "$T/noplan" status) $(raster_answer "$T/noplan" error)" \
	"failed a tile task needs its plan" "a tile task without a plan fails and says so"
