/*
 * inbox.c - import: batch pairs in import/ are verified, applied in one
 * transaction, archived; refused ones go to quarantine/.
 *
 * The pair is checked exactly as DESIGN section 4 says by
 * spool_batch_read (private copy first, signature before any parsing).
 * Its blobs stream into the blob store as they are verified; the result
 * folders of results are written from them; one syncfs; then one
 * transaction records the batch (or a duplicate), applies its acks, and
 * each item: a request becomes a job, a result completes its request.
 * Only then is the verified copy archived and the pair removed from
 * import/.  A crash before the commit redoes the import (blobs and result
 * folders are written again, to the same bytes); a crash after it finds
 * the pair a duplicate of itself, which changes nothing.
 *
 * Over 800 lines and kept whole: importing one pair is one transaction
 * story (verify, assemble parts, write results, apply, archive) with
 * one context threaded through it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool/base/error.h"
#include "spool/base/fsutil.h"
#include "spool/base/hash.h"
#include "spool/base/util.h"
#include "spool/flow/daemon.h"
#include "spool/flow/daemon_impl.h"
#include "spool/flow/inbox.h"
#include "spool/flow/inbox_place.h"
#include "spool/flow/results.h"
#include "spool/format/batch.h"
#include "spool/format/blobset.h"
#include "spool/format/manifest.h"
#include "spool/format/minisig.h"
#include "spool/format/pair.h"
#include "spool/job/job.h"
#include "spool/job/plan.h"
#include "spool/node/kinds.h"
#include "spool/node/config.h"
#include "spool/node/node.h"
#include "spool/store/batchlog.h"
#include "spool/store/blobref.h"
#include "spool/store/blobstore.h"
#include "spool/store/lineage.h"
#include "spool/store/list.h"
#include "spool/store/queue.h"
#include "spool/store/request.h"
#include "spool/store/store.h"

struct whole {
	char request[SPOOL_ID_MAX];
	char hex[SPOOL_HASH_HEXLEN + 1];
	char name[NAME_MAX + 1];  /* for the log line at the commit */
	long long parts;
	uint64_t size;
};

struct import {
	struct spool_daemon *d;
	struct spool_batch_facts f;
	const char *name;
	json_t *acks;
	json_t **items;
	size_t nitems, cap;
	struct spool_blob_tmp b;
	char batch_row[SPOOL_ID_MAX];
	int duplicate;
	int seen;             /* received before: a duplicate or conflict */
	uint64_t acked;
	struct whole *whole;  /* files assembled from parts by this batch */
	size_t nwhole;
	size_t nwritten;      /* result folders written for items[0..n) */
	size_t *parts;        /* indices of part items, sorted by file, idx */
	size_t nparts;
	uint64_t npayloads;   /* files the items carry (blob references) */
};

/* The signed facts, before a byte of the batch is parsed: never accept
 * from a peer configured send-only, nor more items than this node
 * batches itself. */
static int
on_verified(void *ctx, const struct spool_batch_facts *f, spool_err *err)
{
	struct import *im = ctx;
	const struct spool_conf_peer *p = spool_config_peer(im->d->node->cfg,
	    f->from);

	if (p != NULL && p->direction == SPOOL_DIR_SEND_ONLY)
		return spool_fail(err, SPOOL_ERR_UNTRUSTED, "peer '%s' is "
		    "send-only ([peer %s] direction): this node never accepts "
		    "batches from it", f->from, f->from);
	/* what an import costs grows with its items (a blob file, a few
	 * rows each): bounded like what this node writes itself */
	if (f->items > im->d->node->cfg->max_items)
		return spool_fail(err, SPOOL_ERR_LIMIT, "batch has %llu items, "
		    "more than [batch] max_items (%llu)",
		    (unsigned long long)f->items,
		    (unsigned long long)im->d->node->cfg->max_items);
	return SPOOL_OK;
}

static int
on_header(void *ctx, const json_t *hdr, spool_err *err)
{
	struct import *im = ctx;

	(void)err;
	im->acks = json_incref(json_object_get(hdr, "acks"));
	return SPOOL_OK;
}

static int
count_payload(void *ctx, const struct spool_payload *p, spool_err *err)
{
	(void)p;
	(void)err;
	((struct import *)ctx)->npayloads++;
	return SPOOL_OK;
}

static int
on_item(void *ctx, const json_t *item, spool_err *err)
{
	struct import *im = ctx;
	uint64_t max = im->d->node->cfg->max_items;

	/* every file an item carries is a blob file to write: as many
	 * as this node would carry itself, refused before the first */
	if (spool_manifest_payloads(item, count_payload, im, err) != SPOOL_OK)
		return SPOOL_ERR_FORMAT;
	if (im->npayloads > max)
		return spool_fail(err, SPOOL_ERR_LIMIT, "batch carries more "
		    "than [batch] max_items (%llu) files",
		    (unsigned long long)max);
	if (im->nitems == im->cap) {
		size_t cap = im->cap ? im->cap * 2 : 64;
		void *p = realloc(im->items, cap * sizeof(*im->items));

		if (p == NULL)
			return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		im->items = p;
		im->cap = cap;
	}
	im->items[im->nitems++] = json_incref((json_t *)item);
	return SPOOL_OK;
}

static int
on_blob_begin(void *ctx, const uint8_t hash[SPOOL_HASH_LEN], uint64_t size,
    spool_err *err)
{
	struct import *im = ctx;
	int r;

	(void)hash;
	(void)size;
	if ((r = spool_blob_open(&im->b, im->d->node->root, err)) != SPOOL_OK)
		return r;
	im->b.trusted = 1; /* the reader hashes it, and checks at the end */
	return SPOOL_OK;
}

static int
on_blob_data(void *ctx, const uint8_t *p, size_t n, spool_err *err)
{
	return spool_blob_write(&((struct import *)ctx)->b, p, n, err);
}

static int
on_blob_end(void *ctx, const uint8_t hash[SPOOL_HASH_LEN], spool_err *err)
{
	struct import *im = ctx;

	return spool_blob_commit(&im->b, im->d->node->root, hash, err);
}

static void
import_release(struct import *im)
{
	size_t i;

	for (i = 0; i < im->nitems; i++)
		json_decref(im->items[i]);
	free(im->items);
	json_decref(im->acks);
	free(im->whole);
	free(im->parts);
	spool_blob_discard(&im->b);
}

static int
jint(const json_t *o, const char *k, int64_t *out)
{
	const json_t *v = json_object_get(o, k);

	if (!json_is_integer(v))
		return -1;
	*out = (int64_t)json_integer_value(v);
	return 0;
}

static const char *
jstr(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* ---- applying --------------------------------------------------------- */

static int
lineage_imported(struct spool_store *st, struct import *im,
    const char *user, const char *const *gen, size_t ngen, spool_err *err)
{
	char bref[SPOOL_REF_MAX];

	snprintf(bref, sizeof(bref), "batch:%s", im->f.id);
	return spool_lineage_link(st, "imported", 0, user, im->f.id,
	    (const char *[]){ bref }, 1, gen, ngen, err);
}

static int
time_ms(const char *s, int64_t *out)
{
	time_t t;

	if (s == NULL || spool_time_parse(s, &t) != SPOOL_OK)
		return -1;
	*out = (int64_t)t * 1000;
	return 0;
}

/* Row: name idx count offs size blob file_size file_blob.  A file that
 * comes in parts is ready when it was made whole from this request's
 * own parts (its blob is the request's input), not merely when a blob
 * of that hash exists: it could be another request's file. */
struct ready {
	struct spool_store *st;
	const char *request;
	int ready;
	spool_err *err;
	int r;
};

static int
ready_row(void *arg, const struct spool_store_row *row)
{
	struct ready *rd = arg;
	int yes = 0;

	if ((rd->r = spool_store_blob_is_ref(rd->st, row->col[7],
	    rd->request, "input", &yes, rd->err)) != SPOOL_OK)
		return 1;
	if (!yes)
		rd->ready = 0;
	return 0;
}

/* A processing-side request whose files are all here and that has no job
 * yet gets its job, shaped by its type's plan (plan.h).  A type this node
 * has no plan for, or params that make none, fail the request at once. */
static int
maybe_start(struct spool_store *st, struct import *im, const char *id,
    spool_err *err)
{
	struct spool_request_info ri;
	struct spool_job_spec js;
	struct spool_task_spec *ts = NULL;
	struct spool_conf_pool pool;
	struct spool_plan plan;
	struct ready rd = { st, id, 1, err, SPOOL_OK };
	char job[SPOOL_ID_MAX], input[128];
	char rref[SPOOL_REF_MAX], jref[SPOOL_REF_MAX];
	char *ptext = NULL;
	json_t *params = NULL;
	spool_err pe;
	int i, r;

	if ((r = spool_store_request_info(st, id, &ri, err)) != SPOOL_OK)
		return r == SPOOL_ERR_NOTFOUND ? SPOOL_OK : r;
	if (strcmp(ri.side, "process") != 0 || strcmp(ri.state, "imported") != 0)
		return SPOOL_OK;
	if ((r = spool_store_part_files(st, id, ready_row, &rd, err)) < 0 ||
	    rd.r != SPOOL_OK)
		return rd.r != SPOOL_OK ? rd.r : r;
	if (!rd.ready)
		return SPOOL_OK; /* parts still to come */
	if ((r = spool_store_request_params(st, id, &ptext, err)) != SPOOL_OK)
		return r;
	params = ptext ? json_loads(ptext, 0, NULL) : NULL;
	free(ptext);
	r = spool_plan_get(&plan, ri.type, params, &pe);
	if (r == SPOOL_OK && spool_kind_refuses(im->d->node->cfg, ri.type,
	    params, ri.hash[0] != '\0', pe.msg, sizeof(pe.msg)))
		r = SPOOL_ERR_NOTFOUND;
	json_decref(params);
	if (r != SPOOL_OK) {
		/* nothing to run: the request fails with the reason, and is
		 * answered like any failed one */
		spool_daemon_log(im->d, "event=request-refused request=%s "
		    "type=%s reason=%s", id, ri.type, LQ(pe.msg));
		spool_idlist_add(&im->d->changed, id);
		return spool_store_request_set_state(st, id, "failed", pe.msg,
		    err);
	}
	if ((ts = calloc((size_t)plan.count[0], sizeof(*ts))) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	snprintf(input, sizeof(input), "{\"request\":\"%s\"}", id);
	for (i = 0; i < plan.count[0]; i++)
		ts[i].input = input;
	spool_config_pool(im->d->node->cfg, plan.kind ? plan.kind : "transfer",
	    &pool);
	memset(&js, 0, sizeof(js));
	js.type = ri.type;
	js.request = id;
	js.priority = ri.priority;
	js.deadline = ri.deadline;
	js.max_attempts = (int)pool.retries + 1;
	js.nstages = plan.nstages;
	js.stage_names = plan.names;
	js.tasks = ts;
	js.ntasks = (size_t)plan.count[0];
	r = spool_job_create(st, &js, job, err);
	free(ts);
	if (r != SPOOL_OK)
		return r;
	snprintf(rref, sizeof(rref), "request:%s", id);
	snprintf(jref, sizeof(jref), "job:%s", job);
	if ((r = spool_lineage_entity(st, jref, ri.name, NULL, -1, err)) !=
	    SPOOL_OK ||
	    (r = spool_lineage_link(st, "started", 0, ri.user, NULL,
	    (const char *[]){ rref }, 1, (const char *[]){ jref }, 1, err)) !=
	    SPOOL_OK)
		return r;
	spool_idlist_add(&im->d->changed, id);
	spool_daemon_log(im->d, "event=job-created request=%s job=%s type=%s "
	    "stages=%zu", id, job, ri.type, plan.nstages);
	return SPOOL_OK;
}

/* A part of a large file: its blob is kept until the file is whole. */
static int
apply_part(struct spool_store *st, struct import *im, const json_t *it,
    spool_err *err)
{
	const char *req = jstr(it, "request"), *b = jstr(it, "blob");
	uint64_t size = (uint64_t)json_integer_value(json_object_get(it,
	    "size"));
	char path[PATH_MAX];
	int r;

	spool_blob_path(im->d->node->root, b, path);
	if ((r = spool_store_blob_add(st, b, size, path, err)) != SPOOL_OK ||
	    (r = spool_store_blob_ref(st, b, req, "part", err)) != SPOOL_OK)
		return r;
	return spool_store_part_add(st, req, jstr(it, "name"),
	    (int)json_integer_value(json_object_get(it, "index")),
	    (int)json_integer_value(json_object_get(it, "count")),
	    (uint64_t)json_integer_value(json_object_get(it, "offset")), size,
	    b, (uint64_t)json_integer_value(json_object_get(it, "file_size")),
	    jstr(it, "file_blob"), err);
}

static int merge_lineage(struct spool_store *, const json_t *,
    const char ***, size_t *, const char *, const char *, spool_err *);

/* A request from the peer: recorded on the processing side, and a job
 * for it. */
static int
apply_request(struct spool_store *st, struct import *im, const json_t *it,
    spool_err *err)
{
	struct spool_daemon *d = im->d;
	const json_t *files = json_object_get(it, "files"), *f;
	const char *id = jstr(it, "id"), *type = jstr(it, "type");
	char rref[SPOOL_REF_MAX], fref[SPOOL_REF_MAX], bpath[PATH_MAX];
	const char *gen[1] = { rref };
	struct spool_request q;
	char *ptext = NULL, key[SPOOL_CACHE_KEY_MAX];
	size_t i;
	int r;

	if (spool_store_get_row(st, "request", id, NULL, NULL, NULL) ==
	    SPOOL_OK)
		return SPOOL_OK; /* a resent request, already here */
	f = json_array_get(files, 0);
	memset(&q, 0, sizeof(q));
	snprintf(q.id, sizeof(q.id), "%s", id);
	q.side = "process";
	q.type = type;
	q.user = jstr(it, "user");
	q.folder = jstr(it, "folder");
	q.name = jstr(it, "name");
	q.peer = im->f.from;
	q.priority = (int)json_integer_value(json_object_get(it, "priority"));
	if (time_ms(jstr(it, "expires"), &q.deadline) != 0)
		q.deadline = 0;
	q.state = "imported";
	q.size = f ? (int64_t)json_integer_value(json_object_get(f, "size")) :
	    -1;
	q.hash = f ? jstr(f, "blob") : NULL;
	if (json_object_get(it, "params") != NULL &&
	    (ptext = json_dumps(json_object_get(it, "params"), JSON_COMPACT)) ==
	    NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	q.params = ptext;
	if (strcmp(type, "query") == 0 &&
	    spool_query_cache_key(json_object_get(it, "params"), key) == 0)
		q.cache_key = key;
	r = spool_store_request_add(st, &q, err);
	free(ptext);
	if (r != SPOOL_OK)
		return r;
	if (f != NULL && json_is_integer(json_object_get(f, "mode")) &&
	    (r = spool_store_request_set_mode(st, id, (unsigned)
	    json_integer_value(json_object_get(f, "mode")), err)) != SPOOL_OK)
		return r;
	snprintf(rref, sizeof(rref), "request:%s", id);
	if ((r = spool_lineage_entity(st, rref, q.name, q.hash, q.size,
	    err)) != SPOOL_OK ||
	    (r = lineage_imported(st, im, q.user, gen, 1, err)) != SPOOL_OK)
		return r;
	/* where it began on the sender: who dropped it, into which batch */
	{
		const char **outs = NULL;
		size_t nouts = 0;

		r = merge_lineage(st, it, &outs, &nouts, im->f.from, rref, err);
		free(outs);
		if (r != SPOOL_OK)
			return r;
	}
	json_array_foreach(files, i, f) {
		const char *h = jstr(f, "blob");
		uint64_t sz = (uint64_t)json_integer_value(json_object_get(f,
		    "size"));

		if (json_object_get(f, "parts") != NULL) {
			/* it comes in parts: noted, assembled later */
			if ((r = spool_store_part_add(st, id, jstr(f, "name"),
			    -1, (int)json_integer_value(json_object_get(f,
			    "parts")), 0, sz, h, sz, h, err)) != SPOOL_OK)
				return r;
			continue;
		}
		spool_blob_path(d->node->root, h, bpath);
		snprintf(fref, sizeof(fref), "file:%s", h);
		if ((r = spool_store_blob_add(st, h, sz, bpath, err)) !=
		    SPOOL_OK ||
		    (r = spool_store_blob_ref(st, h, id, "input", err)) !=
		    SPOOL_OK ||
		    (r = spool_lineage_entity(st, fref, jstr(f, "name"), h,
		    (int64_t)sz, err)) != SPOOL_OK)
			return r;
	}
	if ((r = maybe_start(st, im, id, err)) != SPOOL_OK)
		return r;
	spool_idlist_add(&d->changed, id);
	spool_daemon_log(d, "event=request-imported request=%s type=%s "
	    "name=%s from=%s", id, type, LQ(q.name), im->f.from);
	return SPOOL_OK;
}

static int
is_final(const char *state)
{
	return strcmp(state, "completed") == 0 ||
	    strcmp(state, "failed") == 0 || strcmp(state, "expired") == 0 ||
	    strcmp(state, "cancelled") == 0;
}

/* Merge the lineage events an item carries: a result's (the processing
 * node's), or a request's (the sending node's, up to its batch).  With
 * only_node, an event is merged only when it happened on that node and
 * names ref among what it used or generated: a request's lineage says
 * where that request began, nothing else. */
static int
merge_lineage(struct spool_store *st, const json_t *it, const char ***outs,
    size_t *nouts, const char *only_node, const char *ref, spool_err *err)
{
	const json_t *evs = json_object_get(it, "lineage"), *e;
	size_t i;
	int r;

	json_array_foreach(evs, i, e) {
		const char *u[1000], *g[1000];
		struct spool_lineage_event ev;
		const json_t *x;
		size_t k;
		int names = 0;

		if (only_node != NULL) {
			if (jstr(e, "node") == NULL ||
			    strcmp(jstr(e, "node"), only_node) != 0)
				continue;
			json_array_foreach(json_object_get(e, "used"), k, x)
				names |= strcmp(json_string_value(x), ref) == 0;
			json_array_foreach(json_object_get(e, "generated"), k,
			    x)
				names |= strcmp(json_string_value(x), ref) == 0;
			if (!names)
				continue;
		}
		memset(&ev, 0, sizeof(ev));
		snprintf(ev.id, sizeof(ev.id), "%s", jstr(e, "id"));
		ev.event = jstr(e, "event");
		if (time_ms(jstr(e, "time"), &ev.time) != 0)
			ev.time = 0;
		ev.node = jstr(e, "node");
		ev.user = jstr(e, "user");
		ev.batch = jstr(e, "batch");
		json_array_foreach(json_object_get(e, "used"), k, x)
			u[k] = json_string_value(x);
		ev.used = u;
		ev.nused = json_array_size(json_object_get(e, "used"));
		json_array_foreach(json_object_get(e, "generated"), k, x) {
			g[k] = json_string_value(x);
			if (strcmp(ev.event, "derived") == 0 &&
			    strncmp(g[k], "output:", 7) == 0) {
				const char **p = realloc(*outs, (*nouts + 1) *
				    sizeof(**outs));

				if (p == NULL)
					return spool_fail(err, SPOOL_ERR_NOMEM,
					    "out of memory");
				*outs = p;
				p[(*nouts)++] = g[k];
			}
		}
		ev.generated = g;
		ev.ngenerated = json_array_size(json_object_get(e, "generated"));
		if ((r = spool_lineage_record(st, &ev, err)) != SPOOL_OK)
			return r;
	}
	return SPOOL_OK;
}

/* A result from the peer for a request this node sent it. */
static int
apply_result(struct spool_store *st, struct import *im, const json_t *it,
    spool_err *err)
{
	struct spool_daemon *d = im->d;
	struct spool_request_info ri;
	const char *req = jstr(it, "request"), *status = jstr(it, "status");
	const json_t *f;
	const char **outs = NULL;
	char bpath[PATH_MAX], detail[SPOOL_ERR_MSG_MAX];
	const char *state;
	size_t i, nouts = 0;
	int r;

	if ((r = spool_store_request_info(st, req, &ri, err)) != SPOOL_OK)
		return r;
	if (is_final(ri.state))
		return SPOOL_OK; /* answered before: a resent result */
	json_array_foreach(json_object_get(it, "files"), i, f) {
		const char *h = jstr(f, "blob");

		spool_blob_path(d->node->root, h, bpath);
		if ((r = spool_store_blob_add(st, h, (uint64_t)
		    json_integer_value(json_object_get(f, "size")), bpath,
		    err)) != SPOOL_OK ||
		    (r = spool_store_blob_ref(st, h, req, "output", err)) !=
		    SPOOL_OK)
			return r;
	}
	if ((r = merge_lineage(st, it, &outs, &nouts, NULL, NULL, err)) !=
	    SPOOL_OK ||
	    (nouts > 0 && (r = lineage_imported(st, im, NULL, outs, nouts,
	    err)) != SPOOL_OK)) {
		free(outs);
		return r;
	}
	free(outs);
	state = strcmp(status, "succeeded") == 0 ? "completed" :
	    strcmp(status, "expired") == 0 ? "expired" :
	    strcmp(status, "cancelled") == 0 ? "cancelled" : "failed";
	snprintf(detail, sizeof(detail), "%s", jstr(it, "error") ?
	    jstr(it, "error") : im->name);
	if ((r = spool_store_request_set_state(st, req, state, detail, err)) !=
	    SPOOL_OK) {
		if (r == SPOOL_ERR_STATE)
			return SPOOL_OK; /* answered before: a resent result */
		return r;
	}
	spool_idlist_add(&d->changed, req);
	spool_daemon_log(d, "event=result request=%s status=%s from=%s", req,
	    status, im->f.from);
	return SPOOL_OK;
}

/* ---- checks, before anything is written ------------------------------- */

/* Results are accepted only from the peer their request went to. */
static int
check_source(struct import *im, const json_t *it,
    struct spool_request_info *ri, spool_err *err)
{
	const char *req = jstr(it, "request");
	int r;

	if ((r = spool_store_request_info(im->d->st, req, ri, err)) !=
	    SPOOL_OK) {
		if (r == SPOOL_ERR_NOTFOUND)
			return spool_fail(err, SPOOL_ERR_FORMAT, "result for "
			    "request %s, which this node never sent", req);
		return r;
	}
	if (strcmp(ri->side, "submit") != 0 || strcmp(ri->peer, im->f.from) != 0)
		return spool_fail(err, SPOOL_ERR_UNTRUSTED, "result for "
		    "request %s from %s, but it was sent to %s", req,
		    im->f.from, ri->peer[0] ? ri->peer : "no peer");
	return SPOOL_OK;
}

/* What a peer may say of a request it answers: only events made on its
 * side (node = the sender, user = the request's), about that request
 * (every event reached from the request and its input,
 * spool_manifest_lineage_scope), making only new jobs, tasks and
 * outputs, and files that are the request's input or its outputs.
 * Anything else would put words in another node's, user's or request's
 * lineage. */
static int
check_lineage(struct import *im, const json_t *it,
    const struct spool_request_info *ri, spool_err *err)
{
	const json_t *evs = json_object_get(it, "lineage"), *e, *x, *f;
	const char *req = jstr(it, "request"), *bad = NULL;
	char rref[SPOOL_REF_MAX], fref[SPOOL_REF_MAX];
	const char *seeds[2] = { rref, ri->hash[0] ? fref : NULL };
	unsigned char *keep;
	size_t i, k, j, n = json_array_size(evs), nkeep = 0;
	int r = SPOOL_OK, yes;

	if (n == 0)
		return SPOOL_OK;
	snprintf(rref, sizeof(rref), "request:%s", req);
	snprintf(fref, sizeof(fref), "file:%s", ri->hash);
	if ((keep = malloc(n)) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	if (spool_manifest_lineage_scope(evs, seeds, 2, keep, &nkeep) != 0) {
		free(keep);
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	}
	json_array_foreach(evs, i, e) {
		const char *node = jstr(e, "node"), *user = jstr(e, "user");

		if (!keep[i]) {
			bad = "is not about that request";
			break;
		}
		if (node == NULL || strcmp(node, im->f.from) != 0) {
			bad = "was not made on the sending node";
			break;
		}
		if (user != NULL && user[0] != '\0' && strcmp(user, ri->user) != 0) {
			bad = "names another user than the request's";
			break;
		}
		json_array_foreach(json_object_get(e, "generated"), k, x) {
			const char *g = json_string_value(x);

			if (strncmp(g, "file:", 5) == 0) {
				int ok = strcmp(g + 5, ri->hash) == 0;

				json_array_foreach(json_object_get(it, "files"), j,
				    f)
					if (strcmp(g + 5, jstr(f, "blob")) == 0)
						ok = 1;
				if (!ok) {
					bad = "makes a file that is neither the "
					    "request's input nor one of its outputs";
					break;
				}
				continue;
			}
			if (strncmp(g, "job:", 4) != 0 &&
			    strncmp(g, "task:", 5) != 0 &&
			    strncmp(g, "output:", 7) != 0) {
				bad = "makes a request or batch";
				break;
			}
			if ((r = spool_lineage_known(im->d->st, g, &yes, err)) !=
			    SPOOL_OK)
				break;
			if (yes) {
				bad = "claims a job, task or output this node "
				    "knows already";
				break;
			}
		}
		if (bad != NULL || r != SPOOL_OK)
			break;
	}
	free(keep);
	if (r != SPOOL_OK)
		return r;
	if (bad != NULL)
		return spool_fail(err, SPOOL_ERR_FORMAT, "result for request %s: "
		    "lineage event %s %s", req, jstr(e, "id"), bad);
	return SPOOL_OK;
}

static int
cmp_result(const void *a, const void *b, void *arg)
{
	struct import *im = arg;

	return strcmp(jstr(im->items[*(const size_t *)a], "request"),
	    jstr(im->items[*(const size_t *)b], "request"));
}

/* Every result: from the peer its request went to, one per request in a
 * batch (two would contradict each other), its lineage about it. */
static int
check_results(struct import *im, spool_err *err)
{
	struct spool_request_info ri;
	size_t *v, n = 0, i;
	int r = SPOOL_OK;

	if ((v = calloc(im->nitems ? im->nitems : 1, sizeof(*v))) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	for (i = 0; i < im->nitems; i++)
		if (strcmp(jstr(im->items[i], "kind"), "result") == 0)
			v[n++] = i;
	qsort_r(v, n, sizeof(*v), cmp_result, im);
	for (i = 1; i < n; i++)
		if (cmp_result(&v[i - 1], &v[i], im) == 0) {
			r = spool_fail(err, SPOOL_ERR_FORMAT, "conflict: two "
			    "results for request %s in one batch",
			    jstr(im->items[v[i]], "request"));
			goto out;
		}
	for (i = 0; i < n; i++) {
		const json_t *it = im->items[v[i]];

		if ((r = check_source(im, it, &ri, err)) != SPOOL_OK)
			goto out;
		if (is_final(ri.state))
			continue; /* answered before: nothing of it is kept */
		if ((r = check_lineage(im, it, &ri, err)) != SPOOL_OK)
			goto out;
	}
out:
	free(v);
	return r;
}

static int
cmp_part(const void *a, const void *b, void *arg)
{
	struct import *im = arg;
	const json_t *x = im->items[*(const size_t *)a];
	const json_t *y = im->items[*(const size_t *)b];
	int c;
	json_int_t i, j;

	if ((c = strcmp(jstr(x, "request"), jstr(y, "request"))) != 0 ||
	    (c = strcmp(jstr(x, "name"), jstr(y, "name"))) != 0)
		return c;
	i = json_integer_value(json_object_get(x, "index"));
	j = json_integer_value(json_object_get(y, "index"));
	return i < j ? -1 : i > j;
}

/* Two part items of one file (same request and name). */
static int
same_file(const json_t *x, const json_t *y)
{
	return strcmp(jstr(x, "request"), jstr(y, "request")) == 0 &&
	    strcmp(jstr(x, "name"), jstr(y, "name")) == 0;
}

/* Part items: each within its file, each carrying its own bytes (no two
 * part items of a batch name one blob, so a file made whole never holds
 * more than what was carried for it), one item per index, the items of a
 * file agreeing on it, and for a request known here only from the peer
 * that sent it.  Then sorted by file and index for assembly. */
static int
check_parts(struct import *im, spool_err *err)
{
	struct spool_blobset blobs;
	struct spool_request_info ri;
	size_t i, n = 0;
	int r = SPOOL_OK;

	if ((im->parts = calloc(im->nitems ? im->nitems : 1,
	    sizeof(*im->parts))) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	spool_blobset_init(&blobs, SPOOL_BLOBS_MAX);
	for (i = 0; i < im->nitems; i++) {
		const json_t *it = im->items[i];
		int64_t idx, count, off, size, fsize;
		uint8_t h[SPOOL_HASH_LEN];
		int created;

		if (strcmp(jstr(it, "kind"), "part") != 0)
			continue;
		if (jint(it, "index", &idx) != 0 || jint(it, "count", &count) !=
		    0 || jint(it, "offset", &off) != 0 || jint(it, "size",
		    &size) != 0 || jint(it, "file_size", &fsize) != 0 ||
		    spool_unhex(h, sizeof(h), jstr(it, "blob")) != 0) {
			r = spool_fail(err, SPOOL_ERR_FORMAT, "bad part item");
			goto out;
		}
		if (size < 1 || count > fsize || off > fsize - size) {
			r = spool_fail(err, SPOOL_ERR_FORMAT, "part %lld of '%s' "
			    "(request %s) does not lie within its file of %lld "
			    "bytes", (long long)idx, jstr(it, "name"),
			    jstr(it, "request"), (long long)fsize);
			goto out;
		}
		if (spool_blobset_add(&blobs, h, (uint64_t)size, &created) ==
		    NULL) {
			r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
			goto out;
		}
		if (!created) {
			r = spool_fail(err, SPOOL_ERR_FORMAT, "blob %s stands for "
			    "two part items: each part must be carried",
			    jstr(it, "blob"));
			goto out;
		}
		im->parts[n++] = i;
	}
	im->nparts = n;
	qsort_r(im->parts, n, sizeof(*im->parts), cmp_part, im);
	for (i = 0; i < n; i++) {
		const json_t *it = im->items[im->parts[i]], *prev;

		if (i > 0 && same_file(prev = im->items[im->parts[i - 1]], it)) {
			if (cmp_part(&im->parts[i - 1], &im->parts[i], im) == 0) {
				r = spool_fail(err, SPOOL_ERR_FORMAT, "part %lld "
				    "of '%s' (request %s) is given twice",
				    (long long)json_integer_value(
				    json_object_get(it, "index")),
				    jstr(it, "name"), jstr(it, "request"));
				goto out;
			}
			if (!json_equal(json_object_get(prev, "count"),
			    json_object_get(it, "count")) ||
			    !json_equal(json_object_get(prev, "file_size"),
			    json_object_get(it, "file_size")) ||
			    strcmp(jstr(prev, "file_blob"), jstr(it,
			    "file_blob")) != 0) {
				r = spool_fail(err, SPOOL_ERR_FORMAT, "the parts "
				    "of '%s' (request %s) disagree on the "
				    "whole file", jstr(it, "name"),
				    jstr(it, "request"));
				goto out;
			}
			continue;
		}
		/* the first part of a file here: whose request is it? */
		r = spool_store_request_info(im->d->st, jstr(it, "request"),
		    &ri, err);
		if (r == SPOOL_ERR_NOTFOUND) {
			r = SPOOL_OK; /* parts may come before their request */
			continue;
		}
		if (r != SPOOL_OK)
			goto out;
		if (strcmp(ri.side, "process") != 0 ||
		    strcmp(ri.peer, im->f.from) != 0) {
			r = spool_fail(err, SPOOL_ERR_UNTRUSTED, "part of request "
			    "%s, which did not come from %s", jstr(it,
			    "request"), im->f.from);
			goto out;
		}
	}
out:
	spool_blobset_release(&blobs);
	return r;
}

/* ---- files made whole from their parts -------------------------------- */

#define PART_PAGE 1024 /* parts read from the store at a time */
#define ORPHAN_MS 15000 /* a lone .minisig waits this for its .batch */
/* a pair that failed for a passing reason is tried again after 5 s,
 * doubling to a minute while it keeps failing (each try reads it whole) */
#define RETRY_FIRST_MS 5000
#define RETRY_MAX_MS 60000

/* One stored part, as a row (name idx count offs size blob file_size
 * file_blob). */
struct part_rec {
	int found;
	int64_t idx, count, offs, size, file_size;
	char blob[SPOOL_HASH_HEXLEN + 1];
	char file_blob[SPOOL_HASH_HEXLEN + 1];
};

static void
part_rec_of(struct part_rec *p, const struct spool_store_row *row)
{
	p->found = 1;
	p->idx = strtoll(row->col[1], NULL, 10);
	p->count = strtoll(row->col[2], NULL, 10);
	p->offs = strtoll(row->col[3], NULL, 10);
	p->size = strtoll(row->col[4], NULL, 10);
	p->file_size = strtoll(row->col[6], NULL, 10);
	snprintf(p->blob, sizeof(p->blob), "%s", row->col[5]);
	snprintf(p->file_blob, sizeof(p->file_blob), "%s", row->col[7]);
}

static int
one_part_row(void *arg, const struct spool_store_row *row)
{
	part_rec_of(arg, row);
	return 1;
}

struct part_page {
	struct part_rec v[PART_PAGE];
	size_t n;
};

static int
page_row(void *arg, const struct spool_store_row *row)
{
	struct part_page *pg = arg;

	part_rec_of(&pg->v[pg->n++], row);
	return pg->n == PART_PAGE;
}

/* Copy part p (blob hex, offset, size) onto the end of b; pos is where
 * it must start.  The parts of a file lie end to end: anything else is
 * refused. */
static int
append_part(struct import *im, struct spool_blob_tmp *b, const char *name,
    int64_t idx, int64_t offs, int64_t size, const char *hex, int64_t *pos,
    spool_err *err)
{
	char path[PATH_MAX];
	int fd, r;

	if (offs != *pos)
		return spool_fail(err, SPOOL_ERR_FORMAT, "part %lld of '%s' "
		    "starts at %lld, not where part %lld ends (%lld)",
		    (long long)idx, name, (long long)offs, (long long)idx - 1,
		    (long long)*pos);
	spool_blob_path(im->d->node->root, hex, path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return spool_fail_sys(err, "cannot open part %lld of '%s'",
		    (long long)idx, name);
	r = spool_blob_copy_fd(b, fd, path, (uint64_t)size, err);
	close(fd);
	if (r == SPOOL_OK && b->size != (uint64_t)(*pos + size))
		r = spool_fail(err, SPOOL_ERR_FORMAT, "part %lld of '%s' is not "
		    "%lld bytes", (long long)idx, name, (long long)size);
	*pos += size;
	return r;
}

/* The file of part items parts[a..z) (one file, sorted by index), whose
 * parts all are here now (count of them, stored or in this batch): made
 * whole in the blob store by reading stored parts a page at a time,
 * merged by index with this batch's, its hash checked. */
static int
make_whole(struct import *im, size_t a, size_t z, spool_err *err)
{
	const json_t *it = im->items[im->parts[a]];
	const char *req = jstr(it, "request"), *name = jstr(it, "name");
	const char *fb = jstr(it, "file_blob");
	int64_t count = json_integer_value(json_object_get(it, "count"));
	int64_t fsize = json_integer_value(json_object_get(it, "file_size"));
	struct part_page *pg;
	struct spool_blob_tmp b;
	uint8_t want[SPOOL_HASH_LEN];
	int64_t k, pos = 0, after = -1;
	size_t pi = 0, next = a;
	int r;

	if ((pg = malloc(sizeof(*pg))) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	pg->n = 0;
	memset(&b, 0, sizeof(b));
	b.tf.fd = -1;
	r = spool_blob_open(&b, im->d->node->root, err);
	for (k = 0; k < count && r == SPOOL_OK; k++) {
		const json_t *p = next < z ? im->items[im->parts[next]] : NULL;

		if (p != NULL && json_integer_value(json_object_get(p,
		    "index")) == k) {
			r = append_part(im, &b, name, k, json_integer_value(
			    json_object_get(p, "offset")), json_integer_value(
			    json_object_get(p, "size")), jstr(p, "blob"), &pos,
			    err);
			next++;
			continue;
		}
		while (r == SPOOL_OK && (pi == pg->n || pg->v[pi].idx < k)) {
			if (pi == pg->n) {
				pg->n = 0;
				pi = 0;
				if ((r = spool_store_part_page(im->d->st, req,
				    name, (int)after, PART_PAGE, page_row, pg,
				    err)) < 0)
					break;
				r = SPOOL_OK;
				if (pg->n == 0)
					break;
				after = pg->v[pg->n - 1].idx;
				continue;
			}
			pi++;
		}
		if (r != SPOOL_OK)
			break;
		if (pi == pg->n || pg->v[pi].idx != k) {
			r = spool_fail(err, SPOOL_ERR_INTERNAL, "part %lld of "
			    "'%s' is missing", (long long)k, name);
			break;
		}
		r = append_part(im, &b, name, k, pg->v[pi].offs,
		    pg->v[pi].size, pg->v[pi].blob, &pos, err);
		pi++;
	}
	free(pg);
	if (r == SPOOL_OK && pos != fsize)
		r = spool_fail(err, SPOOL_ERR_FORMAT, "the parts of '%s' make "
		    "%lld bytes, the file has %lld", name, (long long)pos,
		    (long long)fsize);
	if (r == SPOOL_OK && (spool_unhex(want, sizeof(want), fb) != 0 ||
	    (r = spool_blob_commit(&b, im->d->node->root, want, err)) !=
	    SPOOL_OK)) {
		spool_err_prefix(err, "'%s' made whole from %lld parts", name,
		    (long long)count);
		if (r == SPOOL_OK)
			r = spool_fail(err, SPOOL_ERR_FORMAT, "bad hash");
	}
	if (r != SPOOL_OK) {
		spool_blob_discard(&b);
		return r;
	}
	{
		void *p = realloc(im->whole, (im->nwhole + 1) *
		    sizeof(*im->whole));

		if (p == NULL)
			return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		im->whole = p;
	}
	snprintf(im->whole[im->nwhole].request, SPOOL_ID_MAX, "%s", req);
	snprintf(im->whole[im->nwhole].hex, SPOOL_HASH_HEXLEN + 1, "%s", fb);
	snprintf(im->whole[im->nwhole].name, NAME_MAX + 1, "%s", name);
	im->whole[im->nwhole].parts = (long long)count;
	im->whole[im->nwhole].size = (uint64_t)fsize;
	im->nwhole++;
	return SPOOL_OK;
}

/* Before the commit: a file whose last part this batch brings is made
 * whole in the blob store, its hash checked (a mismatch refuses the
 * batch).  Linear in the part items and the parts stored: a few queries
 * per item, one pass over a file's stored parts when it is made whole,
 * never an allocation of the count a part claims. */
static int
assemble(struct import *im, spool_err *err)
{
	size_t a, z, i;
	int r;

	for (a = 0; a < im->nparts; a = z) {
		const json_t *it = im->items[im->parts[a]];
		const char *req = jstr(it, "request"), *name = jstr(it, "name");
		const char *fb = jstr(it, "file_blob");
		int64_t count = json_integer_value(json_object_get(it, "count"));
		uint64_t match = 0, all = 0, fresh = 0;
		int whole = 0;

		for (z = a + 1; z < im->nparts &&
		    same_file(it, im->items[im->parts[z]]); z++)
			;
		if ((r = spool_store_part_count(im->d->st, req, name,
		    (int)count, fb, &match, &all, err)) != SPOOL_OK)
			return r;
		if (all != match)
			return spool_fail(err, SPOOL_ERR_FORMAT, "the parts of "
			    "'%s' (request %s) disagree with those received "
			    "before on the whole file", name, req);
		for (i = a; i < z; i++) {
			const json_t *p = im->items[im->parts[i]];
			struct part_rec pr;

			memset(&pr, 0, sizeof(pr));
			if ((r = spool_store_part_get(im->d->st, req, name,
			    (int)json_integer_value(json_object_get(p,
			    "index")), one_part_row, &pr, err)) < 0)
				return r;
			if (!pr.found) {
				fresh++;
				continue;
			}
			if (strcmp(pr.blob, jstr(p, "blob")) != 0 ||
			    pr.offs != json_integer_value(json_object_get(p,
			    "offset")) || pr.size != json_integer_value(
			    json_object_get(p, "size")))
				return spool_fail(err, SPOOL_ERR_FORMAT, "part "
				    "%lld of '%s' (request %s) differs from the "
				    "one received before", (long long)pr.idx,
				    name, req);
		}
		if (fresh == 0 || match + fresh != (uint64_t)count)
			continue; /* nothing new, or parts still to come */
		if ((r = spool_store_blob_is_ref(im->d->st, fb, req, "input",
		    &whole, err)) != SPOOL_OK)
			return r;
		if (whole)
			continue;
		if ((r = make_whole(im, a, z, err)) != SPOOL_OK)
			return r;
	}
	return SPOOL_OK;
}

/* ---- result folders --------------------------------------------------- */

/* A result's files are bytes this batch carried: a file reference without
 * "parts" is a member of the batch (the reader checked that); one with
 * "parts" must be a file this batch made whole from that result's own
 * request's parts.  Never a blob that merely exists here: it could be
 * another request's input.  And what writing the folders costs is
 * bounded by what was carried: at most twice the signed bytes (plus 1
 * MiB for small files named twice) and the files made whole. */
static int
check_result_files(struct import *im, spool_err *err)
{
	uint64_t budget = 2 * im->f.bytes + (1u << 20), cost = 0;
	size_t i, k, w;

	for (w = 0; w < im->nwhole; w++)
		budget += im->whole[w].size;
	for (i = 0; i < im->nitems; i++) {
		const json_t *it = im->items[i], *f;
		const char *req = jstr(it, "request");

		if (strcmp(jstr(it, "kind"), "result") != 0)
			continue;
		json_array_foreach(json_object_get(it, "files"), k, f) {
			cost += (uint64_t)json_integer_value(json_object_get(f,
			    "size"));
			if (json_object_get(f, "parts") == NULL)
				continue;
			for (w = 0; w < im->nwhole; w++)
				if (strcmp(im->whole[w].request, req) == 0 &&
				    strcmp(im->whole[w].hex, jstr(f, "blob")) ==
				    0)
					break;
			if (w == im->nwhole)
				return spool_fail(err, SPOOL_ERR_FORMAT, "result "
				    "for request %s: file '%s' names blob %s, "
				    "which this batch neither carries nor makes "
				    "whole from that request's parts", req,
				    jstr(f, "name"), jstr(f, "blob"));
		}
	}
	if (cost > budget)
		return spool_fail(err, SPOOL_ERR_LIMIT, "results name %llu bytes "
		    "of files, more than this batch carries (%llu bytes) can "
		    "account for", (unsigned long long)cost,
		    (unsigned long long)im->f.bytes);
	return SPOOL_OK;
}

/* Before the commit: the result folders of requests not answered yet are
 * written (a batch seen before writes none). */
static int
write_results(struct import *im, spool_err *err)
{
	struct spool_request_info ri;
	size_t i;
	int r;

	if (im->seen)
		return SPOOL_OK;
	for (i = 0; i < im->nitems; i++) {
		const json_t *it = im->items[i];

		if (strcmp(jstr(it, "kind"), "result") != 0)
			continue;
		if ((r = spool_store_request_info(im->d->st, jstr(it,
		    "request"), &ri, err)) != SPOOL_OK)
			return r;
		if (is_final(ri.state))
			continue; /* answered before */
		if ((r = spool_results_write(im->d, it, &ri, err)) != SPOOL_OK)
			return r;
		im->nwritten = i + 1; /* results of items[0..nwritten) */
	}
	return SPOOL_OK;
}

/* The import failed after result folders were written: they go again
 * (their requests were not answered; the links point at nothing). */
static void
unwrite_results(struct import *im)
{
	char dir[PATH_MAX], p[PATH_MAX + 64];
	size_t i;

	spool_node_path(im->d->node, dir, sizeof(dir), "results");
	for (i = 0; i < im->nwritten; i++) {
		const json_t *it = im->items[i];

		if (strcmp(jstr(it, "kind"), "result") != 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, jstr(it, "request"));
		spool_results_remove(p);
	}
	spool_node_path(im->d->node, dir, sizeof(dir), "results/by-name");
	spool_results_drop_dangling(dir);
}

static int
apply_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct import *im = arg;
	const json_t *a;
	size_t i;
	int r, applied;

	spool_daemon_log_hold(im->d); /* written at the commit */
	im->acked = 0;
	if ((r = spool_store_batch_received(st, im->f.from, im->f.seq,
	    im->f.id, im->name, im->f.items, im->f.bytes, im->f.tar,
	    &im->duplicate, im->batch_row, err)) != SPOOL_OK)
		return r;
	if (im->duplicate == 2)
		return spool_fail(err, SPOOL_ERR_FORMAT, "conflict: seq %llu "
		    "from %s was received before with another batch id",
		    (unsigned long long)im->f.seq, im->f.from);
	if (im->duplicate)
		return SPOOL_OK;
	if (im->nitems > 0) {
		/* the batch by its name here too, as on the sender */
		char bref[SPOOL_REF_MAX];

		snprintf(bref, sizeof(bref), "batch:%s", im->f.id);
		if ((r = spool_lineage_entity(st, bref, im->name, NULL, -1,
		    err)) != SPOOL_OK)
			return r;
	}
	json_array_foreach(im->acks, i, a) {
		if ((r = spool_store_ack(st, im->f.from, (uint64_t)
		    json_integer_value(json_object_get(a, "seq")),
		    jstr(a, "id"), &applied, err)) != SPOOL_OK)
			return r;
		im->acked += (uint64_t)applied;
	}
	for (i = 0; i < im->nitems; i++) {
		const json_t *it = im->items[i];
		const char *kind = jstr(it, "kind");

		if (strcmp(kind, "request") == 0)
			r = apply_request(st, im, it, err);
		else if (strcmp(kind, "result") == 0)
			r = apply_result(st, im, it, err);
		else
			r = apply_part(st, im, it, err);
		if (r != SPOOL_OK)
			return r;
	}
	/* files made whole from their parts: the request may start */
	for (i = 0; i < im->nwhole; i++) {
		struct whole *w = &im->whole[i];
		char path[PATH_MAX];

		spool_blob_path(im->d->node->root, w->hex, path);
		if ((r = spool_store_blob_add(st, w->hex, w->size, path, err)) !=
		    SPOOL_OK ||
		    (r = spool_store_blob_ref(st, w->hex, w->request, "input",
		    err)) != SPOOL_OK ||
		    (r = maybe_start(st, im, w->request, err)) != SPOOL_OK)
			return r;
		spool_daemon_log(im->d, "event=assembled request=%s name=%s "
		    "parts=%lld size=%llu", w->request, LQ(w->name), w->parts,
		    (unsigned long long)w->size);
	}
	return SPOOL_OK;
}

/* Gaps are loud: after each import, the seqs still missing from the peer
 * (DESIGN section 4: never waited for, always said). */
static void
log_gaps(struct spool_daemon *d, const char *peer)
{
	char list[512];
	uint64_t *missing = NULL;
	size_t n = 0, i, o = 0;
	int more = 0;

	if (spool_store_gaps(d->st, peer, &missing, &n, 20, &more, NULL) !=
	    SPOOL_OK || n == 0) {
		free(missing);
		return;
	}
	for (i = 0; i < n && o < sizeof(list) - 32; i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%llu",
		    i ? "," : "", (unsigned long long)missing[i]);
	free(missing);
	spool_daemon_log(d, "event=gap peer=%s missing=%s%s", peer, list,
	    more ? ",..." : "");
}

/* A failure that may pass (the disk full, the store busy, memory short,
 * the batch being written to while it was read, this node's own key
 * files): the pair waits in import/ for the next scan.  Anything else
 * fails the same way every time: the pair is quarantined with why. */
static int
transient(int r, const spool_err *err)
{
	switch (r) {
	case SPOOL_ERR_BUSY:
	case SPOOL_ERR_NOMEM:
	case SPOOL_ERR_STORE:
	case SPOOL_ERR_CONFIG:
		return 1;
	case SPOOL_ERR_SYS:
		switch (err->sys_errno) {
		case ENOSPC: case EDQUOT: case EIO: case EAGAIN: case EINTR:
		case ENOMEM: case EMFILE: case ENFILE: case EROFS:
		case ETIMEDOUT: case EBUSY:
			return 1;
		}
		return 0;
	default:
		return 0;
	}
}

static void
inbox_wake(struct spool_daemon *d, int64_t due)
{
	if (d->inbox_due == 0 || due < d->inbox_due)
		d->inbox_due = due;
}

/* import/NAME.batch.minisig without NAME.batch (spool_inbox_take). */
static void
orphan(struct spool_daemon *d, const char *dir, const char *name,
    const char *path, const char *sig)
{
	char have[PATH_MAX + NAME_MAX + 32], why[160];
	char *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;
	struct stat sb;
	int64_t age;

	if (lstat(path, &sb) == 0 || lstat(sig, &sb) != 0)
		return; /* a .batch waiting for its .minisig, or nothing */
	spool_node_path(d->node, have, sizeof(have), "archive/received");
	snprintf(have + strlen(have), sizeof(have) - strlen(have), "/%s%s",
	    name, SPOOL_SIG_EXT);
	if (S_ISREG(sb.st_mode) &&
	    spool_read_file(sig, SPOOL_MINISIG_MAX, &a, &alen, NULL) ==
	    SPOOL_OK &&
	    spool_read_file(have, SPOOL_MINISIG_MAX, &b, &blen, NULL) ==
	    SPOOL_OK && alen == blen && memcmp(a, b, alen) == 0) {
		free(a);
		free(b);
		if (unlink(sig) == 0) {
			spool_fsync_dir(dir, NULL);
			spool_daemon_log(d, "event=orphan-removed name=%s%s "
			    "reason=\"received before: the .minisig an "
			    "interrupted import left\"", name, SPOOL_SIG_EXT);
		}
		return;
	}
	free(a);
	free(b);
	/* the inode's change time: a copy cannot carry it over */
	age = spool_now_ms() - ((int64_t)sb.st_ctim.tv_sec * 1000 +
	    sb.st_ctim.tv_nsec / 1000000);
	if (age >= 0 && age < ORPHAN_MS) {
		inbox_wake(d, spool_store_sched(d->st) + ORPHAN_MS - age);
		return;
	}
	snprintf(why, sizeof(why), "a .minisig without its .batch for over "
	    "%d s (a pair is complete only with both)", ORPHAN_MS / 1000);
	spool_inbox_quarantine(d, dir, name, why);
}

int64_t
spool_daemon_inbox_due(struct spool_daemon *d)
{
	int64_t due = d->inbox_due;

	d->inbox_due = 0;
	return due;
}

int
spool_inbox_take(struct spool_daemon *d, const char *name, spool_err *err)
{
	struct spool_batch_sink sink = { NULL, on_header, on_item,
		on_blob_begin, on_blob_data, on_blob_end, on_verified };
	struct spool_batch_check chk;
	struct import im;
	char dir[PATH_MAX], path[PATH_MAX + NAME_MAX + 2];
	char sig[PATH_MAX + NAME_MAX + 12], tmpdir[PATH_MAX], copy[PATH_MAX];
	int r;

	if (!spool_pair_is_batch(name))
		return SPOOL_OK;
	spool_node_path(d->node, dir, sizeof(dir), "import");
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (spool_pair_sig_path(sig, sizeof(sig), path) != 0)
		return SPOOL_OK;
	if (!spool_pair_complete(path)) {
		orphan(d, dir, name, path, sig);
		return SPOOL_OK; /* not complete yet */
	}
	memset(&im, 0, sizeof(im));
	im.d = d;
	im.name = name;
	im.b.tf.fd = -1;
	sink.ctx = &im;
	spool_node_batch_check(d->node, &chk, tmpdir);
	chk.strict_name = 1;
	chk.manifest = d->manifest;
	chk.sink = &sink;
	copy[0] = '\0';
	chk.keep_copy = copy;
	r = spool_batch_read(path, sig, &chk, &im.f, err);
	/* a batch seen before (a duplicate, or a conflict) changes nothing:
	 * nothing of it is checked, assembled or written */
	if (r == SPOOL_OK)
		r = spool_store_batch_seen(d->st, im.f.from, im.f.seq, &im.seen,
		    err);
	if (r == SPOOL_OK && !im.seen && (r = check_results(&im, err)) ==
	    SPOOL_OK && (r = check_parts(&im, err)) == SPOOL_OK &&
	    (r = assemble(&im, err)) == SPOOL_OK)
		r = check_result_files(&im, err);
	if (r == SPOOL_OK)
		r = write_results(&im, err);
	if (r == SPOOL_OK)
		r = spool_daemon_sync(d, err);
	if (r == SPOOL_OK)
		r = spool_store_atomic(d->st, apply_tx, &im, err);
	spool_daemon_log_release(d, r == SPOOL_OK);
	if (r != SPOOL_OK) {
		if (im.nwritten > 0)
			unwrite_results(&im);
		import_release(&im);
		if (copy[0] != '\0')
			unlink(copy);
		if (!transient(r, err)) {
			/* it would fail the same way at every scan */
			spool_inbox_quarantine(d, dir, name, err->msg);
			return SPOOL_OK;
		}
		d->import_retry_ms = d->import_retry_ms == 0 ? RETRY_FIRST_MS :
		    d->import_retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS :
		    d->import_retry_ms * 2;
		inbox_wake(d, spool_store_sched(d->st) + d->import_retry_ms);
		spool_err_prefix(err, "import %s (tried again in %lld s)", name,
		    (long long)(d->import_retry_ms / 1000));
		return r;
	}
	if (im.duplicate) {
		spool_daemon_log(d, "event=duplicate batch=%s from=%s seq=%llu "
		    "id=%s", name, im.f.from, (unsigned long long)im.f.seq,
		    im.f.id);
	} else {
		d->imported++;
		spool_daemon_log(d, "event=imported batch=%s from=%s seq=%llu "
		    "items=%llu acked=%llu", name, im.f.from,
		    (unsigned long long)im.f.seq,
		    (unsigned long long)im.f.items,
		    (unsigned long long)im.acked);
		log_gaps(d, im.f.from);
	}
	d->import_retry_ms = 0;
	r = spool_inbox_archive(d, dir, name, copy, err);
	import_release(&im);
	return r;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
spool_inbox_scan(struct spool_daemon *d, spool_err *err)
{
	char dir[PATH_MAX];
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *e;
	DIR *dp;
	int r = SPOOL_OK;

	spool_node_path(d->node, dir, sizeof(dir), "import");
	if ((dp = opendir(dir)) == NULL)
		return spool_fail_sys(err, "cannot read '%s'", dir);
	while ((e = readdir(dp)) != NULL) {
		char bn[NAME_MAX + 1];

		/* NAME.batch, and NAME.batch.minisig alone (an orphan) */
		if (e->d_name[0] == '.' || !spool_pair_batch_of(e->d_name, bn,
		    sizeof(bn)) || (!spool_pair_is_batch(e->d_name) &&
		    faccessat(dirfd(dp), bn, F_OK, AT_SYMLINK_NOFOLLOW) == 0))
			continue;
		if (n == cap) {
			void *p = realloc(names, (cap ? cap * 2 : 16) *
			    sizeof(*names));

			if (p == NULL) {
				r = spool_fail(err, SPOOL_ERR_NOMEM, "out of "
				    "memory");
				break;
			}
			names = p;
			cap = cap ? cap * 2 : 16;
		}
		if ((names[n] = strdup(bn)) == NULL) {
			r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
			break;
		}
		n++;
	}
	closedir(dp);
	/* in name order: a peer's batches in seq order */
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_names);
	/* one pair that cannot be imported now does not hold up the
	 * others: said in the log, tried again at the next scan */
	for (i = 0; i < n && r == SPOOL_OK; i++) {
		spool_err ie;

		if (spool_inbox_take(d, names[i], &ie) != SPOOL_OK)
			spool_daemon_log(d, "event=error what=import batch=%s "
			    "reason=%s", LQ(names[i]), LQ(ie.msg));
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}
