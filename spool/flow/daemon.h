/*
 * daemon.h - the flows of a running node: intake from hot folders, the
 * batcher, import, the work of jobs, answers and status files.
 *
 * spoold runs them from its event loop; spoolctl runs the same code when
 * no daemon is running (flush), under the node lock that a daemon holds
 * for its life, so only one process at a time moves a node's files.
 *
 * Every flow follows the spool discipline (docs/DECISIONS.md, "The
 * daemon"): make the new thing durably under a private name, commit the
 * fact in the store, then remove the old thing; at start, the disk plus
 * the store say what to finish, and finishing twice has no effect.
 */
#ifndef SPOOL_DAEMON_H
#define SPOOL_DAEMON_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "spool/base/error.h"
#include "spool/keys/key.h"
#include "spool/node/node.h"
#include "spool/store/store.h"

struct spool_manifest;
struct spool_reaper;
struct spool_schema;

/* Ids of requests whose state changed, for status files (may repeat). */
struct spool_idlist {
	char (*v)[SPOOL_ID_MAX];
	size_t n, cap;
};

struct spool_daemon {
	struct spool_node *node;   /* borrowed */
	struct spool_store *st;    /* owned */
	struct spool_manifest *manifest;
	struct spool_schema *request_schema;
	struct spool_seckey sk;
	int lock_fd;               /* store/lock, flock'd */
	int store_fd;              /* store/, for syncfs */
	/* one line per event, key=value (NULL: stderr) */
	void (*log)(void *arg, const char *line);
	void *log_arg;
	/* state the loop looks at */
	int disk_full;             /* intake paused: no space */
	char disk_full_why[SPOOL_ERR_MSG_MAX + 64];
	int64_t last_out;          /* ms: last batch written, any peer */
	int64_t started;           /* ms: when opened */
	struct spool_idlist changed;
	struct spool_reaper *reaper; /* unlinks store/reap/ (reaper.c) */
	uint64_t taken, rejected, imported, quarantined, written;
};

/* Open a node's daemon context: lock the node (SPOOL_ERR_BUSY with the
 * holder's pid when another process holds it and wait is 0), open the
 * store, compile the schemas, read the secret key. */
int spool_daemon_open(struct spool_daemon **out, struct spool_node *n,
    int wait, spool_err *err);
void spool_daemon_close(struct spool_daemon *d);

/* Log one event: "event=NAME k=v ..." (values quoted when needed). */
void spool_daemon_log(struct spool_daemon *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* A log value, quoted when it needs to be ("-" for NULL). */
const char *spool_logq(char *buf, size_t n, const char *s);

/* Finish what a crash left: claimed intake files, planned batches,
 * incomplete pairs in out/, temp files. */
int spool_daemon_recover(struct spool_daemon *d, spool_err *err);

/* ---- intake (intake.c) ---- */

/* 1 if a hot-folder name is one intake ignores (".x", "x.tmp", "x.part",
 * "x~"). */
int spool_intake_ignored(const char *name);
/* Take the complete files of hot folder in/folder/ (all of them when
 * names is NULL, else those named), as one group: claimed, copied into
 * blobs, made durable, committed, removed.  Files younger than the settle
 * time are left for later: *retry_ms says when to look again (0: none).
 * Refused files go to rejected/ with NAME.error.json.  When the disk is
 * full, the files stay in in/ and d->disk_full says so. */
int spool_intake_folder(struct spool_daemon *d, const char *folder,
    char *const *names, size_t nnames, int64_t *retry_ms, spool_err *err);
/* Every hot folder. */
int spool_intake_scan(struct spool_daemon *d, int64_t *retry_ms,
    spool_err *err);
/* Files left claimed in store/intake/ (a crash, or a put-back that found
 * the name taken again): removed if committed, else taken now. */
int spool_intake_recover(struct spool_daemon *d, spool_err *err);

/* ---- the batcher (outbox.c) ---- */

/* Write batches for every peer whose pending lines are due (max_items,
 * max_age), or all pending lines when force; a heartbeat to a peer that
 * got nothing for [batch] heartbeat.  *next_ms: when something becomes
 * due (0: nothing waits). */
int spool_outbox_run(struct spool_daemon *d, int force, int64_t *next_ms,
    spool_err *err);

/* ---- import (inbox.c) ---- */

/* Import every complete pair in import/ (the .minisig marks it). */
int spool_inbox_scan(struct spool_daemon *d, spool_err *err);
/* Import the pair import/name (NAME.batch); no effect if it is not
 * complete. */
int spool_inbox_take(struct spool_daemon *d, const char *name,
    spool_err *err);

/* ---- work (work.c) ---- */

/* Run claimable tasks until none is left (a worker process calls it). */
int spool_work_run(struct spool_daemon *d, const char *worker,
    size_t *ran, spool_err *err);
/* Put the results of processed requests in the outbox. */
int spool_answer_run(struct spool_daemon *d, spool_err *err);

/* ---- retention (gc.c) ---- */

struct spool_gc_stats {
	uint64_t jobs, seen, archived, results, released, status, blobs;
	uint64_t blob_bytes;
};
/* "jobs=N seen=N archive=N results=N released=N status=N blobs=N
 * bytes=N": the log's, spoold's answer's and spoolctl's form. */
void spool_gc_format(const struct spool_gc_stats *gs, char *out, size_t n);
/* Apply [retention] now. */
int spool_gc_run(struct spool_daemon *d, struct spool_gc_stats *gs,
    spool_err *err);

/* ---- status files (status.c) ---- */

/* Rewrite status/<id>.json of every request in d->changed and
 * status/summary.json, then empty d->changed. */
int spool_status_flush(struct spool_daemon *d, spool_err *err);
/* Append id (a repeat of the last one is dropped); -1 out of memory, which
 * for d->changed only makes a status file late (the callers ignore it). */
int spool_idlist_add(struct spool_idlist *l, const char *id);

#endif
