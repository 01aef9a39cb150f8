# query-check.sh - running the query worker on task files, and checking
# its answers against ogr2ogr (source after lib.sh; after pg.sh too for
# PostGIS).  The daemon's end-to-end tests can use the same checks.
#
#   qc_gpkg FILE              a GeoPackage made from tests/data/vector/
#                             coutwildrnp.zip: layers coutwildrnp
#                             (EPSG:4326), wild3857 (EPSG:3857) and secret
#                             (a copy no source lists)
#   qc_postgis                after pg_start: database spoolgis with the
#                             same three tables (fid, geom, field names as
#                             in the GeoPackage) and the role 'reader'
#                             (LOGIN, not a superuser, SELECT on coutwildrnp
#                             and wild3857 only); exports READER_URL
#                             (postgresql://) and READER_PG (OGR's PG:)
#   qc_config NAME URL [KEY=VALUE...]
#                             a task's config {"source": {...}}: layers
#                             (JSON, default ["coutwildrnp","wild3857"]),
#                             allow_sql, timeout_ms, max_rows, max_bytes
#   qc_mktask NAME PARAMS CONFIG [DIR]
#                             writes the task line $T/q/NAME.task for the
#                             directory DIR (default $T/q/NAME, made empty
#                             with in/ out/ tmp/)
#   qc_task NAME PARAMS CONFIG [WORKER ARGS...]
#                             one task through the worker (sandboxed; pass
#                             --read FILE for file sources) in $T/q/NAME;
#                             its answer line is $T/q/NAME.json
#   qc_answer NAME JQ         a field of the answer ("" if none)
#   qc_result NAME            the result file's path
#   qc_ids NAME               the result's feature ids in its order (any
#                             format; a GeoPackage keeps them in id order)
#   ogr_json SRC LAYER ARGS   ogr2ogr's GeoJSONSeq of LAYER with ARGS
#                             (-spat, -where, -select ...), ids kept
#   ogr_ids SRC LAYER ARGS    the ids ogr2ogr selects, in its order
#   qc_same NAME DESC SRC LAYER ARGS
#                             ok when the result's ids, as a set, are the
#                             ones ogr2ogr selects (and there are some)
#   qc_pg_sum                 a fingerprint of the spoolgis database: its
#                             tables, roles, and each table's rows
QUERY="$SPOOL_BUILD/libexec/spool/query"
QDATA="$SPOOL_TOP/tests/data/vector"
# SPOOL_VALGRIND=1: the worker runs under valgrind too (as spoolctl does,
# lib.sh); a memory error or a definite leak exits 99
if [ "${SPOOL_VALGRIND:-0}" = 1 ]; then
	printf '#!/bin/sh\nexec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite "%s" "$@"\n' \
		"$QUERY" > "$T/.query-vg"
	chmod +x "$T/.query-vg"
	QUERY="$T/.query-vg"
fi

qc_gpkg() {
	_src="/vsizip/$QDATA/coutwildrnp.zip"
	rm -f "$1"
	ogr2ogr -f GPKG "$1" "$_src" -nln coutwildrnp &&
	ogr2ogr -update "$1" "$_src" -nln wild3857 -t_srs EPSG:3857 &&
	ogr2ogr -update "$1" "$_src" -nln secret
}

qc_postgis() {
	pg_postgis spoolgis || return 1
	_src="/vsizip/$QDATA/coutwildrnp.zip"
	_pg="PG:dbname=spoolgis host=$PGHOST user=spool"
	for _l in coutwildrnp wild3857 secret; do
		_t=""
		[ "$_l" = wild3857 ] && _t="-t_srs EPSG:3857"
		# shellcheck disable=SC2086
		ogr2ogr -f PostgreSQL "$_pg" "$_src" -nln "$_l" $_t \
		    -lco FID=fid -lco GEOMETRY_NAME=geom -lco LAUNDER=NO ||
			return 1
	done
	psql -qAt -d spoolgis -v ON_ERROR_STOP=1 > /dev/null <<-EOF || return 1
	CREATE ROLE reader LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE;
	REVOKE CREATE ON SCHEMA public FROM PUBLIC;
	GRANT USAGE ON SCHEMA public TO reader;
	GRANT SELECT ON coutwildrnp, wild3857 TO reader;
	ANALYZE;
	EOF
	export READER_URL="postgresql://reader@/spoolgis?host=$PGHOST"
	export READER_PG="PG:dbname=spoolgis host=$PGHOST user=reader"
}

qc_config() {
	_qn=$1 _u=$2
	shift 2
	_layers='["coutwildrnp","wild3857"]' _allow=false _tmo=30000
	_rows=1000 _bytes=67108864
	for _kv in "$@"; do
		case $_kv in
		layers=*) _layers=${_kv#*=} ;;
		allow_sql=*) _allow=${_kv#*=} ;;
		timeout_ms=*) _tmo=${_kv#*=} ;;
		max_rows=*) _rows=${_kv#*=} ;;
		max_bytes=*) _bytes=${_kv#*=} ;;
		*) echo "qc_config: unknown $_kv" >&2; return 1 ;;
		esac
	done
	jq -nc --arg n "$_qn" --arg u "$_u" --argjson l "$_layers" \
	    --argjson a "$_allow" --argjson t "$_tmo" --argjson r "$_rows" \
	    --argjson b "$_bytes" '{source: {name: $n, url: $u, layers: $l,
	    allow_sql: $a, timeout_ms: $t, max_rows: $r, max_bytes: $b}}'
}

qc_mktask() {
	_qn=$1 _p=$2 _c=$3 _d=${4:-$T/q/$1}
	rm -rf "$_d"
	mkdir -p "$_d/in" "$_d/out" "$_d/tmp" || return 1
	jq -nc --arg d "$_d" --arg id "$_qn" --argjson p "$_p" \
	    --argjson c "$_c" '{v: 1, task: $id, job: ("j-" + $id),
	    request: ("r-" + $id), kind: "query", stage: "query",
	    stage_index: 0, index: 0, count: 1, attempt: 1, dir: $d,
	    inputs: [], params: $p, config: $c, plan: null,
	    limits: {timeout_ms: 120000, memory: 2147483648, threads: 1,
	    cachemax: 0}}' > "$T/q/$_qn.task"
}

qc_task() {
	_qn=$1
	qc_mktask "$1" "$2" "$3" || return 1
	shift 3
	_d="$T/q/$_qn"
	"$QUERY" "$@" --task "$_d.task" > "$_d.out" 2> "$_d.log"
	_rc=$?
	tail -n 1 "$_d.out" > "$_d.json"
	if [ "$_rc" = 99 ]; then
		_report 1 "valgrind: $_qn"
		sed 's/^/#   /' "$_d.log" | head -n 30
	fi
	return $_rc
}

qc_answer() {
	jq -r "$2 // \"\"" "$T/q/$1.json" 2>/dev/null
}

qc_result() {
	ls "$T/q/$1/out"/result.* 2>/dev/null | head -n 1
}

qc_ids() {
	qc_file_ids "$(qc_result "$1")"
}

# the feature ids in a result file of any format
qc_file_ids() {
	_f=$1
	case $_f in
	*.geojson) jq -r '.features[].id' "$_f" ;;
	*.jsonl) jq -r '.id' "$_f" ;;
	*.csv) python3 -c 'import csv, sys
r = csv.reader(open(sys.argv[1], newline=""))
h = next(r)
i = h.index("fid")
for x in r:
    print(x[i])' "$_f" ;;
	*.gpkg) ogr2ogr -f GeoJSONSeq /vsistdout/ "$_f" -preserve_fid |
		jq -r '.id' ;;
	*) return 1 ;;
	esac
}

ogr_json() {
	_s=$1 _l=$2
	shift 2
	ogr2ogr -f GeoJSONSeq /vsistdout/ "$_s" "$_l" -preserve_fid "$@"
}

ogr_ids() {
	ogr_json "$@" | jq -r '.id'
}

# the ids as one sorted line
_qc_set() { sort -n | tr '\n' ' '; }

qc_same() {
	_qn=$1 _desc=$2
	shift 2
	_want=$(ogr_ids "$@" | _qc_set)
	_got=$(qc_ids "$_qn" | _qc_set)
	if [ -z "$_want" ]; then
		_report 1 "$_desc"
		diag "ogr2ogr selected nothing: a vacuous comparison"
		return
	fi
	is "$_got" "$_want" "$_desc"
	[ "$_got" = "$_want" ] || sed 's/^/#   /' "$T/q/$_qn.json" "$T/q/$_qn.log" |
		head -n 10
}

qc_pg_sum() {
	psql -qAt -d spoolgis -c "SELECT
	    (SELECT string_agg(schemaname || '.' || tablename, ',' ORDER BY 1)
	     FROM pg_tables WHERE schemaname NOT IN ('pg_catalog',
	     'information_schema')),
	    (SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles),
	    (SELECT count(*) || ':' || md5(string_agg(t::text, '|' ORDER BY fid))
	     FROM coutwildrnp t),
	    (SELECT count(*) || ':' || md5(string_agg(t::text, '|' ORDER BY fid))
	     FROM wild3857 t),
	    (SELECT count(*) || ':' || md5(string_agg(t::text, '|' ORDER BY fid))
	     FROM secret t)"
}
