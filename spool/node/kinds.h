/*
 * kinds.h - what the configuration says to each kind of processing: the
 * params a raster or vector hot folder gives its requests (its preset),
 * and the settings a worker of a kind gets with each task on the
 * processing node (docs/WORKERS.md, "config").
 */
#ifndef SPOOL_KINDS_H
#define SPOOL_KINDS_H

#include <jansson.h>

#include "spool/job/job.h"
#include "spool/node/config.h"
#include "spool/node/node.h"

/* The params a file dropped in folder f starts with: f's preset keys
 * over [raster] / [vector] (an empty object for other types); NULL when
 * out of memory. */
json_t *spool_preset_params(const struct spool_config *c,
    const struct spool_conf_folder *f);

/* The "config" of a task of kind on node n (a query's names its source
 * from the request's params); NULL when out of memory. */
json_t *spool_kind_config(const struct spool_node *n, const char *kind,
    const struct spool_task *t, struct spool_store *st);

/* The worker program of kind: beside this program's executable under
 * libexec/spool/ (the build tree), else LIBEXECDIR/spool/.  0 when it is
 * there and executable (out holds its path either way). */
int spool_worker_program(const char *kind, char *out, size_t n);

/* Why this node cannot start a job for a request of type with params
 * and a file (has_file), in why; 0 when it can. */
int spool_kind_refuses(const struct spool_config *c, const char *type,
    const json_t *params, int has_file, char *why, size_t n);

/* What a query source is now, for the cache: a file source's
 * dev:ino:size:mtime, "" for a database (its cache lasts cache_ttl, and
 * a vector load into it clears it). */
void spool_source_fingerprint(const struct spool_conf_source *src,
    char *out, size_t n);

/* The key of a query's answer in the caches: "q" and the BLAKE2b-256
 * hex of the canonical JSON (keys sorted, compact) of its params without
 * "fresh".  -1 when params is not an object or out of memory. */
#define SPOOL_CACHE_KEY_MAX 72
int spool_query_cache_key(const json_t *params, char out[SPOOL_CACHE_KEY_MAX]);

#endif
