#!/bin/sh
# contrib/spoolctl.bash-completion, driven in bash as readline would
# (COMP_WORDS, COMP_CWORD, COMP_LINE, COMP_POINT), with bash-completion's
# helpers loaded and without them: it offers every command spoolctl lists
# (so a new command without completion fails here), options, the node's
# trusted peers, request and job ids, and for `resend` the seqs archived
# for the peer.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mancover.sh"
plan 24
COMP="$SPOOL_TOP/contrib/spoolctl.bash-completion"
BC=/usr/share/bash-completion/bash_completion
ok "bash-completion is installed" test -r "$BC"

# offers [--plain] WORD...: what completing the last WORD offers, sorted,
# on one line.  Words are split as bash splits them ('=' is a word).
# --plain: without bash-completion's helpers.
cat > "$T/drive.bash" << 'EOF'
[ "$1" = --plain ] && shift || . "$BC"
. "$COMP"
COMP_WORDS=("$@")
COMP_CWORD=$(($# - 1))
COMP_LINE=
for w in "$@"; do
	if [[ $w == = || $COMP_LINE == *= ]]; then COMP_LINE+=$w
	else COMP_LINE+=${COMP_LINE:+ }$w; fi
done
COMP_POINT=${#COMP_LINE}
_spoolctl
printf '%s\n' "${COMPREPLY[@]}"
EOF
offers() {
	BC=$BC COMP=$COMP PATH="$SPOOL_BUILD:$PATH" bash "$T/drive.bash" "$@" 2> "$T/.cerr" |
	    sort | tr '\n' ' ' | sed 's/ $//'
}

"$SPOOLCTL" --help > "$T/help"
cmds=$(ctl_commands "$T/help" | cut -d ' ' -f 1 | sort -u | tr '\n' ' ' | sed 's/ $//')
is "$(offers spoolctl '')" "$cmds" "every command spoolctl lists, and only those"
is "$(offers --plain spoolctl '')" "$cmds" "the same without bash-completion's helpers"
is "$(cat "$T/.cerr")" "" "nothing on stderr"
is "$(offers spoolctl re)" "requests resend retry" "a prefix narrows them"
is "$(offers spoolctl trust '')" "add list remove" "trust's subcommands"
is "$(offers spoolctl --ro)" "--root" "global options"
# every option each command's --help names is offered after it
bad=""
for c in $cmds; do
	want=$("$SPOOLCTL" "$c" --help | grep -Eo '(^|[ ,])--[a-z][a-z-]*' | tr -d ' ,' | sort -u)
	got=$(offers spoolctl "$c" --)
	for o in $want; do
		case " $got " in *" $o "*) ;; *) bad="$bad $c:$o" ;; esac
	done
done
is "$bad" "" "every option of every command's --help is offered after it"
is "$(offers spoolctl help ex)" "export" "help COMMAND: the commands"

pair low high
node other
"$SPOOLCTL" --root "$T/other" key show > "$T/other.pub"
"$SPOOLCTL" --root "$T/low" trust add other "$T/other.pub" > /dev/null
is "$(offers spoolctl --root "$T/low" trust remove '')" "high other" \
    "trust remove: the node's trusted peers"
is "$(offers spoolctl --root = "$T/low" pack --to '')" "high other" \
    "pack --to: peers, with --root=DIR"
is "$(offers --plain spoolctl --root = "$T/low" pack --to '')" "high other" \
    "the same without the helpers"
is "$(offers spoolctl -c "$T/low/spoold.conf" resend --to = o)" "other" \
    "--to=PREFIX, with -c FILE"

# batches sent: seqs 1 2 3 to high, 1 to other
for i in 1 2 3; do
	echo "$i" > "$T/f$i"
	"$SPOOLCTL" --root "$T/low" pack --to high -o "$T/b$i.batch" "$T/f$i" > /dev/null
done
"$SPOOLCTL" --root "$T/low" pack --to other -o "$T/o1.batch" "$T/f1" > /dev/null
is "$(offers spoolctl --root "$T/low" resend '')" "1 2 3" \
    "resend: the seqs archived for the default peer"
is "$(offers spoolctl --root "$T/low" resend --to other '')" "1" \
    "resend --to PEER: that peer's"
rm "$T/low/archive/sent/low-high-0000000002.batch"
is "$(offers --plain spoolctl --root "$T/low" resend --to = high '')" "1 3" \
    "only what archive/sent/ still holds (no helpers, --to=PEER)"

# ids: requests (show, lineage) and jobs (retry, cancel, show)
ids=$("$SPOOLCTL" --root "$T/low" requests --json | jq -r '.requests[].id' | sort | tr '\n' ' ' | sed 's/ $//')
is "$(echo "$ids" | wc -w)" 4 "low has four requests"
is "$(offers spoolctl --root "$T/low" show '')" "$ids" "show: request ids"
first=$(echo "$ids" | cut -c 1-20)
like "$(offers spoolctl --root "$T/low" show "$first")" "^$first" "an id prefix narrows them"
"$SPOOL_BUILD/spoolsim" job --node "$T/high/spoold.conf" > /dev/null
jobs=$("$SPOOLCTL" --root "$T/high" jobs --json | jq -r '.jobs[].id' | sort | tr '\n' ' ' | sed 's/ $//')
ok "high has a job" test -n "$jobs"
is "$(offers spoolctl --root "$T/high" cancel '')" "$jobs" "cancel: job ids"
is "$(offers spoolctl --root "$T/low" requests --state a)" "accepted acknowledged" \
    "requests --state: the states"
is "$(offers spoolctl --root "$T/low" requests --)" "--config --help --json --limit --root --state --version" \
    "a command's options, and the global ones"
is "$(offers spoolctl --root "$T/low" config check "$T/low/spoold.c")" "$T/low/spoold.conf" \
    "config check FILE: files"
