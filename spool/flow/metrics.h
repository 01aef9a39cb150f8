/*
 * metrics.h - status/metrics.prom, the node at a glance for Prometheus
 * (metrics.c): status.c's other half, written with summary.json (private
 * to libspool).
 */
#ifndef SPOOL_METRICS_H
#define SPOOL_METRICS_H

#include <jansson.h>

#include "spool/base/error.h"
#include "spool/flow/daemon.h"

/* Write status/metrics.prom (temp file, rename) in the text format of
 * Prometheus' node_exporter textfile collector, from summary (what
 * status/summary.json holds), the store's counts and d's own counters. */
int spool_metrics_write(struct spool_daemon *d, json_t *summary,
    spool_err *err);

/* The same text into *out (malloc'd, NUL-terminated). */
int spool_metrics_text(struct spool_daemon *d, json_t *summary, char **out,
    spool_err *err);

#endif
