#!/bin/sh
# A daemon that says when it failed (issue 11, point 5): spoold without
# --foreground returns only once the daemon is ready (exit 0) or has
# failed (exit 1, the reason on stderr); spoolctl status says whether
# spoold runs and since when, and marks what it read from
# status/summary.json as stale when it does not.
. "$(dirname "$0")/lib.sh"
plan 16
SPOOLD="$SPOOL_BUILD/spoold"
pids=""
trap 'for p in $pids; do kill -9 $p 2> /dev/null; done; rm -rf "$T"' EXIT

node low high
C="$T/low/spoold.conf"
ok "spoold detaches once ready (exit 0)" "$SPOOLD" -c "$C"
j=$("$SPOOLCTL" --root "$T/low" status --json)
pid=$(printf '%s' "$j" | jq -r .spoold.pid)
pids="$pids $pid"
is "$(printf '%s' "$j" | jq -r .spoold.running)" true "status --json: spoold runs"
ok "... and it is the daemon's pid" kill -0 "$pid"
like "$(printf '%s' "$j" | jq -r .spoold.since)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "... since when"
like "$("$SPOOLCTL" --root "$T/low" status)" "spoold: running since .* \(pid $pid\)" \
    "status says it runs, since when, and its pid"
grep -q 'event=ready' "$T/low/spoold.log"
ok "it logs to spoold.log" grep -q 'event=ready' "$T/low/spoold.log"

# the node is locked by the running daemon
fails 1 "a second spoold on the same node exits 1" "$SPOOLD" -c "$C"
like "$(cat "$T/.err")" "^spoold: the node is in use by process $pid$" \
    "... saying why on stderr"

# clean stop: not running, the summary's facts are stale
kill -TERM "$pid"
while kill -0 "$pid" 2> /dev/null; do sleep 0.1; done
like "$("$SPOOLCTL" --root "$T/low" status)" "spoold: not running" "stopped: status says so"
like "$("$SPOOLCTL" --root "$T/low" status)" "intake: ok \(stale: spoold is not running; as of " \
    "what it read from summary.json is marked stale"
is "$("$SPOOLCTL" --root "$T/low" status --json | jq -c '[.spoold.running, .stale.keys]')" \
    '[false,["intake"]]' "status --json: not running, stale keys"

# killed: the kernel drops its locks; not running either
"$SPOOLD" -c "$C"
pid=$("$SPOOLCTL" --root "$T/low" status --json | jq -r .spoold.pid)
pids="$pids $pid"
kill -9 "$pid"
while kill -0 "$pid" 2> /dev/null; do sleep 0.1; done
is "$("$SPOOLCTL" --root "$T/low" status --json | jq .spoold.running)" false \
    "a killed spoold is not running"

# start-up failures after the configuration is read
chmod 644 "$T/low/keys/node.key"
fails 1 "a secret key readable by others: spoold exits 1" "$SPOOLD" -c "$C"
like "$(cat "$T/.err")" "^spoold: .*node.key" "... naming the key on stderr"
chmod 600 "$T/low/keys/node.key"
sed -i "s/^\\[batch\\]$/[batch]\\nmax_age = soon/" "$C"
fails 1 "a bad configuration: spoold exits 1" "$SPOOLD" -c "$C"
like "$(cat "$T/.err")" "spoold.conf:[0-9]+: .*max_age" "... naming file, line and key"
