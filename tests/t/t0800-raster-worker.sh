#!/bin/sh
# The raster worker, driven directly with task files (as spoold does): every
# test raster gives a valid COG with the source's pixels, a preview over
# leaflet_bounds, metadata with GDAL's bounds and an Item stac-validate
# accepts; corrupt.tif fails with GDAL's reason; a paletted raster keeps its
# palette and its overviews only its classes; a zip; a reprojection without
# black collars.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/raster-check.sh"
plan 103
PY=/usr/bin/python3
D=$RASTER_DATA

# every good file: 7 checks each (9 files: 63)
for f in RGB.byte RGBA.byte shade byte float_nan rotated goes world.rgb \
	rgb1_fake_nir_epsg3857; do
	td=$T/$f
	raster_run "$td" raster '{}' '{}' - "$D/$f.tif"
	is "$(raster_answer "$td" status)" succeeded "$f: succeeded"
	ok "$f: the COG passes GDAL's validator (--full-check=yes)" check_cog "$td/out/$f.tif"
	ok "$f: the COG's pixels are the source's" check_pixels "$td/out/$f.tif" "$D/$f.tif"
	ok "$f: bounds agree with GDAL's TransformBounds" check_bounds "$td/out/metadata.json" "$D/$f.tif"
	ok "$f: item.json is a valid STAC Item" check_item "$td/out/item.json"
	ok "$f: preview.png fits leaflet_bounds in EPSG:3857" check_preview "$td/out/preview.png" "$td/out/metadata.json"
	ok "$f: metadata.json: schema, no inf/NaN, output hashes" check_metadata "$td/out/metadata.json"
done

# the answer: outputs, names, summary
td=$T/RGB.byte
is "$(raster_answer "$td" outputs | $PY -c 'import json,sys; print(" ".join(o["name"] + ":" + o["role"] for o in json.load(sys.stdin)))')" \
	"RGB.byte.tif:data preview.png:overview item.json:metadata metadata.json:metadata" \
	"RGB.byte: outputs are the COG, preview, Item, metadata"
is "$(raster_answer "$td" outputs | $PY -c 'import json,sys; print(json.load(sys.stdin)[0]["type"])')" \
	"image/tiff; application=geotiff; profile=cloud-optimized" "RGB.byte: the COG's media type"
is "$(raster_answer "$td" summary | $PY -c 'import json,sys; s=json.load(sys.stdin); print(s["crs"], s["width"], s["height"], s["bands"], s["cog"], s["preview"], s["leaflet_bounds"] == [[s["bounds"][1], s["bounds"][0]], [s["bounds"][3], s["bounds"][2]]])')" \
	"EPSG:32618 791 718 3 RGB.byte.tif preview.png True" "RGB.byte: the summary's headline facts"
is "$($PY -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["compression"], m["predictor"], m["blocksize"], m["overviews"], m["resampling"], m["bands"][0]["nodata"])' "$td/out/metadata.json")" \
	"DEFLATE 2 [512, 512] [2] AVERAGE 0" "RGB.byte: DEFLATE, predictor 2, 512 blocks, overviews, AVERAGE, nodata kept"
ok "RGB.byte: the nodata collar is transparent in the preview" $PY -c '
from osgeo import gdal; import sys
ds = gdal.Open(sys.argv[1]); a = ds.GetRasterBand(4).ReadRaster()
sys.exit(0 if 0 in a and 255 in a else 1)' "$td/out/preview.png"
ok "RGB.byte: statistics in the COG (-stats)" sh -c "gdalinfo '$td/out/RGB.byte.tif' | grep -q STATISTICS_MEAN"
ok "RGB.byte: the worker wrote nothing in in/ and left tmp/ empty" sh -c "[ \$(ls '$td/in' | wc -l) = 1 ] && [ -z \"\$(ls -A '$td/tmp')\" ]"

# corrupt.tif: GDAL's own reason, permanent
td=$T/corrupt
raster_run "$td" raster '{}' '{}' - "$D/corrupt.tif"
is "$(raster_answer "$td" status) $(raster_answer "$td" permanent)" "failed true" "corrupt.tif fails, permanently"
like "$(raster_answer "$td" error)" "^'corrupt.tif': .*GDAL: TIFFFillTile:Read error" "corrupt.tif: the error is GDAL's reason"
like "$(raster_answer "$td" error)" "in/corrupt.tif" "corrupt.tif: no path of the node in the error"
is "$(raster_answer "$td" outputs)" null "corrupt.tif: no outputs"

# float with NaN, no CRS
m=$T/float_nan/out/metadata.json
is "$($PY -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["bands"][0]["nodata"], m["crs"], m["bounds"], m["leaflet_bounds"], m["geotransform"])' "$m")" \
	"nan None None None [0, 100, 0, 0, 0, 100]" "float_nan: nodata \"nan\", crs null, no bounds, geotransform kept"
is "$(raster_answer "$T/float_nan" summary | $PY -c 'import json,sys; s=json.load(sys.stdin); print(s["crs"], s["bounds"], "note" in s)')" \
	"None None True" "float_nan: the summary says crs null and why"
is "$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["geometry"])' "$T/float_nan/out/item.json")" None \
	"float_nan: the Item has a null geometry"
is "$(gdalinfo "$T/float_nan/out/float_nan.tif" | grep -c 'NoData Value=nan')" 1 "float_nan: the COG keeps NaN nodata"

# rotated: the geotransform survives
is "$(gdalinfo -json "$T/rotated/out/rotated.tif" | $PY -c 'import json,sys; print(json.load(sys.stdin)["geoTransform"])')" \
	"$(gdalinfo -json "$D/rotated.tif" | $PY -c 'import json,sys; print(json.load(sys.stdin)["geoTransform"])')" \
	"rotated: the rotated geotransform survives"

# RGBA: the alpha band stays an alpha band
is "$(gdalinfo -json "$T/RGBA.byte/out/RGBA.byte.tif" | $PY -c 'import json,sys; print([b["colorInterpretation"] for b in json.load(sys.stdin)["bands"]])')" \
	"['Red', 'Green', 'Blue', 'Alpha']" "RGBA: Red, Green, Blue, Alpha"

# goes: JPEG-compressed full disk with a mask; bounds from the pixels
is "$($PY -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["bounds_method"], "note" in m)' "$T/goes/out/metadata.json")" \
	"sampled_grid True" "goes: bounds from a sampled grid, and a note says so"
is "$(gdalinfo "$T/goes/out/goes.tif" 2>/dev/null | grep -c 'Mask Flags: PER_DATASET')" 3 "goes: the mask survives"

# EPSG:3857 and EPSG:4326 sources
is "$(raster_answer "$T/shade" summary | $PY -c 'import json,sys; print(json.load(sys.stdin)["crs"])')" EPSG:3857 "shade: EPSG:3857"
is "$(raster_answer "$T/world.rgb" summary | $PY -c 'import json,sys; print(json.load(sys.stdin)["bounds"])')" \
	"[-180, -90, 180, 90]" "world.rgb: the whole world, unclamped"

# a paletted raster with a colour table, made here: palette and classes kept
$PY - "$T/classes.tif" <<'EOF'
import sys
from osgeo import gdal, osr
gdal.UseExceptions()
w, h = 700, 600
ds = gdal.GetDriverByName("GTiff").Create(sys.argv[1], w, h, 1, gdal.GDT_Byte)
ds.SetGeoTransform([500000, 30, 0, 4500000, 0, -30])
s = osr.SpatialReference(); s.ImportFromEPSG(32633); ds.SetSpatialRef(s)
cls = [1, 5, 9]
data = bytes(cls[((x // 7) + (y // 5) * 3 + (x * y) % 13 // 12) % 3] for y in range(h) for x in range(w))
b = ds.GetRasterBand(1)
b.WriteRaster(0, 0, w, h, data)
ct = gdal.ColorTable()
for i in range(10):
    ct.SetColorEntry(i, (i * 25, 255 - i * 25, (i * 70) % 256, 255))
b.SetRasterColorTable(ct)
b.SetDescription("landcover")
EOF
td=$T/classes
raster_run "$td" raster '{}' '{}' - "$T/classes.tif"
is "$(raster_answer "$td" status)" succeeded "paletted: succeeded"
ok "paletted: a valid COG" check_cog "$td/out/classes.tif"
ok "paletted: palette kept, overviews hold only the classes 1, 5, 9" check_palette "$td/out/classes.tif" 1 5 9
ok "paletted: pixels equal" check_pixels "$td/out/classes.tif" "$T/classes.tif"
is "$(gdalinfo "$td/out/classes.tif" | grep -c 'Description = landcover')" 1 "paletted: the band description survives"
is "$($PY -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["resampling"], m["bands"][0]["palette"])' "$td/out/metadata.json")" \
	"MODE 256" "paletted: MODE overviews by default; the palette is in metadata"
ok "paletted: the preview shows the palette's colours" $PY -c '
from osgeo import gdal; import sys
p = gdal.Open(sys.argv[1]); src = gdal.Open(sys.argv[2]); ct = src.GetRasterBand(1).GetColorTable()
want = set(tuple(ct.GetColorEntry(i)[:3]) for i in (1, 5, 9))
r, g, b, a = (p.GetRasterBand(i).ReadRaster() for i in (1, 2, 3, 4))
got = set((r[i], g[i], b[i]) for i in range(len(a)) if a[i])
sys.exit(0 if got and got <= want else 1)' "$td/out/preview.png" "$T/classes.tif"
ok "paletted: Item and preview" sh -c ". '$SPOOL_TOP/tests/t/raster-check.sh'; check_item '$td/out/item.json' && check_preview '$td/out/preview.png' '$td/out/metadata.json'"

# a zip holding one raster and a sidecar
mkdir -p "$T/z" && cp "$D/shade.tif" "$T/z/shade.tif" && printf 'readme\n' > "$T/z/README.txt"
(cd "$T/z" && zip -q "$T/dem.zip" shade.tif README.txt)
td=$T/zip
raster_run "$td" raster '{"compress":"ZSTD","preview_size":256}' '{}' - "$T/dem.zip"
is "$(raster_answer "$td" status) $(raster_answer "$td" summary cog)" "succeeded dem.tif" "zip: read through /vsizip/, the COG named after the zip"
ok "zip: valid COG with the zipped raster's pixels" sh -c ". '$SPOOL_TOP/tests/t/raster-check.sh'; check_cog '$td/out/dem.tif' && check_pixels '$td/out/dem.tif' '$D/shade.tif'"
is "$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["compression"])' "$td/out/metadata.json")" ZSTD "zip: compress ZSTD from params"
ok "zip: preview_size 256 holds" check_preview "$td/out/preview.png" "$td/out/metadata.json" 256

# reprojection straight into a COG: no black collars
td=$T/reproj
raster_run "$td" raster '{"reproject":"EPSG:4326"}' '{}' - "$D/RGB.byte.tif"
is "$(raster_answer "$td" status) $(raster_answer "$td" summary reprojected) $(raster_answer "$td" summary crs)" \
	"succeeded EPSG:4326 EPSG:4326" "reproject: succeeded, in EPSG:4326"
ok "reproject: a valid COG" check_cog "$td/out/RGB.byte.tif"
ok "reproject: bounds agree with TransformBounds over the COG" check_bounds "$td/out/metadata.json" "$td/out/RGB.byte.tif"
ok "reproject: the corners are nodata, not black data" $PY -c '
from osgeo import gdal; import sys
ds = gdal.Open(sys.argv[1]); b = ds.GetRasterBand(1)
m = b.GetMaskBand().ReadRaster(0, 0, 1, 1)
sys.exit(0 if m == b"\x00" and b.GetNoDataValue() == 0 else 1)' "$td/out/RGB.byte.tif"
ok "reproject: Item, preview, metadata" sh -c ". '$SPOOL_TOP/tests/t/raster-check.sh'; check_item '$td/out/item.json' && check_preview '$td/out/preview.png' '$td/out/metadata.json' && check_metadata '$td/out/metadata.json'"
td=$T/reproj-rgba
raster_run "$td" raster '{"reproject":"EPSG:3857"}' '{}' - "$D/byte.tif"
is "$(gdalinfo -json "$td/out/byte.tif" | $PY -c 'import json,sys; print([b["colorInterpretation"] for b in json.load(sys.stdin)["bands"]])')" \
	"['Gray', 'Alpha']" "reproject without nodata: an alpha band is added"
ok "reproject without nodata: valid COG" check_cog "$td/out/byte.tif"
