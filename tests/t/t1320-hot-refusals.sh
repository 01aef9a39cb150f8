#!/bin/sh
# Everything in in/ is answered at once (issue 11, point 2): a symlink,
# a hard link, a directory or a FIFO that appears in a hot folder is
# refused as soon as it appears (inotify IN_CREATE / IN_ATTRIB), not at
# the slow rescan a minute later; a regular file is still taken only
# once complete, even while it is written slowly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
plan 12

pair low high
set_conf low batch heartbeat 0
start low
F="$T/low/in/files"
rejected() { test -e "$T/low/rejected/$1.error.json"; }
reason() { jq -r .reason "$T/low/rejected/$1.error.json"; }

# a regular file written slowly: opened, half written, left open
mkfifo "$T/gate"
( printf 'first half, '; cat "$T/gate" > /dev/null; printf 'second half\n' ) > "$F/slow.txt" &
writer=$!
wait_for "slow.txt appears" 10 test -e "$F/slow.txt"

echo data > "$T/target"
ln -s "$T/target" "$F/link"
ok "a symlink is refused at once" wait_for "link refused" 10 rejected link
like "$(reason link)" "symbolic link" "... as a symbolic link"
mkdir "$F/folder"
ok "a directory is refused at once" wait_for "folder refused" 10 rejected folder
mkfifo "$F/fifo"
ok "a FIFO is refused at once" wait_for "fifo refused" 10 rejected fifo
echo two > "$T/twolinks" && ln "$T/twolinks" "$F/hard"
ok "a hard link is refused at once" wait_for "hard refused" 10 rejected hard
like "$(reason hard)" "hard links" "... as a hard link"

# a second link made later to a file waiting in in/: the kernel tells
# a folder's watch nothing of a link count, so it is refused when its
# writer closes it, or when anything touches its attributes
exec 3> "$F/waiting.txt"
echo "still open" >&3
ln "$F/waiting.txt" "$T/outside"
chmod 600 "$F/waiting.txt"
ok "a file that got a second link is refused when its mode changes" \
    wait_for "waiting refused" 10 rejected waiting.txt
exec 3>&-

is "$(grep -c 'event=accepted' "$T/low.log")" 0 "the file being written is not taken yet"
test -e "$F/slow.txt"
ok "it is still in in/" test -e "$F/slow.txt"
echo go > "$T/gate"
wait "$writer"
ok "once complete it is taken" wait_for "slow taken" 10 grep -q 'event=accepted.*name=slow.txt' "$T/low.log"
is "$("$SPOOLCTL" --root "$T/low" requests --json | jq -r '.requests[] | select(.name == "slow.txt") | .hash')" \
    "$(printf 'first half, second half\n' | b2sum -l 256 | cut -d' ' -f1)" \
    "whole, as it was when closed"
is "$(ls "$T/low/rejected" | grep -c 'error.json$')" 5 "five refusals, no more"
