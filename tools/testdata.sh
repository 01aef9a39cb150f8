#!/bin/sh
# testdata.sh DEST: makes DEST a folder of links to the test data: every
# file shipped in tests/data/ (tests/data/README.md says where they come
# from) and, when there is one, every file of an extra source that is
# not shipped: $SPOOL_TESTDATA, or else ../shared/testdata beside the
# checkout.  Prints DEST.  A shipped file wins over one of the same name.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dest=$1
ship="$top/tests/data"
extra=${SPOOL_TESTDATA:-}
if [ -z "$extra" ] && [ -d "$top/../shared/testdata" ]; then
	extra=$(cd "$top/../shared/testdata" && pwd)
fi
if [ -n "$extra" ] && [ ! -d "$extra" ]; then
	echo "testdata: SPOOL_TESTDATA='$extra' is not a folder" >&2
	exit 1
fi
mkdir -p "$dest"
# links of an earlier run whose file is gone
find "$dest" -type l ! -exec test -e {} \; -exec rm -f {} + 2> /dev/null || true
for src in "$extra" "$ship"; do
	[ -n "$src" ] && [ -d "$src" ] || continue
	(cd "$src" && find . -mindepth 2 -maxdepth 2 -type f ! -name '.*') |
	while IFS= read -r f; do
		f=${f#./}
		mkdir -p "$dest/$(dirname "$f")"
		ln -sfn "$src/$f" "$dest/$f"
	done
done
echo "$dest"
