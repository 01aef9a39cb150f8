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

vec_meta() {
	jq -r "$2" "$1/out/metadata.json"
}

vec_pg() {
	psql -qAtX -d "$GIS_URL" -c "$1"
}
