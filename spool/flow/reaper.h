/*
 * reaper.h - files done with (reaper.c, private to libspool) leave by a
 * rename into store/reap/ (named id, unique), and a thread unlinks them
 * there when intake is quiet (now: at once).  spool_reap returns 1 when
 * path is gone (moved, or unlinked here when it cannot be moved).
 */
#ifndef SPOOL_REAPER_H
#define SPOOL_REAPER_H

#include "spool/base/error.h"
#include "spool/flow/daemon.h"

int spool_reaper_start(struct spool_daemon *d, spool_err *err);
void spool_reaper_kick(struct spool_daemon *d, int now);
/* The daemon is busy (writing a batch): files waiting are left for a
 * quiet second, as while intake runs. */
void spool_reaper_busy(struct spool_daemon *d);
void spool_reaper_stop(struct spool_daemon *d);
int spool_reap(struct spool_daemon *d, const char *path, const char *id);

#endif
