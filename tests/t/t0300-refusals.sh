#!/bin/sh
# Refusals: every way a batch can be forged, damaged or hostile.  Each one
# is crafted by tests/tools/mkbatch.py (signed with the real minisign where
# the signature is not the point), then `spoolctl unpack` must exit 3 with
# one line "spoolctl: unpack: ..." that says why, and leave nothing: no
# output directory, no staging directory, nothing in store/tmp.  Positive
# controls first, so a refusal is never an artefact of the crafting tool.
. "$(dirname "$0")/lib.sh"
plan 233
TOP=$(cd "$(dirname "$0")/../.." && pwd)
PY=${PYTHON:-python3}
MK="$TOP/tests/tools/mkbatch.py"

pair low high
node mid high
"$SPOOLCTL" --root "$T/mid" key show > "$T/mid.pub"
"$SPOOLCTL" --root "$T/high" trust add mid "$T/mid.pub" > /dev/null
minisign -G -W -p "$T/evil.pub" -s "$T/evil.key" > /dev/null 2>&1
LOWKEY="$T/low/keys/node.key"
MIDKEY="$T/mid/keys/node.key"
EVILKEY="$T/evil.key"
mkdir "$T/files"
head -c 200000 /dev/urandom > "$T/files/rand.bin"
printf 'hello spool\n' > "$T/files/a.txt"
H=$(b2sum -l 256 "$T/files/a.txt" | cut -d' ' -f1)
GiB4=4294967296

# ---- the crafted batches, all built by one run of mkbatch.py -------------
# job N SPEC [KEY [LEGACY]]: $T/cN.batch, seq N, one file a.txt, then SPEC
# (JSON members; a later key wins, so SPEC may replace "files" or "seq")
FILES='[{"name":"a.txt","data":"hello spool\n"}]'
job() {
	case $1 in *[!0-9]*) seq=1 ;; *) seq=$1 ;; esac
	printf '{"out":"%s/c%s.batch","key":"%s","legacy":%s,"spec":{"seq":%s,"files":%s%s}}\n' \
		"$T" "$1" "${3:-$LOWKEY}" "${4:-false}" "$seq" "$FILES" "${2:+,$2}" >> "$T/jobs"
}
job good '"seq":100,"files":[{"name":"a.txt","path":"'"$T"'/files/a.txt"},{"name":"rand.bin","path":"'"$T"'/files/rand.bin"}]'
job pytar '"seq":101,"writer":"tarfile"'
job native '"seq":102,"compress":"native","files":[{"name":"a.txt","data":"hello spool\n"},{"name":"zeros","size":1048576}]'
job padded '"seq":103,"pad_blocks":100'
job other '"seq":104'
job 5 '"from":"evil"' "$EVILKEY"
job 6 '' "$EVILKEY"
job 7 '' "$MIDKEY"
job 9 '' "$LOWKEY" true
job 10 '"to":"other"'
job 12 '"raw":"","comment":{"tar":0,"items":0,"bytes":0}'
job 13 '"comment":{"v":"v2"}'
job 14 '"truncate":-7'
job 19 '"created":"2026-01-01T00:00:00Z","comment":{"created":"2026-01-01T00:00:00Z evil=1"}'
job 20 '"files":[{"name":"a.txt","data":"hello spool\n","member_data":"HELLO SPOOL\n"}]'
job 21 '"extra_members":[{"name":"../evil","data":"x\n"}]'
job 22 '"extra_members":[{"name":"/tmp/evil","data":"x\n"}]'
job 23 '"files":[{"name":"a.txt","data":"hello spool\n","member_name":"blobs/../blobs/'"$H"'"}]'
job 24 '"files":[{"name":"a.txt","data":"hello spool\n","member":false}],"extra_members":[{"name":"blobs/'"$H"'","type":"symlink","linkname":"/etc/passwd"}]'
job 25 '"files":[{"name":"a.txt","data":"hello spool\n","member":false}],"extra_members":[{"name":"blobs/'"$H"'","type":"hardlink","linkname":"manifest.jsonl"}]'
job 26 '"files":[{"name":"a.txt","data":"hello spool\n","member":false}],"extra_members":[{"name":"blobs/'"$H"'","type":"chardev","devmajor":1,"devminor":3}]'
job 27 '"files":[{"name":"a.txt","data":"hello spool\n","member":false}],"extra_members":[{"name":"blobs/'"$H"'","type":"fifo"}]'
job 28 '"members":[{"ref":"manifest"},{"name":"blobs/","type":"dir"},{"ref":"blobs"}]'
job 29 '"extra_members":[{"data":"not in the manifest\n"}]'
job 30 '"extra_members":[{"ref":"blob:0"}]'
job 31 '"files":[{"name":"a.txt","data":"hello spool\n","member":false}]'
job 32 '"drop_manifest":true'
job 33 '"members":[]'
job 34 '"append_lines":["{\"kind\": request}"],"header_items":2'
job 35 '"append_lines":[""],"header_items":2'
job 36 '"header":{"version":2}'
job 37 '"header":{"seq":99}'
job 38 '"header_items":2'
job 39 '"header_bytes":999'
job 40 '"files":[{"name":"a.txt","data":"hello spool\n","size_field":5}],"header_bytes":5'
job 41 '"files":[{"name":"a.txt","data":"hello spool\n","item":{"evil":true}}]'
job 42 '"prepend_members":[{"name":"PaxHeader/manifest.jsonl","type":"x","data":"30 path=blobs/../../etc/evil\n"}]'
job 43 '"huge_line":67108864'
job 56 '"huge_line":31457280'
job 44 '"compress":"native","window_log":31'
job 45 '"compress":"native","zero_tail":'$GiB4',"tar_adjust":-'$GiB4
job 46 '"compress":"native","files":[{"name":"zeros","size":'$GiB4'}]'
job 47 '"tar_adjust":512'
job 48 '"tar_adjust":-512'
job 49 '"garbage":"trailing garbage after the frame\n"'
job 50 '"raw":"this is not a zstd stream\n"'
job 51 '"files":[{"name":"a.txt","data":"hello spool\n","item":{"name":"../evil"}}]'
job 52 '"files":[{"name":"a.txt","data":"hello spool\n","item":{"name":"a/b"}}]'
job 53 '"files":[{"name":"line\nbreak","data":"hello spool\n","item":{"name":"a.txt"}}]'
job 54 '"files":[{"name":"..","data":"hello spool\n","item":{"name":"a.txt"}}]'
job 55 '"files":[{"name":"a\u0000b","data":"hello spool\n","item":{"name":"a.txt"}}]'
job 57 '"files":[{"name":"../evil","data":"hello spool\n","item":{"name":"a.txt"}}]'
job 58 '"files":[{"name":"a/b","data":"hello spool\n","item":{"name":"a.txt"}}]'
ID=01890a5d-ac96-774b-bcce-b302099a8057 C=2026-01-01T00:00:00Z
job 59 '"id":"'$ID'","created":"'$C'","files":[],"manifest_lines":["{\"spool\":\"batch\",\"version\":1,\"id\":\"'$ID'\",\"from\":\"low\",\"to\":\"high\",\"seq\":2,\"seq\":59,\"created\":\"'$C'\",\"items\":0,\"bytes\":0,\"acks\":[]}"]'
job 60 '"patch":[[-4,"00000000"]]'
job 61 '"compress":"native","fcs":2147483648'
job 62 '"members":[{"ref":"manifest","chksum":4242},{"ref":"blobs"}]'
job 63 '"files":[{"name":"rand.bin","path":"'"$T"'/files/rand.bin"},{"name":"a.txt","data":"hello spool\n","member_data":"HELLO SPOOL\n"}]'
mk0=$(date +%s)
"$PY" "$MK" --jobs "$T/jobs" > "$T/made" 2> "$T/mkerr" || { sed 's/^/# /' "$T/mkerr"; exit 1; }
diag "mkbatch.py built $(wc -l < "$T/made") batches in $(($(date +%s) - mk0)) s"

# ---- helpers ------------------------------------------------------------
# errline: stderr if it is exactly one line, else a visible summary
errline() {
	n=$(wc -l < "$T/.err")
	if [ "$n" -eq 1 ]; then cat "$T/.err"; else
		printf '(%s lines) %s\n' "$n" "$(tr '\n' '|' < "$T/.err")"
	fi
}
# clean N: no out-N, no .out-N.unpack.* staging, nothing in store/tmp
# (what is left goes to stderr, which ok shows, and is then removed)
clean() {
	r=0
	[ ! -e "$T/out-$1" ] && [ ! -L "$T/out-$1" ] || { echo "out-$1 was left" >&2; r=1; }
	for s in "$T"/.out-"$1".unpack.*; do
		[ -e "$s" ] && { echo "staging left: $s" >&2; r=1; }
	done
	left=$(ls -A "$T/high/store/tmp")
	[ -z "$left" ] || { echo "store/tmp holds: $left" >&2; r=1; }
	rm -rf "$T/high/store/tmp/"* "$T"/.out-"$1".unpack.* 2> /dev/null
	return $r
}
# refuse N REASON DESC [BATCH]: unpack exits 3, says REASON (ERE), leaves nothing
WRAP=
refuse() {
	fails 3 "$3: unpack refuses it" $WRAP "$SPOOLCTL" --root "$T/high" unpack "${4:-$T/c$1.batch}" "$T/out-$1"
	like "$(errline)" "^spoolctl: unpack: .*($2)" "$3: one line, says '$2'"
	ok "$3: leaves nothing behind" clean "$1"
}
# vrefuse N REASON DESC [BATCH]: verify exits 3 and says REASON
vrefuse() {
	fails 3 "$3: verify refuses it" "$SPOOLCTL" --root "$T/high" verify "${4:-$T/c$1.batch}"
	like "$(errline)" "^spoolctl: verify: .*($2)" "$3: verify says '$2'"
}
# measured N REASON DESC: refuse, timed, under /usr/bin/time for max RSS
measured() {
	t0=$(date +%s)
	WRAP="/usr/bin/time -f %M -o $T/rss"
	refuse "$@"
	WRAP=
	secs=$(($(date +%s) - t0))
	rss=$(tail -n 1 "$T/rss")
	diag "$3: refused in $secs s, max RSS $rss KiB"
	ok "$3: refused within 20 s ($secs s)" test "$secs" -le 20
	ok "$3: max RSS under 100000 KiB ($rss KiB)" test "$rss" -lt 100000
}

ok "high has an empty store/tmp to watch" test -d "$T/high/store/tmp"

# ---- positive controls ---------------------------------------------------
cd "$T" || exit 1
ok "control: minisign verifies a crafted batch with low's key" minisign -Vm cgood.batch -p low.pub
ok "control: verify accepts a crafted batch" "$SPOOLCTL" --root "$T/high" verify cgood.batch
like "$(cat "$T/.out")" "ok, from low seq 100, 2 items, 200012 bytes" "control: with its facts"
ok "control: unpack accepts it" "$SPOOLCTL" --root "$T/high" unpack cgood.batch good
ok "control: payloads are byte-identical" cmp -s files/rand.bin good/rand.bin
ok "control: all of them" cmp -s files/a.txt good/a.txt
like "$(sed -n 3p cpytar.batch.minisig)" " tar=10240 " "control: Python tarfile pads to 10240 bytes"
ok "control: verify accepts a Python tarfile archive" "$SPOOLCTL" --root "$T/high" verify cpytar.batch
ok "control: unpack accepts it" "$SPOOLCTL" --root "$T/high" unpack cpytar.batch pytar
ok "control: its payload is intact" cmp -s files/a.txt pytar/a.txt
ok "control: verify accepts hand-made zstd raw and RLE blocks" "$SPOOLCTL" --root "$T/high" verify cnative.batch
ok "control: unpack accepts them" "$SPOOLCTL" --root "$T/high" unpack cnative.batch native
is "$(wc -c < native/zeros | tr -d ' ')" 1048576 "control: the RLE-coded payload is whole"
ok "control: 100 extra zero blocks after the archive are valid" "$SPOOLCTL" --root "$T/high" verify cpadded.batch
is "$(ls -A "$T/high/store/tmp")" "" "control: unpack leaves store/tmp empty"

# ---- the signature -----------------------------------------------------
cp cgood.batch c1.batch && cp cgood.batch.minisig c1.batch.minisig
off=$(($(wc -c < c1.batch) / 2))
byte=$(od -An -tu1 -j "$off" -N1 c1.batch | tr -d ' ')
if [ "$byte" -eq 0 ]; then new='\377'; else new='\000'; fi
printf "$new" | dd of=c1.batch bs=1 seek="$off" conv=notrunc 2> /dev/null
refuse 1 "does not match the file" "a flipped byte in the batch"
vrefuse 1 "does not match the file" "a flipped byte in the batch"

head -c "$(($(wc -c < cgood.batch) - 100))" cgood.batch > c2.batch
cp cgood.batch.minisig c2.batch.minisig
refuse 2 "does not match the file" "a truncated batch"

cp cgood.batch c3.batch
refuse 3 "signature file .*is missing" "a batch without its .minisig"
vrefuse 3 "signature file .*is missing" "a batch without its .minisig"

cp cgood.batch c4.batch && cp cother.batch.minisig c4.batch.minisig
refuse 4 "does not match the file" "a foreign .minisig (another batch's)"

refuse 5 "sender 'evil' is not a trusted peer" "a sender not in the trust store"
refuse 6 "untrusted key" "an untrusted key claiming to be low"
vrefuse 6 "untrusted key" "an untrusted key claiming to be low"
refuse 7 "peer 'mid', not by sender 'low'" "trusted peer mid's key signing as low"

cp cother.batch c8.batch
sed '3s/ items=1 / items=2 /' cother.batch.minisig > c8.batch.minisig
refuse 8 "comment altered" "an edited trusted comment"
refuse 9 "legacy" "a legacy (Ed) signature"
vrefuse 9 "legacy" "a legacy (Ed) signature"
refuse 10 "addressed to 'other'" "a batch addressed to another node"

ln -s cgood.batch c11.batch && cp cgood.batch.minisig c11.batch.minisig
refuse 11 "symbolic link" "a batch that is a symlink"
refuse 12 "is empty" "an empty batch file, validly signed"
refuse 13 "version" "a trusted comment of version v2"
refuse 14 "truncated" "a validly signed truncated zstd stream"

cp cgood.batch c15.batch && ln -s cgood.batch.minisig c15.batch.minisig
refuse 15 "symbolic link" "a .minisig that is a symlink"
cp cgood.batch c16.batch && mkfifo c16.batch.minisig
WRAP="timeout 10"
refuse 16 "not a regular file" "a .minisig that is a fifo"
mkfifo c17.batch && cp cgood.batch.minisig c17.batch.minisig
refuse 17 "not a regular file" "a batch that is a fifo"
WRAP=
cp cgood.batch c18.batch && head -c 5000000 /dev/zero > c18.batch.minisig
refuse 18 "larger than" "a 5 MB .minisig"
refuse 19 "trusted comment" "a validly signed trusted comment with an extra field"

# ---- the archive (all validly signed by low) ----------------------------
refuse 20 "does not match its name" "a blob whose content does not match its name"
vrefuse 20 "does not match its name" "a blob whose content does not match its name"
refuse 21 "'\.\./evil'" "a member named ../evil"
refuse 22 "'/tmp/evil'" "a member with an absolute path"
refuse 23 "'blobs/\.\./blobs/$H'" "a blob member named through blobs/../"
refuse 24 "not a regular file" "a symlink member"
vrefuse 24 "not a regular file" "a symlink member"
refuse 25 "not a regular file" "a hard link member"
refuse 26 "not a regular file" "a character device member"
refuse 27 "not a regular file" "a fifo member"
refuse 28 "not a regular file" "a directory member"
refuse 29 "not named in the manifest" "an extra member not in the manifest"
refuse 30 "duplicate member" "a duplicate member"
refuse 31 "named in the manifest .*missing" "a blob named in the manifest is missing"
refuse 32 "not manifest.jsonl" "no manifest (first member is a blob)"
refuse 33 "no manifest" "an archive with no members"
refuse 34 "line 3 is not JSON" "a manifest line that is not JSON"
refuse 35 "line 3 is empty" "an empty manifest line"
refuse 36 "version" "manifest header version 2"
refuse 37 "disagrees.*seq|seq.*disagrees" "a manifest header seq that disagrees with the trusted comment"
refuse 38 "header says 2" "a header item count that the manifest does not have"
refuse 39 "header says 999" "a header byte count that the blobs do not add up to"
refuse 40 "the manifest says" "a member whose size is not the manifest's"
refuse 41 '"evil"' "an item with a key outside the schema"
refuse 42 "not a regular file" "a pax extended header"
# a name is refused by the schema (naming the field) or the C name check
BADNAME='/name: (does not match pattern|must not be one of)|not a single safe path component'
BADFILE='/files/0/name: (does not match pattern|must not be one of)|item file name 0 is not a single safe path component'
refuse 51 "$BADNAME" "an item name ../evil"
refuse 52 "$BADNAME" "an item name a/b"
refuse 57 "$BADFILE" "a file name ../evil"
refuse 58 "$BADFILE" "a file name a/b"
refuse 53 "$BADFILE" "a file name with a newline"
refuse 54 "$BADFILE" "a file name .."
refuse 55 "NUL|u0000" "a file name with a NUL"
refuse 59 "duplicate" "a manifest header with a duplicate key (seq twice)"
refuse 62 "checksum" "a tar header with a bad checksum"
refuse 63 "does not match its name" "a bad blob after a good one"

# ---- the stream (validly signed by low) -----------------------------------
# 64 MiB is over the whole manifest's cap, refused at its tar header
measured 43 "longer than|manifest is [0-9]+ bytes, over the [0-9]+ limit" "a 64 MiB manifest line"
measured 56 "longer than" "a 30 MiB manifest line (under the manifest cap)"
measured 44 "window" "a zstd frame that needs a 2 GiB window"
vrefuse 44 "window" "a zstd frame that needs a 2 GiB window"
measured 45 "longer than the signed tar size" "a 4 GiB zero bomb behind a small signed tar="
vrefuse 45 "longer than the signed tar size" "a 4 GiB zero bomb behind a small signed tar="
measured 46 "max_bytes" "an honestly signed 4 GiB zero blob"
refuse 61 "window" "a single-segment zstd frame declaring 2 GiB of content"
refuse 60 "checksum" "a zstd frame whose content checksum is wrong"
refuse 47 "signed tar size" "a stream shorter than the signed tar="
refuse 48 "longer than the signed tar size" "a stream longer than the signed tar="
refuse 49 "trailing|after the (zstd )?frame" "trailing garbage after the zstd frame"
refuse 50 "zstd" "a signed file that is not zstd"

# ---- a directory given empty stays as it was ----------------------------
mkdir kept
fails 3 "unpack into an existing empty directory refuses a bad blob after a good one" \
	"$SPOOLCTL" --root "$T/high" unpack c63.batch kept
is "$(ls -A kept)" "" "and leaves that directory empty"
