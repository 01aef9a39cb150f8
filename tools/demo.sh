#!/bin/sh
# make demo: two nodes, real GIS files carried from one to the other.
#   demo/low  - the request network      demo/high - the response network
#   demo/usb  - the USB stick between them
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B=${BUILD:-build}
case "$B" in /*) ;; *) B="$top/$B" ;; esac
D="$top/demo"
ctl="$B/spoolctl"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*" | sed "s|$top/||g; s|$B/||g"; "$@"; }

rm -rf "$D"
mkdir -p "$D/usb"
# the files shipped in tests/data (tests/data/README.md), and any more in
# $SPOOL_TESTDATA or ../shared/testdata
DATA=$(sh "$top/tools/testdata.sh" "$D/data")
step "1. Create two nodes: 'low' (request side) and 'high' (response side)"
run "$ctl" init --root "$D/low" --name low --peer high
run "$ctl" init --root "$D/high" --name high --peer low

step "2. Exchange public keys (in real life: printed or carried once, checked by phone)"
run "$ctl" --root "$D/low" key show
"$ctl" --root "$D/low" key show > "$D/low.pub"
"$ctl" --root "$D/high" key show > "$D/high.pub"
run "$ctl" --root "$D/low" trust add high "$D/high.pub"
run "$ctl" --root "$D/high" trust add low "$D/low.pub"

# high holds data low's users may query: a GeoPackage of wilderness areas
mkdir -p "$D/gis"
ogr2ogr -f GPKG "$D/gis/wild.gpkg" "/vsizip/$DATA/vector/coutwildrnp.zip" -nln wilderness
chmod 755 "$D/gis" && chmod 644 "$D/gis/wild.gpkg"
printf '\n[query.source wild]\nurl = %s\nlayers = wilderness\n' "$D/gis/wild.gpkg" >> "$D/high/spoold.conf"
step "3. Start both daemons (logs: demo/low.log, demo/high.log)"
for n in low high; do
	# demo: no heartbeats, batches when we say flush
	sed -i 's/^\[batch\]$/[batch]\nheartbeat = 0/' "$D/$n/spoold.conf"
done
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null; done' EXIT
for n in low high; do
	printf '$ spoold -c demo/%s/spoold.conf --foreground 2> demo/%s.log &\n' $n $n
	"$B/spoold" -c "$D/$n/spoold.conf" --foreground 2> "$D/$n.log" &
	pids="$pids $!"
done
wait_log() { # wait_log NODE PATTERN COUNT
	i=0
	while [ "$(grep -c -- "$2" "$D/$1.log" 2>/dev/null || true)" -lt "$3" ]; do
		i=$((i + 1)); [ $i -lt 1800 ] || { echo "demo: timed out waiting for $2 on $1" >&2; exit 1; }
		sleep 0.1
	done
}
wait_log low event=ready 1
wait_log high event=ready 1

step "4. A user on low drops rasters, vectors, a file, a query and a selftest"
for f in "$DATA/raster/RGB.byte.tif" "$DATA/raster/shade.tif" \
    "$DATA/raster/world.rgb.tif"; do
	run cp "$f" "$D/low/in/raster/"
done
for f in "$DATA/vector/coutwildrnp.zip" "$DATA/vector/grenada.geojson" \
    "$DATA/vector/test_gpx.gpx"; do
	run cp "$f" "$D/low/in/vector/"
done
run cp "$top/README.md" "$D/low/in/files/"
printf '$ echo ... > demo/low/in/requests/wild-query.json\n'
printf '{"type":"query","params":{"source":"wild","layer":"wilderness","bbox":[-109,37,-104,41],"properties":["NAME"],"format":"geojson"}}\n' > "$D/low/in/requests/wild-query.json"
printf '{"type":"selftest","priority":5,"params":{"stages":2,"tasks":3}}\n' > "$D/low/in/requests/selftest.json"
wait_log low event=accepted 9
run "$ctl" --root "$D/low" flush
run ls -l "$D/low/out"

step "5. Anyone can check a batch with standard tools, without spool"
run minisign -Vm "$D/low/out/low-high-0000000001.batch" -p "$D/low.pub"
printf '$ zstd -dc low-high-0000000001.batch | tar -tvf -\n'
zstd -dc "$D/low/out/low-high-0000000001.batch" | tar -tvf -

step "6. The operator carries low's batches to high on the stick"
run "$ctl" --root "$D/low" export --to "$D/usb"
run "$ctl" --root "$D/high" import --from "$D/usb"
rm -f "$D/usb"/*
wait_log high event=answered 9
run ls -l "$D/high/delivered/low"
run "$ctl" --root "$D/high" jobs

step "7. High answers; the operator carries the results back"
run "$ctl" --root "$D/high" flush
run "$ctl" --root "$D/high" export --to "$D/usb"
run "$ctl" --root "$D/low" import --from "$D/usb"
rm -f "$D/usb"/*
wait_log low event=result 9

step "8. On low: results by the dropped file's name, status, lineage"
R="$D/low/results/by-name/$(id -un)"
run ls "$R/raster" "$R/vector" "$R/files" "$R/requests"
run ls -l "$R/raster/shade.tif/"
run jq '{status, crs, bounds, leaflet_bounds, cog, preview}' "$R/raster/shade.tif/result.json"
printf '$ validate_cloud_optimized_geotiff.py shade.tif\n'
/usr/bin/python3 /usr/lib/python3/dist-packages/osgeo_utils/samples/validate_cloud_optimized_geotiff.py "$R/raster/shade.tif/shade.tif"
run ogrinfo -ro -so "$R/vector/coutwildrnp.zip/coutwildrnp.gpkg" coutwildrnp
run jq '{status, rows, truncated, cache_hit}' "$R/requests/wild-query.json/result.json"
run jq -c '.layers[] | {name, state, leaflet_bounds}' "$D/low/status/layer-state.json"
run "$ctl" --root "$D/low" status
run "$ctl" --root "$D/low" requests
run "$ctl" --root "$D/low" lineage shade.tif

step "9. A tampered batch is refused on import, the daemon goes on"
echo more > "$D/low/in/files/note.txt"
wait_log low event=accepted 10
"$ctl" --root "$D/low" flush
"$ctl" --root "$D/low" export --to "$D/usb" > /dev/null
chmod u+w "$D/usb/low-high-0000000002.batch"
printf 'X' | dd of="$D/usb/low-high-0000000002.batch" bs=1 seek=200 conv=notrunc 2>/dev/null
run "$ctl" --root "$D/high" import --from "$D/usb"
wait_log high event=quarantined 1
run ls "$D/high/quarantine"
run jq -r .reason "$D/high/quarantine/low-high-0000000002.reason.json"

step "10. Stop the daemons"
for p in $pids; do kill -TERM $p; done
wait
pids=""
run tail -n 3 "$D/high.log"

step "Done. Everything is under demo/."
