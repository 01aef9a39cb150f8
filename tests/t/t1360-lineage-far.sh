#!/bin/sh
# Lineage on the receiving side (issue 11, point 6), daemons running and
# nobody flushing: a request's lineage on the sending node (who dropped
# it, in which folder, when, into which batch) travels with it; batches
# carry their names on both nodes; lineage and show take the names an
# operator has (a dropped file's name, a delivered path, a batch's file
# name) besides ids and hashes; an ambiguous name lists the candidates.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
plan 24

pair low high
for n in low high; do
	set_conf $n batch heartbeat 0
	set_conf $n batch max_age 1s
done
start low
start high
LOW="$SPOOLCTL --root $T/low"
HIGH="$SPOOLCTL --root $T/high"
U="$T/usb"
mkdir "$U"
me=$(id -un)
B1=low-high-0000000001.batch

cp "$DATA/raster/shade.tif" "$T/low/in/files/.shade.tif.part"
mv "$T/low/in/files/.shade.tif.part" "$T/low/in/files/shade.tif"
ok "low batches it on its own" wait_for "batch 1" 20 test -e "$T/low/out/$B1.minisig"
m=$(zstd -dc "$T/low/out/$B1" | tar -xOf - manifest.jsonl | sed -n 2p)
is "$(printf '%s' "$m" | jq -r '[.lineage[] | .event + "@" + .node] | join(" ")')" \
    "received@low batched@low" "the request line carries its lineage on low"
$LOW export --to "$U" > /dev/null
$HIGH import --remove --from "$U" > /dev/null
ok "high delivers it" wait_for "delivered" 20 grep -q "event=delivered .*path=delivered/low/shade.tif" "$T/high.log"

# on high, from the delivered path (relative to the root, from anywhere)
cd "$T"
ok "lineage of a delivered path under the root" $HIGH lineage delivered/low/shade.tif --up --json
j=$(cat "$T/.out")
is "$(printf '%s' "$j" | jq -r '[.ancestors[] | select(.event == "received") | .node + " " + .user] | unique | join(",")')" \
    "low $me" "it names who dropped it on low"
is "$(printf '%s' "$j" | jq -r '[.entities[] | select(.kind == "batch") | .name] | join(",")')" \
    "$B1" "and the batch by its name"
is "$(printf '%s' "$j" | jq -r '[.entities[] | select(.kind == "request") | .folder + " " + .user + " " + .peer] | join(",")')" \
    "files $me low" "and the folder and user of the request on low"
ok "lineage in text" $HIGH lineage delivered/low/shade.tif --up
like "$(cat "$T/.out")" "received <- file:.*\"shade.tif\".*\(node low, user $me" "text: received on low"
like "$(cat "$T/.out")" "imported <- batch:.*\"$B1\"" "text: the batch's name"
like "$(cat "$T/.out")" "\[from low, folder files, user $me\]" "text: folder and user"

ok "lineage of a batch's file name" $HIGH lineage "$B1" --json
is "$(jq -r .ref "$T/.out")" \
    "batch:$($HIGH batches --json | jq -r --arg n "$B1" '.batches[] | select(.name == $n) | .batch_id')" \
    "... resolves to the batch"
ok "show of a batch's file name" $HIGH show "$B1"
like "$(cat "$T/.out")" "direction +received" "... shows the received batch"
ok "show of a delivered path" $HIGH show delivered/low/shade.tif
like "$(cat "$T/.out")" "name +shade.tif" "... shows its request"
ok "show of a dropped file's name on high" $HIGH show shade.tif

# the results come back on their own; low knows high's batch by name
ok "high answers on its own" wait_for "high batch" 20 test -e "$T/high/out/high-low-0000000001.batch.minisig"
$HIGH export --to "$U" > /dev/null
$LOW import --remove --from "$U" > /dev/null
ok "low gets the result" wait_for "result" 20 grep -q "event=imported batch=high-low-0000000001.batch" "$T/low.log"
ok "low: show of high's batch by its name" $LOW show high-low-0000000001.batch

# the same name twice: the candidates are listed
cp "$DATA/raster/shade.tif" "$T/low/in/files/.s" && mv "$T/low/in/files/.s" "$T/low/in/files/shade.tif"
wait_for "second shade" 20 sh -c "[ \$(grep -c 'event=accepted.*name=shade.tif' '$T/low.log') -eq 2 ]"
fails 2 "an ambiguous name is a usage error" $LOW lineage shade.tif
like "$(cat "$T/.err")" "'shade.tif' names 2 things; give the id of one" "... saying so"
is "$(grep -c '^  request:.*"shade.tif"  request to high, folder files, user '"$me" "$T/.err")" 2 \
    "... and listing both candidates"
