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
 * complete. */
int spool_inbox_take(struct spool_daemon *d, const char *name,
    spool_err *err);

#endif
