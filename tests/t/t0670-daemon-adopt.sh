#!/bin/sh
# A big file of spoold's own user that nobody writes to becomes its blob
# without a copy (the same inode); one that someone holds open for
# writing is copied; a take that did not commit leaves the file with its
# blob as a second name, and that file is taken again, not refused; a
# take that committed before a crash is not taken twice.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
plan 13

pair low high
set_conf low batch heartbeat 0
start low
blob() { # blob FILE: the blob path of FILE's content on low
	h=$(b2sum -l 256 "$1" | cut -d' ' -f1)
	echo "$T/low/store/blobs/$(echo "$h" | cut -c1-2)/$h"
}
inode() { stat -c %i "$1"; }

# adopted: the blob is the dropped file itself
head -c 3000000 /dev/urandom > "$T/big.bin"
b=$(blob "$T/big.bin")
i=$(inode "$T/big.bin")
mv "$T/big.bin" "$T/low/in/files/big.bin"
ok "a big file is taken" wait_for "taken" 10 grep -q 'event=accepted.*name=big.bin' "$T/low.log"
is "$(inode "$b")" "$i" "its blob is the file itself, not a copy"
ok "the blob holds what its name says" sh -c "b2sum -l 256 '$b' | grep -q \"^\$(basename '$b') \""

# copied: someone has it open for writing when it is taken
head -c 3000000 /dev/urandom > "$T/busy.bin"
b=$(blob "$T/busy.bin")
i=$(inode "$T/busy.bin")
exec 3>> "$T/busy.bin"
mv "$T/busy.bin" "$T/low/in/files/busy.bin"
ok "a file open for writing is taken" wait_for "taken" 10 grep -q 'event=accepted.*name=busy.bin' "$T/low.log"
exec 3>&-
isnt_inode() { [ "$(inode "$1")" != "$2" ]; }
ok "its blob is a copy" isnt_inode "$b" "$i"
ok "... with the same bytes" sh -c "b2sum -l 256 '$b' | grep -q \"^\$(basename '$b') \""

# a take cut short after its blob was made: the claimed file has its
# blob as a second name and no intake row
stop low
head -c 2000000 /dev/urandom > "$T/again.bin"
b=$(blob "$T/again.bin")
mkdir -p "$(dirname "$b")" "$T/low/store/intake/files"
ln "$T/again.bin" "$b"
mv "$T/again.bin" "$T/low/store/intake/files/again.bin"
# and a claimed file whose second name is someone else's
echo other > "$T/other.txt"
ln "$T/other.txt" "$T/low/store/intake/files/other.txt"
start low
ok "the cut-short take is taken again" wait_for "taken" 10 grep -q 'event=accepted.*name=again.bin' "$T/low.log"
ok "... and its blob still holds its bytes" sh -c "b2sum -l 256 '$b' | grep -q \"^\$(basename '$b') \""
ok "a second name elsewhere is still refused" wait_for "refused" 10 \
    sh -c "jq -r .reason '$T/low/rejected/other.txt.error.json' | grep -q 'hard links'"
is "$("$SPOOLCTL" --root "$T/low" status --json | jq .pending)" 3 \
    "three requests wait for a batch"

# a crash after the take committed, before the claimed file left (strace
# kills spoold as it renames the claimed file away): the restart must
# know it as taken, its intake row naming the file as it is after the
# links its adoption made and renamed, and not take it a second time
stop low
head -c 16777216 /dev/urandom > "$T/crash.bin"
r0=$(grep -c 'event=ready' "$T/low.log")
strace -f -qq -o /dev/null -P "$T/low/store/intake/files/crash.bin" \
    -e trace=rename -e inject=rename:error=EIO:signal=KILL \
    "$SPOOLD" -c "$T/low/spoold.conf" --foreground 2>> "$T/low.log" &
sp=$!
wait_for "traced low is ready" 20 sh -c "[ \$(grep -c 'event=ready' '$T/low.log') -gt $r0 ]"
mv "$T/crash.bin" "$T/low/in/files/crash.bin"
wait $sp 2> /dev/null
ok "killed after its commit, the claimed file is still there" \
    test -e "$T/low/store/intake/files/crash.bin"
start low
ok "the restart removes it" wait_for "reaped" 10 \
    sh -c "! test -e '$T/low/store/intake/files/crash.bin'"
is "$("$SPOOLCTL" --root "$T/low" requests --json | jq '[.requests[] | select(.name == "crash.bin")] | length')" 1 \
    "one request for it, not two"
