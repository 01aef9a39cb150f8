#!/bin/sh
# Hostile query requests change nothing: SQL inside filter values is bound
# (matches nothing), unknown layers and properties fail with a reason, SQL
# fails with a reason where the source does not allow it, and where it does,
# writes, ATTACH, PRAGMA, COPY ... TO PROGRAM, pg_read_file, two statements
# and tables outside the layers are refused.  The GeoPackage's bytes and
# the database's tables, roles and rows are the same afterwards.
. "$SPOOL_TOP/tests/t/lib.sh"
. "$SPOOL_TOP/tests/t/pg.sh"
. "$SPOOL_TOP/tests/t/query-check.sh"

# statements refused on both engines
SQL_BOTH="INSERT INTO coutwildrnp (\"NAME\") VALUES ('x')
DELETE FROM coutwildrnp
UPDATE coutwildrnp SET \"NAME\" = 'x'
CREATE TABLE pwned (a int)
CREATE TABLE pwned AS SELECT 1 AS a
DROP TABLE coutwildrnp
ATTACH DATABASE '$T/pwned.db' AS p
PRAGMA writable_schema = 1
PRAGMA table_info(coutwildrnp)
COPY coutwildrnp TO PROGRAM 'touch $T/pwned'
COPY (SELECT 1) TO '$T/pwned'
SELECT pg_read_file('/etc/passwd')
SELECT lo_import('/etc/passwd')
SELECT 1; DELETE FROM coutwildrnp
SELECT 1; SELECT 2
SELECT * FROM secret
SELECT * FROM coutwildrnp, secret
SELECT (SELECT count(*) FROM secret)
WITH d AS (DELETE FROM coutwildrnp RETURNING *) SELECT * FROM d
SELECT * FROM sqlite_master
SELECT * FROM pg_catalog.pg_authid
SELECT load_extension('$T/x')
VACUUM"
NBOTH=$(printf '%s\n' "$SQL_BOTH" | wc -l)

# hostile compiled requests | what comes back: "" success with no rows,
# "~" that or a failure with a reason (the engines differ), else a failure
# whose reason matches the pattern
HOSTILE='{"layer":"coutwildrnp","filter":{"op":"=","args":[{"property":"NAME"},"x'"'"'; DROP TABLE coutwildrnp; --"]}}|
{"layer":"coutwildrnp","filter":{"op":"like","args":[{"property":"NAME"},"%'"'"') OR 1=1 OR (NAME LIKE '"'"'"]}}|
{"layer":"coutwildrnp","filter":{"op":"in","args":[{"property":"STATE"},["CO'"'"') OR (1=1","UT\" OR 1=1 --"]]}}|
{"layer":"coutwildrnp","filter":{"op":"=","args":[{"property":"fid"},"1 OR 1=1"]}}|~
{"layer":"secret"}|unknown layer .secret.
{"layer":"coutwildrnp; DROP TABLE coutwildrnp"}|unknown layer
{"layer":"sqlite_master"}|unknown layer
{"layer":"coutwildrnp","properties":["NOPE"]}|unknown property .NOPE.
{"layer":"coutwildrnp","properties":["NAME\" FROM secret --"]}|unknown property
{"layer":"coutwildrnp","filter":{"op":"=","args":[{"property":"NAME\" = \"NAME\" OR \"1"},"x"]}}|unknown property
{"layer":"coutwildrnp","sortby":["NAME; DROP TABLE coutwildrnp"]}|unknown property
{"layer":"coutwildrnp","sortby":["-(SELECT 1)"]}|unknown property
{"layer":"coutwildrnp","filter":{"op":"<","args":[{"property":"geom"},1]}}|geometry
{"layer":"coutwildrnp","filter":{"op":"s_intersects","args":[{"property":"geom"},{"type":"Polygon","coordinates":"x"}]}}|GeoJSON
{"layer":"coutwildrnp","filter":{"op":"exec","args":["rm -rf /"]}}|operator .exec.
{"sql":"SELECT 1"}|does not allow sql'
NHOSTILE=$(printf '%s\n' "$HOSTILE" | grep -c '|')

plan $((1 + 2 * (NHOSTILE + 2 * NBOTH + 5) + 4))

GPKG="$T/wild.gpkg"
ok "a GeoPackage made from coutwildrnp.zip" qc_gpkg "$GPKG"
if ! pg_start > "$T/.pg" 2>&1 || ! qc_postgis >> "$T/.pg" 2>&1; then
	sed 's/^/#   /' "$T/.pg"
	echo "# cannot start PostgreSQL with PostGIS"
	exit 1
fi
gpkg_sum() { sha256sum "$GPKG" | cut -c1-64; ls "$T" | grep -v '^q$' | tr '\n' ' '; }
G0=$(gpkg_sum)
P0=$(qc_pg_sum)

i=0
for S in gpkg pg; do
	if [ $S = gpkg ]; then
		URL=$GPKG RD="--read $GPKG"
	else
		URL=$READER_URL RD=""
	fi
	C=$(qc_config wild "$URL")
	CS=$(qc_config wild "$URL" allow_sql=true)
	# compiled requests: values bound, names looked up
	printf '%s\n' "$HOSTILE" | grep '|' > "$T/.hostile"
	while IFS='|' read -r req want; do
		i=$((i + 1))
		p=$(echo "$req" | jq -c '. + {source: "wild"}')
		# shellcheck disable=SC2086
		qc_task "h$i" "$p" "$C" $RD
		st=$(qc_answer "h$i" .status)
		e=$(qc_answer "h$i" .error)
		if [ -z "$want" ]; then
			is "$st $(qc_answer "h$i" .summary.rows)" "succeeded 0" \
			    "$S: a bound value matches nothing: $(echo "$req" |
			    cut -c1-70)"
		elif [ "$want" = "~" ]; then
			like "$st $(qc_answer "h$i" .summary.rows): $e" \
			    "^(succeeded 0: |failed : .{8,})" \
			    "$S: a bound value matches nothing or fails: $(echo \
			    "$req" | cut -c1-60)"
		else
			like "$st: $e" "^failed: .*$want" \
			    "$S: $(echo "$req" | cut -c1-60) fails: $want"
		fi
	done < "$T/.hostile"
	# user SQL where the source allows none
	while IFS= read -r sql; do
		i=$((i + 1))
		p=$(jq -nc --arg s "$sql" '{source: "wild", sql: $s}')
		# shellcheck disable=SC2086
		qc_task "h$i" "$p" "$C" $RD
		like "$(qc_answer "h$i" .status): $(qc_answer "h$i" .error)" \
		    "^failed: source 'wild' does not allow sql" \
		    "$S, allow_sql = no: $(echo "$sql" | cut -c1-50)"
	done <<-EOF
	$SQL_BOTH
	EOF
	# user SQL where it does: refused with a reason
	while IFS= read -r sql; do
		i=$((i + 1))
		p=$(jq -nc --arg s "$sql" '{source: "wild", sql: $s}')
		# shellcheck disable=SC2086
		qc_task "h$i" "$p" "$CS" $RD
		like "$(qc_answer "h$i" .status): $(qc_answer "h$i" .error)" \
		    "^failed: sql: .{8,}" \
		    "$S, allow_sql = yes, refused: $(echo "$sql" | cut -c1-50)"
	done <<-EOF
	$SQL_BOTH
	EOF
	# what allow_sql is for still works, values bound
	i=$((i + 1))
	if [ $S = gpkg ]; then
		q='SELECT NAME, geom FROM coutwildrnp WHERE STATE = ?1 AND AREA > ?2'
	else
		q='SELECT "NAME", geom FROM coutwildrnp WHERE "STATE" = $1 AND "AREA" > $2'
	fi
	# shellcheck disable=SC2086
	qc_task "h$i" "$(jq -nc --arg s "$q" '{source: "wild", sql: $s,
	    params: ["UT", 0.02], format: "geojson"}')" "$CS" $RD
	is "$(jq -c '[.features[] | .properties.NAME] | sort' \
	    "$(qc_result "h$i")" 2>/dev/null)" \
	    '["Dark Canyon Wilderness","High Uintas Wilderness","Pine Valley Mountain Wilderness"]' \
	    "$S, allow_sql = yes: a SELECT with bound params answers"
	is "$(jq -c '.features[0].geometry.type' "$(qc_result "h$i")" \
	    2>/dev/null)" '"Polygon"' "$S, allow_sql = yes: the geometry column is the geometry"
	# the SQL's value is a value
	i=$((i + 1))
	# shellcheck disable=SC2086
	qc_task "h$i" "$(jq -nc --arg s "$q" '{source: "wild", sql: $s,
	    params: ["UT'"'"'; DELETE FROM coutwildrnp; --", 0]}')" "$CS" $RD
	is "$(qc_answer "h$i" .status) $(qc_answer "h$i" .summary.rows)" \
	    "succeeded 0" "$S, allow_sql = yes: SQL in a param is a value"
	i=$((i + 1))
	# shellcheck disable=SC2086
	qc_task "h$i" "$(jq -nc --arg s "$q" '{source: "wild", sql: $s,
	    params: ["UT"]}')" "$CS" $RD
	like "$(qc_answer "h$i" .status): $(qc_answer "h$i" .error)" \
	    "^failed: .*(parameter|2)" "$S, allow_sql = yes: too few params fail"
	# a table the role may read but the source does not list
	i=$((i + 1))
	# shellcheck disable=SC2086
	qc_task "h$i" '{"source":"wild","sql":"SELECT count(*) FROM wild3857"}' \
	    "$(qc_config wild "$URL" allow_sql=true layers='["coutwildrnp"]')" $RD
	like "$(qc_answer "h$i" .status): $(qc_answer "h$i" .error)" \
	    "^failed: sql: refused: .*(wild3857|prohibited)" \
	    "$S, allow_sql = yes: a readable table outside layers is refused"
done

# the engine, not the role, keeps a PostgreSQL source read-only: a source
# whose role could write still cannot
CA=$(qc_config admin "$GIS_URL" allow_sql=true)
qc_task su1 '{"source":"admin","sql":"SELECT pg_read_file('"'"'/etc/passwd'"'"')"}' \
    "$CA"
like "$(qc_answer su1 .status): $(qc_answer su1 .error)" \
    "^failed: sql: refused: .*role 'spool'" \
    "a superuser source: a user's SQL does not run"
qc_task su2 '{"source":"admin","layer":"coutwildrnp","limit":2,
    "properties":["NAME"]}' "$(qc_config admin "$GIS_URL")"
is "$(qc_answer su2 .status) $(qc_answer su2 .summary.rows)" \
    "succeeded 2" "a superuser source: a compiled query reads"

is "$(gpkg_sum)" "$G0" "the GeoPackage is byte for byte the same, no file added"
is "$(qc_pg_sum)" "$P0" "PostGIS: the same tables, roles and rows"
