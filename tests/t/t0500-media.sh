#!/bin/sh
# export --to DIR and import --from DIR: batches carried by USB stick.
# low packs into its out/, exports to $T/usb (a directory standing for the
# stick), high imports from it.  Refusals: a different file of the same
# name on the medium or in import/, a batch not signed by this node, an
# oversized .minisig, a file over 4 GiB for a FAT medium (a real vfat
# loop mount when this machine allows one, else the library's decision).
. "$(dirname "$0")/lib.sh"
plan 69
pair low high
mkdir "$T/files" "$T/usb"
printf 'first\n' > "$T/files/a.txt"
head -c 100000 /dev/urandom > "$T/files/b.bin"
LOW="$SPOOLCTL --root $T/low"
HIGH="$SPOOLCTL --root $T/high"
B1=low-high-0000000001
B2=low-high-0000000002

# pack without -o writes in the current directory: out/
(cd "$T/low/out" && $LOW pack --to high "$T/files/a.txt" > /dev/null &&
	$LOW pack --to high "$T/files/b.bin" > /dev/null)
is "$(ls "$T/low/out" | tr '\n' ' ')" "$B1.batch $B1.batch.minisig $B2.batch $B2.batch.minisig " \
	"pack made two pairs in out/"

# ---- export -------------------------------------------------------------
# a temporary file a crashed run left on the medium is replaced
printf 'stale' > "$T/usb/.$B1.batch.tmp"
ok "export --to DIR" $LOW export --to "$T/usb"
is "$(grep ': exported to ' "$T/.out" | cut -d: -f1 | tr '\n' ' ')" "$B1 $B2 " "one line per pair, in name order"
like "$(head -n 1 "$T/.out")" "^$B1: exported to .*/usb \([0-9]+ bytes\)$" "the line says where and how big"
is "$(ls -A "$T/usb" | tr '\n' ' ')" "$B1.batch $B1.batch.minisig $B2.batch $B2.batch.minisig " \
	"the medium holds both pairs and nothing else (no temporary files)"
same=0
for f in $B1.batch $B1.batch.minisig $B2.batch $B2.batch.minisig; do
	cmp -s "$T/usb/$f" "$T/low/archive/sent/$f" || { same=1; diag "differs: $f"; }
done
is "$same" 0 "the copies are byte-identical to archive/sent/"
is "$(ls -A "$T/low/out")" "" "out/ is empty"
ok "archive/sent/ still holds them" test -f "$T/low/archive/sent/$B2.batch" -a \
	-f "$T/low/archive/sent/$B2.batch.minisig"
$LOW batches --json > "$T/b.json"
is "$(jq -r '[.batches[] | select(.dir == "out") | .state] | join(" ")' "$T/b.json")" \
	"exported exported" "batches --json shows both exported"
ok "minisign -Vm verifies the copy on the medium" minisign -Vm "$T/usb/$B2.batch" -p "$T/low.pub"
ok "a second export is a no-op" $LOW export --to "$T/usb"
is "$(cat "$T/.out")" "nothing to export" "and says so"

# a crash after the copy, before out/ was emptied: the pair is back in
# out/ (as resend would put it); the run goes again without copying
cp "$T/low/archive/sent/$B1.batch" "$T/low/archive/sent/$B1.batch.minisig" "$T/low/out/"
ok "export again after an interrupted run" $LOW export --to "$T/usb"
like "$(cat "$T/.out")" "^$B1: exported" "the pair already on the medium counts as exported"
is "$(ls -A "$T/low/out")" "" "out/ is empty again"
ok "the medium's copy is unchanged" cmp "$T/usb/$B1.batch" "$T/low/archive/sent/$B1.batch"
# a crash between out/'s two unlinks leaves a lone .minisig
cp "$T/low/archive/sent/$B2.batch.minisig" "$T/low/out/"
ok "export with a lone .minisig in out/" $LOW export --to "$T/usb"
like "$(cat "$T/.out")" "^$B2: skipped: removed the .minisig an interrupted export left" "says what it removed"
is "$(ls -A "$T/low/out")" "" "and removed it"

(cd "$T/low/out" && $LOW pack --to high "$T/files/a.txt" > /dev/null)
B3=low-high-0000000003
ok "export --json" $LOW export --json --to "$T/usb"
is "$(jq -c '[.exported[].name, .exported[0].bytes, (.refused | length)]' "$T/.out")" \
	"[\"$B3\",$(wc -c < "$T/low/archive/sent/$B3.batch"),0]" \
	"--json: name and bytes of each pair exported, none refused"

# a .batch without its .minisig is still being written: left alone
printf 'half written' > "$T/low/out/low-high-0000000050.batch"
printf 'x' > "$T/low/out/.low-high-0000000051.batch.tmp"
ok "export skips an incomplete pair" $LOW export --to "$T/usb"
ok "it stays in out/ and is not on the medium" test -f "$T/low/out/low-high-0000000050.batch" -a \
	! -e "$T/usb/low-high-0000000050.batch"
rm -f "$T/low/out/low-high-0000000050.batch" "$T/low/out/.low-high-0000000051.batch.tmp"

# the same name on the medium with other bytes: refused, nothing changes
(cd "$T/low/out" && $LOW pack --to high "$T/files/b.bin" > /dev/null)
(cd "$T/low/out" && $LOW pack --to high "$T/files/a.txt" > /dev/null)
B4=low-high-0000000004
B5=low-high-0000000005
# (as long as the real one, so it is the bytes that differ)
head -c "$(wc -c < "$T/low/out/$B4.batch")" /dev/urandom > "$T/usb/$B4.batch"
cp "$T/usb/$B4.batch" "$T/other"
fails 1 "export refuses a pair whose name holds other bytes on the medium" $LOW export --to "$T/usb"
like "$(cat "$T/.err")" "^spoolctl: export: $B4: '.*/usb/$B4.batch' is already on the medium with different bytes$" \
	"one line on stderr says which and why"
like "$(cat "$T/.out")" "^$B5: exported" "the other pairs still go"
ok "the medium's file is left as it was" cmp "$T/usb/$B4.batch" "$T/other"
ok "the refused pair stays in out/, and no .minisig went out for it" test -f "$T/low/out/$B4.batch" -a \
	-f "$T/low/out/$B4.batch.minisig" -a ! -e "$T/usb/$B4.batch.minisig"
rm -f "$T/usb/$B4.batch"
ok "with the medium cleared the pair goes" $LOW export --to "$T/usb"

# a pair in out/ that this node did not sign is not carried
(cd "$T/high/out" && $HIGH pack --to low "$T/files/a.txt" > /dev/null)
cp "$T/high/out/high-low-0000000001.batch" "$T/high/out/high-low-0000000001.batch.minisig" "$T/low/out/"
fails 1 "export refuses a pair signed by another key" $LOW export --to "$T/usb"
like "$(cat "$T/.err")" "^spoolctl: export: high-low-0000000001: signed by key [0-9A-F]+, not by this node's key [0-9A-F]+$" \
	"and says whose key it is not"
ok "nothing of it reached the medium" test ! -e "$T/usb/high-low-0000000001.batch"
rm -f "$T/low/out/high-low-"*

# a pair whose archive copy is gone is archived before it leaves out/
(cd "$T/low/out" && $LOW pack --to high "$T/files/a.txt" > /dev/null)
B6=low-high-0000000006
rm -f "$T/low/archive/sent/$B6.batch" "$T/low/archive/sent/$B6.batch.minisig"
ok "export archives a pair missing from archive/sent/" $LOW export --to "$T/usb"
ok "archive/sent/ holds it again" cmp "$T/low/archive/sent/$B6.batch" "$T/usb/$B6.batch"

# a .batch altered in out/ after it was signed: refused, and the copy
# that did not verify is taken off the medium again
(cd "$T/low/out" && $LOW pack --to high "$T/files/a.txt" > /dev/null)
B7=low-high-0000000007
chmod u+w "$T/low/out/$B7.batch" && printf 'x' >> "$T/low/out/$B7.batch"
fails 1 "export refuses a batch that does not verify" $LOW export --to "$T/usb"
like "$(cat "$T/.err")" "^spoolctl: export: $B7: '.*/out/$B7.batch' does not verify: signature does not match" \
	"says so"
ok "nothing of it stays on the medium" test ! -e "$T/usb/$B7.batch" -a ! -e "$T/usb/$B7.batch.minisig" \
	-a ! -e "$T/usb/.$B7.batch.tmp"
rm -f "$T/low/out/$B7."* "$T/low/archive/sent/$B7."*

fails 2 "export without --to is a usage error" $LOW export
fails 1 "export to a missing directory" $LOW export --to "$T/nowhere"
like "$(cat "$T/.err")" "does not exist \(is the medium mounted\?\)" "says so"
: > "$T/plain"
fails 2 "export to a file is a usage error" $LOW export --to "$T/plain"
fails 2 "export into out/ itself is refused" $LOW export --to "$T/low/out"

# ---- import -------------------------------------------------------------
printf 'readme\n' > "$T/usb/README.txt"
printf 'x' > "$T/usb/Notes.batch"
ls -A "$T/usb" > "$T/usb.before"
ok "import --from DIR" $HIGH import --from "$T/usb"
is "$(grep -c ': imported from ' "$T/.out")" 6 "one line per pair imported"
like "$(cat "$T/.out")" "^Notes.batch: skipped: not a batch name" "a .batch that is no batch name is noted"
same=0
for s in 1 2 3 4 5 6; do
	for f in low-high-000000000$s.batch low-high-000000000$s.batch.minisig; do
		cmp -s "$T/usb/$f" "$T/high/import/$f" || { same=1; diag "differs: $f"; }
	done
done
is "$same" 0 "import/ holds byte-identical pairs"
is "$(ls -A "$T/high/import" | wc -l)" 12 "and nothing else (no temporary files, no other names)"
is "$(ls -A "$T/usb")" "$(cat "$T/usb.before")" "the medium is left as it was"
ok "high verifies what arrived" $HIGH verify "$T/high/import/$B5.batch"
ok "a second import" $HIGH import --json --from "$T/usb"
is "$(jq -c '[(.imported | length), (.skipped | map(select(.reason == "already in import/")) | length)]' "$T/.out")" \
	"[0,6]" "skips every pair already in import/"

# taken by the daemon and archived: received before, not copied again
# (a rerun after a crash while the daemon takes pairs: issue 14, 16)
mv "$T/high/import/$B1.batch" "$T/high/import/$B1.batch.minisig" "$T/high/archive/received/"
ok "import with a pair already in archive/received/" $HIGH import --from "$T/usb"
like "$(cat "$T/.out")" "$B1: skipped: received before \(archive/received\)" "it is skipped: received before"

# incomplete on the medium: not copied
printf 'partial' > "$T/usb/low-high-0000000060.batch"
ok "import with an incomplete pair on the medium" $HIGH import --from "$T/usb"
like "$(cat "$T/.out")" "^low-high-0000000060: skipped: no .minisig" "it is noted"
ok "and not copied" test ! -e "$T/high/import/low-high-0000000060.batch"
rm -f "$T/usb/low-high-0000000060.batch"

# an oversized .minisig is refused before anything is written
printf 'x' > "$T/usb/low-high-0000000061.batch"
head -c 5000 /dev/zero | tr '\0' 'a' > "$T/usb/low-high-0000000061.batch.minisig"
fails 1 "import refuses an oversized .minisig" $HIGH import --from "$T/usb"
like "$(cat "$T/.err")" "^spoolctl: import: low-high-0000000061: '.*low-high-0000000061.batch.minisig' is larger than 4096 bytes" \
	"and says why"
is "$(ls -A "$T/high/import" | grep -c 0000000061)" 0 "nothing of it is in import/"
rm -f "$T/usb/low-high-0000000061."*

# a symlink on the medium is not followed
ln -s /etc/passwd "$T/usb/low-high-0000000062.batch"
cp "$T/usb/$B1.batch.minisig" "$T/usb/low-high-0000000062.batch.minisig"
fails 1 "import refuses a symlink" $HIGH import --from "$T/usb"
like "$(cat "$T/.err")" "low-high-0000000062: '.*' is a symbolic link" "and says so"
rm -f "$T/usb/low-high-0000000062."*

# import/ has other bytes under the name: refused, left alone
rm -f "$T/high/import/$B2.batch"
printf 'other\n' > "$T/high/import/$B2.batch"
fails 1 "import refuses a name that holds other bytes in import/" $HIGH import --json --from "$T/usb"
is "$(jq -r '.refused[0].name' "$T/.out")" "$B2" "--json lists it under refused"
like "$(jq -r '.refused[0].reason' "$T/.out")" "already exists with different bytes" "with the reason"
is "$(cat "$T/high/import/$B2.batch")" "other" "import/'s file is left as it was"
fails 2 "import without --from is a usage error" $HIGH import

# ---- FAT: files under 4 GiB only -----------------------------------------
# A sparse 4 GiB .batch with a junk .minisig: the size is refused before
# the signature is read or anything copied, so no 4 GiB is ever written.
BIG=low-high-0000000099
truncate -s 4G "$T/low/out/$BIG.batch"
printf 'junk\n' > "$T/low/out/$BIG.batch.minisig"
(cd "$T/low/out" && $LOW pack --to high "$T/files/a.txt" > /dev/null)
B8=low-high-0000000008
fat=0
if [ "$(id -u)" = 0 ] && command -v mkfs.vfat > /dev/null 2>&1; then
	mkdir "$T/fat" && truncate -s 32M "$T/fat.img" &&
		mkfs.vfat "$T/fat.img" > /dev/null 2>&1 &&
		mount -o loop "$T/fat.img" "$T/fat" 2> /dev/null && fat=1
fi
if [ "$fat" = 1 ]; then
	trap 'umount "$T/fat" 2> /dev/null; rm -rf "$T"' EXIT
	diag "FAT: a vfat loop mount"
	fails 1 "export to FAT refuses a 4 GiB file" $LOW export --to "$T/fat"
	like "$(cat "$T/.err")" "^spoolctl: export: $BIG: '$BIG.batch' is 4.0 GiB \(4294967296 bytes\); a FAT filesystem holds files under 4 GiB$" \
		"one line says why"
	ok "nothing of it is on the medium; the other pair went" \
		test ! -e "$T/fat/$BIG.batch" -a ! -e "$T/fat/.$BIG.batch.tmp" -a -f "$T/fat/$B8.batch.minisig"
	umount "$T/fat"
else
	diag "FAT: no vfat mount here (not root, no mkfs.vfat, or no loop device); the library's decision instead"
	"$SPOOL_BUILD/unit" media_fat > "$T/unit.out" 2>&1
	is "$(grep -c '^ok ' "$T/unit.out") $(grep -c '^not ok' "$T/unit.out")" "2 0" \
		"FAT refuses 4 GiB and more, not 4 GiB - 1, and not exFAT (unit tests media_fat)"
	# the same pair on a medium that is not FAT: the size is no reason,
	# so its junk signature is what refuses it (still before any copy)
	fails 1 "a 4 GiB file is no reason to refuse a medium that is not FAT" $LOW export --to "$T/usb"
	like "$(cat "$T/.err")" "^spoolctl: export: $BIG: not a minisign signature" \
		"it is refused for its junk signature instead, before copying"
fi
