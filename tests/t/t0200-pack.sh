#!/bin/sh
# pack -> verify -> inspect -> unpack, and agreement with minisign, zstd,
# tar and b2sum: the tools a security officer already trusts.
. "$(dirname "$0")/lib.sh"
plan 26
pair low high
mkdir "$T/files"
cp "$DATA/raster/byte.tif" "$DATA/vector/trio.geojson" "$T/files/"
printf 'same bytes\n' > "$T/files/a copy.txt"
U=$(printf 'r\303\251sum\303\251 \303\251t\303\251.txt')
printf 'same bytes\n' > "$T/files/$U"
head -c 3000000 /dev/urandom > "$T/files/random.bin"
: > "$T/files/empty"
mkdir -p "$T/files/sub"
printf 'other\n' > "$T/files/sub/trio.geojson"

cd "$T" || exit 1
ok "pack writes a batch for a trusted peer" "$SPOOLCTL" --root "$T/low" pack --to high \
	files/byte.tif files/trio.geojson "files/a copy.txt" \
	"files/$U" \
	files/random.bin files/empty files/sub/trio.geojson
B=low-high-0000000001.batch
ok "the batch is named from-to-seq" test -f "$B" -a -f "$B.minisig"
ok "it is archived for resend" test -f "$T/low/archive/sent/$B" -a -f "$T/low/archive/sent/$B.minisig"
ok "minisign -Vm verifies it with the sender's public key" minisign -Vm "$B" -p "$T/low.pub"
like "$(sed -n 3p "$B.minisig")" "^trusted comment: spool-batch v1 from=low to=high seq=1 id=[0-9a-f-]{36} items=7 bytes=[0-9]+ tar=[0-9]+ created=" "trusted comment carries the facts"
tarsize=$(zstd -dc "$B" | wc -c)
like "$(sed -n 3p "$B.minisig")" " tar=$tarsize " "tar= is the exact decompressed size"
is "$(zstd -dc "$B" | tar -tf - | head -n 1)" manifest.jsonl "tar lists manifest.jsonl first"
mkdir x && (cd x && zstd -dc "../$B" | tar -xf -)
bad=0
for b in x/blobs/*; do
	[ "$(b2sum -l 256 "$b" | cut -d' ' -f1)" = "$(basename "$b")" ] || bad=1
done
is "$bad" 0 "every blob is named by its b2sum -l 256"
is "$(ls x/blobs | wc -l)" 6 "identical payloads are stored once"
is "$(head -n 1 x/manifest.jsonl | jq -r '.spool + " " + (.version|tostring) + " " + .from + " " + .to')" "batch 1 low high" "jq reads the manifest header"
is "$(tail -n +2 x/manifest.jsonl | jq -s 'length')" 7 "one item line per file"
bytes=$(sed -n 3p "$B.minisig" | sed 's/.* bytes=\([0-9]*\) .*/\1/')
is "$(cat x/blobs/* | wc -c)" "$bytes" "bytes= is the size of the distinct blobs"

ok "verify accepts it on the receiver" "$SPOOLCTL" --root "$T/high" verify "$B"
like "$(cat "$T/.out")" "ok, from low seq 1, 7 items" "and says what it is"
ok "inspect lists header and items" "$SPOOLCTL" --root "$T/high" inspect "$B"
like "$(cat "$T/.out")" "request .* transfer  random.bin" "inspect shows the items"
ok "inspect --json" "$SPOOLCTL" --root "$T/high" inspect --json "$B"
is "$(jq '.items | length' "$T/.out")" 7 "inspect --json has every item"
ok "unpack writes the payloads" "$SPOOLCTL" --root "$T/high" unpack "$B" out
same=0
for f in byte.tif trio.geojson "a copy.txt" random.bin empty; do
	cmp -s "files/$f" "out/$f" || { same=1; diag "differs: $f"; }
done
cmp -s files/sub/trio.geojson "out/trio (2).geojson" || { same=1; diag "differs: trio (2)"; }
is "$same" 0 "unpacked files are byte-identical; a repeated name gets a distinct one"
ok "UTF-8 names survive" test -f "out/$U"
fails 1 "unpack refuses a non-empty directory" "$SPOOLCTL" --root "$T/high" unpack "$B" out
mkdir empty
ok "unpack uses an empty directory" "$SPOOLCTL" --root "$T/high" unpack "$B" empty
ok "pack again takes the next seq" "$SPOOLCTL" --root "$T/low" pack --to high -o two.batch files/empty
like "$(sed -n 3p two.batch.minisig)" " seq=2 " "seq 2"
fails 2 "pack with no files is a usage error" "$SPOOLCTL" --root "$T/low" pack --to high
