/*
 * store.h - spool's memory: opening the store, its transactions and its
 * clock.  What it holds has one header a module: batchlog.h (peers, seqs,
 * batches), request.h, blobref.h, queue.h (what the flows queue), list.h
 * (listings), lineage.h, and the job engine (spool/job/job.h).
 *
 * One interface, two backends chosen by URL:
 *   sqlite://PATH            embedded (the default, <root>/lineage.db)
 *   postgresql://...         libpq connection URI (postgres:// too)
 * Everything here is written once in portable SQL (schemas/store.sql)
 * over a small driver (db.h); nothing above this header knows which
 * backend it talks to.
 *
 * Every function that changes something runs one transaction and returns
 * only when it is durable (SQLite synchronous=FULL, PostgreSQL
 * synchronous_commit=on).  Transactions that conflict (SQLITE_BUSY past
 * the timeout, PostgreSQL deadlocks and serialization failures) are run
 * again a bounded number of times before SPOOL_ERR_BUSY is returned.
 *
 * Times are milliseconds since 1970 UTC (int64_t), from the store's clock
 * (the system clock unless a test sets one).  Ids are UUIDv7 text.
 * A store handle is used by one thread at a time.
 */
#ifndef SPOOL_STORE_H
#define SPOOL_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "spool/base/error.h"

#define SPOOL_STORE_VERSION 5
#define SPOOL_ID_MAX 37 /* a UUID and its NUL */
#define SPOOL_REF_MAX 80 /* "kind:" + a hash or UUID, and the NUL */

struct spool_store;

/* Open (creating or migrating as needed) the store at url for the node
 * named node (recorded in lineage).  A store written by a newer spool is
 * refused (SPOOL_ERR_STORE: "store schema version N is newer than this
 * spool's M"). */
int spool_store_open(struct spool_store **out, const char *url,
    const char *node, spool_err *err);
/* Tests: open without migrating past version (0 < version <=
 * SPOOL_STORE_VERSION). */
int spool_store_open_at(struct spool_store **out, const char *url,
    const char *node, int version, spool_err *err);
void spool_store_close(struct spool_store *st);

const char *spool_store_backend(const struct spool_store *st);
int spool_store_version(struct spool_store *st, int *version,
    spool_err *err);
const char *spool_store_node(const struct spool_store *st);

/* Run fn in one write transaction: everything the store functions called
 * inside it do is committed together, or nothing is.  fn may be run again
 * (a conflicting transaction is retried), so it must have no effect
 * outside the store but its own out-parameters. */
int spool_store_atomic(struct spool_store *st,
    int (*fn)(struct spool_store *st, void *arg, spool_err *err), void *arg,
    spool_err *err);

/* Run fn in one read transaction: one consistent view, and one lock
 * taken for many reads instead of one per statement.  fn may be run
 * again, like spool_store_atomic's. */
int spool_store_read(struct spool_store *st,
    int (*fn)(struct spool_store *st, void *arg, spool_err *err), void *arg,
    spool_err *err);

/* Tests and simulations: a clock other than the system's. */
void spool_store_set_clock(struct spool_store *st,
    int64_t (*now)(void *arg), void *arg);
int64_t spool_store_now(struct spool_store *st);
/* The schedule's clock: when work is due (tasks' run_at and leases, the
 * batcher's max_age), as milliseconds that a step of the system clock
 * (NTP, a restored VM) does not move: the wall clock when the store was
 * opened plus CLOCK_MONOTONIC since.  Times it gives are persisted only
 * to be compared with it again; facts (created, updated, history) keep
 * the wall clock (spool_store_now).  A process forked to share a
 * schedule (a daemon's workers) takes its parent's base.  A test clock
 * (spool_store_set_clock) is both. */
int64_t spool_store_sched(struct spool_store *st);
int64_t spool_store_sched_base(const struct spool_store *st);
void spool_store_set_sched_base(struct spool_store *st, int64_t base);
/* The system clock in milliseconds. */
int64_t spool_now_ms(void);

/* Run a read-only query of the store's own (listing helpers below). */
struct spool_store_row {
	size_t ncols;
	const char *const *col; /* NULL = SQL NULL */
};

#endif
