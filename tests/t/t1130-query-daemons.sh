#!/bin/sh
# Query requests through two real daemons (issue 18): a JSON request
# dropped on low is answered by high's query worker against a GeoPackage
# and a PostGIS source (read as a SELECT-only role), with the features
# ogr2ogr selects, in each format; hostile requests fail with their
# reason or match nothing, and change neither source; the same query again is a cache hit on high; asked
# again on low within local_ttl it is answered at once, with no batch.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
. "$(dirname "$0")/pg.sh"
. "$(dirname "$0")/query-check.sh"
plan 35

ok "a PostgreSQL with PostGIS" pg_start
ok "the spoolgis database and its reader role" qc_postgis
# sources sit where the workers' uid can read them, like /srv/gis
mkdir -p "$T/src"
chmod 755 "$T" "$T/src"
ok "a GeoPackage source" qc_gpkg "$T/src/wild.gpkg"
chmod 644 "$T/src/wild.gpkg"
pair low high
set_conf low batch max_age 1s
set_conf high batch max_age 1s
cat >> "$T/high/spoold.conf" <<EOF

[query.source wild]
url = $T/src/wild.gpkg
layers = coutwildrnp, wild3857

[query.source pg]
url = $READER_URL
layers = coutwildrnp, wild3857
EOF
start low
start high

nresults() { ls "$T/low/results" | grep -c '^[0-9a-f]\{8\}-'; }
# ask NAME PARAMS: drop a query request on low
ask() {
	printf '{"type":"query","params":%s}\n' "$2" > "$T/low/in/requests/.$1.tmp"
	mv "$T/low/in/requests/.$1.tmp" "$T/low/in/requests/$1.json"
}
# answers N: carry both ways until low has N results
answers() {
	_i=0
	while [ $_i -lt 600 ]; do
		carry low high
		carry high low
		[ "$(nresults)" -ge "$1" ] && break
		sleep 0.1
		_i=$((_i + 1))
	done
	is "$(nresults)" "$1" "$1 results on low"
}
res() { echo "$T/low/results/by-name/$(id -un)/requests/$1.json"; }
ids() { jq -r '.features[].id' "$(res "$1")/result.geojson" | sort -n | tr '\n' ' '; }
# fids NAME FORMAT: the ids in request NAME's result of that format
fids() { qc_file_ids "$(res "$1")/result.$2" | sort -n | tr '\n' ' '; }
gpkg_sum() { sha256sum "$T/src/wild.gpkg" | cut -c1-64; }
G0=$(gpkg_sum)
P0=$(qc_pg_sum)

Q='{"source":"wild","layer":"coutwildrnp","bbox":[-109,37,-104,41],"properties":["NAME","STATE"],"format":"geojson"}'
QPG='{"source":"pg","layer":"coutwildrnp","bbox":[-109,37,-104,41],"filter":{"op":"=","args":[{"property":"STATE"},"CO"]},"format":"geojson"}'
ask q1 "$Q"
ask q2 "$QPG"
ask q3 '{"source":"wild","layer":"secret","format":"geojson"}'
# the other formats, and hostile requests, through the daemons too
ask q6 '{"source":"wild","layer":"coutwildrnp","bbox":[-109,37,-104,41],"sortby":[{"field":"NAME","direction":"desc"}],"format":"csv"}'
ask q7 '{"source":"pg","layer":"coutwildrnp","bbox":[-109,37,-104,41],"filter":{"op":"=","args":[{"property":"STATE"},"CO"]},"format":"jsonl"}'
ask q8 '{"source":"pg","layer":"wild3857","bbox":[-109,37,-104,41],"format":"gpkg"}'
ask h1 '{"source":"pg","layer":"coutwildrnp","filter":{"op":"=","args":[{"property":"NAME"},"x'"'"'); DROP TABLE coutwildrnp; --"]},"format":"geojson"}'
ask h2 '{"source":"pg","sql":"DELETE FROM coutwildrnp","format":"geojson"}'
ask h3 '{"source":"wild","layer":"coutwildrnp","properties":["NAME","nope"],"format":"geojson"}'
answers 9
is "$(jq -r .status "$(res q1)/result.json")" succeeded "the GeoPackage query succeeds"
want=$(ogr_ids "$T/src/wild.gpkg" coutwildrnp -spat -109 37 -104 41 | sort -n | tr '\n' ' ')
is "$(ids q1)" "$want" "with the features ogr2ogr selects"
is "$(jq -r '.features[0].properties | keys | join(",")' "$(res q1)/result.geojson")" "NAME,STATE" \
    "and only the properties asked for"
is "$(jq -r '.source, .layer, .cache_hit, (.rows | tostring), (.execution_time_ms | type)' "$(res q1)/result.json" | tr '\n' ' ')" \
    "wild coutwildrnp false $(echo "$want" | wc -w) number " \
    "result.json says the source, the layer, the rows, the time, no cache hit"
is "$(jq -r .status "$(res q2)/result.json")" succeeded "the PostGIS query succeeds"
want=$(ogr_ids "$READER_PG" coutwildrnp -spat -109 37 -104 41 -where "\"STATE\" = 'CO'" | sort -n | tr '\n' ' ')
is "$(ids q2)" "$want" "with the features ogr2ogr selects"
is "$(jq -r .status "$(res q3)/result.json")" failed "a layer no source lists fails"
like "$(jq -r .error "$(res q3)/result.json")" "secret" "naming it"

want=$(ogr_ids "$T/src/wild.gpkg" coutwildrnp -spat -109 37 -104 41 | sort -n | tr '\n' ' ')
is "$(jq -r .status "$(res q6)/result.json")" succeeded "CSV from the GeoPackage"
is "$(fids q6 csv)" "$want" "with the features ogr2ogr selects"
want=$(ogr_ids "$READER_PG" coutwildrnp -spat -109 37 -104 41 -where "\"STATE\" = 'CO'" | sort -n | tr '\n' ' ')
is "$(jq -r .status "$(res q7)/result.json")" succeeded "JSON lines from PostGIS"
is "$(fids q7 jsonl)" "$want" "with the features ogr2ogr selects"
want=$(ogr_ids "$READER_PG" wild3857 -spat -109 37 -104 41 -spat_srs EPSG:4326 | sort -n | tr '\n' ' ')
is "$(jq -r .status "$(res q8)/result.json")" succeeded "a GeoPackage from a PostGIS layer in EPSG:3857"
is "$(fids q8 gpkg)" "$want" "with the features ogr2ogr selects"
is "$(jq -r '.status, .rows' "$(res h1)/result.json" | tr '\n' ' ')" "succeeded 0 " \
    "SQL inside a filter value is a value: it matches nothing"
is "$(jq -r .status "$(res h2)/result.json")" failed "sql to a source without allow_sql fails"
like "$(jq -r .error "$(res h2)/result.json")" "does not allow sql" "saying so"
is "$(jq -r .status "$(res h3)/result.json")" failed "an unknown property fails"
like "$(jq -r .error "$(res h3)/result.json")" "nope" "naming it"
is "$(gpkg_sum)" "$G0" "the GeoPackage source is unchanged"
is "$(qc_pg_sum)" "$P0" "the PostGIS tables, roles and rows are unchanged"

# the same query again, fresh: high answers it from its cache
ask q4 "$(printf '%s' "$Q" | jq -c '. + {fresh: true}')"
answers 10
is "$(jq -r .cache_hit "$(res q4)/result.json")" true "asked again on high, a cache hit"
is "$(ids q4)" "$(ids q1)" "with the same features"
is "$("$SPOOLCTL" --root "$T/high" cache --json | jq -r '[.entries[] | select(.source == "wild") | .hits] | add')" 1 \
    "spoolctl cache counts the hit"

# asked again on low within local_ttl: answered at once, no batch
before=$(ls "$T/low/archive/sent" | grep -c '\.batch$')
ask q5 "$Q"
ok "answered on low at once" wait_for "local answer" 20 test -f "$(res q5)/result.json"
is "$(jq -r '.cached, .answer_of' "$(res q5)/result.json" | tr '\n' ' ')" \
    "true $("$SPOOLCTL" --root "$T/low" requests --json | jq -r '.requests[] | select(.name == "q4.json") | .id') " \
    "result.json says cached, and whose answer it is (the newest)"
is "$(ids q5)" "$(ids q1)" "the same features"
sleep 2
is "$(ls "$T/low/archive/sent" | grep -c '\.batch$')" "$before" "and no batch went"
is "$("$SPOOLCTL" --root "$T/low" requests --json | jq -r '.requests[] | select(.name == "q5.json") | .state')" \
    completed "the request is completed"
ok "spoolctl cache clear empties high's cache" "$SPOOLCTL" --root "$T/high" cache clear wild
