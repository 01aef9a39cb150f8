/*
 * src_sqlite.c - GeoPackage and SQLite sources.
 *
 * Read-only by the engine: the file is opened SQLITE_OPEN_READONLY
 * (not immutable: the vector pipeline may replace it, and a reader must
 * see a consistent file, so SQLite's locks stay on), with defensive mode,
 * no extension loading, no ATTACH.  A user's SQL (allow_sql) is prepared
 * under an authorizer that allows reading the source's layers and
 * nothing else (no ATTACH: sqlite3_stmt_readonly() calls ATTACH
 * read-only; no PRAGMA; no table outside layers, their R*Tree indexes
 * and sqlite_master included), must be one statement,
 * and must be sqlite3_stmt_readonly().  A progress handler stops any
 * statement at the deadline.
 *
 * Spatial filters on a GeoPackage: the layer's R*Tree index
 * (rtree_<table>_<column>) selects candidates by box, then
 * spool_intersects() - OGR's exact test in C on the GeoPackage blob -
 * decides; both are in the SQL, so they compose with and, or, not, and
 * LIMIT/OFFSET count only real matches.
 *
 * Over 800 lines and kept whole: one source engine: the read-only open,
 * the authorizer, layer description and row streaming share one
 * connection state.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <sqlite3.h>

#include "query.h"

struct sq {
	struct qctx *q;
	sqlite3 *db;
	int gpkg;
	struct qlayer layer;
	struct cq_expr expr;
	char *rtree;           /* the layer's rtree table, or NULL */
	int raw;               /* the authorizer judges the user's SQL */
	int denied;            /* the first action it refused, and on what */
	char denied_on[128];
	OGRCoordinateTransformationH ct;
	/* allow_sql: the SRSs of the GeoPackage, read before the user's SQL */
	struct sq_srs {
		int id;
		OGRSpatialReferenceH srs;
		OGRCoordinateTransformationH ct;
		int crs84;
	} *srs;
	size_t nsrs;
	int64_t last_progress;
};

static int
sq_fail(struct sq *s, spool_err *err, const char *what)
{
	return spool_fail(err, SPOOL_ERR_STORE, "%s: %s", what,
	    sqlite3_errmsg(s->db));
}

/* Every 1000 VM instructions: past the deadline, or cancelled, stops. */
static int
progress(void *arg)
{
	struct sq *s = arg;
	struct qctx *q = s->q;
	int64_t now = q_now_ms();

	if (now > q->deadline_ms) {
		q->timed_out = 1;
		return 1;
	}
	if (now - s->last_progress >= 100) {
		s->last_progress = now;
		if (q_check(q) != SPOOL_OK)
			return 1;
	}
	return 0;
}

/* A user's SQL reads the layers, and nothing else (not even their
 * spatial indexes: the layers are what the operator listed). */
static int
name_in_layers(struct sq *s, const char *t)
{
	return t != NULL && q_layer_allowed(&s->q->src, t);
}

static int
deny(struct sq *s, int action, const char *on)
{
	if (s->denied == 0) {
		s->denied = action;
		snprintf(s->denied_on, sizeof(s->denied_on), "%s",
		    on ? on : "");
	}
	return SQLITE_DENY;
}

static int
authorizer(void *arg, int action, const char *a, const char *b,
    const char *db, const char *inner)
{
	struct sq *s = arg;

	(void)b;
	if (!s->raw)
		return SQLITE_OK;
	switch (action) {
	case SQLITE_SELECT:
	case SQLITE_FUNCTION:
	case SQLITE_RECURSIVE:
		return SQLITE_OK;
	case SQLITE_READ:
		/* a: the table; through a view or trigger, inner names it */
		if (db != NULL && strcmp(db, "main") != 0 &&
		    strcmp(db, "temp") != 0)
			return deny(s, action, db);
		if (name_in_layers(s, a) || name_in_layers(s, inner))
			return SQLITE_OK;
		return deny(s, action, a);
	default:
		/* ATTACH, DETACH, PRAGMA, every write, CREATE, DROP,
		 * TRANSACTION, ANALYZE, ... */
		return deny(s, action, a);
	}
}

/* Why the authorizer said no, for the user. */
static int
refused(struct sq *s, spool_err *err)
{
	switch (s->denied) {
	case SQLITE_READ:
		return spool_fail(err, SPOOL_ERR_FORMAT, "sql: refused: table "
		    "'%s' is not a layer of source '%s'", s->denied_on,
		    s->q->src.name);
	case SQLITE_ATTACH:
	case SQLITE_DETACH:
		return spool_fail(err, SPOOL_ERR_FORMAT, "sql: refused: "
		    "ATTACH and DETACH are not allowed");
	case SQLITE_PRAGMA:
		return spool_fail(err, SPOOL_ERR_FORMAT, "sql: refused: PRAGMA "
		    "is not allowed");
	case 0:
		return spool_fail(err, SPOOL_ERR_FORMAT, "sql: refused: %s",
		    sqlite3_errmsg(s->db));
	case SQLITE_INSERT:
	case SQLITE_UPDATE:
	case SQLITE_DELETE:
		return spool_fail(err, SPOOL_ERR_FORMAT, "sql: refused: it "
		    "writes to '%s' (a source is read-only)", s->denied_on);
	default:
		return spool_fail(err, SPOOL_ERR_FORMAT, "sql: refused: only "
		    "reading the layers is allowed (SQLite action %d%s%s)",
		    s->denied, s->denied_on[0] ? " on " : "", s->denied_on);
	}
}

/* spool_intersects(geometry blob, filter geometry index) */
static void
fn_intersects(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	struct sq *s = sqlite3_user_data(ctx);
	const unsigned char *blob, *wkb;
	struct cq_geom *cg;
	OGREnvelope env;
	OGRGeometryH g = NULL;
	size_t wlen;
	int empty, has_env, k, n;

	(void)argc;
	k = sqlite3_value_int(argv[1]);
	if (sqlite3_value_type(argv[0]) != SQLITE_BLOB || k < 0 ||
	    (size_t)k >= s->expr.ngeoms) {
		sqlite3_result_null(ctx);
		return;
	}
	cg = &s->expr.geoms[k];
	blob = sqlite3_value_blob(argv[0]);
	n = sqlite3_value_bytes(argv[0]);
	wkb = gpkg_wkb(blob, (size_t)n, &wlen, &empty, &env, &has_env);
	if (wkb == NULL || empty) {
		sqlite3_result_int(ctx, 0);
		return;
	}
	if (has_env) {
		if (env.MinX > cg->env.MaxX || env.MaxX < cg->env.MinX ||
		    env.MinY > cg->env.MaxY || env.MaxY < cg->env.MinY) {
			sqlite3_result_int(ctx, 0);
			return;
		}
		/* inside a rectangle: no need to look closer (as OGR) */
		if (cg->is_rect && env.MinX >= cg->env.MinX &&
		    env.MaxX <= cg->env.MaxX && env.MinY >= cg->env.MinY &&
		    env.MaxY <= cg->env.MaxY) {
			sqlite3_result_int(ctx, 1);
			return;
		}
	}
	if (OGR_G_CreateFromWkbEx(wkb, NULL, &g, wlen) != OGRERR_NONE) {
		sqlite3_result_int(ctx, 0);
		return;
	}
	if (cg->prep == NULL)
		cg->prep = OGRCreatePreparedGeometry(cg->g);
	sqlite3_result_int(ctx, cg->prep != NULL ?
	    OGRPreparedGeometryIntersects(cg->prep, g) != 0 :
	    OGR_G_Intersects(cg->g, g) != 0);
	OGR_G_DestroyGeometry(g);
}

static int
sq_intersects(void *ctx, struct sbuf *b, struct qparams *p,
    const struct cq_expr *e, int g)
{
	struct sq *s = ctx;
	const struct cq_geom *cg = &e->geoms[g];
	struct qval v = { .t = QV_REAL };

	sb_add(b, "(");
	if (s->rtree != NULL && s->layer.fid != NULL) {
		sb_ident(b, s->layer.fid);
		sb_add(b, " IN (SELECT id FROM ");
		sb_ident(b, s->rtree);
		sb_add(b, " WHERE minx <= ");
		v.d = cg->env.MaxX;
		qp_add(p, b, &v);
		sb_add(b, " AND maxx >= ");
		v.d = cg->env.MinX;
		qp_add(p, b, &v);
		sb_add(b, " AND miny <= ");
		v.d = cg->env.MaxY;
		qp_add(p, b, &v);
		sb_add(b, " AND maxy >= ");
		v.d = cg->env.MinY;
		qp_add(p, b, &v);
		sb_add(b, ") AND ");
	}
	sb_add(b, "spool_intersects(");
	sb_ident(b, s->layer.geom);
	sb_add(b, ", ");
	v.t = QV_INT;
	v.i = g;
	qp_add(p, b, &v);
	sb_add(b, "))");
	return 0;
}

static enum qf_type
decl_type(const char *t, int *text)
{
	char u[32];
	size_t i;

	*text = 0;
	if (t == NULL)
		return QF_OTHER;
	for (i = 0; t[i] && i < sizeof(u) - 1; i++)
		u[i] = (char)toupper((unsigned char)t[i]);
	u[i] = '\0';
	if (strcmp(u, "BOOLEAN") == 0)
		return QF_BOOL;
	if (strstr(u, "INT") != NULL)
		return QF_INT;
	if (strstr(u, "REAL") || strstr(u, "FLOA") || strstr(u, "DOUB") ||
	    strstr(u, "NUMERIC") || strstr(u, "DECIMAL"))
		return QF_REAL;
	if (strstr(u, "CHAR") || strstr(u, "CLOB") || strstr(u, "TEXT") ||
	    strncmp(u, "DATE", 4) == 0) {
		*text = 1;
		return QF_TEXT;
	}
	if (strstr(u, "BLOB"))
		return QF_BLOB;
	return QF_OTHER;
}

static int
is_geom_type(const char *t)
{
	static const char *const g[] = {
		"GEOMETRY", "POINT", "LINESTRING", "POLYGON", "MULTIPOINT",
		"MULTILINESTRING", "MULTIPOLYGON", "GEOMETRYCOLLECTION",
		"CIRCULARSTRING", "COMPOUNDCURVE", "CURVEPOLYGON", "MULTICURVE",
		"MULTISURFACE", "CURVE", "SURFACE", NULL
	};
	size_t i;

	for (i = 0; t != NULL && g[i] != NULL; i++)
		if (strcasecmp(t, g[i]) == 0)
			return 1;
	return 0;
}

static OGRSpatialReferenceH
gpkg_srs(struct sq *s, int id, spool_err *err)
{
	sqlite3_stmt *st = NULL;
	OGRSpatialReferenceH srs = NULL;
	const char *org, *def;
	int code;

	if (id == 4326 || id <= 0)
		return NULL; /* CRS84 already, or undefined (kept as it is) */
	if (sqlite3_prepare_v2(s->db, "SELECT organization, "
	    "organization_coordsys_id, definition FROM gpkg_spatial_ref_sys "
	    "WHERE srs_id = ?1", -1, &st, NULL) != SQLITE_OK) {
		sq_fail(s, err, "gpkg_spatial_ref_sys");
		return NULL;
	}
	sqlite3_bind_int(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		org = (const char *)sqlite3_column_text(st, 0);
		code = sqlite3_column_int(st, 1);
		def = (const char *)sqlite3_column_text(st, 2);
		if (org != NULL && strcasecmp(org, "EPSG") == 0)
			srs = q_srs_epsg(code);
		if (srs == NULL && def != NULL)
			srs = q_srs_wkt(def);
	}
	sqlite3_finalize(st);
	if (srs == NULL)
		spool_fail(err, SPOOL_ERR_FORMAT, "the layer's CRS (srs_id %d) "
		    "is unknown", id);
	return srs;
}

static int
exists(struct sq *s, const char *type_like, const char *name)
{
	sqlite3_stmt *st = NULL;
	int r = 0;

	if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM sqlite_master WHERE "
	    "type LIKE ?1 AND name = ?2", -1, &st, NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, type_like, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	r = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return r;
}

/* The layer as the file describes it. */
static int
describe(struct sq *s, const char *name, spool_err *err)
{
	struct qlayer *l = &s->layer;
	sqlite3_stmt *st = NULL;
	int rc, srs_id = 0, npk = 0, step;
	char *fid = NULL;

	if (!exists(s, "%", name) || (!exists(s, "table", name) &&
	    !exists(s, "view", name)))
		return spool_fail(err, SPOOL_ERR_NOTFOUND, "layer '%s' does not "
		    "exist in source '%s'", name, s->q->src.name);
	if ((l->name = strdup(name)) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	l->geom_type = wkbUnknown;
	if (s->gpkg) {
		if (sqlite3_prepare_v2(s->db, "SELECT column_name, srs_id, "
		    "geometry_type_name FROM gpkg_geometry_columns WHERE "
		    "table_name = ?1", -1, &st, NULL) != SQLITE_OK)
			return sq_fail(s, err, "gpkg_geometry_columns");
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			const char *t = (const char *)sqlite3_column_text(st, 2);

			l->geom = strdup((const char *)sqlite3_column_text(st,
			    0));
			srs_id = sqlite3_column_int(st, 1);
			l->srid = srs_id;
			if (t != NULL) {
				OGRGeometryH g = NULL;
				char wkt[64];

				/* the type's name, as WKT of an empty one */
				snprintf(wkt, sizeof(wkt), "%s EMPTY", t);
				if (strcasecmp(t, "GEOMETRY") != 0) {
					char *p = wkt;

					if (OGR_G_CreateFromWkt(&p, NULL, &g) ==
					    OGRERR_NONE) {
						l->geom_type = OGR_G_GetGeometryType(g);
						OGR_G_DestroyGeometry(g);
					}
				}
			}
		}
		sqlite3_finalize(st);
		st = NULL;
		if (l->geom != NULL) {
			CPLErrorReset();
			l->srs = gpkg_srs(s, srs_id, err);
			if (l->srs == NULL && err->code != 0)
				return err->code;
			if ((rc = q_to_crs84(l->srs, &s->ct, err)) != SPOOL_OK)
				return rc;
			if ((s->rtree = sqlite3_mprintf("rtree_%s_%s", name,
			    l->geom)) == NULL)
				return spool_fail(err, SPOOL_ERR_NOMEM,
				    "out of memory");
			if (!exists(s, "table", s->rtree)) {
				sqlite3_free(s->rtree);
				s->rtree = NULL;
			}
		}
	}
	if (sqlite3_prepare_v2(s->db, "SELECT name, type, pk FROM "
	    "pragma_table_info(?1) ORDER BY cid", -1, &st, NULL) != SQLITE_OK)
		return sq_fail(s, err, "table_info");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *c = (const char *)sqlite3_column_text(st, 0);
		const char *t = (const char *)sqlite3_column_text(st, 1);
		int text;
		enum qf_type ft = decl_type(t, &text);

		if (c == NULL)
			continue;
		if (sqlite3_column_int(st, 2) > 0) {
			npk++;
			if (ft == QF_INT && fid == NULL &&
			    (fid = strdup(c)) == NULL) {
				rc = spool_fail(err, SPOOL_ERR_NOMEM,
				    "out of memory");
				goto out;
			}
			if (ft == QF_INT)
				continue;
		}
		if (l->geom != NULL && strcmp(c, l->geom) == 0)
			continue;
		if (q_layer_add_field(l, c, ft, text) != 0) {
			rc = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	if (step != SQLITE_DONE) {
		rc = sq_fail(s, err, "table_info");
		goto out;
	}
	/* an INTEGER PRIMARY KEY alone is the feature id */
	if (npk == 1 && fid != NULL) {
		l->fid = fid;
		l->fid_int = 1;
		fid = NULL;
	} else if (fid != NULL) {
		/* part of a composite key: an ordinary field after all */
		if (q_layer_add_field(l, fid, QF_INT, 0) != 0) {
			rc = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
			goto out;
		}
	}
	rc = SPOOL_OK;
out:
	free(fid);
	sqlite3_finalize(st);
	return rc;
}

static int
bind(sqlite3_stmt *st, int i, const struct qval *v)
{
	switch (v->t) {
	case QV_NULL:
		return sqlite3_bind_null(st, i);
	case QV_INT:
	case QV_BOOL:
		return sqlite3_bind_int64(st, i, v->i);
	case QV_REAL:
		return sqlite3_bind_double(st, i, v->d);
	case QV_BLOB:
		return sqlite3_bind_blob64(st, i, v->s, v->n, SQLITE_STATIC);
	default:
		return sqlite3_bind_text64(st, i, v->s, v->n, SQLITE_STATIC,
		    SQLITE_UTF8);
	}
}

static void
column_value(sqlite3_stmt *st, int i, enum qf_type decl, struct qval *v)
{
	memset(v, 0, sizeof(*v));
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL:
		v->t = QV_NULL;
		break;
	case SQLITE_INTEGER:
		v->t = decl == QF_BOOL ? QV_BOOL : QV_INT;
		v->i = sqlite3_column_int64(st, i);
		if (v->t == QV_BOOL)
			v->i = v->i != 0;
		break;
	case SQLITE_FLOAT:
		v->t = QV_REAL;
		v->d = sqlite3_column_double(st, i);
		break;
	case SQLITE_BLOB:
		v->t = QV_BLOB;
		v->s = sqlite3_column_blob(st, i);
		v->n = (size_t)sqlite3_column_bytes(st, i);
		break;
	default:
		v->t = QV_TEXT;
		v->s = (const char *)sqlite3_column_text(st, i);
		v->n = (size_t)sqlite3_column_bytes(st, i);
		if (v->s == NULL) {
			v->s = "";
			v->n = 0;
		}
		break;
	}
}

/* A GeoPackage blob -> a CRS84 geometry (NULL when none or not one). */
static OGRGeometryH
blob_geom(const void *blob, size_t n, OGRCoordinateTransformationH ct)
{
	const unsigned char *wkb;
	OGRGeometryH g = NULL;
	size_t wlen;
	int empty, has_env;

	wkb = gpkg_wkb(blob, n, &wlen, &empty, NULL, &has_env);
	if (wkb == NULL)
		return NULL;
	if (OGR_G_CreateFromWkbEx(wkb, NULL, &g, wlen) != OGRERR_NONE)
		return NULL;
	if (ct != NULL && OGR_G_Transform(g, ct) != OGRERR_NONE) {
		OGR_G_DestroyGeometry(g);
		return NULL;
	}
	return g;
}

/* Run a prepared statement whose columns are: [fid] [geom] fields... */
static int
fetch(struct sq *s, sqlite3_stmt *st, int has_fid, int geom_col,
    const struct qcol *cols, const int *colidx, size_t ncols, spool_err *err)
{
	struct qctx *q = s->q;
	struct qval *vals = calloc(ncols + 1, sizeof(*vals));
	struct qrow row;
	size_t i;
	int step, rc = SPOOL_OK;

	if (vals == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&row, 0, sizeof(row));
		if (has_fid) {
			row.has_fid = 1;
			row.fid.t = QV_INT;
			row.fid.i = sqlite3_column_int64(st, 0);
		}
		if (geom_col >= 0 &&
		    sqlite3_column_type(st, geom_col) == SQLITE_BLOB)
			row.geom = blob_geom(sqlite3_column_blob(st, geom_col),
			    (size_t)sqlite3_column_bytes(st, geom_col), s->ct);
		for (i = 0; i < ncols; i++)
			column_value(st, colidx[i], cols[i].type, &vals[i]);
		row.vals = vals;
		row.nvals = ncols;
		rc = q_row(q, &row, err);
		OGR_G_DestroyGeometry(row.geom);
		if (rc != 0)
			break;
	}
	free(vals);
	if (rc < 0)
		return rc;
	if (rc == 1 || step == SQLITE_DONE)
		return SPOOL_OK;
	if (step == SQLITE_INTERRUPT || q->timed_out || q->cancelled) {
		if (q->cancelled)
			return spool_fail(err, SPOOL_ERR_CANCELLED, "cancelled");
		return q_fail_timeout(q, err);
	}
	return sq_fail(s, err, "the query failed");
}

static int
add_sort(struct sq *s, struct sbuf *b, spool_err *err)
{
	const struct qreq *r = &s->q->req;
	const struct qlayer *l = &s->layer;
	size_t i;
	int by_fid = 0, k;

	for (i = 0; i < r->nsort; i++) {
		const char *f = r->sortby[i].field;

		sb_add(b, i == 0 ? " ORDER BY " : ", ");
		if (l->fid != NULL && strcmp(f, l->fid) == 0) {
			sb_ident(b, l->fid);
			by_fid = 1;
		} else if ((k = q_layer_field(l, f)) >= 0)
			sb_ident(b, l->fields[k].name);
		else
			return spool_fail(err, SPOOL_ERR_NOTFOUND, "sortby: "
			    "unknown property '%s' of layer '%s'", f, l->name);
		/* the same order as PostgreSQL's: NULL is the largest */
		sb_add(b, r->sortby[i].desc ? " DESC NULLS FIRST" :
		    " ASC NULLS LAST");
	}
	if (l->fid != NULL && !by_fid) {
		sb_add(b, r->nsort ? ", " : " ORDER BY ");
		sb_ident(b, l->fid);
	}
	return SPOOL_OK;
}

static int
run_layer(struct sq *s, spool_err *err)
{
	struct qctx *q = s->q;
	struct qlayer *l = &s->layer;
	struct cq_dialect d = { 0, sq_intersects, s, l };
	struct qparams p = { 0 };
	struct sbuf b;
	sqlite3_stmt *st = NULL;
	struct qcol *cols = NULL;
	int *sel = NULL, *colidx = NULL, col = 0, geom_col = -1, rc;
	size_t nsel = 0, i;
	struct qval v;

	sb_init(&b, Q_SQL_MAX);
	if ((rc = describe(s, q->req.layer, err)) != SPOOL_OK)
		goto out;
	if ((rc = q_select_fields(l, q->req.properties, &sel, &nsel,
	    err)) != SPOOL_OK)
		goto out;
	if ((rc = cq_compile(&s->expr, &q->req, l, err)) != SPOOL_OK)
		goto out;
	cols = calloc(nsel + 1, sizeof(*cols));
	colidx = calloc(nsel + 1, sizeof(*colidx));
	if (cols == NULL || colidx == NULL) {
		rc = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	sb_add(&b, "SELECT ");
	if (l->fid != NULL) {
		sb_ident(&b, l->fid);
		col++;
	}
	if (l->geom != NULL) {
		if (col)
			sb_add(&b, ", ");
		sb_ident(&b, l->geom);
		geom_col = col++;
	}
	for (i = 0; i < nsel; i++) {
		if (col)
			sb_add(&b, ", ");
		sb_ident(&b, l->fields[sel[i]].name);
		cols[i].name = l->fields[sel[i]].name;
		cols[i].type = l->fields[sel[i]].type;
		colidx[i] = col++;
	}
	if (col == 0)
		sb_add(&b, "NULL");
	sb_add(&b, " FROM ");
	sb_ident(&b, l->name);
	if (s->expr.root != NULL) {
		sb_add(&b, " WHERE ");
		if ((rc = cq_sql(&b, &p, &s->expr, &d, err)) != SPOOL_OK)
			goto out;
	}
	if ((rc = add_sort(s, &b, err)) != SPOOL_OK)
		goto out;
	memset(&v, 0, sizeof(v));
	v.t = QV_INT;
	v.i = q->eff_limit + 1; /* one more: was there more? */
	sb_add(&b, " LIMIT ");
	qp_add(&p, &b, &v);
	v.i = q->req.offset;
	sb_add(&b, " OFFSET ");
	qp_add(&p, &b, &v);
	if (b.oom) {
		rc = spool_fail(err, SPOOL_ERR_LIMIT, "the query grew past %d "
		    "bytes of SQL", Q_SQL_MAX);
		goto out;
	}
	if (q->debug)
		fprintf(stderr, "event=query_sql sql=%s\n", SPOOL_LQ(b.p));
	if (sqlite3_prepare_v3(s->db, b.p, (int)b.len, 0, &st,
	    NULL) != SQLITE_OK) {
		rc = sq_fail(s, err, "cannot prepare the query");
		goto out;
	}
	for (i = 0; i < p.n; i++)
		bind(st, (int)i + 1, &p.v[i]);
	if ((rc = q_begin(q, cols, nsel, l->fid, l->geom != NULL,
	    l->geom_type, err)) != SPOOL_OK)
		goto out;
	rc = fetch(s, st, l->fid != NULL, geom_col, cols, colidx, nsel, err);
out:
	sqlite3_finalize(st);
	free(sel);
	free(cols);
	free(colidx);
	qp_release(&p);
	sb_release(&b);
	return rc;
}

/* The only statement in sql?  0 yes; the tail must be blanks/comments. */
static int
one_statement(struct sq *s, const char *tail, spool_err *err)
{
	sqlite3_stmt *st = NULL;
	const char *rest = NULL;
	int rc;

	while (*tail && isspace((unsigned char)*tail))
		tail++;
	if (*tail == '\0')
		return SPOOL_OK;
	rc = sqlite3_prepare_v3(s->db, tail, -1, 0, &st, &rest);
	sqlite3_finalize(st);
	if (rc != SQLITE_OK || st != NULL)
		return spool_fail(err, SPOOL_ERR_FORMAT, "sql: one statement "
		    "only");
	return one_statement(s, rest, err);
}

static int
load_srs(struct sq *s, spool_err *err)
{
	sqlite3_stmt *st = NULL;
	struct sq_srs *n;
	int step;

	if (!s->gpkg)
		return SPOOL_OK;
	if (sqlite3_prepare_v2(s->db, "SELECT srs_id FROM "
	    "gpkg_spatial_ref_sys LIMIT 1000", -1, &st, NULL) != SQLITE_OK)
		return sq_fail(s, err, "gpkg_spatial_ref_sys");
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if ((n = realloc(s->srs, (s->nsrs + 1) * sizeof(*n))) == NULL) {
			sqlite3_finalize(st);
			return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		}
		s->srs = n;
		memset(&n[s->nsrs], 0, sizeof(*n));
		n[s->nsrs++].id = sqlite3_column_int(st, 0);
	}
	sqlite3_finalize(st);
	for (size_t i = 0; i < s->nsrs; i++) {
		spool_err e2 = { 0 };

		s->srs[i].srs = gpkg_srs(s, s->srs[i].id, &e2);
		s->srs[i].crs84 = s->srs[i].srs == NULL;
		if (s->srs[i].srs != NULL)
			q_to_crs84(s->srs[i].srs, &s->srs[i].ct, &e2);
	}
	return SPOOL_OK;
}

/* A GeoPackage blob of the user's SQL: its srs_id says its CRS. */
static OGRGeometryH
raw_geom(struct sq *s, const unsigned char *blob, size_t n)
{
	int32_t id;
	size_t i;

	if (n < 8)
		return NULL;
	if (blob[3] & 1)
		id = (int32_t)((uint32_t)blob[4] | (uint32_t)blob[5] << 8 |
		    (uint32_t)blob[6] << 16 | (uint32_t)blob[7] << 24);
	else
		id = (int32_t)((uint32_t)blob[7] | (uint32_t)blob[6] << 8 |
		    (uint32_t)blob[5] << 16 | (uint32_t)blob[4] << 24);
	for (i = 0; i < s->nsrs; i++)
		if (s->srs[i].id == id)
			return blob_geom(blob, n, s->srs[i].ct);
	return blob_geom(blob, n, NULL);
}

static int
run_sql(struct sq *s, spool_err *err)
{
	struct qctx *q = s->q;
	const json_t *pv;
	sqlite3_stmt *st = NULL;
	struct qcol *cols = NULL;
	struct qval *vals = NULL;
	char **names = NULL;
	struct qrow row;
	const char *tail = NULL;
	int ncol, geom_col = -1, step, rc, k, np;
	size_t i, nc = 0;

	if ((rc = load_srs(s, err)) != SPOOL_OK)
		return rc;
	s->raw = 1;
	if (sqlite3_prepare_v3(s->db, q->req.sql, -1, 0, &st,
	    &tail) != SQLITE_OK) {
		rc = refused(s, err);
		goto out;
	}
	if (st == NULL) {
		rc = spool_fail(err, SPOOL_ERR_FORMAT, "sql: no statement");
		goto out;
	}
	if ((rc = one_statement(s, tail, err)) != SPOOL_OK)
		goto out;
	if (!sqlite3_stmt_readonly(st)) {
		rc = spool_fail(err, SPOOL_ERR_FORMAT, "sql: refused: the "
		    "statement is not read-only");
		goto out;
	}
	np = sqlite3_bind_parameter_count(st);
	if ((size_t)np != json_array_size(q->req.sql_params)) {
		rc = spool_fail(err, SPOOL_ERR_FORMAT, "sql: the statement "
		    "takes %d parameters, params gives %zu", np,
		    json_array_size(q->req.sql_params));
		goto out;
	}
	json_array_foreach(q->req.sql_params, i, pv) {
		k = (int)i + 1;
		if (json_is_string(pv))
			sqlite3_bind_text(st, k, json_string_value(pv), -1,
			    SQLITE_STATIC);
		else if (json_is_integer(pv))
			sqlite3_bind_int64(st, k, json_integer_value(pv));
		else if (json_is_real(pv))
			sqlite3_bind_double(st, k, json_real_value(pv));
		else if (json_is_boolean(pv))
			sqlite3_bind_int(st, k, json_is_true(pv));
		else
			sqlite3_bind_null(st, k);
	}
	ncol = sqlite3_column_count(st);
	cols = calloc((size_t)ncol + 1, sizeof(*cols));
	vals = calloc((size_t)ncol + 1, sizeof(*vals));
	names = calloc((size_t)ncol + 1, sizeof(*names));
	if (cols == NULL || vals == NULL || names == NULL) {
		rc = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (k = 0; k < ncol; k++) {
		const char *dt = sqlite3_column_decltype(st, k);
		int text;

		if (geom_col < 0 && s->gpkg && is_geom_type(dt)) {
			geom_col = k;
			continue;
		}
		/* a name lives only until the statement is re-prepared,
		 * which its first step may do */
		if ((names[nc] = strdup(sqlite3_column_name(st, k))) == NULL) {
			rc = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
			goto out;
		}
		cols[nc].name = names[nc];
		cols[nc++].type = decl_type(dt, &text);
	}
	if ((rc = q_begin(q, cols, nc, NULL, geom_col >= 0, wkbUnknown,
	    err)) != SPOOL_OK)
		goto out;
	rc = 0;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&row, 0, sizeof(row));
		if (geom_col >= 0 && sqlite3_column_type(st, geom_col) ==
		    SQLITE_BLOB)
			row.geom = raw_geom(s, sqlite3_column_blob(st, geom_col),
			    (size_t)sqlite3_column_bytes(st, geom_col));
		for (k = 0, i = 0; k < ncol; k++)
			if (k != geom_col) {
				column_value(st, k, cols[i].type, &vals[i]);
				i++;
			}
		row.vals = vals;
		row.nvals = nc;
		rc = q_row(q, &row, err);
		OGR_G_DestroyGeometry(row.geom);
		if (rc != 0)
			break;
	}
	if (rc < 0)
		goto out;
	if (rc == 1 || step == SQLITE_DONE)
		rc = SPOOL_OK;
	else if (step == SQLITE_INTERRUPT || q->timed_out || q->cancelled)
		rc = q->cancelled ? spool_fail(err, SPOOL_ERR_CANCELLED,
		    "cancelled") : q_fail_timeout(q, err);
	else
		rc = sq_fail(s, err, "sql: the statement failed");
out:
	sqlite3_finalize(st);
	for (i = 0; names != NULL && names[i] != NULL; i++)
		free(names[i]);
	free(names);
	free(cols);
	free(vals);
	return rc;
}

int
q_sqlite_run(struct qctx *q, const char *path, spool_err *err)
{
	struct sq s;
	int rc, remain;
	size_t i;

	memset(&s, 0, sizeof(s));
	s.q = q;
	s.last_progress = q_now_ms();
	if (sqlite3_open_v2(path, &s.db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		rc = spool_fail(err, SPOOL_ERR_STORE, "cannot open source '%s': "
		    "%s", q->src.name, s.db ? sqlite3_errmsg(s.db) :
		    "out of memory");
		goto out;
	}
	sqlite3_extended_result_codes(s.db, 1);
	sqlite3_db_config(s.db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(s.db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
	sqlite3_db_config(s.db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(s.db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
	sqlite3_limit(s.db, SQLITE_LIMIT_ATTACHED, 0);
	sqlite3_limit(s.db, SQLITE_LIMIT_SQL_LENGTH, Q_SQL_MAX);
	if (q->src.max_bytes < INT32_MAX)
		sqlite3_limit(s.db, SQLITE_LIMIT_LENGTH, (int)q->src.max_bytes);
	remain = (int)(q->deadline_ms - q_now_ms());
	sqlite3_busy_timeout(s.db, remain > 0 ? remain : 1);
	sqlite3_progress_handler(s.db, 1000, progress, &s);
	sqlite3_set_authorizer(s.db, authorizer, &s);
	if (sqlite3_create_function_v2(s.db, "spool_intersects", 2,
	    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, &s,
	    fn_intersects, NULL, NULL, NULL) != SQLITE_OK) {
		rc = sq_fail(&s, err, "cannot register spool_intersects");
		goto out;
	}
	s.gpkg = exists(&s, "table", "gpkg_contents");
	if (q->req.sql != NULL)
		rc = run_sql(&s, err);
	else
		rc = run_layer(&s, err);
	if (rc != SPOOL_OK && (q->timed_out || q->cancelled) &&
	    rc != SPOOL_ERR_CANCELLED)
		rc = q->cancelled ? spool_fail(err, SPOOL_ERR_CANCELLED,
		    "cancelled") : q_fail_timeout(q, err);
out:
	cq_release(&s.expr);
	q_layer_release(&s.layer);
	if (s.ct != NULL)
		OCTDestroyCoordinateTransformation(s.ct);
	for (i = 0; i < s.nsrs; i++) {
		if (s.srs[i].ct != NULL)
			OCTDestroyCoordinateTransformation(s.srs[i].ct);
		if (s.srs[i].srs != NULL)
			OSRDestroySpatialReference(s.srs[i].srs);
	}
	free(s.srs);
	sqlite3_free(s.rtree);
	sqlite3_close_v2(s.db);
	return rc;
}
