/*
 * steps.h - the sequences of flows a node runs as one (steps.c): what a
 * start finishes, and what a flush does, in spoold or in spoolctl.
 */
#ifndef SPOOL_STEPS_H
#define SPOOL_STEPS_H

#include <stdint.h>

#include "spool/base/error.h"
#include "spool/flow/daemon.h"

/* Finish what a crash left: claimed intake files, planned batches,
 * incomplete pairs in out/, temp files. */
int spool_daemon_recover(struct spool_daemon *d, spool_err *err);

/* Take what is in the hot folders now, answer processed requests, batch
 * everything pending, rewrite the status files; SPOOL_ERR_SYS "intake is
 * paused: ..." when the disk is full.  *next_ms: when the outbox is due
 * next (0: nothing waits). */
int spool_daemon_flush(struct spool_daemon *d, int64_t *next_ms,
    spool_err *err);

#endif
