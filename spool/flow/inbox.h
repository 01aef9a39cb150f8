/*
 * inbox.h - import (inbox.c): complete pairs in import/ verified, their
 * requests queued as jobs, their results delivered.
 */
#ifndef SPOOL_INBOX_H
#define SPOOL_INBOX_H

#include "spool/base/error.h"
#include "spool/flow/daemon.h"

/* Import every complete pair in import/ (spool/format/pair.h). */
int spool_inbox_scan(struct spool_daemon *d, spool_err *err);
/* Import the pair import/name (NAME.batch); no effect if it is not
 * complete, but for a NAME.batch.minisig without its NAME.batch (a pair
 * is complete only with it: DESIGN 4): removed at once when the node
 * received that pair before (archive/received holds the same bytes: what
 * an import interrupted or racing the daemon left), else quarantined
 * once it has waited ORPHAN_MS for its .batch (spool_daemon_inbox_due
 * says when to look again). */
int spool_inbox_take(struct spool_daemon *d, const char *name,
    spool_err *err);

#endif
