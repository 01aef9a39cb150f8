#!/bin/sh
# The layers of docs/ARCHITECTURE.md, checked over the #include lines:
# inside libspool an include never points up a layer, the public headers
# (those spool/spool.h includes) include only public headers, and the
# programs include only public headers.  Tests may reach private headers.
. "$(dirname "$0")/lib.sh"
plan 5
cd "$SPOOL_TOP" || exit 1

# libspool's folders, lowest first (the Makefile's SPOOL_DIRS)
LAYERS="base keys format store job node flow"
PROGRAMS="spoold spoolctl workers"

rank() {
	i=0
	for l in $LAYERS; do
		[ "$l" = "$1" ] && { echo $i; return; }
		i=$((i + 1))
	done
	echo 99
}

# every '#include "..."' of the tree: FILE TARGET, one a line
includes() {
	for f in "$@"; do
		[ -f "$f" ] || continue
		sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
		    while read -r t; do echo "$f $t"; done
	done
}

lib_files=$(find spool -name '*.[ch]' | sort)
prog_files=$(for p in $PROGRAMS; do [ -d "$p" ] && find "$p" -name '*.[ch]'; done | sort)
public=$(sed -n 's/^#include "\(spool\/[^"]*\)".*/\1/p' spool/spool.h)
public="spool/spool.h $public"
is_public() {
	for p in $public; do [ "$p" = "$1" ] && return 0; done
	return 1
}

# 1: every library include names spool/FOLDER/NAME.h and that file exists
bad=$(includes $lib_files | while read -r f t; do
	case "$t" in
	spool/*) [ -f "$t" ] || echo "$f: $t: no such header" ;;
	*) echo "$f: \"$t\": a library include names spool/FOLDER/NAME.h" ;;
	esac
done)
is "$bad" "" "libspool's includes name existing spool/FOLDER/NAME.h headers"

# 2: arrows point down (or stay in the folder)
bad=$(includes $lib_files | while read -r f t; do
	case "$f" in spool/*/*) ;; *) continue ;; esac
	case "$t" in spool/*/*) ;; *) continue ;; esac
	from=$(echo "$f" | cut -d/ -f2)
	to=$(echo "$t" | cut -d/ -f2)
	if [ "$(rank "$from")" -eq 99 ] || [ "$(rank "$to")" -eq 99 ]; then
		echo "$f: $t: folder not in the layers of docs/ARCHITECTURE.md"
	elif [ "$(rank "$to")" -gt "$(rank "$from")" ]; then
		echo "$f: $t: points up ($from below $to)"
	fi
done)
is "$bad" "" "no include points up a layer"

# 3: within flow/, the daemon context (with its reaper thread) is below
# the flows it serves; steps.c and control.c are above them
bad=$(includes spool/flow/daemon.c spool/flow/daemon.h spool/flow/daemon_impl.h \
    spool/flow/reaper.c spool/flow/reaper.h | while read -r f t; do
	case "$t" in
	spool/flow/daemon.h|spool/flow/daemon_impl.h|spool/flow/reaper.h) ;;
	spool/flow/*) echo "$f: $t: the daemon context includes a flow" ;;
	esac
done)
is "$bad" "" "the daemon context does not reach up into the flows"

# 4: public headers include only public headers
bad=$(for h in $public; do includes "$h"; done | while read -r f t; do
	is_public "$t" || echo "$f: $t: a public header includes a private one"
done)
is "$bad" "" "public headers include only public headers"

# 5: programs include only public headers (or their own folder's)
bad=$(includes $prog_files | while read -r f t; do
	case "$t" in
	spool/*) is_public "$t" || echo "$f: $t: private to libspool" ;;
	*/*) echo "$f: \"$t\": outside the program's folder" ;;
	*) [ -f "$(dirname "$f")/$t" ] ||
	       echo "$f: \"$t\": not in the program's folder" ;;
	esac
done)
is "$bad" "" "programs include only libspool's public headers"
