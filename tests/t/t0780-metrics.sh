#!/bin/sh
# status/metrics.prom, as Prometheus' textfile collector reads it: two
# daemons carry files (and refuse some), and on both sides the file
# passes `promtool check metrics` (Debian's prometheus package) and says
# what status/summary.json and the store say: requests by state, batches
# per peer and direction, gaps, bytes, queue depth and task durations per
# kind, refusals by reason, disk free.  It is replaced atomically.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
plan 27
ok "promtool is installed" command -v promtool

pair low high
for n in low high; do set_conf $n batch heartbeat 0; done
start low
start high
for i in 1 2 3; do head -c $((i * 1000)) /dev/urandom > "$T/low/in/files/f$i"; done
ln -s /etc/passwd "$T/low/in/files/link"
echo x > "$T/hl"
ln "$T/hl" "$T/low/in/files/hard"
ok "low takes three files" wait_for accepted 20 \
    sh -c "[ \$(grep -c event=accepted '$T/low.log') -eq 3 ]"
"$SPOOLCTL" --root "$T/low" flush > /dev/null
carry low high
ok "high answers them" wait_for answered 30 \
    sh -c "[ \$(grep -c event=answered '$T/high.log') -eq 3 ]"
"$SPOOLCTL" --root "$T/high" flush > /dev/null
carry high low
ok "low gets the results" wait_for results 30 \
    sh -c "[ \$(grep -c event=result '$T/low.log') -eq 3 ]"
L="$T/low/status/metrics.prom" H="$T/high/status/metrics.prom"
# the status files follow their step within a moment
wait_for "status files" 10 sh -c "grep -q '^spool_requests{side=\"submit\",state=\"completed\"} 3\$' '$L' &&
    grep -q '^spool_requests{side=\"process\",state=\"succeeded\"} 3\$' '$H'"
ok "promtool check metrics: low's" sh -c "promtool check metrics < '$L'"
ok "promtool check metrics: high's" sh -c "promtool check metrics < '$H'"
# m FILE 'NAME{LABELS}': the sample's value
m() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
is "$(m "$L" 'spool_requests{side="submit",state="completed"}')" 3 "low: 3 requests completed"
is "$(m "$L" 'spool_requests{side="submit",state="completed"}')" \
    "$(jq '.requests.submit.completed' "$T/low/status/summary.json")" "as summary.json says"
is "$(m "$H" 'spool_requests{side="process",state="succeeded"}')" 3 "high: 3 processed"
is "$(m "$L" 'spool_batches{direction="out",peer="high",state="acknowledged"}')$(m "$L" 'spool_batches{direction="out",peer="high",state="written"}')" \
    1 "low: one batch out to high"
is "$(m "$H" 'spool_batches{direction="in",peer="low",state="received"}')" 1 "high: one batch in from low"
is "$(m "$H" 'spool_batch_payload_bytes{direction="in",peer="low",state="received"}')" 6000 \
    "its payload bytes (1000 + 2000 + 3000)"
is "$(m "$L" 'spool_batch_seq{direction="out",peer="high"}')" 1 "low's highest seq to high"
is "$(m "$H" 'spool_batch_gaps{peer="low"}')" 0 "no gap"
is "$(m "$L" 'spool_intake_refused_total{reason="symlink"}') $(m "$L" 'spool_intake_refused_total{reason="hard-link"}') $(m "$L" 'spool_intake_refused_total{reason="schema"}')" \
    "1 1 0" "refusals by reason: a symlink, a hard link, no schema errors"
is "$(m "$L" spool_rejected_files)" 2 "two files wait in rejected/"
is "$(m "$H" 'spool_task_duration_seconds_count{kind="transfer"}')" 3 \
    "high: three transfer tasks in the duration histogram"
is "$(m "$H" 'spool_task_duration_seconds_bucket{kind="transfer",le="+Inf"}')" 3 "(+Inf bucket = count)"
is "$(m "$H" 'spool_tasks{kind="transfer",state="done"}')" 3 "tasks by kind and state"
like "$(m "$L" spool_disk_free_bytes)" '^[1-9][0-9]*$' "disk free"
is "$(ls -A "$T/low/status" | grep -c '^\.')" 0 "no temporary file left beside it (written by rename)"

# a gap and a queue, seen in the metrics
stop high
for i in 4 5; do
	echo "$i" > "$T/g$i"
	"$SPOOLCTL" --root "$T/low" pack --to high -o "$T/p$i.batch" "$T/g$i" > /dev/null
done
cp "$T/low/archive/sent/low-high-0000000003.batch"* "$T/high/import/"
start high
ok "high takes seq 3" wait_for seq3 20 grep -q "event=imported .*seq=3 " "$T/high.log"
wait_for "the gap in the metrics" 10 grep -q '^spool_batch_gaps{peer="low"} 1$' "$H"
is "$(m "$H" 'spool_batch_gaps{peer="low"}')" 1 "seq 2 missing: a gap of 1"
ok "still valid for promtool" sh -c "promtool check metrics < '$H'"
stop high
"$SPOOL_BUILD/spoolsim" job --node "$T/high/spoold.conf" > /dev/null
"$SPOOLCTL" --root "$T/high" flush > /dev/null 2>&1
is "$(grep -c '^spool_queue_depth{' "$H") $(grep '^spool_queue_depth{' "$H" | cut -d ' ' -f 2)" "1 1" \
    "a task waiting to run: queue depth 1 for its kind ($(grep '^spool_queue_depth{' "$H" | cut -d ' ' -f 1))"

# and promtool does find faults: a counter without _total, a bad line
printf '# HELP spool_x A.\n# TYPE spool_x counter\nspool_x 1\n' > "$T/bad.prom"
fails 3 "promtool finds a lint problem (the check can fail)" sh -c "promtool check metrics < '$T/bad.prom'"
{ cat "$H"; echo 'spool_broken{'; } > "$T/bad2.prom"
fails 1 "and a malformed file" sh -c "promtool check metrics < '$T/bad2.prom'"
