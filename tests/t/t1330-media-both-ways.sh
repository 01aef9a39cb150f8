#!/bin/sh
# A stick used both ways (issue 11, point 3), daemons running, nobody
# flushing: import reads only each pair's bounded .minisig and its
# signed comment before copying anything, and skips (with the reason)
# pairs from this node, to another node, or from a sender it does not
# trust; a forged comment is refused; the medium is left as it was
# unless --remove; export removes from the medium this node's pairs the
# peer has acknowledged; every run says what it did; a terminal shows
# progress; --quiet silences it.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
plan 28

pair low high
for n in low high; do
	set_conf $n batch heartbeat 0
	set_conf $n batch max_age 1s
done
start low
start high
U="$T/usb"
mkdir "$U"
LOW="$SPOOLCTL --root $T/low"
HIGH="$SPOOLCTL --root $T/high"

# each side has a batch for the other; both go on one stick
echo "from low" > "$T/low/in/files/a.txt"
echo "from high" > "$T/high/in/files/b.txt"
ok "low batches on its own" wait_for "low batch" 20 test -e "$T/low/out/low-high-0000000001.batch.minisig"
ok "high too" wait_for "high batch" 20 test -e "$T/high/out/high-low-0000000001.batch.minisig"
ok "low exports" $LOW export --to "$U"
like "$(cat "$T/.out")" "^low-high-0000000001: exported to " "... and says so"
ok "high exports to the same stick" $HIGH export --to "$U"

# a third node high does not trust, and a batch low addressed elsewhere
"$SPOOLCTL" init --root "$T/evil" --name evil --peer high > /dev/null
"$SPOOLCTL" --root "$T/evil" trust add high "$T/high.pub" > /dev/null
echo evil > "$T/evil.txt"
"$SPOOLCTL" --root "$T/evil" pack --to high -o "$U/evil-high-0000000001.batch" "$T/evil.txt" > /dev/null
"$SPOOLCTL" init --root "$T/other" --name other --peer low > /dev/null
"$SPOOLCTL" --root "$T/other" key show > "$T/other.pub"
$LOW trust add other "$T/other.pub" > /dev/null
$LOW pack --to other -o "$U/low-other-0000000001.batch" "$T/evil.txt" > /dev/null
ls -l --time-style=+%s "$U" > "$T/usb.before"

ok "high imports from the stick" $HIGH import --json --from "$U"
j=$(cat "$T/.out")
is "$(printf '%s' "$j" | jq -r '[.imported[].name] | join(" ")')" low-high-0000000001 \
    "only the pair for high is copied"
is "$(printf '%s' "$j" | jq -r '.skipped[] | select(.name == "high-low-0000000001") | .reason')" \
    "this node's own batch (to 'low')" "its own pair is skipped, with the reason"
is "$(printf '%s' "$j" | jq -r '.skipped[] | select(.name == "low-other-0000000001") | .reason')" \
    "addressed to 'other', this node is 'high'" "a pair for another node is skipped"
is "$(printf '%s' "$j" | jq -r '.skipped[] | select(.name == "evil-high-0000000001") | .reason')" \
    "from 'evil', which this node does not trust" "a pair from an untrusted sender is skipped"
ls -l --time-style=+%s "$U" > "$T/usb.after"
ok "the stick is left as it was" cmp -s "$T/usb.before" "$T/usb.after"
ok "high delivers it, nothing quarantined" wait_for "delivered" 20 \
    sh -c "grep -q 'event=delivered' '$T/high.log' && [ -z \"\$(ls '$T/high/quarantine')\" ]"
is "$($HIGH batches --json | jq -r '[.batches[] | select(.dir == "in") | .name] | join(" ")')" \
    low-high-0000000001.batch "it is the only batch high received"

# a forged signed comment (another seq claimed) is refused, not copied;
# a pair signed by a key that is not the named sender's is skipped
mkdir "$T/u2"
cp "$U/low-high-0000000001.batch" "$T/u2/low-high-0000000009.batch"
sed 's/seq=1 /seq=9 /' "$U/low-high-0000000001.batch.minisig" > "$T/u2/low-high-0000000009.batch.minisig"
"$SPOOLCTL" init --root "$T/fake" --name low --peer high > /dev/null
"$SPOOLCTL" --root "$T/fake" trust add high "$T/high.pub" > /dev/null
"$SPOOLCTL" --root "$T/fake" pack --to high -o "$T/u2/low-high-0000000001.batch" "$T/evil.txt" > /dev/null
fails 1 "a forged signed comment is refused" $HIGH import --json --from "$T/u2"
like "$(cat "$T/.err")" "low-high-0000000009: .*trusted comment signature is invalid" "... saying why"
like "$(jq -r '.skipped[] | select(.name == "low-high-0000000001") | .reason' "$T/.out")" \
    "^signed by key [0-9A-F]+, not by the key of 'low'" "a pair signed by another key is skipped"
is "$(ls "$T/high/import" | grep -c 0000000009)" 0 "nothing of them is copied"

# low takes high's pair with --remove: it leaves the stick
ok "low imports with --remove" $LOW import --remove --from "$U"
like "$(cat "$T/.out")" "high-low-0000000001: imported from .*; removed from the medium" "... and says so"
ok "high's pair is gone from the stick" test ! -e "$U/high-low-0000000001.batch" -a ! -e "$U/high-low-0000000001.batch.minisig"
ok "low's own pair stays" test -e "$U/low-high-0000000001.batch.minisig"

# high answers (its batch carries the ack of low-high-1); once low has it,
# low's export removes low-high-1 from the stick
ok "high answers on its own" wait_for "high batch 2" 20 test -e "$T/high/out/high-low-0000000002.batch.minisig"
$HIGH export --to "$U" > /dev/null
$LOW import --remove --from "$U" > /dev/null
ok "low sees the ack" wait_for "acknowledged" 20 sh -c \
    "$LOW batches --json | jq -e '.batches[] | select(.name == \"low-high-0000000001.batch\" and .state == \"acknowledged\")'"
# low answered high's b.txt when it imported it; that answer is its
# batch 2, due max_age later.  Export after it is written, so that c.txt
# below is alone in batch 3 whatever the machine's speed (the answer
# and c.txt shared a batch only when c.txt came within that second).
wait_for "low batch 2" 20 test -e "$T/low/out/low-high-0000000002.batch.minisig"
ok "low exports" $LOW export --json --to "$U"
is "$(jq -c '.removed' "$T/.out")" \
    '[{"name":"low-high-0000000001","reason":"acknowledged by '"'high'"'"}]' \
    "the acknowledged pair is removed from the stick, with the reason"
ok "it is gone" test ! -e "$U/low-high-0000000001.batch" -a ! -e "$U/low-high-0000000001.batch.minisig"

# progress on a terminal; --quiet says nothing
echo "more" > "$T/low/in/files/c.txt"
wait_for "low batch 3" 20 test -e "$T/low/out/low-high-0000000003.batch.minisig"
script -qec "$LOW export --to $U" /dev/null > "$T/tty.out" 2>&1
like "$(tr '\r' '\n' < "$T/tty.out")" "pair 1 of 1 low-high-0000000003: .* of .*/s" \
    "a terminal shows pair k of n, bytes and rate"
ok "--quiet says nothing" sh -c "[ -z \"\$($LOW export --quiet --to $U)\" ]"
