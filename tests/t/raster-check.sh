# raster-check.sh - checks of what the raster worker delivers (sourced).
#
# Each check takes files, exits 0 when it holds and prints why not on
# stderr, so it works as `ok "desc" check_cog FILE` in a TAP test, whether
# the files came from the worker run directly or from a result directory
# of two real daemons.  The references are independent of the worker:
# GDAL's COG validator, GDAL's Python bindings (TransformBounds,
# checksums), stac-validate and JSON Schema.
#
#   check_cog FILE              LAYOUT=COG and validate_cloud_optimized_geotiff
#                               --full-check=yes
#   check_pixels COG SOURCE     every band's checksum equal
#   check_bounds META RASTER    bounds vs TransformBounds(21 points) over the
#                               native bbox (1e-7 deg), wgs84Extent inside;
#                               full disks: finite, around the sub-satellite
#                               point
#   check_item ITEM             stac-validate, COG asset type, relative hrefs
#   check_collection COLL       stac-validate, the linked Items
#   check_preview PNG META [MAX]  RGBA, <= MAX px, aspect of leaflet_bounds'
#                               EPSG:3857 extent within a pixel
#   check_metadata META         schema, no inf/NaN, output hashes
#   check_palette COG CLASS...  colour table kept, overviews only CLASSes
#
# Driving the worker directly (what spoold does, for tests):
#   raster_run DIR STAGE PARAMS CONFIG PLAN FILE...
#       copies FILE... into DIR/in, writes DIR/task.json, runs the worker,
#       leaves its answer in DIR/answer.json; PLAN is JSON or -
#   raster_answer DIR KEY...    a value of the answer
: "${SPOOL_TOP:?}" "${SPOOL_BUILD:?}"
RASTER_PY=/usr/bin/python3
RASTER_CHECK="$RASTER_PY $SPOOL_TOP/tests/t/raster-check.py"
RASTER_COG_VALIDATOR=/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_cloud_optimized_geotiff.py
RASTER_STAC_VALIDATE="$SPOOL_TOP/tests/stac/stac-validate"
RASTER_WORKER="$SPOOL_BUILD/libexec/spool/raster"
RASTER_DATA="$SPOOL_TOP/tests/data/raster"

check_cog() {
	_o=$("$RASTER_PY" "$RASTER_COG_VALIDATOR" --full-check=yes "$1" 2>&1) ||
		{ echo "$_o" >&2; return 1; }
	case "$_o" in *"is a valid cloud optimized GeoTIFF"*) ;;
		*) echo "$_o" >&2; return 1 ;; esac
	_l=$(gdalinfo -json "$1" | "$RASTER_PY" -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["IMAGE_STRUCTURE"].get("LAYOUT"))')
	[ "$_l" = COG ] || { echo "LAYOUT=$_l" >&2; return 1; }
}

check_pixels() { $RASTER_CHECK pixels "$1" "$2" >&2; }
check_bounds() { $RASTER_CHECK bounds "$1" "$2" >&2; }
check_palette() { $RASTER_CHECK palette "$@" >&2; }

check_item() {
	"$RASTER_STAC_VALIDATE" "$1" >&2 && $RASTER_CHECK finite "$1" >&2 &&
		$RASTER_CHECK item "$1" >&2
}

check_collection() {
	"$RASTER_STAC_VALIDATE" "$1" >&2 && $RASTER_CHECK finite "$1" >&2 &&
		$RASTER_CHECK collection "$1" >&2
}

check_preview() { $RASTER_CHECK preview "$1" "$2" "${3:-1024}" >&2; }

check_metadata() {
	$RASTER_CHECK finite "$1" >&2 &&
		$RASTER_CHECK schema "$1" "$SPOOL_TOP/schemas/raster-metadata.schema.json" >&2 &&
		$RASTER_CHECK hashes "$1" >&2
}

raster_run() {
	_d=$1 _stage=$2 _p=$3 _c=$4 _plan=$5
	shift 5
	mkdir -p "$_d/in" "$_d/out" "$_d/tmp"
	_names=""
	for _f in "$@"; do
		cp "$_f" "$_d/in/" && chmod a-w "$_d/in/$(basename "$_f")"
		_names="$_names $(basename "$_f")"
	done
	# shellcheck disable=SC2086
	# LeakSanitizer cannot work in the worker's sandbox (it needs ptrace
	# and a new process, which seccomp refuses): an ASan build runs the
	# worker with leak detection off, everything else on
	$RASTER_CHECK task "$_d/task.json" "$_d" "$_stage" "$_p" "$_c" "$_plan" $_names &&
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		"$RASTER_WORKER" --task "$_d/task.json" > "$_d/lines" 2> "$_d/log"
	_rc=$?
	tail -n 1 "$_d/lines" > "$_d/answer.json"
	return $_rc
}

# mk_passwd_vrt FILE: a VRT that names /etc/passwd as its pixels (what
# the worker must refuse to open)
mk_passwd_vrt() {
	cat > "$1" <<'EOF'
<VRTDataset rasterXSize="10" rasterYSize="10">
  <VRTRasterBand dataType="Byte" band="1">
    <SimpleSource>
      <SourceFilename relativeToVRT="0">/etc/passwd</SourceFilename>
      <SourceBand>1</SourceBand>
    </SimpleSource>
  </VRTRasterBand>
</VRTDataset>
EOF
}
raster_answer() { _d=$1; shift; $RASTER_CHECK answer "$_d/answer.json" "$@"; }
