/*
 * daemon_impl.h - the daemon context as the flows see it (private to
 * libspool): its fields, the list of changed requests, syncing.
 */
#ifndef SPOOL_DAEMON_IMPL_H
#define SPOOL_DAEMON_IMPL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "spool/base/error.h"
#include "spool/base/logfmt.h"
#include "spool/flow/daemon.h"
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

/* A file intake leaves where it is for now (intake.c): one held open
 * under a lease, tried again with backoff, or one spoold may not move,
 * tried again only once it changes.  Each is said once. */
struct spool_held {
	char folder[80];
	char name[NAME_MAX + 1];
	uint64_t dev, ino;
	int64_t ctime;  /* ns, for one left until it changes */
	int64_t due;    /* monotonic ms to try again; 0: when it changes */
	int64_t delay;  /* ms, doubled up to a minute */
	int room;       /* waits for room on the disk */
	char why[160];  /* for a room wait: what status says */
};
#define SPOOL_HELD_MAX 4096

struct spool_daemon {
	struct spool_node *node;   /* borrowed */
	struct spool_store *st;    /* owned */
	struct spool_manifest *manifest;
	struct spool_schema *request_schema;
	struct spool_seckey sk;
	int forked;                /* spool_daemon_fork_open's: the above
	                              but st are the parent's */
	int lock_fd;               /* store/lock, flock'd */
	int store_fd;              /* store/, for syncfs */
	int journal;               /* stderr is the journal: "<N>" first */
	/* state the loop looks at */
	/* the SQLite store's file as opened: deleted or replaced under
	 * the daemon, nothing more is taken (spool_daemon_store_lost) */
	char store_file[PATH_MAX];
	uint64_t store_dev, store_ino;
	int store_lost;
	char store_lost_why[PATH_MAX + 256];
	int64_t inbox_due;         /* a lone .minisig to look at, or a pair
	                            * to try again (inbox.c) */
	int64_t import_retry_ms;   /* the wait after a transient failure */
	int disk_full;             /* intake paused: no space */
	char disk_full_why[SPOOL_ERR_MSG_MAX + 64];
	int64_t started;           /* ms: when opened (a wall-clock fact) */
	struct spool_out_at {      /* last batch to each peer (outbox.c) */
		char peer[SPOOL_NAME_MAX + 1];
		int64_t at;        /* schedule ms (spool_store_sched) */
	} out[64];
	size_t nout;
	struct spool_idlist changed;
	struct spool_held *held;   /* files intake leaves for now */
	int acl_said;              /* results' ACLs cannot be set: said */
	size_t nheld;
	struct spool_reaper *reaper; /* unlinks store/reap/ (reaper.c) */
	/* lines logged while a transaction runs, written at its commit
	 * (spool_daemon_log_hold) */
	struct spool_held_log {
		int level;
		char *text;
	} *hlog;
	size_t nhlog;
	int hlogging;
	uint64_t taken, rejected, imported, quarantined, written;
	uint64_t refused[16];      /* by enum spool_refusal (intake.h) */
};

#define LQ(s) spool_logq((char[600]){ 0 }, 600, (s))

/* syncfs() of the node's filesystem: data and renames so far. */
int spool_daemon_sync(struct spool_daemon *d, spool_err *err);

/* Append id (a repeat of the last one is dropped); -1 out of memory, which
 * for d->changed only makes a status file late (the callers ignore it). */
int spool_idlist_add(struct spool_idlist *l, const char *id);

/* ms -> RFC 3339 with milliseconds when not whole seconds. */
void spool_time_ms(char out[32], int64_t ms);

#endif
