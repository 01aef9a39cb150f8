#!/bin/sh
# inotify queue overflow: a full rescan takes every file.  Disk full: new
# files stay in in/, the condition is reported, intake resumes when space
# returns, nothing lost or truncated; a batch that does not fit waits in
# import/ (never quarantined) and is taken when space returns.  Both need root (a lowered
# max_queued_events, a small tmpfs); without it they are skipped.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
plan 16

if [ "$(id -u)" -ne 0 ]; then
	for i in $(seq 1 16); do echo "ok $i # SKIP needs root"; done
	exit 0
fi

# ---- overflow ----
pair low high
set_conf low batch heartbeat 0
q=/proc/sys/fs/inotify/max_queued_events
old=$(cat $q)
echo 8 > $q
start low
echo "$old" > $q
mkdir "$T/many"
i=0
while [ $i -lt 600 ]; do
	i=$((i + 1))
	echo "$i" > "$T/many/f$i"
done
# a burst the queue of 8 events cannot hold
mv "$T/many"/* "$T/low/in/files/"
ok "the queue overflowed and low rescanned" wait_for "overflow" 20 \
    grep -q 'event=overflow' "$T/low.log"
ok "all 600 taken" wait_for "600" 30 \
    sh -c "[ \$(grep -c event=accepted '$T/low.log') -eq 600 ]"
is "$(ls "$T/low/in/files" | wc -l)" 0 "the hot folder is empty"
stop low

# ---- disk full ----
mkdir "$T/small"
if ! mount -t tmpfs -o size=24m tmpfs "$T/small"; then
	for i in $(seq 4 16); do echo "not ok $i - cannot mount a tmpfs"; done
	exit 1
fi
trap 'for p in $_pids; do kill -TERM "$p" 2>/dev/null; done; wait; umount "$T/small"; rm -rf "$T"' EXIT
"$SPOOLCTL" init --root "$T/small/n" --name small --peer high > /dev/null
"$SPOOLCTL" --root "$T/small/n" trust add high "$T/high.pub" > /dev/null
sed -i "s/^\[batch\]\$/[batch]\nheartbeat = 0/" "$T/small/n/spoold.conf"
head -c 9437184 /dev/urandom > "$T/big"          # 9 MiB
head -c 10485760 /dev/zero > "$T/small/filler"   # 10 MiB
"$SPOOLD" -c "$T/small/n/spoold.conf" --foreground 2>> "$T/small.log" &
small_pid=$!
_pids="$_pids $!"
wait_for "small ready" 20 grep -q 'event=ready' "$T/small.log"
cp "$T/big" "$T/small/n/in/files/.big.part"
# another user's file, so intake copies it (spoold's own would become
# its blob in place, needing no space)
chown nobody "$T/small/n/in/files/.big.part"
mv "$T/small/n/in/files/.big.part" "$T/small/n/in/files/big"
ok "the full disk is reported" wait_for "disk-full" 20 \
    grep -q 'event=disk-full' "$T/small.log"
cmp -s "$T/big" "$T/small/n/in/files/big"
is "$?" 0 "the file stays in in/, whole"
ok "summary.json says intake is paused" wait_for "paused" 5 \
    sh -c "jq -r .intake '$T/small/n/status/summary.json' | grep -q paused"
like "$("$SPOOLCTL" --root "$T/small/n" status)" "intake: paused" \
    "spoolctl status says so"
rm "$T/small/filler"
ok "intake resumes when space returns" wait_for "taken" 20 \
    grep -q 'event=accepted.*name=big' "$T/small.log"
h=$(b2sum -l 256 "$T/big" | cut -d' ' -f1)
cmp -s "$T/big" "$T/small/n/store/blobs/$(echo "$h" | cut -c1-2)/$h"
is "$?" 0 "its bytes are stored whole"
ok "intake ok again" wait_for "ok" 5 \
    sh -c "[ \$(jq -r .intake '$T/small/n/status/summary.json') = ok ]"

# ---- disk full on import ----
# a node "src" sends small a 3 MiB file; small's disk has room for the
# pair and 1 MiB more, not for the file's blob
"$SPOOLCTL" init --root "$T/src" --name src --peer small > /dev/null
"$SPOOLCTL" --root "$T/src" key show > "$T/src.pub"
"$SPOOLCTL" --root "$T/small/n" key show > "$T/small.pub"
"$SPOOLCTL" --root "$T/src" trust add small "$T/small.pub" > /dev/null
"$SPOOLCTL" --root "$T/small/n" trust add src "$T/src.pub" > /dev/null
kill -HUP "$small_pid"
wait_for "small reloaded" 10 grep -q 'event=reloaded' "$T/small.log"
head -c 3145728 /dev/urandom > "$T/payload"
cp "$T/payload" "$T/src/in/files/payload"
"$SPOOLCTL" --root "$T/src" flush > /dev/null 2> "$T/src.log"
b=$(ls "$T/src/out/"*.batch)
avail=$(df -B1 --output=avail "$T/small" | tail -n 1)
pairsz=$(cat "$b" "$b.minisig" | wc -c)
head -c $((avail - pairsz - 1048576)) /dev/zero > "$T/small/filler2"
mkdir "$T/small/stage"
cp "$b" "$b.minisig" "$T/small/stage/"
mv "$T/small/stage/$(basename "$b")" "$T/small/n/import/"
mv "$T/small/stage/$(basename "$b").minisig" "$T/small/n/import/"
ok "the import that does not fit is said, with when it is tried again" \
    wait_for "import error" 20 grep -q 'event=error what=import .*tried again in' "$T/small.log"
sleep 6
is "$(ls "$T/small/n/import" | wc -l)" 2 "the pair waits in import/"
is "$(ls "$T/small/n/quarantine" | wc -l)" 0 "nothing is quarantined"
rm "$T/small/filler2"
ok "it is imported once space returns" wait_for "imported" 40 \
    grep -q 'event=imported .*from=src' "$T/small.log"
ok "and delivered whole" wait_for "delivered" 20 \
    cmp -s "$T/payload" "$T/small/n/delivered/src/payload"
is "$(ls "$T/small/n/import" | wc -l)" 0 "import/ is empty"
