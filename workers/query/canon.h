/*
 * canon.h - the cache key of a query: the canonical JSON of its source
 * and params (docs/DECISIONS.md, "Query").
 *
 * No GDAL, no SQL, only jansson: this is the one piece of the query
 * worker that spoold and spoolctl need too (the caches on both nodes are
 * keyed by it), so it can move into libspool as it is.
 */
#ifndef SPOOL_QUERY_CANON_H
#define SPOOL_QUERY_CANON_H

#include <jansson.h>

/* The key of a query of the named source: a malloc'd NUL-terminated
 * string, the compact JSON {"params":{...},"source":NAME} with the keys
 * of every object sorted bytewise (UTF-8) and no whitespace, params
 * without "fresh" (which asks for a new answer and is no part of the
 * question).  Numbers keep the form jansson parsed them into (1 and 1.0
 * differ); strings are written as UTF-8 with JSON's mandatory escapes.
 * Two requests have the same key exactly when they ask the same thing
 * with the same spelling.  NULL when params is not an object or memory
 * ran out. */
char *query_cache_key(const char *source, const json_t *params);

#endif
