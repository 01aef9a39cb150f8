/*
 * lineage.h - where each file came from and what was made of it: events
 * that used and generated entities (W3C PROV in spirit), walked up or down
 * (lineage.c).
 */
#ifndef SPOOL_LINEAGE_H
#define SPOOL_LINEAGE_H

#include <stddef.h>
#include <stdint.h>

#include "spool/base/error.h"
#include "spool/store/store.h"

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

/* *yes = 1 when the lineage knows entity ref (KIND:ID). */
int spool_lineage_known(struct spool_store *st, const char *ref, int *yes,
    spool_err *err);

/* Which ref a user's argument names: KIND:ID as is; a UUID (or unique
 * prefix of 8+) of any request, batch, job, task or output; a 64-hex
 * hash (a file, or an output with that content); a file path, hashed;
 * else a name (spool_lineage_named).  SPOOL_ERR_NOTFOUND when nothing
 * in the lineage matches; SPOOL_ERR_USAGE when a name names more than
 * one thing (spool_lineage_named lists them). */
int spool_lineage_resolve(struct spool_store *st, const char *arg,
    char ref[SPOOL_REF_MAX], spool_err *err);

/* What an operator's name may name, when it is not an id, a hash or a
 * file on disk: a batch by its file name (NAME.batch, or NAME), else the
 * requests of that name (a dropped file's name, on either side), else
 * files and outputs of that name in the lineage.  fn gets each match
 * (ref KIND:ID, its name, one line of detail for a person), at most 100;
 * *n is how many there are.  Nothing matching is SPOOL_OK with *n 0. */
struct spool_lineage_match {
	const char *ref, *kind, *name;
	const char *detail;   /* "submit, folder files, user alice, ..." */
	int64_t created;
};
int spool_lineage_named(struct spool_store *st, const char *name,
    int (*fn)(void *arg, const struct spool_lineage_match *m), void *arg,
    size_t *n, spool_err *err);

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

#endif
