#!/bin/sh
# pack -> verify -> inspect -> unpack, and agreement with minisign, zstd,
# tar and b2sum: the tools a security officer already trusts.
. "$(dirname "$0")/lib.sh"
plan 38
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

# A batch made by hand with GNU tar + zstd, signed by minisign -S with a
# key from minisign -G -W and trusted with trust add, passes verify: the
# format is the tools', not spool's.
cd "$T" && mkdir hand && cd hand || exit 1
minisign -G -W -p hand.pub -s hand.key > /dev/null
ok "trust add takes the minisign key" "$SPOOLCTL" --root "$T/high" trust add hand hand.pub
printf 'made by hand\n' > payload
H=$(b2sum -l 256 payload | cut -d' ' -f1)
mkdir blobs && cp payload "blobs/$H"
ID=01936f3e-1c2a-7abc-8def-0123456789ab
C=2026-11-23T10:00:00Z
for fmt in ustar gnu; do
	seq=1; [ $fmt = gnu ] && seq=2
	printf '{"spool":"batch","version":1,"id":"%s","from":"hand","to":"high","seq":%s,"created":"%s","items":1,"bytes":13,"acks":[]}\n' "$ID" "$seq" "$C" > manifest.jsonl
	printf '{"kind":"request","id":"%s","type":"transfer","name":"by-hand.txt","user":"op","priority":0,"created":"%s","files":[{"name":"by-hand.txt","size":13,"blob":"%s"}]}\n' "$ID" "$C" "$H" >> manifest.jsonl
	tar --format=$fmt -cf x.tar manifest.jsonl "blobs/$H"
	B=hand-high-000000000$seq.batch
	zstd -q x.tar -o $B
	minisign -S -s hand.key -m $B -t "spool-batch v1 from=hand to=high seq=$seq id=$ID items=1 bytes=13 tar=$(stat -c %s x.tar) created=$C" > /dev/null
	rm x.tar
	ok "a hand-made batch ($fmt tar, zstd, minisign -S) passes verify" "$SPOOLCTL" --root "$T/high" verify $B
	ok "and unpacks" "$SPOOLCTL" --root "$T/high" unpack $B out-$fmt
done
is "$(cat out-gnu/by-hand.txt)" "made by hand" "with the payload intact"

# Fixes from review: each has a test that fails without it.
cd "$T" || exit 1
ok "unpack into 'dir/' (trailing slash) works" "$SPOOLCTL" --root "$T/high" unpack low-high-0000000001.batch slashed/
is "$(ls -A slashed | grep -c unpack)" 0 "and the staging directory was beside it, not inside"
fails 1 "pack -o onto an existing file fails before taking a seq" "$SPOOLCTL" --root "$T/low" pack --to high -o two.batch files/empty
"$SPOOLCTL" --root "$T/low" pack --to high -o three.batch files/empty > /dev/null
like "$(sed -n 3p three.batch.minisig)" " seq=3 " "so the next pack gets the next seq: no gap"
is "$(stat -c %a three.batch) $(stat -c %a three.batch.minisig)" "444 444" "a signed batch is read-only from birth (the archive shares its bytes)"
cp "$T/high/keys/trusted/low.pub" "$T/low.pub.saved"
echo garbage > "$T/high/keys/trusted/low.pub"
fails 1 "a broken trusted key is a local error (exit 1), not a bad batch" "$SPOOLCTL" --root "$T/high" verify low-high-0000000001.batch
cp "$T/low.pub.saved" "$T/high/keys/trusted/low.pub"
