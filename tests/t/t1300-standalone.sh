#!/bin/sh
# A clone that stands alone (issue 11, point 7): a copy of the project
# with nothing beside it, and no SPOOL_TESTDATA, finds every file its
# tests and its demo use in tests/data, and the demo (two running
# daemons, real GIS files carried both ways) passes there.
. "$(dirname "$0")/lib.sh"
plan 6

# the project's files as a clone has them: tracked and new, not ignored
mkdir "$T/lone"
if git -C "$SPOOL_TOP" rev-parse --git-dir > /dev/null 2>&1; then
	(cd "$SPOOL_TOP" && git ls-files -z -co --exclude-standard |
	    xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' _ |
	    tar --null -T - -cf -) | tar -xf - -C "$T/lone"
else
	(cd "$SPOOL_TOP" && tar -cf - --exclude=./build\* --exclude=./demo .) |
	    tar -xf - -C "$T/lone"
fi
ok "the copy has the shipped data and its README" \
    test -f "$T/lone/tests/data/README.md" -a -f "$T/lone/tests/data/raster/byte.tif"
is "$(ls "$T")" lone "nothing beside the copy"

# every $DATA/... a test, the demo or the bench names is shipped
missing=""
for f in $(cat "$T/lone"/tests/t/*.sh "$T/lone/tools/demo.sh" |
    grep -o '\$DATA/[a-z]*/[A-Za-z0-9_.-]*' | sed 's|^\$DATA/||' | sort -u); do
	[ -f "$T/lone/tests/data/$f" ] || missing="$missing $f"
done
is "$missing" "" "every data file the tests and the demo name is in tests/data"

d=$(env -u SPOOL_TESTDATA sh "$T/lone/tools/testdata.sh" "$T/lone/build/testdata")
is "$(ls "$d/raster" "$d/vector" | grep -c '\.')" \
    "$(ls "$T/lone/tests/data/raster" "$T/lone/tests/data/vector" | grep -c '\.')" \
    "without SPOOL_TESTDATA the test data is exactly what is shipped"

ok "make demo's script passes in the copy" \
    env -u SPOOL_TESTDATA BUILD="$SPOOL_BUILD" sh "$T/lone/tools/demo.sh"
like "$(grep -c 'event=delivered' "$T/lone/demo/high.log")" '^[1-9][0-9]*$' \
    "the demo's files were delivered on high"
