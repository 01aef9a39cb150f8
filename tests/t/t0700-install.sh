#!/bin/sh
# make install into a DESTDIR: what it puts where (listed below), that the
# installed pieces work from there (programs, man pages through a MANPATH,
# completion, units naming the installed programs), and that make
# uninstall removes exactly that, leaving other files alone.
. "$(dirname "$0")/lib.sh"
plan 18
cd "$SPOOL_TOP" || exit 1
S="$T/stage"
P=/opt/spool
mk() { make -s --no-print-directory BUILD="$SPOOL_BUILD" PREFIX=$P "$@"; }

# files that are someone else's, in directories spool installs into
mkdir -p "$S$P/bin" "$S$P/share/man/man1" "$S$P/lib/systemd/system"
echo other > "$S$P/bin/other"
echo other > "$S$P/share/man/man1/other.1"
echo other > "$S$P/lib/systemd/system/other.service"
find "$S" -type f | sort > "$T/before"

ok "make install PREFIX=$P DESTDIR=..." mk install DESTDIR="$S"
# what it should have put there: fixed names, every page in docs/man, and
# every worker built into $BUILD/libexec/spool
{
	for f in bin/spoolctl sbin/spoold sbin/spool-setup sbin/spool-usb \
	    share/bash-completion/completions/spoolctl \
	    lib/systemd/system/spoold.service \
	    lib/systemd/system/spool-usb@.service \
	    share/doc/spool/examples/low.conf \
	    share/doc/spool/examples/high.conf \
	    share/doc/spool/examples/90-spool-usb.rules \
	    share/doc/spool/examples/spool-usb.default; do
		echo "$S$P/$f"
	done
	for m in docs/man/*.[1-8]; do
		echo "$S$P/share/man/man${m##*.}/${m##*/}"
	done
	for w in "$SPOOL_BUILD"/libexec/spool/*; do
		[ -f "$w" ] && [ -x "$w" ] && echo "$S$P/libexec/spool/${w##*/}"
	done
	cat "$T/before"
} | sort > "$T/want"
find "$S" -type f | sort > "$T/got"
diag "installed:"
comm -13 "$T/before" "$T/got" | sed "s|^$S|#   |"
is "$(comm -3 "$T/want" "$T/got" | tr -d '\t' | tr '\n' ' ')" "" \
    "it installs exactly the programs, workers, pages, completion, units and examples"
is "$(ls "$S$P/share/man/man1" "$S$P/share/man/man5" "$S$P/share/man/man8" | grep -c '\.[158]$')" 5 \
    "four man pages (and the other one) in man1, man5, man8"
is "$(stat -c %a "$S$P/bin/spoolctl" "$S$P/sbin/spoold" "$S$P/sbin/spool-setup" "$S$P/share/man/man8/spoold.8" "$S$P/lib/systemd/system/spoold.service" | tr '\n' ' ')" \
    "755 755 755 644 644 " "programs are 0755, pages and units 0644"

ok "the installed spoolctl runs" "$S$P/bin/spoolctl" --help
"$SPOOLCTL" init --root "$T/n" --name low > /dev/null
ok "the installed spoold reads a node (-T)" "$S$P/sbin/spoold" -T -c "$T/n/spoold.conf"
like "$(grep '^ExecStart=' "$S$P/lib/systemd/system/spoold.service")" \
    "^ExecStart=$P/sbin/spoold -c /var/lib/spool/spoold.conf --foreground\$" \
    "the installed unit runs the installed spoold"
like "$(grep '^ExecStart=' "$S$P/lib/systemd/system/spool-usb@.service")" \
    "^ExecStart=$P/sbin/spool-usb " "and the USB unit the installed helper"
is "$(grep -h '^SPOOLCTL=' "$S$P/sbin/spool-setup" "$S$P/sbin/spool-usb" | sort -u)" \
    "SPOOLCTL=\${SPOOLCTL:-$P/bin/spoolctl}" "the helpers run the installed spoolctl"
out=$(MANWIDTH=80 man -M "$S$P/share/man" spoold.conf 2>&1 | col -b)
like "$out" "^SPOOLD\\.CONF\\(5\\)" "man finds the installed pages through their MANPATH"
v=$(sed -n 's/^VERSION = //p' Makefile)
like "$(echo "$out" | tail -n 1)" "^spool $v[[:space:]]" "an installed page's footer names the version ($v)"
out=$(bash -c ". '$S$P/share/bash-completion/completions/spoolctl' && complete -p spoolctl" 2>&1)
is "$out" "complete -F _spoolctl spoolctl" "the installed completion loads in bash"

# a PREFIX without DESTDIR: the units check clean against what is there
ok "make install PREFIX=$T/prefix" make -s --no-print-directory BUILD="$SPOOL_BUILD" PREFIX="$T/prefix" install
ok "systemd-analyze verify passes the installed units" \
    sh -c "systemd-analyze verify --man=no '$T/prefix/lib/systemd/system/spoold.service' '$T/prefix/lib/systemd/system/spool-usb@.service' 2>&1 | tee /dev/stderr | grep -q . && exit 1; exit 0"

ok "make uninstall" mk uninstall DESTDIR="$S"
find "$S" -type f | sort > "$T/after"
is "$(comm -3 "$T/before" "$T/after" | tr -d '\t' | tr '\n' ' ')" "" \
    "it removes exactly what install put there: other files stay"
is "$(find "$S$P/libexec/spool" "$S$P/share/doc/spool" 2>/dev/null)" "" \
    "spool's own directories are gone"
ok "uninstall of what is not there is fine" mk uninstall DESTDIR="$S"
