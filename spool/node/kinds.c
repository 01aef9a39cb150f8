/*
 * kinds.c - presets of hot folders and settings of worker kinds (kinds.h).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>

#include "spool/base/hash.h"
#include "spool/node/kinds.h"
#include "spool/store/request.h"

static json_t *
str_list(char *const *v, size_t n)
{
	json_t *a = json_array();
	size_t i;

	for (i = 0; a != NULL && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* Set key from the folder's value, else the section's. */
#define PICK_S(o, key, f, s) do {                                           \
	const char *v_ = (f)->key ? (f)->key : (s)->key;                     \
	if (v_ != NULL)                                                      \
		json_object_set_new(o, #key, json_string(v_));               \
} while (0)
#define PICK_N(o, key, f, s) do {                                           \
	uint64_t v_ = (f)->key ? (f)->key : (s)->key;                        \
	if (v_ != 0)                                                         \
		json_object_set_new(o, #key, json_integer((json_int_t)v_));  \
} while (0)

json_t *
spool_preset_params(const struct spool_config *c,
    const struct spool_conf_folder *f)
{
	const struct spool_preset *p = &f->preset, *s;
	json_t *o = json_object();
	const char *v;

	if (o == NULL)
		return NULL;
	if (strcmp(f->type, "raster") == 0) {
		s = &c->raster;
		PICK_S(o, reproject, p, s);
		PICK_S(o, compress, p, s);
		PICK_S(o, resampling, p, s);
		PICK_N(o, preview_size, p, s);
	} else if (strcmp(f->type, "vector") == 0) {
		s = &c->vector;
		PICK_S(o, srs, p, s);
		PICK_S(o, invalid, p, s);
		PICK_S(o, target_schema, p, s);
		PICK_S(o, target_table, p, s);
		PICK_S(o, load_method, p, s);
		PICK_N(o, chunk_features, p, s);
		v = p->split_by_type ? p->split_by_type : s->split_by_type;
		if (v != NULL)
			json_object_set_new(o, "split_by_type",
			    json_boolean(strcmp(v, "yes") == 0));
		if (p->nlayers > 0 || s->nlayers > 0)
			json_object_set_new(o, "layers", p->nlayers ?
			    str_list(p->layers, p->nlayers) :
			    str_list(s->layers, s->nlayers));
		/* the folder may say no; the URL is the processing node's */
		if (p->postgis != NULL && (strcmp(p->postgis, "no") == 0 ||
		    strcmp(p->postgis, "yes") == 0))
			json_object_set_new(o, "postgis",
			    json_boolean(strcmp(p->postgis, "yes") == 0));
	}
	return o;
}

json_t *
spool_kind_config(const struct spool_node *n, const char *kind,
    const struct spool_task *t, struct spool_store *st)
{
	const struct spool_config *c = n->cfg;
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	if (strcmp(kind, "raster") == 0) {
		json_object_set_new(o, "tile_threshold",
		    json_integer((json_int_t)c->tile_threshold));
		json_object_set_new(o, "tile_bytes",
		    json_integer((json_int_t)c->tile_bytes));
		json_object_set_new(o, "drivers", str_list(c->drivers,
		    c->ndrivers));
	} else if (strcmp(kind, "vector") == 0) {
		if (c->vector.postgis != NULL)
			json_object_set_new(o, "postgis",
			    json_string(c->vector.postgis));
		if (c->vector.chunk_features)
			json_object_set_new(o, "chunk_features", json_integer(
			    (json_int_t)c->vector.chunk_features));
		if (c->vector.target_schema != NULL)
			json_object_set_new(o, "target_schema",
			    json_string(c->vector.target_schema));
	} else if (strcmp(kind, "query") == 0) {
		const struct spool_conf_source *src;
		json_t *in, *params = NULL;
		char *ptext = NULL;
		const char *req, *name;

		in = t->input ? json_loads(t->input, 0, NULL) : NULL;
		req = json_string_value(json_object_get(in, "request"));
		if (req != NULL && spool_store_request_params(st, req, &ptext,
		    NULL) == SPOOL_OK && ptext != NULL)
			params = json_loads(ptext, 0, NULL);
		name = json_string_value(json_object_get(params, "source"));
		if ((src = spool_config_source(c, name)) != NULL)
			json_object_set_new(o, "source", json_pack("{s:s, s:s, "
			    "s:o, s:b, s:I, s:I, s:I}", "name", src->name, "url",
			    src->url, "layers", str_list(src->layers,
			    src->nlayers), "allow_sql", src->allow_sql,
			    "timeout_ms", (json_int_t)src->timeout * 1000,
			    "max_rows", (json_int_t)src->max_rows, "max_bytes",
			    (json_int_t)src->max_bytes));
		if (src != NULL)
			json_object_set_new(json_object_get(o, "source"),
			    "cache_ttl_ms", json_integer((json_int_t)
			    src->cache_ttl * 1000));
		json_decref(params);
		json_decref(in);
		free(ptext);
	} else if (strcmp(kind, "selftest") == 0)
		/* what a probe tries to reach: it must be denied */
		json_object_set_new(o, "probe_root", json_string(n->root));
	return o;
}

int
spool_query_cache_key(const json_t *params, char out[SPOOL_CACHE_KEY_MAX])
{
	uint8_t h[SPOOL_HASH_LEN];
	json_t *p;
	char *text;

	if (!json_is_object(params) || (p = json_deep_copy(params)) == NULL)
		return -1;
	json_object_del(p, "fresh");
	text = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	json_decref(p);
	if (text == NULL)
		return -1;
	{
		spool_hasher hs;

		spool_hasher_init(&hs, SPOOL_HASH_LEN);
		spool_hasher_update(&hs, text, strlen(text));
		spool_hasher_final(&hs, h);
	}
	free(text);
	out[0] = 'q';
	spool_hex(out + 1, h, SPOOL_HASH_LEN);
	return 0;
}

int
spool_worker_program(const char *kind, char *out, size_t n)
{
	char self[PATH_MAX], *slash;
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (len > 0) {
		self[len] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			if ((size_t)snprintf(out, n, "%s/libexec/spool/%s", self,
			    kind) < n && access(out, X_OK) == 0)
				return 0;
		}
	}
	if ((size_t)snprintf(out, n, "%s/spool/%s", SPOOL_LIBEXECDIR, kind) >=
	    n)
		return -1;
	return access(out, X_OK);
}

int
spool_kind_refuses(const struct spool_config *c, const char *type,
    const json_t *params, int has_file, char *why, size_t n)
{
	char prog[PATH_MAX];
	const char *src;
	size_t i, k;

	if (!has_file && (strcmp(type, "transfer") == 0 ||
	    strcmp(type, "raster") == 0 || strcmp(type, "vector") == 0)) {
		snprintf(why, n, "a %s request needs a file: drop the file in "
		    "a %s folder", type, type);
		return 1;
	}
	if (strcmp(type, "query") == 0) {
		src = json_string_value(json_object_get(params, "source"));
		if (src == NULL) {
			snprintf(why, n, "a query names its source "
			    "(\"params\": {\"source\": NAME, ...})");
			return 1;
		}
		if (spool_config_source(c, src) == NULL) {
			k = (size_t)snprintf(why, n, "unknown source '%s' (%s",
			    src, c->nsources ? "sources here: " :
			    "no sources are configured here");
			for (i = 0; i < c->nsources && k < n; i++)
				k += (size_t)snprintf(why + k, n - k, "%s%s",
				    i ? ", " : "", c->sources[i].name);
			if (k < n)
				snprintf(why + k, n - k, ")");
			return 1;
		}
	}
	if (strcmp(type, "transfer") != 0 &&
	    spool_worker_program(type, prog, sizeof(prog)) != 0) {
		snprintf(why, n, "this node cannot process %s requests: no "
		    "worker program '%s'", type, prog);
		return 1;
	}
	return 0;
}

void
spool_source_fingerprint(const struct spool_conf_source *src, char *out,
    size_t n)
{
	struct stat sb;

	out[0] = '\0';
	if (src == NULL || src->url == NULL || strstr(src->url, "://") != NULL ||
	    strncmp(src->url, "PG:", 3) == 0)
		return;
	if (stat(src->url, &sb) == 0)
		snprintf(out, n, "%llu:%llu:%lld:%lld.%09ld",
		    (unsigned long long)sb.st_dev, (unsigned long long)sb.st_ino,
		    (long long)sb.st_size, (long long)sb.st_mtim.tv_sec,
		    (long)sb.st_mtim.tv_nsec);
	else
		snprintf(out, n, "missing");
}
