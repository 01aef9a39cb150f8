#!/bin/sh
# make install / uninstall honour PREFIX and DESTDIR.
. "$(dirname "$0")/lib.sh"
plan 5
cd "$SPOOL_TOP" || exit 1
ok "make install with PREFIX and DESTDIR" make -s install BUILD="$SPOOL_BUILD" PREFIX=/opt/spool DESTDIR="$T/stage"
ok "spoolctl is installed under DESTDIR/PREFIX/bin" test -x "$T/stage/opt/spool/bin/spoolctl"
ok "spoold too, in sbin" test -x "$T/stage/opt/spool/sbin/spoold"
ok "the installed spoolctl runs" "$T/stage/opt/spool/bin/spoolctl" --help
ok "make uninstall removes them" sh -c "make -s uninstall PREFIX=/opt/spool DESTDIR='$T/stage' && test ! -e '$T/stage/opt/spool/bin/spoolctl' && test ! -e '$T/stage/opt/spool/sbin/spoold'"
