#!/bin/sh
# The throwaway PostgreSQL cluster the store tests run against starts,
# answers and stops (a missing server fails here, in CI too).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/pg.sh"
plan 5
ok "a throwaway cluster starts on a Unix socket" pg_start
is "$(psql -XAtc 'select 40 + 2' 2>&1)" 42 "psql reaches it"
ok "a database can be created" psql -Xqc 'create database spooltest'
is "$(psql -XAt -d "$PG_URL" -c 'select current_user' 2>&1)" spool "libpq's URL form reaches it"
dir=$PGD
pg_stop
ok "it stops and leaves nothing behind" test ! -e "$dir"
