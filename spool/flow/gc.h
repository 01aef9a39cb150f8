/*
 * gc.h - retention (gc.c): [retention] applied to the store, the
 * archives, results, status files and blobs.
 */
#ifndef SPOOL_GC_H
#define SPOOL_GC_H

#include <stddef.h>
#include <stdint.h>

#include "spool/base/error.h"
#include "spool/flow/daemon.h"

struct spool_gc_stats {
	uint64_t jobs, seen, archived, results, released, status, blobs;
	uint64_t blob_bytes;
};
/* "jobs=N seen=N archive=N results=N released=N status=N blobs=N
 * bytes=N": the log's, spoold's answer's and spoolctl's form. */
void spool_gc_format(const struct spool_gc_stats *gs, char *out, size_t n);
/* Apply [retention] now. */
int spool_gc_run(struct spool_daemon *d, struct spool_gc_stats *gs,
    spool_err *err);

#endif
