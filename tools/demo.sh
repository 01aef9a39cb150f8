#!/bin/sh
# make demo: two nodes, real GIS files carried from one to the other.
#   demo/low  - the request network      demo/high - the response network
#   demo/usb  - the USB stick between them
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
B=${BUILD:-build}
case "$B" in /*) ;; *) B="$top/$B" ;; esac
DATA=${SPOOL_TESTDATA:-$top/../shared/testdata}
D="$top/demo"
[ -d "$DATA/raster" ] || { echo "demo: no test data at $DATA; set SPOOL_TESTDATA to shared/testdata" >&2; exit 1; }
ctl="$B/spoolctl"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*" | sed "s|$top/||g; s|$B/||g"; "$@"; }

rm -rf "$D"
mkdir -p "$D/usb"
step "1. Create two nodes: 'low' (request side) and 'high' (response side)"
run "$ctl" init --root "$D/low" --name low --peer high
run "$ctl" init --root "$D/high" --name high --peer low

step "2. Exchange public keys (in real life: printed or carried once, checked by phone)"
run "$ctl" --root "$D/low" key show
"$ctl" --root "$D/low" key show > "$D/low.pub"
"$ctl" --root "$D/high" key show > "$D/high.pub"
run "$ctl" --root "$D/low" trust add high "$D/high.pub"
run "$ctl" --root "$D/high" trust add low "$D/low.pub"

step "3. On low: pack real rasters and vectors into one signed batch on the stick"
cd "$D/usb"
run "$ctl" --root "$D/low" pack --to high \
	"$DATA/raster/RGB.byte.tif" "$DATA/raster/shade.tif" \
	"$DATA/raster/world.rgb.tif" "$DATA/vector/coutwildrnp.zip" \
	"$DATA/vector/grenada.geojson" "$DATA/vector/test_gpx.gpx"
run ls -l "$D/usb"

step "4. Anyone can check it with standard tools, without spool"
run minisign -Vm "$D/usb/low-high-0000000001.batch" -p "$D/low.pub"
printf '$ zstd -dc low-high-0000000001.batch | tar -tvf -\n'
zstd -dc "$D/usb/low-high-0000000001.batch" | tar -tvf -

step "5. On high: verify, inspect, unpack"
run "$ctl" --root "$D/high" verify "$D/usb/low-high-0000000001.batch"
run "$ctl" --root "$D/high" inspect "$D/usb/low-high-0000000001.batch"
run "$ctl" --root "$D/high" unpack "$D/usb/low-high-0000000001.batch" "$D/high/delivered/low"
run ls -l "$D/high/delivered/low"

step "6. A tampered batch is refused, and nothing is written"
cp "$D/usb/low-high-0000000001.batch" "$D/usb/tampered.batch"
cp "$D/usb/low-high-0000000001.batch.minisig" "$D/usb/tampered.batch.minisig"
chmod u+w "$D/usb/tampered.batch"   # batches are read-only: a tamperer's first step
printf 'X' | dd of="$D/usb/tampered.batch" bs=1 seek=1000 conv=notrunc 2>/dev/null
set +e
run "$ctl" --root "$D/high" unpack "$D/usb/tampered.batch" "$D/high/tampered"
echo "exit status $? (3 = verification failed); $D/high/tampered exists: $(test -e "$D/high/tampered" && echo yes || echo no)" | sed "s|$top/||g"
set -e
step "7. On low: the store remembers what was sent, per file"
run "$ctl" --root "$D/low" batches
run "$ctl" --root "$D/low" requests
run "$ctl" --root "$D/low" lineage "$DATA/raster/shade.tif"

step "Done. Everything is under demo/."
