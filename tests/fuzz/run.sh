#!/bin/sh
# Runs every built fuzz target for FUZZ_TIME seconds on a scratch copy of
# its seed corpus (tests/fuzz/corpus/NAME/); crashes land in build-fuzz/.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
B=${FUZZ_BUILD:-build-fuzz}
case "$B" in /*) ;; *) B="$top/$B" ;; esac
TIME=${FUZZ_TIME:-60}
status=0
for bin in "$B"/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin" | sed 's/^fuzz_//')
	work="$B/corpus-$name"
	mkdir -p "$work"
	[ -d "$top/tests/fuzz/corpus/$name" ] && cp -n "$top/tests/fuzz/corpus/$name"/* "$work/" 2>/dev/null
	echo "== fuzz $name for ${TIME}s"
	if (cd "$B" && "$bin" -max_total_time="$TIME" -rss_limit_mb=2048 \
	    -print_final_stats=1 "$work" > "$B/fuzz-$name.log" 2>&1); then
		grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$B/fuzz-$name.log" | tail -n 2
	else
		echo "fuzz $name FAILED: see $B/fuzz-$name.log"; tail -n 30 "$B/fuzz-$name.log"
		status=1
	fi
done
exit $status
