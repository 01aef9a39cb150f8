/*
 * config.c - spoold.conf: one table of keys, libinih for the lines.
 *
 * Every key is one row of keys[] (Postfix style): section, name, type,
 * default, where it is stored and its bounds.  Parsing a value, applying
 * defaults, freeing and printing all walk that table, so a new key is one
 * new row.  Problems are collected into a spool_diag, never printed.
 *
 * libinih (Debian's build) has a 200-byte stack line buffer: it splits a
 * longer line silently, cuts section names at 49 bytes, takes an indented
 * line as the continuation of the previous key and reports only the first
 * syntax error.  So inih reads through our own line reader (feed), which
 * numbers and trims lines, handles section headers itself, reports
 * malformed and over-long lines, and hands inih only key lines it can take
 * whole.  inih then splits "key = value ; comment" and calls on_kv.
 *
 * Never read any file but the one given to spool_config_load:
 * spool_config_parse is pure, and the fuzz target runs it.
 *
 * Over 800 lines and kept whole: the key table, its parser and its
 * printer are one concept, and a key's bounds read best beside its parse.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "spool/base/error.h"
#include "spool/base/util.h"
#include "spool/node/config.h"

#define NAMED_MAX 1024 /* [peer|folder|query.source NAME] sections, each */
#define DUR_MAX (36500ULL * 86400) /* 100 years: time arithmetic stays safe */
#define KB 1024ULL

enum sect {
	S_NONE, S_NODE, S_STORE, S_BATCH, S_INTAKE, S_WORKERS, S_RETENTION,
	S_RASTER, S_VECTOR, S_QUERY, S_LOG,
	S_PEER, S_FOLDER, S_SOURCE, S_POOL, S_N,
	S_SKIP /* an unknown or refused section: its keys are ignored */
};
#define NAMED(s) ((s) >= S_PEER && (s) < S_N)

static const char *const sect_names[S_N] = {
	"", "node", "store", "batch", "intake", "workers", "retention",
	"raster", "vector", "query", "log",
	"peer", "folder", "query.source", "workers."
};

#define C(f) offsetof(struct spool_config, f)
#define P(f) offsetof(struct spool_conf_peer, f)
#define F(f) offsetof(struct spool_conf_folder, f)
#define Q(f) offsetof(struct spool_conf_source, f)
#define W(f) offsetof(struct spool_conf_pool, f)
#define PR(f) offsetof(struct spool_preset, f)

/* Where each kind of named section lives in struct spool_config. */
static const struct {
	size_t arr, count, size, name;
} named[S_N] = {
	[S_PEER] = { C(peers), C(npeers), sizeof(struct spool_conf_peer),
	    P(name) },
	[S_FOLDER] = { C(folders), C(nfolders),
	    sizeof(struct spool_conf_folder), F(name) },
	[S_SOURCE] = { C(sources), C(nsources),
	    sizeof(struct spool_conf_source), Q(name) },
	[S_POOL] = { C(pools), C(npools), sizeof(struct spool_conf_pool),
	    W(name) },
};
#define ARR(c, s) (*(char **)((char *)(c) + named[s].arr))
#define CNT(c, s) (*(size_t *)((char *)(c) + named[s].count))

enum type {
	T_STR,  /* char *, non-empty */
	T_PATH, /* char *, made absolute from the config's directory */
	T_NAME, /* char[SPOOL_NAME_MAX + 1], a node name */
	T_NODE, /* char *, a node name */
	T_WORD, /* char *, one of choices */
	T_ENUM, /* enum (an int), index into choices */
	T_LIST, /* char ** at off, size_t count at aux; "" is empty */
	T_INT,  /* int, min..max */
	T_U64,  /* uint64_t, min..max */
	T_SIZE, /* uint64_t bytes */
	T_DUR   /* uint64_t seconds */
};
#define HEAP(t) ((t) <= T_WORD && (t) != T_NAME)

static const char *const directions[] = {
	"two-way", "send-only", "receive-only", NULL
};
/* syslog's names, most severe first: the index is the level */
static const char *const log_levels[] = {
	"err", "warning", "notice", "info", "debug", NULL
};
static const char *const folder_types[] = {
	"request", "transfer", "raster", "vector", "query", "selftest", NULL
};
static const char *const pool_kinds[] = {
	"selftest", "raster", "vector", "query", NULL
};
static const char *const compressions[] = {
	"DEFLATE", "ZSTD", "LZW", "JPEG", "WEBP", NULL
};
static const char *const resamplings[] = {
	"NEAREST", "AVERAGE", "MODE", "BILINEAR", "CUBIC", "CUBICSPLINE",
	"LANCZOS", "GAUSS", "RMS", NULL
};
static const char *const yes_no[] = { "yes", "no", NULL };
static const char *const no_yes[] = { "no", "yes", NULL };
static const char *const invalids[] = { "repair", "skip", "fail", NULL };
static const char *const load_methods[] = { "replace", "append", NULL };

struct key {
	unsigned char sect, type, required;
	const char *name;
	const char *def; /* parsed like a value from the file; NULL = none */
	size_t off;      /* in struct spool_config or the named section */
	long long min;
	unsigned long long max;
	const char *const *choices;
	size_t aux;
};

#define STR(s, t, n, off) { s, t, 0, n, NULL, off, 0, 0, NULL, 0 }
#define WORD(s, n, off, ch) { s, T_WORD, 0, n, NULL, off, 0, 0, ch, 0 }
/* The preset keys of a raster or vector folder (struct spool_preset at
 * base), in [raster], [vector] and [folder NAME] alike. */
#define PRESET_KEYS(s, base)                                                  \
	STR(s, T_STR, "reproject", (base) + PR(reproject)),                    \
	WORD(s, "compress", (base) + PR(compress), compressions),              \
	WORD(s, "resampling", (base) + PR(resampling), resamplings),           \
	NUM(s, T_U64, "preview_size", NULL, (base) + PR(preview_size), 64,     \
	    8192),                                                             \
	STR(s, T_STR, "srs", (base) + PR(srs)),                                \
	WORD(s, "split_by_type", (base) + PR(split_by_type), yes_no),          \
	WORD(s, "invalid", (base) + PR(invalid), invalids),                    \
	{ s, T_LIST, 0, "layers", NULL, (base) + PR(layers), 0, 0, NULL,        \
	    (base) + PR(nlayers) },                                            \
	STR(s, T_STR, "target_schema", (base) + PR(target_schema)),            \
	STR(s, T_STR, "target_table", (base) + PR(target_table)),              \
	WORD(s, "load_method", (base) + PR(load_method), load_methods),        \
	STR(s, T_STR, "postgis", (base) + PR(postgis)),                        \
	NUM(s, T_U64, "chunk_features", NULL, (base) + PR(chunk_features),     \
	    100, 10000000)
#define NUM(s, t, n, d, off, lo, hi) { s, t, 0, n, d, off, lo, hi, NULL, 0 }

static const struct key keys[] = {
	{ S_NODE, T_NAME, 1, "name", NULL, C(name), 0, 0, NULL, 0 },
	STR(S_NODE, T_PATH, "root", C(root)), /* default: the file's dir */
	STR(S_NODE, T_NODE, "peer", C(peer)),
	STR(S_NODE, T_STR, "operators", C(operators)),
	{ S_NODE, T_ENUM, 0, "status_names", "no", C(status_names), 0, 0,
	    no_yes, 0 },
	STR(S_STORE, T_STR, "url", C(store_url)), /* default from root */
	NUM(S_BATCH, T_SIZE, "max_bytes", "1G", C(max_bytes), 64 * KB,
	    4 * KB * KB * KB - 1),
	NUM(S_BATCH, T_U64, "max_items", "10000", C(max_items), 1, 1000000),
	NUM(S_BATCH, T_DUR, "max_age", "5m", C(max_age), 1, DUR_MAX),
	NUM(S_BATCH, T_INT, "zstd_level", "3", C(zstd_level), 1, 19),
	NUM(S_BATCH, T_DUR, "heartbeat", "10m", C(heartbeat), 0, DUR_MAX),
	NUM(S_INTAKE, T_DUR, "settle", "0", C(settle), 0, DUR_MAX),
	NUM(S_INTAKE, T_SIZE, "max_file_size", "0", C(max_file_size), 0,
	    UINT64_MAX),
	NUM(S_WORKERS, T_U64, "count", "2", C(workers), 1, 256),
	NUM(S_WORKERS, T_SIZE, "memory_limit", "1G", C(memory_limit),
	    KB * KB, UINT64_MAX),
	NUM(S_WORKERS, T_DUR, "task_timeout", "1h", C(task_timeout), 1,
	    DUR_MAX),
	NUM(S_WORKERS, T_U64, "retries", "3", C(retries), 0, 100),
	NUM(S_WORKERS, T_DUR, "lease", "30s", C(lease), 2, 86400),
	{ S_WORKERS, T_STR, 0, "user", "nobody", C(worker_user), 0, 0, NULL,
	    0 },
	NUM(S_WORKERS, T_U64, "threads", "1", C(threads), 1, 256),
	NUM(S_WORKERS, T_SIZE, "cachemax", "256M", C(cachemax), KB * KB,
	    UINT64_MAX),
	/* [workers.KIND]: unset keys fall back to [workers] */
	NUM(S_POOL, T_U64, "count", NULL, W(count), 0, 256),
	NUM(S_POOL, T_SIZE, "memory_limit", NULL, W(memory_limit), KB * KB,
	    UINT64_MAX - 1),
	NUM(S_POOL, T_DUR, "task_timeout", NULL, W(task_timeout), 1, DUR_MAX),
	NUM(S_POOL, T_U64, "retries", NULL, W(retries), 0, 100),
	NUM(S_POOL, T_U64, "threads", NULL, W(threads), 1, 256),
	NUM(S_POOL, T_SIZE, "cachemax", NULL, W(cachemax), KB * KB,
	    UINT64_MAX - 1),
	PRESET_KEYS(S_RASTER, C(raster)),
	PRESET_KEYS(S_VECTOR, C(vector)),
	NUM(S_RASTER, T_SIZE, "tile_threshold", "2G", C(tile_threshold), KB,
	    UINT64_MAX),
	NUM(S_RASTER, T_SIZE, "tile_bytes", "1G", C(tile_bytes), 64 * KB,
	    UINT64_MAX),
	{ S_RASTER, T_LIST, 0, "drivers", "GTiff,COG,JP2OpenJPEG,PNG,JPEG,"
	    "HFA,GIF,BMP,WEBP,DTED,SRTMHGT,AAIGrid",
	    C(drivers), 0, 0, NULL, C(ndrivers) },
	NUM(S_QUERY, T_DUR, "local_ttl", "1h", C(local_ttl), 0, DUR_MAX),
	NUM(S_RETENTION, T_DUR, "archive", "30d", C(keep_archive), 0, DUR_MAX),
	NUM(S_RETENTION, T_DUR, "results", "30d", C(keep_results), 0, DUR_MAX),
	NUM(S_RETENTION, T_DUR, "status", "30d", C(keep_status), 0, DUR_MAX),
	NUM(S_RETENTION, T_DUR, "jobs", "30d", C(keep_jobs), 0, DUR_MAX),
	/* forgetting seen batches within a day would invite replays */
	NUM(S_RETENTION, T_DUR, "seen", "90d", C(keep_seen), 86400, DUR_MAX),
	{ S_LOG, T_ENUM, 0, "level", "info", C(log_level), 0, 0, log_levels,
	    0 },
	{ S_PEER, T_ENUM, 0, "direction", "two-way", P(direction), 0, 0,
	    directions, 0 },
	{ S_FOLDER, T_WORD, 1, "type", NULL, F(type), 0, 0, folder_types, 0 },
	STR(S_FOLDER, T_NODE, "peer", F(peer)),
	NUM(S_FOLDER, T_INT, "priority", "0", F(priority), -1000, 1000),
	NUM(S_FOLDER, T_DUR, "expires", "0", F(expires), 0, DUR_MAX),
	PRESET_KEYS(S_FOLDER, F(preset)),
	{ S_SOURCE, T_STR, 1, "url", NULL, Q(url), 0, 0, NULL, 0 },
	{ S_SOURCE, T_LIST, 0, "layers", "", Q(layers), 0, 0, NULL,
	    Q(nlayers) },
	NUM(S_SOURCE, T_U64, "max_rows", "1000", Q(max_rows), 1, 1000000000),
	NUM(S_SOURCE, T_DUR, "timeout", "30s", Q(timeout), 1, DUR_MAX),
	{ S_SOURCE, T_ENUM, 0, "allow_sql", "no", Q(allow_sql), 0, 0, no_yes,
	    0 },
	NUM(S_SOURCE, T_SIZE, "max_bytes", "64M", Q(max_bytes), KB,
	    UINT64_MAX),
	NUM(S_SOURCE, T_DUR, "cache_ttl", "1h", Q(cache_ttl), 0, DUR_MAX),
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

struct ctx {
	struct spool_config *c;
	struct spool_diag *diag;
	const char *name; /* for messages */
	const char *dir;  /* absolute, resolves relative paths */
	const char *text;
	size_t len, pos;
	int line;
	int pending; /* key line handed to libinih, not yet seen in on_kv */
	int nomem;
	size_t nprob;
	char first[SPOOL_ERR_MSG_MAX];
	/* the section being read */
	int sect;
	size_t idx;
	int sect_line;
	char label[200];  /* "[folder raster]" */
	int seen[NKEYS];  /* line each key was set on in it, 0 = not yet */
	int fixed_line[S_N];  /* header line of each fixed section */
	int *named_line[S_N]; /* header lines of the named sections */
};

/* ---- values ----------------------------------------------------------- */

static const char too_large[] = "is too large";

static const char *
parse_u64(const char *s, uint64_t *out, const char **end)
{
	uint64_t v = 0;

	if (!isdigit((unsigned char)*s))
		return "is not a number";
	for (; isdigit((unsigned char)*s); s++) {
		if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return too_large;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	*end = s;
	return NULL;
}

/* A size or a duration: NULL and *out set, or why s is not one. */
static const char *
unit_why(int type, const char *s, uint64_t *out)
{
	static const char su[] = "KMGkmg", du[] = "smhd";
	static const uint64_t sm[] = { KB, KB * KB, KB * KB * KB },
	    dm[] = { 1, 60, 3600, 86400 };
	const char *bad = type == T_SIZE ?
	    "is not a size (use e.g. 1024, 64K, 512M, 1G)" :
	    "is not a duration (use e.g. 30s, 5m, 2h, 7d)";
	const char *end, *why, *u;
	uint64_t v, mul = 1;

	if (*s == '-')
		return "must not be negative";
	if ((why = parse_u64(s, &v, &end)) != NULL)
		return why == too_large ? why : bad;
	if (*end == '\0' && type == T_DUR && v != 0)
		return "has no unit (use s, m, h or d)";
	if (*end != '\0') {
		u = strchr(type == T_SIZE ? su : du, *end);
		if (u == NULL || end[1] != '\0')
			return bad;
		mul = type == T_SIZE ? sm[(u - su) % 3] : dm[u - du];
	}
	if (v > UINT64_MAX / mul)
		return too_large;
	*out = v * mul;
	return NULL;
}

static int
parse_unit(int type, const char *s, uint64_t *out)
{
	const char *why;
	uint64_t v;

	if (s == NULL || out == NULL)
		return SPOOL_ERR_USAGE;
	if ((why = unit_why(type, s, &v)) != NULL)
		return why == too_large ? SPOOL_ERR_LIMIT : SPOOL_ERR_FORMAT;
	*out = v;
	return SPOOL_OK;
}

int
spool_parse_size(const char *s, uint64_t *out)
{
	return parse_unit(T_SIZE, s, out);
}

int
spool_parse_duration(const char *s, uint64_t *out)
{
	return parse_unit(T_DUR, s, out);
}

/* [a-z0-9] and then [a-z0-9] or more, max bytes in all */
static int
name_ok(const char *s, size_t max, const char *more)
{
	size_t n;

	for (n = 0; s != NULL && s[n] != '\0'; n++)
		if (n >= max || !(islower((unsigned char)s[n]) ||
		    isdigit((unsigned char)s[n]) ||
		    (n > 0 && strchr(more, s[n]) != NULL)))
			return 0;
	return n > 0;
}

/* dir/rel, or rel if absolute, lexically cleaned of ".", ".." and "//" */
static char *
path_join(const char *dir, const char *rel)
{
	size_t dn = rel[0] == '/' ? 0 : strlen(dir), o = 0;
	char *in, *out, *p, *q;

	if (asprintf(&in, "%.*s/%s", (int)dn, dir, rel) < 0)
		return NULL;
	if ((out = malloc(strlen(in) + 2)) == NULL) {
		free(in);
		return NULL;
	}
	for (p = in; *p != '\0'; p = q) {
		while (*p == '/')
			p++;
		for (q = p; *q != '\0' && *q != '/'; q++)
			;
		if (q == p || (q - p == 1 && p[0] == '.'))
			continue;
		if (q - p == 2 && p[0] == '.' && p[1] == '.') {
			while (o > 0 && out[--o] != '/')
				;
			continue;
		}
		out[o++] = '/';
		memcpy(out + o, p, (size_t)(q - p));
		o += (size_t)(q - p);
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	free(in);
	return out;
}

static void *
section_base(const struct spool_config *c, int sect, size_t i)
{
	return NAMED(sect) ? ARR(c, sect) + i * named[sect].size : (void *)c;
}

static const char *
section_name(const struct spool_config *c, int sect, size_t i)
{
	char *p = (char *)section_base(c, sect, i) + named[sect].name;

	return sect == S_PEER ? p : *(char **)p;
}

static void
list_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n && v != NULL; i++)
		free(v[i]);
	free(v);
}

static void
value_free(const struct key *k, void *base)
{
	char *p = (char *)base + k->off;
	size_t *n = (size_t *)((char *)base + k->aux);

	if (HEAP(k->type)) {
		free(*(char **)p);
		*(char **)p = NULL;
	} else if (k->type == T_LIST) {
		list_free(*(char ***)p, *n);
		*(char ***)p = NULL;
		*n = 0;
	}
}

/* "a, b,c" -> {"a", "b", "c"}; empty items are refused */
static int
list_parse(const char *v, char ***out, size_t *nout, const char **why)
{
	char **items = NULL, **t;
	const char *p = v, *e, *q;
	size_t n = 0;

	while (*v != '\0') {
		for (e = p; *e != '\0' && *e != ','; e++)
			;
		for (q = e; q > p && isspace((unsigned char)q[-1]); q--)
			;
		while (p < q && isspace((unsigned char)*p))
			p++;
		if (p == q) {
			list_free(items, n);
			*why = "has an empty item";
			return -1;
		}
		if ((t = realloc(items, (n + 1) * sizeof(*t))) == NULL) {
			list_free(items, n);
			return SPOOL_ERR_NOMEM;
		}
		items = t;
		if ((items[n] = strndup(p, (size_t)(q - p))) == NULL) {
			list_free(items, n);
			return SPOOL_ERR_NOMEM;
		}
		n++;
		if (*e == '\0')
			break;
		p = e + 1;
	}
	*out = items;
	*nout = n;
	return SPOOL_OK;
}

/* 3600 -> "1h", 65536 bytes -> "64K", 0 -> "0" */
static void
fmt_num(int type, uint64_t v, char *buf, size_t len)
{
	static const struct {
		int type;
		uint64_t mul;
		char unit;
	} u[] = {
		{ T_DUR, 86400, 'd' }, { T_DUR, 3600, 'h' }, { T_DUR, 60, 'm' },
		{ T_DUR, 1, 's' }, { T_SIZE, KB * KB * KB, 'G' },
		{ T_SIZE, KB * KB, 'M' }, { T_SIZE, KB, 'K' },
	};
	size_t i;

	for (i = 0; v != 0 && i < sizeof(u) / sizeof(u[0]); i++)
		if (u[i].type == type && v % u[i].mul == 0) {
			snprintf(buf, len, "%llu%c",
			    (unsigned long long)(v / u[i].mul), u[i].unit);
			return;
		}
	snprintf(buf, len, "%llu", (unsigned long long)v);
}

static const char *
out_of_range(const struct key *k, char *tmp, size_t len)
{
	char lo[32], hi[32];

	if (k->type == T_INT)
		snprintf(lo, sizeof(lo), "%lld", k->min);
	else
		fmt_num(k->type, (uint64_t)k->min, lo, sizeof(lo));
	fmt_num(k->type, k->max, hi, sizeof(hi));
	if (k->max == UINT64_MAX)
		snprintf(tmp, len, "is out of range (at least %s)", lo);
	else
		snprintf(tmp, len, "is out of range (%s..%s)", lo, hi);
	return tmp;
}

/*
 * Parse v into the field of base that k describes.  Returns SPOOL_OK,
 * SPOOL_ERR_NOMEM, or -1 with *why the reason ("is not a node name"),
 * perhaps written into tmp.  On failure the field keeps its value.
 */
static int
value_set(const struct key *k, void *base, const char *v, const char *dir,
    const char **why, char *tmp, size_t tmplen)
{
	char *p = (char *)base + k->off, *s, **items;
	uint64_t u = 0;
	long long iv;
	size_t n, j;
	int r, neg;

	*why = NULL;
	if (*v == '\0' && k->type != T_LIST)
		*why = "is empty";
	else if ((k->type == T_NAME || k->type == T_NODE) &&
	    !spool_node_name_ok(v))
		*why = "is not a node name ([a-z0-9]{1,32})";
	for (j = 0; *why == NULL && k->choices != NULL && k->choices[j]; j++)
		if (strcmp(v, k->choices[j]) == 0)
			break;
	if (*why == NULL && k->choices != NULL && k->choices[j] == NULL) {
		for (n = 0, j = 0; k->choices[j] != NULL && n < tmplen; j++)
			n += (size_t)snprintf(tmp + n, tmplen - n, "%s%s",
			    j ? ", " : "is not one of ", k->choices[j]);
		*why = tmp;
	}
	if (*why != NULL)
		return -1;
	switch (k->type) {
	case T_NAME:
		memcpy(p, v, strlen(v) + 1);
		return SPOOL_OK;
	case T_ENUM:
		*(int *)p = (int)j;
		return SPOOL_OK;
	case T_LIST:
		if ((r = list_parse(v, &items, &n, why)) != SPOOL_OK)
			return r;
		value_free(k, base);
		*(char ***)p = items;
		*(size_t *)((char *)base + k->aux) = n;
		return SPOOL_OK;
	case T_SIZE: case T_DUR:
		*why = unit_why(k->type, v, &u);
		break;
	case T_INT: case T_U64:
		neg = *v == '-';
		if ((*why = parse_u64(v + neg, &u, &v)) == NULL && *v != '\0')
			*why = "is not a number";
		if (*why == too_large || (*why == NULL && neg && u != 0 &&
		    k->type == T_U64))
			*why = out_of_range(k, tmp, tmplen);
		if (*why == NULL && k->type == T_INT) {
			iv = neg ? -(long long)u : (long long)u;
			if (u > INT32_MAX || iv < k->min || iv > (long long)k->max)
				*why = out_of_range(k, tmp, tmplen);
			else
				*(int *)p = (int)iv;
			return *why != NULL ? -1 : SPOOL_OK;
		}
		break;
	default: /* T_STR, T_PATH, T_NODE, T_WORD */
		s = k->type == T_PATH ? path_join(dir, v) : strdup(v);
		if (s == NULL)
			return SPOOL_ERR_NOMEM;
		value_free(k, base);
		*(char **)p = s;
		return SPOOL_OK;
	}
	if (*why != NULL)
		return -1;
	if (u < (unsigned long long)k->min || u > k->max) {
		*why = out_of_range(k, tmp, tmplen);
		return -1;
	}
	*(uint64_t *)p = u;
	return SPOOL_OK;
}

/* Apply the defaults of one section (a broken default is a bug: abort). */
static int
defaults(int sect, void *base)
{
	const char *why;
	char tmp[128];
	size_t i;
	int r;

	for (i = 0; i < NKEYS; i++) {
		if (keys[i].sect != sect || keys[i].def == NULL)
			continue;
		r = value_set(&keys[i], base, keys[i].def, "/", &why, tmp,
		    sizeof(tmp));
		if (r == SPOOL_ERR_NOMEM)
			return r;
		if (r != SPOOL_OK)
			abort();
	}
	return SPOOL_OK;
}

/* ---- problems --------------------------------------------------------- */

void
spool_diag_release(struct spool_diag *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++)
		free(d->lines[i]);
	free(d->lines);
	d->lines = NULL;
	d->n = 0;
}

int
spool_diag_add(struct spool_diag *d, const char *line)
{
	char **v;

	if (d == NULL)
		return 0;
	if ((v = realloc(d->lines, (d->n + 1) * sizeof(*v))) == NULL)
		return -1;
	d->lines = v;
	if ((v[d->n] = strdup(line)) == NULL)
		return -1;
	d->n++;
	return 0;
}

static void
diag_push(struct ctx *x, const char *s)
{
	char **v;

	if (x->diag == NULL)
		return;
	if ((v = realloc(x->diag->lines, (x->diag->n + 1) * sizeof(*v))) ==
	    NULL) {
		x->nomem = 1;
		return;
	}
	x->diag->lines = v;
	if ((v[x->diag->n] = strdup(s)) == NULL)
		x->nomem = 1;
	else
		x->diag->n++;
}

/* "NAME:LINE: LABEL key 'KEY': why"; line 0, label or key may be absent */
__attribute__((format(printf, 5, 6))) static void
problem(struct ctx *x, int line, const char *label, const char *key,
    const char *fmt, ...)
{
	char buf[SPOOL_ERR_MSG_MAX], at[16] = "";
	size_t n;
	va_list ap;

	if (line > 0)
		snprintf(at, sizeof(at), ":%d", line);
	n = (size_t)snprintf(buf, sizeof(buf), "%s%s: %s%s%s%.64s%s", x->name,
	    at, label ? label : "", label ? (key ? " " : ": ") : "",
	    key ? "key '" : "", key ? key : "", key ? "': " : "");
	if (n < sizeof(buf)) {
		va_start(ap, fmt);
		vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
		va_end(ap);
	}
	if (x->nprob++ == 0)
		memcpy(x->first, buf, sizeof(buf));
	if (x->nprob <= SPOOL_DIAG_MAX)
		diag_push(x, buf);
	else if (x->nprob == SPOOL_DIAG_MAX + 1) {
		snprintf(buf, sizeof(buf), "%s: too many problems, listing "
		    "stopped after %d", x->name, SPOOL_DIAG_MAX);
		diag_push(x, buf);
	}
}

/* ---- sections --------------------------------------------------------- */

static void
end_section(struct ctx *x)
{
	size_t i;

	if (x->sect == S_NONE || x->sect == S_SKIP)
		return;
	for (i = 0; i < NKEYS; i++)
		if (keys[i].sect == x->sect && keys[i].required &&
		    x->seen[i] == 0)
			problem(x, x->sect_line, x->label, keys[i].name,
			    "required key is missing");
}

/* Append a named section with its defaults. */
static int
named_add(struct ctx *x, int sect, const char *name)
{
	size_t n = CNT(x->c, sect), size = named[sect].size;
	char *v, *p;
	int *l;

	if ((l = realloc(x->named_line[sect], (n + 1) * sizeof(*l))) == NULL)
		return SPOOL_ERR_NOMEM;
	x->named_line[sect] = l;
	l[n] = x->line;
	if ((v = realloc(ARR(x->c, sect), (n + 1) * size)) == NULL)
		return SPOOL_ERR_NOMEM;
	ARR(x->c, sect) = v;
	p = memset(v + n * size, 0, size);
	if (sect == S_PEER)
		memcpy(p + named[sect].name, name, strlen(name) + 1);
	else if ((*(char **)(p + named[sect].name) = strdup(name)) == NULL)
		return SPOOL_ERR_NOMEM;
	CNT(x->c, sect) = n + 1;
	x->idx = n;
	if (sect == S_POOL) {
		struct spool_conf_pool *w = (struct spool_conf_pool *)p;

		w->count = w->memory_limit = w->task_timeout = w->retries =
		    w->threads = w->cachemax = SPOOL_CONF_UNSET;
	}
	return defaults(sect, p);
}

/* A "[kind NAME]" line: trimmed, n bytes, starts with '['. */
static void
begin_section(struct ctx *x, const char *s, size_t n)
{
	const char *e = memchr(s, ']', n), *rest;
	char in[160], kind[40] = "", name[80] = "", more = '\0';
	size_t i;
	int sect;

	end_section(x);
	memset(x->seen, 0, sizeof(x->seen));
	x->sect = S_SKIP;
	x->sect_line = x->line;
	if (e == NULL) {
		problem(x, x->line, NULL, NULL, "section header lacks ']'");
		return;
	}
	for (rest = e + 1; rest < s + n && isspace((unsigned char)*rest);)
		rest++;
	if (rest < s + n && *rest != ';' && *rest != '#')
		problem(x, x->line, NULL, NULL, "junk after section header");
	if ((size_t)(e - s) > sizeof(in) - 1) {
		problem(x, x->line, NULL, NULL, "section header too long");
		return;
	}
	snprintf(in, sizeof(in), "%.*s", (int)(e - s - 1), s + 1);
	sscanf(in, "%39s %79s %c", kind, name, &more);
	snprintf(x->label, sizeof(x->label), "[%s%s%s]", more ? in : kind,
	    name[0] && !more ? " " : "", more ? "" : name);
	/* [workers.KIND]: a named section whose name follows the dot */
	if (strncmp(kind, "workers.", 8) == 0 && kind[8] != '\0' &&
	    name[0] == '\0') {
		snprintf(name, sizeof(name), "%s", kind + 8);
		kind[8] = '\0';
		for (i = 0; pool_kinds[i] != NULL; i++)
			if (strcmp(pool_kinds[i], name) == 0)
				break;
		if (pool_kinds[i] == NULL) {
			problem(x, x->line, x->label, NULL, "unknown kind of "
			    "worker (selftest, raster, vector or query)");
			return;
		}
	}
	for (sect = S_NODE; sect < S_N; sect++)
		if (strcmp(sect_names[sect], kind) == 0)
			break;
	if (sect == S_N)
		problem(x, x->line, x->label, NULL, "unknown section");
	else if (!NAMED(sect) && name[0] != '\0')
		problem(x, x->line, x->label, NULL,
		    "section [%s] takes no name", kind);
	else if (!NAMED(sect) && x->fixed_line[sect] != 0)
		problem(x, x->line, x->label, NULL, "repeated section "
		    "(first at line %d)", x->fixed_line[sect]);
	else if (!NAMED(sect)) {
		x->fixed_line[sect] = x->line;
		x->sect = sect;
	} else if (name[0] == '\0')
		problem(x, x->line, x->label, NULL,
		    "missing name (use [%s NAME])", kind);
	else if (more != '\0' || (sect == S_PEER ? !spool_node_name_ok(name) :
	    !name_ok(name, 64, "_.-")))
		problem(x, x->line, x->label, NULL, "bad name (use %s)",
		    sect == S_PEER ? "[a-z0-9]{1,32}" :
		    "[a-z0-9][a-z0-9_.-]{0,63}");
	else {
		for (i = 0; i < CNT(x->c, sect); i++)
			if (strcmp(section_name(x->c, sect, i), name) == 0) {
				problem(x, x->line, x->label, NULL, "repeated "
				    "section (first at line %d)",
				    x->named_line[sect][i]);
				return;
			}
		if (i >= NAMED_MAX)
			problem(x, x->line, x->label, NULL, "too many [%s] "
			    "sections (max %d)", kind, NAMED_MAX);
		else if (named_add(x, sect, name) != SPOOL_OK)
			x->nomem = 1;
		else
			x->sect = sect;
	}
}

/* ---- reading ---------------------------------------------------------- */

/*
 * libinih's line reader (fgets-like).  Hands over key lines only, trimmed,
 * so that no line is ever taken as a continuation; others become "".
 */
static char *
feed(char *str, int num, void *stream)
{
	struct ctx *x = stream;
	const char *s = x->text + x->pos, *nl;
	size_t n, i, max = SPOOL_CONF_LINE_MAX;

	if (x->pending != 0) /* libinih found no '=' or ':' in it */
		problem(x, x->pending, NULL, NULL, "expected 'key = value'");
	x->pending = 0;
	if (x->pos >= x->len || x->nomem)
		return NULL;
	nl = memchr(s, '\n', x->len - x->pos);
	n = nl != NULL ? (size_t)(nl - s) : x->len - x->pos;
	x->pos += n + (nl != NULL);
	x->line++;
	str[0] = '\0';
	if (x->line == 1 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
		s += 3;
		n -= 3;
	}
	for (; n > 0 && isspace((unsigned char)*s); n--)
		s++;
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') ||
		    s[i] == 0x7f) {
			problem(x, x->line, NULL, NULL,
			    "control character 0x%02x in line", s[i]);
			return str;
		}
	if (num < 3)
		abort(); /* libinih's buffer is 200 bytes */
	if ((size_t)num - 2 < max)
		max = (size_t)num - 2;
	if (n == 0 || *s == ';' || *s == '#')
		;
	else if (*s == '[')
		begin_section(x, s, n);
	else if (n > max)
		problem(x, x->line, NULL, NULL,
		    "line too long (%zu bytes, max %zu)", n, max);
	else {
		memcpy(str, s, n);
		str[n] = '\0';
		x->pending = x->line;
	}
	return str;
}

static int
on_kv(void *user, const char *section, const char *name, const char *value)
{
	struct ctx *x = user;
	const char *why;
	char tmp[128];
	size_t i;
	int r;

	(void)section; /* cut at 49 bytes by libinih; x->sect is exact */
	x->pending = 0;
	if (x->sect == S_SKIP)
		return 1;
	if (x->sect == S_NONE) {
		problem(x, x->line, NULL, name, "not in any section");
		return 1;
	}
	for (i = 0; i < NKEYS; i++)
		if (keys[i].sect == x->sect && strcmp(keys[i].name, name) == 0)
			break;
	if (i == NKEYS) {
		problem(x, x->line, x->label, name, "unknown key");
		return 1;
	}
	if (x->seen[i] != 0) {
		problem(x, x->line, x->label, name,
		    "repeated key (first at line %d)", x->seen[i]);
		return 1;
	}
	x->seen[i] = x->line;
	r = value_set(&keys[i], section_base(x->c, x->sect, x->idx), value,
	    x->dir, &why, tmp, sizeof(tmp));
	if (r == SPOOL_ERR_NOMEM)
		x->nomem = 1;
	else if (r != SPOOL_OK && *value == '\0')
		problem(x, x->line, x->label, name, "empty value");
	else if (r != SPOOL_OK)
		problem(x, x->line, x->label, name, "'%.64s' %s", value, why);
	return 1;
}

/* A peer configured receive-only is never written to: no hot folder may
 * send to it. */
static void
check_directions(struct ctx *x)
{
	const struct spool_config *c = x->c;
	const struct spool_conf_peer *p;
	size_t i;

	if ((p = spool_config_peer(c, c->peer)) != NULL &&
	    p->direction == SPOOL_DIR_RECEIVE_ONLY)
		problem(x, x->fixed_line[S_NODE], "[node]", "peer", "'%s' is "
		    "receive-only ([peer %s] direction): this node never "
		    "sends to it", p->name, p->name);
	for (i = 0; i < c->nfolders; i++) {
		const char *to = c->folders[i].peer;

		if (to == NULL || (p = spool_config_peer(c, to)) == NULL ||
		    p->direction != SPOOL_DIR_RECEIVE_ONLY)
			continue;
		problem(x, x->named_line[S_FOLDER] ? x->named_line[S_FOLDER][i] :
		    0, NULL, NULL, "[folder %s] peer '%s' is receive-only "
		    "([peer %s] direction): this node never sends to it",
		    c->folders[i].name, to, to);
	}
}

void
spool_config_free(struct spool_config *c)
{
	size_t i, j;

	if (c == NULL)
		return;
	for (j = 0; j < NKEYS; j++)
		for (i = 0; i < (NAMED(keys[j].sect) ? CNT(c, keys[j].sect) :
		    1); i++)
			value_free(&keys[j], section_base(c, keys[j].sect, i));
	for (i = 0; i < c->nfolders; i++)
		free(c->folders[i].name);
	for (i = 0; i < c->nsources; i++)
		free(c->sources[i].name);
	for (i = 0; i < c->npools; i++)
		free(c->pools[i].name);
	free(c->peers);
	free(c->folders);
	free(c->sources);
	free(c->pools);
	free(c->path);
	free(c->dir);
	free(c);
}

static int
parse(struct spool_config **out, const char *name, const char *path,
    const char *dir, const char *text, size_t len, struct spool_diag *diag,
    spool_err *err)
{
	struct ctx x;
	struct spool_config *c;
	char *db = NULL;
	int r, s;

	if (len > SPOOL_CONF_MAX)
		return spool_fail(err, SPOOL_ERR_LIMIT, "%s: too large (%zu "
		    "bytes, max %d)", name, len, SPOOL_CONF_MAX);
	memset(&x, 0, sizeof(x));
	x.diag = diag;
	x.name = name;
	x.dir = dir;
	x.text = text;
	x.len = len;
	if ((c = x.c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = strdup(path)) == NULL || (c->dir = strdup(dir)) == NULL)
		x.nomem = 1;
	for (s = S_NODE; s < S_PEER && !x.nomem; s++)
		x.nomem = defaults(s, c) != SPOOL_OK;
	r = x.nomem ? 0 : ini_parse_stream(feed, &x, on_kv, &x);
	end_section(&x);
	if (r == -2)
		x.nomem = 1;
	else if (r != 0 && x.nprob == 0)
		problem(&x, r, NULL, NULL, "syntax error");
	if (!x.nomem && x.fixed_line[S_NODE] == 0)
		problem(&x, 0, "[node]", "name", "required key is missing "
		    "(no [node] section)");
	if (!x.nomem && c->root == NULL && (c->root = strdup(dir)) == NULL)
		x.nomem = 1;
	if (!x.nomem && c->store_url == NULL &&
	    ((db = path_join(c->root, "lineage.db")) == NULL ||
	    asprintf(&c->store_url, "sqlite://%s", db) < 0)) {
		c->store_url = NULL;
		x.nomem = 1;
	}
	free(db);
	if (!x.nomem)
		check_directions(&x);
	for (s = 0; s < S_N; s++)
		free(x.named_line[s]);
	if (x.nomem || x.nprob > 0) {
		spool_config_free(c);
		if (x.nomem)
			return spool_fail(err, SPOOL_ERR_NOMEM,
			    "%s: out of memory", name);
		return spool_fail(err, SPOOL_ERR_CONFIG, "%s", x.first);
	}
	*out = c;
	return SPOOL_OK;
}

int
spool_config_parse(struct spool_config **out, const char *name,
    const char *dir, const char *text, size_t len, struct spool_diag *diag,
    spool_err *err)
{
	if (out == NULL || name == NULL || dir == NULL || dir[0] != '/' ||
	    (text == NULL && len > 0))
		return spool_fail(err, SPOOL_ERR_USAGE,
		    "spool_config_parse: bad argument");
	return parse(out, name, name, dir, text != NULL ? text : "", len,
	    diag, err);
}

int
spool_config_load(struct spool_config **out, const char *path,
    struct spool_diag *diag, spool_err *err)
{
	char *buf = NULL, *abs = NULL, *cwd = NULL, *dir = NULL, *slash;
	size_t n = 0;
	FILE *f;
	int r;

	if (out == NULL || path == NULL || *path == '\0')
		return spool_fail(err, SPOOL_ERR_USAGE,
		    "spool_config_load: bad argument");
	if ((f = fopen(path, "re")) == NULL)
		return spool_fail_sys(err, "cannot open '%s'", path);
	if ((buf = malloc(SPOOL_CONF_MAX + 1)) != NULL)
		n = fread(buf, 1, SPOOL_CONF_MAX + 1, f);
	if (buf == NULL || ferror(f)) {
		r = spool_fail_sys(err, "cannot read '%s'", path);
		goto out;
	}
	if ((path[0] != '/' && (cwd = getcwd(NULL, 0)) == NULL) ||
	    (abs = path_join(cwd != NULL ? cwd : "/", path)) == NULL ||
	    (dir = strdup(abs)) == NULL) {
		r = spool_fail_sys(err, "cannot resolve '%s'", path);
		goto out;
	}
	slash = strrchr(dir, '/');
	slash[slash == dir] = '\0'; /* "/a/b" -> "/a", "/b" -> "/" */
	r = parse(out, path, abs, dir, buf, n, diag, err);
out:
	fclose(f);
	free(buf);
	free(abs);
	free(dir);
	free(cwd);
	return r;
}

/* ---- writing ---------------------------------------------------------- */

/* Will libinih give v back unchanged from a "key = v" line?  (A ';' after
 * whitespace, the one after '=' too, starts a comment.) */
static int
writable(const char *key, const char *v)
{
	size_t i, n = strlen(v);

	if (strlen(key) + 3 + n > SPOOL_CONF_LINE_MAX || (n > 0 &&
	    (isspace((unsigned char)v[0]) || isspace((unsigned char)v[n - 1]))))
		return 0;
	for (i = 0; i < n; i++)
		if (((unsigned char)v[i] < 0x20 && v[i] != '\t') ||
		    v[i] == 0x7f || (v[i] == ';' && (i == 0 ||
		    isspace((unsigned char)v[i - 1]))))
			return 0;
	return 1;
}

/* One section's keys, every one; SPOOL_ERR_LIMIT if one is unwritable. */
static int
print_section(FILE *f, const struct spool_config *c, int sect, size_t idx)
{
	const char *base = section_base(c, sect, idx), *p, *v;
	char num[32], *joined, *const *items;
	size_t i, j, n, len;
	int r = SPOOL_OK;

	fprintf(f, "\n[%s%s%s]\n", sect_names[sect], NAMED(sect) &&
	    sect != S_POOL ? " " : "", NAMED(sect) ? section_name(c, sect, idx) :
	    "");
	for (i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];

		if (k->sect != sect)
			continue;
		p = base + k->off;
		joined = NULL;
		v = num;
		if (k->type == T_NAME)
			v = p;
		else if (k->type == T_ENUM)
			v = k->choices[*(const int *)p];
		else if (k->type == T_INT)
			snprintf(num, sizeof(num), "%d", *(const int *)p);
		else if (k->type >= T_U64 && k->def == NULL &&
		    (*(const uint64_t *)p == SPOOL_CONF_UNSET ||
		    (*(const uint64_t *)p == 0 && k->min >= 1)))
			v = NULL; /* not set: falls back, or the default */
		else if (k->type >= T_U64)
			fmt_num(k->type, *(const uint64_t *)p, num, sizeof(num));
		else if (k->type != T_LIST)
			v = *(char *const *)p;
		else {
			items = *(char *const *const *)p;
			n = *(const size_t *)(base + k->aux);
			for (j = 0, len = 1; j < n; j++)
				len += strlen(items[j]) + 1;
			if ((v = joined = malloc(len)) == NULL)
				return SPOOL_ERR_NOMEM;
			joined[0] = '\0';
			for (j = 0, len = 0; j < n; j++)
				len += (size_t)sprintf(joined + len, "%s%s",
				    j > 0 ? "," : "", items[j]);
		}
		if (v == NULL) {
			fprintf(f, "# %s is not set\n", k->name);
			continue;
		}
		if (!writable(k->name, v))
			r = SPOOL_ERR_LIMIT;
		fprintf(f, "%s = %s\n", k->name, v);
		free(joined);
	}
	return r;
}

int
spool_config_print(const struct spool_config *c, FILE *f)
{
	size_t i;
	int s, r, bad = SPOOL_OK;

	if (c == NULL || f == NULL)
		return SPOOL_ERR_USAGE;
	fprintf(f, "# effective configuration: every key, defaults included\n");
	for (s = S_NODE; s < S_N; s++)
		for (i = 0; i < (NAMED(s) ? CNT(c, s) : 1); i++)
			if ((r = print_section(f, c, s, i)) != SPOOL_OK &&
			    bad != SPOOL_ERR_NOMEM)
				bad = r;
	if (fflush(f) != 0 || ferror(f))
		return SPOOL_ERR_SYS;
	return bad;
}

int
spool_config_write_new(FILE *f, const char *name, const char *peer)
{
	if (f == NULL || !spool_node_name_ok(name) ||
	    (peer != NULL && !spool_node_name_ok(peer)))
		return SPOOL_ERR_USAGE;
	fprintf(f,
"# spoold.conf - configuration of spool node '%s'\n"
"#\n"
"# Lines starting with '#' or ';' are comments; a commented-out key shows\n"
"# its default.  Durations take s m h d (30s, 5m, 2h, 7d), sizes K M G\n"
"# (64K, 512M, 1G).  Relative paths start from this file's directory.\n"
"# 'spoolctl config check' lists every problem, 'spoold -T' every key.\n"
"\n[node]\nname = %s\n"
"# default destination of the hot folders\n"
"%speer = %s\n"
"# spool directory (in/, out/, archive/, ...); default: this directory\n"
"#root = .\n"
"# the group that may read every user's results (else only their user)\n"
"#operators = spoolops\n"
"# status/<id>.json names the request's user and file (readable by all)\n"
"#status_names = no\n"
"\n[store]\n"
"# lineage store; default: sqlite://<root>/lineage.db\n"
"#url = postgresql://spool@dbhost/spool\n"
"\n[batch]\n"
"# a batch closes at whichever limit it reaches first\n"
"#max_bytes = 1G\n#max_items = 10000\n#max_age = 5m\n#zstd_level = 3\n"
"# an empty batch goes out this often when nothing else does; 0 = off\n"
"#heartbeat = 10m\n"
"\n[intake]\n"
"# for writers that close and reopen: wait this long after the last close\n"
"#settle = 0\n"
"# a larger file is refused; 0 = as large as the disk has room for\n"
"#max_file_size = 0\n"
"\n[workers]\n"
"#count = 2\n#memory_limit = 1G\n#task_timeout = 1h\n#retries = 3\n"
"\n[retention]\n"
"# how long archived batches, results, status records, finished jobs and\n"
"# the ledger of seen batches (replay protection) are kept\n"
"#archive = 30d\n#results = 30d\n#status = 30d\n#jobs = 30d\n#seen = 90d\n"
"\n[log]\n"
"# the least severe lines logged: err, warning, notice, info or debug\n"
"#level = info\n",
	    name, name, peer != NULL ? "" : "#", peer != NULL ? peer : "NAME");
	if (peer != NULL)
		fprintf(f, "\n[peer %s]\n"
"# two-way, send-only (never accepted from) or receive-only (never\n"
"# written to); its key is keys/trusted/%s.pub\n"
"direction = two-way\n", peer, peer);
	fprintf(f,
"\n# Hot folders: a file dropped into in/NAME/ goes to the folder's peer\n"
"# (default: [node] peer).  Keys: type, peer, priority (-1000..1000, 0),\n"
"# expires (0 = never).\n"
"[folder requests]\ntype = request\n"
"\n[folder files]\ntype = transfer\n"
"\n[folder raster]\ntype = raster\n"
"\n[folder vector]\ntype = vector\n"
"\n# A data source that query requests may read:\n"
"#[query.source gis]\n#url = PG:dbname=gis\n#layers = roads, rivers\n"
"#max_rows = 1000\n#timeout = 30s\n");
	if (fflush(f) != 0 || ferror(f))
		return SPOOL_ERR_SYS;
	return SPOOL_OK;
}

const struct spool_conf_peer *
spool_config_peer(const struct spool_config *c, const char *name)
{
	size_t i;

	for (i = 0; c != NULL && name != NULL && i < c->npeers; i++)
		if (strcmp(c->peers[i].name, name) == 0)
			return &c->peers[i];
	return NULL;
}

const struct spool_conf_folder *
spool_config_folder(const struct spool_config *c, const char *name)
{
	size_t i;

	for (i = 0; c != NULL && name != NULL && i < c->nfolders; i++)
		if (strcmp(c->folders[i].name, name) == 0)
			return &c->folders[i];
	return NULL;
}

void
spool_config_pool(const struct spool_config *c, const char *kind,
    struct spool_conf_pool *out)
{
	const struct spool_conf_pool *w = NULL;
	size_t i;

	for (i = 0; i < c->npools; i++)
		if (strcmp(c->pools[i].name, kind) == 0)
			w = &c->pools[i];
	memset(out, 0, sizeof(*out));
	out->name = (char *)kind;
#define PICK(f, d) out->f = w != NULL && w->f != SPOOL_CONF_UNSET ? w->f : (d)
	PICK(count, c->workers);
	PICK(memory_limit, c->memory_limit);
	PICK(task_timeout, c->task_timeout);
	PICK(retries, c->retries);
	PICK(threads, c->threads);
	PICK(cachemax, c->cachemax);
#undef PICK
}

const struct spool_conf_source *
spool_config_source(const struct spool_config *c, const char *name)
{
	size_t i;

	for (i = 0; c != NULL && name != NULL && i < c->nsources; i++)
		if (strcmp(c->sources[i].name, name) == 0)
			return &c->sources[i];
	return NULL;
}
