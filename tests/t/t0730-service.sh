#!/bin/sh
# contrib/spoold.service: `systemd-analyze security` scores it 3.0 or less
# ("OK"), with and without the PostgreSQL drop-in its comments document;
# it has the settings issue 12 asks for; `systemd-analyze verify` finds
# nothing to say; and its system-call filter allows every call two real
# daemons (and what they run) make in a round trip, traced with strace,
# which also shows they open no socket but AF_UNIX.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon.sh"
plan 24
UNIT="$SPOOL_TOP/contrib/spoold.service"

# score FILE|NAME [ARGS]: the overall exposure systemd-analyze gives it
score() {
	systemd-analyze security --offline=true --no-pager "$@" 2> "$T/.sa" |
	    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p'
}
at_most() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 <= b + 0) }'; }

s=$(score "$UNIT")
diag "spoold.service: exposure $s"
ok "systemd-analyze security scores spoold.service <= 3.0 (got $s)" at_most "$s" 3.0
# the same measure on a unit without hardening: the check can fail
printf '[Service]\nExecStart=/bin/true\n' > "$T/plain.service"
s0=$(score "$T/plain.service")
fails 1 "an unhardened unit scores above 3.0 (got $s0)" at_most "$s0" 3.0

# the drop-in documented for a remote PostgreSQL, applied as systemd would
mkdir -p "$T/root/etc/systemd/system/spoold.service.d"
cp "$UNIT" "$T/root/etc/systemd/system/spoold.service"
sed -n '/^#   \[Service\]/,/^#$/s/^#   //p' "$UNIT" \
    > "$T/root/etc/systemd/system/spoold.service.d/postgresql.conf"
diag "drop-in: $(tr '\n' ' ' < "$T/root/etc/systemd/system/spoold.service.d/postgresql.conf")"
s1=$(score --root="$T/root" spoold.service)
ok "with the PostgreSQL drop-in it scores <= 3.0 too (got $s1)" at_most "$s1" 3.0
systemd-analyze security --offline=true --no-pager --root="$T/root" spoold.service \
    > "$T/sa-pg" 2>&1
ok "and the drop-in takes effect (Internet sockets allowed)" \
    grep -q '✗ RestrictAddressFamilies=~AF_(INET|INET6)' "$T/sa-pg"

# what the issue asks of the unit, each read as systemd reads it
sed "s|^ExecStart=/usr/local/sbin/spoold|ExecStart=$SPOOL_BUILD/spoold|" "$UNIT" \
    > "$T/spoold.service"
systemd-analyze verify --man=no "$T/spoold.service" > "$T/.verify" 2>&1
is "$(cat "$T/.verify")" "" "systemd-analyze verify finds nothing to say"
for kv in Type=notify User=spool StateDirectory=spool ProtectSystem=strict \
    ReadWritePaths=/var/lib/spool PrivateTmp=yes ProtectHome=yes \
    NoNewPrivileges=yes RestrictAddressFamilies=AF_UNIX \
    SystemCallFilter=@system-service; do
	ok "$kv" grep -qx "$kv" "$UNIT"
done
like "$(grep '^MemoryMax=' "$UNIT")" '^MemoryMax=[0-9]+[KMG]$' "MemoryMax set"
like "$(grep '^WatchdogSec=' "$UNIT")" '^WatchdogSec=[0-9]+s$' "WatchdogSec set"

# every system call that is allowed: @system-service and its groups, and
# the unit's other SystemCallFilter= lines
expand() {
	systemd-analyze syscall-filter --no-pager "$1" | sed -n 's/^    //p' |
	while read -r w; do
		case $w in
		"#"*) ;;
		@*) expand "$w" ;;
		*) echo "$w" ;;
		esac
	done
}
{
	for f in $(sed -n 's/^SystemCallFilter=//p' "$UNIT"); do
		case $f in @*) expand "$f" ;; *) echo "$f" ;; esac
	done
} | sort -u > "$T/allowed"
ok "the filter allows some hundreds of calls ($(wc -l < "$T/allowed"))" \
    test "$(wc -l < "$T/allowed")" -gt 300
fails 1 "and not mount(2), say" grep -qx mount "$T/allowed"

# two daemons under strace, a file there and its receipt back
pair low high
# as under the unit, spoold is not root here: its workers keep its uid
# (as root it would also switch uid and mount their areas, which the unit
# never needs)
for n in low high; do
	set_conf $n batch heartbeat 0
	set_conf $n workers user root
done
traced() {
	strace -f -qq -o "$T/trace.$1" "$SPOOLD" -c "$T/$1/spoold.conf" \
	    --foreground 2>> "$T/$1.log" &
	eval "_st_$1=$!"
	wait_for "$1 is ready" 60 grep -q event=ready "$T/$1.log"
}
untrace() {
	kill -TERM "$(head -n 1 "$T/$1/store/lock")"
	eval "wait \$_st_$1"
}
ok "low starts under strace" traced low
ok "high starts under strace" traced high
head -c 300000 /dev/urandom > "$T/low/in/files/dem.bin"
wait_for "accepted" 30 grep -q event=accepted "$T/low.log"
"$SPOOLCTL" --root "$T/low" flush > /dev/null
carry low high
wait_for "answered" 60 grep -q event=answered "$T/high.log"
"$SPOOLCTL" --root "$T/high" flush > /dev/null
carry high low
ok "the receipt comes back to low" wait_for "result" 60 \
    grep -q event=result "$T/low.log"
untrace low
untrace high
sed -n 's/^[0-9]* *\([a-z0-9_]*\)(.*/\1/p' "$T"/trace.* | sort -u > "$T/used"
diag "calls made: $(wc -l < "$T/used")"
is "$(comm -23 "$T/used" "$T/allowed" | tr '\n' ' ')" "" \
    "every system call the daemons made is allowed by the unit's filter"
is "$(grep -ho 'socket(AF_[A-Z0-9]*' "$T"/trace.* | sort -u | grep -v 'AF_UNIX$' | tr '\n' ' ')" "" \
    "no socket but AF_UNIX (RestrictAddressFamilies=AF_UNIX)"
