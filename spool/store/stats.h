/*
 * stats.h - the store counted, for status/metrics.prom (stats.c): batches
 * by direction, peer and state, tasks by kind and state, and how long the
 * finished tasks took.  Only what the store still remembers (retention
 * prunes batches, jobs and tasks): these are gauges, not counters.
 */
#ifndef SPOOL_STATS_H
#define SPOOL_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "spool/base/error.h"
#include "spool/store/store.h"

/* Rows: dir peer state count bytes (bytes: the batches' payload bytes). */
int spool_store_batch_stats(struct spool_store *st,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err);

/* Rows: type state count (the queue: tasks by kind and state). */
int spool_store_task_stats(struct spool_store *st,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err);

/* The upper bounds, in milliseconds, of the duration histogram's
 * buckets (+Inf is the count). */
#define SPOOL_TASK_BUCKETS 12
extern const int64_t spool_task_bucket_ms[SPOOL_TASK_BUCKETS];

/* Rows, one per task type of the finished tasks (from first start to
 * finish): type count sum_ms, then SPOOL_TASK_BUCKETS cumulative counts
 * (tasks that took at most each bucket's bound). */
int spool_store_task_durations(struct spool_store *st,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err);

#endif
