/*
 * queue.h - what the daemon's flows queue in the store (queue.c): claimed
 * intake files, manifest lines waiting for a batch, the batches they
 * went in, acks, requests waiting for an answer, parts of large files.
 */
#ifndef SPOOL_QUEUE_H
#define SPOOL_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "spool/base/error.h"
#include "spool/store/store.h"

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
	int64_t created;       /* 0: now, on the schedule clock (spool_store_sched) */
	int ord;               /* order among lines of one created time */
	uint64_t size;
	const char *item;      /* the JSON line */
	const char *batch;     /* NULL: pending; else already carried by it
	                          (an offline pack records its lines so) */
};
/* A line into the outbox; a "result" line marks its request answered. */
int spool_store_outbox_add(struct spool_store *st,
    struct spool_outbox_item *o, spool_err *err);
/* Lines waiting for peer, in send order, at most limit:
 * id kind request priority created ord size item */
int spool_store_outbox_pending(struct spool_store *st, const char *peer,
    size_t limit, int (*fn)(void *, const struct spool_store_row *),
    void *arg, spool_err *err);
/* Peers with waiting lines: peer count oldest-created bytes */
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
/* One part (idx >= 0) of request's file name, if received: the row as
 * spool_store_parts gives it, or none. */
int spool_store_part_get(struct spool_store *st, const char *request,
    const char *name, int idx, int (*fn)(void *, const struct spool_store_row *),
    void *arg, spool_err *err);
/* How many parts of request's file name are here: *all of them, *match
 * of them agreeing on count and the whole file's hash. */
int spool_store_part_count(struct spool_store *st, const char *request,
    const char *name, int count, const char *file_blob, uint64_t *match,
    uint64_t *all, spool_err *err);
/* Up to limit parts of request's file name with idx > after, by idx
 * (paged: memory does not grow with the number of parts). */
int spool_store_part_page(struct spool_store *st, const char *request,
    const char *name, int after, size_t limit,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err);
/* The files request announced as coming in parts (idx -1 rows). */
int spool_store_part_files(struct spool_store *st, const char *request,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err);

/* The lineage a batch's request lines carry: for each, this node's
 * events that made the request or put it in this batch.  Row: request
 * event_id event time node user batch used generated, by request. */
int spool_store_batch_upstream(struct spool_store *st, const char *batch_id,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err);

#endif
