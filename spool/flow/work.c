/*
 * work.c - the processing node: running tasks of imported requests, and
 * answering each processed request with a result line in the outbox.
 *
 * transfer: the request's file is delivered under delivered/<from>/,
 * never over another file (a name taken gets "name (2)").  Delivery is
 * exactly once even when the task runs again after a crash: the name
 * chosen is first written to a ledger (store/work/delivered/<request>),
 * and a rerun finishes that delivery instead of making another.
 *
 * Other types answer "not supported yet" through the job engine (a
 * permanent failure), so the GDAL and query workers plug in here.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
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
#include "spool/flow/work.h"
#include "spool/format/manifest.h"
#include "spool/job/job.h"
#include "spool/node/config.h"
#include "spool/node/node.h"
#include "spool/store/blobref.h"
#include "spool/store/blobstore.h"
#include "spool/store/lineage.h"
#include "spool/store/list.h"
#include "spool/store/queue.h"
#include "spool/store/request.h"
#include "spool/store/store.h"

#define LEDGER_MAX 4096

/* The delivered path chosen for request id, if any. */
static int
ledger_read(struct spool_daemon *d, const char *id, char *path, size_t n)
{
	char lp[PATH_MAX], *text = NULL;
	size_t len;

	spool_node_path(d->node, lp, sizeof(lp), "store/work/delivered");
	if (strlen(lp) + strlen(id) + 2 >= sizeof(lp))
		return -1;
	strcat(strcat(lp, "/"), id);
	if (spool_read_file(lp, LEDGER_MAX, &text, &len, NULL) != SPOOL_OK)
		return -1;
	snprintf(path, n, "%.*s", (int)len, text);
	free(text);
	return 0;
}

static int
ledger_write(struct spool_daemon *d, const char *id, const char *path,
    spool_err *err)
{
	char lp[PATH_MAX];
	int r;

	spool_node_path(d->node, lp, sizeof(lp), "store/work/delivered");
	if ((r = spool_mkdirs(lp, 0700, err)) != SPOOL_OK)
		return r;
	strcat(strcat(lp, "/"), id);
	unlink(lp);
	return spool_write_file_atomic(lp, path, strlen(path), 0600, err);
}

/* The file at path holds the bytes of blob hex (delivered before). */
static int
same_bytes(const char *path, const char *hex, uint64_t size, spool_err *err)
{
	uint8_t h[SPOOL_HASH_LEN];
	char got[SPOOL_HASH_HEXLEN + 1];
	struct stat sb;
	uint64_t n = 0;
	int fd, r;

	if ((r = spool_open_regular(path, &fd, &sb, err)) != SPOOL_OK)
		return r;
	if ((uint64_t)sb.st_size != size) {
		close(fd);
		return spool_fail(err, SPOOL_ERR_EXISTS, "'%s' holds other "
		    "bytes than the delivery chosen for it", path);
	}
	r = spool_hash_fd(fd, h, &n, err);
	close(fd);
	if (r != SPOOL_OK)
		return r;
	spool_hex(got, h, SPOOL_HASH_LEN);
	if (strcmp(got, hex) != 0)
		return spool_fail(err, SPOOL_ERR_EXISTS, "'%s' holds other "
		    "bytes than the delivery chosen for it", path);
	return SPOOL_OK;
}

/* Deliver blob hex as delivered/<from>/<name>, exactly once per id. */
static int
deliver(struct spool_daemon *d, const struct spool_request_info *ri,
    const char *id, const char *hex, uint64_t size, char *out, size_t outsz,
    spool_err *err)
{
	char dir[PATH_MAX], name[NAME_MAX + 1], path[PATH_MAX + NAME_MAX + 2];
	struct stat sb;
	unsigned k;
	mode_t mode = 0644;
	int r, m;

	/* never more readable than the file its owner dropped (and never
	 * executable or writable by others); 0644 when its mode is not
	 * said (an older node, a pack) */
	if ((r = spool_store_request_mode(d->st, id, &m, err)) != SPOOL_OK)
		return r;
	if (m >= 0)
		mode = (mode_t)m & 0644;

	/* once a path is chosen it is the only one: a rerun finishes that
	 * delivery or finds it done (the same bytes there), never makes a
	 * second one */
	if (ledger_read(d, id, path, sizeof(path)) == 0) {
		/* (its folder may have gone meanwhile) */
		if (spool_dirname(dir, sizeof(dir), path) == 0 &&
		    (r = spool_mkdirs(dir, 0755, err)) != SPOOL_OK)
			return r;
		r = spool_blob_export(d->node->root, hex, path, mode, err);
		if (r == SPOOL_ERR_EXISTS) {
			if ((r = same_bytes(path, hex, size, err)) != SPOOL_OK)
				return r;
		}
		if (r == SPOOL_OK)
			snprintf(out, outsz, "%s", path);
		return r;
	}
	if (spool_node_path(d->node, dir, sizeof(dir), "delivered") != 0 ||
	    strlen(dir) + strlen(ri->peer) + 2 >= sizeof(dir))
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	strcat(strcat(dir, "/"), ri->peer);
	if ((r = spool_mkdirs(dir, 0755, err)) != SPOOL_OK)
		return r;
	/* the name, "name (2)", then "name (<request id>)", which nothing
	 * else has: a name taken many times costs a few lstat calls, not a
	 * search */
	for (k = 1; k <= 3; k++) {
		if (k == 1)
			snprintf(name, sizeof(name), "%s", ri->name);
		else if ((k == 2 ? spool_name_variant(name, sizeof(name),
		    ri->name, 2) : spool_name_variant_tag(name, sizeof(name),
		    ri->name, id)) != 0)
			return spool_fail(err, SPOOL_ERR_LIMIT, "no name left");
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		if (lstat(path, &sb) == 0)
			continue;
		if ((r = ledger_write(d, id, path, err)) != SPOOL_OK)
			return r;
		r = spool_blob_export(d->node->root, hex, path, mode, err);
		if (r == SPOOL_ERR_EXISTS)
			continue; /* taken meanwhile: the next name */
		if (r != SPOOL_OK)
			return r;
		snprintf(out, outsz, "%s", path);
		return SPOOL_OK;
	}
	return spool_fail(err, SPOOL_ERR_LIMIT, "no free name for '%s'",
	    ri->name);
}

/* Transfer tasks are claimed, and their deliveries recorded, up to
 * WORK_BATCH at a time: a claim, the first attempts' "started" events,
 * and the lineage and completion of every delivery of the group are one
 * transaction each, instead of four per file (a store commit writes
 * every page it touched: the group's rows share most of them).  A group
 * starts at one task and doubles while its files are small; a group that
 * delivered GROUP_BYTES goes back to one, so big files are claimed one
 * at a time (and the other workers take the rest) as they always were.
 * A task that waited in its group longer than LEASE_CHECK_MS has its
 * lease renewed first, and is left when it is no longer this runner's
 * (its lease ended, its job was cancelled or expired). */
#define WORK_BATCH 16
#define GROUP_BYTES (16u << 20)
#define LEASE_CHECK_MS 1000

struct delivery {
	struct spool_request_info ri;
	char req[SPOOL_ID_MAX], path[PATH_MAX + NAME_MAX + 2];
	char tref[SPOOL_REF_MAX], fref[SPOOL_REF_MAX], oref[SPOOL_REF_MAX];
	char *text; /* the task's result */
	int64_t size;
};

struct delivered_arg {
	const char *worker;
	struct delivery **dl;
	struct spool_task_done *done;
	size_t n;
};

/* The deliveries' completions and, for each one still this runner's, its
 * lineage, in one transaction: a crash between them cannot keep one
 * without the other (the rerun finds the file through the ledger and
 * records it once).  A delivery whose lease went to another runner is
 * recorded by that runner's rerun; a cancelled one keeps its lineage
 * (the file was delivered). */
static int
delivered_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct delivered_arg *a = arg;
	size_t i;
	int r;

	if ((r = spool_job_complete(st, a->worker, a->done, a->n, err)) !=
	    SPOOL_OK)
		return r;
	for (i = 0; i < a->n; i++) {
		struct delivery *v = a->dl[i];
		const char *u2[2] = { v->tref, v->fref }, *g1[1] = { v->oref };
		const char *u1[1] = { v->oref }, *g2[1] = { v->fref };

		if (a->done[i].status == SPOOL_ERR_LOST)
			continue;
		if ((r = spool_lineage_entity(st, v->oref, spool_basename(
		    v->path), v->ri.hash, v->size, err)) != SPOOL_OK ||
		    (r = spool_lineage_link(st, "derived", 0, v->ri.user, NULL,
		    u2, 2, g1, 1, err)) != SPOOL_OK ||
		    (r = spool_lineage_link(st, "delivered", 0, v->ri.user,
		    NULL, u1, 1, g2, 1, err)) != SPOOL_OK)
			return r;
	}
	return SPOOL_OK;
}

/* Deliver one transfer task's file into place and make its result; the
 * store learns of it with the group (delivered_tx). */
static int
run_transfer(struct spool_daemon *d, const struct spool_task *t,
    struct delivery *v, spool_err *err)
{
	char oid[SPOOL_ID_MAX];
	json_t *res;
	struct stat sb;
	int r;

	if ((r = spool_store_request_info(d->st, v->req, &v->ri, err)) !=
	    SPOOL_OK)
		return r;
	if (v->ri.hash[0] == '\0')
		return spool_fail(err, SPOOL_ERR_INTERNAL, "request %s has no "
		    "file", v->req);
	if ((r = deliver(d, &v->ri, v->req, v->ri.hash, (uint64_t)v->ri.size,
	    v->path, sizeof(v->path), err)) != SPOOL_OK)
		return r;
	if ((uint64_t)v->ri.size >= SPOOL_BIG_FILE) {
		/* delivered: the blob is not read again soon */
		char bpath[PATH_MAX];

		if (spool_blob_path(d->node->root, v->ri.hash, bpath) == 0)
			spool_drop_cache(-1, bpath);
	}
	if (lstat(v->path, &sb) != 0)
		return spool_fail_sys(err, "cannot stat '%s'", v->path);
	v->size = (int64_t)sb.st_size;
	spool_uuid7(oid);
	snprintf(v->tref, sizeof(v->tref), "task:%.*s", (int)sizeof(v->tref) -
	    6, t->id);
	snprintf(v->fref, sizeof(v->fref), "file:%s", v->ri.hash);
	snprintf(v->oref, sizeof(v->oref), "output:%s", oid);
	res = json_pack("{s:s, s:s, s:I, s:s}", "delivered", v->path +
	    strlen(d->node->root) + 1, "blob", v->ri.hash, "size",
	    (json_int_t)sb.st_size, "output", oid);
	v->text = res ? json_dumps(res, JSON_COMPACT) : NULL;
	json_decref(res);
	if (v->text == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	return SPOOL_OK;
}

/* The first attempts of the group began: one "started" event each. */
struct started_arg {
	const struct spool_task *t;
	size_t n;
};

static int
started_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct started_arg *a = arg;
	size_t i;
	int r;

	for (i = 0; i < a->n; i++) {
		char tref[SPOOL_REF_MAX], jref[SPOOL_REF_MAX];
		const char *u[1] = { jref }, *g[1] = { tref };

		if (a->t[i].attempt != 1)
			continue;
		snprintf(tref, sizeof(tref), "task:%.*s", (int)sizeof(tref) - 6,
		    a->t[i].id);
		snprintf(jref, sizeof(jref), "job:%s", a->t[i].job);
		if ((r = spool_lineage_link(st, "started", 0, NULL, NULL, u, 1,
		    g, 1, err)) != SPOOL_OK)
			return r;
	}
	return SPOOL_OK;
}

/* Task task of request req failed with why: logged, and failed in the
 * store (run again after its backoff while attempts remain).  A lease
 * lost or a job cancelled meanwhile is not an error of this runner. */
static int
task_failed(struct spool_daemon *d, const char *worker, const char *task,
    const char *req, const char *why, spool_err *err)
{
	int r;

	spool_daemon_log(d, "event=task-failed task=%s request=%s reason=%s",
	    task, req, LQ(why));
	spool_idlist_add(&d->changed, req);
	r = spool_job_fail(d->st, worker, task, why, 0, NULL, err);
	return r == SPOOL_ERR_LOST || r == SPOOL_ERR_CANCELLED ? SPOOL_OK : r;
}

/* Record the deliveries ok[0..m) (done[i] is ok[i]'s completion) in one
 * transaction.  When the store refuses a group, each delivery is recorded
 * alone; one it refuses alone fails (run again after its backoff: the
 * rerun finds its file through the ledger). */
static int
record_group(struct spool_daemon *d, const char *worker,
    struct delivery **ok, struct spool_task_done *done, size_t m,
    spool_err *err)
{
	struct delivered_arg a = { worker, ok, done, m };
	spool_err e;
	size_t i;
	int r = SPOOL_OK, r2;

	if (spool_store_atomic(d->st, delivered_tx, &a, &e) != SPOOL_OK) {
		for (i = 0; i < m; i++) {
			if (m > 1)
				r2 = record_group(d, worker, &ok[i], &done[i], 1,
				    err);
			else
				r2 = task_failed(d, worker, done[i].task,
				    ok[i]->req, e.msg, err);
			if (r2 != SPOOL_OK && r == SPOOL_OK)
				r = r2;
		}
		return r;
	}
	for (i = 0; i < m; i++) {
		spool_idlist_add(&d->changed, ok[i]->req);
		if (done[i].status != SPOOL_OK)
			continue; /* lease lost or cancelled: not ours */
		spool_daemon_log(d, "event=delivered request=%s path=%s "
		    "size=%lld", ok[i]->req, LQ(ok[i]->path +
		    strlen(d->node->root) + 1), (long long)ok[i]->size);
	}
	return SPOOL_OK;
}

/* Run one group claimed for lease ms: deliver each file, and record the
 * deliveries together, as soon as GROUP_BYTES have been delivered (a big
 * file is recorded as soon as it is there) or at the end; a task that
 * cannot be delivered fails alone.  *total is what the group delivered. */
static int
run_group(struct spool_daemon *d, const char *worker, int64_t lease,
    struct spool_task *t, size_t n, struct delivery *dl, uint64_t *total,
    spool_err *err)
{
	struct spool_task_done done[WORK_BATCH];
	struct delivery *ok[WORK_BATCH];
	struct started_arg sa = { t, n };
	int64_t claimed = spool_mono_ms();
	spool_err e;
	uint64_t bytes = 0;
	size_t i, m = 0;
	int r = SPOOL_OK, r2;

	*total = 0;
	for (i = 0; i < n; i++)
		dl[i].text = NULL;
	/* (lineage only: a store that refuses it refuses the rest too) */
	(void)spool_store_atomic(d->st, started_tx, &sa, NULL);
	for (i = 0; i < n && r == SPOOL_OK; i++) {
		struct delivery *v = &dl[i];
		json_t *in = t[i].input ? json_loads(t[i].input, 0, NULL) :
		    NULL;
		const char *req = in ? json_string_value(json_object_get(in,
		    "request")) : NULL;

		memset(v, 0, sizeof(*v));
		snprintf(v->req, sizeof(v->req), "%s", req ? req : "");
		json_decref(in);
		if (i > 0 && spool_mono_ms() - claimed > LEASE_CHECK_MS) {
			/* it waited behind others: still ours? */
			r2 = spool_job_heartbeat(d->st, worker, t[i].id, lease,
			    err);
			if (r2 == SPOOL_ERR_LOST || r2 == SPOOL_ERR_CANCELLED) {
				spool_idlist_add(&d->changed, v->req);
				continue;
			}
			if (r2 != SPOOL_OK) {
				r = r2;
				break;
			}
		}
		if (v->req[0] == '\0')
			r2 = spool_job_fail(d->st, worker, t[i].id, "task has no "
			    "request", 1, NULL, err);
		else if (run_transfer(d, &t[i], v, &e) != SPOOL_OK)
			r2 = task_failed(d, worker, t[i].id, v->req, e.msg, err);
		else {
			memset(&done[m], 0, sizeof(done[m]));
			done[m].task = t[i].id;
			done[m].result = v->text;
			ok[m++] = v;
			bytes += (uint64_t)v->size;
			*total += (uint64_t)v->size;
			if (bytes < GROUP_BYTES)
				continue;
			r2 = record_group(d, worker, ok, done, m, err);
			m = 0;
			bytes = 0;
		}
		if (r2 != SPOOL_OK && r2 != SPOOL_ERR_LOST &&
		    r2 != SPOOL_ERR_CANCELLED && r == SPOOL_OK)
			r = r2;
	}
	if (m > 0 && (r2 = record_group(d, worker, ok, done, m, err)) !=
	    SPOOL_OK && r == SPOOL_OK)
		r = r2;
	for (i = 0; i < n; i++)
		free(dl[i].text);
	return r;
}

int
spool_work_run(struct spool_daemon *d, const char *worker, int note_fd,
    size_t *ran, spool_err *err)
{
	int64_t lease = (int64_t)d->node->cfg->task_timeout * 1000;
	struct spool_task t[WORK_BATCH];
	struct delivery *dl;
	uint64_t bytes;
	size_t n, i, want = 1;
	int r;

	*ran = 0;
	if ((dl = malloc(WORK_BATCH * sizeof(*dl))) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	for (;;) {
		/* transfers only: the other types are the worker pools'
		 * (spoold/supervise.c) */
		if ((r = spool_job_claim(d->st, worker, "transfer", want,
		    lease, t, &n, err)) != SPOOL_OK || n == 0)
			break;
		*ran += n;
		r = run_group(d, worker, lease, t, n, dl, &bytes, err);
		for (i = 0; i < n; i++)
			spool_task_release(&t[i]);
		want = bytes >= GROUP_BYTES ? 1 : want * 2 > WORK_BATCH ?
		    WORK_BATCH : want * 2;
		/* after every group: the daemon answers them then (at most
		 * once a second), not when the runner exits; a full pipe
		 * already holds a word it will read */
		if (note_fd >= 0)
			(void)!write(note_fd, "d", 1);
		if (r != SPOOL_OK) {
			/* what this runner still holds runs again now, not
			 * when its lease ends */
			uint64_t back;

			(void)spool_store_worker_died(d->st, worker, &back, NULL);
			break;
		}
	}
	free(dl);
	return r;
}

/* ---- answers ---------------------------------------------------------- */

struct edge_list {
	json_t *events; /* id -> event object */
	const char *node;
};

static int
add_edge(void *arg, const struct spool_lineage_edge *e)
{
	struct edge_list *l = arg;
	json_t *ev;
	char t[32];

	if (e->node == NULL || strcmp(e->node, l->node) != 0)
		return 0; /* only this node's events travel back */
	if ((ev = json_object_get(l->events, e->event_id)) == NULL) {
		spool_time_ms(t, e->time);
		ev = json_pack("{s:s, s:s, s:s, s:s, s:[], s:[]}", "id",
		    e->event_id, "event", e->event, "time", t, "node", e->node,
		    "used", "generated");
		if (ev == NULL)
			return SPOOL_ERR_NOMEM;
		if (e->user != NULL)
			json_object_set_new(ev, "user", json_string(e->user));
		json_object_set_new(l->events, e->event_id, ev);
	}
	/* each edge is one used -> generated pair: keep each ref once */
#define ADD_ONCE(key, ref) do {                                               \
	json_t *a = json_object_get(ev, key), *x;                            \
	size_t i_;                                                           \
	int seen = 0;                                                        \
	json_array_foreach(a, i_, x)                                         \
		if (strcmp(json_string_value(x), ref) == 0)                   \
			seen = 1;                                            \
	if (!seen)                                                           \
		json_array_append_new(a, json_string(ref));                  \
} while (0)
	ADD_ONCE("used", e->from);
	ADD_ONCE("generated", e->to);
#undef ADD_ONCE
	return 0;
}

/* Job facts of a request: error, started, finished. */
struct job_facts {
	char error[4096];
	int64_t started, finished;
};

static int
job_row(void *arg, const struct spool_store_row *row)
{
	struct job_facts *j = arg;

	/* id type request priority deadline state stage nstages
	 * max_attempts error created updated finished */
	snprintf(j->error, sizeof(j->error), "%s", row->col[9] ? row->col[9] :
	    "");
	j->started = row->col[10] ? strtoll(row->col[10], NULL, 10) : 0;
	j->finished = row->col[12] ? strtoll(row->col[12], NULL, 10) : 0;
	return 0;
}

/* Only the events about this request travel with its answer: a walk
 * down from the request also reaches, through a file of the same content,
 * what became of another request (spool_manifest_lineage_scope; the
 * requesting node refuses a result carrying anything else). */
static int
scope_lineage(json_t **evs, const char *id, const char *hash,
    spool_err *err)
{
	char rref[SPOOL_REF_MAX], fref[SPOOL_REF_MAX];
	const char *seeds[2] = { rref, hash ? fref : NULL };
	size_t n = json_array_size(*evs), nkeep = 0, i;
	unsigned char *keep;
	json_t *in;

	if (n == 0)
		return SPOOL_OK;
	snprintf(rref, sizeof(rref), "request:%s", id);
	snprintf(fref, sizeof(fref), "file:%s", hash ? hash : "");
	in = json_array();
	if ((keep = malloc(n)) == NULL || in == NULL ||
	    spool_manifest_lineage_scope(*evs, seeds, 2, keep, &nkeep) != 0) {
		free(keep);
		json_decref(in);
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	}
	for (i = 0; i < n; i++)
		if (keep[i])
			json_array_append(in, json_array_get(*evs, i));
	free(keep);
	json_decref(*evs);
	*evs = in;
	return SPOOL_OK;
}

struct answer {
	struct spool_daemon *d;
	const char *req, *peer, *line;
	int priority;
	struct spool_blob_tmp *b;
	uint64_t size;
};

static int
answer_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct answer *a = arg;
	char path[PATH_MAX];
	int r;

	if (a->b != NULL) {
		spool_blob_path(a->d->node->root, a->b->hex, path);
		if ((r = spool_store_blob_add(st, a->b->hex, a->b->size, path,
		    err)) != SPOOL_OK ||
		    (r = spool_store_blob_ref(st, a->b->hex, a->req, "output",
		    err)) != SPOOL_OK)
			return r;
	}
	return spool_store_outbox_add(st, &(struct spool_outbox_item){
	    .peer = a->peer, .kind = "result", .request = a->req,
	    .priority = a->priority, .size = a->size, .item = a->line }, err);
}

/* The outputs and summaries of a job's tasks, stage by stage. */
struct job_outputs {
	json_t *files;   /* name size blob, as in a result item */
	json_t *summary; /* every task's summary merged, later over earlier */
	uint64_t bytes;
};

/* task columns: ... input(13) result(14) ... */
static int
output_row(void *arg, const struct spool_store_row *row)
{
	struct job_outputs *o = arg;
	json_t *res, *outs, *x, *sum;
	size_t i;

	if (row->col[14] == NULL ||
	    (res = json_loads(row->col[14], 0, NULL)) == NULL)
		return 0;
	outs = json_object_get(res, "outputs");
	json_array_foreach(outs, i, x) {
		json_t *sz = json_object_get(x, "size");

		if (json_is_true(json_object_get(x, "internal")) ||
		    json_array_size(o->files) >= 10000)
			continue;
		json_array_append_new(o->files, json_pack("{s:O, s:O, s:O}",
		    "name", json_object_get(x, "name"), "size", sz, "blob",
		    json_object_get(x, "blob")));
		o->bytes += (uint64_t)json_integer_value(sz);
	}
	if (json_is_object(sum = json_object_get(res, "summary")))
		json_object_update(o->summary, sum);
	json_decref(res);
	return 0;
}

/* Build and queue the result of one processed request. */
static int
answer_one(struct spool_daemon *d, const struct spool_store_row *row,
    spool_err *err)
{
	/* REQ_COLS: id side type usr folder name peer priority deadline
	 * state error size hash created updated */
	const char *id = row->col[0], *state = row->col[9];
	struct edge_list el;
	struct job_facts jf;
	struct spool_blob_tmp b;
	struct answer a;
	char ref[SPOOL_REF_MAX], job[SPOOL_ID_MAX], rid[SPOOL_ID_MAX];
	char t1[32], t2[32], dpath[PATH_MAX + NAME_MAX + 2];
	json_t *item = NULL, *files, *evs, *e;
	struct job_outputs jo = { NULL, NULL, 0 };
	const char *k;
	char *line = NULL, *receipt = NULL;
	int r, have_blob = 0;

	memset(&jf, 0, sizeof(jf));
	job[0] = '\0';
	memset(&b, 0, sizeof(b));
	b.tf.fd = -1;
	if (spool_job_resolve(d->st, id, job, NULL) == SPOOL_OK)
		spool_store_get_row(d->st, "job", job, job_row, &jf, NULL);
	snprintf(ref, sizeof(ref), "request:%s", id);
	el.node = d->node->cfg->name;
	el.events = json_object();
	files = json_array();
	evs = json_array();
	if (el.events == NULL || files == NULL || evs == NULL) {
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = spool_lineage_walk(d->st, ref, SPOOL_LINEAGE_DOWN, add_edge,
	    NULL, &el, err)) != SPOOL_OK)
		goto out;
	json_object_foreach(el.events, k, e)
		json_array_append(evs, e);
	if ((r = scope_lineage(&evs, id, row->col[12], err)) != SPOOL_OK)
		goto out;
	/* a transfer's receipt: what was delivered where */
	if (strcmp(state, "succeeded") == 0 &&
	    ledger_read(d, id, dpath, sizeof(dpath)) == 0) {
		json_t *rc = json_pack("{s:s, s:s, s:s, s:s}", "request", id,
		    "delivered", dpath + strlen(d->node->root) + 1, "node",
		    d->node->cfg->name, "blake2b", row->col[12] ? row->col[12] :
		    "");

		receipt = rc ? json_dumps(rc, JSON_INDENT(2)) : NULL;
		json_decref(rc);
		if (receipt == NULL) {
			r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
			goto out;
		}
		if ((r = spool_blob_open(&b, d->node->root, err)) != SPOOL_OK ||
		    (r = spool_blob_write(&b, receipt, strlen(receipt), err)) !=
		    SPOOL_OK ||
		    (r = spool_blob_commit(&b, d->node->root, NULL, err)) !=
		    SPOOL_OK ||
		    (r = spool_daemon_sync(d, err)) != SPOOL_OK)
			goto out;
		have_blob = 1;
		json_array_append_new(files, json_pack("{s:s, s:I, s:s}",
		    "name", "receipt.json", "size", (json_int_t)b.size, "blob",
		    b.hex));
	}
	/* what the job's workers made */
	jo.files = files;
	jo.summary = json_object();
	jo.bytes = 0;
	if (jo.summary == NULL || (job[0] != '\0' &&
	    spool_store_job_tasks(d->st, job, output_row, &jo, err) < 0)) {
		r = jo.summary ? err->code : spool_fail(err, SPOOL_ERR_NOMEM,
		    "out of memory");
		goto out;
	}
	spool_uuid7(rid);
	if (jf.started)
		spool_time_ms(t1, jf.started);
	if (jf.finished)
		spool_time_ms(t2, jf.finished);
	item = spool_manifest_result(rid, id, state, files, evs,
	    strcmp(state, "succeeded") == 0 ? NULL : jf.error[0] ? jf.error :
	    row->col[10] ? row->col[10] : state, jf.started ? t1 : NULL,
	    jf.finished ? t2 : NULL);
	if (item == NULL) {
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (json_object_size(jo.summary) > 0)
		json_object_set(item, "summary", jo.summary);
	if ((r = spool_manifest_check_item(d->manifest, item, err)) !=
	    SPOOL_OK)
		goto out;
	if ((line = json_dumps(item, JSON_COMPACT)) == NULL) {
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	a.d = d;
	a.req = id;
	a.peer = row->col[6];
	a.line = line;
	a.priority = (int)strtol(row->col[7], NULL, 10);
	a.b = have_blob ? &b : NULL;
	a.size = (have_blob ? b.size : 0) + jo.bytes;
	if ((r = spool_store_atomic(d->st, answer_tx, &a, err)) != SPOOL_OK)
		goto out;
	spool_daemon_log(d, "event=answered request=%s status=%s peer=%s", id,
	    state, row->col[6]);
	{
		const struct spool_conf_peer *p = spool_config_peer(d->node->cfg,
		    row->col[6]);

		if (p != NULL && p->direction == SPOOL_DIR_RECEIVE_ONLY)
			spool_daemon_log(d, "event=answer-held request=%s "
			    "peer=%s reason=\"peer is receive-only: this node "
			    "never sends to it\"", id, row->col[6]);
	}
out:
	json_decref(el.events);
	json_decref(files);
	json_decref(evs);
	json_decref(item);
	json_decref(jo.summary);
	free(line);
	free(receipt);
	spool_blob_discard(&b);
	return r;
}

struct unanswered {
	struct spool_daemon *d;
	spool_err *err;
	int r;
	size_t seen, answered;
};

static int
on_unanswered(void *arg, const struct spool_store_row *row)
{
	struct unanswered *u = arg;

	u->seen++;
	if (row->col[6] == NULL)
		return 0; /* no origin to answer */
	if ((u->r = answer_one(u->d, row, u->err)) != SPOOL_OK)
		return 1;
	u->answered++;
	return 0;
}

#define ANSWER_PAGE 1000

int
spool_answer_run(struct spool_daemon *d, spool_err *err)
{
	struct unanswered u = { d, err, SPOOL_OK, 0, 0 };
	int r;

	/* page by page until a page is not full (or answers nothing: rows
	 * without an origin stay unanswered, and first) */
	do {
		u.seen = u.answered = 0;
		r = spool_store_unanswered(d->st, ANSWER_PAGE, on_unanswered,
		    &u, err);
		if (u.r != SPOOL_OK)
			return u.r;
		if (r < 0)
			return r;
	} while (u.seen == ANSWER_PAGE && u.answered > 0);
	return SPOOL_OK;
}
