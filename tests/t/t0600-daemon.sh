#!/bin/sh
# Two real daemons: files dropped on low come back as results; JSON
# requests of a type high does not run yet come back failed with the
# reason; status files agree with the store.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
plan 25

pair low high
for n in low high; do set_conf $n batch heartbeat 0; done
start low
start high

# 20 files: sizes from empty to 3 MiB, names with spaces and UTF-8
mkdir "$T/src"
i=0
for name in "a b.txt" "café.txt" "名前 データ.bin" "empty" "x" \
    "report (final).pdf" "dem.tif" "roads.gpkg" "über.csv" "ñ.json" \
    "f11" "f12" "f13" "f14" "f15" "f16" "f17" "f18" "f19" "f20"; do
	i=$((i + 1))
	case $i in
	4) : > "$T/src/$name" ;;
	5) printf y > "$T/src/$name" ;;
	7) head -c 3145728 /dev/urandom > "$T/src/$name" ;;
	*) head -c $((i * 4099)) /dev/urandom > "$T/src/$name" ;;
	esac
	cp "$T/src/$name" "$T/low/in/files/.$name.part"
	mv "$T/low/in/files/.$name.part" "$T/low/in/files/$name"
done
printf '{"type":"query","params":{"source":"roads","limit":5}}' \
    > "$T/low/in/requests/q1.json"
printf '{"type":"selftest","priority":5,"params":{"stages":99}}' \
    > "$T/low/in/requests/r1.json"

ok "low accepts all 22" wait_for "22 accepted" 20 \
    sh -c "[ \$(grep -c event=accepted '$T/low.log') -eq 22 ]"
ok "hot folder is empty once taken" \
    sh -c "[ -z \"\$(ls -A '$T/low/in/files')\" ]"
ok "the taken files leave the store once intake is quiet" wait_for "reaped" 10 \
    sh -c "[ -z \"\$(find '$T/low/store/intake' '$T/low/store/reap' -type f)\" ]"
ok "flush" "$SPOOLCTL" --root "$T/low" flush
is "$(ls "$T/low/out" | grep -c 'minisig$')" 1 "one signed batch in out/"
ok "the batch verifies with minisign" \
    minisign -Vm "$T/low/out/low-high-0000000001.batch" -p "$T/low.pub"
is "$("$SPOOLCTL" --root "$T/low" requests --json | jq -r '[.requests[].state] | unique | join(",")')" \
    batched "requests are batched"

carry low high
ok "high imports and answers all 22" wait_for "22 answered" 30 \
    sh -c "[ \$(grep -c event=answered '$T/high.log') -eq 22 ]"
bad=0
for f in "$T/src"/*; do
	cmp -s "$f" "$T/high/delivered/low/$(basename "$f")" || bad=$((bad + 1))
done
is "$bad" 0 "every delivery on high is byte-identical"
ok "high flushes its results" "$SPOOLCTL" --root "$T/high" flush
carry high low
ok "low gets every result" wait_for "22 results" 30 \
    sh -c "[ \$(grep -c event=result '$T/low.log') -eq 22 ]"

# status files follow their step within a moment
wait_for "status files" 5 sh -c "[ \$(jq .completed '$T/low/status/summary.json') -eq 20 ]"
j=$("$SPOOLCTL" --root "$T/low" requests --json)
is "$(printf '%s' "$j" | jq '[.requests[] | select(.state == "completed")] | length')" 20 \
    "20 requests completed"
is "$(printf '%s' "$j" | jq '[.requests[] | select(.state == "failed")] | length')" 2 \
    "the 2 requests high cannot run failed"
is "$(jq -r .status "$T/low/results/by-name/$(id -un)/files/名前 データ.bin/result.json")" \
    succeeded "a result is found by its file name"
like "$(jq -r .error "$T/low/results/by-name/$(id -un)/requests/q1.json/result.json")" \
    "unknown source 'roads' \\(no sources are configured here\\)" \
    "the failure says why"
is "$(jq -r .status "$T/low/results/by-name/$(id -un)/requests/r1.json/result.json")" \
    failed "the selftest that plans no job failed too"
like "$(jq -r .delivered "$T/low/results/by-name/$(id -un)/files/a b.txt/receipt.json")" \
    "^delivered/low/a b.txt$" "the receipt says where the file went"

# status files agree with the store
bad=0
for id in $(printf '%s' "$j" | jq -r '.requests[].id'); do
	want=$(printf '%s' "$j" | jq -r --arg id "$id" '.requests[] | select(.id == $id) | .state')
	got=$(jq -r .state "$T/low/status/$id.json")
	[ "$want" = "$got" ] || bad=$((bad + 1))
done
is "$bad" 0 "status/<id>.json of every request says its state"
st=$("$SPOOLCTL" --root "$T/low" status --json)
is "$(printf '%s' "$st" | jq -c '[.completed, .failed, .pending]')" "[20,2,0]" \
    "status --json counts by state"
is "$(jq -c '[.completed, .failed, .pending]' "$T/low/status/summary.json")" "[20,2,0]" \
    "status/summary.json says the same"
is "$(printf '%s' "$st" | jq -c '.peers.high.missing')" "[]" "no gaps"
# acks ride in the next batch low sends
echo late > "$T/low/in/files/late.txt"
wait_for "late taken" 10 sh -c "[ \$(grep -c event=accepted '$T/low.log') -eq 23 ]"
"$SPOOLCTL" --root "$T/low" flush
carry low high
wait_for "second batch imported" 10 grep -q 'seq=2 items=1 acked=1' "$T/high.log"
is "$("$SPOOLCTL" --root "$T/high" batches --json | jq -r '[.batches[] | select(.dir == "out") | .state] | join(",")')" \
    acknowledged "low's next batch acknowledged high's"
is "$("$SPOOLCTL" --root "$T/low" status --json | jq -r '.peers.high.received_up_to')" 1 \
    "low received high's batch 1"

h=$(b2sum -l 256 "$T/src/café.txt" | cut -d' ' -f1)
out=$("$SPOOLCTL" --root "$T/low" lineage "$h" --down)
like "$out" "delivered" "lineage from the file reaches its delivery on high"
ok "both daemons still run" sh -c "kill -0 $_pid_low && kill -0 $_pid_high"
