#!/bin/sh
# The raster worker refuses what it must not open, with a reason, as a
# failed (permanent) answer: a VRT naming /etc/passwd, a file whose content
# is another driver than its extension says, zips with no or two rasters,
# unknown extensions, bad params; an operator can narrow the allow-list.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/raster-check.sh"
plan 24
PY=/usr/bin/python3
D=$RASTER_DATA

# refused NAME DESC REGEX [PARAMS [CONFIG]]: a failed, permanent answer whose
# error matches REGEX, and no output
refused() {
	td=$T/r$_n
	raster_run "$td" raster "${4:-{\}}" "${5:-{\}}" - "$T/$1"
	is "$(raster_answer "$td" status) $(raster_answer "$td" permanent) $(raster_answer "$td" outputs)" \
		"failed true null" "$2: failed, permanent, no outputs"
	like "$(raster_answer "$td" error)" "$3" "$2: says why"
}

mk_passwd_vrt "$T/passwd.vrt"
refused passwd.vrt "a .vrt naming /etc/passwd" "driver VRT .* not allowed.*names other files"

cp "$T/passwd.vrt" "$T/sneaky.tif"
refused sneaky.tif "a VRT named .tif" "name \\(.tif\\) says GTiff .* content is VRT"

gdal_translate -q -of PNG "$D/byte.tif" "$T/png.tif"
refused png.tif "a PNG named .tif" "name \\(.tif\\) says GTiff .* content is PNG"

cp "$D/byte.tif" "$T/tiff.png"
refused tiff.png "a GeoTIFF named .png" "name \\(.png\\) says PNG .* content is GTiff"

printf 'not a raster at all\n' > "$T/notes.txt"
refused notes.txt "an unknown extension" "'.txt' is not a raster extension"

(cd "$D" && zip -q "$T/two.zip" byte.tif shade.tif)
refused two.zip "a zip of two rasters" "holds 2 rasters"

printf 'hello\n' > "$T/readme.txt"
(cd "$T" && zip -q "$T/none.zip" readme.txt)
refused none.zip "a zip without a raster" "holds no raster"

cp "$D/byte.tif" "$T/ok.tif"
refused ok.tif "compress BZIP" "compress 'BZIP2' is not one of" '{"compress":"BZIP2"}'
cp "$D/float_nan.tif" "$T/f.tif"
refused f.tif "JPEG on float data" "JPEG needs 8-bit data" '{"compress":"JPEG"}'
refused f.tif "reprojecting a raster without CRS" "cannot reproject to EPSG:4326: the raster has no CRS" '{"reproject":"EPSG:4326"}'
refused ok.tif "an unknown EPSG code" "no such CRS" '{"reproject":"EPSG:999999"}'
refused ok.tif "a narrowed allow-list" "driver GTiff .* not allowed on this node \(allowed: PNG\)" '{}' '{"drivers":["PNG"]}'
