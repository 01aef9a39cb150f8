#!/bin/sh
# The man pages render without a warning (groff -ww, and man -l as an
# administrator reads them), and the script spool-batch(5) prints under
# "CHECKING A BATCH BY HAND" does what it says: run as printed, it passes
# a real batch and catches tampered ones.
. "$(dirname "$0")/lib.sh"
MAN="$SPOOL_TOP/docs/man"
pages=$(ls "$MAN"/*.[1-8])
plan $(($(echo "$pages" | wc -l) * 3 + 12))

for p in $pages; do
	n=${p##*/}
	groff -ww -z -man "$p" > "$T/.g" 2>&1
	is "$(cat "$T/.g")" "" "$n: groff -ww -z -man says nothing"
	LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings=w -l "$p" > "$T/.m" 2> "$T/.me"
	is "$(cat "$T/.me")" "" "$n: man -l renders it without a warning"
	title=$(sed -n 's/^\.TH \([^ ]*\) \([0-9]\).*/\1(\2)/p' "$p" | sed 's/\\//g')
	like "$(head -n 1 "$T/.m")" "^$(echo "$title" | sed 's/[().]/\\&/g') " \
	    "$n: its header is $title"
done

# the same checks see a page's mistakes: an unknown macro, a bad escape
sed 's/^\.SH DESCRIPTION$/.SH DESCRIPTION\n.Sy oops\nsee \\*(xx here/' "$MAN/spoolctl.1" > "$T/bad.1"
groff -ww -z -man "$T/bad.1" > "$T/.g" 2>&1
like "$(cat "$T/.g")" "warning" "groff -ww reports a page's mistakes ($(grep -c warning "$T/.g") warnings)"

# the script, as the page prints it
groff -man -Tascii -P-cbou "$MAN/spool-batch.5" 2> /dev/null |
    awk '/^CHECKING A BATCH BY HAND/ { f = 1 }
	f && /^       #!\/bin\/sh/ { p = 1 }
	p { print substr($0, 8) }
	p && /^       echo "\$b: ok/ { exit }' > "$T/check-batch.sh"
ok "spool-batch(5) prints a shell script" sh -n "$T/check-batch.sh"
is "$(head -n 1 "$T/check-batch.sh")|$(tail -n 1 "$T/check-batch.sh" | cut -c 1-10)" \
    '#!/bin/sh|echo "$b: ' "from its first line to its last ($(wc -l < "$T/check-batch.sh") lines)"

pair low high
printf 'one\n' > "$T/a.txt"
head -c 100000 /dev/urandom > "$T/b.bin"
cp "$T/a.txt" "$T/c.txt"
"$SPOOLCTL" --root "$T/low" pack --to high -o "$T/low-high-0000000001.batch" \
    "$T/a.txt" "$T/b.bin" "$T/c.txt" > /dev/null
# check B PUB: the script run in a fresh directory
check() {
	rm -rf "$T/w"; mkdir "$T/w"
	(cd "$T/w" && sh "$T/check-batch.sh" "$1" "$2")
}
out=$(check "$T/low-high-0000000001.batch" "$T/low.pub" 2>&1)
is "$out" "$T/low-high-0000000001.batch: ok, 3 items from low" "it passes a batch spool made"
out=$(check "$T/low-high-0000000001.batch" "$T/high.pub" 2>&1)
like "$out" "signature does not verify" "it refuses the wrong key"

# tampered batches, signed for real by low's key (tests/tools/mkbatch.py)
MK="$SPOOL_TOP/tests/tools/mkbatch.py"
mk() {
	n=$1; shift
	python3 "$MK" --key "$T/low/keys/node.key" "$@" "$T/$n" > /dev/null
}
mk low-high-0000000002.batch --spec '{"seq":2,"files":[{"data":"x","member_data":"y"}]}'
out=$(check "$T/low-high-0000000002.batch" "$T/low.pub" 2>&1)
like "$out" "blob [0-9a-f]{64} does not match its hash" "it catches a blob that is not what its name says"
mk low-high-0000000003.batch --spec '{"seq":3,"files":[{"data":"x"}]}' --set comment.tar=10240
out=$(check "$T/low-high-0000000003.batch" "$T/low.pub" 2>&1)
like "$out" "size differs from the signed tar size" "a stream longer or shorter than the signed size"
mk low-high-0000000004.batch --spec '{"seq":4,"files":[{"data":"x"}]}' --set header.items=7
out=$(check "$T/low-high-0000000004.batch" "$T/low.pub" 2>&1)
like "$out" "header differs from the signature" "a manifest header that disagrees with the signed comment"
mk low-high-0000000005.batch --spec '{"seq":5,"files":[{"data":"x"}],"extra_members":[{"name":"../evil","data":"z"}]}'
out=$(check "$T/low-high-0000000005.batch" "$T/low.pub" 2>&1)
like "$out" "unexpected members" "a member that is not manifest.jsonl or a blob"
mk low-high-0000000006.batch --spec '{"seq":6,"files":[{"data":"x"}]}'
mv "$T/low-high-0000000006.batch" "$T/low-high-0000000009.batch"
mv "$T/low-high-0000000006.batch.minisig" "$T/low-high-0000000009.batch.minisig"
out=$(check "$T/low-high-0000000009.batch" "$T/low.pub" 2>&1)
like "$out" "file name differs from the signed one" "a batch renamed to another seq"
# what spoolctl says of the same batches: the script agrees with it
fails 3 "spoolctl verify refuses the bad blob too" \
    "$SPOOLCTL" --root "$T/high" verify "$T/low-high-0000000002.batch"
ok "and passes the good batch" \
    "$SPOOLCTL" --root "$T/high" verify "$T/low-high-0000000001.batch"
