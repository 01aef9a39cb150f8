/*
 * store.h - spool's memory: peers and their sequence ledgers, batches,
 * requests, blobs, the job engine and lineage, in SQLite or PostgreSQL.
 *
 * One interface, two backends chosen by URL:
 *   sqlite://PATH            embedded (the default, <root>/lineage.db)
 *   postgresql://...         libpq connection URI (postgres:// too)
 * Everything here is written once in portable SQL (schemas/store.sql)
 * over a small driver (store_db.h); nothing above this header knows which
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

#include "spool/node/config.h"
#include "spool/base/error.h"

#define SPOOL_STORE_VERSION 3
#define SPOOL_ID_MAX 37 /* a UUID and its NUL */
#define SPOOL_REF_MAX 80
#define SPOOL_HASH_HEXLEN_ 64 /* hash.h's SPOOL_HASH_HEXLEN */ /* "kind:" + a hash or UUID, and the NUL */

struct spool_store;

/* Open (creating or migrating as needed) the store at url for the node
 * named node (recorded in lineage).  A store written by a newer spool is
 * refused (SPOOL_ERR_STORE: "store schema version N is newer than this
 * spool's M"). */
int spool_store_open(struct spool_store **out, const char *url,
    const char *node, spool_err *err);
/* The store of a configured node: [store] url, a relative sqlite path
 * resolved from the config file's directory. */
int spool_store_open_config(struct spool_store **out,
    const struct spool_config *c, spool_err *err);
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
/* The system clock in milliseconds. */
int64_t spool_now_ms(void);

/* ---- peers and sequence numbers -------------------------------------- */

/* Record a peer (idempotent); key_id may be NULL. */
int spool_store_peer_add(struct spool_store *st, const char *peer,
    const char *key_id, spool_err *err);

/* Take the next seq to send to peer for the batch batch_id (a UUID) and
 * record that batch as 'planned', in one transaction: every seq ever
 * taken has a batch row, so a seq is never used twice and a skipped one is
 * known (state 'abandoned').  The first seq is 1; a counter left by spool
 * 0.1 in store/seq/PEER is taken over by spool_store_open_config. */
int spool_store_batch_plan(struct spool_store *st, const char *peer,
    const char *batch_id, uint64_t *seq, spool_err *err);
/* Only when peer's counter is behind: make next_seq at least next. */
int spool_store_seq_floor(struct spool_store *st, const char *peer,
    uint64_t next, spool_err *err);

/* ---- batches ---------------------------------------------------------- */

struct spool_batch_rec {
	char id[SPOOL_ID_MAX];       /* row id */
	char batch_id[SPOOL_ID_MAX]; /* signed id; "" when unknown */
	char dir[4];                 /* "out" | "in" */
	char peer[SPOOL_NAME_MAX + 2]; /* "" when unknown */
	uint64_t seq;                /* 0 when unknown */
	uint64_t items, bytes, tar;
	char *name;                  /* file name, or NULL */
	char state[16];
	char *reason;                /* or NULL */
	int64_t created, updated;
};
void spool_batch_rec_release(struct spool_batch_rec *b);

/* A planned batch was written: 'planned' -> 'written' with its facts. */
int spool_store_batch_written(struct spool_store *st, const char *batch_id,
    const char *name, uint64_t items, uint64_t bytes, uint64_t tar,
    spool_err *err);
/* out batches: written -> exported -> acknowledged; planned -> abandoned
 * (with reason).  SPOOL_ERR_STATE for any other step. */
int spool_store_batch_set_state(struct spool_store *st, const char *batch_id,
    const char *state, const char *reason, spool_err *err);

/* A verified batch from peer arrived.  In one transaction: the ledger of
 * seen batches decides; a new one is recorded 'received' (and the
 * contiguous mark moves on), the same batch seen before (or a seq at or
 * below the mark whose record was pruned) is recorded as a 'duplicate'
 * with the reason, *duplicate set to 1; a seq seen with another batch id
 * is a conflict: nothing is recorded, *duplicate set to 2 (the caller
 * quarantines it).  id_out (may be NULL) gets the row id. */
int spool_store_batch_received(struct spool_store *st, const char *peer,
    uint64_t seq, const char *batch_id, const char *name, uint64_t items,
    uint64_t bytes, uint64_t tar, int *duplicate, char id_out[SPOOL_ID_MAX],
    spool_err *err);
/* A batch refused on import; what is known of it (peer, seq, batch_id
 * may be NULL/0). */
int spool_store_batch_quarantined(struct spool_store *st, const char *name,
    const char *peer, uint64_t seq, const char *batch_id, const char *reason,
    char id_out[SPOOL_ID_MAX], spool_err *err);
/* The peer says it has sent up to seq (heartbeats): gaps can reach the
 * tail. */
int spool_store_peer_sent_up_to(struct spool_store *st, const char *peer,
    uint64_t seq, spool_err *err);
/* Missing seqs received from peer, ascending (malloc'd, may be NULL when
 * *n is 0).  At most max are listed; *more set if there were more. */
int spool_store_gaps(struct spool_store *st, const char *peer,
    uint64_t **missing, size_t *n, size_t max, int *more, spool_err *err);
/* Forget seen-ledger rows at or below the contiguous mark received before
 * cutoff (the mark itself still refuses their replays). */
int spool_store_seen_prune(struct spool_store *st, int64_t cutoff,
    uint64_t *pruned, spool_err *err);

/* Look up by row id, signed id, or prefix of either (at least 8 chars).
 * SPOOL_ERR_NOTFOUND, or SPOOL_ERR_USAGE when a prefix is ambiguous. */
int spool_store_batch_get(struct spool_store *st, const char *id,
    struct spool_batch_rec *out, spool_err *err);

/* ---- requests --------------------------------------------------------- */

/* Submitting side: accepted batched exported acknowledged completed failed
 * expired cancelled rejected.  Processing side: imported queued running
 * succeeded failed expired cancelled. */
struct spool_request {
	char id[SPOOL_ID_MAX];
	const char *side;   /* "submit" | "process" */
	const char *type;
	const char *user;
	const char *folder; /* or NULL */
	const char *name;
	const char *peer;   /* destination / origin, or NULL */
	int priority;
	int64_t deadline;   /* 0: none */
	const char *state;
	const char *error;  /* or NULL */
	int64_t size;       /* -1: unknown */
	const char *hash;   /* or NULL */
	int64_t created, updated;
};

/* Record a new request in its first state (r->id set by the caller, or
 * made here when empty).  created 0 = now. */
int spool_store_request_add(struct spool_store *st, struct spool_request *r,
    spool_err *err);
/* Move a request to state, appending to its history; detail (may be NULL)
 * is kept with the transition, and as the request's error for failed,
 * expired and cancelled.  SPOOL_ERR_STATE if the step is not allowed. */
int spool_store_request_set_state(struct spool_store *st, const char *id,
    const char *state, const char *detail, spool_err *err);

/* ---- blobs ------------------------------------------------------------ */

int spool_store_blob_add(struct spool_store *st, const char *hash,
    uint64_t size, const char *path, spool_err *err);
int spool_store_blob_ref(struct spool_store *st, const char *hash,
    const char *owner, const char *role, spool_err *err);
int spool_store_blob_unref(struct spool_store *st, const char *hash,
    const char *owner, const char *role, spool_err *err);
/* Blobs nobody refers to (for gc): calls fn(hash, path) for each. */
int spool_store_blob_orphans(struct spool_store *st,
    int (*fn)(void *arg, const char *hash, const char *path), void *arg,
    spool_err *err);
int spool_store_blob_forget(struct spool_store *st, const char *hash,
    spool_err *err);

/* ---- jobs ------------------------------------------------------------- */

struct spool_task_spec {
	const char *type;  /* NULL: the job's type */
	const char *input; /* text (JSON by convention), or NULL */
};

struct spool_job_spec {
	const char *type;
	const char *request;   /* or NULL */
	int priority;
	int64_t deadline;      /* 0: none */
	int max_attempts;      /* >= 1 */
	size_t nstages;        /* >= 1 */
	const char *const *stage_names;
	/* the first stage's tasks (>= 1) */
	const struct spool_task_spec *tasks;
	size_t ntasks;
};

int spool_job_create(struct spool_store *st, const struct spool_job_spec *s,
    char id[SPOOL_ID_MAX], spool_err *err);

struct spool_task {
	char id[SPOOL_ID_MAX];
	char job[SPOOL_ID_MAX];
	char type[64];
	int stage, idx;
	int attempt, max_attempts;
	int priority;
	int64_t lease_until;
	int64_t created;
	char *input; /* or NULL */
};
void spool_task_release(struct spool_task *t);

/* Claim up to max runnable tasks (of type, or of any type when NULL) for
 * worker, leased for lease_ms, in priority DESC, created ASC order, never
 * making more tasks of a type run than its cap (spool_job_set_cap).
 * Before claiming it requeues tasks whose lease expired (or fails them
 * when their attempts are spent) and expires jobs past their deadline.
 * out has room for max; *n tells how many were claimed (0 is not an
 * error). */
int spool_job_claim(struct spool_store *st, const char *worker,
    const char *type, size_t max, int64_t lease_ms, struct spool_task *out,
    size_t *n, spool_err *err);
/* Extend the lease.  SPOOL_ERR_LOST if it is no longer worker's,
 * SPOOL_ERR_CANCELLED if the job was cancelled or expired meanwhile. */
int spool_job_heartbeat(struct spool_store *st, const char *worker,
    const char *task, int64_t lease_ms, spool_err *err);

/* One finished task: its result and, for a task that plans the next
 * stage, that stage's tasks. */
struct spool_task_done {
	const char *task;
	const char *result;                /* or NULL */
	const struct spool_task_spec *next; /* tasks for stage + 1 */
	size_t nnext;
	int status;                        /* out: SPOOL_OK, or LOST/CANCELLED */
};
/* Complete n tasks in one transaction.  A completion counts only if the
 * lease is still worker's (else its status is SPOOL_ERR_LOST, or
 * SPOOL_ERR_CANCELLED); the task that finishes its stage advances the job:
 * the next stage's tasks are queued, or the job has succeeded. */
int spool_job_complete(struct spool_store *st, const char *worker,
    struct spool_task_done *d, size_t n, spool_err *err);
/* The task failed with error.  While attempts remain (and permanent is 0)
 * it runs again after base * 2^(attempt-1) ms, +-50% jitter, at most the
 * cap; then the job fails with this error.  SPOOL_ERR_LOST /
 * SPOOL_ERR_CANCELLED as for heartbeat.  *retry_at (may be NULL) is set
 * to when it runs again, 0 if it will not. */
int spool_job_fail(struct spool_store *st, const char *worker,
    const char *task, const char *error, int permanent, int64_t *retry_at,
    spool_err *err);
/* Backoff: base and cap in milliseconds (defaults 1 s and 10 min). */
void spool_job_set_backoff(struct spool_store *st, int64_t base_ms,
    int64_t cap_ms);
/* Cap running tasks of a type (0 removes the cap). */
int spool_job_set_cap(struct spool_store *st, const char *type,
    int max_running, spool_err *err);

/* Cancel a job (by job, task or request id): queued and waiting tasks
 * cancelled now, running ones learn it at their next heartbeat.
 * SPOOL_ERR_STATE if it has already finished. */
int spool_job_cancel(struct spool_store *st, const char *id,
    const char *reason, spool_err *err);
/* Run a failed, cancelled or expired job again from its failed stage
 * (by job, task or request id), with fresh attempts and no deadline. */
int spool_job_retry(struct spool_store *st, const char *id, spool_err *err);
/* Requeue expired leases and expire jobs past their deadline (claim does
 * this too); counts may be NULL. */
int spool_job_sweep(struct spool_store *st, uint64_t *requeued,
    uint64_t *expired, spool_err *err);
/* Delete jobs finished before cutoff, with their stages, tasks and
 * events. */
int spool_job_prune(struct spool_store *st, int64_t cutoff, uint64_t *n,
    spool_err *err);

/* Find the job a job, task or request id (or unique prefix) names. */
int spool_job_resolve(struct spool_store *st, const char *id,
    char job[SPOOL_ID_MAX], spool_err *err);

/* ---- lineage ---------------------------------------------------------- */

struct spool_lineage_event {
	char id[SPOOL_ID_MAX]; /* "" on record: made here */
	const char *event;     /* received batched exported imported started
				* derived delivered purged failed */
	int64_t time;          /* 0: now */
	const char *node;      /* NULL: this node */
	const char *user;      /* or NULL */
	const char *batch;     /* the batch that carried it, or NULL */
	const char *const *used;      /* entity refs KIND:ID */
	size_t nused;
	const char *const *generated;
	size_t ngenerated;
};

/* Record an event (idempotent by id: events merged from another node
 * keep their ids). */
int spool_lineage_record(struct spool_store *st,
    struct spool_lineage_event *ev, spool_err *err);
/* The same, for an event made here: what happened (time 0: now), by
 * whom and in which batch (NULL: none), what it used and generated. */
int spool_lineage_link(struct spool_store *st, const char *event,
    int64_t time, const char *user, const char *batch,
    const char *const *used, size_t nused, const char *const *generated,
    size_t ngenerated, spool_err *err);
/* Describe an entity (idempotent; later calls fill what was unknown).
 * name, hash may be NULL, size -1 when unknown. */
int spool_lineage_entity(struct spool_store *st, const char *ref,
    const char *name, const char *hash, int64_t size, spool_err *err);

/* Which ref a user's argument names: KIND:ID as is; a UUID (or unique
 * prefix of 8+) of any request, batch, job, task or output; a 64-hex
 * hash (a file, or an output with that content); else a file path, hashed.
 * SPOOL_ERR_NOTFOUND when nothing in the lineage matches. */
int spool_lineage_resolve(struct spool_store *st, const char *arg,
    char ref[SPOOL_REF_MAX], spool_err *err);

/* The events reachable from ref, up (ancestors: events that generated it,
 * and what they used, recursively) or down (descendants).  A batch is a
 * container, not a link: walking reaches it but does not pass through it
 * to other files it carried (unless ref is the batch itself), so lineage
 * stays per file.  Cycles end the walk.  fn gets each edge once: event e
 * used `from` and generated `to`. */
struct spool_lineage_edge {
	const char *event_id, *event, *node, *user, *batch;
	int64_t time;
	const char *from, *to;
};
struct spool_lineage_info {
	const char *ref, *kind, *name, *hash, *node;
	int64_t size, created;
};
enum spool_lineage_dir { SPOOL_LINEAGE_UP, SPOOL_LINEAGE_DOWN };
int spool_lineage_walk(struct spool_store *st, const char *ref,
    enum spool_lineage_dir dir,
    int (*edge)(void *arg, const struct spool_lineage_edge *e),
    int (*entity)(void *arg, const struct spool_lineage_info *i),
    void *arg, spool_err *err);

/* ---- reading for spoolctl -------------------------------------------- */

/* Run a read-only query of the store's own (listing helpers below). */
struct spool_store_row {
	size_t ncols;
	const char *const *col; /* NULL = SQL NULL */
};

/* Listings, newest first, at most limit rows (0: 1000).  Each calls fn
 * with one row; columns are documented at each. */
/* id side type usr folder name peer priority deadline state error size
 * hash created updated */
int spool_store_list_requests(struct spool_store *st, const char *state,
    size_t limit, int (*fn)(void *, const struct spool_store_row *),
    void *arg, spool_err *err);
/* id batch_id dir peer seq items bytes tar name state reason created
 * updated */
int spool_store_list_batches(struct spool_store *st, size_t limit,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err);
/* id type request priority deadline state stage nstages max_attempts error
 * created updated finished tasks_total tasks_done */
int spool_store_list_jobs(struct spool_store *st, const char *state,
    size_t limit, int (*fn)(void *, const struct spool_store_row *),
    void *arg, spool_err *err);
/* Histories: state|event time detail [attempt worker]. kind is "request",
 * "batch", "job" (the job's tasks' events) or "task". */
int spool_store_history(struct spool_store *st, const char *kind,
    const char *id, int (*fn)(void *, const struct spool_store_row *),
    void *arg, spool_err *err);
/* One row by id (exact or unique prefix of 8+): kind "request", "job",
 * "task", "batch" (columns as in the listings; task: id job stage idx type
 * state priority created run_at attempt max_attempts lease_owner
 * lease_until input result error started finished).  Sets *found. */
int spool_store_get_row(struct spool_store *st, const char *kind,
    const char *id, int (*fn)(void *, const struct spool_store_row *),
    void *arg, spool_err *err);
/* The tasks of a job, by stage and index (task columns). */
int spool_store_job_tasks(struct spool_store *st, const char *job,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err);
/* Peers: name key_id next_seq recv_contiguous recv_high */
int spool_store_list_peers(struct spool_store *st,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err);
/* The stages of a job: idx name state total done, by idx. */
int spool_store_job_stages(struct spool_store *st, const char *job,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err);
/* Lineage as recorded, oldest first, for merging into another node's
 * store (tests and simulations; the daemon carries results' lineage in
 * batches).  Events from time since on, at most limit events (0: 1000),
 * one row per event and entity it used or generated:
 * id event time node usr batch role ref (role and ref NULL for an event
 * that links nothing). */
int spool_store_lineage_events(struct spool_store *st, int64_t since,
    size_t limit, int (*fn)(void *, const struct spool_store_row *),
    void *arg, spool_err *err);
/* Entities created from since on, oldest first, at most limit (0: 1000):
 * ref kind name hash size node created. */
int spool_store_lineage_entities(struct spool_store *st, int64_t since,
    size_t limit, int (*fn)(void *, const struct spool_store_row *),
    void *arg, spool_err *err);

/* ---- the daemon's flows (store_flow.c) -------------------------------- */

/* Intake: a claimed file (path relative to store/intake/, ino its
 * "dev:inode") whose request is committed; recorded in the request's
 * transaction, forgotten once the claimed copy is gone.  _get:
 * SPOOL_ERR_NOTFOUND if not recorded. */
int spool_store_intake_add(struct spool_store *st, const char *path,
    const char *request, const char *ino, spool_err *err);
int spool_store_intake_done(struct spool_store *st, const char *path,
    spool_err *err);
int spool_store_intake_get(struct spool_store *st, const char *path,
    char request[SPOOL_ID_MAX], char ino[64], spool_err *err);

/* One manifest line waiting for a batch to peer.  Lines go out in
 * priority DESC, created, ord order; size is the blob bytes it brings. */
struct spool_outbox_item {
	char id[SPOOL_ID_MAX]; /* "": a new one */
	const char *peer;
	const char *kind;      /* request | part | result */
	const char *request;
	int priority;
	int64_t created;       /* 0: now */
	int ord;               /* order among lines of one created time */
	uint64_t size;
	const char *item;      /* the JSON line */
	const char *batch;     /* NULL: pending; else already carried by it
	                          (an offline pack records its lines so) */
};
int spool_store_outbox_add(struct spool_store *st,
    struct spool_outbox_item *o, spool_err *err);
/* Lines waiting for peer, in send order, at most limit:
 * id kind request priority created ord size item */
int spool_store_outbox_pending(struct spool_store *st, const char *peer,
    size_t limit, int (*fn)(void *, const struct spool_store_row *),
    void *arg, spool_err *err);
/* Peers with waiting lines: peer count oldest-created */
int spool_store_outbox_peers(struct spool_store *st,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err);
/* In one transaction: take the next seq to peer for batch_id (a
 * 'planned' batch) and assign the n lines ids to it. */
int spool_store_outbox_plan(struct spool_store *st, const char *peer,
    const char *batch_id, const char *const *ids, size_t n, uint64_t *seq,
    spool_err *err);
/* The lines of a batch, in send order (columns as _pending). */
int spool_store_outbox_batch(struct spool_store *st, const char *batch_id,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err);
/* The daemon's planned batches not yet written (an offline pack's have
 * no name until written): batch_id peer seq created name */
int spool_store_planned(struct spool_store *st,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err);
/* A planned batch is in out/: written, its requests batched, lineage. */
int spool_store_outbox_written(struct spool_store *st, const char *batch_id,
    const char *name, uint64_t items, uint64_t bytes, uint64_t tar,
    spool_err *err);
/* The sent batch name (NAME.batch, or NAME) was carried out:
 * exported, with its requests, and a lineage event. */
int spool_store_batch_exported(struct spool_store *st, const char *name,
    spool_err *err);
/* Receipts to send to peer: the newest max batches received from it,
 * ascending: seq batch_id */
int spool_store_acks(struct spool_store *st, const char *peer, size_t max,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err);
/* peer acknowledged our batch (seq, batch_id): it and its requests become
 * acknowledged (*applied = 1); an unknown or conflicting ack does
 * nothing. */
int spool_store_ack(struct spool_store *st, const char *peer, uint64_t seq,
    const char *batch_id, int *applied, spool_err *err);
/* Processed requests whose result is not in the outbox yet (REQ columns
 * as spool_store_list_requests), oldest first. */
int spool_store_unanswered(struct spool_store *st, size_t limit,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err);

/* When the newest batch to or from peer (dir "out" | "in") was made
 * here, in ms; 0 if none. */
int spool_store_last_batch(struct spool_store *st, const char *peer,
    const char *dir, int64_t *ms, spool_err *err);

/* A file became a submitted request (q as for request_add, q->id set,
 * q->hash its file's): the request, the file and request entities, and
 * the lineage event "received" by q->user at q->created. */
int spool_store_request_received(struct spool_store *st,
    struct spool_request *q, spool_err *err);
/* One request's facts ("" for NULL); SPOOL_ERR_NOTFOUND if none. */
struct spool_request_info {
	char side[8];
	char peer[SPOOL_NAME_MAX + 1];
	char state[16];
	char type[16];
	char user[80];
	char folder[80];
	char name[256];
	char error[512];
	char hash[SPOOL_HASH_HEXLEN_ + 1];
	int64_t size;     /* -1: unknown */
	int priority;
	int64_t deadline; /* 0: none */
	int64_t created, updated;
};
int spool_store_request_info(struct spool_store *st, const char *id,
    struct spool_request_info *out, spool_err *err);
/* Requests by side and state: side state count */
int spool_store_request_counts(struct spool_store *st,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err);

/* Tasks runnable now, and when the next waiting one becomes runnable
 * (0: none). */
int spool_store_work_due(struct spool_store *st, uint64_t *runnable,
    int64_t *next, spool_err *err);

/* Split a pending request line whose files do not fit one batch: its
 * item becomes item (files with "parts"), size the bytes still inline,
 * and the n part lines follow it in send order (one transaction). */
int spool_store_outbox_split(struct spool_store *st, const char *id,
    const char *item, uint64_t size, const char *const *parts,
    const uint64_t *psizes, size_t n, spool_err *err);
/* A part of a large file received (idempotent); idx -1 notes that the
 * request has a file coming in count parts. */
int spool_store_part_add(struct spool_store *st, const char *request,
    const char *name, int idx, int count, uint64_t offset, uint64_t size,
    const char *blob, uint64_t file_size, const char *file_blob,
    spool_err *err);
/* Parts of request (of one file when name is not NULL), by name and idx:
 * name idx count offs size blob file_size file_blob */
int spool_store_parts(struct spool_store *st, const char *request,
    const char *name, int (*fn)(void *, const struct spool_store_row *),
    void *arg, spool_err *err);
int spool_store_blob_has(struct spool_store *st, const char *hash, int *has,
    spool_err *err);

/* Requests whose blobs may go (gc): final, unchanged since cutoff,
 * holding blob references, with no line left to send.  Row: id */
int spool_store_releasable(struct spool_store *st, int64_t cutoff,
    size_t limit, int (*fn)(void *, const struct spool_store_row *),
    void *arg, spool_err *err);
/* Drop every blob reference owner holds. */
int spool_store_blob_release(struct spool_store *st, const char *owner,
    spool_err *err);

/* A worker process died ("node/host/pid"), or every worker of an
 * earlier daemon on this host did ("node/host/"): the leases they held
 * end now (*n of them). */
int spool_store_worker_died(struct spool_store *st, const char *worker,
    uint64_t *n, spool_err *err);

/* Whether (peer, seq) was received before (recorded, or at or below the
 * contiguous mark): read only, for what must not be redone. */
int spool_store_batch_seen(struct spool_store *st, const char *peer,
    uint64_t seq, int *seen, spool_err *err);

#endif
