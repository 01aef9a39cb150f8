/*
 * blobref.h - blobs as the store knows them: which exist, who refers to
 * them, which nobody needs any more (blobref.c; the files themselves:
 * blobstore.h).
 */
#ifndef SPOOL_BLOBREF_H
#define SPOOL_BLOBREF_H

#include <stddef.h>
#include <stdint.h>

#include "spool/base/error.h"
#include "spool/store/store.h"

int spool_store_blob_add(struct spool_store *st, const char *hash,
    uint64_t size, const char *path, spool_err *err);
int spool_store_blob_ref(struct spool_store *st, const char *hash,
    const char *owner, const char *role, spool_err *err);
int spool_store_blob_unref(struct spool_store *st, const char *hash,
    const char *owner, const char *role, spool_err *err);
/* Blobs nobody refers to (for gc): calls fn(hash, path) for each. */
int spool_store_blob_orphans(struct spool_store *st,
    int (*fn)(void *arg, const char *hash, const char *path), void *arg,
    spool_err *err);
int spool_store_blob_forget(struct spool_store *st, const char *hash,
    spool_err *err);
int spool_store_blob_has(struct spool_store *st, const char *hash, int *has,
    spool_err *err);
/* owner holds hash in role (a request's "input", "output", "part"). */
int spool_store_blob_is_ref(struct spool_store *st, const char *hash,
    const char *owner, const char *role, int *yes, spool_err *err);

/* Requests whose blobs may go (gc): final, unchanged since cutoff,
 * holding blob references, with no line left to send.  Row: id */
int spool_store_releasable(struct spool_store *st, int64_t cutoff,
    size_t limit, int (*fn)(void *, const struct spool_store_row *),
    void *arg, spool_err *err);
/* Drop every blob reference owner holds. */
int spool_store_blob_release(struct spool_store *st, const char *owner,
    spool_err *err);

#endif
