/*
 * layers.c - status/layer-state.json (layers.h).
 *
 * States: pending (accepted: waiting for its batch; imported, queued),
 * processing (batched, exported, acknowledged: on its way to the
 * processing node or there; running), done
 * (completed; succeeded), error (failed, expired, cancelled, rejected).
 * The facts of a done layer come from what its workers reported: on the
 * requesting node from results/<id>/result.json, on the processing node
 * from the job's task results in the store.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool/base/fsutil.h"
#include "spool/base/util.h"
#include "spool/flow/daemon_impl.h"
#include "spool/flow/layers.h"
#include "spool/job/job.h"
#include "spool/store/blobstore.h"
#include "spool/store/list.h"

#define RESULT_MAX (4 << 20)

static const char *
layer_state(const char *s)
{
	static const char *const pending[] = { "accepted", "imported",
	    "queued", NULL };
	static const char *const processing[] = { "batched", "exported",
	    "acknowledged", "running", NULL };
	static const char *const done[] = { "completed", "succeeded", NULL };
	size_t i;

	for (i = 0; pending[i]; i++)
		if (strcmp(s, pending[i]) == 0)
			return "pending";
	for (i = 0; processing[i]; i++)
		if (strcmp(s, processing[i]) == 0)
			return "processing";
	for (i = 0; done[i]; i++)
		if (strcmp(s, done[i]) == 0)
			return "done";
	return "error";
}

struct facts {
	json_t *summary;  /* the workers' summaries, merged */
	json_t *files;    /* name -> path relative to the root */
	const char *root;
};

/* task columns: ... result (14) */
static int
task_row(void *arg, const struct spool_store_row *row)
{
	struct facts *f = arg;
	json_t *res, *o, *x;
	char path[PATH_MAX];
	size_t i;

	if (row->col[14] == NULL ||
	    (res = json_loads(row->col[14], 0, NULL)) == NULL)
		return 0;
	if (json_is_object(o = json_object_get(res, "summary")))
		json_object_update(f->summary, o);
	json_array_foreach(json_object_get(res, "outputs"), i, x) {
		const char *name = json_string_value(json_object_get(x, "name"));
		const char *blob = json_string_value(json_object_get(x, "blob"));

		if (name != NULL && blob != NULL &&
		    spool_blob_path(f->root, blob, path) == 0)
			json_object_set_new(f->files, name, json_string(path +
			    strlen(f->root) + 1));
	}
	json_decref(res);
	return 0;
}

/* What the workers reported about request id, and where its files are. */
static void
load_facts(struct spool_store *st, const struct spool_node *n,
    const char *side, const char *id, struct facts *f)
{
	char job[SPOOL_ID_MAX], path[PATH_MAX], *text = NULL;
	size_t len, i;
	json_t *doc, *x;

	f->summary = json_object();
	f->files = json_object();
	f->root = n->root;
	if (strcmp(side, "process") == 0) {
		if (spool_job_resolve(st, id, job, NULL) == SPOOL_OK)
			spool_store_job_tasks(st, job, task_row, f, NULL);
		return;
	}
	snprintf(path, sizeof(path), "%s/results/%s/result.json", n->root, id);
	if (spool_read_file(path, RESULT_MAX, &text, &len, NULL) != SPOOL_OK)
		return;
	doc = json_loadb(text, len, 0, NULL);
	free(text);
	if (doc == NULL)
		return;
	json_object_update(f->summary, doc);
	json_array_foreach(json_object_get(doc, "files"), i, x) {
		const char *name = json_string_value(json_object_get(x, "name"));

		if (name != NULL) {
			snprintf(path, sizeof(path), "results/%s/%s", id, name);
			json_object_set_new(f->files, name, json_string(path));
		}
	}
	json_decref(doc);
}

/* The root-relative path of output name, or null. */
static json_t *
file_path(const struct facts *f, const json_t *name)
{
	json_t *p = json_is_string(name) ? json_object_get(f->files,
	    json_string_value(name)) : NULL;

	return p ? json_incref(p) : json_null();
}

static json_t *
copy_or_null(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return v && !json_is_null(v) ? json_deep_copy(v) : json_null();
}

struct build {
	struct spool_store *st;
	const struct spool_node *n;
	json_t *layers;
};

/* REQ_COLS: id side type usr folder name peer priority deadline state
 * error size hash created updated */
static int
layer_row(void *arg, const struct spool_store_row *row)
{
	struct build *b = arg;
	const char *id = row->col[0], *state = layer_state(row->col[9]);
	char t[32], lid[SPOOL_ID_MAX + 300];
	struct facts f;
	json_t *e, *vl, *x;
	size_t i;

	memset(&f, 0, sizeof(f));
	if (strcmp(state, "done") == 0)
		load_facts(b->st, b->n, row->col[1], id, &f);
	else {
		f.summary = json_object();
		f.files = json_object();
	}
	spool_time_ms(t, row->col[14] ? strtoll(row->col[14], NULL, 10) : 0);
	vl = json_object_get(f.summary, "layers");
	if (strcmp(row->col[2], "vector") == 0 && json_array_size(vl) > 0) {
		json_array_foreach(vl, i, x) {
			const char *ln = json_string_value(json_object_get(x,
			    "name"));

			if (ln == NULL)
				continue;
			snprintf(lid, sizeof(lid), "%s/%s", id, ln);
			e = json_pack("{s:s, s:s, s:s, s:n, s:o, s:o, s:o, s:n, "
			    "s:o, s:s}", "id", lid, "name", ln, "state", state,
			    "error", "bounds", copy_or_null(x, "bbox"),
			    "leaflet_bounds", copy_or_null(x, "leaflet_bounds"),
			    "preview", file_path(&f, json_object_get(f.summary,
			    "preview")), "cog", "gpkg", file_path(&f,
			    json_object_get(f.summary, "gpkg")), "updated", t);
			if (e != NULL)
				json_array_append_new(b->layers, e);
		}
	} else {
		int raster = strcmp(row->col[2], "raster") == 0;

		e = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:s}",
		    "id", id, "name", row->col[5], "state", state, "error",
		    strcmp(state, "error") == 0 && row->col[10] ?
		    json_string(row->col[10]) : json_null(),
		    "bounds", copy_or_null(f.summary, raster ? "bounds" : "bbox"),
		    "leaflet_bounds", copy_or_null(f.summary, "leaflet_bounds"),
		    "preview", file_path(&f, json_object_get(f.summary,
		    "preview")),
		    /* a tiled raster has its mosaic instead of one COG */
		    "cog", raster ? file_path(&f, json_object_get(f.summary,
		    json_is_string(json_object_get(f.summary, "cog")) ? "cog" :
		    "vrt")) : json_null(), "updated", t);
		if (e != NULL && !raster)
			json_object_set_new(e, "gpkg", file_path(&f,
			    json_object_get(f.summary, "gpkg")));
		if (e != NULL)
			json_array_append_new(b->layers, e);
	}
	json_decref(f.summary);
	json_decref(f.files);
	return 0;
}

int
spool_layer_state(struct spool_store *st, const struct spool_node *n,
    json_t **out, spool_err *err)
{
	struct build b = { st, n, json_array() };
	int r;

	if (b.layers == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	if ((r = spool_store_list_layers(st, 1000, layer_row, &b, err)) < 0) {
		json_decref(b.layers);
		return r;
	}
	if ((*out = json_pack("{s:o}", "layers", b.layers)) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	return SPOOL_OK;
}
