#!/bin/sh
# spoold as a service user with a sticky (1777) hot folder (issue 14,
# items 10 and 13): a directory another user drops there cannot be moved
# (EACCES); it is refused where it is with its .error.json, said once,
# and the files after it in the folder are still taken.  A service user
# cannot chown: each user's results are given to them by an ACL entry.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
plan 14

if [ "$(id -u)" -ne 0 ]; then
	for i in $(seq 1 14); do echo "ok $i # SKIP needs root (setpriv)"; done
	exit 0
fi
as() { u=$1; shift; setpriv --reuid="$u" --regid="$(id -g "$u")" --clear-groups "$@"; }
chmod 755 "$T"
pair low high
for n in low high; do set_conf $n batch heartbeat 0; done
chown -R nobody:"$(id -gn nobody)" "$T/low"
chmod 1777 "$T/low/in/files"
# low runs as nobody
setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups \
    "$SPOOLD" -c "$T/low/spoold.conf" --foreground 2>> "$T/low.log" &
_pid_low=$!
_pids="$_pids $!"
wait_for "low ready" 20 grep -q event=ready "$T/low.log"
start high
taken() { grep -q "event=accepted .*name=$1 " "$T/low.log"; }

# a directory of bin's between two of bin's files
echo one | as bin tee "$T/low/in/files/one.txt" > /dev/null
as bin mkdir "$T/low/in/files/adir"
echo x | as bin tee "$T/low/in/files/adir/inside" > /dev/null
echo two | as bin tee "$T/low/in/files/two.txt" > /dev/null
eval "kill -HUP \$_pid_low" # a full scan of the folder, in readdir order
ok "the directory is refused where it is" wait_for "adir" 20 test -e "$T/low/rejected/adir.error.json"
like "$(jq -r .reason "$T/low/rejected/adir.error.json")" "cannot move it out of the hot folder .*directory" "saying why"
ok "it stays in in/" test -d "$T/low/in/files/adir"
ok "the files around it are taken" wait_for "both" 20 sh -c "grep -q 'name=one.txt ' '$T/low.log' && grep -q 'name=two.txt ' '$T/low.log'"
eval "kill -HUP \$_pid_low"
wait_for "second reload" 10 sh -c "[ \$(grep -c event=reloaded '$T/low.log') -ge 2 ]"
echo three | as bin tee "$T/low/in/files/three.txt" > /dev/null
ok "later files are taken" wait_for "three" 20 taken three.txt
is "$(ls "$T/low/rejected" | grep -c '^adir')" 1 "one .error.json, not one per scan"
is "$(grep -c 'name=adir' "$T/low.log")" 1 "said once in the log"
ok "status answers" timeout 1 "$SPOOLCTL" --root "$T/low" status

# bin's results: readable by bin through an ACL entry, not by others
ok "flush" "$SPOOLCTL" --root "$T/low" flush
carry low high
ok "high delivers" wait_for "delivered" 20 test -f "$T/high/delivered/low/three.txt"
# its answers are queued after the file is in place; flush after them
wait_for "answered" 20 sh -c "[ \$(grep -c event=answered '$T/high.log') -eq 3 ]"
"$SPOOLCTL" --root "$T/high" flush > /dev/null
carry high low
ok "the answers come back" wait_for "result" 20 test -f "$T/low/results/by-name/bin/files/one.txt/receipt.json"
r=$(readlink -f "$T/low/results/by-name/bin/files/one.txt")
is "$(stat -c '%U %a' "$r")" "nobody 750" "the result folder stays the service user's"
ok "bin reads its result (ACL)" as bin cat "$r/receipt.json"
fails 1 "daemon does not" as daemon cat "$r/receipt.json"
