/*
 * daemon_impl.h - what the daemon's flows share (private to libspool).
 */
#ifndef SPOOL_DAEMON_IMPL_H
#define SPOOL_DAEMON_IMPL_H

#include "spool/flow/daemon.h"

#define LQ(s) spool_logq((char[600]){ 0 }, 600, (s))

/* syncfs() of the node's filesystem: data and renames so far. */
int spool_daemon_sync(struct spool_daemon *d, spool_err *err);

int spool_outbox_recover(struct spool_daemon *d, spool_err *err);

/* reaper.c: files done with leave by a rename into store/reap/ (named
 * id, unique), and a thread unlinks them there when intake is quiet (now:
 * at once).  spool_reap returns 1 when path is gone (moved, or unlinked
 * here when it cannot be moved). */
int spool_reaper_start(struct spool_daemon *d, spool_err *err);
void spool_reaper_kick(struct spool_daemon *d, int now);
void spool_reaper_stop(struct spool_daemon *d);
int spool_reap(struct spool_daemon *d, const char *path, const char *id);


#include <jansson.h>

/* Write results/<request>/ for a result item (its blobs are in the blob
 * store) and point results/by-name/<folder>/<name> at it. */
int spool_results_write(struct spool_daemon *d, const json_t *item,
    const struct spool_request_info *ri, spool_err *err);

/* rm -r of a result folder (files only); by-name links left dangling
 * (under byname/<folder>/) are removed. */
void spool_results_remove(const char *dir);
void spool_results_drop_dangling(const char *byname);

/* Import's ends (inbox_place.c): the pair import/NAME to quarantine/
 * with its reason (what its .minisig says of it, if it parses, kept
 * beside it), or its verified copy into archive/received/ and the pair
 * out of import/. */
void spool_inbox_quarantine(struct spool_daemon *d, const char *dir,
    const char *name, const char *why);
int spool_inbox_archive(struct spool_daemon *d, const char *dir,
    const char *name, const char *copy, spool_err *err);

/* ms -> RFC 3339 with milliseconds when not whole seconds. */
void spool_time_ms(char out[32], int64_t ms);

#endif
