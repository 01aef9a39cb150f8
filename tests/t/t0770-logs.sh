#!/bin/sh
# spoold's log as an administrator reads it: every line carries level=
# (err warning notice info debug), by event; [log] level drops the less
# severe; under systemd (JOURNAL_STREAM names stderr) each line starts
# with its syslog priority <N>, so `journalctl -p warning` works; gaps
# are logged as warnings; a detached daemon reopens spoold.log on SIGHUP
# (logrotate).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
plan 31
LEVELS='(err|warning|notice|info|debug)'

pair low high
for n in low high; do set_conf $n batch heartbeat 0; done
start low
echo hello > "$T/low/in/files/a.txt"
ln -s /etc/passwd "$T/low/in/files/link"
mkfifo "$T/low/in/files/fifo"
ok "low takes a.txt" wait_for accepted 20 grep -q event=accepted "$T/low.log"
"$SPOOLCTL" --root "$T/low" flush > /dev/null
ok "and refuses the link and the FIFO (at its rescan: flush)" \
    wait_for rejected 20 sh -c "[ \$(grep -c event=rejected '$T/low.log') -eq 2 ]"
stop low
diag "$(wc -l < "$T/low.log") lines, e.g.: $(grep event=rejected "$T/low.log" | head -n 1)"
is "$(grep -Evc "^time=[0-9TZ:.-]+ level=$LEVELS node=low event=[a-z-]+( |\$)" "$T/low.log")" 0 \
    "every line: time=, level=, node=, event=, in that order"
lv() { sed -n "s/.* level=\\([a-z]*\\) node=[a-z0-9]* event=$1\\( .*\\)\\{0,1\\}\$/\\1/p" "$T/low.log" | sort -u | tr '\n' ' '; }
is "$(lv starting)" "notice " "starting: notice"
is "$(lv ready)" "notice " "ready: notice"
is "$(lv accepted)" "info " "accepted: info"
is "$(lv batch-written)" "info " "batch-written: info"
is "$(lv rejected)" "warning " "rejected: warning"
is "$(lv stopping)" "notice " "stopping: notice"
like "$(grep event=rejected "$T/low.log" | sed -n 's/.* code=\([a-z-]*\) .*/\1/p' | sort | tr '\n' ' ')" \
    "^special symlink \$" "refusals carry their code"
is "$(jq -r .code "$T/low/rejected/link.error.json")" symlink "(as does NAME.error.json)"

# a gap: high gets seqs 1 and 3 of low's
for i in 2 3; do
	echo "$i" > "$T/f$i"
	"$SPOOLCTL" --root "$T/low" pack --to high -o "$T/x$i.batch" "$T/f$i" > /dev/null
done
rm "$T/low/out/"*
cp "$T/low/archive/sent/low-high-0000000001.batch"* "$T/high/import/"
cp "$T/low/archive/sent/low-high-0000000003.batch"* "$T/high/import/"
start high
ok "high imports seqs 1 and 3" wait_for imports 20 \
    sh -c "[ \$(grep -c event=imported '$T/high.log') -eq 2 ]"
wait_for "the gap line" 10 grep -q event=gap "$T/high.log"
like "$(grep event=gap "$T/high.log" | tail -n 1)" \
    "level=warning node=high event=gap peer=low missing=2\$" "the gap is a warning naming the missing seq"
stop high

# [log] level
set_conf high log level warning
: > "$T/high.log"
start_quiet() {
	"$SPOOLD" -c "$T/$1/spoold.conf" --foreground 2>> "$T/$1.log" &
	eval "_pid_$1=$!"
	_pids="$_pids $!"
}
start_quiet high
# nothing tells when it is ready (notice is not logged): its socket does
wait_for "high's socket" 20 test -S "$T/high/store/spoold.sock"
ln -s /etc/hosts "$T/high/in/files/l2"
"$SPOOLCTL" --root "$T/high" flush > /dev/null 2>&1
ok "[log] level = warning: the refusal is logged" wait_for rejected 20 \
    grep -q event=rejected "$T/high.log"
stop high
is "$(grep -Ev 'level=(err|warning) ' "$T/high.log")" "" "and nothing less severe (no starting, ready, stopping)"
sed -i 's/^level = warning$/level = loud/' "$T/high/spoold.conf"
fails 1 "a level that is not one is a configuration error" "$SPOOLCTL" --root "$T/high" config check
like "$(cat "$T/.err")" "\\[log\\] key 'level'" "naming the key"
sed -i '/^level = loud$/d' "$T/high/spoold.conf"

# under systemd: JOURNAL_STREAM=dev:ino of stderr
: > "$T/j.log"
js=$(stat -c '%d:%i' "$T/j.log")
JOURNAL_STREAM=$js "$SPOOLD" -c "$T/low/spoold.conf" --foreground 2>> "$T/j.log" &
jp=$!
wait_for ready 20 grep -q event=ready "$T/j.log"
ln -s /etc/hosts "$T/low/in/files/l3"
JOURNAL_STREAM=$js "$SPOOLCTL" --root "$T/low" flush > /dev/null 2>&1
wait_for rejected 20 grep -q event=rejected "$T/j.log"
kill -TERM $jp; wait $jp
diag "e.g.: $(head -n 1 "$T/j.log")"
bad=$(awk '{
	if (!match($0, /^<[0-9]>/)) { print "no prefix: " $0; next }
	n = substr($0, 2, 1); l = $0; sub(/.* level=/, "", l); sub(/ .*/, "", l)
	want = (l == "err") ? 3 : (l == "warning") ? 4 : (l == "notice") ? 5 : (l == "info") ? 6 : 7
	if (n != want) print "<" n "> for " l
}' "$T/j.log")
is "$bad" "" "every line starts with its priority: <3> err ... <7> debug"
like "$(grep '^<[0-4]>' "$T/j.log" | sed 's/.* event=\([a-z-]*\).*/\1/' | sort -u | tr '\n' ' ')" \
    "^rejected \$" "what journalctl -p warning would show: the refusal only"
ok "the journal's lines are the log's lines with a prefix" \
    sh -c "sed 's/^<[0-9]>//' '$T/j.log' | grep -Eq '^time=[^ ]+ level=$LEVELS node=low '"
ln -s /etc/hosts "$T/low/in/files/l4"
JOURNAL_STREAM=1:1 "$SPOOLCTL" --root "$T/low" flush 2> "$T/nj.log" > /dev/null
like "$(cat "$T/nj.log")" "^time=" "a JOURNAL_STREAM that is not stderr: no prefix"
echo "[node" > "$T/bad.conf"
: > "$T/j2.log"
JOURNAL_STREAM=$(stat -c '%d:%i' "$T/j2.log") "$SPOOLD" -c "$T/bad.conf" --foreground 2>> "$T/j2.log"
like "$(head -n 1 "$T/j2.log")" "^<3>spoold: .*bad.conf" "a start that fails: <3>spoold: why"

# detached (no systemd): spoold.log, reopened on SIGHUP
"$SPOOLD" -c "$T/low/spoold.conf"
ok "a detached daemon logs to ROOT/spoold.log" wait_for ready 20 grep -q event=ready "$T/low/spoold.log"
pid=$(head -n 1 "$T/low/store/lock")
_pids="$_pids $pid"
mv "$T/low/spoold.log" "$T/low/spoold.log.1"
kill -HUP "$pid"
ok "after logrotate moved it and sent SIGHUP, a new spoold.log" \
    wait_for reopened 20 grep -q event=log-reopened "$T/low/spoold.log"
like "$(grep event=log-reopened "$T/low/spoold.log")" "level=notice" "(log-reopened: notice)"
ln -s /etc/hosts "$T/low/in/files/l5"
"$SPOOLCTL" --root "$T/low" flush > /dev/null 2>&1
wait_for rejected 20 grep -q "name=l5" "$T/low/spoold.log"
is "$(grep -c 'name=l5' "$T/low/spoold.log.1")" 0 "new lines go to the new file only"
kill -TERM "$pid"
ok "it stops" wait_for stopped 20 grep -q event=stopping "$T/low/spoold.log"

# a worker's stderr goes into the log as lines of its own, with a level:
# a stand-in selftest program beside a copy of spoold (where spoold looks
# first) that says two things and exits
mkdir -p "$T/bin/libexec/spool"
cp "$SPOOLD" "$T/bin/spoold"
# (and, as one that parses hostile files could be made to, tries to
# pass off lines of its own as the daemon's or another worker's)
cat > "$T/bin/libexec/spool/selftest" << 'EOS'
#!/bin/sh
echo "event=selftest_said level=warning msg=hello" >&2
echo "just words" >&2
echo "event=delivered request=r1 path=delivered/low/forged size=1" >&2
echo "event=raster_done task=t1" >&2
echo "event=selftest_said kind=raster pid=1" >&2
printf 'event=selftest_said msg="a\033[2Jb"\n' >&2
# a line cut at 1 KiB: what follows the cut is not a line of its own
printf 'event=selftest_said msg="%0998devent=selftest_forged batch=forged\n' 0 >&2
exit 3
EOS
chmod 755 "$T" "$T/bin" "$T/bin/libexec" "$T/bin/libexec/spool" "$T/bin/libexec/spool/selftest"
printf '\n[workers.selftest]\ncount = 1\n' >> "$T/high/spoold.conf"
sed -i '/^level = warning$/d' "$T/high/spoold.conf"
: > "$T/w.log"
"$T/bin/spoold" -c "$T/high/spoold.conf" --foreground 2>> "$T/w.log" &
wp=$!
ok "the worker's words reach the log" wait_for "worker lines" 20 grep -q "text=\"just words\"" "$T/w.log"
wait_for "its last line" 20 grep -q 'selftest_forged' "$T/w.log"
kill -TERM $wp; wait $wp
like "$(grep 'msg=hello' "$T/w.log" | head -n 1)" \
    "^time=[^ ]+ level=warning node=high event=selftest_said msg=hello kind=selftest pid=[0-9]+\$" \
    "an event line of its own keeps its event and its level, with the worker's kind and pid"
is "$(grep -Ec 'node=high event=(delivered|raster_done|selftest_forged)' "$T/w.log")/$(grep -c 'event=worker-said .*path=delivered/low/forged' "$T/w.log" | sed 's/^[1-9][0-9]*$/y/')/$(grep -c 'event=worker-said .*selftest_forged batch=forged' "$T/w.log" | sed 's/^[1-9][0-9]*$/y/')" 0/y/y \
    "the daemon's events, another worker's, and what follows a cut are its words, never events"
is "$(grep -c 'node=high event=selftest_said kind=raster' "$T/w.log")/$(grep -c "$(printf '\033')" "$T/w.log")" 0/0 \
    "a key the log adds, or a control byte, makes a line words too"
like "$(grep 'just words' "$T/w.log" | head -n 1)" \
    "^time=[^ ]+ level=info node=high event=worker-said kind=selftest pid=[0-9]+ text=\"just words\"\$" \
    "anything else is event=worker-said text=..."
is "$(grep -Evc "^time=[0-9TZ:.-]+ level=$LEVELS node=high event=" "$T/w.log")" 0 \
    "no line without its level"
