/*
 * pg.c - the PostGIS stages of a vector job: create, load, finish
 * (docs/DECISIONS.md, "Vector").
 *
 * Every layer is loaded into a staging table <schema>.spool_stage_<hash
 * of request and table>, one fid range (chunk) per task.  A chunk commits
 * its rows and its row in <schema>.spool_load in one transaction, and
 * claims that row first (INSERT ... ON CONFLICT DO NOTHING), so a chunk
 * rerun after a crash, or run twice at once, loads once.  "finish" builds
 * the GiST index and the primary key on the staging table, ANALYZEs it,
 * then in one transaction either drops the old table and renames the
 * staging table into its place (replace) or inserts the staging rows into
 * the target (append): readers see the old table or the new one.
 *
 * Long-lived workers keep one connection per URL across tasks.  The load
 * reads the GeoPackage with SQLite directly (the GPKG geometry blob is
 * WKB behind a header, which becomes EWKB with the SRID): no OGR feature
 * objects on the hot path.
 *
 * Over 800 lines and kept whole: the three PostGIS stages share the staging
 * table's naming, the load ledger and the connection cache; split, each
 * would need the others' internals.
 */
#include <ctype.h>
#include <libpq-fe.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vector.h"

#define COPY_FLUSH (256 * 1024)

/* ---- names ---- */

int
vec_valid_ident(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (!(islower((unsigned char)s[n]) || isdigit((unsigned char)s[n]) ||
		    s[n] == '_'))
			return 0;
	return n >= 1 && n <= 63;
}

static void
launder(char *buf, size_t n, const char *s)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < n && i < 63; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[i] = isalnum(c) && c < 128 ? (char)tolower(c) : '_';
	}
	buf[i] = '\0';
	if (i == 0)
		snprintf(buf, n, "layer");
}

void
vec_table_name(char *buf, size_t n, const char *stem, const char *layer,
    int several)
{
	char s[300], l[300], both[600];

	launder(s, sizeof(s), stem);
	launder(l, sizeof(l), layer);
	if (!several)
		snprintf(buf, n, "%s", s);
	else if (strncmp(l, s, strlen(s)) == 0)
		snprintf(buf, n, "%s", l);
	else {
		snprintf(both, sizeof(both), "%s_%s", s, l);
		snprintf(buf, n, "%.63s", both);
	}
}

static void
staging_name(char *buf, size_t n, const char *request, const char *schema,
    const char *table)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *parts[3] = { request, schema, table };
	int i;

	for (i = 0; i < 3; i++) {
		const char *p;

		for (p = parts[i]; *p; p++) {
			h ^= (unsigned char)*p;
			h *= 0x100000001b3ULL;
		}
		h ^= '/';
		h *= 0x100000001b3ULL;
	}
	snprintf(buf, n, "spool_stage_%016llx", (unsigned long long)h);
}

/* ---- connections ---- */

struct pgc {
	char *url;
	PGconn *c;
};
static struct pgc conns[4];

/* A new connection to url, set up as every one of ours is. */
static PGconn *
pg_connect(const char *url, char **err)
{
	const char *keys[] = { "dbname", "application_name",
	    "client_encoding", "connect_timeout", NULL };
	const char *vals[] = { url, "spool-vector", "UTF8", "10", NULL };
	PGconn *c = PQconnectdbParams(keys, vals, 1);

	if (PQstatus(c) != CONNECTION_OK) {
		*err = strdup(PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	PQclear(PQexec(c, "SET client_min_messages = warning; "
	    "SET timezone = 'UTC'"));
	return c;
}

static PGconn *
pg_get(const char *url, char **err)
{
	struct pgc *slot = NULL;
	PGconn *c;
	int i;

	for (i = 0; i < 4; i++)
		if (conns[i].url != NULL && strcmp(conns[i].url, url) == 0) {
			slot = &conns[i];
			if (PQstatus(slot->c) == CONNECTION_OK &&
			    PQtransactionStatus(slot->c) == PQTRANS_IDLE)
				return slot->c;
			PQfinish(slot->c);
			slot->c = NULL;
			break;
		}
	if (slot == NULL) {
		for (i = 0; i < 4 && conns[i].url != NULL; i++)
			;
		if (i == 4) {
			PQfinish(conns[3].c);
			free(conns[3].url);
			conns[3].url = NULL;
			i = 3;
		}
		slot = &conns[i];
	}
	if ((c = pg_connect(url, err)) == NULL) {
		free(slot->url);
		slot->url = NULL;
		slot->c = NULL;
		return NULL;
	}
	if (slot->url == NULL)
		slot->url = strdup(url);
	slot->c = c;
	return c;
}

/* Fail the task with PostgreSQL's message; transient unless the error is
 * about the data or the statement (classes 22, 23, 42). */
static int
pg_fail(struct spool_worker_task *t, PGconn *c, PGresult *r,
    const char *what)
{
	const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *m = r && PQresultErrorMessage(r)[0] ?
	    PQresultErrorMessage(r) : PQerrorMessage(c);
	int perm = st != NULL && (strncmp(st, "22", 2) == 0 ||
	    strncmp(st, "23", 2) == 0 || strncmp(st, "42", 2) == 0);
	char buf[1024];
	char *p;

	snprintf(buf, sizeof(buf), "%s", m);
	for (p = buf + strlen(buf); p > buf && (p[-1] == '\n' || p[-1] == ' ');
	    p--)
		p[-1] = '\0';
	if (r != NULL)
		PQclear(r);
	if (PQtransactionStatus(c) != PQTRANS_IDLE &&
	    PQstatus(c) == CONNECTION_OK)
		PQclear(PQexec(c, "ROLLBACK"));
	return spool_worker_fail(t, perm, "PostgreSQL: %s: %s", what, buf);
}

/* Run sql (params $1..); the result on success (caller clears), NULL on
 * failure with the task failed. */
static PGresult *
q(struct spool_worker_task *t, PGconn *c, const char *what, const char *sql,
    int n, const char *const *vals)
{
	PGresult *r = n > 0 ? PQexecParams(c, sql, n, NULL, vals, NULL, NULL,
	    0) : PQexec(c, sql);
	ExecStatusType s = PQresultStatus(r);

	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
		return r;
	pg_fail(t, c, r, what);
	return NULL;
}

static int
qx(struct spool_worker_task *t, PGconn *c, const char *what, const char *sql,
    int n, const char *const *vals)
{
	PGresult *r = q(t, c, what, sql, n, vals);

	if (r == NULL)
		return -1;
	PQclear(r);
	return 0;
}

static const char *
url_of(struct spool_worker_task *t)
{
	const char *u = json_string_value(json_object_get(t->config,
	    "postgis"));

	return u != NULL && *u ? u : NULL;
}

static const char *
request_of(struct spool_worker_task *t)
{
	const char *r = json_string_value(json_object_get(t->task, "request"));

	return r ? r : json_string_value(json_object_get(t->task, "job"));
}

/* A bounded string builder for SQL. */
struct sb {
	char *s;
	size_t n, cap;
	int bad;
};

static void
sb_add(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sb_add(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	for (;;) {
		va_start(ap, fmt);
		k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0,
		    fmt, ap);
		va_end(ap);
		if (k < 0) {
			b->bad = 1;
			return;
		}
		if (b->s != NULL && b->n + (size_t)k < b->cap) {
			b->n += (size_t)k;
			return;
		}
		size_t cap = (b->cap ? b->cap * 2 : 1024) + (size_t)k;
		char *ns = realloc(b->s, cap);

		if (ns == NULL || cap > (64u << 20)) {
			b->bad = 1;
			return;
		}
		b->s = ns;
		b->cap = cap;
	}
}

/* ---- create ---- */

static const char *
pg_type(OGRFieldDefnH f)
{
	OGRFieldSubType st = OGR_Fld_GetSubType(f);

	switch (OGR_Fld_GetType(f)) {
	case OFTInteger:
		return st == OFSTBoolean ? "boolean" : st == OFSTInt16 ?
		    "smallint" : "integer";
	case OFTInteger64: return "bigint";
	case OFTReal: return st == OFSTFloat32 ? "real" : "double precision";
	case OFTDate: return "date";
	case OFTTime: return "time";
	case OFTDateTime: return "timestamptz";
	case OFTBinary: return "bytea";
	case OFTString: return st == OFSTJSON ? "jsonb" : "text";
	default: return "text"; /* lists: as the GeoPackage stores them */
	}
}

static json_t *
layer_columns(OGRLayerH l)
{
	OGRFeatureDefnH d = OGR_L_GetLayerDefn(l);
	json_t *cols = json_array(), *seen = json_object();
	int i;

	json_object_set_new(seen, "fid", json_true());
	json_object_set_new(seen, "geom", json_true());
	for (i = 0; i < OGR_FD_GetFieldCount(d); i++) {
		OGRFieldDefnH f = OGR_FD_GetFieldDefn(d, i);
		char dst[80], base[64];
		int k;

		launder(base, sizeof(base), OGR_Fld_GetNameRef(f));
		snprintf(dst, sizeof(dst), "%s", base);
		for (k = 2; json_object_get(seen, dst) != NULL; k++)
			snprintf(dst, sizeof(dst), "%.58s_%d", base, k);
		json_object_set_new(seen, dst, json_true());
		json_array_append_new(cols, json_pack("{s:s, s:s, s:s}", "src",
		    OGR_Fld_GetNameRef(f), "dst", dst, "type", pg_type(f)));
	}
	json_decref(seen);
	return cols;
}

static void
pg_geom_type(const char *gt, char *buf, size_t n)
{
	/* "MultiPolygon" -> "MultiPolygon"; "Geometry" stays */
	snprintf(buf, n, "%s", gt && *gt ? gt : "Geometry");
}

/* Check an existing append target: same geometry type and SRID, and
 * every column this layer has. */
static int
check_target(struct spool_worker_task *t, PGconn *c, const char *schema,
    const char *table, const char *gtype, int srid, const json_t *cols,
    int *exists)
{
	const char *v[2] = { schema, table };
	PGresult *r;
	size_t i;
	json_t *col;
	char up[64], *p;

	*exists = 0;
	r = q(t, c, "looking up the target", "SELECT upper(type), srid FROM "
	    "geometry_columns WHERE f_table_schema = $1 AND f_table_name = $2 "
	    "AND f_geometry_column = 'geom'", 2, v);
	if (r == NULL)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return 0;
	}
	*exists = 1;
	snprintf(up, sizeof(up), "%s", gtype);
	for (p = up; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	if (strcmp(PQgetvalue(r, 0, 0), up) != 0 ||
	    atoi(PQgetvalue(r, 0, 1)) != srid) {
		spool_worker_fail(t, 1, "cannot append to %s.%s: it holds %s "
		    "with SRID %s, this layer is %s with SRID %d", schema, table,
		    PQgetvalue(r, 0, 0), PQgetvalue(r, 0, 1), up, srid);
		PQclear(r);
		return -1;
	}
	PQclear(r);
	r = q(t, c, "looking up the target's columns", "SELECT column_name "
	    "FROM information_schema.columns WHERE table_schema = $1 AND "
	    "table_name = $2", 2, v);
	if (r == NULL)
		return -1;
	json_array_foreach(cols, i, col) {
		const char *d = json_string_value(json_object_get(col, "dst"));
		int k, found = 0;

		for (k = 0; k < PQntuples(r) && !found; k++)
			found = strcmp(PQgetvalue(r, k, 0), d) == 0;
		if (!found) {
			spool_worker_fail(t, 1, "cannot append to %s.%s: it has "
			    "no column '%s'", schema, table, d);
			PQclear(r);
			return -1;
		}
	}
	PQclear(r);
	return 0;
}

int
vec_pg_create(struct spool_worker_task *t)
{
	const json_t *plan = t->plan, *lo;
	const char *url = url_of(t), *request = request_of(t);
	const char *schema, *gpkg, *method;
	char path[4096], *err = NULL;
	GDALDatasetH ds = NULL;
	json_t *next = NULL, *layers = NULL, *state = NULL;
	json_int_t chunk;
	PGconn *c;
	size_t i;
	int srid, r = -1, nchunks = 0;
	struct sb sql = { 0 };

	if (plan == NULL)
		return spool_worker_fail(t, 1, "create: the task has no plan");
	if (url == NULL)
		return spool_worker_fail(t, 1, "create: this node has no "
		    "[vector] postgis");
	schema = json_string_value(json_object_get(plan, "target_schema"));
	gpkg = json_string_value(json_object_get(plan, "gpkg"));
	method = json_string_value(json_object_get(plan, "load_method"));
	chunk = json_integer_value(json_object_get(plan, "chunk_features"));
	srid = (int)json_integer_value(json_object_get(plan, "srid"));
	if (schema == NULL || !vec_valid_ident(schema) || gpkg == NULL ||
	    method == NULL || chunk <= 0 || srid <= 0 || request == NULL)
		return spool_worker_fail(t, 1, "create: the plan is incomplete");
	if (spool_worker_input(t, gpkg, path, sizeof(path)) == NULL)
		return spool_worker_fail(t, 1, "create: no input '%s'", gpkg);
	{
		const char *drv[] = { "GPKG", NULL };

		ds = GDALOpenEx(path, GDAL_OF_VECTOR | GDAL_OF_READONLY, drv,
		    NULL, NULL);
	}
	if (ds == NULL)
		return spool_worker_fail(t, 1, "create: cannot open '%s'", gpkg);
	if ((c = pg_get(url, &err)) == NULL) {
		spool_worker_fail(t, 0, "cannot connect to PostGIS: %s", err);
		goto out;
	}
	/* two loads at once would race in CREATE ... IF NOT EXISTS (a
	 * unique violation): one transaction at a time here */
	sb_add(&sql, "SELECT pg_advisory_xact_lock(7143245); "
	    "CREATE SCHEMA IF NOT EXISTS \"%s\"; CREATE TABLE IF NOT "
	    "EXISTS \"%s\".spool_load (request text NOT NULL, target text NOT "
	    "NULL, chunk integer NOT NULL, fid_from bigint, fid_to bigint, "
	    "rows bigint, backend integer, loaded_at timestamptz NOT NULL "
	    "DEFAULT now(), PRIMARY KEY (request, target, chunk))", schema,
	    schema);
	if (sql.bad || qx(t, c, "creating the schema", sql.s, 0, NULL) != 0)
		goto out;
	next = json_array();
	layers = json_array();
	json_array_foreach(json_object_get(plan, "layers"), i, lo) {
		const char *lname = json_string_value(json_object_get(lo,
		    "layer"));
		const char *table = json_string_value(json_object_get(lo,
		    "table"));
		char stg[64], gt[64];
		const char *v[2];
		OGRLayerH l;
		json_t *cols, *col;
		long long fmin, fmax, cnt, from;
		int exists = 0, k, n = 0;
		size_t j;

		if (lname == NULL || table == NULL || !vec_valid_ident(table) ||
		    strcmp(table, "spool_load") == 0) {
			spool_worker_fail(t, 1, "create: bad table name '%s'",
			    table ? table : "");
			goto out;
		}
		if ((l = GDALDatasetGetLayerByName(ds, lname)) == NULL) {
			spool_worker_fail(t, 1, "create: '%s' has no layer '%s'",
			    gpkg, lname);
			goto out;
		}
		cols = layer_columns(l);
		pg_geom_type(json_string_value(json_object_get(lo,
		    "geometry_type")), gt, sizeof(gt));
		if (strcmp(method, "append") == 0 && check_target(t, c, schema,
		    table, gt, srid, cols, &exists) != 0) {
			json_decref(cols);
			goto out;
		}
		staging_name(stg, sizeof(stg), request, schema, table);
		sql.n = 0;
		sb_add(&sql, "DELETE FROM \"%s\".spool_load WHERE request = $1 "
		    "AND target = $2", schema);
		v[0] = request;
		v[1] = table;
		if (qx(t, c, "BEGIN", "BEGIN", 0, NULL) != 0 ||
		    qx(t, c, "forgetting an earlier attempt", sql.s, 2, v) != 0) {
			json_decref(cols);
			goto out;
		}
		sql.n = 0;
		sb_add(&sql, "DROP TABLE IF EXISTS \"%s\".\"%s\"; CREATE TABLE "
		    "\"%s\".\"%s\" (fid bigint NOT NULL", schema, stg, schema,
		    stg);
		json_array_foreach(cols, j, col)
			sb_add(&sql, ", \"%s\" %s", json_string_value(
			    json_object_get(col, "dst")), json_string_value(
			    json_object_get(col, "type")));
		sb_add(&sql, ", geom geometry(%s, %d)); COMMIT", gt, srid);
		if (sql.bad || qx(t, c, "creating the staging table", sql.s, 0,
		    NULL) != 0) {
			json_decref(cols);
			goto out;
		}
		/* the fid ranges */
		{
			char s[400];
			OGRLayerH rl;
			OGRFeatureH f;

			snprintf(s, sizeof(s), "SELECT min(fid), max(fid), count(*) "
			    "FROM \"%s\"", lname);
			if (strchr(lname, '"') != NULL)
				rl = NULL;
			else
				rl = GDALDatasetExecuteSQL(ds, s, NULL, NULL);
			f = rl ? OGR_L_GetNextFeature(rl) : NULL;
			fmin = f ? OGR_F_GetFieldAsInteger64(f, 0) : 0;
			fmax = f ? OGR_F_GetFieldAsInteger64(f, 1) : -1;
			cnt = f ? OGR_F_GetFieldAsInteger64(f, 2) : 0;
			if (f)
				OGR_F_Destroy(f);
			if (rl)
				GDALDatasetReleaseResultSet(ds, rl);
			if (rl == NULL) {
				json_decref(cols);
				spool_worker_fail(t, 1, "create: cannot count "
				    "layer '%s'", lname);
				goto out;
			}
		}
		if (cnt == 0)
			fmax = fmin - 1;
		for (from = fmin; from <= fmax; from += chunk)
			n++;
		for (k = 0, from = fmin; from <= fmax; from += chunk, k++) {
			long long to = from + chunk - 1 > fmax ? fmax :
			    from + chunk - 1;

			json_array_append_new(next, json_pack("{s:s, s:s, s:s, "
			    "s:s, s:s, s:i, s:i, s:I, s:I, s:O, s:i, s:s}",
			    "gpkg", gpkg, "layer", lname, "schema", schema,
			    "table", table, "staging", stg, "chunk", k,
			    "chunks", n, "fid_from", (json_int_t)from,
			    "fid_to", (json_int_t)to, "columns", cols,
			    "srid", srid, "load_method", method));
		}
		nchunks += n;
		json_array_append_new(layers, json_pack("{s:s, s:s, s:s, s:s, "
		    "s:i, s:I, s:i, s:o, s:b}", "layer", lname, "table", table,
		    "staging", stg, "geometry_type", gt, "srid", srid,
		    "features", (json_int_t)cnt, "chunks", n, "columns", cols,
		    "target_existed", exists));
	}
	/* what finish needs, for the stage after the loads */
	state = json_pack("{s:s, s:s, s:O}", "target_schema", schema,
	    "load_method", method, "layers", layers);
	if (vec_write_json("out/postgis.json", state) != 0) {
		spool_worker_fail(t, 0, "cannot write postgis.json");
		goto out;
	}
	spool_worker_output(t, "postgis.json", "out/postgis.json", "metadata",
	    "application/json");
	json_object_set_new(json_array_get(json_object_get(t->answer,
	    "outputs"), json_array_size(json_object_get(t->answer,
	    "outputs")) - 1), "internal", json_true());
	json_object_set_new(t->answer, "summary", json_pack("{s:{s:s, s:s, "
	    "s:i}}", "postgis_create", "schema", schema, "load_method", method,
	    "chunks", nchunks));
	json_object_set_new(t->answer, "next", next);
	next = NULL;
	json_object_set_new(t->answer, "status", json_string("succeeded"));
	r = 0;
out:
	free(err);
	free(sql.s);
	json_decref(next);
	json_decref(layers);
	json_decref(state);
	if (ds != NULL)
		GDALClose(ds);
	return r;
}

/* ---- load ---- */

struct cbuf {
	char *s;
	size_t n, cap;
};

static int
cb_reserve(struct cbuf *b, size_t more)
{
	if (b->n + more <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 1 << 20;

	while (cap < b->n + more)
		cap *= 2;
	char *ns = realloc(b->s, cap);

	if (ns == NULL)
		return -1;
	b->s = ns;
	b->cap = cap;
	return 0;
}

static const char hexd[] = "0123456789abcdef";

static int
cb_hex(struct cbuf *b, const unsigned char *p, size_t n)
{
	size_t i;
	char *o;

	if (cb_reserve(b, 2 * n) != 0)
		return -1;
	o = b->s + b->n;
	for (i = 0; i < n; i++) {
		*o++ = hexd[p[i] >> 4];
		*o++ = hexd[p[i] & 15];
	}
	b->n += 2 * n;
	return 0;
}

static int
cb_text(struct cbuf *b, const unsigned char *p, size_t n)
{
	size_t i;

	if (cb_reserve(b, 2 * n) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = p[i];

		switch (c) {
		case '\\': b->s[b->n++] = '\\'; b->s[b->n++] = '\\'; break;
		case '\n': b->s[b->n++] = '\\'; b->s[b->n++] = 'n'; break;
		case '\r': b->s[b->n++] = '\\'; b->s[b->n++] = 'r'; break;
		case '\t': b->s[b->n++] = '\\'; b->s[b->n++] = 't'; break;
		case '\0': break;
		default: b->s[b->n++] = (char)c;
		}
	}
	return 0;
}

static int
cb_str(struct cbuf *b, const char *s)
{
	size_t n = strlen(s);

	if (cb_reserve(b, n) != 0)
		return -1;
	memcpy(b->s + b->n, s, n);
	b->n += n;
	return 0;
}

/* A GeoPackage geometry blob as hex EWKB with srid; -1 when it is not a
 * GeoPackage geometry. */
static int
cb_gpkg_geom(struct cbuf *b, const unsigned char *p, size_t n, int srid)
{
	static const size_t env[8] = { 0, 32, 48, 48, 64, 0, 0, 0 };
	unsigned char hdr[9];
	size_t off;
	uint32_t type, s = (uint32_t)srid;
	int le;

	if (n < 8 || p[0] != 'G' || p[1] != 'P')
		return -1;
	off = 8 + env[(p[3] >> 1) & 7];
	if (n < off + 5)
		return -1;
	p += off;
	n -= off;
	le = p[0] == 1;
	type = le ? (uint32_t)p[1] | (uint32_t)p[2] << 8 |
	    (uint32_t)p[3] << 16 | (uint32_t)p[4] << 24 :
	    (uint32_t)p[4] | (uint32_t)p[3] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[1] << 24;
	type |= 0x20000000u;
	hdr[0] = p[0];
	if (le) {
		hdr[1] = type & 0xff; hdr[2] = (type >> 8) & 0xff;
		hdr[3] = (type >> 16) & 0xff; hdr[4] = type >> 24;
		hdr[5] = s & 0xff; hdr[6] = (s >> 8) & 0xff;
		hdr[7] = (s >> 16) & 0xff; hdr[8] = s >> 24;
	} else {
		hdr[4] = type & 0xff; hdr[3] = (type >> 8) & 0xff;
		hdr[2] = (type >> 16) & 0xff; hdr[1] = type >> 24;
		hdr[8] = s & 0xff; hdr[7] = (s >> 8) & 0xff;
		hdr[6] = (s >> 16) & 0xff; hdr[5] = s >> 24;
	}
	if (cb_hex(b, hdr, 9) != 0 || cb_hex(b, p + 5, n - 5) != 0)
		return -1;
	return 0;
}

static int
put_value(struct cbuf *b, sqlite3_stmt *st, int i, const char *type)
{
	char num[64];

	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL:
		return cb_str(b, "\\N");
	case SQLITE_INTEGER:
		if (strcmp(type, "boolean") == 0)
			return cb_str(b, sqlite3_column_int64(st, i) ? "t" : "f");
		snprintf(num, sizeof(num), "%lld",
		    (long long)sqlite3_column_int64(st, i));
		return cb_str(b, num);
	case SQLITE_FLOAT: {
		double d = sqlite3_column_double(st, i);

		if (isnan(d))
			return cb_str(b, "NaN");
		if (isinf(d))
			return cb_str(b, d > 0 ? "Infinity" : "-Infinity");
		snprintf(num, sizeof(num), "%.17g", d);
		return cb_str(b, num);
	}
	case SQLITE_BLOB:
		if (cb_str(b, "\\\\x") != 0)
			return -1;
		return cb_hex(b, sqlite3_column_blob(st, i),
		    (size_t)sqlite3_column_bytes(st, i));
	default:
		return cb_text(b, sqlite3_column_text(st, i),
		    (size_t)sqlite3_column_bytes(st, i));
	}
}

static int
sqlite_quote(struct sb *b, const char *name)
{
	const char *p;

	sb_add(b, "\"");
	for (p = name; *p; p++)
		sb_add(b, *p == '"' ? "\"\"" : "%c", *p);
	sb_add(b, "\"");
	return b->bad ? -1 : 0;
}

int
vec_pg_load(struct spool_worker_task *t)
{
	const json_t *plan = t->plan, *cols, *col;
	const char *url = url_of(t), *request = request_of(t);
	const char *gpkg, *layer, *schema, *table, *staging;
	char path[4200], uri[4400], sfrom[32], sto[32], schunk[32], srows[32];
	char *err = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	struct sb sql = { 0 }, cp = { 0 };
	struct cbuf b = { 0 };
	json_int_t from, to, chunk;
	long long rows = 0;
	int srid, ncol, r = -1, rc, i;
	size_t j;
	PGconn *c;
	PGresult *res;
	const char *v[5];

	if (plan == NULL || url == NULL || request == NULL)
		return spool_worker_fail(t, 1, "load: the task has no plan, "
		    "no [vector] postgis or no request");
	gpkg = json_string_value(json_object_get(plan, "gpkg"));
	layer = json_string_value(json_object_get(plan, "layer"));
	schema = json_string_value(json_object_get(plan, "schema"));
	table = json_string_value(json_object_get(plan, "table"));
	staging = json_string_value(json_object_get(plan, "staging"));
	cols = json_object_get(plan, "columns");
	from = json_integer_value(json_object_get(plan, "fid_from"));
	to = json_integer_value(json_object_get(plan, "fid_to"));
	chunk = json_integer_value(json_object_get(plan, "chunk"));
	srid = (int)json_integer_value(json_object_get(plan, "srid"));
	if (gpkg == NULL || layer == NULL || schema == NULL || table == NULL ||
	    staging == NULL || !json_is_array(cols) || !vec_valid_ident(schema) ||
	    !vec_valid_ident(table) || !vec_valid_ident(staging) || srid <= 0)
		return spool_worker_fail(t, 1, "load: the plan is incomplete");
	if (spool_worker_input(t, gpkg, path, sizeof(path)) == NULL)
		return spool_worker_fail(t, 1, "load: no input '%s'", gpkg);
	snprintf(uri, sizeof(uri), "file:%s?mode=ro&immutable=1", path);
	if (sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI,
	    NULL) != SQLITE_OK) {
		spool_worker_fail(t, 1, "load: cannot open '%s': %s", gpkg,
		    sqlite3_errmsg(db));
		goto out;
	}
	ncol = (int)json_array_size(cols);
	sb_add(&sql, "SELECT fid");
	json_array_foreach(cols, j, col) {
		sb_add(&sql, ", ");
		sqlite_quote(&sql, json_string_value(json_object_get(col, "src")));
	}
	sb_add(&sql, ", geom FROM ");
	sqlite_quote(&sql, layer);
	sb_add(&sql, " WHERE fid BETWEEN ? AND ? ORDER BY fid");
	if (sql.bad || sqlite3_prepare_v2(db, sql.s, -1, &st, NULL) !=
	    SQLITE_OK) {
		spool_worker_fail(t, 1, "load: cannot read layer '%s': %s", layer,
		    sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, to);

	if ((c = pg_get(url, &err)) == NULL) {
		spool_worker_fail(t, 0, "cannot connect to PostGIS: %s", err);
		goto out;
	}
	snprintf(sfrom, sizeof(sfrom), "%lld", (long long)from);
	snprintf(sto, sizeof(sto), "%lld", (long long)to);
	snprintf(schunk, sizeof(schunk), "%lld", (long long)chunk);
	v[0] = request;
	v[1] = table;
	v[2] = schunk;
	v[3] = sfrom;
	v[4] = sto;
	if (qx(t, c, "BEGIN", "BEGIN", 0, NULL) != 0)
		goto out;
	/* claim the chunk: a concurrent twin waits here for our commit */
	sql.n = 0;
	sb_add(&sql, "INSERT INTO \"%s\".spool_load (request, target, chunk, "
	    "fid_from, fid_to, backend) VALUES ($1, $2, $3, $4, $5, "
	    "pg_backend_pid()) ON CONFLICT DO NOTHING RETURNING 1", schema);
	if ((res = q(t, c, "claiming the chunk", sql.s, 5, v)) == NULL)
		goto out;
	if (PQntuples(res) == 0) {
		PQclear(res);
		PQclear(PQexec(c, "ROLLBACK"));
		sql.n = 0;
		sb_add(&sql, "SELECT coalesce(rows, 0) FROM \"%s\".spool_load "
		    "WHERE request = $1 AND target = $2 AND chunk = $3", schema);
		if ((res = q(t, c, "reading the chunk record", sql.s, 3, v)) ==
		    NULL)
			goto out;
		rows = PQntuples(res) ? atoll(PQgetvalue(res, 0, 0)) : 0;
		PQclear(res);
		json_object_set_new(t->answer, "summary", json_pack("{s:{s:s, "
		    "s:I, s:I, s:b}}", "postgis_load", "table", table, "chunk",
		    chunk, "rows", (json_int_t)rows, "already_loaded", 1));
		json_object_set_new(t->answer, "status", json_string(
		    "succeeded"));
		r = 0;
		goto out;
	}
	PQclear(res);
	sb_add(&cp, "COPY \"%s\".\"%s\" (fid", schema, staging);
	json_array_foreach(cols, j, col)
		sb_add(&cp, ", \"%s\"", json_string_value(json_object_get(col,
		    "dst")));
	sb_add(&cp, ", geom) FROM STDIN");
	res = PQexec(c, cp.s);
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		pg_fail(t, c, res, "COPY");
		goto out;
	}
	PQclear(res);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int bad = put_value(&b, st, 0, "bigint");

		for (i = 0; i < ncol && !bad; i++) {
			bad |= cb_str(&b, "\t");
			bad |= put_value(&b, st, i + 1, json_string_value(
			    json_object_get(json_array_get(cols, (size_t)i),
			    "type")));
		}
		bad |= cb_str(&b, "\t");
		if (sqlite3_column_type(st, ncol + 1) == SQLITE_NULL)
			bad |= cb_str(&b, "\\N");
		else if (cb_gpkg_geom(&b, sqlite3_column_blob(st, ncol + 1),
		    (size_t)sqlite3_column_bytes(st, ncol + 1), srid) != 0) {
			PQputCopyEnd(c, "bad geometry");
			PQclear(PQgetResult(c));
			PQclear(PQexec(c, "ROLLBACK"));
			spool_worker_fail(t, 1, "load: feature %lld of '%s' has "
			    "no GeoPackage geometry", (long long)
			    sqlite3_column_int64(st, 0), layer);
			goto out;
		}
		bad |= cb_str(&b, "\n");
		if (bad) {
			PQputCopyEnd(c, "out of memory");
			PQclear(PQgetResult(c));
			PQclear(PQexec(c, "ROLLBACK"));
			spool_worker_fail(t, 0, "load: out of memory");
			goto out;
		}
		rows++;
		if (b.n >= COPY_FLUSH) {
			if (PQputCopyData(c, b.s, (int)b.n) != 1) {
				pg_fail(t, c, NULL, "COPY");
				goto out;
			}
			b.n = 0;
			if (spool_worker_progress(t, (double)rows /
			    (double)(to - from + 1), "load")) {
				PQputCopyEnd(c, "cancelled");
				PQclear(PQgetResult(c));
				PQclear(PQexec(c, "ROLLBACK"));
				goto out;
			}
		}
	}
	if (rc != SQLITE_DONE) {
		PQputCopyEnd(c, "read error");
		PQclear(PQgetResult(c));
		PQclear(PQexec(c, "ROLLBACK"));
		spool_worker_fail(t, 1, "load: cannot read layer '%s': %s", layer,
		    sqlite3_errmsg(db));
		goto out;
	}
	if ((b.n > 0 && PQputCopyData(c, b.s, (int)b.n) != 1) ||
	    PQputCopyEnd(c, NULL) != 1) {
		pg_fail(t, c, NULL, "COPY");
		goto out;
	}
	res = PQgetResult(c);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		pg_fail(t, c, res, "COPY");
		while ((res = PQgetResult(c)) != NULL)
			PQclear(res);
		goto out;
	}
	PQclear(res);
	while ((res = PQgetResult(c)) != NULL)
		PQclear(res);
	snprintf(srows, sizeof(srows), "%lld", rows);
	v[3] = srows;
	sql.n = 0;
	sb_add(&sql, "UPDATE \"%s\".spool_load SET rows = $4 WHERE request = "
	    "$1 AND target = $2 AND chunk = $3", schema);
	if (qx(t, c, "recording the chunk", sql.s, 4, v) != 0 ||
	    qx(t, c, "COMMIT", "COMMIT", 0, NULL) != 0)
		goto out;
	json_object_set_new(t->answer, "summary", json_pack("{s:{s:s, s:I, "
	    "s:I, s:b}}", "postgis_load", "table", table, "chunk", chunk,
	    "rows", (json_int_t)rows, "already_loaded", 0));
	json_object_set_new(t->answer, "status", json_string("succeeded"));
	r = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	free(sql.s);
	free(cp.s);
	free(b.s);
	free(err);
	return r;
}

/* ---- finish ---- */

static json_t *
finish_state(struct spool_worker_task *t)
{
	char path[4200];
	json_t *o;

	if (t->plan != NULL && json_is_array(json_object_get(t->plan,
	    "layers")) && json_object_get(json_array_get(json_object_get(
	    t->plan, "layers"), 0), "staging") != NULL)
		return json_incref((json_t *)t->plan);
	if (spool_worker_input(t, "postgis.json", path, sizeof(path)) == NULL)
		return NULL;
	o = json_load_file(path, 0, NULL);
	return json_is_object(o) ? o : (json_decref(o), NULL);
}

/* The staging table's GiST index and the unique index its primary key
 * will use, built at once on two connections (a GiST build is one
 * process; the two take SHARE locks, which do not conflict), or one
 * after the other when a second connection cannot be had. */
static int
build_indexes(struct spool_worker_task *t, PGconn *c, const char *url,
    const char *stg, const char *sq)
{
	struct sb gist = { 0 }, uniq = { 0 };
	PGconn *c2;
	PGresult *res, *bad = NULL;
	char *err = NULL;
	int r = -1;

	sb_add(&gist, "CREATE INDEX IF NOT EXISTS \"%s_geom\" ON %s USING "
	    "gist (geom)", stg, sq);
	sb_add(&uniq, "SET maintenance_work_mem = '256MB'; CREATE UNIQUE "
	    "INDEX IF NOT EXISTS \"%s_pkey\" ON %s (fid)", stg, sq);
	if (gist.bad || uniq.bad) {
		spool_worker_fail(t, 1, "finish: names too long");
		goto out;
	}
	if ((c2 = pg_connect(url, &err)) == NULL) {
		fprintf(stderr, "event=vector_second_connection_failed "
		    "why=%s\n", SPOOL_LQ(err));
		r = qx(t, c, "building the GiST index", gist.s, 0, NULL) != 0 ||
		    qx(t, c, "building the primary key's index", uniq.s, 0,
		    NULL) != 0 ? -1 : 0;
		goto out;
	}
	if (!PQsendQuery(c, gist.s)) {
		pg_fail(t, c, NULL, "building the GiST index");
		PQfinish(c2);
		goto out;
	}
	r = qx(t, c2, "building the primary key's index", uniq.s, 0, NULL);
	PQfinish(c2);
	while ((res = PQgetResult(c)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK && bad == NULL)
			bad = res;
		else
			PQclear(res);
	}
	if (bad != NULL) {
		if (r == 0)
			pg_fail(t, c, bad, "building the GiST index");
		else
			PQclear(bad);
		r = -1;
	}
out:
	free(gist.s);
	free(uniq.s);
	free(err);
	return r;
}

static int
finish_layer(struct spool_worker_task *t, PGconn *c, const char *schema,
    const char *method, const json_t *lo, json_t *out)
{
	const char *table = json_string_value(json_object_get(lo, "table"));
	const char *stg = json_string_value(json_object_get(lo, "staging"));
	const char *request = request_of(t);
	const json_t *cols = json_object_get(lo, "columns"), *col;
	json_int_t want_rows = json_integer_value(json_object_get(lo,
	    "features"));
	json_int_t want_chunks = json_integer_value(json_object_get(lo,
	    "chunks"));
	const char *v[3] = { request, table, NULL };
	char qual[200], tq[200], sq[200], idx[80], rec[200], srec[32];
	struct sb sql = { 0 }, cl = { 0 };
	long long rows = 0, chunks = 0, total = 0;
	PGresult *res;
	int r = -1, exists, append = strcmp(method, "append") == 0;
	size_t j;

	if (table == NULL || stg == NULL || !vec_valid_ident(table) ||
	    !vec_valid_ident(stg))
		return spool_worker_fail(t, 1, "finish: the plan is incomplete");
	snprintf(qual, sizeof(qual), "%s.%s", schema, table);
	snprintf(tq, sizeof(tq), "\"%s\".\"%s\"", schema, table);
	snprintf(sq, sizeof(sq), "\"%s\".\"%s\"", schema, stg);
	/* done before? (a rerun after the commit) */
	sb_add(&sql, "SELECT rows FROM \"%s\".spool_load WHERE request = $1 "
	    "AND target = $2 AND chunk = -1", schema);
	if ((res = q(t, c, "reading the load record", sql.s, 2, v)) == NULL)
		goto out;
	if (PQntuples(res) > 0) {
		rows = atoll(PQgetvalue(res, 0, 0));
		PQclear(res);
		chunks = want_chunks;
		goto done;
	}
	PQclear(res);
	sql.n = 0;
	sb_add(&sql, "SELECT count(*), coalesce(sum(rows), 0), "
	    "count(*) FILTER (WHERE rows IS NULL), to_regclass('%s') IS NOT "
	    "NULL FROM \"%s\".spool_load WHERE request = $1 AND target = $2 "
	    "AND chunk >= 0", sq, schema);
	if ((res = q(t, c, "reading the load records", sql.s, 2, v)) == NULL)
		goto out;
	chunks = atoll(PQgetvalue(res, 0, 0));
	rows = atoll(PQgetvalue(res, 0, 1));
	exists = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
	PQclear(res);
	if (!exists) {
		spool_worker_fail(t, 1, "finish: the staging table of %s is "
		    "gone", qual);
		goto out;
	}
	if (chunks != want_chunks || rows != want_rows) {
		spool_worker_fail(t, 1, "finish: %s: %lld of %lld chunks and "
		    "%lld of %lld rows were loaded", qual, chunks,
		    (long long)want_chunks, rows, (long long)want_rows);
		goto out;
	}
	snprintf(idx, sizeof(idx), "%.54s_geom_idx", table);
	sql.n = 0;
	sb_add(&sql, "SET maintenance_work_mem = '256MB'");
	if (qx(t, c, "settings", sql.s, 0, NULL) != 0)
		goto out;
	spool_worker_progress(t, 0.2, table);
	snprintf(rec, sizeof(rec), "INSERT INTO \"%s\".spool_load (request, "
	    "target, chunk, rows) VALUES ($1, $2, -1, $3)", schema);
	/* does the target exist? */
	sql.n = 0;
	sb_add(&sql, "SELECT to_regclass('%s') IS NOT NULL", tq);
	if ((res = q(t, c, "looking up the target", sql.s, 0, NULL)) == NULL)
		goto out;
	exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (!append || !exists) {
		char pk[80];

		snprintf(pk, sizeof(pk), "%.57s_pkey", table);
		if (build_indexes(t, c, url_of(t), stg, sq) != 0)
			goto out;
		spool_worker_progress(t, 0.6, table);
		sql.n = 0;
		sb_add(&sql, "DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM "
		    "pg_constraint WHERE conrelid = '%s'::regclass AND contype = "
		    "'p') THEN ALTER TABLE %s ADD CONSTRAINT \"%s_pkey\" PRIMARY "
		    "KEY USING INDEX \"%s_pkey\"; END IF; END$$; ANALYZE %s", sq,
		    sq, stg, stg, sq);
		if (qx(t, c, "adding the primary key", sql.s, 0, NULL) != 0)
			goto out;
		spool_worker_progress(t, 0.8, table);
		/* the swap: one transaction */
		sql.n = 0;
		sb_add(&sql, "DROP TABLE IF EXISTS %s; ALTER TABLE %s RENAME TO "
		    "\"%s\"; ALTER INDEX \"%s\".\"%s_geom\" RENAME TO \"%s\"; "
		    "ALTER INDEX \"%s\".\"%s_pkey\" RENAME TO \"%s\"", tq, sq,
		    table, schema, stg, idx, schema, stg, pk);
		snprintf(srec, sizeof(srec), "%lld", rows);
		v[2] = srec;
		if (sql.bad || qx(t, c, "BEGIN", "BEGIN", 0, NULL) != 0 ||
		    qx(t, c, "swapping the table in", sql.s, 0, NULL) != 0 ||
		    qx(t, c, "recording the load", rec, 3, v) != 0 ||
		    qx(t, c, "COMMIT", "COMMIT", 0, NULL) != 0)
			goto out;
	} else {
		sb_add(&cl, "fid");
		json_array_foreach(cols, j, col)
			sb_add(&cl, ", \"%s\"", json_string_value(
			    json_object_get(col, "dst")));
		sb_add(&cl, ", geom");
		sql.n = 0;
		sb_add(&sql, "LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE; INSERT "
		    "INTO %s (%s) SELECT fid + (SELECT coalesce(max(fid), 0) FROM "
		    "%s)%s FROM %s; DROP TABLE %s", tq, tq, cl.s, tq,
		    strchr(cl.s, ',') ? strchr(cl.s, ',') : "", sq, sq);
		snprintf(srec, sizeof(srec), "%lld", rows);
		v[2] = srec;
		if (sql.bad || cl.bad || qx(t, c, "BEGIN", "BEGIN", 0, NULL) != 0 ||
		    qx(t, c, "appending", sql.s, 0, NULL) != 0 ||
		    qx(t, c, "recording the load", rec, 3, v) != 0 ||
		    qx(t, c, "COMMIT", "COMMIT", 0, NULL) != 0)
			goto out;
		sql.n = 0;
		sb_add(&sql, "CREATE INDEX IF NOT EXISTS \"%s\" ON %s USING gist "
		    "(geom); ANALYZE %s", idx, tq, tq);
		if (qx(t, c, "indexing the target", sql.s, 0, NULL) != 0)
			goto out;
	}
done:
	sql.n = 0;
	sb_add(&sql, "SELECT count(*) FROM %s", tq);
	if ((res = q(t, c, "counting", sql.s, 0, NULL)) == NULL)
		goto out;
	total = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	json_array_append_new(out, json_pack("{s:O, s:s, s:O, s:O, s:I, s:I, "
	    "s:I}", "layer", json_object_get(lo, "layer"), "table", qual,
	    "geometry_type", json_object_get(lo, "geometry_type"), "srid",
	    json_object_get(lo, "srid"), "chunks", (json_int_t)chunks, "rows",
	    (json_int_t)rows, "rows_in_table", (json_int_t)total));
	r = 0;
out:
	free(sql.s);
	free(cl.s);
	return r;
}

int
vec_pg_finish(struct spool_worker_task *t)
{
	const char *url = url_of(t), *schema, *method;
	json_t *st = finish_state(t), *lo, *tables = NULL;
	char *err = NULL;
	PGconn *c;
	size_t i;
	int r = -1;

	if (st == NULL)
		return spool_worker_fail(t, 1, "finish: neither a plan nor "
		    "postgis.json from the create stage");
	if (url == NULL || request_of(t) == NULL) {
		json_decref(st);
		return spool_worker_fail(t, 1, "finish: no [vector] postgis or "
		    "no request");
	}
	schema = json_string_value(json_object_get(st, "target_schema"));
	method = json_string_value(json_object_get(st, "load_method"));
	if (schema == NULL || !vec_valid_ident(schema) || method == NULL) {
		spool_worker_fail(t, 1, "finish: the plan is incomplete");
		goto out;
	}
	if ((c = pg_get(url, &err)) == NULL) {
		spool_worker_fail(t, 0, "cannot connect to PostGIS: %s", err);
		goto out;
	}
	tables = json_array();
	json_array_foreach(json_object_get(st, "layers"), i, lo)
		if (finish_layer(t, c, schema, method, lo, tables) != 0)
			goto out;
	json_object_set_new(t->answer, "summary", json_pack("{s:{s:s, s:s, "
	    "s:O}}", "postgis", "schema", schema, "load_method", method,
	    "tables", tables));
	json_object_set_new(t->answer, "status", json_string("succeeded"));
	r = 0;
out:
	json_decref(tables);
	json_decref(st);
	free(err);
	return r;
}
