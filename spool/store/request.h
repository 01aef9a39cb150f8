/*
 * request.h - requests and their state machines (request.c): the one
 * table of the states each side's requests go through.
 */
#ifndef SPOOL_REQUEST_H
#define SPOOL_REQUEST_H

#include <stdint.h>

#include "spool/base/error.h"
#include "spool/base/hash.h"
#include "spool/base/util.h"
#include "spool/store/store.h"

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
	const char *params; /* JSON text, or NULL */
	const char *cache_key; /* a query's cache key, or NULL */
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


/* The states a request can be in, the submitting side's first, then the
 * processing side's own: i from 0 until NULL. */
const char *spool_request_state_at(size_t i);
/* 1 if state is final (nothing moves a request out of it but a retry). */
int spool_request_state_final(const char *state);

/* A file became a submitted request (q as for request_add, q->id set,
 * q->hash its file's; side and state are set here: "submit", its first
 * state "accepted"): the request, the file and request entities, and
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
	char hash[SPOOL_HASH_HEXLEN + 1];
	int64_t size;     /* -1: unknown */
	int priority;
	int64_t deadline; /* 0: none */
	int64_t created, updated;
};
/* The requesting node's cache of answers (issue 18): query requests
 * accepted whose line still waits for a batch (id cache_key params); the
 * newest completed query of key answered since (ms) that is not except;
 * a waiting request answered here: its line leaves the outbox and it is
 * completed, in one transaction (*done 0 when its line had gone). */
int spool_store_query_waiting(struct spool_store *st,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err);
int spool_store_query_answered(struct spool_store *st, const char *key,
    int64_t since, const char *except, char out[SPOOL_ID_MAX], int *found,
    spool_err *err);
int spool_store_answer_locally(struct spool_store *st, const char *id,
    const char *detail, int *done, spool_err *err);
/* A query's cache key ("" when it has none). */
int spool_store_request_cache_key(struct spool_store *st, const char *id,
    char *out, size_t n, spool_err *err);
/* A request's params as JSON text (*out NULL when it has none). */
int spool_store_request_params(struct spool_store *st, const char *id,
    char **out, spool_err *err);
int spool_store_request_info(struct spool_store *st, const char *id,
    struct spool_request_info *out, spool_err *err);
/* Requests by side and state: side state count */
int spool_store_request_counts(struct spool_store *st,
    int (*fn)(void *, const struct spool_store_row *), void *arg,
    spool_err *err);

/* The permission bits of the request's file as its owner left them
 * (processing side, from the request line); *mode -1 when not said. */
int spool_store_request_set_mode(struct spool_store *st, const char *id,
    unsigned mode, spool_err *err);
int spool_store_request_mode(struct spool_store *st, const char *id,
    int *mode, spool_err *err);

#endif
