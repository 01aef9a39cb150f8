#!/bin/sh
# spoolctl import --from killed and run again (issue 14, item 16): the
# operator pulls the plug, the laptop sleeps, while high's daemon takes
# the pairs the first run copied.  The rerun completes every time (a
# pair the daemon took or received is skipped with the reason), import/
# never keeps a .minisig without its .batch, and a lone .minisig left
# there by anyone is removed (a pair received before) or quarantined
# with its reason (a pair that never came).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
plan 11
pair low high
start high
U="$T/stick"
mkdir -p "$U"
seq=0
pack() { # pack N: N new batches from low on the stick
	for _k in $(seq "$1"); do
		seq=$((seq + 1))
		echo "file $seq" > "$T/f$seq.txt"
		"$SPOOLCTL" --root "$T/low" pack --to high \
		    -o "$U/low-high-$(printf %010d "$seq").batch" "$T/f$seq.txt" > /dev/null || return 1
	done
}
reruns_ok=0 rounds=10
for r in $(seq "$rounds"); do
	pack 3 || break
	"$SPOOLCTL" --root "$T/high" import --from "$U" > /dev/null 2>&1 &
	p=$!
	sleep "0.$(shuf -i 0-30 -n 1 | xargs printf %02d)"
	kill -9 "$p" 2> /dev/null
	wait "$p" 2> /dev/null
	if "$SPOOLCTL" --root "$T/high" import --from "$U" --json > "$T/rerun.$r.json" 2> "$T/rerun.$r.err"; then
		reruns_ok=$((reruns_ok + 1))
	else
		diag "round $r: $(cat "$T/rerun.$r.err")"
	fi
done
is "$reruns_ok" "$rounds" "every rerun after a kill -9 completes ($rounds rounds)"
all_in() { [ "$(ls "$T/high/delivered/low" 2> /dev/null | wc -l)" -eq "$seq" ]; }
ok "all $seq files are delivered" wait_for "delivered" 60 all_in
ok "import/ is left empty" wait_for "import/ empty" 10 sh -c "test -d '$T/high/import' && [ -z \"\$(ls -A '$T/high/import' | grep -v '^\.')\" ]"
is "$(ls -A "$T/high/quarantine" 2>&1 | wc -l)" 0 "nothing quarantined"
is "$(grep -c 'event=imported' "$T/high.log")" "$seq" "each batch imported once"
# a rerun now: every pair received before, said so
"$SPOOLCTL" --root "$T/high" import --from "$U" --json > "$T/again.json"
is "$(jq -r '[.skipped[].reason] | unique | join(",")' "$T/again.json")" "received before (archive/received)" \
	"a last rerun skips every pair: received before"
is "$(ls -A "$T/high/import" 2>&1 | grep -vc '^\.')" 0 "... copying nothing"

# lone .minisig files in import/, whoever left them
lone_removed() { # cp fails loudly: a missing source must not pass
	cp "$U/low-high-0000000001.batch.minisig" "$T/high/import/" &&
	    wait_for "orphan removed" 10 \
	    sh -c "! test -e '$T/high/import/low-high-0000000001.batch.minisig'"
}
ok "a received pair's lone .minisig is removed at once" lone_removed
# the daemon logs once the unlink is on disk: wait for the line, not the file
ok "... saying why" wait_for "orphan-removed logged" 10 \
	grep -q 'event=orphan-removed name=low-high-0000000001.batch.minisig reason="received before' "$T/high.log"
pack 1
cp "$U/low-high-$(printf %010d "$seq").batch.minisig" "$T/high/import/"
ok "a .minisig whose .batch never came is quarantined" wait_for "quarantined" 30 \
	test -e "$T/high/quarantine/low-high-$(printf %010d "$seq").batch.minisig"
like "$(jq -r .reason "$T/high/quarantine/low-high-$(printf %010d "$seq").reason.json")" \
	"without its .batch" "... with its reason"
