# pg.sh - a throwaway PostgreSQL cluster for tests (source after lib.sh).
#
#   pg_start [-c name=value ...]   initdb into a fresh directory, start the
#                                  server on a Unix socket there (no TCP);
#                                  exports PGHOST, PGUSER, PGDATABASE and
#                                  PG_URL (postgresql:// form)
#   pg_stop                        stop it and remove the directory (also
#                                  done at exit)
#   pg_postgis [DB]                create DB (default spoolgis) with the
#                                  postgis extension; exports GIS_URL
# Debian's server binaries (package postgresql) are required: a missing
# server is a failure, never a skip.  As root the server runs as the
# 'postgres' user (initdb refuses root).
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
PGD=""

# At exit: the daemons of daemon.sh first (its own trap is replaced by
# this one, and they hold connections), then the server, then $T.
_pg_exit() {
	if command -v _stop_all > /dev/null 2>&1; then
		_stop_all
	fi
	pg_stop
	[ "${KEEP:-0}" = 1 ] || rm -rf "$T"
}

pg_start() {
	if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
		diag "PostgreSQL server binaries not found (apt-get install postgresql)"
		return 1
	fi
	PGD=$(mktemp -d /tmp/spool-pg-XXXXXX) || return 1
	trap _pg_exit EXIT
	as=""
	# the socket's directory is reachable by every user, like Debian's
	# /var/run/postgresql: workers run as nobody (the data stays 0700)
	chmod 755 "$PGD" || return 1
	if [ "$(id -u)" = 0 ]; then
		chown postgres "$PGD" || return 1
		as="runuser -u postgres --"
	fi
	if ! $as "$PGBIN/initdb" -D "$PGD/data" -A trust -U spool -E UTF8 \
	    --no-sync > "$PGD/initdb.log" 2>&1; then
		sed 's/^/#   /' "$PGD/initdb.log" | tail -n 5
		return 1
	fi
	if ! $as "$PGBIN/pg_ctl" -D "$PGD/data" -l "$PGD/server.log" -w -t 60 \
	    -o "-k $PGD -c listen_addresses= $*" start > /dev/null 2>&1; then
		sed 's/^/#   /' "$PGD/server.log" | tail -n 5
		return 1
	fi
	export PGHOST="$PGD" PGUSER=spool PGDATABASE=postgres
	export PG_URL="postgresql://spool@/postgres?host=$PGD"
}

pg_stop() {
	[ -n "$PGD" ] || return 0
	if [ -d "$PGD/data" ]; then
		as=""
		[ "$(id -u)" = 0 ] && as="runuser -u postgres --"
		$as "$PGBIN/pg_ctl" -D "$PGD/data" -m fast -w stop > /dev/null 2>&1
	fi
	rm -rf "$PGD"
	PGD=""
}

pg_postgis() {
	_db=${1:-spoolgis}
	psql -qAt -d postgres -c "CREATE DATABASE $_db" > /dev/null 2>&1 || return 1
	psql -qAt -d "$_db" -c "CREATE EXTENSION postgis" > /dev/null 2>&1 || {
		diag "CREATE EXTENSION postgis failed (apt-get install postgresql-15-postgis-3)"
		return 1
	}
	export GIS_URL="postgresql://spool@/$_db?host=$PGD"
}
