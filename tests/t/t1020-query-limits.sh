#!/bin/sh
# The query worker's limits always hold: a query past the source's timeout
# (a recursive CTE on SQLite, pg_sleep on PostgreSQL, even one that turns
# its statement_timeout off) is stopped and fails with "timeout"; a result
# over max_rows or max_bytes comes back cut and says so; spoold's cancel
# line stops a running query.  Also: the worker and the published schema
# judge params alike, the cache key, one long-lived worker for many tasks,
# an unknown source.
. "$SPOOL_TOP/tests/t/lib.sh"
. "$SPOOL_TOP/tests/t/pg.sh"
. "$SPOOL_TOP/tests/t/query-check.sh"

DRIVE="python3 $SPOOL_TOP/tests/tools/query-drive.py"
SCHEMA="$SPOOL_TOP/schemas/query-params.schema.json"

# params whose shape the schema accepts (+) or refuses (-); none of them
# is wrong for any other reason on the test sources
CORPUS='+{"source":"wild","layer":"coutwildrnp"}
+{"source":"wild","layer":"coutwildrnp","bbox":[-110,37,0,-105,41,9],"limit":3,"offset":1,"format":"csv","fresh":true}
+{"source":"wild","layer":"coutwildrnp","sortby":["NAME","+AREA","-fid",{"field":"STATE"},{"field":"AGBUR","direction":"desc"}],"properties":[]}
+{"source":"wild","layer":"coutwildrnp","filter":{"op":"not","args":[{"op":"isNull","args":[{"property":"NAME"}]}]},"properties":["NAME","AREA"]}
+{"source":"wild","sql":"SELECT 1 AS a WHERE ?1 OR ?2 OR ?3 IS NULL OR ?4 > 0","params":["x",true,null,1.5],"limit":2,"format":"jsonl"}
-{}
-{"source":"wild"}
-{"source":"Wild","layer":"coutwildrnp"}
-{"source":"wild","layer":""}
-{"source":"wild","layer":"coutwildrnp","sql":"SELECT 1"}
-{"source":"wild","layer":"coutwildrnp","extra":1}
-{"source":"wild","layer":"coutwildrnp","bbox":[1,2,3]}
-{"source":"wild","layer":"coutwildrnp","bbox":[1,2,3,"4"]}
-{"source":"wild","layer":"coutwildrnp","limit":0}
-{"source":"wild","layer":"coutwildrnp","limit":1.5}
-{"source":"wild","layer":"coutwildrnp","limit":"10"}
-{"source":"wild","layer":"coutwildrnp","offset":-1}
-{"source":"wild","layer":"coutwildrnp","format":"xml"}
-{"source":"wild","layer":"coutwildrnp","sortby":["+"]}
-{"source":"wild","layer":"coutwildrnp","sortby":["--NAME"]}
-{"source":"wild","layer":"coutwildrnp","sortby":[{"field":"NAME","direction":"up"}]}
-{"source":"wild","layer":"coutwildrnp","sortby":[{"field":"NAME","x":1}]}
-{"source":"wild","layer":"coutwildrnp","sortby":"NAME"}
-{"source":"wild","layer":"coutwildrnp","properties":"NAME"}
-{"source":"wild","layer":"coutwildrnp","properties":[""]}
-{"source":"wild","layer":"coutwildrnp","filter":[]}
-{"source":"wild","layer":"coutwildrnp","filter":{"op":"=","args":[]}}
-{"source":"wild","layer":"coutwildrnp","params":[1]}
-{"source":"wild","layer":"coutwildrnp","fresh":"yes"}
-{"source":"wild","sql":"SELECT 1","bbox":[1,2,3,4]}
-{"source":"wild","sql":"SELECT 1","offset":2}
-{"source":"wild","sql":"SELECT 1","params":[{"a":1}]}
-{"source":"wild","sql":""}'
NCORPUS=$(printf '%s\n' "$CORPUS" | wc -l)

plan $((1 + NCORPUS + 4 + 2 * 10 + 9))

GPKG="$T/wild.gpkg"
ok "a GeoPackage made from coutwildrnp.zip" qc_gpkg "$GPKG"
if ! pg_start > "$T/.pg" 2>&1 || ! qc_postgis >> "$T/.pg" 2>&1; then
	sed 's/^/#   /' "$T/.pg"
	echo "# cannot start PostgreSQL with PostGIS"
	exit 1
fi

# --- the schema and the worker agree ---------------------------------
CS=$(qc_config wild "$GPKG" allow_sql=true)
i=0
printf '%s\n' "$CORPUS" > "$T/.corpus"
while IFS= read -r line; do
	i=$((i + 1))
	want=${line%%"{"*}
	p=${line#?}
	schema=$(python3 -c 'import json, sys, jsonschema
v = jsonschema.Draft202012Validator(json.load(open(sys.argv[1])))
print("+" if v.is_valid(json.loads(sys.argv[2])) else "-")' "$SCHEMA" "$p")
	qc_task "c$i" "$p" "$CS" --read "$GPKG"
	e=$(qc_answer "c$i" .error)
	case $e in params:*|filter:*|"the request has no params") w=- ;; *) w=+ ;; esac
	is "schema $schema, worker $w" "schema $want, worker $want" \
	    "the schema and the worker agree: $(echo "$p" | cut -c1-60)"
	[ "$w" = "$want" ] || diag "worker: $e"
done < "$T/.corpus"

# --- timeouts (the worker's own wall time: a valgrind start is not the
# query's) -----------------------------------------------------------
CT=$(qc_config wild "$GPKG" allow_sql=true timeout_ms=1000)
qc_task to1 '{"source":"wild","sql":"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c"}' \
    "$CT" --read "$GPKG"
ms=$(qc_answer to1 .metrics.wall_ms)
like "$(qc_answer to1 .status): $(qc_answer to1 .error) (${ms} ms)" \
    "^failed: timeout.* \((1[0-9]{3}|2[0-9]{3}) ms\)$" \
    "SQLite: a recursive CTE is stopped at the 1 s timeout"
CT=$(qc_config wild "$READER_URL" allow_sql=true timeout_ms=1000)
qc_task to2 '{"source":"wild","sql":"SELECT pg_sleep(10)"}' "$CT"
ms=$(qc_answer to2 .metrics.wall_ms)
like "$(qc_answer to2 .status): $(qc_answer to2 .error) (${ms} ms)" \
    "^failed: timeout.* \((1[0-9]{3}|2[0-9]{3}) ms\)$" \
    "PostgreSQL: pg_sleep(10) is stopped at the 1 s timeout"
qc_task to3 '{"source":"wild","sql":"SELECT set_config('"'"'statement_timeout'"'"', '"'"'0'"'"', false), pg_sleep(10)"}' "$CT"
ms=$(qc_answer to3 .metrics.wall_ms)
like "$(qc_answer to3 .status): $(qc_answer to3 .error) (${ms} ms)" \
    "^failed: timeout.* \(([1-3][0-9]{3}) ms\)$" \
    "PostgreSQL: a statement that turns statement_timeout off still stops"
# spoold's cancel line stops a running query at once
CT=$(qc_config wild "$READER_URL" allow_sql=true timeout_ms=60000)
qc_mktask cx '{"source":"wild","sql":"SELECT pg_sleep(30)"}' "$CT"
$DRIVE --cancel-after 0.5 "$T/q/cx.task" -- "$QUERY" --area "$T/q/cx" \
    > "$T/cx.out" 2> "$T/cx.err"
ms=$(jq -r .metrics.wall_ms "$T/cx.out")
like "$(jq -r '.status + ": " + .error' "$T/cx.out") (${ms} ms)" \
    "^failed: cancelled \(([0-9]{1,3}|1[0-9]{3}|2[0-4][0-9]{2}) ms\)$" \
    "PostgreSQL: spoold's cancel line stops pg_sleep(30) within 2.5 s"

# --- row and byte limits, both engines -------------------------------
for S in gpkg pg; do
	if [ $S = gpkg ]; then
		URL=$GPKG RD="--read $GPKG" SQL='SELECT NAME FROM coutwildrnp'
	else
		URL=$READER_URL RD="" SQL='SELECT "NAME" FROM coutwildrnp'
	fi
	C10=$(qc_config wild "$URL" max_rows=10 allow_sql=true)
	# no limit: max_rows applies, and the cut is said
	# shellcheck disable=SC2086
	qc_task "$S-r1" '{"source":"wild","layer":"coutwildrnp"}' "$C10" $RD
	is "$(qc_answer "$S-r1" '.summary | [.rows, .truncated, .limit] |
	    @text')" '[10,true,"max_rows"]' \
	    "$S: without limit, max_rows cuts 67 features to 10 and says so"
	is "$(qc_ids "$S-r1" | tr '\n' ' ')" "1 2 3 4 5 6 7 8 9 10 " \
	    "$S: ... the first 10 by id"
	# a limit under max_rows is the user's: not a cut
	# shellcheck disable=SC2086
	qc_task "$S-r2" '{"source":"wild","layer":"coutwildrnp","limit":5}' \
	    "$C10" $RD
	is "$(qc_answer "$S-r2" '.summary | [.rows, .truncated, has("limit")] |
	    @text')" '[5,false,false]' "$S: limit 5 under max_rows 10: not truncated"
	# a limit over max_rows is cut
	# shellcheck disable=SC2086
	qc_task "$S-r3" '{"source":"wild","layer":"coutwildrnp","limit":20,
	    "format":"jsonl"}' "$C10" $RD
	is "$(qc_answer "$S-r3" '.summary | [.rows, .truncated, .limit] |
	    @text') $(wc -l < "$(qc_result "$S-r3")")" '[10,true,"max_rows"] 10' \
	    "$S: limit 20 over max_rows 10: 10 lines, truncated"
	# exactly max_rows matches: nothing was cut
	# shellcheck disable=SC2086
	qc_task "$S-r4" '{"source":"wild","layer":"coutwildrnp","filter":
	    {"op":"<=","args":[{"property":"fid"},10]}}' "$C10" $RD
	is "$(qc_answer "$S-r4" '.summary | [.rows, .truncated] | @text')" \
	    '[10,false]' "$S: 10 matches with max_rows 10: not truncated"
	# a user's statement is cut the same way (PostgreSQL: cancelled)
	# shellcheck disable=SC2086
	qc_task "$S-r5" "$(jq -nc --arg s "$SQL" '{source: "wild", sql: $s}')" \
	    "$C10" $RD
	is "$(qc_answer "$S-r5" '.summary | [.rows, .truncated, .limit] |
	    @text')" '[10,true,"max_rows"]' "$S: sql: max_rows cuts and says so"
	# max_bytes: the file stays under it and is whole
	for F in geojson jsonl csv; do
		CB=$(qc_config wild "$URL" max_bytes=30000)
		# shellcheck disable=SC2086
		qc_task "$S-b$F" '{"source":"wild","layer":"coutwildrnp",
		    "format":"'$F'"}' "$CB" $RD
		f=$(qc_result "$S-b$F")
		sz=$(wc -c < "$f")
		whole=no
		case $F in
		geojson) jq -e '.features | length > 0' "$f" > /dev/null &&
			whole=yes ;;
		jsonl) jq -e -s 'length > 0' "$f" > /dev/null && whole=yes ;;
		csv) python3 -c 'import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert len(rows) > 1 and all(len(r) == len(rows[0]) for r in rows)' "$f" &&
			whole=yes ;;
		esac
		fits=no
		[ "$sz" -le 30000 ] && fits=yes
		got=$(qc_answer "$S-b$F" '.summary | [.truncated, .limit] | @text')
		rows=$(qc_answer "$S-b$F" .summary.rows)
		n=$(qc_ids "$S-b$F" | wc -l | tr -d ' ')
		is "$got fits=$fits whole=$whole rows=$rows" \
		    "[true,\"max_bytes\"] fits=yes whole=yes rows=$n" \
		    "$S $F: max_bytes 30000 cuts, the file fits and is whole ($sz bytes, $n rows)"
	done
	CB=$(qc_config wild "$URL" max_bytes=30000)
	# shellcheck disable=SC2086
	qc_task "$S-bgpkg" '{"source":"wild","layer":"coutwildrnp",
	    "format":"gpkg"}' "$CB" $RD
	n=$(qc_ids "$S-bgpkg" | wc -l | tr -d ' ')
	is "$(qc_answer "$S-bgpkg" '.summary | [.truncated, .limit, .rows] |
	    @text') $([ "$n" -gt 0 ] && echo some)" "[true,\"max_bytes\",$n] some" \
	    "$S gpkg: max_bytes cuts the rows written ($n), and says so"
done

# --- the rest --------------------------------------------------------
qc_task us '{"source":"nope","layer":"coutwildrnp"}' \
    "$(qc_config wild "$GPKG")" --read "$GPKG"
is "$(qc_answer us .status): $(qc_answer us .error)" \
    "failed: unknown source 'nope'" "a source this node does not have"
qc_task us2 '{"source":"wild","layer":"coutwildrnp"}' '{}' --read "$GPKG"
is "$(qc_answer us2 .error)" "unknown source 'wild'" \
    "a node with no sources at all"

# the cache key: order and "fresh" do not matter, the question does
k1=$(echo '{"source":"wild","layer":"x","bbox":[1,2,3,4],"limit":5}' |
    "$QUERY" --cache-key -)
k2=$(echo '{"limit":5,"fresh":true,"bbox":[1,2,3,4],"layer":"x","source":"wild"}' |
    "$QUERY" --cache-key -)
k3=$(echo '{"source":"wild","layer":"x","bbox":[1,2,3,4],"limit":6}' |
    "$QUERY" --cache-key -)
is "$k1" "q$(printf '%s' '{"bbox":[1,2,3,4],"layer":"x","limit":5,"source":"wild"}' | b2sum -l 256 | cut -d' ' -f1)" \
    "the cache key is q and the BLAKE2b-256 of the sorted, compact JSON without fresh"
is "$k2" "$k1" "the key ignores key order and fresh"
ok "a different limit is a different key" test "$k1" != "$k3"

# one long-lived worker answers task after task, on one connection; the
# layer changing between two tasks is seen (the worker builds a query on
# the layer as it last saw it, and the server's description decides): a
# column renamed, and one added (the query built before would still run,
# without it); and a column's type changed under a query kept prepared
# (9 prepares it; 10 sees the change; 11 must not run 9's statement)
C=$(qc_config wild "$READER_URL")
: > "$T/ll.tasks"
for n in 1 2 3 4 5 6 7 8 9 10 11; do
	case $n in
	6) p='{"source":"wild","layer":"coutwildrnp","limit":2,"properties":["NAME"]}' ;;
	7) p='{"source":"wild","layer":"coutwildrnp","limit":2,"properties":["TITLE"]}' ;;
	8|9|10|11) p='{"source":"wild","layer":"coutwildrnp","limit":1}' ;;
	*) p='{"source":"wild","layer":"coutwildrnp","limit":'$n',"properties":["NAME"]}' ;;
	esac
	# one directory for all, as spoold's worker area
	qc_mktask "ll$n" "$p" "$C" "$T/q/ll"
	cat "$T/q/ll$n.task" >> "$T/ll.tasks"
done
$DRIVE --before 6 "psql -qX -d spoolgis -c 'ALTER TABLE coutwildrnp RENAME \"NAME\" TO \"TITLE\"'" \
    --before 8 "psql -qX -d spoolgis -c 'ALTER TABLE coutwildrnp ADD COLUMN added integer DEFAULT 7'" \
    --before 9 "cp '$T/q/ll/out/result.geojson' '$T/ll8.geojson'" \
    --before 10 "psql -qX -d spoolgis -c 'ALTER TABLE coutwildrnp ALTER COLUMN added TYPE text'" \
    "$T/ll.tasks" -- "$QUERY" --area "$T/q/ll" > "$T/ll.out" 2> "$T/ll.err"
is "$(jq -r '.summary.rows // .error' "$T/ll.out" | tr '\n' '|')" \
    "1|2|3|4|5|properties: unknown property 'NAME' of layer 'coutwildrnp'|2|1|1|1|1|" \
    "one sandboxed worker, eleven tasks; a renamed column is seen at once"
is "$(jq -c '.features[0].properties | [.added, has("TITLE")]' "$T/ll8.geojson")" \
    "[7,true]" "and so is a column added"
is "$(jq -c '.features[0].properties.added' "$T/q/ll/out/result.geojson")" \
    '"7"' "and a column's type changed under a query kept prepared"
is "$(psql -qAt -d spoolgis -c "SELECT count(*) FROM pg_stat_activity
    WHERE application_name = 'spool-query'")" "0" \
    "its connection closed when it exited"
