# vector-check.sh - driving the vector worker by task files, and checks of
# its results against independent tools (ogrinfo, psql).  Source after
# lib.sh (and pg.sh for the PostGIS checks).  The test plays spoold: it
# writes each stage's task files from the answers' "next".
#
#   vec_task DIR STAGE PARAMS CONFIG PLAN FILE...
#                          a task directory DIR (in/ with FILEs, out/, tmp/)
#                          and DIR/task.json; PARAMS, CONFIG, PLAN are JSON
#   vec_run DIR            run it; the answer in DIR/answer.json; exit 0
#                          when it succeeded
#   vec_job NAME FILE PARAMS CONFIG [LOADERS]
#                          the whole job in $T/NAME: convert, then create,
#                          the loads (LOADERS long-lived workers, default
#                          1, each fed all its task lines on stdin), finish,
#                          as far as each answer's "next" goes;
#                          $T/NAME/convert/answer.json ... finish/answer.json
#   vec_loads DIR GPKG N   the loads of DIR/create/answer.json by N workers
#   vec_src_count FILE LAYER        features per ogrinfo of the source
#   vec_gpkg_type GPKG LAYER        declared geometry type per ogrinfo
#   vec_gpkg_count GPKG LAYER       features per ogrinfo
#   vec_gpkg_valid GPKG             GDAL's validate_gpkg.py passes, and
#                                   each layer's spatial index passes
#                                   SQLite's rtreecheck(), holds one entry
#                                   per non-empty geometry, and selects
#                                   the features a scan does (ogrinfo
#                                   -spat on a copy without the index)
#   vec_preview_ok DIR              DIR/out/preview.png is, pixel for
#                                   pixel, what gdal_rasterize -at draws of
#                                   the GeoPackage's layers reprojected to
#                                   EPSG:3857 by ogr2ogr, over
#                                   leaflet_bounds (latitudes clamped)
#   vec_meta DIR JQ                 jq over DIR/out/metadata.json
#   vec_pg SQL                      psql -qAtX against $GIS_URL
VECTOR="${SPOOL_BUILD}/libexec/spool/vector"
VEC_REQ=${VEC_REQ:-00000000-0000-4000-8000-000000000001}

vec_task() {
	_d=$1 _stage=$2 _params=$3 _config=$4 _plan=$5
	shift 5
	mkdir -p "$_d/in" "$_d/out" "$_d/tmp" || return 1
	_inputs="[]"
	for _f in "$@"; do
		_vn=$(basename "$_f")
		ln -f "$_f" "$_d/in/$_vn" 2>/dev/null || cp "$_f" "$_d/in/$_vn" || return 1
		_inputs=$(printf '%s' "$_inputs" | jq -c --arg n "$_vn" '. + [{name: $n, path: ("in/" + $n)}]')
	done
	jq -nc --arg dir "$_d" --arg stage "$_stage" --arg req "$VEC_REQ" \
		--argjson inputs "$_inputs" --argjson params "$_params" \
		--argjson config "$_config" --argjson plan "$_plan" \
		--arg task "$(basename "$_d")-$(date +%s%N)" \
		'{v: 1, task: $task, job: "00000000-0000-4000-8000-00000000000a",
		  request: $req, kind: "vector", stage: $stage, stage_index: 0,
		  index: 0, count: 1, attempt: 1, dir: $dir, inputs: $inputs,
		  params: $params, config: $config, plan: $plan,
		  limits: {timeout_ms: 600000, threads: 1}}' > "$_d/task.json"
}

vec_run() {
	"$VECTOR" --task "$1/task.json" > "$1/lines" 2> "$1/log"
	tail -n 1 "$1/lines" > "$1/answer.json"
	[ "$(jq -r .status "$1/answer.json" 2>/dev/null)" = succeeded ]
}

# A long-lived loader: one work area $1 (in/ holds the GeoPackage $2) for
# all its tasks, as spoold gives one to each worker it keeps; the task
# lines of the plans in file $3 (one JSON plan a line) go to $1/tasks.
vec_loader_area() {
	: > "$1.tasks"
	while read -r _plan; do
		vec_task "$1" load "$VEC_PARAMS" "$VEC_CONFIG" "$_plan" "$2" &&
		cat "$1/task.json" >> "$1.tasks" || return 1
	done < "$3"
}

# Run the loader of area $1 on its task lines, one line after the answer
# to the one before, as spoold does; answers in $1.out.  Its stdin stays
# open until the last answer (EOF on stdin means that spoold went away:
# the running task stops).
vec_loader() {
	: > "$1.out"
	_li=0
	while read -r _line; do
		printf '%s\n' "$_line"
		_li=$((_li + 1))
		while [ "$(grep -c '"status"' "$1.out")" -lt "$_li" ]; do
			sleep 0.02
		done
	done < "$1.tasks" | "$VECTOR" --area "$1" > "$1.out" 2> "$1.log"
}

vec_job() {
	_jname=$1 _jfile=$2 VEC_PARAMS=$3 VEC_CONFIG=$4 _jloaders=${5:-1}
	_w="$T/$_jname"
	rm -rf "$_w"
	mkdir -p "$_w"
	vec_task "$_w/convert" convert "$VEC_PARAMS" "$VEC_CONFIG" null "$_jfile" || return 1
	vec_run "$_w/convert" || return 1
	[ "$(jq '.next | length' "$_w/convert/answer.json")" -gt 0 ] || return 0
	_jgpkg=$(jq -r '.next[0].gpkg' "$_w/convert/answer.json")
	vec_task "$_w/create" create "$VEC_PARAMS" "$VEC_CONFIG" \
		"$(jq -c '.next[0]' "$_w/convert/answer.json")" \
		"$_jfile" "$_w/convert/out/$_jgpkg" || return 1
	vec_run "$_w/create" || return 1
	vec_loads "$_w" "$_w/convert/out/$_jgpkg" "$_jloaders" || return 1
	vec_task "$_w/finish" finish "$VEC_PARAMS" "$VEC_CONFIG" null \
		"$_jfile" "$_w/convert/out/$_jgpkg" "$_w/create/out/postgis.json" || return 1
	vec_run "$_w/finish"
}

# The plans of $1/create/answer.json dealt round-robin to $3 long-lived
# loaders, run in parallel; all must succeed.
vec_loads() {
	_ln=$(jq '.next | length' "$1/create/answer.json")
	_lk=0
	while [ "$_lk" -lt "$3" ]; do
		jq -c --argjson k "$_lk" --argjson m "$3" \
			'.next | to_entries[] | select(.key % $m == $k) | .value' \
			"$1/create/answer.json" > "$1/plans-$_lk"
		vec_loader_area "$1/loader-$_lk" "$2" "$1/plans-$_lk" || return 1
		_lk=$((_lk + 1))
	done
	_lk=0 _lpids=""
	while [ "$_lk" -lt "$3" ]; do
		vec_loader "$1/loader-$_lk" &
		_lpids="$_lpids $!"
		_lk=$((_lk + 1))
	done
	for _lp in $_lpids; do wait "$_lp"; done
	cat "$1"/loader-*.out > "$1/loads.out"
	[ "$(grep -c '"status":"succeeded"' "$1/loads.out")" -eq "$_ln" ]
}

vec_src_count() {
	_f=$1
	case "$_f" in *.zip) case "$(unzip -l "$_f")" in *.gdb/*) ;; *) _f="/vsizip/$_f" ;; esac ;; esac
	ogrinfo -ro -so "$_f" "$2" 2>/dev/null | sed -n 's/^Feature Count: //p'
}

vec_gpkg_count() {
	ogrinfo -ro -so "$1" "$2" 2>/dev/null | sed -n 's/^Feature Count: //p'
}

vec_gpkg_type() {
	ogrinfo -ro -so "$1" "$2" 2>/dev/null | sed -n 's/^Geometry: //p'
}

VEC_GPKG_VALIDATOR=/usr/lib/python3/dist-packages/osgeo_utils/samples/validate_gpkg.py

# the fids ogrinfo lists for layer $2 of $1 within the box $3..$6
vec_spat_fids() {
	ogrinfo -ro -q "$1" "$2" -spat "$3" "$4" "$5" "$6" 2>/dev/null |
		sed -n 's/^OGRFeature([^)]*):\([0-9]*\)$/\1/p'
}

vec_gpkg_valid() {
	/usr/bin/python3 "$VEC_GPKG_VALIDATOR" "$1" >&2 || return 1
	sqlite3 "$1" "SELECT table_name || '|' || column_name FROM gpkg_geometry_columns" \
		> "$1.geo" || return 1
	rm -f "$1.scan.gpkg"
	ogr2ogr -q -preserve_fid -f GPKG -lco SPATIAL_INDEX=NO "$1.scan.gpkg" "$1" || return 1
	while IFS='|' read -r _t _c; do
		_rt="rtree_${_t}_${_c}"
		_ck=$(sqlite3 "$1" "SELECT rtreecheck('$_rt')")
		[ "$_ck" = ok ] || { echo "$_t: rtreecheck: $_ck" >&2; return 1; }
		_ne=$(sqlite3 "$1" "SELECT count(*) FROM \"$_rt\"")
		_g=$(ogrinfo -ro -q "$1" -sql "SELECT count(*) AS n FROM \"$_t\" WHERE \"$_c\" IS NOT NULL AND NOT ST_IsEmpty(\"$_c\")" |
			sed -n 's/^ *n (Integer[^)]*) = //p')
		[ "$_ne" = "$_g" ] || { echo "$_t: $_ne index entries, $_g geometries" >&2; return 1; }
		[ "$_ne" -gt 0 ] || continue
		# the south-west quarter of the extent, and all of it
		set -- "$@" $(ogrinfo -ro -so "$1" "$_t" | sed -n 's/^Extent: (\(.*\), \(.*\)) - (\(.*\), \(.*\))$/\1 \2 \3 \4/p')
		[ $# -eq 5 ] || { echo "$_t: no extent" >&2; return 1; }
		_mx=$(awk -v a="$2" -v b="$4" 'BEGIN { printf "%.9f", (a + b) / 2 }')
		_my=$(awk -v a="$3" -v b="$5" 'BEGIN { printf "%.9f", (a + b) / 2 }')
		for _box in "$2 $3 $_mx $_my" "$2 $3 $4 $5"; do
			# shellcheck disable=SC2086
			_a=$(vec_spat_fids "$1" "$_t" $_box | sort | md5sum)
			# shellcheck disable=SC2086
			_b=$(vec_spat_fids "$1.scan.gpkg" "$_t" $_box | sort | md5sum)
			[ "$_a" = "$_b" ] || { echo "$_t: the index selects other features in $_box" >&2; return 1; }
		done
		set -- "$1"
	done < "$1.geo"
}

vec_preview_ok() {
	_gp="$1/out/$(jq -r .gpkg "$1/out/metadata.json")"
	_te=$(jq -r '.leaflet_bounds | "\(.[0][1]) \(.[0][0]) \(.[1][1]) \(.[1][0])"' "$1/out/metadata.json" |
		awk 'function y(l) { if (l > 85.0511287798) l = 85.0511287798;
			if (l < -85.0511287798) l = -85.0511287798;
			a = atan2(1, 1) + l * atan2(1, 1) / 90
			return 6378137 * log(sin(a) / cos(a)) }
		{ pi = 4 * atan2(1, 1); printf "%.10f %.10f %.10f %.10f",
			6378137 * $1 * pi / 180, y($2), 6378137 * $3 * pi / 180, y($4) }')
	_sz=$(gdalinfo "$1/out/preview.png" | sed -n 's/^Size is \([0-9]*\), \([0-9]*\)/\1 \2/p')
	rm -f "$1/merc.gpkg" "$1/ref.tif"
	for _l in $(jq -r '.layers[] | select(.bbox != null) | .name' "$1/out/metadata.json"); do
		ogr2ogr -q -update -append -t_srs EPSG:3857 -nln all -nlt GEOMETRY \
			"$1/merc.gpkg" "$_gp" "$_l" || return 1
	done
	# shellcheck disable=SC2086
	gdal_rasterize -q -at -burn 37 -burn 99 -burn 235 -burn 220 -ot Byte \
		-a_srs EPSG:3857 -te $_te -ts $_sz -init 0 -l all \
		"$1/merc.gpkg" "$1/ref.tif" || return 1
	_a=$(gdalinfo -checksum "$1/out/preview.png" | grep Checksum | tr '\n' ' ')
	_b=$(gdalinfo -checksum "$1/ref.tif" | grep Checksum | tr '\n' ' ')
	[ "$_a" = "$_b" ] || { echo "preview $_a, gdal_rasterize $_b" >&2; return 1; }
}

vec_meta() {
	jq -r "$2" "$1/out/metadata.json"
}

vec_pg() {
	psql -qAtX -d "$GIS_URL" -c "$1"
}
