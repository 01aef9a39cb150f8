/*
 * qlocal.h - the requesting node's cache of query answers (issue 18): a
 * query identical to one answered within [query] local_ttl is answered
 * at once from that answer, without a batch.
 */
#ifndef SPOOL_QLOCAL_H
#define SPOOL_QLOCAL_H

#include "spool/base/error.h"
#include "spool/flow/daemon.h"

/* Answer from this node's results every waiting query that can be (its
 * params say not "fresh": true); *n how many (may be NULL).  Called by
 * the batcher before it plans, so an answered query never leaves. */
int spool_query_local_answers(struct spool_daemon *d, size_t *n,
    spool_err *err);

#endif
