/*
 * qcache.c - the processing node's query cache (qcache.h).
 */
#include <stdio.h>
#include <string.h>

#include "spool/store/db.h"
#include "spool/store/list.h"
#include "spool/store/qcache.h"
#include "spool/store/store.h"
#include "spool/store/store_impl.h"

int
spool_qcache_lookup(struct spool_store *st, const char *key,
    const char *fingerprint, char request[SPOOL_ID_MAX], int *found,
    spool_err *err)
{
	int64_t now = spool_store_now(st);
	struct spool_dbres res;
	const char *fp;
	int r, fresh;

	*found = 0;
	if ((r = st_q(st, &res, err, "SELECT request, fingerprint, expires "
	    "FROM query_cache WHERE key = ?", DBS(key))) != SPOOL_OK)
		return r;
	if (res.nrows == 0) {
		spool_dbres_release(&res);
		return SPOOL_OK;
	}
	fp = spool_dbres_text(&res, 0, 1);
	fresh = spool_dbres_int(&res, 0, 2) > now &&
	    strcmp(fp ? fp : "", fingerprint ? fingerprint : "") == 0;
	if (fresh)
		snprintf(request, SPOOL_ID_MAX, "%s", spool_dbres_text(&res, 0,
		    0));
	spool_dbres_release(&res);
	if (!fresh)
		return st_q(st, NULL, err, "DELETE FROM query_cache WHERE key "
		    "= ?", DBS(key));
	*found = 1;
	return st_q(st, NULL, err, "UPDATE query_cache SET hits = hits + 1 "
	    "WHERE key = ?", DBS(key));
}

int
spool_qcache_put(struct spool_store *st, const char *key, const char *source,
    const char *request, const char *fingerprint, int64_t ttl_ms,
    spool_err *err)
{
	int64_t now = spool_store_now(st);
	int r;

	if ((r = st_q(st, NULL, err, "DELETE FROM query_cache WHERE key = ?",
	    DBS(key))) != SPOOL_OK)
		return r;
	return st_q(st, NULL, err, "INSERT INTO query_cache (key, source, "
	    "request, fingerprint, created, expires) VALUES (?, ?, ?, ?, ?, ?)",
	    DBS(key), DBS(source), DBS(request), DBS(fingerprint), DBI(now),
	    DBI(now + ttl_ms));
}

int
spool_qcache_clear(struct spool_store *st, const char *source, uint64_t *n,
    spool_err *err)
{
	struct spool_dbres res;
	int r;

	if (source != NULL)
		r = st_q(st, &res, err, "DELETE FROM query_cache WHERE source = "
		    "? RETURNING key", DBS(source));
	else
		r = st_q0(st, &res, err, "DELETE FROM query_cache RETURNING "
		    "key");
	if (r != SPOOL_OK)
		return r;
	if (n != NULL)
		*n = res.nrows;
	spool_dbres_release(&res);
	return SPOOL_OK;
}

int
spool_qcache_list(struct spool_store *st,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err)
{
	struct spool_dbres res;

	return st_rows_out(st_q0(st, &res, err, "SELECT key, source, request, "
	    "fingerprint, hits, created, expires FROM query_cache ORDER BY "
	    "created DESC, key LIMIT 10000"), &res, fn, arg);
}
