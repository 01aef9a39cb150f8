#!/bin/sh
# `spoolctl config check` checks a configuration against the node it
# describes, as an administrator meets it: a new node whose peer is not
# trusted yet (a warning), a folder sending to an unknown peer, a [peer]
# with the node's own name, a query source file that is not there, a
# missing secret key (problems, exit 1), --json for scripts; `trust add`
# refuses the node's own name and key; and the two example
# configurations, installed as an administrator would, check clean.
. "$(dirname "$0")/lib.sh"
plan 28
C="$T/low/spoold.conf"

node low high
ok "a new node whose peer is not trusted yet: ok" "$SPOOLCTL" --root "$T/low" config check
like "$(cat "$T/.err")" "warning: .*\\[peer high\\]: peer 'high' has no trusted key yet .*spoolctl trust add high" \
    "with a warning saying what to do"
is "$(cat "$T/.out")" "$C: ok" "and FILE: ok"
"$SPOOLCTL" --root "$T/low" --json config check > "$T/j"
is "$(jq -c '[.ok, (.problems | length), (.warnings | length), .node]' "$T/j")" \
    "[true,0,1,\"$T/low\"]" "--json: ok, no problem, one warning, the node checked"

node high low
"$SPOOLCTL" --root "$T/high" key show > "$T/high.pub"
"$SPOOLCTL" --root "$T/low" key show > "$T/low.pub"
fails 2 "trust add refuses the node's own name" "$SPOOLCTL" --root "$T/low" trust add low "$T/high.pub"
like "$(cat "$T/.err")" "'low' is this node's own name" "says so"
fails 1 "trust add refuses the node's own key" "$SPOOLCTL" --root "$T/low" trust add other "$T/low.pub"
like "$(cat "$T/.err")" "this node's own public key" "says so"
cp "$T/low/keys/node.pub" "$T/copy.pub"
fails 1 "under any file name" "$SPOOLCTL" --root "$T/low" trust add other "$T/copy.pub"
is "$(ls "$T/low/keys/trusted" | wc -l)" 0 "nothing was trusted"
ok "a peer's key is trusted" "$SPOOLCTL" --root "$T/low" trust add high "$T/high.pub"
"$SPOOLCTL" --root "$T/low" config check > "$T/.out" 2> "$T/.err"
is "$(cat "$T/.err")" "" "then no warning"

cat >> "$C" << 'EOF'

[folder tocentral]
type = transfer
peer = central

[peer low]

[query.source roads]
url = roads.gpkg
layers = roads

[query.source pg]
url = PG:dbname=gis host=/run/postgresql
EOF
fails 1 "problems: config check exits 1" "$SPOOLCTL" --root "$T/low" config check
diag "$(cat "$T/.err")"
like "$(cat "$T/.err")" "spoolctl: config: $C: \\[peer low\\]: this is the node's own name" \
    "a [peer] with the node's own name"
like "$(cat "$T/.err")" "\\[query.source roads\\]: url 'roads.gpkg': no such file" \
    "a query source file that is not there (relative to the file's directory)"
like "$(cat "$T/.err")" "warning: .*\\[folder tocentral\\]: peer 'central' has no trusted key yet" \
    "a folder's peer without a key (warning)"
is "$(grep -c "query.source pg" "$T/.err")" 0 "a PostgreSQL source is not a file to look for"
"$SPOOLCTL" --root "$T/low" --json config check > "$T/j"
is "$(jq -c '[.ok, (.problems | length), (.warnings | length)]' "$T/j")" "[false,2,1]" \
    "--json: not ok, two problems, one warning"
sed -i '/^\[peer low\]$/d' "$C"
: > "$T/low/roads.gpkg"
ok "fixed: ok again" "$SPOOLCTL" --root "$T/low" config check
mv "$T/low/keys/node.key" "$T/node.key"
fails 1 "the node's secret key missing is a problem" "$SPOOLCTL" --root "$T/low" config check
like "$(cat "$T/.err")" "\\[node\\]: this node has no secret key" "named"
mv "$T/node.key" "$T/low/keys/node.key"
printf '[folder odd]\ntype = mystery\n' >> "$C"
fails 1 "a folder of an unknown type" "$SPOOLCTL" --root "$T/low" config check
like "$(cat "$T/.err")" "$C:[0-9]+: \\[folder odd\\] key 'type'" "named with its line"
"$SPOOLCTL" --root "$T/low" --json config check > "$T/j"
is "$(jq -r '.node' "$T/j")" null "a file that does not read: no node check (--json node null)"

# a file whose directory holds no node: the file alone
cp "$SPOOL_TOP/contrib/examples/high.conf" "$T/lone.conf"
ok "a file with no node beside it" "$SPOOLCTL" config check "$T/lone.conf"
like "$(cat "$T/.out")" "ok \\(no node there yet: the file alone was checked\\)" "says only the file was checked"

# the examples as an installation: two nodes, keys exchanged, a data file
for side in low high; do
	mkdir -p "$T/site/$side"
	"$SPOOLCTL" init --root "$T/site/$side" --name $side > /dev/null
	cp "$SPOOL_TOP/contrib/examples/$side.conf" "$T/site/$side/spoold.conf"
	"$SPOOLCTL" --root "$T/site/$side" key show > "$T/site/$side.pub"
done
"$SPOOLCTL" --root "$T/site/low" trust add high "$T/site/high.pub" > /dev/null
"$SPOOLCTL" --root "$T/site/high" trust add low "$T/site/low.pub" > /dev/null
: > "$T/site/reference.gpkg"
sed -i "s|^url = /srv/gis/reference.gpkg|url = $T/site/reference.gpkg|" "$T/site/high/spoold.conf"
"$SPOOLCTL" --root "$T/site/low" config check > "$T/.out" 2> "$T/.err"
is "$(cat "$T/.out")|$(cat "$T/.err")" "$T/site/low/spoold.conf: ok|" "the example low.conf on its node: ok, no warning"
"$SPOOLCTL" --root "$T/site/high" config check > "$T/.out" 2> "$T/.err"
is "$(cat "$T/.out")|$(cat "$T/.err")" "$T/site/high/spoold.conf: ok|" "the example high.conf too"
