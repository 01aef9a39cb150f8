# lib.sh - TAP helpers for spool's shell tests (sourced).
#
#   plan N; ok "desc" cmd...; is "$got" "$want" "desc"; fails N "desc" cmd...
# Every test gets a fresh $T (temporary directory) removed at exit unless
# KEEP=1.  spoolctl and spoold come from $SPOOL_BUILD.
set -u
T=$(mktemp -d /tmp/spool-t-XXXXXX)
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$T"' EXIT
_n=0
SPOOLCTL="$SPOOL_BUILD/spoolctl"
# SPOOL_VALGRIND=1: every spoolctl runs under valgrind; a memory error or
# a definite leak exits 99, which no test expects.
if [ "${SPOOL_VALGRIND:-0}" = 1 ]; then
	printf '#!/bin/sh\nexec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite "%s" "$@"\n' \
		"$SPOOL_BUILD/spoolctl" > "$T/.spoolctl-vg"
	chmod +x "$T/.spoolctl-vg"
	SPOOLCTL="$T/.spoolctl-vg"
fi
DATA="$SPOOL_TESTDATA"

plan() { echo "1..$1"; }
_report() {
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $_n - $2"; else echo "not ok $_n - $2"; fi
}
diag() { echo "# $*"; }
# ok DESC CMD...: CMD exits 0
ok() {
	d=$1; shift
	"$@" > "$T/.out" 2> "$T/.err"
	rc=$?
	if [ "$rc" -eq 0 ]; then _report 0 "$d"; else
		_report 1 "$d"; diag "exit $rc: $*"; sed 's/^/#   /' "$T/.err" | head -n 20
	fi
}
# fails CODE DESC CMD...: CMD exits with CODE; stderr saved in $T/.err
fails() {
	c=$1; d=$2; shift 2
	"$@" > "$T/.out" 2> "$T/.err"
	rc=$?
	if [ "$rc" -eq "$c" ]; then _report 0 "$d"; else
		_report 1 "$d"; diag "exit $rc, expected $c: $*"; sed 's/^/#   /' "$T/.err" | head -n 20
	fi
}
is() {
	if [ "$1" = "$2" ]; then _report 0 "$3"; else
		_report 1 "$3"; diag "got:  '$1'"; diag "want: '$2'"
	fi
}
# like TEXT PATTERN DESC: grep -E pattern matches text
like() {
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then _report 0 "$3"; else
		_report 1 "$3"; diag "got:  '$1'"; diag "want: /$2/"
	fi
}
# node NAME: creates $T/NAME as a spool root with that node name
node() {
	"$SPOOLCTL" init --root "$T/$1" --name "$1" ${2:+--peer "$2"} > /dev/null
}
# pair A B: two nodes that trust each other
pair() {
	node "$1" "$2" && node "$2" "$1" &&
	"$SPOOLCTL" --root "$T/$1" key show > "$T/$1.pub" &&
	"$SPOOLCTL" --root "$T/$2" key show > "$T/$2.pub" &&
	"$SPOOLCTL" --root "$T/$1" trust add "$2" "$T/$2.pub" > /dev/null &&
	"$SPOOLCTL" --root "$T/$2" trust add "$1" "$T/$1.pub" > /dev/null
}
