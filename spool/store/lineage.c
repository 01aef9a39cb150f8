/*
 * lineage.c - what happened to every file, on every node, both ways.
 *
 * Events (received, batched, imported, started, derived, delivered, ...)
 * use and generate entities named KIND:ID: files by content hash;
 * requests, batches, jobs, tasks and outputs by UUIDv7, so rows made on
 * two nodes merge without collisions and an event recorded twice (merged
 * back from a result) is stored once.
 *
 * Walks are one WITH RECURSIVE ... UNION query on both backends: the
 * UNION keeps each entity once, so a cycle in the data ends the walk.  A
 * batch is a container, not a link: a walk reaches it but goes on through
 * it only when it started there, so "what became of f1" never includes
 * what became of f2 that travelled in the same batch.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool/base/error.h"
#include "spool/base/fsutil.h"
#include "spool/base/hash.h"
#include "spool/base/util.h"
#include "spool/store/db.h"
#include "spool/store/lineage.h"
#include "spool/store/store.h"
#include "spool/store/store_impl.h"

static const char *const kinds[] = { "file", "request", "batch", "job",
	"task", "output", NULL };
static const char *const events[] = { "received", "batched", "exported",
	"imported", "started", "derived", "delivered", "purged", "failed",
	NULL };

static int
ref_ok(const char *ref)
{
	const char *colon = strchr(ref, ':');
	size_t k, n;

	if (colon == NULL)
		return 0;
	for (k = 0; kinds[k]; k++)
		if ((size_t)(colon - ref) == strlen(kinds[k]) &&
		    strncmp(ref, kinds[k], strlen(kinds[k])) == 0)
			break;
	if (kinds[k] == NULL)
		return 0;
	n = strlen(colon + 1);
	if (n < 1 || n > 64)
		return 0;
	return strspn(colon + 1, "0123456789abcdef-") == n;
}

static int
event_ok(const char *e)
{
	size_t i;

	for (i = 0; events[i]; i++)
		if (strcmp(events[i], e) == 0)
			return 1;
	return 0;
}

static int
ensure_entity(struct spool_store *st, const char *ref, const char *node,
    int64_t time, spool_err *err)
{
	char kind[16];
	size_t n = strcspn(ref, ":");

	snprintf(kind, sizeof(kind), "%.*s", (int)n, ref);
	return st_q(st, NULL, err, "INSERT INTO lineage_entity (ref, kind, "
	    "node, created) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
	    DBS(ref), DBS(kind), DBS(node), DBI(time));
}

static int
record_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct spool_lineage_event *ev = arg;
	struct spool_dbres res;
	size_t i;
	int r;

	if ((r = st_q(st, &res, err, "INSERT INTO lineage_event (id, event, "
	    "time, node, usr, batch) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT "
	    "DO NOTHING", DBS(ev->id), DBS(ev->event), DBI(ev->time),
	    DBS(ev->node), DBS(ev->user), DBS(ev->batch))) != SPOOL_OK)
		return r;
	if (res.changes == 0) {
		spool_dbres_release(&res);
		return SPOOL_OK; /* known already: merged twice */
	}
	spool_dbres_release(&res);
	for (i = 0; i < ev->nused; i++)
		if ((r = ensure_entity(st, ev->used[i], ev->node, ev->time,
		    err)) != SPOOL_OK ||
		    (r = st_q(st, NULL, err, "INSERT INTO lineage_io (event, "
		    "role, ref) VALUES (?, 'used', ?) ON CONFLICT DO NOTHING",
		    DBS(ev->id), DBS(ev->used[i]))) != SPOOL_OK)
			return r;
	for (i = 0; i < ev->ngenerated; i++)
		if ((r = ensure_entity(st, ev->generated[i], ev->node, ev->time,
		    err)) != SPOOL_OK ||
		    (r = st_q(st, NULL, err, "INSERT INTO lineage_io (event, "
		    "role, ref) VALUES (?, 'generated', ?) ON CONFLICT DO "
		    "NOTHING", DBS(ev->id), DBS(ev->generated[i]))) != SPOOL_OK)
			return r;
	if (ev->batch != NULL)
		return ensure_entity(st, ev->batch, ev->node, ev->time, err);
	return SPOOL_OK;
}

int
spool_lineage_record(struct spool_store *st, struct spool_lineage_event *ev,
    spool_err *err)
{
	struct spool_lineage_event e = *ev;
	char bref[SPOOL_REF_MAX];
	size_t i;
	int r;

	if (e.event == NULL || !event_ok(e.event))
		return spool_fail(err, SPOOL_ERR_USAGE, "unknown lineage event "
		    "'%s'", e.event ? e.event : "");
	for (i = 0; i < e.nused; i++)
		if (!ref_ok(e.used[i]))
			return spool_fail(err, SPOOL_ERR_USAGE,
			    "bad lineage entity '%s'", e.used[i]);
	for (i = 0; i < e.ngenerated; i++)
		if (!ref_ok(e.generated[i]))
			return spool_fail(err, SPOOL_ERR_USAGE,
			    "bad lineage entity '%s'", e.generated[i]);
	if (e.batch != NULL) {
		/* the carrier is a batch id, stored as its entity ref */
		if (strncmp(e.batch, "batch:", 6) != 0) {
			snprintf(bref, sizeof(bref), "batch:%s", e.batch);
			e.batch = bref;
		}
		if (!ref_ok(e.batch))
			return spool_fail(err, SPOOL_ERR_USAGE,
			    "bad batch '%s'", e.batch);
	}
	if (e.id[0] == '\0')
		spool_uuid7(e.id);
	else if (!spool_uuid_ok(e.id))
		return spool_fail(err, SPOOL_ERR_USAGE, "bad event id");
	if (e.time == 0)
		e.time = spool_store_now(st);
	if (e.node == NULL)
		e.node = st->node;
	if ((r = st_tx(st, 1, record_tx, &e, err)) == SPOOL_OK) {
		memcpy(ev->id, e.id, sizeof(ev->id));
		ev->time = e.time;
	}
	return r;
}

struct entity_arg {
	const char *ref, *name, *hash;
	int64_t size;
};

static int
entity_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct entity_arg *a = arg;
	int r;

	if ((r = ensure_entity(st, a->ref, st->node, spool_store_now(st),
	    err)) != SPOOL_OK)
		return r;
	return st_q(st, NULL, err, "UPDATE lineage_entity SET "
	    "name = COALESCE(name, ?), hash = COALESCE(hash, ?), "
	    "size = COALESCE(size, ?) WHERE ref = ?", DBS(a->name),
	    DBS(a->hash), a->size >= 0 ? DBI(a->size) : DBNULL, DBS(a->ref));
}

int
spool_lineage_entity(struct spool_store *st, const char *ref,
    const char *name, const char *hash, int64_t size, spool_err *err)
{
	struct entity_arg a = { ref, name, hash, size };

	if (!ref_ok(ref))
		return spool_fail(err, SPOOL_ERR_USAGE,
		    "bad lineage entity '%s'", ref);
	return st_tx(st, 1, entity_tx, &a, err);
}

/* ---- resolving what the user typed ------------------------------------ */

static int
exists(struct spool_store *st, const char *ref, int *yes, spool_err *err)
{
	struct spool_dbres res;
	int r;

	if ((r = st_q(st, &res, err, "SELECT 1 FROM lineage_entity WHERE "
	    "ref = ?", DBS(ref))) != SPOOL_OK)
		return r;
	*yes = res.nrows > 0;
	spool_dbres_release(&res);
	return SPOOL_OK;
}

int
spool_lineage_known(struct spool_store *st, const char *ref, int *yes,
    spool_err *err)
{
	return exists(st, ref, yes, err);
}

static int
by_hash(struct spool_store *st, const char *hash, char ref[SPOOL_REF_MAX],
    spool_err *err)
{
	struct spool_dbres res;
	int r, yes;

	snprintf(ref, SPOOL_REF_MAX, "file:%s", hash);
	if ((r = exists(st, ref, &yes, err)) != SPOOL_OK || yes)
		return r;
	if ((r = st_q(st, &res, err, "SELECT ref FROM lineage_entity WHERE "
	    "hash = ? ORDER BY created, ref LIMIT 1", DBS(hash))) != SPOOL_OK)
		return r;
	if (res.nrows == 0)
		r = spool_fail(err, SPOOL_ERR_NOTFOUND,
		    "no file with hash %s in the lineage", hash);
	else
		snprintf(ref, SPOOL_REF_MAX, "%s", spool_dbres_text(&res, 0, 0));
	spool_dbres_release(&res);
	return r;
}

#define NAMED_MAX 100

static int
named_emit(int (*fn)(void *, const struct spool_lineage_match *), void *arg,
    const char *ref, const char *kind, const char *name, const char *detail,
    int64_t created, size_t *n)
{
	struct spool_lineage_match m = { ref, kind, name, detail, created };

	if ((*n)++ >= NAMED_MAX || fn == NULL)
		return SPOOL_OK;
	return fn(arg, &m);
}

int
spool_lineage_named(struct spool_store *st, const char *name,
    int (*fn)(void *arg, const struct spool_lineage_match *m), void *arg,
    size_t *n, spool_err *err)
{
	struct spool_dbres res;
	char ref[SPOOL_REF_MAX], detail[256], full[300];
	size_t i, len = strlen(name);
	int r = SPOOL_OK;

	*n = 0;
	/* a batch by its file name, with or without .batch */
	snprintf(full, sizeof(full), "%s%s", name, len > 6 &&
	    strcmp(name + len - 6, ".batch") == 0 ? "" : ".batch");
	if ((r = st_q(st, &res, err, "SELECT id, batch_id, dir, peer, state, "
	    "name, created FROM batch WHERE name = ? ORDER BY created, id",
	    DBS(full))) != SPOOL_OK)
		return r;
	for (i = 0; i < res.nrows && r == SPOOL_OK; i++) {
		const char *bid = spool_dbres_text(&res, i, 1);

		snprintf(ref, sizeof(ref), "batch:%s", bid ? bid :
		    spool_dbres_text(&res, i, 0));
		snprintf(detail, sizeof(detail), "batch %s %s, %s",
		    strcmp(spool_dbres_text(&res, i, 2), "out") == 0 ? "to" :
		    "from", spool_dbres_text(&res, i, 3),
		    spool_dbres_text(&res, i, 4));
		r = named_emit(fn, arg, ref, "batch", spool_dbres_text(&res, i,
		    5), detail, spool_dbres_int(&res, i, 6), n);
	}
	spool_dbres_release(&res);
	if (r != SPOOL_OK || *n > 0)
		return r;
	/* requests: a dropped file's name, on the sending or the
	 * processing side */
	if ((r = st_q(st, &res, err, "SELECT id, side, folder, usr, peer, "
	    "state, created FROM request WHERE name = ? ORDER BY created, id",
	    DBS(name))) != SPOOL_OK)
		return r;
	for (i = 0; i < res.nrows && r == SPOOL_OK; i++) {
		const char *folder = spool_dbres_text(&res, i, 2);
		const char *peer = spool_dbres_text(&res, i, 4);
		int submit = strcmp(spool_dbres_text(&res, i, 1), "submit") == 0;

		snprintf(ref, sizeof(ref), "request:%s", spool_dbres_text(&res,
		    i, 0));
		snprintf(detail, sizeof(detail), "request %s %s, folder %s, "
		    "user %s, %s", submit ? "to" : "from", peer ? peer : "-",
		    folder ? folder : "-", spool_dbres_text(&res, i, 3),
		    spool_dbres_text(&res, i, 5));
		r = named_emit(fn, arg, ref, "request", name, detail,
		    spool_dbres_int(&res, i, 6), n);
	}
	spool_dbres_release(&res);
	if (r != SPOOL_OK || *n > 0)
		return r;
	/* files and outputs of that name */
	if ((r = st_q(st, &res, err, "SELECT ref, kind, node, size, created "
	    "FROM lineage_entity WHERE name = ? AND kind IN ('file', "
	    "'output') ORDER BY created, ref", DBS(name))) != SPOOL_OK)
		return r;
	for (i = 0; i < res.nrows && r == SPOOL_OK; i++) {
		const char *node = spool_dbres_text(&res, i, 2);

		snprintf(detail, sizeof(detail), "%s on %s, %lld bytes",
		    spool_dbres_text(&res, i, 1), node ? node : "-",
		    spool_dbres_text(&res, i, 3) ? (long long)spool_dbres_int(
		    &res, i, 3) : -1LL);
		r = named_emit(fn, arg, spool_dbres_text(&res, i, 0),
		    spool_dbres_text(&res, i, 1), name, detail,
		    spool_dbres_int(&res, i, 4), n);
	}
	spool_dbres_release(&res);
	return r;
}

static int
named_one(void *arg, const struct spool_lineage_match *m)
{
	snprintf(arg, SPOOL_REF_MAX, "%s", m->ref);
	return SPOOL_OK;
}

int
spool_lineage_resolve(struct spool_store *st, const char *arg,
    char ref[SPOOL_REF_MAX], spool_err *err)
{
	size_t n = strlen(arg), k;
	int r, yes, found = 0;
	struct stat sb;

	if (ref_ok(arg)) {
		if ((r = exists(st, arg, &yes, err)) != SPOOL_OK)
			return r;
		if (!yes)
			return spool_fail(err, SPOOL_ERR_NOTFOUND,
			    "'%s' is not in the lineage", arg);
		snprintf(ref, SPOOL_REF_MAX, "%s", arg);
		return SPOOL_OK;
	}
	if (n == 64 && strspn(arg, "0123456789abcdef") == 64)
		return by_hash(st, arg, ref, err);
	if (n >= 8 && n <= SPOOL_UUID_LEN &&
	    strspn(arg, "0123456789abcdef-") == n) {
		/* an id, or the start of one, of any kind */
		for (k = 1; kinds[k]; k++) {
			char lo[SPOOL_REF_MAX], hi[SPOOL_REF_MAX];
			struct spool_dbres res;
			snprintf(lo, sizeof(lo), "%s:%s", kinds[k], arg);
			snprintf(hi, sizeof(hi), "%s", lo);
			hi[strlen(hi) - 1]++;
			if ((r = st_q(st, &res, err, "SELECT ref FROM "
			    "lineage_entity WHERE ref >= ? AND ref < ? LIMIT 2",
			    DBS(lo), DBS(hi))) != SPOOL_OK)
				return r;
			if (res.nrows > 0) {
				found += (int)res.nrows;
				snprintf(ref, SPOOL_REF_MAX, "%s",
				    spool_dbres_text(&res, 0, 0));
			}
			spool_dbres_release(&res);
		}
		if (found == 1)
			return SPOOL_OK;
		if (found > 1)
			return spool_fail(err, SPOOL_ERR_USAGE, "'%s' names "
			    "more than one thing; give more of the id", arg);
	}
	/* a file on disk: by its content */
	if (stat(arg, &sb) == 0) {
		uint8_t h[SPOOL_HASH_LEN];
		char hex[2 * SPOOL_HASH_LEN + 1];
		uint64_t size;
		int fd;

		if ((r = spool_open_regular(arg, &fd, &sb, err)) != SPOOL_OK)
			return r;
		r = spool_hash_fd(fd, h, &size, err);
		close(fd);
		if (r != SPOOL_OK)
			return r;
		spool_hex(hex, h, SPOOL_HASH_LEN);
		return by_hash(st, hex, ref, err);
	}
	/* a name: a batch's file name, a dropped file's name */
	{
		char one[SPOOL_REF_MAX];
		size_t nm = 0;

		if ((r = spool_lineage_named(st, arg, named_one, one, &nm,
		    err)) != SPOOL_OK)
			return r;
		if (nm == 1) {
			snprintf(ref, SPOOL_REF_MAX, "%s", one);
			return SPOOL_OK;
		}
		if (nm > 1)
			return spool_fail(err, SPOOL_ERR_USAGE, "'%s' names %zu "
			    "things; give the id of one", arg, nm);
	}
	return spool_fail(err, SPOOL_ERR_NOTFOUND,
	    "'%s' is not an id, hash or file in the lineage, nor a name "
	    "there", arg);
}

/* ---- walking ---------------------------------------------------------- */

/* Reach: the refs the walk expands (a batch only when it is the start).
 * Then every event linking an expanded ref to its neighbour. */
static const char up_edges[] =
	"WITH RECURSIVE reach(ref) AS ("
	" SELECT ?"
	" UNION"
	" SELECT u.ref FROM reach r"
	" JOIN lineage_io g ON g.ref = r.ref AND g.role = 'generated'"
	" JOIN lineage_io u ON u.event = g.event AND u.role = 'used'"
	" WHERE r.ref = ? OR r.ref NOT LIKE 'batch:%')"
	" SELECT e.id, e.event, e.node, e.usr, e.batch, e.time, u.ref, g.ref"
	" FROM reach r"
	" JOIN lineage_io g ON g.ref = r.ref AND g.role = 'generated'"
	" JOIN lineage_io u ON u.event = g.event AND u.role = 'used'"
	" JOIN lineage_event e ON e.id = g.event"
	" WHERE r.ref = ? OR r.ref NOT LIKE 'batch:%'"
	" ORDER BY e.time, e.id, u.ref, g.ref LIMIT 100001";
static const char down_edges[] =
	"WITH RECURSIVE reach(ref) AS ("
	" SELECT ?"
	" UNION"
	" SELECT g.ref FROM reach r"
	" JOIN lineage_io u ON u.ref = r.ref AND u.role = 'used'"
	" JOIN lineage_io g ON g.event = u.event AND g.role = 'generated'"
	" WHERE r.ref = ? OR r.ref NOT LIKE 'batch:%')"
	" SELECT e.id, e.event, e.node, e.usr, e.batch, e.time, u.ref, g.ref"
	" FROM reach r"
	" JOIN lineage_io u ON u.ref = r.ref AND u.role = 'used'"
	" JOIN lineage_io g ON g.event = u.event AND g.role = 'generated'"
	" JOIN lineage_event e ON e.id = u.event"
	" WHERE r.ref = ? OR r.ref NOT LIKE 'batch:%'"
	" ORDER BY e.time, e.id, u.ref, g.ref LIMIT 100001";

static int
info_of(struct spool_store *st, const char *ref,
    int (*entity)(void *, const struct spool_lineage_info *), void *arg,
    spool_err *err)
{
	struct spool_lineage_info i;
	struct spool_dbres res;
	int r;

	if ((r = st_q(st, &res, err, "SELECT ref, kind, name, hash, node, "
	    "size, created FROM lineage_entity WHERE ref = ?", DBS(ref))) !=
	    SPOOL_OK)
		return r;
	if (res.nrows == 0) {
		spool_dbres_release(&res);
		return SPOOL_OK;
	}
	i.ref = spool_dbres_text(&res, 0, 0);
	i.kind = spool_dbres_text(&res, 0, 1);
	i.name = spool_dbres_text(&res, 0, 2);
	i.hash = spool_dbres_text(&res, 0, 3);
	i.node = spool_dbres_text(&res, 0, 4);
	i.size = spool_dbres_text(&res, 0, 5) ? spool_dbres_int(&res, 0, 5) :
	    -1;
	i.created = spool_dbres_int(&res, 0, 6);
	r = entity(arg, &i);
	spool_dbres_release(&res);
	return r;
}

/* refs already described: a small open-addressed set of strings */
struct seen {
	char **v;
	size_t n, cap;
};

static int
seen_add(struct seen *s, const char *ref, int *added)
{
	size_t i, h = 5381;
	const char *p;

	if ((s->n + 1) * 2 > s->cap) {
		struct seen t = { NULL, 0, s->cap ? s->cap * 2 : 64 };
		int dummy;
		if ((t.v = calloc(t.cap, sizeof(*t.v))) == NULL)
			return SPOOL_ERR_NOMEM;
		for (i = 0; i < s->cap; i++)
			if (s->v[i] != NULL) {
				seen_add(&t, s->v[i], &dummy);
				free(s->v[i]);
			}
		free(s->v);
		*s = t;
	}
	for (p = ref; *p; p++)
		h = h * 33 + (unsigned char)*p;
	for (i = h & (s->cap - 1); s->v[i] != NULL; i = (i + 1) & (s->cap - 1))
		if (strcmp(s->v[i], ref) == 0) {
			*added = 0;
			return SPOOL_OK;
		}
	if ((s->v[i] = strdup(ref)) == NULL)
		return SPOOL_ERR_NOMEM;
	s->n++;
	*added = 1;
	return SPOOL_OK;
}

static void
seen_free(struct seen *s)
{
	size_t i;

	for (i = 0; i < s->cap; i++)
		free(s->v[i]);
	free(s->v);
}

static int
describe(struct spool_store *st, struct seen *s, const char *ref,
    int (*entity)(void *, const struct spool_lineage_info *), void *arg,
    spool_err *err)
{
	int added, r;

	if (entity == NULL)
		return SPOOL_OK;
	if ((r = seen_add(s, ref, &added)) != SPOOL_OK)
		return spool_fail(err, r, "out of memory");
	return added ? info_of(st, ref, entity, arg, err) : SPOOL_OK;
}

int
spool_lineage_walk(struct spool_store *st, const char *ref,
    enum spool_lineage_dir dir,
    int (*edge)(void *arg, const struct spool_lineage_edge *e),
    int (*entity)(void *arg, const struct spool_lineage_info *i),
    void *arg, spool_err *err)
{
	struct spool_dbres res;
	struct seen s = { NULL, 0, 0 };
	size_t i;
	int r;

	if ((r = st_q(st, &res, err, dir == SPOOL_LINEAGE_UP ? up_edges :
	    down_edges, DBS(ref), DBS(ref), DBS(ref))) != SPOOL_OK)
		return r;
	if (res.nrows > 100000) {
		spool_dbres_release(&res);
		return spool_fail(err, SPOOL_ERR_LIMIT,
		    "lineage of '%s' has more than 100000 links", ref);
	}
	r = describe(st, &s, ref, entity, arg, err);
	for (i = 0; i < res.nrows && r == SPOOL_OK; i++) {
		struct spool_lineage_edge e;

		e.event_id = spool_dbres_text(&res, i, 0);
		e.event = spool_dbres_text(&res, i, 1);
		e.node = spool_dbres_text(&res, i, 2);
		e.user = spool_dbres_text(&res, i, 3);
		e.batch = spool_dbres_text(&res, i, 4);
		e.time = spool_dbres_int(&res, i, 5);
		e.from = spool_dbres_text(&res, i, 6);
		e.to = spool_dbres_text(&res, i, 7);
		if ((r = describe(st, &s, e.from, entity, arg, err)) !=
		    SPOOL_OK ||
		    (r = describe(st, &s, e.to, entity, arg, err)) != SPOOL_OK)
			break;
		if (edge != NULL)
			r = edge(arg, &e);
	}
	spool_dbres_release(&res);
	seen_free(&s);
	return r;
}

int
spool_lineage_link(struct spool_store *st, const char *event, int64_t time,
    const char *user, const char *batch, const char *const *used,
    size_t nused, const char *const *generated, size_t ngenerated,
    spool_err *err)
{
	struct spool_lineage_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.event = event;
	ev.time = time;
	ev.user = user;
	ev.batch = batch;
	ev.used = used;
	ev.nused = nused;
	ev.generated = generated;
	ev.ngenerated = ngenerated;
	return spool_lineage_record(st, &ev, err);
}
