#!/bin/sh
# The store's unit tests again, on PostgreSQL: a throwaway cluster, one
# fresh schema per test.  The same tests pass on SQLite in `unit`; a
# missing server fails here, never skips.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
if ! pg_start; then
	plan 1
	_report 1 "a throwaway PostgreSQL cluster starts"
	exit 1
fi
SPOOL_TEST_PG="$PG_URL" "$SPOOL_BUILD/unit" store_
