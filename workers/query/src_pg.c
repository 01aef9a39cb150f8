/*
 * src_pg.c - PostgreSQL / PostGIS sources.
 *
 * Read-only by the engine: every task is one transaction BEGIN READ ONLY
 * with SET LOCAL statement_timeout (the source's timeout, or what is left
 * of the task's), ended by ROLLBACK, as the role of the source's URL
 * (which should hold SELECT on the layers and nothing more).  Statements
 * go through the extended protocol (PQsendQueryParams), which refuses
 * more than one statement in a string, and values are always bound.
 * A user's SQL (allow_sql) is first EXPLAINed: every table its plan
 * reads must be one of the source's layers.  Rows stream one at a time
 * (single-row mode), so max_rows and max_bytes stop a result early and
 * the rest is cancelled on the server.
 *
 * The long-lived worker keeps a few connections open between tasks
 * (one per source URL), so a query costs its own round trips only.
 *
 * Over 800 lines and kept whole: one source engine: connection reuse, the
 * pipelined steady state, allow_sql's plan check and row streaming share
 * one connection state and read best together.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <libpq-fe.h>

#include "query.h"

#define PG_CONN_MAX 4
/* queries kept prepared on a connection (a long-lived worker's steady
 * state asks the same few shapes with other values) */
#define PG_STMT_MAX 16
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700

/* The worker's connections; a program's state, not a library's. */
static struct pg_conn {
	char *info;
	PGconn *c;
	int64_t used;
	int rollback_sent;  /* its ROLLBACK's answer is not read yet */
	/* the last layer described on it, to build the next query on
	 * before the server confirms it is still so (q_pg_run) */
	char *cat_layer;
	PGresult *cat;
	PGresult *sig;      /* sig_sql's answer when cat was read */
	int sig_ready;      /* SIG_STMT is prepared on this connection */
	/* the steady state's queries, prepared (stmt_for) */
	struct pg_stmt {
		char *key;  /* the layer's signature, then the SQL */
		unsigned id;        /* named "spool_q<id>" */
		uint64_t used;
	} stmts[PG_STMT_MAX];
	unsigned stmt_next;
	uint64_t stmt_tick;
} conns[PG_CONN_MAX];

struct pg {
	struct qctx *q;
	PGconn *c;
	struct pg_conn *slot;
	struct qlayer layer;
	struct cq_expr expr;
	char *rel;              /* "schema"."table", quoted */
	unsigned geom_oid;      /* the geometry type's oid, 0 if none */
	/* raw results: SRID -> transformation to CRS84 */
	struct pg_srid {
		int srid;
		OGRCoordinateTransformationH ct;
	} *srids;
	size_t nsrids;
	/* what the row callback needs */
	struct qcol *cols;
	size_t ncols;
	int *colidx;
	int geom_col;
	int has_fid;
	int raw;
	int cacheable;          /* the description alone told the SRID */
	char **names;           /* raw: the column names (results go) */
	char *hexbuf;
	size_t hexcap;
};

static void
cat_forget(struct pg_conn *c)
{
	free(c->cat_layer);
	PQclear(c->cat);
	PQclear(c->sig);
	c->cat_layer = NULL;
	c->cat = NULL;
	c->sig = NULL;
}

static void
stmts_forget(struct pg_conn *c)
{
	size_t i;

	for (i = 0; i < PG_STMT_MAX; i++)
		free(c->stmts[i].key);
	memset(c->stmts, 0, sizeof(c->stmts));
}

void
q_pg_cleanup(void)
{
	size_t i;

	for (i = 0; i < PG_CONN_MAX; i++) {
		if (conns[i].c != NULL)
			PQfinish(conns[i].c);
		free(conns[i].info);
		cat_forget(&conns[i]);
		stmts_forget(&conns[i]);
		memset(&conns[i], 0, sizeof(conns[i]));
	}
}

static void
slot_drop(struct pg_conn *s)
{
	if (s == NULL)
		return;
	if (s->c != NULL)
		PQfinish(s->c);
	free(s->info);
	cat_forget(s);
	stmts_forget(s);
	memset(s, 0, sizeof(*s));
}

/* libpq's message, first line only */
static const char *
line1(const char *m, char *buf, size_t n)
{
	size_t k = strcspn(m, "\n");

	snprintf(buf, n, "%.*s", (int)(k < n ? k : n - 1), m);
	return buf;
}

static int
connect_source(struct pg *s, const char *info, spool_err *err)
{
	struct qctx *q = s->q;
	const char *kw[] = { "dbname", "connect_timeout", "application_name",
	    NULL };
	const char *val[4];
	char tmo[32], msg[300];
	struct pg_conn *slot = NULL;
	int64_t remain = q->deadline_ms - q_now_ms();
	size_t i;

	for (i = 0; i < PG_CONN_MAX; i++)
		if (conns[i].info != NULL && strcmp(conns[i].info, info) == 0) {
			slot = &conns[i];
			break;
		}
	if (slot != NULL && slot->rollback_sent) {
		/* the last task's ROLLBACK, answered while we were away */
		PGresult *r;

		while ((r = PQgetResult(slot->c)) != NULL)
			PQclear(r);
		slot->rollback_sent = 0;
	}
	if (slot != NULL && (PQstatus(slot->c) != CONNECTION_OK ||
	    PQtransactionStatus(slot->c) != PQTRANS_IDLE))
		slot_drop(slot);
	if (slot == NULL || slot->c == NULL) {
		/* a free slot, or the least recently used one */
		slot = &conns[0];
		for (i = 0; i < PG_CONN_MAX; i++) {
			if (conns[i].c == NULL) {
				slot = &conns[i];
				break;
			}
			if (conns[i].used < slot->used)
				slot = &conns[i];
		}
		slot_drop(slot);
		snprintf(tmo, sizeof(tmo), "%lld", (long long)(remain > 2000 ?
		    (remain + 999) / 1000 : 2));
		val[0] = info;
		val[1] = tmo;
		val[2] = "spool-query";
		val[3] = NULL;
		slot->c = PQconnectdbParams(kw, val, 1);
		if (slot->c == NULL || PQstatus(slot->c) != CONNECTION_OK) {
			spool_fail(err, SPOOL_ERR_BUSY, "cannot connect to "
			    "source '%s': %s", q->src.name, slot->c ?
			    line1(PQerrorMessage(slot->c), msg, sizeof(msg)) :
			    "out of memory");
			slot_drop(slot);
			return err->code;
		}
		if ((slot->info = strdup(info)) == NULL) {
			slot_drop(slot);
			return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		}
	}
	slot->used = q_now_ms();
	s->slot = slot;
	s->c = slot->c;
	return SPOOL_OK;
}

static int
pg_err(struct pg *s, const PGresult *r, const char *what, spool_err *err)
{
	const char *m = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) :
	    NULL;
	char msg[300];

	if (m == NULL)
		m = line1(PQerrorMessage(s->c), msg, sizeof(msg));
	return spool_fail(err, SPOOL_ERR_STORE, "%s: %s", what, m);
}

static int
is_timeout(const PGresult *r)
{
	const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	return st != NULL && strcmp(st, "57014") == 0;
}

/* One statement of ours, waited for; the result's status must be want. */
static PGresult *
exec(struct pg *s, const char *sql, int n, const char *const *vals,
    ExecStatusType want, const char *what, spool_err *err)
{
	PGresult *r = PQexecParams(s->c, sql, n, NULL, vals, NULL, NULL, 0);

	if (r != NULL && PQresultStatus(r) == want)
		return r;
	if (is_timeout(r))
		q_fail_timeout(s->q, err);
	else
		pg_err(s, r, what, err);
	PQclear(r);
	return NULL;
}

static enum qf_type
pg_type(const char *t, int *text)
{
	*text = 0;
	if (!strcmp(t, "int2") || !strcmp(t, "int4") || !strcmp(t, "int8"))
		return QF_INT;
	if (!strcmp(t, "float4") || !strcmp(t, "float8") ||
	    !strcmp(t, "numeric"))
		return QF_REAL;
	if (!strcmp(t, "bool"))
		return QF_BOOL;
	if (!strcmp(t, "bytea"))
		return QF_BLOB;
	if (!strcmp(t, "text") || !strcmp(t, "varchar") ||
	    !strcmp(t, "bpchar") || !strcmp(t, "name") ||
	    !strcmp(t, "citext")) {
		*text = 1;
		return QF_TEXT;
	}
	return QF_OTHER;
}

/* "a.b" -> "a"."b"; "b" -> "b" (to_regclass resolves it on the path) */
static int
quoted_rel(const char *layer, struct sbuf *b)
{
	const char *dot = strchr(layer, '.');

	if (dot != NULL) {
		char *schema = strndup(layer, (size_t)(dot - layer));

		if (schema == NULL)
			return -1;
		sb_ident(b, schema);
		free(schema);
		sb_add(b, ".");
		sb_ident(b, dot + 1);
	} else
		sb_ident(b, layer);
	return b->oom ? -1 : 0;
}

/* A layer's columns, types, primary key (asked with BEGIN, below). */
static const char describe_sql[] =
    "SELECT n.nspname, c.relname, a.attname, t.typname, a.atttypmod, "
    "EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND "
    "i.indisprimary AND i.indnkeyatts = 1 AND i.indkey[0] = a.attnum) "
    "FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND "
    "NOT a.attisdropped "
    "JOIN pg_type t ON t.oid = a.atttypid "
    "WHERE c.oid = to_regclass($1) AND "
    "c.relkind IN ('r', 'v', 'm', 'p', 'f') ORDER BY a.attnum";

/*
 * What a long-lived worker asks before each query on the layer it last
 * described, to know it is still so: the relation, and its columns
 * (name, type, typmod) and primary key, in one row.  Prepared once per
 * connection (SIG_STMT): 0.15 ms where describe_sql takes 0.6.
 */
#define SIG_STMT "spool_layer_sig"
static const char sig_sql[] =
    "SELECT c.oid, c.relnamespace, c.relname, c.relkind, "
    "(SELECT array_agg(ROW(a.attname, a.atttypid, a.atttypmod) "
    "ORDER BY a.attnum) FROM pg_attribute a WHERE a.attrelid = c.oid AND "
    "a.attnum > 0 AND NOT a.attisdropped), "
    "(SELECT array_agg(i.indkey::text) FROM pg_index i WHERE "
    "i.indrelid = c.oid AND i.indisprimary) "
    "FROM pg_class c WHERE c.oid = to_regclass($1)";

/* The layer from describe_sql's answer r. */
static int
describe(struct pg *s, const char *name, const PGresult *r, spool_err *err)
{
	struct qlayer *l = &s->layer;
	struct sbuf rel;
	const char *v[3];
	int i, n, typmod = -1, rc;

	sb_init(&rel, 2048);
	if ((n = PQntuples(r)) == 0) {
		rc = spool_fail(err, SPOOL_ERR_NOTFOUND, "layer '%s' does not "
		    "exist in source '%s'", name, s->q->src.name);
		goto out;
	}
	if ((l->name = strdup(name)) == NULL)
		goto nomem;
	sb_release(&rel);
	sb_init(&rel, 2048);
	sb_ident(&rel, PQgetvalue(r, 0, 0));
	sb_add(&rel, ".");
	sb_ident(&rel, PQgetvalue(r, 0, 1));
	if (rel.oom || (s->rel = strdup(rel.p)) == NULL)
		goto nomem;
	l->geom_type = wkbUnknown;
	for (i = 0; i < n; i++) {
		const char *col = PQgetvalue(r, i, 2);
		const char *typ = PQgetvalue(r, i, 3);
		int pk = PQgetvalue(r, i, 5)[0] == 't', text;
		enum qf_type ft = pg_type(typ, &text);

		if (strcmp(typ, "geometry") == 0 || strcmp(typ,
		    "geography") == 0) {
			/* the first geometry is the layer's; others are not
			 * fields */
			if (l->geom == NULL && strcmp(typ, "geometry") == 0) {
				if ((l->geom = strdup(col)) == NULL)
					goto nomem;
				typmod = atoi(PQgetvalue(r, i, 4));
			}
			continue;
		}
		if (pk && l->fid == NULL) {
			if ((l->fid = strdup(col)) == NULL)
				goto nomem;
			l->fid_int = ft == QF_INT;
			continue;
		}
		if (q_layer_add_field(l, col, ft, text) != 0)
			goto nomem;
	}
	if (l->geom != NULL && typmod >= 0) {
		/* PostGIS typmod: SRID in bits 8-28 (signed), type 2-7, Z 1,
		 * M 0 */
		int t = (typmod & 0xFC) >> 2;

		l->srid = ((typmod & 0x0FFFFF00) - (typmod & 0x10000000)) >> 8;
		if (t >= 1 && t <= 7)
			l->geom_type = OGR_GT_SetModifier((OGRwkbGeometryType)t,
			    (typmod & 2) != 0, (typmod & 1) != 0);
	}
	s->cacheable = 1;
	if (l->geom != NULL && l->srid == 0) {
		/* an unconstrained column: what geometry_columns says */
		s->cacheable = 0;
		PGresult *g;

		v[0] = PQgetvalue(r, 0, 0);
		v[1] = PQgetvalue(r, 0, 1);
		v[2] = l->geom;
		g = exec(s, "SELECT srid FROM geometry_columns WHERE "
		    "f_table_schema = $1 AND f_table_name = $2 AND "
		    "f_geometry_column = $3", 3, v, PGRES_TUPLES_OK,
		    "cannot read geometry_columns", err);
		if (g == NULL) {
			rc = err->code;
			goto out;
		}
		if (PQntuples(g) > 0)
			l->srid = atoi(PQgetvalue(g, 0, 0));
		PQclear(g);
	}
	if (l->geom != NULL && l->srid != 0 && l->srid != 4326 &&
	    (l->srs = q_srs_epsg(l->srid)) == NULL) {
		rc = spool_fail(err, SPOOL_ERR_FORMAT, "layer '%s': SRID %d is "
		    "not an EPSG code PROJ knows", name, l->srid);
		goto out;
	}
	rc = SPOOL_OK;
	goto out;
nomem:
	rc = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
out:
	sb_release(&rel);
	return rc;
}

static int
pg_intersects(void *ctx, struct sbuf *b, struct qparams *p,
    const struct cq_expr *e, int g)
{
	struct pg *s = ctx;
	const struct cq_geom *cg = &e->geoms[g];
	struct qval v;

	memset(&v, 0, sizeof(v));
	sb_add(b, "ST_Intersects(");
	sb_ident(b, s->layer.geom);
	if (cg->is_rect) {
		sb_add(b, ", ST_MakeEnvelope(");
		v.t = QV_REAL;
		v.d = cg->env.MinX;
		qp_add(p, b, &v);
		sb_add(b, ", ");
		v.d = cg->env.MinY;
		qp_add(p, b, &v);
		sb_add(b, ", ");
		v.d = cg->env.MaxX;
		qp_add(p, b, &v);
		sb_add(b, ", ");
		v.d = cg->env.MaxY;
		qp_add(p, b, &v);
		sb_add(b, ", ");
	} else {
		size_t n = OGR_G_WkbSizeEx(cg->g);
		unsigned char *wkb = malloc(n ? n : 1);

		if (wkb == NULL || OGR_G_ExportToIsoWkb(cg->g, wkbNDR,
		    wkb) != OGRERR_NONE) {
			free(wkb);
			b->oom = 1;
			return 0;
		}
		v.t = QV_BLOB;
		v.n = n;
		if ((v.s = qp_keep(p, (char *)wkb)) == NULL) {
			b->oom = 1;
			return 0;
		}
		sb_add(b, ", ST_GeomFromWKB(");
		qp_add(p, b, &v);
		sb_add(b, "::bytea, ");
	}
	v.t = QV_INT;
	v.i = s->layer.srid;
	qp_add(p, b, &v);
	sb_add(b, "::integer))");
	return 0;
}

/* The parameters as libpq's text values (kept in p). */
static int
text_values(struct qparams *p, const char ***out)
{
	static const char hex[] = "0123456789abcdef";
	const char **v = calloc(p->n + 1, sizeof(*v));
	char buf[64], *t;
	size_t i, k;

	if (v == NULL)
		return -1;
	for (i = 0; i < p->n; i++) {
		const struct qval *x = &p->v[i];

		t = NULL;
		switch (x->t) {
		case QV_NULL:
			v[i] = NULL;
			continue;
		case QV_INT:
			snprintf(buf, sizeof(buf), "%lld", (long long)x->i);
			t = strdup(buf);
			break;
		case QV_REAL:
			q_fmt_double(buf, sizeof(buf), x->d);
			t = strdup(buf);
			break;
		case QV_BOOL:
			t = strdup(x->i ? "true" : "false");
			break;
		case QV_BLOB:
			if ((t = malloc(2 * x->n + 3)) == NULL)
				break;
			t[0] = '\\';
			t[1] = 'x';
			for (k = 0; k < x->n; k++) {
				t[2 + 2 * k] = hex[(unsigned char)x->s[k] >> 4];
				t[3 + 2 * k] = hex[(unsigned char)x->s[k] & 15];
			}
			t[2 + 2 * x->n] = '\0';
			break;
		default:
			v[i] = x->s;
			continue;
		}
		if ((v[i] = qp_keep(p, t)) == NULL) {
			free(v);
			return -1;
		}
	}
	*out = v;
	return 0;
}

static int
unhex(struct pg *s, const char *h, size_t n, const unsigned char **out,
    size_t *len)
{
	size_t i, k;

	if (n >= 2 && h[0] == '\\' && h[1] == 'x') {
		h += 2;
		n -= 2;
	}
	if (n % 2 != 0)
		return -1;
	if (s->hexcap < n / 2 + 1) {
		char *nb = realloc(s->hexbuf, n / 2 + 1);

		if (nb == NULL)
			return -1;
		s->hexbuf = nb;
		s->hexcap = n / 2 + 1;
	}
	for (i = 0, k = 0; i < n; i += 2, k++) {
		int hi, lo;
		char c = h[i], d = h[i + 1];

		hi = c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 :
		    c - '0';
		lo = d >= 'a' ? d - 'a' + 10 : d >= 'A' ? d - 'A' + 10 :
		    d - '0';
		if (hi < 0 || hi > 15 || lo < 0 || lo > 15)
			return -1;
		s->hexbuf[k] = (char)(hi << 4 | lo);
	}
	*out = (const unsigned char *)s->hexbuf;
	*len = n / 2;
	return 0;
}

static OGRCoordinateTransformationH
srid_ct(struct pg *s, int srid)
{
	struct pg_srid *n;
	OGRSpatialReferenceH srs;
	spool_err e;
	size_t i;

	if (srid == 0 || srid == 4326)
		return NULL;
	for (i = 0; i < s->nsrids; i++)
		if (s->srids[i].srid == srid)
			return s->srids[i].ct;
	if ((n = realloc(s->srids, (s->nsrids + 1) * sizeof(*n))) == NULL)
		return NULL;
	s->srids = n;
	n[s->nsrids].srid = srid;
	n[s->nsrids].ct = NULL;
	if ((srs = q_srs_epsg(srid)) != NULL) {
		q_to_crs84(srs, &n[s->nsrids].ct, &e);
		OSRDestroySpatialReference(srs);
	}
	return n[s->nsrids++].ct;
}

/* PostGIS EWKB (hex): the SRID taken out, the rest is WKB OGR reads. */
static OGRGeometryH
ewkb_geom(struct pg *s, const char *hex, size_t n)
{
	const unsigned char *b;
	unsigned char *w;
	OGRGeometryH g = NULL;
	OGRCoordinateTransformationH ct;
	uint32_t type;
	size_t len;
	int le, srid = 0;

	if (unhex(s, hex, n, &b, &len) != 0 || len < 5)
		return NULL;
	w = (unsigned char *)b;
	le = w[0] == 1;
	type = le ? (uint32_t)w[1] | (uint32_t)w[2] << 8 |
	    (uint32_t)w[3] << 16 | (uint32_t)w[4] << 24 :
	    (uint32_t)w[4] | (uint32_t)w[3] << 8 | (uint32_t)w[2] << 16 |
	    (uint32_t)w[1] << 24;
	if (type & 0x20000000) {
		if (len < 9)
			return NULL;
		srid = le ? (int)((uint32_t)w[5] | (uint32_t)w[6] << 8 |
		    (uint32_t)w[7] << 16 | (uint32_t)w[8] << 24) :
		    (int)((uint32_t)w[8] | (uint32_t)w[7] << 8 |
		    (uint32_t)w[6] << 16 | (uint32_t)w[5] << 24);
		type &= ~0x20000000u;
		/* shift the header over the SRID */
		memmove(w + 4, w, 1);
		w += 4;
		len -= 4;
		if (le) {
			w[1] = type & 0xff; w[2] = type >> 8 & 0xff;
			w[3] = type >> 16 & 0xff; w[4] = type >> 24 & 0xff;
		} else {
			w[4] = type & 0xff; w[3] = type >> 8 & 0xff;
			w[2] = type >> 16 & 0xff; w[1] = type >> 24 & 0xff;
		}
	}
	if (OGR_G_CreateFromWkbEx(w, NULL, &g, len) != OGRERR_NONE)
		return NULL;
	if ((ct = srid_ct(s, srid)) != NULL &&
	    OGR_G_Transform(g, ct) != OGRERR_NONE) {
		OGR_G_DestroyGeometry(g);
		return NULL;
	}
	return g;
}

static void
pg_value(struct pg *s, const PGresult *r, int row, int col, struct qval *v)
{
	const char *t = PQgetvalue(r, row, col);
	size_t n = (size_t)PQgetlength(r, row, col);
	const unsigned char *b;
	char *end;

	memset(v, 0, sizeof(*v));
	if (PQgetisnull(r, row, col)) {
		v->t = QV_NULL;
		return;
	}
	switch (PQftype(r, col)) {
	case OID_INT2:
	case OID_INT4:
	case OID_INT8:
		v->t = QV_INT;
		v->i = strtoll(t, NULL, 10);
		return;
	case OID_FLOAT4:
	case OID_FLOAT8:
		v->t = QV_REAL;
		v->d = strtod(t, &end);
		return;
	case OID_NUMERIC:
		v->t = QV_NUMTEXT;
		break;
	case OID_BOOL:
		v->t = QV_BOOL;
		v->i = t[0] == 't';
		return;
	case OID_BYTEA:
		if (unhex(s, t, n, &b, &v->n) == 0) {
			v->t = QV_BLOB;
			v->s = (const char *)b;
			return;
		}
		v->t = QV_TEXT;
		break;
	default:
		v->t = QV_TEXT;
		break;
	}
	v->s = t;
	v->n = n;
}

/* The columns of a user's statement: the first geometry is the
 * geometry, the rest are properties. */
static int
raw_columns(struct pg *s, const PGresult *r, spool_err *err)
{
	int i, n = PQnfields(r);

	s->cols = calloc((size_t)n + 1, sizeof(*s->cols));
	s->colidx = calloc((size_t)n + 1, sizeof(*s->colidx));
	s->names = calloc((size_t)n + 1, sizeof(*s->names));
	if (s->cols == NULL || s->colidx == NULL || s->names == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	s->geom_col = -1;
	for (i = 0; i < n; i++) {
		unsigned t = PQftype(r, i);

		if (s->geom_col < 0 && s->geom_oid != 0 && t == s->geom_oid) {
			s->geom_col = i;
			continue;
		}
		/* the writer keeps the names past this result */
		if ((s->names[s->ncols] = strdup(PQfname(r, i))) == NULL)
			return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		s->cols[s->ncols].name = s->names[s->ncols];
		s->cols[s->ncols].type = t == OID_INT2 || t == OID_INT4 ||
		    t == OID_INT8 ? QF_INT : t == OID_FLOAT4 ||
		    t == OID_FLOAT8 || t == OID_NUMERIC ? QF_REAL :
		    t == OID_BOOL ? QF_BOOL : t == OID_BYTEA ? QF_BLOB :
		    QF_TEXT;
		s->colidx[s->ncols++] = i;
	}
	return SPOOL_OK;
}

/* A result's rows -> q_row: 0 go on, 1 stop, <0 error.  In single-row
 * mode that is one row, and none in the last result. */
static int
rows(struct pg *s, const PGresult *r, spool_err *err)
{
	struct qval *vals = NULL;
	struct qrow row;
	size_t i;
	int rc = 0, k;

	if (!s->q->out_open) {
		if (s->raw && (rc = raw_columns(s, r, err)) != SPOOL_OK)
			return rc;
		if ((rc = q_begin(s->q, s->cols, s->ncols, s->raw ? NULL :
		    s->layer.fid, s->raw ? s->geom_col >= 0 :
		    s->layer.geom != NULL, s->raw ? wkbUnknown :
		    s->layer.geom_type, err)) != SPOOL_OK)
			return rc;
	}
	if (PQntuples(r) == 0)
		return 0;
	if ((vals = calloc(s->ncols + 1, sizeof(*vals))) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	for (k = 0; k < PQntuples(r) && rc == 0; k++) {
		memset(&row, 0, sizeof(row));
		if (s->has_fid) {
			row.has_fid = 1;
			pg_value(s, r, k, 0, &row.fid);
			if (row.fid.t == QV_BLOB)
				row.fid.t = QV_NULL;
		}
		if (s->geom_col >= 0 && !PQgetisnull(r, k, s->geom_col)) {
			const char *h = PQgetvalue(r, k, s->geom_col);
			size_t hn = (size_t)PQgetlength(r, k, s->geom_col), n;
			const unsigned char *w;

			if (s->raw)
				row.geom = ewkb_geom(s, h, hn);
			else if (unhex(s, h, hn, &w, &n) == 0)
				OGR_G_CreateFromWkbEx(w, NULL, &row.geom, n);
		}
		for (i = 0; i < s->ncols; i++)
			pg_value(s, r, k, s->colidx[i], &vals[i]);
		row.vals = vals;
		row.nvals = s->ncols;
		rc = q_row(s->q, &row, err);
		OGR_G_DestroyGeometry(row.geom);
	}
	free(vals);
	return rc;
}

static void
cancel(struct pg *s)
{
	PGcancel *c = PQgetCancel(s->c);
	char buf[256];

	if (c != NULL) {
		PQcancel(c, buf, sizeof(buf));
		PQfreeCancel(c);
	}
}

/* The rows of the query sent last, through rows() until done or
 * stopped (in a pipeline: until its end). */
static int
receive(struct pg *s, const char *what, spool_err *err)
{
	struct qctx *q = s->q;
	/* why we cancelled: the rest was not wanted, or time ran out */
	enum { NONE, UNWANTED, STOPPED } cancelled = NONE;
	int done = 0, rc = SPOOL_OK, r;
	PGresult *res;

	PQsetSingleRowMode(s->c);
	for (;;) {
		while (PQisBusy(s->c)) {
			struct pollfd pf = { PQsocket(s->c), POLLIN, 0 };

			if (poll(&pf, 1, 100) < 0 && errno != EINTR)
				break;
			if (!PQconsumeInput(s->c))
				break;
			/* the server's statement_timeout stops it; this is
			 * for spoold's cancel, or a server that does not
			 * answer at all */
			if (cancelled == NONE && q_check(q) != SPOOL_OK &&
			    (q->cancelled || q_now_ms() > q->deadline_ms +
			    2000)) {
				cancel(s);
				cancelled = STOPPED;
			}
		}
		if ((res = PQgetResult(s->c)) == NULL)
			break;
		switch (PQresultStatus(res)) {
		case PGRES_SINGLE_TUPLE:
		case PGRES_TUPLES_OK:
			if (done)
				break;
			if ((r = rows(s, res, err)) == 0)
				break;
			done = 1;
			if (r < 0)
				rc = r;
			/* a LIMIT of ours ends it anyway; else stop it */
			if (cancelled == NONE && (r < 0 || s->raw ||
			    !q->row_cap)) {
				cancel(s);
				cancelled = UNWANTED;
			}
			break;
		case PGRES_FATAL_ERROR:
			done = 1;
			if (rc != SPOOL_OK)
				break;
			if (!is_timeout(res))
				rc = pg_err(s, res, what, err);
			else if (cancelled == UNWANTED)
				; /* ours, after what we wanted */
			else if (q->cancelled)
				rc = spool_fail(err, SPOOL_ERR_CANCELLED,
				    "cancelled");
			else
				rc = q_fail_timeout(q, err);
			break;
		case PGRES_COMMAND_OK:
			if (rc == SPOOL_OK)
				rc = spool_fail(err, SPOOL_ERR_FORMAT, "%s: the "
				    "statement returns no rows", what);
			break;
		default:
			if (rc == SPOOL_OK)
				rc = pg_err(s, res, what, err);
			break;
		}
		PQclear(res);
	}
	if (rc == SPOOL_OK && PQstatus(s->c) != CONNECTION_OK)
		rc = spool_fail(err, SPOOL_ERR_BUSY, "%s: the connection to "
		    "source '%s' was lost", what, q->src.name);
	if (rc == SPOOL_OK && (q->timed_out || q->cancelled))
		rc = q->cancelled ? spool_fail(err, SPOOL_ERR_CANCELLED,
		    "cancelled") : q_fail_timeout(q, err);
	if (rc == SPOOL_OK && !q->out_open)
		rc = spool_fail(err, SPOOL_ERR_FORMAT, "%s: the statement "
		    "returns no rows", what);
	return rc;
}

/* Send, then receive. */
static int
stream(struct pg *s, const char *sql, int n, const char *const *vals,
    const char *what, spool_err *err)
{
	if (!PQsendQueryParams(s->c, sql, n, NULL, vals, NULL, NULL, 0))
		return pg_err(s, NULL, what, err);
	return receive(s, what, err);
}

static int
add_sort(struct pg *s, struct sbuf *b, spool_err *err)
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
		} else if ((k = q_layer_field(l, f)) >= 0) {
			sb_ident(b, l->fields[k].name);
			if (l->fields[k].text_sort)
				sb_add(b, " COLLATE \"C\"");
		} else
			return spool_fail(err, SPOOL_ERR_NOTFOUND, "sortby: "
			    "unknown property '%s' of layer '%s'", f, l->name);
		sb_add(b, r->sortby[i].desc ? " DESC NULLS FIRST" :
		    " ASC NULLS LAST");
	}
	if (l->fid != NULL && !by_fid) {
		sb_add(b, r->nsort ? ", " : " ORDER BY ");
		sb_ident(b, l->fid);
	}
	return SPOOL_OK;
}

/* A layer query, built: its SQL and values. */
struct pgq {
	struct sbuf b;
	struct qparams p;
	const char **vals;
};

static void
pgq_release(struct pgq *x)
{
	free(x->vals);
	qp_release(&x->p);
	sb_release(&x->b);
	memset(x, 0, sizeof(*x));
}

/* The query of the request on the layer described by cat. */
static int
build(struct pg *s, const PGresult *cat, struct pgq *x, spool_err *err)
{
	struct qctx *q = s->q;
	struct qlayer *l = &s->layer;
	struct cq_dialect d = { 1, pg_intersects, s, l };
	struct sbuf *b = &x->b;
	int *sel = NULL, col = 0, rc;
	size_t nsel = 0, i;
	struct qval v;

	memset(x, 0, sizeof(*x));
	x->p.pg = 1;
	sb_init(b, Q_SQL_MAX);
	if ((rc = describe(s, q->req.layer, cat, err)) != SPOOL_OK)
		goto out;
	if ((rc = q_select_fields(l, q->req.properties, &sel, &nsel,
	    err)) != SPOOL_OK)
		goto out;
	if ((rc = cq_compile(&s->expr, &q->req, l, err)) != SPOOL_OK)
		goto out;
	s->cols = calloc(nsel + 1, sizeof(*s->cols));
	s->colidx = calloc(nsel + 1, sizeof(*s->colidx));
	if (s->cols == NULL || s->colidx == NULL) {
		rc = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	s->geom_col = -1;
	sb_add(b, "SELECT ");
	if (l->fid != NULL) {
		sb_ident(b, l->fid);
		s->has_fid = 1;
		col++;
	}
	if (l->geom != NULL) {
		if (col)
			sb_add(b, ", ");
		sb_add(b, "ST_AsBinary(");
		if (l->srid != 0 && l->srid != 4326) {
			sb_add(b, "ST_Transform(");
			sb_ident(b, l->geom);
			sb_add(b, ", 4326)");
		} else
			sb_ident(b, l->geom);
		sb_add(b, ")");
		s->geom_col = col++;
	}
	for (i = 0; i < nsel; i++) {
		if (col)
			sb_add(b, ", ");
		sb_ident(b, l->fields[sel[i]].name);
		s->cols[i].name = l->fields[sel[i]].name;
		s->cols[i].type = l->fields[sel[i]].type;
		s->colidx[i] = col++;
	}
	s->ncols = nsel;
	if (col == 0)
		sb_add(b, "NULL");
	sb_add(b, " FROM ");
	sb_add(b, s->rel);
	if (s->expr.root != NULL) {
		sb_add(b, " WHERE ");
		if ((rc = cq_sql(b, &x->p, &s->expr, &d, err)) != SPOOL_OK)
			goto out;
	}
	if ((rc = add_sort(s, b, err)) != SPOOL_OK)
		goto out;
	memset(&v, 0, sizeof(v));
	v.t = QV_INT;
	v.i = q->eff_limit + 1;
	sb_add(b, " LIMIT ");
	qp_add(&x->p, b, &v);
	v.i = q->req.offset;
	sb_add(b, " OFFSET ");
	qp_add(&x->p, b, &v);
	if (b->oom || text_values(&x->p, &x->vals) != 0) {
		rc = spool_fail(err, SPOOL_ERR_LIMIT, "the query grew past %d "
		    "bytes of SQL (or memory ran out)", Q_SQL_MAX);
		goto out;
	}
	if (q->debug)
		fprintf(stderr, "event=query_sql sql=%s\n", SPOOL_LQ(b->p));
	rc = SPOOL_OK;
out:
	free(sel);
	return rc;
}

static int
run_layer(struct pg *s, const PGresult *cat, spool_err *err)
{
	struct pgq x;
	int rc;

	if ((rc = build(s, cat, &x, err)) == SPOOL_OK)
		rc = stream(s, x.b.p, (int)x.p.n, x.vals, "the query failed",
		    err);
	pgq_release(&x);
	return rc;
}

/* Undo build(), for a second one. */
static void
unbuild(struct pg *s)
{
	cq_release(&s->expr);
	q_layer_release(&s->layer);
	free(s->rel);
	free(s->cols);
	free(s->colidx);
	s->rel = NULL;
	s->cols = NULL;
	s->colidx = NULL;
	s->ncols = 0;
	s->has_fid = 0;
	s->geom_col = -1;
}

static int
same_result(const PGresult *a, const PGresult *b)
{
	int i, j;

	if (PQntuples(a) != PQntuples(b) || PQnfields(a) != PQnfields(b))
		return 0;
	for (i = 0; i < PQntuples(a); i++)
		for (j = 0; j < PQnfields(a); j++)
			if (strcmp(PQgetvalue(a, i, j), PQgetvalue(b, i, j)) != 0)
				return 0;
	return 1;
}

/*
 * The prepared statement for the query sql on the layer as slot->sig
 * describes it, named in name: found, or a slot for it with *prepare set
 * (the caller prepares it in its pipeline, and stmt_drop()s it if the
 * server did not).  The key holds the layer's signature, so a statement
 * planned on another shape of the layer is never run on this one.  NULL:
 * none (no memory): the query goes unnamed.
 */
static struct pg_stmt *
stmt_for(struct pg *s, const char *sql, char *name, size_t n, int *prepare)
{
	struct pg_conn *c = s->slot;
	struct pg_stmt *e = NULL;
	struct sbuf key;
	size_t i;
	int j;

	*prepare = 0;
	if (c->sig == NULL || PQntuples(c->sig) != 1)
		return NULL;
	sb_init(&key, 4 * Q_SQL_MAX);
	for (j = 0; j < PQnfields(c->sig); j++) {
		sb_add(&key, PQgetvalue(c->sig, 0, j));
		sb_addc(&key, '\n');
	}
	sb_add(&key, sql);
	if (key.oom) {
		sb_release(&key);
		return NULL;
	}
	for (i = 0; i < PG_STMT_MAX; i++)
		if (c->stmts[i].key != NULL &&
		    strcmp(c->stmts[i].key, key.p) == 0) {
			e = &c->stmts[i];
			break;
		}
	if (e == NULL) {
		/* a free slot, or the least recently used one's */
		e = &c->stmts[0];
		for (i = 0; i < PG_STMT_MAX && e->key != NULL; i++)
			if (c->stmts[i].key == NULL ||
			    c->stmts[i].used < e->used)
				e = &c->stmts[i];
		if (e->key != NULL) {
			char sql_d[48];

			/* the connection is idle here; a name is never
			 * reused, so a failure leaves nothing in the way */
			snprintf(sql_d, sizeof(sql_d), "DEALLOCATE spool_q%u",
			    e->id);
			PQclear(PQexec(s->c, sql_d));
			free(e->key);
		}
		e->key = key.p;
		e->id = ++c->stmt_next;
		key.p = NULL;
		*prepare = 1;
	}
	sb_release(&key);
	e->used = ++c->stmt_tick;
	snprintf(name, n, "spool_q%u", e->id);
	return e;
}

static void
stmt_drop(struct pg_stmt *e)
{
	if (e == NULL)
		return;
	free(e->key);
	memset(e, 0, sizeof(*e));
}

/*
 * The steady state of a long-lived worker: the query is built on the
 * layer as this connection last saw it and sent with BEGIN, the timeout
 * and the layer's description in one pipeline, one round trip.  If the
 * description that comes back differs (the layer was changed), nothing
 * of the answer is used: *again is set and the transaction rolled back.
 */
static int
run_cached(struct pg *s, int64_t timeout_ms, int *again, spool_err *err)
{
	struct qctx *q = s->q;
	struct pg_conn *slot = s->slot;
	struct sbuf rel;
	struct pgq x;
	struct pg_stmt *st;
	const char *v[1];
	char tmo[32], name[32];
	/* what each answer is: BEGIN, set_config, sig, prepare */
	enum { R_BEGIN, R_TIMEOUT, R_SIG, R_PREP, R_N };
	PGresult *res[R_N] = { NULL, NULL, NULL, NULL }, *r;
	int k, rc = SPOOL_OK, sent, prep;

	*again = 0;
	if (build(s, slot->cat, &x, err) != SPOOL_OK) {
		/* perhaps the layer changed: ask the server */
		pgq_release(&x);
		unbuild(s);
		memset(err, 0, sizeof(*err));
		*again = 1;
		return SPOOL_OK;
	}
	st = stmt_for(s, x.b.p, name, sizeof(name), &prep);
	sb_init(&rel, 2048);
	snprintf(tmo, sizeof(tmo), "%lld", (long long)timeout_ms);
	sent = quoted_rel(q->req.layer, &rel) == 0 &&
	    PQenterPipelineMode(s->c);
	v[0] = tmo;
	sent = sent && PQsendQueryParams(s->c, "BEGIN READ ONLY", 0, NULL,
	    NULL, NULL, NULL, 0) && PQsendQueryParams(s->c, "SELECT set_config("
	    "'statement_timeout', $1, true)", 1, NULL, v, NULL, NULL, 0);
	v[0] = rel.p;
	sent = sent && PQsendQueryPrepared(s->c, SIG_STMT, 1, v, NULL, NULL,
	    0);
	if (st == NULL)
		sent = sent && PQsendQueryParams(s->c, x.b.p, (int)x.p.n, NULL,
		    x.vals, NULL, NULL, 0);
	else
		sent = sent && (!prep || PQsendPrepare(s->c, name, x.b.p,
		    (int)x.p.n, NULL)) && PQsendQueryPrepared(s->c, name,
		    (int)x.p.n, x.vals, NULL, NULL, 0);
	sent = sent && PQpipelineSync(s->c);
	sb_release(&rel);
	if (!sent) {
		if (prep)
			stmt_drop(st);
		pgq_release(&x);
		return pg_err(s, NULL, "cannot begin", err);
	}
	for (k = 0; k < R_N; k++) {
		if (k == R_PREP && !prep)
			continue;
		res[k] = PQgetResult(s->c);
		while ((r = PQgetResult(s->c)) != NULL)
			PQclear(r);
	}
	/* a statement prepared is the session's, whatever becomes of the
	 * transaction; one the server refused is not kept */
	if (prep && (res[R_PREP] == NULL ||
	    PQresultStatus(res[R_PREP]) != PGRES_COMMAND_OK))
		stmt_drop(st);
	if (res[R_BEGIN] == NULL || PQresultStatus(res[R_BEGIN]) !=
	    PGRES_COMMAND_OK || res[R_TIMEOUT] == NULL ||
	    PQresultStatus(res[R_TIMEOUT]) != PGRES_TUPLES_OK) {
		rc = pg_err(s, res[R_BEGIN] && PQresultStatus(res[R_BEGIN]) !=
		    PGRES_COMMAND_OK ? res[R_BEGIN] : res[R_TIMEOUT],
		    "cannot begin a read-only transaction", err);
		rc = err->code = SPOOL_ERR_BUSY;
	} else if (res[R_SIG] == NULL || PQresultStatus(res[R_SIG]) !=
	    PGRES_TUPLES_OK)
		rc = pg_err(s, res[R_SIG], "cannot read the catalog", err);
	else if (!same_result(res[R_SIG], slot->sig)) {
		*again = 1;
		cat_forget(slot);
	} else if (prep && PQresultStatus(res[R_PREP]) != PGRES_COMMAND_OK)
		rc = pg_err(s, res[R_PREP], "the query failed", err);
	else
		rc = receive(s, "the query failed", err);
	if (rc != SPOOL_OK || *again) {
		/* what is left of the main query is not wanted */
		while ((r = PQgetResult(s->c)) != NULL)
			PQclear(r);
	}
	while ((r = PQgetResult(s->c)) != NULL &&
	    PQresultStatus(r) != PGRES_PIPELINE_SYNC)
		PQclear(r);
	PQclear(r);
	PQexitPipelineMode(s->c);
	for (k = 0; k < R_N; k++)
		PQclear(res[k]);
	pgq_release(&x);
	if (*again) {
		unbuild(s);
		r = PQexec(s->c, "ROLLBACK");
		PQclear(r);
	}
	return rc;
}

/* allow_sql: every relation the plan reads is a layer. */
static int
check_plan(struct pg *s, const json_t *plan, const PGresult *allowed,
    spool_err *err)
{
	const char *rel, *sch, *k;
	const json_t *v;
	size_t i;
	int j;

	if (json_is_array(plan)) {
		json_array_foreach(plan, i, v)
			if (check_plan(s, v, allowed, err) != SPOOL_OK)
				return err->code;
		return SPOOL_OK;
	}
	if (!json_is_object(plan))
		return SPOOL_OK;
	rel = json_string_value(json_object_get(plan, "Relation Name"));
	sch = json_string_value(json_object_get(plan, "Schema"));
	if (rel != NULL) {
		for (j = 0; j < PQntuples(allowed); j++)
			if (strcmp(PQgetvalue(allowed, j, 1), rel) == 0 &&
			    (sch == NULL || strcmp(PQgetvalue(allowed, j, 0),
			    sch) == 0))
				break;
		if (j == PQntuples(allowed))
			return spool_fail(err, SPOOL_ERR_FORMAT, "sql: refused: "
			    "table '%s%s%s' is not a layer of source '%s'",
			    sch ? sch : "", sch ? "." : "", rel,
			    s->q->src.name);
	}
	json_object_foreach((json_t *)plan, k, v)
		if (json_is_array(v) || json_is_object(v))
			if (check_plan(s, v, allowed, err) != SPOOL_OK)
				return err->code;
	return SPOOL_OK;
}

static int
run_sql(struct pg *s, spool_err *err)
{
	struct qctx *q = s->q;
	const json_t *pv;
	const char **vals = NULL, **lv = NULL;
	struct qparams p = { .pg = 1 };
	struct sbuf b, lb;
	PGresult *allowed = NULL, *r = NULL;
	json_t *plan = NULL;
	size_t i, nl = json_array_size(q->src.layers);
	int rc;

	sb_init(&b, Q_SQL_MAX + 256);
	sb_init(&lb, 1 << 20);
	s->raw = 1;
	/* the geometry type (PostGIS may not be there) */
	if ((r = exec(s, "SELECT COALESCE(to_regtype('geometry')::oid, 0)",
	    0, NULL, PGRES_TUPLES_OK, "cannot read the catalog",
	    err)) == NULL) {
		rc = err->code;
		goto out;
	}
	s->geom_oid = (unsigned)strtoul(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	r = NULL;
	/* a read-only transaction still lets a superuser read any file
	 * (pg_read_file) or run a program (COPY TO PROGRAM): a user's SQL
	 * runs only as a role that cannot */
	if ((r = exec(s, "SELECT current_user, r.rolsuper OR "
	    "pg_has_role(r.oid, 'pg_read_server_files', 'MEMBER') OR "
	    "pg_has_role(r.oid, 'pg_write_server_files', 'MEMBER') OR "
	    "pg_has_role(r.oid, 'pg_execute_server_program', 'MEMBER') "
	    "FROM pg_roles r WHERE r.rolname = current_user", 0, NULL,
	    PGRES_TUPLES_OK, "cannot read the catalog", err)) == NULL) {
		rc = err->code;
		goto out;
	}
	if (PQntuples(r) != 1 || PQgetvalue(r, 0, 1)[0] != 'f') {
		rc = spool_fail(err, SPOOL_ERR_CONFIG, "sql: refused: source "
		    "'%s' connects as role '%s', which may read server files "
		    "or run programs; allow_sql needs a role with SELECT on "
		    "the layers and nothing more", q->src.name,
		    PQntuples(r) ? PQgetvalue(r, 0, 0) : "?");
		goto out;
	}
	PQclear(r);
	r = NULL;
	/* the layers, resolved as the catalog names them */
	if ((lv = calloc(nl + 1, sizeof(*lv))) == NULL) {
		rc = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	sb_add(&b, "SELECT n.nspname, c.relname FROM pg_class c JOIN "
	    "pg_namespace n ON n.oid = c.relnamespace WHERE c.oid IN (NULL");
	for (i = 0; i < nl; i++) {
		struct sbuf one;

		sb_init(&one, 2048);
		if (quoted_rel(json_string_value(json_array_get(q->src.layers,
		    i)), &one) != 0 || qp_keep(&p, one.p) == NULL) {
			rc = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
			goto out;
		}
		lv[i] = one.p;
		sb_addf(&b, ", to_regclass($%zu)", i + 1);
	}
	sb_add(&b, ")");
	if (b.oom) {
		rc = spool_fail(err, SPOOL_ERR_LIMIT, "too many layers");
		goto out;
	}
	if ((allowed = exec(s, b.p, (int)nl, lv, PGRES_TUPLES_OK, "cannot "
	    "read the catalog", err)) == NULL) {
		rc = err->code;
		goto out;
	}
	/* the user's values, as text */
	json_array_foreach(q->req.sql_params, i, pv) {
		struct qval v;

		memset(&v, 0, sizeof(v));
		if (json_is_string(pv)) {
			v.t = QV_TEXT;
			v.s = json_string_value(pv);
		} else if (json_is_integer(pv)) {
			v.t = QV_INT;
			v.i = json_integer_value(pv);
		} else if (json_is_real(pv)) {
			v.t = QV_REAL;
			v.d = json_real_value(pv);
		} else if (json_is_boolean(pv)) {
			v.t = QV_BOOL;
			v.i = json_is_true(pv);
		}
		qp_add(&p, &lb, &v);
	}
	/* p's first n values are the user's (the layer names were kept
	 * only, not added) */
	if (lb.oom || text_values(&p, &vals) != 0) {
		rc = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	b.len = 0;
	b.oom = 0;
	sb_add(&b, "EXPLAIN (VERBOSE, FORMAT JSON) ");
	sb_add(&b, q->req.sql);
	if (b.oom) {
		rc = spool_fail(err, SPOOL_ERR_LIMIT, "sql: longer than %d "
		    "bytes", Q_SQL_MAX);
		goto out;
	}
	if ((r = exec(s, b.p, (int)p.n, vals, PGRES_TUPLES_OK, "sql: refused",
	    err)) == NULL) {
		rc = err->code;
		goto out;
	}
	if (PQntuples(r) != 1 || (plan = json_loads(PQgetvalue(r, 0, 0), 0,
	    NULL)) == NULL) {
		rc = spool_fail(err, SPOOL_ERR_FORMAT, "sql: refused: its plan "
		    "cannot be read");
		goto out;
	}
	if ((rc = check_plan(s, plan, allowed, err)) != SPOOL_OK)
		goto out;
	if (q->debug)
		fprintf(stderr, "event=query_sql sql=%s\n", SPOOL_LQ(q->req.sql));
	rc = stream(s, q->req.sql, (int)p.n, vals, "sql: refused", err);
out:
	json_decref(plan);
	PQclear(r);
	PQclear(allowed);
	free(vals);
	free(lv);
	qp_release(&p);
	sb_release(&b);
	sb_release(&lb);
	return rc;
}

/*
 * BEGIN READ ONLY, the statement timeout, and (for a layer) its
 * description and signature (sig_sql, prepared first if this connection
 * has not yet), in one round trip (a pipeline): *cat and *sig get them.
 */
static int
begin(struct pg *s, int64_t timeout_ms, PGresult **cat, PGresult **sig,
    spool_err *err)
{
	struct qctx *q = s->q;
	const char *v[1];
	char tmo[32];
	struct sbuf rel;
	/* what each answer is: BEGIN, set_config, describe, prepare, sig */
	enum { R_BEGIN, R_TIMEOUT, R_CAT, R_PREP, R_SIG, R_N };
	PGresult *r, *res[R_N] = { NULL, NULL, NULL, NULL, NULL };
	int want[R_N] = { 1, 1, 0, 0, 0 };
	int k, rc = SPOOL_OK, sent;

	*cat = NULL;
	*sig = NULL;
	sb_init(&rel, 2048);
	snprintf(tmo, sizeof(tmo), "%lld", (long long)timeout_ms);
	if (!PQenterPipelineMode(s->c))
		return pg_err(s, NULL, "cannot begin", err);
	v[0] = tmo;
	sent = PQsendQueryParams(s->c, "BEGIN READ ONLY", 0, NULL, NULL,
	    NULL, NULL, 0) && PQsendQueryParams(s->c, "SELECT set_config("
	    "'statement_timeout', $1, true)", 1, NULL, v, NULL, NULL, 0);
	if (sent && q->req.sql == NULL) {
		if (quoted_rel(q->req.layer, &rel) != 0) {
			sent = 0;
		} else {
			v[0] = rel.p;
			want[R_CAT] = want[R_SIG] = 1;
			want[R_PREP] = !s->slot->sig_ready;
			sent = PQsendQueryParams(s->c, describe_sql, 1, NULL, v,
			    NULL, NULL, 0) && (!want[R_PREP] ||
			    PQsendPrepare(s->c, SIG_STMT, sig_sql, 1, NULL)) &&
			    PQsendQueryPrepared(s->c, SIG_STMT, 1, v, NULL,
			    NULL, 0);
		}
	}
	sent = sent && PQpipelineSync(s->c);
	if (!sent) {
		sb_release(&rel);
		return pg_err(s, NULL, "cannot begin", err);
	}
	/* each query: its result, then NULL; then the sync point */
	for (k = 0; k < R_N; k++) {
		if (!want[k])
			continue;
		res[k] = PQgetResult(s->c);
		while ((r = PQgetResult(s->c)) != NULL)
			PQclear(r);
	}
	while ((r = PQgetResult(s->c)) != NULL &&
	    PQresultStatus(r) != PGRES_PIPELINE_SYNC)
		PQclear(r);
	PQclear(r);
	PQexitPipelineMode(s->c);
	sb_release(&rel);
	for (k = 0; k < R_N && rc == SPOOL_OK; k++) {
		ExecStatusType ok = k == R_BEGIN || k == R_PREP ?
		    PGRES_COMMAND_OK : PGRES_TUPLES_OK;

		if (!want[k])
			continue;
		if (res[k] == NULL || PQresultStatus(res[k]) != ok) {
			rc = pg_err(s, res[k], k >= R_CAT ? "cannot read the "
			    "catalog" : "cannot begin a read-only transaction",
			    err);
			/* a server that cannot begin may be back later */
			if (k < R_CAT)
				rc = err->code = SPOOL_ERR_BUSY;
		}
	}
	/* a statement prepared is the session's, whatever becomes of the
	 * transaction it was prepared in */
	if (want[R_PREP] && res[R_PREP] != NULL &&
	    PQresultStatus(res[R_PREP]) == PGRES_COMMAND_OK)
		s->slot->sig_ready = 1;
	if (rc == SPOOL_OK && want[R_CAT]) {
		*cat = res[R_CAT];
		*sig = res[R_SIG];
		res[R_CAT] = res[R_SIG] = NULL;
	}
	for (k = 0; k < R_N; k++)
		PQclear(res[k]);
	return rc;
}

int
q_pg_run(struct qctx *q, const char *info, spool_err *err)
{
	struct pg s;
	PGresult *cat = NULL, *sig = NULL;
	int64_t remain;
	int again;
	size_t i;
	int rc;

	memset(&s, 0, sizeof(s));
	s.q = q;
	if ((rc = connect_source(&s, info, err)) != SPOOL_OK)
		return rc;
	remain = q->deadline_ms - q_now_ms();
	if (remain < 1)
		return q_fail_timeout(q, err);
	again = 1;
	if (q->req.sql == NULL && s.slot->cat != NULL &&
	    strcmp(s.slot->cat_layer, q->req.layer) == 0) {
		rc = run_cached(&s, remain, &again, err);
		if (rc != SPOOL_OK && PQstatus(s.c) != CONNECTION_OK) {
			slot_drop(s.slot);
			goto out;
		}
	}
	if (again) {
		remain = q->deadline_ms - q_now_ms();
		if (remain < 1) {
			rc = q_fail_timeout(q, err);
			goto out;
		}
		if ((rc = begin(&s, remain, &cat, &sig, err)) != SPOOL_OK) {
			slot_drop(s.slot);
			goto out;
		}
		if (q->req.sql != NULL)
			rc = run_sql(&s, err);
		else
			rc = run_layer(&s, cat, err);
		/* the next query of this layer can go with the BEGIN */
		if (cat != NULL && s.cacheable &&
		    PQstatus(s.c) == CONNECTION_OK) {
			cat_forget(s.slot);
			if ((s.slot->cat_layer = strdup(q->req.layer)) != NULL) {
				s.slot->cat = cat;
				s.slot->sig = sig;
				cat = sig = NULL;
			}
		}
	}
	PQclear(cat);
	PQclear(sig);
	/* ended now on the server; its answer is read before the next
	 * task uses the connection, not waited for here */
	if (PQstatus(s.c) != CONNECTION_OK || !PQsendQuery(s.c, "ROLLBACK"))
		slot_drop(s.slot);
	else
		s.slot->rollback_sent = 1;
out:
	cq_release(&s.expr);
	q_layer_release(&s.layer);
	for (i = 0; i < s.nsrids; i++)
		if (s.srids[i].ct != NULL)
			OCTDestroyCoordinateTransformation(s.srids[i].ct);
	free(s.srids);
	free(s.rel);
	free(s.cols);
	free(s.colidx);
	free(s.hexbuf);
	for (i = 0; s.names != NULL && s.names[i] != NULL; i++)
		free(s.names[i]);
	free(s.names);
	return rc;
}
