/*
 * qcache.h - the processing node's cache of query answers (issue 18):
 * identical queries of a source (the same cache key) within the source's
 * cache_ttl are answered by the request that answered first, while the
 * source is as it was then (its fingerprint).
 */
#ifndef SPOOL_QCACHE_H
#define SPOOL_QCACHE_H

#include <stdint.h>

#include "spool/base/error.h"
#include "spool/store/store.h"

/* The request whose answer serves key, if any: *found 1 and request
 * set, its hit counted.  An entry past its time, or whose source's
 * fingerprint is not fingerprint now, is dropped (not found). */
int spool_qcache_lookup(struct spool_store *st, const char *key,
    const char *fingerprint, char request[SPOOL_ID_MAX], int *found,
    spool_err *err);
/* request answered key from source: it serves for ttl_ms. */
int spool_qcache_put(struct spool_store *st, const char *key,
    const char *source, const char *request, const char *fingerprint,
    int64_t ttl_ms, spool_err *err);
/* Forget the entries of source (every entry when NULL); *n how many. */
int spool_qcache_clear(struct spool_store *st, const char *source,
    uint64_t *n, spool_err *err);
/* Entries, newest first: key source request fingerprint hits created
 * expires. */
int spool_qcache_list(struct spool_store *st,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err);

#endif
