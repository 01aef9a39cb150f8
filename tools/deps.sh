#!/bin/sh
# Installs the Debian packages that building, testing and the demo need,
# only when some are missing.  Needs root (or sudo) only in that case.
# Administration (tests t07xx): groff and man render the man pages,
# bash-completion drives the completion, systemd-analyze scores the unit,
# util-linux/passwd/mount are what spool-setup and spool-usb run, and
# prometheus brings promtool, which checks status/metrics.prom.
set -e
pkgs="build-essential pkg-config clang libclang-rt-14-dev
libsodium-dev libzstd-dev libjansson-dev libinih-dev libsqlite3-dev libpq-dev
libgdal-dev gdal-bin python3 python3-gdal
minisign zstd tar coreutils jq time postgresql postgresql-15-postgis-3
valgrind dosfstools strace nncp python3-jsonschema proj-data
groff-base man-db bash-completion systemd util-linux passwd mount prometheus"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
