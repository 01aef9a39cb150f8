/*
 * status.c - the node at a glance: status/<id>.json per request and
 * status/summary.json, rewritten atomically at every transition, and the
 * same summary for `spoolctl status`.
 */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "spool/base/error.h"
#include "spool/base/fsutil.h"
#include "spool/base/util.h"
#include "spool/flow/daemon_impl.h"
#include "spool/flow/layers.h"
#include "spool/flow/metrics.h"
#include "spool/flow/status.h"
#include "spool/format/pair.h"
#include "spool/node/node.h"
#include "spool/store/batchlog.h"
#include "spool/store/list.h"
#include "spool/store/request.h"
#include "spool/store/store.h"

static json_t *
jtime(int64_t ms)
{
	char t[32];

	if (ms <= 0)
		return json_null();
	spool_time_ms(t, ms);
	return json_string(t);
}

static int
count_row(void *arg, const struct spool_store_row *row)
{
	json_t *by = arg;
	json_t *side = json_object_get(by, row->col[0]);

	if (side == NULL) {
		side = json_object();
		json_object_set_new(by, row->col[0], side);
	}
	json_object_set_new(side, row->col[1], json_integer(strtoll(row->col[2],
	    NULL, 10)));
	return 0;
}

static json_int_t
get_count(json_t *by, const char *side, const char *state)
{
	return json_integer_value(json_object_get(json_object_get(by, side),
	    state));
}

/* Files in dir whose name ends in suffix (and not in not_suffix). */
static json_int_t
count_files(const struct spool_node *n, const char *rel, const char *suffix,
    const char *not_suffix)
{
	char dir[PATH_MAX];
	struct dirent *e;
	json_int_t c = 0;
	DIR *dp;

	spool_node_path(n, dir, sizeof(dir), rel);
	if ((dp = opendir(dir)) == NULL)
		return 0;
	while ((e = readdir(dp)) != NULL) {
		size_t l = strlen(e->d_name);

		if (e->d_name[0] == '.')
			continue;
		if (suffix != NULL && (l < strlen(suffix) || strcmp(e->d_name +
		    l - strlen(suffix), suffix) != 0))
			continue;
		if (not_suffix != NULL && l >= strlen(not_suffix) &&
		    strcmp(e->d_name + l - strlen(not_suffix), not_suffix) == 0)
			continue;
		c++;
	}
	closedir(dp);
	return c;
}

struct peer_ctx {
	struct spool_store *st;
	json_t *peers;
	spool_err *err;
	int r;
};

/* Row: name key_id next_seq recv_contiguous recv_high */
static int
peer_row(void *arg, const struct spool_store_row *row)
{
	struct peer_ctx *p = arg;
	uint64_t *missing = NULL;
	size_t n = 0, i;
	int more = 0;
	int64_t in = 0, out = 0;
	json_t *m, *o;

	if ((p->r = spool_store_gaps(p->st, row->col[0], &missing, &n, 1000,
	    &more, p->err)) != SPOOL_OK ||
	    (p->r = spool_store_last_batch(p->st, row->col[0], "in", &in,
	    p->err)) != SPOOL_OK ||
	    (p->r = spool_store_last_batch(p->st, row->col[0], "out", &out,
	    p->err)) != SPOOL_OK) {
		free(missing);
		return 1;
	}
	m = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(m, json_integer((json_int_t)missing[i]));
	free(missing);
	o = json_pack("{s:o, s:b, s:I, s:I, s:I, s:o, s:o}", "missing", m,
	    "missing_more", more, "next_seq", (json_int_t)strtoll(row->col[2],
	    NULL, 10), "received_up_to", (json_int_t)strtoll(row->col[3], NULL,
	    10), "highest_seen", (json_int_t)strtoll(row->col[4], NULL, 10),
	    "last_in", jtime(in), "last_out", jtime(out));
	json_object_set_new(p->peers, row->col[0], o);
	return 0;
}

int
spool_status_summary(struct spool_store *st, const struct spool_node *n,
    json_t **out, spool_err *err)
{
	struct peer_ctx pc;
	struct statvfs vfs;
	json_t *by = json_object(), *doc, *peers = json_object();
	int r;

	*out = NULL;
	if (by == NULL || peers == NULL) {
		json_decref(by);
		json_decref(peers);
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	}
	if ((r = spool_store_request_counts(st, count_row, by, err)) < 0) {
		json_decref(by);
		json_decref(peers);
		return r;
	}
	pc.st = st;
	pc.peers = peers;
	pc.err = err;
	pc.r = SPOOL_OK;
	if ((r = spool_store_list_peers(st, peer_row, &pc, err)) < 0 ||
	    pc.r != SPOOL_OK) {
		json_decref(by);
		json_decref(peers);
		return pc.r != SPOOL_OK ? pc.r : r;
	}
	doc = json_pack("{s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:o, s:o}",
	    "node", n->cfg->name,
	    "updated", jtime(spool_now_ms()),
	    "pending", get_count(by, "submit", "accepted"),
	    "in_flight", get_count(by, "submit", "batched") +
		get_count(by, "submit", "exported") +
		get_count(by, "submit", "acknowledged"),
	    "completed", get_count(by, "submit", "completed"),
	    "failed", get_count(by, "submit", "failed") +
		get_count(by, "submit", "expired") +
		get_count(by, "submit", "cancelled"),
	    "processing", get_count(by, "process", "imported") +
		get_count(by, "process", "queued") +
		get_count(by, "process", "running"),
	    "processed", get_count(by, "process", "succeeded") +
		get_count(by, "process", "failed") +
		get_count(by, "process", "expired") +
		get_count(by, "process", "cancelled"),
	    "rejected", count_files(n, "rejected", NULL, ".error.json"),
	    "quarantined", count_files(n, "quarantine", SPOOL_BATCH_EXT, NULL),
	    "requests", by,
	    "peers", peers);
	if (doc == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	json_object_set_new(doc, "waiting_in_out", json_integer(count_files(n,
	    "out", SPOOL_BATCH_EXT, NULL)));
	json_object_set_new(doc, "waiting_in_import", json_integer(
	    count_files(n, "import", SPOOL_BATCH_EXT, NULL)));
	if (statvfs(n->root, &vfs) == 0)
		json_object_set_new(doc, "disk", json_pack("{s:I, s:I}",
		    "free_bytes", (json_int_t)((uint64_t)vfs.f_bavail *
		    vfs.f_frsize), "total_bytes", (json_int_t)((uint64_t)
		    vfs.f_blocks * vfs.f_frsize)));
	*out = doc;
	return SPOOL_OK;
}

/* ---- per request ------------------------------------------------------ */

static int
hist_row(void *arg, const struct spool_store_row *row)
{
	json_t *h = arg;
	json_t *e = json_pack("{s:s, s:o}", "state", row->col[0], "time",
	    jtime(strtoll(row->col[1], NULL, 10)));

	if (e == NULL)
		return SPOOL_ERR_NOMEM;
	if (row->col[2] != NULL)
		json_object_set_new(e, "detail", json_string(row->col[2]));
	json_array_append_new(h, e);
	return 0;
}

int
spool_status_request(struct spool_store *st, const char *id, json_t **out,
    spool_err *err)
{
	struct spool_request_info ri;
	json_t *h, *doc;
	int r;

	*out = NULL;
	if ((r = spool_store_request_info(st, id, &ri, err)) != SPOOL_OK)
		return r;
	if ((h = json_array()) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	if ((r = spool_store_history(st, "request", id, hist_row, h, err)) <
	    0) {
		json_decref(h);
		return r;
	}
	doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:o, "
	    "s:o}", "id", id, "side", ri.side, "type", ri.type, "name", ri.name,
	    "user", ri.user, "peer", ri.peer, "state", ri.state, "priority",
	    (json_int_t)ri.priority, "created", jtime(ri.created), "updated",
	    jtime(ri.updated), "history", h);
	if (doc == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	if (ri.folder[0])
		json_object_set_new(doc, "folder", json_string(ri.folder));
	if (ri.error[0])
		json_object_set_new(doc, "error", json_string(ri.error));
	if (ri.size >= 0)
		json_object_set_new(doc, "size", json_integer(ri.size));
	if (ri.hash[0])
		json_object_set_new(doc, "blake2b", json_string(ri.hash));
	if (strcmp(ri.side, "submit") == 0 && (strcmp(ri.state, "completed") ==
	    0 || strcmp(ri.state, "failed") == 0)) {
		char res[64];

		snprintf(res, sizeof(res), "results/%s", id);
		json_object_set_new(doc, "results", json_string(res));
	}
	*out = doc;
	return SPOOL_OK;
}

static int
write_json(const struct spool_node *n, const char *rel, json_t *doc,
    spool_err *err)
{
	char path[PATH_MAX];
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	int r;

	if (text == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	if (spool_node_path(n, path, sizeof(path), rel) != 0) {
		free(text);
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	}
	/* replace: write the temp file, fsync, rename over */
	r = spool_write_file_replace(path, text, strlen(text), 0644, err);
	free(text);
	return r;
}

static int
cmp_id(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

#define FLUSH_CHUNK 256 /* requests read in one store transaction */

struct flush_chunk {
	char (*ids)[SPOOL_ID_MAX];   /* d->changed.v + i */
	size_t n;
	json_t *doc[FLUSH_CHUNK];     /* NULL: no such request (rolled back) */
};

static int
flush_read(struct spool_store *st, void *arg, spool_err *err)
{
	struct flush_chunk *c = arg;
	size_t i;
	int r;

	for (i = 0; i < c->n; i++) {
		json_decref(c->doc[i]); /* a retried transaction reads again */
		c->doc[i] = NULL;
		r = spool_status_request(st, c->ids[i], &c->doc[i], err);
		if (r != SPOOL_OK && r != SPOOL_ERR_NOTFOUND)
			return r;
	}
	return SPOOL_OK;
}

int
spool_status_flush(struct spool_daemon *d, spool_err *err)
{
	struct flush_chunk c;
	char rel[64], lpath[PATH_MAX];
	json_t *doc;
	size_t i, k;
	int r = SPOOL_OK, layers = 0;

	if (d->changed.n > 1)
		qsort(d->changed.v, d->changed.n, sizeof(*d->changed.v),
		    cmp_id);
	for (i = k = 0; i < d->changed.n; i++) /* each id once */
		if (k == 0 || strcmp(d->changed.v[i], d->changed.v[k - 1]) != 0)
			memmove(d->changed.v[k++], d->changed.v[i],
			    sizeof(d->changed.v[i]));
	d->changed.n = k;
	memset(&c, 0, sizeof(c));
	/* one read transaction per chunk: one consistent view and one
	 * lock for many requests; the files are written outside it */
	for (i = 0; i < d->changed.n && r == SPOOL_OK; i += c.n) {
		c.ids = d->changed.v + i;
		c.n = d->changed.n - i < FLUSH_CHUNK ? d->changed.n - i :
		    FLUSH_CHUNK;
		r = spool_store_read(d->st, flush_read, &c, err);
		for (k = 0; k < c.n; k++) {
			if (r == SPOOL_OK && c.doc[k] != NULL) {
				const char *ty = json_string_value(
				    json_object_get(c.doc[k], "type"));

				if (ty != NULL && (strcmp(ty, "raster") == 0 ||
				    strcmp(ty, "vector") == 0))
					layers = 1;
				/* status/ is for everyone: whose file it was
				 * and its name only when configured */
				if (!d->node->cfg->status_names) {
					json_object_del(c.doc[k], "user");
					json_object_del(c.doc[k], "name");
				}
				snprintf(rel, sizeof(rel), "status/%s.json",
				    c.ids[k]);
				r = write_json(d->node, rel, c.doc[k], err);
			}
			json_decref(c.doc[k]);
			c.doc[k] = NULL;
		}
	}
	if (r != SPOOL_OK) {
		d->changed.n = 0;
		return r;
	}
	d->changed.n = 0;
	if ((r = spool_status_summary(d->st, d->node, &doc, err)) != SPOOL_OK)
		return r;
	json_object_set_new(doc, "intake", json_string(d->store_lost ?
	    "paused: store lost" : spool_daemon_paused(d) ?
	    "paused: disk full" : "ok"));
	if (spool_daemon_paused(d))
		json_object_set_new(doc, "intake_reason",
		    json_string(spool_daemon_paused(d)));
	r = write_json(d->node, "status/summary.json", doc, err);
	if (r == SPOOL_OK)
		r = spool_metrics_write(d, doc, err);
	json_decref(doc);
	/* the map pages' file: on every transition of a layer, and once */
	spool_node_path(d->node, lpath, sizeof(lpath),
	    "status/layer-state.json");
	if (r == SPOOL_OK && (layers || access(lpath, F_OK) != 0)) {
		if ((r = spool_layer_state(d->st, d->node, &doc, err)) !=
		    SPOOL_OK)
			return r;
		r = write_json(d->node, "status/layer-state.json", doc, err);
		json_decref(doc);
	}
	return r;
}

uint64_t
spool_status_expire(struct spool_store *st, const char *dir, int64_t cutoff)
{
	struct spool_request_info ri;
	char p[PATH_MAX * 2], id[SPOOL_ID_MAX];
	struct dirent *e;
	struct stat sb;
	uint64_t n = 0;
	DIR *dp;

	if ((dp = opendir(dir)) == NULL)
		return 0;
	while ((e = readdir(dp)) != NULL) {
		size_t l = strlen(e->d_name);

		if (l != SPOOL_UUID_LEN + 5 || strcmp(e->d_name + SPOOL_UUID_LEN,
		    ".json") != 0)
			continue;
		snprintf(id, sizeof(id), "%.*s", SPOOL_UUID_LEN, e->d_name);
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (!spool_uuid_ok(id) || lstat(p, &sb) != 0 ||
		    (int64_t)sb.st_mtim.tv_sec * 1000 >= cutoff)
			continue;
		if (spool_store_request_info(st, id, &ri, NULL) == SPOOL_OK &&
		    strcmp(ri.state, "completed") != 0 &&
		    strcmp(ri.state, "failed") != 0 &&
		    strcmp(ri.state, "expired") != 0 &&
		    strcmp(ri.state, "cancelled") != 0 &&
		    strcmp(ri.state, "succeeded") != 0 &&
		    strcmp(ri.state, "rejected") != 0)
			continue; /* still moving */
		n += unlink(p) == 0;
	}
	closedir(dp);
	return n;
}
