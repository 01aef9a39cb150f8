/*
 * blobref.c - blobs in the store: which exist, who holds on to them, and
 * which nobody does any more (gc).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "spool/base/error.h"
#include "spool/store/blobref.h"
#include "spool/store/db.h"
#include "spool/store/store.h"
#include "spool/store/store_impl.h"

int
spool_store_blob_add(struct spool_store *st, const char *hash,
    uint64_t size, const char *path, spool_err *err)
{
	return st_q(st, NULL, err, "INSERT INTO blob (hash, size, path, "
	    "created) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", DBS(hash),
	    DBI(size), DBS(path), DBI(spool_store_now(st)));
}

int
spool_store_blob_ref(struct spool_store *st, const char *hash,
    const char *owner, const char *role, spool_err *err)
{
	return st_q(st, NULL, err, "INSERT INTO blob_ref (hash, owner, role) "
	    "VALUES (?, ?, ?) ON CONFLICT DO NOTHING", DBS(hash), DBS(owner),
	    DBS(role));
}

int
spool_store_blob_unref(struct spool_store *st, const char *hash,
    const char *owner, const char *role, spool_err *err)
{
	return st_q(st, NULL, err, "DELETE FROM blob_ref WHERE hash = ? AND "
	    "owner = ? AND role = ?", DBS(hash), DBS(owner), DBS(role));
}

int
spool_store_blob_orphans(struct spool_store *st,
    int (*fn)(void *, const char *, const char *), void *arg, spool_err *err)
{
	struct spool_dbres res;
	size_t i;
	int r;

	if ((r = st_q0(st, &res, err, "SELECT hash, path FROM blob WHERE NOT "
	    "EXISTS (SELECT 1 FROM blob_ref WHERE blob_ref.hash = blob.hash) "
	    "ORDER BY hash")) != SPOOL_OK)
		return r;
	for (i = 0; i < res.nrows && r == SPOOL_OK; i++)
		r = fn(arg, spool_dbres_text(&res, i, 0),
		    spool_dbres_text(&res, i, 1));
	spool_dbres_release(&res);
	return r;
}

int
spool_store_blob_forget(struct spool_store *st, const char *hash,
    spool_err *err)
{
	return st_q(st, NULL, err, "DELETE FROM blob WHERE hash = ? AND NOT "
	    "EXISTS (SELECT 1 FROM blob_ref WHERE blob_ref.hash = ?)",
	    DBS(hash), DBS(hash));
}

int
spool_store_blob_has(struct spool_store *st, const char *hash, int *has,
    spool_err *err)
{
	struct spool_dbres res;
	int r;

	if ((r = st_q(st, &res, err, "SELECT 1 FROM blob WHERE hash = ?",
	    DBS(hash))) != SPOOL_OK)
		return r;
	*has = res.nrows > 0;
	spool_dbres_release(&res);
	return SPOOL_OK;
}

int
spool_store_releasable(struct spool_store *st, int64_t cutoff, size_t limit,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err)
{
	struct spool_dbres res;
	int r;

	/* final requests, untouched since cutoff, that still hold blobs and
	 * have nothing left to send (no line waiting or only planned) */
	r = st_q(st, &res, err, "SELECT r.id FROM request r WHERE "
	    "r.state IN ('completed', 'failed', 'expired', 'cancelled', "
	    "'succeeded', 'rejected') AND r.updated < ? AND EXISTS (SELECT 1 "
	    "FROM blob_ref b WHERE b.owner = r.id) AND NOT EXISTS (SELECT 1 "
	    "FROM outbox o LEFT JOIN batch t ON t.id = o.batch WHERE "
	    "o.request = r.id AND (o.batch IS NULL OR t.state = 'planned')) "
	    "ORDER BY r.updated LIMIT ?", DBI(cutoff), DBI(limit));
	return st_rows_out(r, &res, fn, arg);
}

int
spool_store_blob_release(struct spool_store *st, const char *owner,
    spool_err *err)
{
	return st_q(st, NULL, err, "DELETE FROM blob_ref WHERE owner = ?",
	    DBS(owner));
}

int
spool_store_blob_is_ref(struct spool_store *st, const char *hash,
    const char *owner, const char *role, int *yes, spool_err *err)
{
	struct spool_dbres res;
	int r;

	if ((r = st_q(st, &res, err, "SELECT 1 FROM blob_ref WHERE hash = ? "
	    "AND owner = ? AND role = ?", DBS(hash), DBS(owner), DBS(role))) !=
	    SPOOL_OK)
		return r;
	*yes = res.nrows > 0;
	spool_dbres_release(&res);
	return SPOOL_OK;
}
