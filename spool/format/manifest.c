/*
 * manifest.c - the manifest's lines, both ways.
 *
 * Must never: let an item name that is not a single safe path component
 * through, or accept a header that disagrees with the signed facts.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "spool/base/error.h"
#include "spool/base/hash.h"
#include "spool/base/util.h"
#include "spool/format/manifest.h"
#include "spool/format/minisig.h"
#include "spool/format/schema.h"

static _Thread_local int json_oom;
static pthread_once_t json_once = PTHREAD_ONCE_INIT;

static void *
json_alloc(size_t n)
{
	void *p = malloc(n);

	if (p == NULL)
		json_oom = 1;
	return p;
}

static void
json_install(void)
{
	json_set_alloc_funcs(json_alloc, free);
}

void
spool_json_oom_clear(void)
{
	json_oom = 0;
}

int
spool_json_oom(void)
{
	return json_oom;
}

struct spool_manifest {
	struct spool_schema *header;
	struct spool_schema *item;
};

int
spool_manifest_new(struct spool_manifest **out, spool_err *err)
{
	struct spool_manifest *m;
	int r;

	pthread_once(&json_once, json_install);
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	if ((r = spool_schema_load(&m->header, "batch-header", err)) != SPOOL_OK ||
	    (r = spool_schema_load(&m->item, "batch-item", err)) != SPOOL_OK) {
		spool_manifest_free(m);
		return r;
	}
	*out = m;
	return SPOOL_OK;
}

void
spool_manifest_free(struct spool_manifest *m)
{
	if (m == NULL)
		return;
	spool_schema_free(m->header);
	spool_schema_free(m->item);
	free(m);
}

json_t *
spool_manifest_header(const struct spool_batch_facts *f, json_t *acks)
{
	return json_pack("{s:s, s:i, s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:O}",
	    "spool", "batch", "version", 1, "id", f->id, "from", f->from,
	    "to", f->to, "seq", (json_int_t)f->seq, "created", f->created,
	    "items", (json_int_t)f->items, "bytes", (json_int_t)f->bytes,
	    "acks", acks ? acks : json_array());
}

json_t *
spool_manifest_request(const struct spool_request_line *l)
{
	json_t *item;

	item = json_pack("{s:s, s:s, s:s, s:s}", "kind", "request", "id", l->id,
	    "type", l->type, "name", l->name);
	if (item == NULL)
		return NULL;
	if ((l->folder != NULL && json_object_set_new(item, "folder",
	    json_string(l->folder)) != 0) ||
	    json_object_set_new(item, "user", json_string(l->user)) != 0 ||
	    json_object_set_new(item, "priority", json_integer(l->priority)) !=
	    0 ||
	    json_object_set_new(item, "created", json_string(l->created)) != 0 ||
	    json_object_set_new(item, "files", json_pack("[{s:s, s:I, s:s}]",
	    "name", l->name, "size", (json_int_t)l->size, "blob", l->blob)) !=
	    0 ||
	    (l->expires != NULL && json_object_set_new(item, "expires",
	    json_string(l->expires)) != 0) ||
	    (l->params != NULL && json_object_set(item, "params",
	    (json_t *)l->params) != 0) ||
	    (l->mode_set && json_object_set_new(json_array_get(
	    json_object_get(item, "files"), 0), "mode", json_integer(l->mode &
	    0777)) != 0)) {
		json_decref(item);
		return NULL;
	}
	return item;
}

json_t *
spool_manifest_part(const char *request, const char *name, uint64_t index,
    uint64_t count, uint64_t offset, uint64_t size, const char *blob,
    uint64_t file_size, const char *file_blob)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:I, s:s}",
	    "kind", "part", "request", request, "name", name, "index",
	    (json_int_t)index, "count", (json_int_t)count, "offset",
	    (json_int_t)offset, "size", (json_int_t)size, "blob", blob,
	    "file_size", (json_int_t)file_size, "file_blob", file_blob);
}

/* ref into the array at key unless it is there already */
static int
add_once(json_t *ev, const char *key, const char *ref)
{
	json_t *a = json_object_get(ev, key), *x;
	size_t i;

	json_array_foreach(a, i, x)
		if (strcmp(json_string_value(x), ref) == 0)
			return 0;
	return json_array_append_new(a, json_string(ref));
}

int
spool_manifest_event_edge(json_t *events, const char *id, const char *event,
    const char *time, const char *node, const char *user, const char *batch,
    const char *from, const char *to)
{
	json_t *ev;

	if ((ev = json_object_get(events, id)) == NULL) {
		ev = json_pack("{s:s, s:s, s:s, s:s, s:[], s:[]}", "id", id,
		    "event", event, "time", time, "node", node, "used",
		    "generated");
		if (ev == NULL)
			return -1;
		if ((user != NULL && json_object_set_new(ev, "user",
		    json_string(user)) != 0) ||
		    (batch != NULL && json_object_set_new(ev, "batch",
		    json_string(batch)) != 0) ||
		    json_object_set_new(events, id, ev) != 0)
			return -1;
	}
	if (add_once(ev, "used", from) != 0 ||
	    add_once(ev, "generated", to) != 0)
		return -1;
	return 0;
}

json_t *
spool_manifest_result(const char *id, const char *request, const char *status,
    json_t *files, json_t *lineage, const char *error, const char *started,
    const char *finished)
{
	json_t *item;

	item = json_pack("{s:s, s:s, s:s, s:s, s:O, s:O}", "kind", "result",
	    "id", id, "request", request, "status", status, "files", files,
	    "lineage", lineage);
	if (item == NULL)
		return NULL;
	if ((error != NULL && json_object_set_new(item, "error",
	    json_string(error)) != 0) ||
	    (started != NULL && json_object_set_new(item, "started",
	    json_string(started)) != 0) ||
	    (finished != NULL && json_object_set_new(item, "finished",
	    json_string(finished)) != 0)) {
		json_decref(item);
		return NULL;
	}
	return item;
}

static int
same_str(const json_t *o, const char *key, const char *want)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL && strcmp(s, want) == 0;
}

static int
same_int(const json_t *o, const char *key, uint64_t want)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) && json_integer_value(v) >= 0 &&
	    (uint64_t)json_integer_value(v) == want;
}

int
spool_manifest_check_header(const struct spool_manifest *m, const json_t *hdr,
    const struct spool_batch_facts *f, spool_err *err)
{
	const char *bad = NULL;
	int r;

	if ((r = spool_schema_validate(m->header, hdr, err)) != SPOOL_OK) {
		spool_err_prefix(err, "manifest header");
		return r;
	}
	if (!same_str(hdr, "from", f->from))
		bad = "from";
	else if (!same_str(hdr, "to", f->to))
		bad = "to";
	else if (!same_int(hdr, "seq", f->seq))
		bad = "seq";
	else if (!same_str(hdr, "id", f->id))
		bad = "id";
	else if (!same_int(hdr, "items", f->items))
		bad = "items";
	else if (!same_int(hdr, "bytes", f->bytes))
		bad = "bytes";
	else if (!same_str(hdr, "created", f->created))
		bad = "created";
	if (bad != NULL)
		return spool_fail(err, SPOOL_ERR_FORMAT,
		    "manifest header '%s' disagrees with the signed trusted "
		    "comment", bad);
	return SPOOL_OK;
}

/* NULL (absent) or free of control characters: safe to print. */
static int
text_ok(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static int
check_files(const json_t *files, spool_err *err)
{
	const json_t *f;
	size_t i;

	json_array_foreach(files, i, f) {
		const char *name = json_string_value(json_object_get(f, "name"));

		if (name == NULL || !spool_item_name_ok(name))
			return spool_fail(err, SPOOL_ERR_FORMAT,
			    "item file name %zu is not a single safe path "
			    "component", i);
	}
	return SPOOL_OK;
}

int
spool_manifest_check_item(const struct spool_manifest *m, const json_t *item,
    spool_err *err)
{
	const char *kind, *name;
	int r;

	if ((r = spool_schema_validate(m->item, item, err)) != SPOOL_OK)
		return r;
	kind = json_string_value(json_object_get(item, "kind"));
	name = json_string_value(json_object_get(item, "name"));
	if (name != NULL && !spool_item_name_ok(name))
		return spool_fail(err, SPOOL_ERR_FORMAT,
		    "item name is not a single safe path component");
	if (!text_ok(json_string_value(json_object_get(item, "user"))))
		return spool_fail(err, SPOOL_ERR_FORMAT,
		    "item user contains control characters");
	if (strcmp(kind, "part") != 0)
		return check_files(json_object_get(item, "files"), err);
	if (json_integer_value(json_object_get(item, "index")) >=
	    json_integer_value(json_object_get(item, "count")))
		return spool_fail(err, SPOOL_ERR_FORMAT,
		    "part index is not below its count");
	return SPOOL_OK;
}

static int
hash_of(const json_t *o, const char *key, uint8_t out[SPOOL_HASH_LEN])
{
	const char *hex = json_string_value(json_object_get(o, key));

	return hex != NULL && spool_unhex(out, SPOOL_HASH_LEN, hex) == 0 ? 0 : -1;
}

int
spool_manifest_payloads(const json_t *item, spool_payload_fn fn, void *ctx,
    spool_err *err)
{
	const char *kind = json_string_value(json_object_get(item, "kind"));
	struct spool_payload p;
	const json_t *f;
	size_t i;
	int r;

	memset(&p, 0, sizeof(p));
	if (kind != NULL && strcmp(kind, "part") == 0) {
		p.name = json_string_value(json_object_get(item, "name"));
		p.part = (unsigned)json_integer_value(
		    json_object_get(item, "index")) + 1;
		p.size = (uint64_t)json_integer_value(
		    json_object_get(item, "size"));
		if (p.name == NULL || hash_of(item, "blob", p.hash) != 0)
			return spool_fail(err, SPOOL_ERR_FORMAT, "bad part item");
		return fn(ctx, &p, err);
	}
	json_array_foreach(json_object_get(item, "files"), i, f) {
		if (json_object_get(f, "parts") != NULL)
			continue;
		p.name = json_string_value(json_object_get(f, "name"));
		p.size = (uint64_t)json_integer_value(json_object_get(f, "size"));
		if (p.name == NULL || hash_of(f, "blob", p.hash) != 0)
			return spool_fail(err, SPOOL_ERR_FORMAT,
			    "bad file reference");
		if ((r = fn(ctx, &p, err)) != SPOOL_OK)
			return r;
	}
	return SPOOL_OK;
}

#define SCOPE_ROUNDS 16 /* request -> job -> task -> output -> file is 4 */

static int
all_known(const json_t *refs, const json_t *known)
{
	const json_t *x;
	size_t i;

	if (json_array_size(refs) == 0)
		return 0;
	json_array_foreach(refs, i, x)
		if (!json_is_string(x) || json_object_get(known,
		    json_string_value(x)) == NULL)
			return 0;
	return 1;
}

int
spool_manifest_lineage_scope(const json_t *events, const char *const *seeds,
    size_t nseeds, unsigned char *keep, size_t *nkeep)
{
	json_t *known = json_object();
	const json_t *e, *x;
	size_t i, k, round, n = 0;
	int grew = 1;

	if (known == NULL)
		return -1;
	for (i = 0; i < nseeds; i++)
		if (seeds[i] != NULL && json_object_set_new(known, seeds[i],
		    json_true()) != 0)
			goto oom;
	memset(keep, 0, json_array_size(events));
	for (round = 0; grew && round < SCOPE_ROUNDS; round++) {
		grew = 0;
		json_array_foreach(events, i, e) {
			if (keep[i] || !all_known(json_object_get(e, "used"),
			    known))
				continue;
			keep[i] = 1;
			n++;
			grew = 1;
			json_array_foreach(json_object_get(e, "generated"), k, x)
				if (json_is_string(x) && json_object_set_new(
				    known, json_string_value(x), json_true()) != 0)
					goto oom;
		}
	}
	json_decref(known);
	*nkeep = n;
	return 0;
oom:
	json_decref(known);
	return -1;
}
