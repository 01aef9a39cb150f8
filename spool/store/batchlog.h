/*
 * batchlog.h - the ledgers of batches: peers and their sequence numbers,
 * the batches sent and received, gaps and replays (batchlog.c).
 */
#ifndef SPOOL_BATCHLOG_H
#define SPOOL_BATCHLOG_H

#include <stddef.h>
#include <stdint.h>

#include "spool/base/error.h"
#include "spool/base/util.h"
#include "spool/store/store.h"

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
/* The same, only if want is the next seq to peer (want 0: any):
 * SPOOL_ERR_STATE, and nothing taken, when it is not. */
int spool_store_batch_plan_seq(struct spool_store *st, const char *peer,
    const char *batch_id, uint64_t want, uint64_t *seq, spool_err *err);
/* The seq the next batch to peer will take (1 for a new peer). */
int spool_store_peer_next_seq(struct spool_store *st, const char *peer,
    uint64_t *next, spool_err *err);
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

/* Whether (peer, seq) was received before (recorded, or at or below the
 * contiguous mark): read only, for what must not be redone. */
int spool_store_batch_seen(struct spool_store *st, const char *peer,
    uint64_t seq, int *seen, spool_err *err);

/* When the newest batch to or from peer (dir "out" | "in") was made
 * here, in ms; 0 if none. */
int spool_store_last_batch(struct spool_store *st, const char *peer,
    const char *dir, int64_t *ms, spool_err *err);

#endif
