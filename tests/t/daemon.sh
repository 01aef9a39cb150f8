# daemon.sh - running two real spoold daemons in a test (sourced after
# lib.sh).
#
#   start NODE        spoold --foreground for $T/NODE, log in $T/NODE.log
#   stop NODE         SIGTERM, wait for it to exit
#   alive NODE        its daemon still runs
#   wait_for DESC SECONDS CMD...   retry CMD until it succeeds
#   carry FROM TO     every complete pair in FROM's out/ into TO's import/
#                     (.batch first, .minisig last), removed from out/
SPOOLD="$SPOOL_BUILD/spoold"
_pids=""

start() {
	_r=$(grep -c 'event=ready' "$T/$1.log" 2> /dev/null || true)
	"$SPOOLD" -c "$T/$1/spoold.conf" --foreground 2>> "$T/$1.log" &
	eval "_pid_$1=$!"
	_pids="$_pids $!"
	# a new "ready" line, not one of an earlier run
	wait_for "$1 is ready" 20 sh -c "[ \$(grep -c 'event=ready' '$T/$1.log') -gt ${_r:-0} ]"
}

stop() {
	eval "p=\$_pid_$1"
	kill -TERM "$p" 2> /dev/null
	wait "$p" 2> /dev/null
}

alive() {
	eval "p=\$_pid_$1"
	kill -0 "$p" 2> /dev/null
}

_stop_all() {
	for p in $_pids; do kill -TERM "$p" 2> /dev/null; done
	wait 2> /dev/null
	[ "${KEEP:-0}" = 1 ] || rm -rf "$T"
}
trap _stop_all EXIT

# wait_for DESC SECONDS CMD...: quiet; returns CMD's last status
wait_for() {
	_d=$1 _s=$2
	shift 2
	_i=0
	while [ "$_i" -lt $((_s * 10)) ]; do
		"$@" > /dev/null 2>&1 && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	diag "timed out waiting: $_d"
	return 1
}

carry() {
	for m in "$T/$1"/out/*.batch.minisig; do
		[ -e "$m" ] || continue
		b=${m%.minisig}
		n=$(basename "$b")
		cp "$b" "$T/$2/import/.$n.tmp" && mv "$T/$2/import/.$n.tmp" "$T/$2/import/$n"
		cp "$m" "$T/$2/import/.$n.m.tmp" && mv "$T/$2/import/.$n.m.tmp" "$T/$2/import/$n.minisig"
		rm -f "$m" "$b"
	done
}

# set_conf NODE SECTION KEY VALUE: a key right under [SECTION]
set_conf() {
	sed -i "s/^\[$2\]\$/[$2]\n$3 = $4/" "$T/$1/spoold.conf"
}
