#!/bin/sh
# The command lines, as getopt_long(3) programs: --opt=value and --opt
# value alike, options before and after operands, "--" ends them,
# abbreviations; CMD --help and help CMD print that command's usage
# without touching any node; --version on both programs (the Makefile's
# VERSION, and git's description in a checkout); an unknown option is a
# usage error (exit 2) that names it.
. "$(dirname "$0")/lib.sh"
plan 45
export SPOOL_CONFIG="$T/nowhere/spoold.conf" # help must not need a node

version=$(sed -n 's/^VERSION = //p' "$SPOOL_TOP/Makefile")
like "$version" '^[0-9]+\.[0-9]+\.[0-9]+$' "the Makefile sets VERSION ($version)"
out=$("$SPOOLCTL" --version)
like "$out" "^spoolctl \\(spool\\) $version( \\(git [0-9a-z.-]+\\))?\$" "spoolctl --version: $out"
out2=$("$SPOOL_BUILD/spoold" --version)
is "${out2#spoold }" "${out#spoolctl }" "spoold --version says the same version"
if [ -e "$SPOOL_TOP/.git" ]; then
	like "$out" "\\(git $(git -C "$SPOOL_TOP" rev-parse --short=4 HEAD | cut -c 1-4)" \
	    "built from a checkout: git describe's word for HEAD"
else
	like "$out" "^spoolctl \\(spool\\) $version\$" "not a checkout: the version alone"
fi

# --help: the command's usage, on stdout, exit 0, no node read
ok "export --help" "$SPOOLCTL" export --help
like "$(head -n 1 "$T/.out")" "^usage: spoolctl .*export --to DIR \\[--quiet\\]\$" "prints export's usage"
like "$(grep -- '--to DIR' "$T/.out")" "medium" "and its option, with what it is"
is "$(cat "$T/.err")" "" "nothing on stderr (the node was not opened)"
"$SPOOLCTL" help export > "$T/help-export"
is "$(cat "$T/help-export")" "$(cat "$T/.out")" "help export says the same"
ok "verify --help is help, not a file named --help" "$SPOOLCTL" verify --help
like "$(head -n 1 "$T/.out")" "verify BATCH" "(verify's usage)"
ok "-h after a command too" "$SPOOLCTL" resend -h
like "$(head -n 1 "$T/.out")" "resend SEQ \\[--to PEER\\]" "(resend's usage)"
"$SPOOLCTL" --help > "$T/h1"
"$SPOOLCTL" help > "$T/h2"
is "$(cat "$T/h2")" "$(cat "$T/h1")" "help alone lists the commands, as --help does"
fails 2 "help of an unknown command" "$SPOOLCTL" help frobnicate
like "$(cat "$T/.err")" "unknown command 'frobnicate'" "names it"

# unknown options: exit 2, named, one line
fails 2 "an unknown long option" "$SPOOLCTL" export --frob
like "$(cat "$T/.err")" "^spoolctl: export: unknown option '--frob'; usage: .*export --to DIR" \
    "is named, with the command's usage, on one line"
is "$(wc -l < "$T/.err")" 1 "(one line)"
fails 2 "an unknown short option" "$SPOOLCTL" status -x
like "$(cat "$T/.err")" "unknown option '-x'" "is named"
fails 2 "another command's option" "$SPOOLCTL" requests --to high
like "$(cat "$T/.err")" "'--to' is not an option of requests" "says whose it is not"
fails 2 "an option without its value" "$SPOOLCTL" requests --limit
like "$(cat "$T/.err")" "option '--limit' needs a value" "says so"
fails 2 "a value for a flag" "$SPOOLCTL" status --json=yes
like "$(cat "$T/.err")" "'--json' takes no value" "says so"
fails 2 "an unknown command" "$SPOOLCTL" frobnicate

# the node, reached through any form
pair low high
echo one > "$T/f1"
"$SPOOLCTL" --root "$T/low" pack --to high -o "$T/b1.batch" "$T/f1" > /dev/null
"$SPOOLCTL" --root "$T/low" pack --to high -o "$T/b2.batch" "$T/f1" > /dev/null
a=$("$SPOOLCTL" --root "$T/low" requests --json --state batched | jq -c '[.requests[].id]')
b=$("$SPOOLCTL" requests --state=batched --root="$T/low" --json | jq -c '[.requests[].id]')
c=$("$SPOOLCTL" --json --ro "$T/low" requests --sta batched | jq -c '[.requests[].id]')
is "$b" "$a" "--opt=value after the command is --opt value before it"
is "$c" "$a" "long options may be abbreviated (--ro, --sta)"
ok "resend SEQ --to PEER (options after operands)" "$SPOOLCTL" --root "$T/low" resend 1 --to high
ok "resend --to=PEER SEQ" "$SPOOLCTL" --root "$T/low" resend --to=high 2
ok "-o FILE and --output=FILE" sh -c "'$SPOOLCTL' --root '$T/low' pack --to high -o '$T/b3.batch' '$T/f1' &&
    '$SPOOLCTL' --root '$T/low' pack --to=high --output='$T/b4.batch' '$T/f1'"
ok "both made their batch" test -s "$T/b3.batch" -a -s "$T/b4.batch"
# "--" ends the options: an operand that starts with '-'
fails 2 "unpack into a directory named -out: without -- it reads as options" \
    "$SPOOLCTL" --root "$T/high" unpack "$T/b1.batch" -out
ok "with -- it is the directory" sh -c "cd '$T' && '$SPOOLCTL' --root '$T/high' unpack -- b1.batch -out"
ok "(written there)" test -s "$T/-out/f1"
rm -rf "$T/-out"
ok "-- also after an option" sh -c "cd '$T' && '$SPOOLCTL' --root '$T/high' --json unpack -- b1.batch -out > /dev/null && test -s '$T/-out/f1'"

# spoold
fails 2 "spoold --frob" "$SPOOL_BUILD/spoold" --frob
like "$(head -n 1 "$T/.err")" "^spoold: unknown option '--frob'\$" "names it, then the usage"
fails 2 "spoold -x" "$SPOOL_BUILD/spoold" -x
like "$(head -n 1 "$T/.err")" "unknown option '-x'" "names it"
fails 2 "spoold with an operand" "$SPOOL_BUILD/spoold" -c "$T/low/spoold.conf" extra
"$SPOOL_BUILD/spoold" -c "$T/low/spoold.conf" -T > "$T/t1"
"$SPOOL_BUILD/spoold" --print-config --config="$T/low/spoold.conf" > "$T/t2"
is "$(cat "$T/t2")" "$(cat "$T/t1")" "spoold --print-config --config=FILE is -T -c FILE"
ok "spoold --help, on stdout" sh -c "'$SPOOL_BUILD/spoold' --help | grep -q -- '--foreground'"
