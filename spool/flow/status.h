/*
 * status.h - the node at a glance, as JSON documents: what
 * status/summary.json and `spoolctl status --json` show, and
 * status/<id>.json of one request.
 */
#ifndef SPOOL_STATUS_H
#define SPOOL_STATUS_H

#include <jansson.h>

#include "spool/base/error.h"
#include "spool/flow/daemon.h"
#include "spool/node/node.h"
#include "spool/store/store.h"

int spool_status_summary(struct spool_store *st, const struct spool_node *n,
    json_t **out, spool_err *err);
int spool_status_request(struct spool_store *st, const char *id,
    json_t **out, spool_err *err);

/* Remove status/<id>.json files older than cutoff whose request is final
 * (or forgotten); returns how many. */
uint64_t spool_status_expire(struct spool_store *st, const char *dir,
    int64_t cutoff);

/* Rewrite status/<id>.json of every request whose state changed in d and
 * status/summary.json. */
int spool_status_flush(struct spool_daemon *d, spool_err *err);

#endif
