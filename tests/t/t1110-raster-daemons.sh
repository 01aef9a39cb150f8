#!/bin/sh
# Raster requests through two real daemons (issue 16): every test raster
# dropped in low's in/raster/ comes back as a valid COG with preview,
# metadata and STAC Item (corrupt.tif with GDAL's reason); a preset folder
# reprojects; a big raster goes the tiled path; layer-state.json walks
# pending -> processing -> done on low.  The checks are raster-check.sh's,
# against GDAL, its COG validator and stac-validate.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
. "$(dirname "$0")/raster-check.sh"
PY=/usr/bin/python3
RASTERS="RGB.byte.tif RGBA.byte.tif byte.tif float_nan.tif goes.tif rgb1_fake_nir_epsg3857.tif rotated.tif shade.tif world.rgb.tif"
plan 96

pair low high
set_conf low batch max_age 1s
set_conf high batch max_age 1s
cat >> "$T/low/spoold.conf" <<EOF

[folder raster4326]
type = raster
reproject = EPSG:4326
compress = ZSTD
EOF
cat >> "$T/high/spoold.conf" <<EOF

[raster]
tile_threshold = 6M
tile_bytes = 2M

[workers.raster]
count = 2
EOF
start low
start high

# a paletted raster (700x600, classes 1 5 9) and a big one (2000x1500x3)
$PY - "$T/classes.tif" "$T/big.tif" <<'EOF'
import sys
from osgeo import gdal, osr
gdal.UseExceptions()
s = osr.SpatialReference(); s.ImportFromEPSG(32633)
w, h = 700, 600
ds = gdal.GetDriverByName("GTiff").Create(sys.argv[1], w, h, 1, gdal.GDT_Byte)
ds.SetGeoTransform([500000, 30, 0, 4500000, 0, -30]); ds.SetSpatialRef(s)
cls = [1, 5, 9]
ds.GetRasterBand(1).WriteRaster(0, 0, w, h, bytes(cls[((x // 7) + (y // 5) * 3) % 3] for y in range(h) for x in range(w)))
ct = gdal.ColorTable()
for i in range(10):
    ct.SetColorEntry(i, (i * 25, 255 - i * 25, (i * 70) % 256, 255))
ds.GetRasterBand(1).SetRasterColorTable(ct)
ds = None
w, h = 2000, 1500
ds = gdal.GetDriverByName("GTiff").Create(sys.argv[2], w, h, 3, gdal.GDT_Byte, ["TILED=YES"])
ds.SetGeoTransform([400000, 10, 0, 4600000, 0, -10]); ds.SetSpatialRef(s)
row = bytes((x * 7) % 251 for x in range(w))
for b in range(3):
    ds.GetRasterBand(b + 1).WriteRaster(0, 0, w, h, row * h)
ds = None
EOF

# what the worker must not open: a VRT naming /etc/passwd, a PNG named .tif
mk_passwd_vrt "$T/passwd.vrt"
gdal_translate -q -of PNG "$SPOOL_TOP/tests/data/raster/byte.tif" "$T/png.tif"

# drop: copy under a temp name, rename in (a complete file appears)
drop() {
	cp "$2" "$T/low/in/$1/.$(basename "$2").part" &&
	mv "$T/low/in/$1/.$(basename "$2").part" "$T/low/in/$1/$(basename "$2")"
}
# layer states of a file's layer on low, as a map page polls them
watch_layer() {
	: > "$T/walk"
	while :; do
		jq -r --arg n "$1" '.layers[] | select(.name == $n) | .state' \
		    "$T/low/status/layer-state.json" 2> /dev/null >> "$T/walk"
		sleep 0.05
	done
}
watch_layer shade.tif &
watcher=$!

for f in $RASTERS corrupt.tif; do drop raster "$SPOOL_TOP/tests/data/raster/$f"; done
drop raster "$T/classes.tif"
drop raster "$T/passwd.vrt"
drop raster "$T/png.tif"
drop raster4326 "$SPOOL_TOP/tests/data/raster/byte.tif"
# to_high N: low's batches to high as low makes them on its own, then
# high's answers back until low has N results
nresults() { ls "$T/low/results" | grep -c '^[0-9a-f]\{8\}-'; }
to_high() {
	ok "low accepts them" wait_for "$1 accepted" 20 \
	    sh -c "[ \$(grep -c event=accepted '$T/low.log') -eq $1 ]"
	wait_for "low's batch" 30 sh -c "ls '$T/low/out' | grep -q 'minisig\$'"
	carry low high
	_i=0
	while [ $_i -lt 1200 ]; do
		carry low high
		carry high low
		[ "$(nresults)" -ge "$1" ] && break
		sleep 0.1
		_i=$((_i + 1))
	done
	is "$(nresults)" "$1" "$1 results on low"
}
to_high 14
wait_for "shade.tif done" 10 sh -c "jq -e '.layers[] | select(.name == \"shade.tif\" and .state == \"done\")' '$T/low/status/layer-state.json'"
sleep 0.5 # the watcher polls every 0.05 s
kill "$watcher" 2> /dev/null
# the big one alone, so that both raster workers are free for its tiles
drop raster "$T/big.tif"
to_high 15

r() { echo "$T/low/results/by-name/$(id -un)/raster/$1"; }
for f in $RASTERS classes.tif; do
	rd=$(r "$f")
	stem=${f%.tif}
	is "$(jq -r .status "$rd/result.json")" succeeded "$f: succeeded"
	ok "$f: a valid COG" check_cog "$rd/$stem.tif"
	ok "$f: preview where a web map puts it" check_preview "$rd/preview.png" "$rd/metadata.json"
	ok "$f: metadata" check_metadata "$rd/metadata.json"
	ok "$f: a valid STAC Item" check_item "$rd/item.json"
done
for f in $RASTERS; do
	rd=$(r "$f")
	ok "$f: pixels equal the source's" check_pixels "$rd/${f%.tif}.tif" "$SPOOL_TOP/tests/data/raster/$f"
	case $f in rotated.tif) ;; *)
		ok "$f: bounds agree with TransformBounds" check_bounds "$rd/metadata.json" "$SPOOL_TOP/tests/data/raster/$f" ;;
	esac
done
ok "classes.tif: palette kept, overviews hold only its classes" \
    check_palette "$(r classes.tif)/classes.tif" 1 5 9
is "$(jq -r .status "$(r corrupt.tif)/result.json")" failed "corrupt.tif fails"
like "$(jq -r .error "$(r corrupt.tif)/result.json")" "TIFF|Read error" \
    "with GDAL's reason"
is "$(jq -r .status "$(r passwd.vrt)/result.json")" failed \
    "a .vrt naming /etc/passwd is taken, then fails on the processing node"
like "$(jq -r .error "$(r passwd.vrt)/result.json")" "driver VRT .* not allowed.*names other files" \
    "saying that VRT is not allowed"
is "$(jq -r .status "$(r png.tif)/result.json")" failed "a PNG named .tif fails"
like "$(jq -r .error "$(r png.tif)/result.json")" "name \\(.tif\\) says GTiff .* content is PNG" \
    "saying what it is"
is "$(ls "$(r passwd.vrt)" "$(r png.tif)" | grep -v -e '^$' -e ':$' | sort -u | tr '\n' ' ')" \
    "result.json " "neither has an output but its result.json"
like "$(jq -r '.bounds | map(tostring) | join(",")' "$(r goes.tif)/metadata.json")" \
    '^-?[0-9.]+,-?[0-9.]+,-?[0-9.]+,-?[0-9.]+$' "goes.tif has finite bounds"

# the preset folder reprojected, with its compression
rd=$T/low/results/by-name/$(id -un)/raster4326/byte.tif
ok "raster4326/byte.tif: a valid COG" check_cog "$rd/byte.tif"
like "$(gdalsrsinfo -o epsg "$rd/byte.tif" 2> /dev/null)" "EPSG:4326" "in EPSG:4326"
like "$(gdalinfo "$rd/byte.tif" | grep COMPRESSION)" "ZSTD" "compressed with ZSTD"

# the big raster went the tiled path: tiles in parallel, a mosaic
rd=$(r big.tif)
is "$(jq -r .status "$rd/result.json")" succeeded "big.tif: succeeded"
like "$(ls "$rd" | grep -c '^big-r.*\.tif$')" '^([2-9]|[1-9][0-9])$' "big.tif: cut into tiles"
is "$(gdalinfo -json "$rd/big.vrt" | jq -c .size)" "[2000,1500]" "the VRT opens with the full size"
ok "the Collection is valid" check_collection "$rd/collection.json"
tiles_ok() { for t in "$1"/big-r*.tif; do check_cog "$t" || return 1; done; }
ok "each tile is a valid COG" tiles_ok "$rd"
job=$("$SPOOLCTL" --root "$T/high" jobs --json | jq -r ".jobs[] | select(.request == \"$(jq -r .request "$rd/result.json")\") | .id")
"$SPOOLCTL" --root "$T/high" show "$job" --json > "$T/big.json"
is "$(jq -r '[.job.stages[] | .name] | join(" ")' "$T/big.json")" "raster tile mosaic" "stages raster, tile, mosaic"
is "$(jq -r '[.job.stages[1].tasks[].lease_owner] | unique | length' "$T/big.json")" 2 \
    "the tiles ran in both raster workers"

# layer-state.json, on low as a map page sees it
is "$(uniq "$T/walk" | tr '\n' ' ')" "pending processing done " \
    "shade.tif's layer walked pending -> processing -> done"
ok "layer-state.json follows its schema" $PY - "$T/low/status/layer-state.json" "$SPOOL_TOP/schemas/layer-state.schema.json" <<'EOF'
import json, sys, jsonschema
jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))
EOF
l=$(jq -c '.layers[] | select(.name == "shade.tif")' "$T/low/status/layer-state.json")
is "$(printf '%s' "$l" | jq -r '.cog, .preview' | xargs -I{} test -f "$T/low/{}" && echo yes)" yes \
    "its cog and preview paths lead to the files"
is "$(printf '%s' "$l" | jq -c '[.leaflet_bounds[0][0], .leaflet_bounds[0][1]] == [.bounds[1], .bounds[0]]')" true \
    "leaflet_bounds are bounds reordered"
is "$(jq -r '.layers[] | select(.name == "corrupt.tif") | .state' "$T/low/status/layer-state.json")" error \
    "corrupt.tif's layer is in error"
ok "high has a layer-state.json too" test -s "$T/high/status/layer-state.json"
