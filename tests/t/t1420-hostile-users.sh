#!/bin/sh
# Local users on the request network (issue 14, items 9, 11, 12, 13):
# files dropped as other users (setpriv) that try to stop intake for
# everyone (a sparse 100G file, a file that does not fit now), flood the
# log (a file held under a lease), lose a refusal (a 250-byte name), or
# read another user's files (results, delivered modes, status files).
# Each file refuses or waits for itself only, says why once, the daemon
# answers within a second, and the files around it go through.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
plan 46

if [ "$(id -u)" -ne 0 ]; then
	for i in $(seq 1 46); do echo "ok $i # SKIP needs root (setpriv, tmpfs)"; done
	exit 0
fi
as() { u=$1; shift; setpriv --reuid="$u" --regid="$(id -g "$u")" --clear-groups "$@"; }
chmod 755 "$T"
# low on a small filesystem of its own
mkdir "$T/low"
mount -t tmpfs -o size=64m tmpfs "$T/low" || { echo "Bail out! cannot mount a tmpfs"; exit 1; }
trap 'for p in $_pids; do kill -TERM "$p" 2>/dev/null; done; wait; sleep 0.5; umount "$T/low" 2>/dev/null || umount -l "$T/low"; [ "${KEEP:-0}" = 1 ] || rm -rf "$T"' EXIT
pair low high
for n in low high; do set_conf $n batch heartbeat 0; done
set_conf low intake max_file_size 20M
sed -i 's/^\[node\]$/[node]\noperators = adm/' "$T/low/spoold.conf"
chmod 1777 "$T/low/in/files"
start low
start high
fast() { timeout 1 "$SPOOLCTL" --root "$T/low" status > /dev/null; }
taken() { grep -q "event=accepted .*name=$1 " "$T/low.log"; }
ej() { jq -r .reason "$T/low/rejected/$1.error.json" 2> /dev/null; }

# ---- item 9: a sparse 100G file costs its owner nothing ----
echo before | as daemon tee "$T/low/in/files/before.txt" > /dev/null
as nobody truncate -s 100G "$T/low/in/files/sparse.bin"
echo after | as daemon tee "$T/low/in/files/after.txt" > /dev/null
ok "the sparse file is refused at once" wait_for "sparse" 5 test -e "$T/low/rejected/sparse.bin.error.json"
like "$(ej sparse.bin)" "is 100.0 GiB, more than the spool filesystem can ever hold" "saying why"
ok "the files around it are taken" wait_for "around" 10 sh -c "grep -q 'name=before.txt' '$T/low.log' && grep -q 'name=after.txt' '$T/low.log'"
is "$(grep -c 'event=disk-full' "$T/low.log")" 0 "no disk-full: nothing was copied"
ok "status answers" fast
# over [intake] max_file_size
as daemon sh -c "head -c 22000000 /dev/zero > '$T/low/in/files/.big' && mv '$T/low/in/files/.big' '$T/low/in/files/big.bin'"
ok "a file over max_file_size is refused" wait_for "max" 5 test -e "$T/low/rejected/big.bin.error.json"
like "$(ej big.bin)" "over \\[intake\\] max_file_size \\(20.0 MiB\\)" "saying why"
rm -f "$T/low/rejected/big.bin"
# a file that does not fit now waits in in/, the others go on
head -c 36000000 /dev/zero > "$T/low/filler"
as daemon sh -c "head -c 15000000 /dev/urandom > '$T/low/in/files/.wait' && mv '$T/low/in/files/.wait' '$T/low/in/files/wait.bin'"
ok "a file that does not fit now is said once" wait_for "waits" 10 grep -q 'event=disk-full .*name=wait.bin' "$T/low.log"
echo small | as bin tee "$T/low/in/files/small.txt" > /dev/null
ok "a small file beside it is taken" wait_for "small" 10 taken small.txt
ok "the big one stays in in/" test -f "$T/low/in/files/wait.bin"
wait_for "paused" 5 sh -c "\"$SPOOLCTL\" --root '$T/low' status | grep -q 'intake: paused'"
like "$("$SPOOLCTL" --root "$T/low" status)" "intake: paused" "status says intake waits"
sleep 6
is "$(grep -c 'name=wait.bin' "$T/low.log")" 1 "said once, not at every retry"
rm "$T/low/filler"
ok "it is taken when room returns" wait_for "room" 20 taken wait.bin

# ---- item 11: a file held under a write lease ----
echo leased | as nobody tee "$T/low/in/files/.leased" > /dev/null
setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups /usr/bin/python3 -c '
import fcntl, os, signal, sys, time
signal.signal(signal.SIGIO, signal.SIG_IGN)
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.fcntl(fd, 1024, fcntl.F_WRLCK)
os.rename(sys.argv[1], sys.argv[2])
time.sleep(120)' "$T/low/in/files/.leased" "$T/low/in/files/leased.txt" &
holder=$!
ok "the leased file is said once" wait_for "busy" 10 grep -q 'event=busy .*name=leased.txt' "$T/low.log"
echo next | as bin tee "$T/low/in/files/next.txt" > /dev/null
ok "a file after it is taken" wait_for "next" 10 taken next.txt
sleep 8
n=$(grep -c 'name=leased.txt' "$T/low.log")
ok "no flood: $n log lines about it in 8 seconds" test "$n" -le 2
ok "status answers" fast
kill "$holder"; wait "$holder" 2> /dev/null
ok "taken once its holder lets go" wait_for "leased" 40 taken leased.txt

# ---- item 12: names of 250 bytes everywhere ----
long=$(python3 -c 'print("f" * 246 + ".txt")')
fifo=$(python3 -c 'print("p" * 250)')
as nobody sh -c "mkfifo '$T/low/in/files/.fifo' && mv '$T/low/in/files/.fifo' '$T/low/in/files/$fifo'"
ok "a FIFO with a 250-byte name is rejected" wait_for "fifo" 10 sh -c "ls '$T/low/rejected' | grep -q '^ppp.*error.json$'"
j=$(ls "$T/low/rejected" | grep '^ppp.*error.json$')
is "$(jq -r .name "$T/low/rejected/$j")" "$fifo" "its .error.json names it in full"
like "$(jq -r .reason "$T/low/rejected/$j")" "FIFO" "and says why"
ok "the FIFO itself is beside it" test -p "$T/low/rejected/${j%.error.json}"
echo "long name" | as daemon tee "$T/low/in/files/$long" > /dev/null
ok "a 250-byte file name is taken" wait_for "long" 10 taken "$long"

# ---- item 13: each user's results are theirs ----
printf "alice's\n" | as daemon sh -c "umask 077; cat > '$T/low/in/files/.s' && mv '$T/low/in/files/.s' '$T/low/in/files/same.txt'"
wait_for "alice's" 10 sh -c "[ \$(grep -c 'event=accepted .*name=same.txt' '$T/low.log') -eq 1 ]"
printf "bob's\n" | as bin sh -c "umask 022; cat > '$T/low/in/files/.s' && mv '$T/low/in/files/.s' '$T/low/in/files/same.txt'"
ok "both same.txt taken" wait_for "same" 10 sh -c "[ \$(grep -c 'event=accepted .*name=same.txt' '$T/low.log') -eq 2 ]"
ok "flush" "$SPOOLCTL" --root "$T/low" flush
carry low high
ok "high delivers them" wait_for "delivered" 20 test -f "$T/high/delivered/low/same (2).txt"
ok "the long name is delivered on high" wait_for "long delivered" 20 test -f "$T/high/delivered/low/$long"
a=$(grep -l "alice's" "$T/high/delivered/low/same"*)
b=$(grep -l "bob's" "$T/high/delivered/low/same"*)
is "$(stat -c %a "$a")" 600 "alice's 0600 file is delivered 0600"
is "$(stat -c %a "$b")" 644 "bob's 0644 file 0644"
wait_for "all answered" 30 sh -c "[ \$(grep -c event=answered '$T/high.log') -eq 9 ]"
ok "high flush" "$SPOOLCTL" --root "$T/high" flush
carry high low
ok "the answers come back" wait_for "results" 20 test -d "$T/low/results/by-name/bin/files/same.txt"
ok "the long name's result" wait_for "long result" 20 test -f "$T/low/results/by-name/daemon/files/$long/receipt.json"
ra=$(readlink -f "$T/low/results/by-name/daemon/files/same.txt")
rb=$(readlink -f "$T/low/results/by-name/bin/files/same.txt")
ok "by-name is per user" test "$ra" != "$rb"
is "$(stat -c '%U %G %a' "$ra")" "daemon adm 750" "alice's result folder: hers and the operators'"
is "$(stat -c '%U %G %a' "$ra/receipt.json")" "daemon adm 640" "its files too"
ok "alice reads her result" as daemon cat "$T/low/results/by-name/daemon/files/same.txt/receipt.json"
fails 1 "bob cannot read alice's" as bin cat "$ra/receipt.json"
fails 2 "nor find it by name" as bin ls "$T/low/results/by-name/daemon/files"
fails 2 "nor list results/" as bin ls "$T/low/results"
ok "the operators' group reads it" setpriv --reuid=nobody --regid=adm --clear-groups cat "$ra/receipt.json"
fails 1 "others do not" as nobody cat "$ra/receipt.json"
id=$(basename "$ra")
is "$(jq -r '[has("user"), has("name")] | join(",")' "$T/low/status/$id.json")" "false,false" "status files name no user and no file"
ok "but say the state" wait_for "state" 10 sh -c "[ \"\$(jq -r .state '$T/low/status/$id.json')\" = completed ]"
ok "status answers" fast
ok "low still runs" alive low
ok "high still runs" alive high
