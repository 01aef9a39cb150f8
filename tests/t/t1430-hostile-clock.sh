#!/bin/sh
# A wall clock that steps (issue 14, item 14): NTP corrects it by an
# hour, a VM is restored.  Both daemons run with their wall clock moved
# by an LD_PRELOAD shim (build/clockshift.so); the schedule (a batch's
# max_age, a task's retry, the heartbeat) runs on the monotonic clock,
# so a step either way changes nothing but the timestamps.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
plan 10

SHIM="$SPOOL_BUILD/clockshift.so"
# a sanitizer's runtime wants to be first; the shim only wraps libc calls
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
step() { printf '%-20s' "$2" | dd of="$T/$1.shift" conv=notrunc 2> /dev/null; }
pair low high
set_conf low batch max_age 3s
set_conf low batch heartbeat 10m
set_conf high batch heartbeat 0
for n in low high; do printf '0' > "$T/$n.shift"; done
SPOOL_CLOCKSHIFT="$T/low.shift" LD_PRELOAD="$SHIM" start low
SPOOL_CLOCKSHIFT="$T/high.shift" LD_PRELOAD="$SHIM" start high
printf 3600000 > "$T/x.shift"
ok "the shim moves the clock" test "$(SPOOL_CLOCKSHIFT="$T/x.shift" LD_PRELOAD="$SHIM" date +%s)" -gt $(($(date +%s) + 3000))

# max_age: a pending batch is due 3 s after its file, an hour back or not
echo a > "$T/low/in/files/a.txt"
wait_for "taken" 10 grep -q 'event=accepted .*name=a.txt' "$T/low.log"
eval "kill -HUP \$_pid_low" # the batcher looks now: due in 3 s
wait_for "reloaded" 10 grep -q event=reloaded "$T/low.log"
step low -3600000
t0=$(date +%s)
ok "the batch is written after max_age, not an hour later" wait_for "batch" 15 sh -c "ls '$T/low/out' | grep -q minisig"
diag "written $(($(date +%s) - t0))s after the step"

# a task retry due in a second: high's clock steps back an hour
mkdir -p "$T/high/delivered"
: > "$T/high/delivered/low"
carry low high
ok "the delivery fails (delivered/low is a file)" wait_for "fail" 20 grep -q 'event=task-failed' "$T/high.log"
step high -3600000
rm -f "$T/high/delivered/low"
t0=$(date +%s)
ok "the retry runs within seconds, not an hour" wait_for "retry" 20 test -f "$T/high/delivered/low/a.txt"
diag "retried $(($(date +%s) - t0))s after the step"
ok "status answers" timeout 1 "$SPOOLCTL" --root "$T/high" status

# forward: an hour ahead moves no heartbeat (10m) and no max_age (10s
# here: the checks below must come before it on a slow machine too)
sed -i "s/^max_age = 3s\$/max_age = 10s/" "$T/low/spoold.conf"
eval "kill -HUP \$_pid_low"
wait_for "reloaded again" 10 sh -c "[ \$(grep -c event=reloaded '$T/low.log') -ge 2 ]"
n0=$(ls "$T/low/archive/sent" | grep -c 'minisig$')
step low 3600000
tb0=$(date +%s)
echo b > "$T/low/in/files/b.txt"
wait_for "b taken" 10 grep -q 'event=accepted .*name=b.txt' "$T/low.log"
tb1=$(date +%s)
eval "kill -HUP \$_pid_low"
wait_for "reloaded a third time" 10 sh -c "[ \$(grep -c event=reloaded '$T/low.log') -ge 3 ]"
sleep 1
is "$(ls "$T/low/archive/sent" | grep -c 'minisig$')" "$n0" "no heartbeat, no early batch after an hour's step forward"
ok "b's batch after its max_age" wait_for "b batch" 30 sh -c "[ \$(ls '$T/low/archive/sent' | grep -c 'minisig\$') -gt $n0 ]"
# an hour ahead of when it was taken (not of now: the hour may turn
# between the two)
c=$("$SPOOLCTL" --root "$T/low" requests --json | jq -r '.requests[] | select(.name == "b.txt") | .created')
cs=$(date -d "$c" +%s 2> /dev/null || echo 0)
ok "b's facts are in the stepped hour ($c)" test "$cs" -ge $((tb0 + 3600 - 2)) -a "$cs" -le $((tb1 + 3600 + 2))
ok "low still runs" alive low
ok "high still runs" alive high
