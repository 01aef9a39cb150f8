/*
 * rtree.c - a GeoPackage layer's spatial index, bulk-loaded.
 *
 * GDAL 3.6 builds a GeoPackage's R-tree at close by inserting every
 * feature into SQLite's rtree module one at a time: for 1,000,000 points
 * that is 10-18 s of a 19-27 s convert, while the features themselves take
 * 9 s.  Here the writer hands each feature's box to a collector
 * (vec_rtree_add); once the GeoPackage is closed the tree is packed
 * bottom-up (Sort-Tile-Recursive: leaves tiled by x then y, every node
 * full) and written straight into the rtree module's shadow tables, in
 * the module's own node format, with the triggers and the
 * gpkg_extensions row GDAL writes (docs/DECISIONS.md, "Vector").  SQLite's
 * rtreecheck() and GDAL's validate_gpkg.py are the references the tests
 * hold it to (t0910).
 *
 * The node format (SQLite's ext/rtree/rtree.c): a node is a blob of the
 * size the root had when the table was created; bytes 0-1 hold the tree's
 * depth in the root (0 elsewhere), bytes 2-3 the cell count, then cells
 * of an 8-byte id (a feature's fid in a leaf, a child node's number
 * above) and minx, maxx, miny, maxy as 4-byte floats, all big-endian.
 * The root is node 1; %_rowid maps each fid to its leaf and %_parent
 * each other node to its parent.  Floats are rounded outwards, so a box
 * always holds its feature.
 *
 * The boxes of all layers share one budget: half of the worker's
 * address-space limit (RLIMIT_AS, spoold's memory_limit) at
 * VEC_RTREE_ENTRY_BYTES each, VEC_RTREE_MAX at most.  A layer whose boxes
 * do not fit it (or pass SPOOL_VECTOR_INDEX_MAX, which the tests set to
 * reach this path with little data) is left to GDAL (CreateSpatialIndex).
 */
#include <cpl_error.h>
#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "vector.h"

struct vec_rtree_ent {
	int64_t id;
	float b[4]; /* minx, maxx, miny, maxy */
};

static size_t kept; /* entries allocated by every collector */

/* How many entries all layers may keep. */
static size_t
budget(void)
{
	static size_t b;
	struct rlimit rl;

	if (b == 0) {
		b = VEC_RTREE_MAX;
		if (getrlimit(RLIMIT_AS, &rl) == 0 &&
		    rl.rlim_cur != RLIM_INFINITY &&
		    rl.rlim_cur / 2 / VEC_RTREE_ENTRY_BYTES < b)
			b = (size_t)(rl.rlim_cur / 2 / VEC_RTREE_ENTRY_BYTES);
	}
	return b;
}

void
vec_rtree_init(struct vec_rtree *r, const char *table, const char *column,
    int points)
{
	const char *e = getenv("SPOOL_VECTOR_INDEX_MAX");

	memset(r, 0, sizeof(*r));
	r->max = VEC_RTREE_MAX;
	if (e != NULL && strtoull(e, NULL, 10) > 0 &&
	    strtoull(e, NULL, 10) < VEC_RTREE_MAX)
		r->max = (size_t)strtoull(e, NULL, 10);
	snprintf(r->table, sizeof(r->table), "%s", table);
	snprintf(r->column, sizeof(r->column), "%s", column);
	r->points = points;
}

void
vec_rtree_release(struct vec_rtree *r)
{
	if (r == NULL)
		return;
	kept -= r->cap;
	free(r->e);
	free(r->xy);
	r->e = NULL;
	r->xy = NULL;
	r->n = r->cap = 0;
}

static float
down(double d)
{
	float f = (float)d;

	if (isnan(d))
		return -INFINITY;
	if ((double)f > d)
		f = nextafterf(f, -INFINITY);
	return f;
}

static float
up(double d)
{
	float f = (float)d;

	if (isnan(d))
		return INFINITY;
	if ((double)f < d)
		f = nextafterf(f, INFINITY);
	return f;
}

void
vec_rtree_add(struct vec_rtree *r, long long fid, const OGREnvelope *env)
{
	struct vec_rtree_ent *e;

	if (r->too_big)
		return;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 4096;
		size_t room = budget() - (kept - r->cap);

		if (cap > r->max)
			cap = r->max;
		if (cap > room)
			cap = room;
		if (cap <= r->n || (e = realloc(r->e, cap * sizeof(*e))) ==
		    NULL)
			goto too_big;
		r->e = e;
		if (r->points) {
			double *xy = realloc(r->xy, cap * 2 * sizeof(*xy));

			if (xy == NULL)
				goto too_big;
			r->xy = xy;
		}
		kept += cap - r->cap;
		r->cap = cap;
	}
	if (r->points) {
		r->xy[2 * r->n] = env->MinX;
		r->xy[2 * r->n + 1] = env->MinY;
	}
	e = &r->e[r->n++];
	e->id = fid;
	e->b[0] = down(env->MinX);
	e->b[1] = up(env->MaxX);
	e->b[2] = down(env->MinY);
	e->b[3] = up(env->MaxY);
	return;
too_big:
	/* too many for memory: GDAL builds it (max: what it held, for the
	 * log) */
	r->max = r->n;
	vec_rtree_release(r);
	r->too_big = 1;
}

/* The centre of e on axis d (0: x, 2: y) as a key that sorts as the
 * float does (a box of NaN sorts first). */
static uint32_t
centre_key(const struct vec_rtree_ent *e, int d)
{
	float c = (float)(((double)e->b[d] + (double)e->b[d + 1]) / 2);
	uint32_t u;

	if (isnan(c))
		return 0;
	memcpy(&u, &c, sizeof(u));
	return u & 0x80000000u ? ~u : u | 0x80000000u;
}

struct keyed {
	uint32_t key, i;
};

/* Sort e[0..n) by centre on axis d: an LSD radix sort of (key, index)
 * in 11-bit digits, then one gather; tmp holds 2n keyed and n entries.
 * For 1,000,000 boxes it takes a fifth of what qsort took. */
static void
sort_by(struct vec_rtree_ent *e, size_t n, int d, struct keyed *k,
    struct vec_rtree_ent *out)
{
	struct keyed *a = k, *b = k + n, *t;
	size_t cnt[2048], i, sum;
	int shift;

	for (i = 0; i < n; i++) {
		a[i].key = centre_key(&e[i], d);
		a[i].i = (uint32_t)i;
	}
	for (shift = 0; shift < 32; shift += 11) {
		memset(cnt, 0, sizeof(cnt));
		for (i = 0; i < n; i++)
			cnt[(a[i].key >> shift) & 2047]++;
		for (i = 0, sum = 0; i < 2048; i++) {
			size_t c = cnt[i];

			cnt[i] = sum;
			sum += c;
		}
		for (i = 0; i < n; i++)
			b[cnt[(a[i].key >> shift) & 2047]++] = a[i];
		t = a;
		a = b;
		b = t;
	}
	for (i = 0; i < n; i++)
		out[i] = e[a[i].i];
	memcpy(e, out, n * sizeof(*e));
}

/* Sort-Tile-Recursive order for nodes of m cells. */
static int
str_order(struct vec_rtree_ent *e, size_t n, size_t m)
{
	size_t pages = (n + m - 1) / m, s, slice, i;
	struct keyed *k = malloc(2 * n * sizeof(*k));
	struct vec_rtree_ent *out = malloc(n * sizeof(*out));

	if (k == NULL || out == NULL) {
		free(k);
		free(out);
		return -1;
	}
	s = (size_t)ceil(sqrt((double)pages));
	slice = s * m;
	sort_by(e, n, 0, k, out);
	for (i = 0; i < n; i += slice)
		sort_by(e + i, n - i < slice ? n - i : slice, 2, k, out);
	free(k);
	free(out);
	return 0;
}

static void
put_be(unsigned char *p, uint64_t v, int bytes)
{
	int i;

	for (i = bytes - 1; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static void
put_float(unsigned char *p, float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	put_be(p, u, 4);
}

/* a fid and its leaf, for %_rowid */
struct link {
	int64_t fid, node;
};

struct wr {
	sqlite3 *db;
	struct link *links; /* the leaves' fids, written in fid order */
	size_t nlinks;
	sqlite3_stmt *node, *rowid, *parent;
	unsigned char *blob;
	int size;       /* bytes per node */
	size_t m;       /* cells per node */
	char *err;
};

static int
fail(struct wr *w, const char *what)
{
	if (w->err == NULL) {
		char buf[512];

		snprintf(buf, sizeof(buf), "spatial index: %s: %s", what,
		    sqlite3_errmsg(w->db));
		w->err = strdup(buf);
	}
	return -1;
}

static int
step(struct wr *w, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : fail(w, what);
}

static int
exec(struct wr *w, const char *sql)
{
	char *msg = NULL;

	if (sql == NULL) /* sqlite3_mprintf out of memory */
		return fail(w, "out of memory");
	if (sqlite3_exec(w->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	if (w->err == NULL) {
		char buf[512];

		snprintf(buf, sizeof(buf), "spatial index: %s",
		    msg ? msg : sqlite3_errmsg(w->db));
		w->err = strdup(buf);
	}
	sqlite3_free(msg);
	return -1;
}

/* Write level lvl (0: the leaves) of a tree of the given depth: nodes
 * over e[0..n) (already ordered), numbered from *next (the root, alone
 * on its level, is 1).  e is rewritten in place with one entry per node:
 * its number and the union of its cells. */
static int
write_level(struct wr *w, struct vec_rtree_ent *e, size_t n, int lvl,
    int depth, int64_t *next, size_t *out)
{
	size_t i, k = 0;
	int root = n <= w->m;

	for (i = 0; i < n; i += w->m) {
		size_t c = n - i < w->m ? n - i : w->m, j;
		int64_t no = root ? 1 : (*next)++;
		float b[4];

		memset(w->blob, 0, (size_t)w->size);
		put_be(w->blob, root ? (uint64_t)depth : 0, 2);
		put_be(w->blob + 2, c, 2);
		memcpy(b, e[i].b, sizeof(b));
		for (j = 0; j < c; j++) {
			const struct vec_rtree_ent *x = &e[i + j];
			unsigned char *p = w->blob + 4 + 24 * j;
			int d;

			put_be(p, (uint64_t)x->id, 8);
			for (d = 0; d < 4; d++)
				put_float(p + 8 + 4 * d, x->b[d]);
			if (x->b[0] < b[0]) b[0] = x->b[0];
			if (x->b[1] > b[1]) b[1] = x->b[1];
			if (x->b[2] < b[2]) b[2] = x->b[2];
			if (x->b[3] > b[3]) b[3] = x->b[3];
			/* the child's way back: fid -> leaf (written once
			 * sorted: in STR order they would be random inserts),
			 * node -> parent */
			if (lvl == 0) {
				w->links[w->nlinks].fid = x->id;
				w->links[w->nlinks++].node = no;
				continue;
			}
			sqlite3_bind_int64(w->parent, 1, x->id);
			sqlite3_bind_int64(w->parent, 2, no);
			if (step(w, w->parent, "parent") != 0)
				return -1;
		}
		sqlite3_bind_int64(w->node, 1, no);
		sqlite3_bind_blob(w->node, 2, w->blob, w->size, SQLITE_STATIC);
		if (step(w, w->node, "node") != 0)
			return -1;
		/* the node becomes a cell of the level above */
		e[k].id = no;
		memcpy(e[k].b, b, sizeof(b));
		k++;
	}
	*out = k;
	return 0;
}

static int
by_fid(const void *a, const void *b)
{
	const struct link *p = a, *q = b;

	return (p->fid > q->fid) - (p->fid < q->fid);
}

/* Sort links by fid: by placing them when the fids are dense (the
 * writer's are 1..N), else by qsort. */
static void
fid_order(struct link *l, size_t n)
{
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	int64_t *node;
	size_t i, k;

	for (i = 0; i < n; i++) {
		if (l[i].fid < lo)
			lo = l[i].fid;
		if (l[i].fid > hi)
			hi = l[i].fid;
	}
	if (n == 0 || (uint64_t)hi - (uint64_t)lo >= 2 * (uint64_t)n ||
	    (node = calloc((size_t)(hi - lo + 1), sizeof(*node))) == NULL) {
		qsort(l, n, sizeof(*l), by_fid);
		return;
	}
	for (i = 0; i < n; i++)
		node[l[i].fid - lo] = l[i].node;
	for (i = 0, k = 0; i < (size_t)(hi - lo + 1); i++)
		if (node[i] != 0) {
			l[k].fid = lo + (int64_t)i;
			l[k++].node = node[i];
		}
	free(node);
}

static int
build(struct wr *w, struct vec_rtree *r)
{
	char *name = sqlite3_mprintf("rtree_%s_%s", r->table, r->column);
	char *sql = NULL;
	sqlite3_stmt *s = NULL;
	int64_t next = 2;
	size_t n = r->n, k;
	int depth = 0, lvl, rc = -1;

	if (name == NULL)
		return fail(w, "out of memory");
	sql = sqlite3_mprintf("CREATE VIRTUAL TABLE \"%w\" USING "
	    "rtree(id, minx, maxx, miny, maxy)", name);
	if (exec(w, sql) != 0)
		goto out;
	sqlite3_free(sql);
	sql = sqlite3_mprintf("SELECT length(data) FROM \"%w_node\" WHERE "
	    "nodeno = 1", name);
	if (sqlite3_prepare_v2(w->db, sql, -1, &s, NULL) != SQLITE_OK ||
	    sqlite3_step(s) != SQLITE_ROW) {
		fail(w, "the new index has no root");
		goto out;
	}
	w->size = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	s = NULL;
	if (w->size < 4 + 24 * 3 || w->size > 65536) {
		fail(w, "unexpected node size");
		goto out;
	}
	w->m = (size_t)(w->size - 4) / 24;
	free(w->blob);
	if ((w->blob = malloc((size_t)w->size)) == NULL) {
		fail(w, "out of memory");
		goto out;
	}
	sqlite3_free(sql);
	sql = sqlite3_mprintf("DELETE FROM \"%w_node\"", name);
	if (exec(w, sql) != 0)
		goto out;
#define PREP(st, fmt) do { \
		sqlite3_free(sql); \
		sql = sqlite3_mprintf(fmt, name); \
		if (sqlite3_prepare_v2(w->db, sql, -1, &(st), NULL) != \
		    SQLITE_OK) { \
			fail(w, "prepare"); \
			goto out; \
		} \
	} while (0)
	PREP(w->node, "INSERT INTO \"%w_node\"(nodeno, data) VALUES (?, ?)");
	PREP(w->rowid, "INSERT INTO \"%w_rowid\"(rowid, nodeno) VALUES (?, ?)");
	PREP(w->parent, "INSERT INTO \"%w_parent\"(nodeno, parentnode) "
	    "VALUES (?, ?)");
#undef PREP
	if (n == 0) {
		/* an empty root, as the module makes it */
		memset(w->blob, 0, (size_t)w->size);
		sqlite3_bind_int64(w->node, 1, 1);
		sqlite3_bind_blob(w->node, 2, w->blob, w->size, SQLITE_STATIC);
		if (step(w, w->node, "node") != 0)
			goto out;
	}
	/* the depth is known before anything is written: levels above the
	 * leaves until one node holds them all */
	for (k = n; k > w->m;) {
		k = (k + w->m - 1) / w->m;
		depth++;
	}
	free(w->links);
	w->nlinks = 0;
	if ((w->links = malloc((n ? n : 1) * sizeof(*w->links))) == NULL) {
		fail(w, "out of memory");
		goto out;
	}
	for (lvl = 0; n > 0; lvl++) {
		size_t up_n;

		if (str_order(r->e, n, w->m) != 0) {
			fail(w, "out of memory");
			goto out;
		}
		if (write_level(w, r->e, n, lvl, depth, &next, &up_n) != 0)
			goto out;
		if (n <= w->m)
			break;
		n = up_n;
	}
	fid_order(w->links, w->nlinks);
	for (k = 0; k < w->nlinks; k++) {
		sqlite3_bind_int64(w->rowid, 1, w->links[k].fid);
		sqlite3_bind_int64(w->rowid, 2, w->links[k].node);
		if (step(w, w->rowid, "rowid") != 0)
			goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(s);
	sqlite3_finalize(w->node);
	sqlite3_finalize(w->rowid);
	sqlite3_finalize(w->parent);
	w->node = w->rowid = w->parent = NULL;
	sqlite3_free(sql);
	sqlite3_free(name);
	return rc;
}

/* The triggers and the extension row, as GDAL writes them. */
static int
register_index(struct wr *w, const struct vec_rtree *r)
{
	const char *t = r->table, *c = r->column;
	char *sql;
	int rc;

	sql = sqlite3_mprintf(
	    "CREATE TRIGGER \"rtree_%w_%w_insert\" AFTER INSERT ON \"%w\" "
	    "WHEN (new.\"%w\" NOT NULL AND NOT ST_IsEmpty(NEW.\"%w\")) "
	    "BEGIN INSERT OR REPLACE INTO \"rtree_%w_%w\" VALUES (NEW.\"fid\","
	    "ST_MinX(NEW.\"%w\"), ST_MaxX(NEW.\"%w\"),ST_MinY(NEW.\"%w\"), "
	    "ST_MaxY(NEW.\"%w\")); END;"
	    "CREATE TRIGGER \"rtree_%w_%w_update1\" AFTER UPDATE OF \"%w\" ON "
	    "\"%w\" WHEN OLD.\"fid\" = NEW.\"fid\" AND (NEW.\"%w\" NOTNULL AND "
	    "NOT ST_IsEmpty(NEW.\"%w\")) BEGIN INSERT OR REPLACE INTO "
	    "\"rtree_%w_%w\" VALUES (NEW.\"fid\",ST_MinX(NEW.\"%w\"), "
	    "ST_MaxX(NEW.\"%w\"),ST_MinY(NEW.\"%w\"), ST_MaxY(NEW.\"%w\")); "
	    "END;"
	    "CREATE TRIGGER \"rtree_%w_%w_update2\" AFTER UPDATE OF \"%w\" ON "
	    "\"%w\" WHEN OLD.\"fid\" = NEW.\"fid\" AND (NEW.\"%w\" ISNULL OR "
	    "ST_IsEmpty(NEW.\"%w\")) BEGIN DELETE FROM \"rtree_%w_%w\" WHERE "
	    "id = OLD.\"fid\"; END;"
	    "CREATE TRIGGER \"rtree_%w_%w_update3\" AFTER UPDATE ON \"%w\" "
	    "WHEN OLD.\"fid\" != NEW.\"fid\" AND (NEW.\"%w\" NOTNULL AND NOT "
	    "ST_IsEmpty(NEW.\"%w\")) BEGIN DELETE FROM \"rtree_%w_%w\" WHERE "
	    "id = OLD.\"fid\"; INSERT OR REPLACE INTO \"rtree_%w_%w\" VALUES "
	    "(NEW.\"fid\",ST_MinX(NEW.\"%w\"), ST_MaxX(NEW.\"%w\"),"
	    "ST_MinY(NEW.\"%w\"), ST_MaxY(NEW.\"%w\")); END;"
	    "CREATE TRIGGER \"rtree_%w_%w_update4\" AFTER UPDATE ON \"%w\" "
	    "WHEN OLD.\"fid\" != NEW.\"fid\" AND (NEW.\"%w\" ISNULL OR "
	    "ST_IsEmpty(NEW.\"%w\")) BEGIN DELETE FROM \"rtree_%w_%w\" WHERE "
	    "id IN (OLD.\"fid\", NEW.\"fid\"); END;"
	    "CREATE TRIGGER \"rtree_%w_%w_delete\" AFTER DELETE ON \"%w\" "
	    "WHEN old.\"%w\" NOT NULL BEGIN DELETE FROM \"rtree_%w_%w\" WHERE "
	    "id = OLD.\"fid\"; END;"
	    "INSERT INTO gpkg_extensions (table_name, column_name, "
	    "extension_name, definition, scope) VALUES ('%q', '%q', "
	    "'gpkg_rtree_index', "
	    "'http://www.geopackage.org/spec120/#extension_rtree', "
	    "'write-only');",
	    /* insert */ t, c, t, c, c, t, c, c, c, c, c,
	    /* update1 */ t, c, c, t, c, c, t, c, c, c, c, c,
	    /* update2 */ t, c, c, t, c, c, t, c,
	    /* update3 */ t, c, t, c, c, t, c, t, c, c, c, c, c,
	    /* update4 */ t, c, t, c, c, t, c,
	    /* delete */ t, c, t, c, t, c,
	    /* extension */ t, c);
	if (sql == NULL)
		return fail(w, "out of memory");
	rc = exec(w, sql);
	sqlite3_free(sql);
	return rc;
}

int
vec_rtree_write(const char *gpkg, struct vec_rtree *rs, size_t nr, char **err)
{
	struct wr w;
	size_t i;
	int rc = -1, any = 0;

	memset(&w, 0, sizeof(w));
	for (i = 0; i < nr; i++) {
		any |= !rs[i].too_big;
		free(rs[i].xy); /* the preview's: drawn by now */
		rs[i].xy = NULL;
	}
	if (any) {
		if (sqlite3_open_v2(gpkg, &w.db, SQLITE_OPEN_READWRITE,
		    NULL) != SQLITE_OK) {
			fail(&w, "cannot open the GeoPackage");
			goto out;
		}
		/* the index's pages stay in memory until the commit; not
		 * synced, as GDAL's writes are not (OGR_SQLITE_SYNCHRONOUS):
		 * a crash reruns the task */
		if (exec(&w, "PRAGMA cache_size = -65536") != 0 ||
		    exec(&w, "PRAGMA synchronous = OFF") != 0 ||
		    exec(&w, "BEGIN") != 0 || exec(&w, "CREATE TABLE IF NOT "
		    "EXISTS gpkg_extensions (table_name TEXT,column_name TEXT,"
		    "extension_name TEXT NOT NULL,definition TEXT NOT NULL,"
		    "scope TEXT NOT NULL,CONSTRAINT ge_tce UNIQUE (table_name, "
		    "column_name, extension_name))") != 0)
			goto out;
		for (i = 0; i < nr; i++) {
			struct timespec a, b;

			if (rs[i].too_big)
				continue;
			clock_gettime(CLOCK_MONOTONIC, &a);
			if (build(&w, &rs[i]) != 0 ||
			    register_index(&w, &rs[i]) != 0) {
				exec(&w, "ROLLBACK");
				goto out;
			}
			clock_gettime(CLOCK_MONOTONIC, &b);
			fprintf(stderr, "event=vector_spatial_index table=%s "
			    "entries=%zu ms=%lld\n", SPOOL_LQ(rs[i].table), rs[i].n,
			    (long long)(b.tv_sec - a.tv_sec) * 1000 +
			    (b.tv_nsec - a.tv_nsec) / 1000000);
			vec_rtree_release(&rs[i]);
		}
		if (exec(&w, "COMMIT") != 0)
			goto out;
		sqlite3_close(w.db);
		w.db = NULL;
	}
	for (i = 0; i < nr; i++) {
		GDALDatasetH ds;
		OGRLayerH res;
		char *sql;

		if (!rs[i].too_big)
			continue;
		ds = GDALOpenEx(gpkg, GDAL_OF_VECTOR | GDAL_OF_UPDATE, NULL,
		    NULL, NULL);
		if (ds == NULL) {
			w.err = strdup(CPLGetLastErrorMsg());
			goto out;
		}
		sql = sqlite3_mprintf("SELECT CreateSpatialIndex('%q', '%q')",
		    rs[i].table, rs[i].column);
		CPLErrorReset();
		res = GDALDatasetExecuteSQL(ds, sql, NULL, NULL);
		if (res != NULL)
			GDALDatasetReleaseResultSet(ds, res);
		sqlite3_free(sql);
		GDALClose(ds);
		if (CPLGetLastErrorType() >= CE_Failure) {
			w.err = strdup(CPLGetLastErrorMsg());
			goto out;
		}
		fprintf(stderr, "event=vector_spatial_index table=%s "
		    "by=gdal why=\"more boxes than the %zu this worker could "
		    "keep in memory\"\n", SPOOL_LQ(rs[i].table), rs[i].max);
	}
	rc = 0;
out:
	if (rc != 0)
		*err = w.err ? w.err : strdup("spatial index: failed");
	else
		free(w.err);
	free(w.blob);
	free(w.links);
	if (w.db != NULL)
		sqlite3_close(w.db);
	return rc;
}
