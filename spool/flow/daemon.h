/*
 * daemon.h - the context of a running node (daemon.c): its lock, store,
 * schemas and key, its event log, and what the loop asks of it.
 *
 * spoold runs the flows (intake.h, outbox.h, inbox.h, work.h, gc.h,
 * status.h) from its event loop; spoolctl runs the same code when no
 * daemon is running (steps.h: flush), under the node lock that a daemon
 * holds for its life, so only one process at a time moves a node's files.
 *
 * Every flow follows the spool discipline (docs/DECISIONS.md, "The
 * daemon"): make the new thing durably under a private name, commit the
 * fact in the store, then remove the old thing; at start, the disk plus
 * the store say what to finish, and finishing twice has no effect.
 *
 * The context is opaque: programs use the functions below.
 */
#ifndef SPOOL_DAEMON_H
#define SPOOL_DAEMON_H

#include <stddef.h>
#include <stdint.h>

#include "spool/base/error.h"
#include "spool/node/node.h"
#include "spool/store/store.h"

struct spool_daemon;

/* Open a node's daemon context: lock the node (SPOOL_ERR_BUSY with the
 * holder's pid when another process holds it and wait is 0), open the
 * store, compile the schemas, read the secret key. */
int spool_daemon_open(struct spool_daemon **out, struct spool_node *n,
    int wait, spool_err *err);
/* In a child that must hold nothing of the node (the supervisor of
 * workers): close the node lock, wipe the secret key. */
void spool_daemon_forget(struct spool_daemon *d);
void spool_daemon_close(struct spool_daemon *d);

/* In a worker process forked from the daemon: a context of its own (its
 * own store connection and list of changed requests, no reaper thread)
 * sharing the parent's schemas and key; the node lock's descriptor is
 * closed here, so a restarted daemon can take the lock while this
 * process lives.  Closed with spool_daemon_close. */
int spool_daemon_fork_open(struct spool_daemon **out,
    struct spool_daemon *parent, spool_err *err);

/* Log one event on stderr: fmt is "event=NAME k=v ..." (values quoted
 * when needed: spool_logq, base/logfmt.h); the line is "time=...
 * level=L node=N " and that.  The level is the event's
 * (spool_log_event_level); lines less severe than [log] level are not
 * written; when stderr is the journal (JOURNAL_STREAM names it) the line
 * starts with "<N>", its syslog priority.  _logl gives the level
 * (SPOOL_LOG_*) itself. */
void spool_daemon_log(struct spool_daemon *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void spool_daemon_logl(struct spool_daemon *d, int level, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));
/* A log says what is: the lines a transaction logs are held from _hold
 * (which drops what an earlier try held: the store runs a transaction
 * again when it is busy) and written by _release(d, 1) once it has
 * committed, or dropped by _release(d, 0) when it rolled back. */
void spool_daemon_log_hold(struct spool_daemon *d);
void spool_daemon_log_release(struct spool_daemon *d, int write);
/* The same line from a process without a daemon context (spoold's
 * supervisor of the worker pools): c's node name and [log] level (NULL:
 * "-" and info). */
void spool_log(const struct spool_config *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void spool_logl(const struct spool_config *c, int level, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));
/* The level of an event name (len bytes of event): err for error and
 * reload-failed, warning for refusals, a full disk, lost workers and
 * failed tasks, notice for the daemon's life (starting, ready, stopping,
 * reloaded, gc...), debug for sweeps, info for the rest. */
int spool_log_event_level(const char *event, size_t len);
/* 1 when stderr is the journal (JOURNAL_STREAM names it), else 0. */
int spool_log_to_journal(void);
/* "err" "warning" "notice" "info" "debug" */
const char *spool_log_level_name(int level);

/* The context's store (owned by the context). */
struct spool_store *spool_daemon_store(struct spool_daemon *d);
/* The configuration reloaded: n replaces the node (borrowed). */
void spool_daemon_set_node(struct spool_daemon *d, struct spool_node *n);

/* A request changed elsewhere (the workers' supervisor): its status
 * file is rewritten with the next ones. */
void spool_daemon_changed(struct spool_daemon *d, const char *id);

/* When import/ wants another look (a lone .minisig waiting for its
 * .batch), on the schedule's clock; 0: none.  Read once. */
int64_t spool_daemon_inbox_due(struct spool_daemon *d);
/* The SQLite store's file was deleted or replaced under the daemon
 * (its identity looked at now): 1, said in the log once, and intake
 * paused for good (spool_daemon_paused says why); 0 while it is the
 * file opened (or the store is PostgreSQL). */
int spool_daemon_store_lost(struct spool_daemon *d);
/* Intake paused (the disk is full, the store lost): why (NULL when not
 * paused). */
const char *spool_daemon_paused(const struct spool_daemon *d);
/* Let intake try again at its next step. */
void spool_daemon_unpause(struct spool_daemon *d);

/* The daemon says it runs: spoold, once ready, marks the node lock it
 * holds (its pid and start time in store/lock, and a POSIX record lock
 * on it that another process can test without taking it). */
int spool_daemon_announce(struct spool_daemon *d, spool_err *err);
/* Whether a daemon announced itself on node n and still runs: 1 with
 * *pid and *since_ms (when it started), 0 when none runs, -1 when the
 * lock cannot be read (another user's node).  Not from the announcing
 * process itself: closing any descriptor of a file drops the process's
 * record locks on it. */
int spool_daemon_probe(const struct spool_node *n, long *pid,
    int64_t *since_ms);

/* What the context did since it was opened. */
struct spool_daemon_counts {
	uint64_t taken, rejected, imported, quarantined, written;
};
void spool_daemon_counts(const struct spool_daemon *d,
    struct spool_daemon_counts *c);

#endif
