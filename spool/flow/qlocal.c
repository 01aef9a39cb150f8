/*
 * qlocal.c - answering queries from the requesting node's own results
 * (qlocal.h).
 *
 * The answer is the earlier request's result: the same files (the blobs
 * its result batch brought, still in the store), its result.json facts,
 * and "cached": true, "answer_of": the earlier request.  The waiting
 * request's line leaves the outbox and the request is completed in one
 * transaction, before its folder is written; a crash between them leaves
 * a completed request without its folder, which the next start's
 * answers do not redo (said in the log, the status file holds why).
 */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool/base/fsutil.h"
#include "spool/base/util.h"
#include "spool/flow/daemon.h"
#include "spool/flow/daemon_impl.h"
#include "spool/flow/qlocal.h"
#include "spool/flow/results.h"
#include "spool/node/node.h"
#include "spool/store/blobref.h"
#include "spool/store/request.h"

#define RESULT_MAX (4 << 20)

struct waiting {
	char (*id)[SPOOL_ID_MAX];
	char (*key)[80];
	int *fresh;
	size_t n, cap;
};

static int
waiting_row(void *arg, const struct spool_store_row *row)
{
	struct waiting *w = arg;
	json_t *p;

	if (w->n == w->cap)
		return 0; /* the rest next time */
	snprintf(w->id[w->n], SPOOL_ID_MAX, "%s", row->col[0]);
	snprintf(w->key[w->n], 80, "%s", row->col[1]);
	p = row->col[2] ? json_loads(row->col[2], 0, NULL) : NULL;
	w->fresh[w->n] = json_is_true(json_object_get(p, "fresh"));
	json_decref(p);
	w->n++;
	return 0;
}

/* The result item that answers req from the earlier answer at dir. */
static json_t *
local_item(struct spool_daemon *d, const char *req, const char *from,
    const char *dir)
{
	static const char *const ours[] = { "request", "result", "status",
	    "type", "name", "folder", "received", "files", "lineage_events",
	    "error", "started", "finished", NULL };
	char path[PATH_MAX], rid[SPOOL_ID_MAX], *text = NULL;
	json_t *doc, *files, *sum, *f, *item = NULL;
	size_t len, i;
	int has;

	snprintf(path, sizeof(path), "%s/result.json", dir);
	if (spool_read_file(path, RESULT_MAX, &text, &len, NULL) != SPOOL_OK)
		return NULL;
	doc = json_loadb(text, len, 0, NULL);
	free(text);
	if (doc == NULL || strcmp(json_string_value(json_object_get(doc,
	    "status")) ? json_string_value(json_object_get(doc, "status")) :
	    "", "succeeded") != 0)
		goto out;
	files = json_array();
	json_array_foreach(json_object_get(doc, "files"), i, f) {
		const char *h = json_string_value(json_object_get(f, "blake2b"));

		/* every file's bytes must still be here */
		if (h == NULL || spool_store_blob_has(d->st, h, &has, NULL) !=
		    SPOOL_OK || !has) {
			json_decref(files);
			goto out;
		}
		json_array_append_new(files, json_pack("{s:O, s:O, s:s}",
		    "name", json_object_get(f, "name"), "size",
		    json_object_get(f, "size"), "blob", h));
	}
	sum = json_deep_copy(doc);
	for (i = 0; ours[i] != NULL; i++)
		json_object_del(sum, ours[i]);
	json_object_set_new(sum, "cached", json_true());
	json_object_set_new(sum, "answer_of", json_string(from));
	spool_uuid7(rid);
	item = json_pack("{s:s, s:s, s:s, s:s, s:o, s:[], s:o}", "kind",
	    "result", "id", rid, "request", req, "status", "succeeded",
	    "files", files, "lineage", "summary", sum);
out:
	json_decref(doc);
	return item;
}

int
spool_query_local_answers(struct spool_daemon *d, size_t *n, spool_err *err)
{
	const struct spool_config *c = d->node->cfg;
	char id[64][SPOOL_ID_MAX], key[64][80], from[SPOOL_ID_MAX];
	char dir[PATH_MAX], detail[128];
	int fresh[64];
	struct waiting w = { id, key, fresh, 0, 64 };
	struct spool_request_info ri;
	size_t i, answered = 0;
	int r, found, done;

	if (n != NULL)
		*n = 0;
	if (c->local_ttl == 0)
		return SPOOL_OK;
	if ((r = spool_store_query_waiting(d->st, waiting_row, &w, err)) < 0)
		return r;
	for (i = 0; i < w.n; i++) {
		json_t *item;

		if (w.fresh[i])
			continue;
		if ((r = spool_store_query_answered(d->st, w.key[i],
		    spool_now_ms() - (int64_t)c->local_ttl * 1000, w.id[i],
		    from, &found, err)) != SPOOL_OK)
			return r;
		if (!found)
			continue;
		if (spool_node_path(d->node, dir, sizeof(dir), "results") != 0 ||
		    strlen(dir) + SPOOL_ID_MAX + 2 > sizeof(dir))
			continue;
		strcat(strcat(dir, "/"), from);
		if ((item = local_item(d, w.id[i], from, dir)) == NULL)
			continue; /* that answer is gone: ask the far side */
		snprintf(detail, sizeof(detail), "answered from this node's "
		    "results of %s", from);
		if ((r = spool_store_answer_locally(d->st, w.id[i], detail,
		    &done, err)) != SPOOL_OK) {
			json_decref(item);
			return r;
		}
		if (done && (r = spool_store_request_info(d->st, w.id[i], &ri,
		    err)) == SPOOL_OK)
			r = spool_results_write(d, item, &ri, err);
		json_decref(item);
		if (!done)
			continue;
		if (r != SPOOL_OK)
			return r;
		spool_idlist_add(&d->changed, w.id[i]);
		spool_daemon_log(d, "event=answered-locally request=%s "
		    "answer_of=%s", w.id[i], from);
		answered++;
	}
	if (n != NULL)
		*n = answered;
	return SPOOL_OK;
}
