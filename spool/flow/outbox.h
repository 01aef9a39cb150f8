/*
 * outbox.h - the batcher (outbox.c): pending manifest lines become
 * signed batch pairs in out/, per peer, when due.
 */
#ifndef SPOOL_OUTBOX_H
#define SPOOL_OUTBOX_H

#include <stdint.h>

#include "spool/base/error.h"
#include "spool/flow/daemon.h"

/* Write batches for every peer whose pending lines are due: all of
 * them once the oldest is max_age old, else only full batches
 * (max_items lines, or what max_bytes holds); all pending lines when
 * force; a heartbeat to a peer that got nothing for [batch] heartbeat.
 * *next_ms: when something becomes due (0: nothing waits),
 * on the schedule's clock (spool_store_sched).  Cheap when
 * nothing is due: run it after every step that adds lines. */
int spool_outbox_run(struct spool_daemon *d, int force, int64_t *next_ms,
    spool_err *err);
/* Finish what a crash left: planned batches written again under their
 * seq, incomplete pairs in out/. */
int spool_outbox_recover(struct spool_daemon *d, spool_err *err);

#endif
