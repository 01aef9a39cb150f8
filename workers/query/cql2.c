/*
 * cql2.c - the CQL2-JSON subset, checked against a layer, then written as
 * SQL with bound values or evaluated feature by feature.
 *
 * Subset (OGC 21-065, CQL2-JSON): and, or, not; =, <>, <, <=, >, >=;
 * like (% and _, escape \, case-sensitive); between; in; isNull;
 * s_intersects of the geometry with a {"bbox": [...]} or a GeoJSON
 * geometry.  Operands: {"property": NAME}, strings, numbers, booleans,
 * {"timestamp": ...} and {"date": ...} (compared as their text).
 * A property is a real field of the layer, its feature id column, or (in
 * s_intersects) its geometry, named by its column or "geometry"; anything
 * else fails with the name.  Request text never becomes SQL: names are
 * looked up and quoted, values become placeholders (sqlbuf.c).
 *
 * Over 800 lines and kept whole: one tree, checked, written as SQL and
 * evaluated in C; its three walks read best side by side.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_error.h>

#include "query.h"

struct cctx {
	struct cq_expr *e;
	const struct qlayer *l;
	spool_err *err;
};

static void
node_free(struct cq_node *n)
{
	size_t i;

	if (n == NULL)
		return;
	for (i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->args);
	free(n);
}

void
cq_release(struct cq_expr *e)
{
	size_t i;

	if (e == NULL)
		return;
	node_free(e->root);
	for (i = 0; i < e->ngeoms; i++) {
		if (e->geoms[i].prep != NULL)
			OGRDestroyPreparedGeometry(e->geoms[i].prep);
		OGR_G_DestroyGeometry(e->geoms[i].g);
	}
	free(e->geoms);
	memset(e, 0, sizeof(*e));
}

static struct cq_node *
node_new(struct cctx *c, enum cq_op op, size_t nkids, size_t nargs)
{
	struct cq_node *n;

	if (++c->e->nodes > Q_FILTER_NODES) {
		spool_fail(c->err, SPOOL_ERR_LIMIT, "filter: more than %d "
		    "operators and operands", Q_FILTER_NODES);
		return NULL;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL)
		goto nomem;
	n->op = op;
	if (nkids && (n->kids = calloc(nkids, sizeof(*n->kids))) == NULL)
		goto nomem;
	if (nargs && (n->args = calloc(nargs, sizeof(*n->args))) == NULL)
		goto nomem;
	n->nkids = nkids;
	n->nargs = nargs;
	return n;
nomem:
	if (n != NULL) {
		free(n->kids);
		free(n);
	}
	spool_fail(c->err, SPOOL_ERR_NOMEM, "out of memory");
	return NULL;
}

/* Adopts g (in CRS84): moved to the layer's CRS, kept in e->geoms. */
static int
geom_add(struct cctx *c, OGRGeometryH g, int is_rect)
{
	struct cq_expr *e = c->e;
	struct cq_geom *ng;
	int rc;

	if ((rc = q_from_crs84(g, c->l->srs, c->err)) != SPOOL_OK) {
		OGR_G_DestroyGeometry(g);
		return rc;
	}
	if ((ng = realloc(e->geoms, (e->ngeoms + 1) * sizeof(*ng))) == NULL) {
		OGR_G_DestroyGeometry(g);
		return spool_fail(c->err, SPOOL_ERR_NOMEM, "out of memory");
	}
	e->geoms = ng;
	ng = &e->geoms[e->ngeoms];
	memset(ng, 0, sizeof(*ng));
	ng->g = g;
	OGR_G_GetEnvelope(g, &ng->env);
	ng->is_rect = is_rect && q_srs_is_crs84(c->l->srs);
	return (int)e->ngeoms++;
}

static OGRGeometryH
rect(double x0, double y0, double x1, double y1)
{
	OGRGeometryH p = OGR_G_CreateGeometry(wkbPolygon);
	OGRGeometryH r = OGR_G_CreateGeometry(wkbLinearRing);

	OGR_G_AddPoint_2D(r, x0, y0);
	OGR_G_AddPoint_2D(r, x1, y0);
	OGR_G_AddPoint_2D(r, x1, y1);
	OGR_G_AddPoint_2D(r, x0, y1);
	OGR_G_AddPoint_2D(r, x0, y0);
	OGR_G_AddGeometryDirectly(p, r);
	return p;
}

/* A CRS84 box; across the antimeridian when minx > maxx (two parts). */
static int
bbox_geom(struct cctx *c, const double b[4])
{
	OGRGeometryH g;

	if (b[0] <= b[2])
		return geom_add(c, rect(b[0], b[1], b[2], b[3]), 1);
	g = OGR_G_CreateGeometry(wkbMultiPolygon);
	OGR_G_AddGeometryDirectly(g, rect(b[0], b[1], 180, b[3]));
	OGR_G_AddGeometryDirectly(g, rect(-180, b[1], b[2], b[3]));
	return geom_add(c, g, 0);
}

static int
geom_literal(struct cctx *c, const json_t *v)
{
	static const char *const types[] = {
		"Point", "MultiPoint", "LineString", "MultiLineString",
		"Polygon", "MultiPolygon", "GeometryCollection", NULL
	};
	const json_t *bb = json_object_get(v, "bbox");
	const char *t = json_string_value(json_object_get(v, "type"));
	OGRGeometryH g;
	double b[4];
	char *s;
	size_t i, n;

	if (bb != NULL && t == NULL) {
		n = json_array_size(bb);
		if (json_object_size(v) != 1 || (n != 4 && n != 6))
			return spool_fail(c->err, SPOOL_ERR_FORMAT, "filter: "
			    "a bbox is {\"bbox\": [minx, miny, maxx, maxy]}");
		for (i = 0; i < 4; i++) {
			const json_t *x = json_array_get(bb, i < 2 ? i :
			    i - 2 + n / 2);

			if (!json_is_number(x))
				return spool_fail(c->err, SPOOL_ERR_FORMAT,
				    "filter: bbox: not a number");
			b[i] = json_number_value(x);
		}
		if (b[1] > b[3] || fabs(b[0]) > 180 || fabs(b[2]) > 180 ||
		    fabs(b[1]) > 90 || fabs(b[3]) > 90)
			return spool_fail(c->err, SPOOL_ERR_FORMAT, "filter: "
			    "bbox is not a CRS84 box");
		return bbox_geom(c, b);
	}
	for (i = 0; t != NULL && types[i] != NULL; i++)
		if (strcmp(types[i], t) == 0)
			break;
	if (t == NULL || types[i] == NULL)
		return spool_fail(c->err, SPOOL_ERR_FORMAT, "filter: "
		    "s_intersects needs a bbox or a GeoJSON geometry");
	if ((s = json_dumps(v, JSON_COMPACT)) == NULL)
		return spool_fail(c->err, SPOOL_ERR_NOMEM, "out of memory");
	CPLErrorReset();
	g = OGR_G_CreateGeometryFromJson(s);
	free(s);
	if (g == NULL)
		return spool_fail(c->err, SPOOL_ERR_FORMAT, "filter: bad "
		    "GeoJSON %s%s%s", t, CPLGetLastErrorMsg()[0] ? ": " : "",
		    CPLGetLastErrorMsg());
	return geom_add(c, g, 0);
}

enum { OPND_VALUE = 1, OPND_GEOM = 2 };

/* An operand: a property, a value or (want & OPND_GEOM) a geometry. */
static int
operand(struct cctx *c, struct cq_arg *a, const json_t *v, int want)
{
	const char *p;
	int g;

	if (json_is_object(v) && (p = json_string_value(json_object_get(v,
	    "property"))) != NULL) {
		const struct qlayer *l = c->l;

		a->kind = CA_PROP;
		if (json_object_size(v) != 1)
			return spool_fail(c->err, SPOOL_ERR_FORMAT, "filter: "
			    "a property is {\"property\": NAME}");
		if (l->geom != NULL && (strcmp(p, l->geom) == 0 ||
		    strcmp(p, "geometry") == 0) &&
		    q_layer_field(l, p) < 0) {
			if (!(want & OPND_GEOM))
				return spool_fail(c->err, SPOOL_ERR_FORMAT,
				    "filter: '%s' is the geometry: only "
				    "s_intersects takes it", p);
			a->field = -1;
			a->kind = CA_GEOM;
			a->geom = -1; /* the column */
			return SPOOL_OK;
		}
		if ((a->field = q_layer_field(l, p)) >= 0 ||
		    (l->fid != NULL && strcmp(p, l->fid) == 0 &&
		    (a->field = CQ_FID) != 0)) {
			if (want & OPND_GEOM && !(want & OPND_VALUE))
				return spool_fail(c->err, SPOOL_ERR_FORMAT,
				    "filter: '%s' is not the geometry", p);
			return SPOOL_OK;
		}
		return spool_fail(c->err, SPOOL_ERR_NOTFOUND, "filter: unknown "
		    "property '%s' of layer '%s'", p, l->name);
	}
	if (want & OPND_GEOM && json_is_object(v)) {
		if ((g = geom_literal(c, v)) < 0)
			return g;
		a->kind = CA_GEOM;
		a->geom = g;
		return SPOOL_OK;
	}
	if (!(want & OPND_VALUE))
		return spool_fail(c->err, SPOOL_ERR_FORMAT, "filter: "
		    "s_intersects needs the geometry and a bbox or GeoJSON "
		    "geometry");
	a->kind = CA_LIT;
	if (json_is_string(v)) {
		a->lit.t = QV_TEXT;
		a->lit.s = json_string_value(v);
		a->lit.n = json_string_length(v);
	} else if (json_is_integer(v)) {
		a->lit.t = QV_INT;
		a->lit.i = json_integer_value(v);
	} else if (json_is_real(v)) {
		a->lit.t = QV_REAL;
		a->lit.d = json_real_value(v);
	} else if (json_is_boolean(v)) {
		a->lit.t = QV_BOOL;
		a->lit.i = json_is_true(v);
	} else if (json_is_object(v) && json_object_size(v) == 1 &&
	    ((p = json_string_value(json_object_get(v, "timestamp"))) ||
	    (p = json_string_value(json_object_get(v, "date"))))) {
		a->lit.t = QV_TEXT;
		a->lit.s = p;
		a->lit.n = strlen(p);
	} else
		return spool_fail(c->err, SPOOL_ERR_FORMAT, "filter: an operand "
		    "is a {\"property\": NAME}, a string, a number, a boolean, "
		    "a timestamp or a date");
	return SPOOL_OK;
}

static const struct {
	const char *name;
	enum cq_op op;
} ops[] = {
	{ "and", CQ_AND }, { "or", CQ_OR }, { "not", CQ_NOT },
	{ "=", CQ_EQ }, { "<>", CQ_NE }, { "<", CQ_LT }, { "<=", CQ_LE },
	{ ">", CQ_GT }, { ">=", CQ_GE }, { "like", CQ_LIKE },
	{ "between", CQ_BETWEEN }, { "in", CQ_IN }, { "isNull", CQ_ISNULL },
	{ "s_intersects", CQ_INTERSECTS },
};

static struct cq_node *expr(struct cctx *c, const json_t *v, int depth);

static struct cq_node *
expr_fail(struct cq_node *n)
{
	node_free(n);
	return NULL;
}

static struct cq_node *
expr(struct cctx *c, const json_t *v, int depth)
{
	const json_t *args = json_object_get(v, "args"), *list;
	const char *name = json_string_value(json_object_get(v, "op"));
	size_t i, n = json_array_size(args);
	struct cq_node *nd = NULL;
	enum cq_op op;

	if (depth > Q_FILTER_DEPTH) {
		spool_fail(c->err, SPOOL_ERR_LIMIT, "filter: nested deeper "
		    "than %d", Q_FILTER_DEPTH);
		return NULL;
	}
	if (!json_is_object(v) || name == NULL || !json_is_array(args) ||
	    json_object_size(v) != 2) {
		spool_fail(c->err, SPOOL_ERR_FORMAT, "filter: an expression is "
		    "{\"op\": OP, \"args\": [...]}");
		return NULL;
	}
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(ops[i].name, name) == 0)
			break;
	if (i == sizeof(ops) / sizeof(ops[0])) {
		spool_fail(c->err, SPOOL_ERR_FORMAT, "filter: unsupported "
		    "operator '%.64s'", name);
		return NULL;
	}
	op = ops[i].op;
	switch (op) {
	case CQ_AND:
	case CQ_OR:
	case CQ_NOT:
		if (n == 0 || (op == CQ_NOT && n != 1)) {
			spool_fail(c->err, SPOOL_ERR_FORMAT, "filter: '%s' takes "
			    "%s", name, op == CQ_NOT ? "one expression" :
			    "one or more expressions");
			return NULL;
		}
		if ((nd = node_new(c, op, n, 0)) == NULL)
			return NULL;
		for (i = 0; i < n; i++)
			if ((nd->kids[i] = expr(c, json_array_get(args, i),
			    depth + 1)) == NULL)
				return expr_fail(nd);
		return nd;
	case CQ_EQ: case CQ_NE: case CQ_LT: case CQ_LE: case CQ_GT:
	case CQ_GE:
		if (n != 2)
			break;
		if ((nd = node_new(c, op, 0, 2)) == NULL)
			return NULL;
		if (operand(c, &nd->args[0], json_array_get(args, 0),
		    OPND_VALUE) < 0 || operand(c, &nd->args[1],
		    json_array_get(args, 1), OPND_VALUE) < 0)
			return expr_fail(nd);
		if (nd->args[0].kind != CA_PROP && nd->args[1].kind != CA_PROP) {
			spool_fail(c->err, SPOOL_ERR_FORMAT, "filter: '%s' "
			    "compares at least one property", name);
			return expr_fail(nd);
		}
		return nd;
	case CQ_LIKE:
		if (n != 2)
			break;
		if ((nd = node_new(c, op, 0, 2)) == NULL)
			return NULL;
		if (operand(c, &nd->args[0], json_array_get(args, 0),
		    OPND_VALUE) < 0 || operand(c, &nd->args[1],
		    json_array_get(args, 1), OPND_VALUE) < 0)
			return expr_fail(nd);
		if (nd->args[0].kind != CA_PROP || nd->args[1].kind != CA_LIT ||
		    nd->args[1].lit.t != QV_TEXT) {
			spool_fail(c->err, SPOOL_ERR_FORMAT, "filter: 'like' "
			    "takes a property and a pattern string");
			return expr_fail(nd);
		}
		return nd;
	case CQ_BETWEEN:
		/* [p, lo, hi]; the older drafts' [p, [lo, hi]] too */
		list = n == 2 && json_array_size(json_array_get(args, 1)) == 2 ?
		    json_array_get(args, 1) : NULL;
		if (n != 3 && list == NULL)
			break;
		if ((nd = node_new(c, op, 0, 3)) == NULL)
			return NULL;
		if (operand(c, &nd->args[0], json_array_get(args, 0),
		    OPND_VALUE) < 0 || operand(c, &nd->args[1], list ?
		    json_array_get(list, 0) : json_array_get(args, 1),
		    OPND_VALUE) < 0 || operand(c, &nd->args[2], list ?
		    json_array_get(list, 1) : json_array_get(args, 2),
		    OPND_VALUE) < 0)
			return expr_fail(nd);
		if (nd->args[0].kind != CA_PROP || nd->args[1].kind != CA_LIT ||
		    nd->args[2].kind != CA_LIT) {
			spool_fail(c->err, SPOOL_ERR_FORMAT, "filter: 'between' "
			    "takes a property and two values");
			return expr_fail(nd);
		}
		return nd;
	case CQ_IN:
		list = json_array_get(args, 1);
		if (n != 2 || !json_is_array(list))
			break;
		if (json_array_size(list) == 0 ||
		    json_array_size(list) > Q_IN_MAX) {
			spool_fail(c->err, SPOOL_ERR_FORMAT, "filter: 'in' takes "
			    "1 to %d values", Q_IN_MAX);
			return NULL;
		}
		if ((nd = node_new(c, op, 0, 1 + json_array_size(list))) == NULL)
			return NULL;
		if (operand(c, &nd->args[0], json_array_get(args, 0),
		    OPND_VALUE) < 0)
			return expr_fail(nd);
		if (nd->args[0].kind != CA_PROP) {
			spool_fail(c->err, SPOOL_ERR_FORMAT, "filter: 'in' takes "
			    "a property and a list of values");
			return expr_fail(nd);
		}
		for (i = 0; i < json_array_size(list); i++) {
			if (operand(c, &nd->args[1 + i], json_array_get(list, i),
			    OPND_VALUE) < 0)
				return expr_fail(nd);
			if (nd->args[1 + i].kind != CA_LIT) {
				spool_fail(c->err, SPOOL_ERR_FORMAT, "filter: "
				    "'in' takes a list of values");
				return expr_fail(nd);
			}
		}
		return nd;
	case CQ_ISNULL:
		if (n != 1)
			break;
		if ((nd = node_new(c, op, 0, 1)) == NULL)
			return NULL;
		if (operand(c, &nd->args[0], json_array_get(args, 0),
		    OPND_VALUE) < 0)
			return expr_fail(nd);
		if (nd->args[0].kind != CA_PROP) {
			spool_fail(c->err, SPOOL_ERR_FORMAT, "filter: 'isNull' "
			    "takes a property");
			return expr_fail(nd);
		}
		return nd;
	case CQ_INTERSECTS:
		if (n != 2)
			break;
		if (c->l->geom == NULL) {
			spool_fail(c->err, SPOOL_ERR_FORMAT, "filter: layer '%s' "
			    "has no geometry", c->l->name);
			return NULL;
		}
		if ((nd = node_new(c, op, 0, 2)) == NULL)
			return NULL;
		if (operand(c, &nd->args[0], json_array_get(args, 0),
		    OPND_GEOM) < 0 || operand(c, &nd->args[1],
		    json_array_get(args, 1), OPND_GEOM) < 0)
			return expr_fail(nd);
		/* the column first, then the literal */
		if (nd->args[0].kind == CA_GEOM && nd->args[0].geom >= 0) {
			struct cq_arg t = nd->args[0];

			nd->args[0] = nd->args[1];
			nd->args[1] = t;
		}
		if (nd->args[0].kind != CA_GEOM || nd->args[0].geom != -1 ||
		    nd->args[1].kind != CA_GEOM || nd->args[1].geom < 0) {
			spool_fail(c->err, SPOOL_ERR_FORMAT, "filter: "
			    "s_intersects takes the geometry and a bbox or "
			    "GeoJSON geometry");
			return expr_fail(nd);
		}
		return nd;
	}
	spool_fail(c->err, SPOOL_ERR_FORMAT, "filter: wrong number of "
	    "arguments for '%s'", name);
	return NULL;
}

int
cq_compile(struct cq_expr *e, const struct qreq *r, const struct qlayer *l,
    spool_err *err)
{
	struct cctx c = { e, l, err };
	struct cq_node *f = NULL, *b = NULL, *and;
	int g;

	memset(e, 0, sizeof(*e));
	if (r->filter != NULL && (f = expr(&c, r->filter, 1)) == NULL)
		goto fail;
	if (r->has_bbox) {
		if (l->geom == NULL) {
			spool_fail(err, SPOOL_ERR_FORMAT, "bbox: layer '%s' has "
			    "no geometry", l->name);
			goto fail;
		}
		if ((g = bbox_geom(&c, r->bbox)) < 0 ||
		    (b = node_new(&c, CQ_INTERSECTS, 0, 2)) == NULL)
			goto fail;
		b->args[0].kind = CA_GEOM;
		b->args[0].geom = -1;
		b->args[1].kind = CA_GEOM;
		b->args[1].geom = g;
	}
	if (f != NULL && b != NULL) {
		/* the box first: it is what an index answers */
		if ((and = node_new(&c, CQ_AND, 2, 0)) == NULL)
			goto fail;
		and->kids[0] = b;
		and->kids[1] = f;
		e->root = and;
	} else
		e->root = f != NULL ? f : b;
	return SPOOL_OK;
fail:
	node_free(f);
	node_free(b);
	cq_release(e);
	return err->code ? err->code : SPOOL_ERR_FORMAT;
}

/* ---- SQL ---- */

static void
prop_sql(struct sbuf *b, const struct cq_dialect *d, const struct cq_arg *a,
    int ordered)
{
	const struct qlayer *l = d->layer;

	if (a->field == CQ_FID) {
		sb_ident(b, l->fid);
		return;
	}
	sb_ident(b, l->fields[a->field].name);
	/* text compares bytewise on both engines (SQLite's BINARY) */
	if (ordered && d->pg && l->fields[a->field].text_sort)
		sb_add(b, " COLLATE \"C\"");
}

static int
arg_sql(struct sbuf *b, struct qparams *p, const struct cq_dialect *d,
    const struct cq_arg *a, int ordered)
{
	if (a->kind == CA_PROP) {
		prop_sql(b, d, a, ordered);
		return 0;
	}
	return qp_add(p, b, &a->lit);
}

/* CQL2 like (%, _, escape \) -> SQLite GLOB (*, ?, [x]): GLOB is
 * case-sensitive as CQL2's like is; SQLite's LIKE is not. */
static char *
like_to_glob(const char *s)
{
	char *o = malloc(strlen(s) * 3 + 1), *q = o;

	if (o == NULL)
		return NULL;
	for (; *s; s++) {
		if (*s == '\\' && s[1] != '\0') {
			s++;
			if (*s == '*' || *s == '?' || *s == '[') {
				*q++ = '[';
				*q++ = *s;
				*q++ = ']';
			} else
				*q++ = *s;
		} else if (*s == '%')
			*q++ = '*';
		else if (*s == '_')
			*q++ = '?';
		else if (*s == '*' || *s == '?' || *s == '[') {
			*q++ = '[';
			*q++ = *s;
			*q++ = ']';
		} else
			*q++ = *s;
	}
	*q = '\0';
	return o;
}

static int
node_sql(struct sbuf *b, struct qparams *p, const struct cq_expr *e,
    const struct cq_node *n, const struct cq_dialect *d, spool_err *err)
{
	static const char *const cmp[] = {
		[CQ_EQ] = " = ", [CQ_NE] = " <> ", [CQ_LT] = " < ",
		[CQ_LE] = " <= ", [CQ_GT] = " > ", [CQ_GE] = " >= ",
	};
	size_t i;
	int ordered;

	switch (n->op) {
	case CQ_AND:
	case CQ_OR:
		sb_add(b, "(");
		for (i = 0; i < n->nkids; i++) {
			if (i > 0)
				sb_add(b, n->op == CQ_AND ? " AND " : " OR ");
			if (node_sql(b, p, e, n->kids[i], d, err) != 0)
				return -1;
		}
		sb_add(b, ")");
		return 0;
	case CQ_NOT:
		sb_add(b, "NOT (");
		if (node_sql(b, p, e, n->kids[0], d, err) != 0)
			return -1;
		sb_add(b, ")");
		return 0;
	case CQ_EQ: case CQ_NE: case CQ_LT: case CQ_LE: case CQ_GT:
	case CQ_GE:
		ordered = n->op != CQ_EQ && n->op != CQ_NE;
		sb_add(b, "(");
		arg_sql(b, p, d, &n->args[0], ordered);
		sb_add(b, cmp[n->op]);
		arg_sql(b, p, d, &n->args[1], ordered);
		sb_add(b, ")");
		return 0;
	case CQ_LIKE:
		sb_add(b, "(");
		if (d->pg) {
			sb_add(b, "CAST(");
			prop_sql(b, d, &n->args[0], 0);
			sb_add(b, " AS text) LIKE ");
			qp_add(p, b, &n->args[1].lit);
		} else {
			struct qval v = n->args[1].lit;

			prop_sql(b, d, &n->args[0], 0);
			sb_add(b, " GLOB ");
			if ((v.s = qp_keep(p, like_to_glob(v.s))) == NULL) {
				b->oom = 1;
				return 0;
			}
			v.n = strlen(v.s);
			qp_add(p, b, &v);
		}
		sb_add(b, ")");
		return 0;
	case CQ_BETWEEN:
		sb_add(b, "(");
		prop_sql(b, d, &n->args[0], 1);
		sb_add(b, " BETWEEN ");
		qp_add(p, b, &n->args[1].lit);
		sb_add(b, " AND ");
		qp_add(p, b, &n->args[2].lit);
		sb_add(b, ")");
		return 0;
	case CQ_IN:
		sb_add(b, "(");
		prop_sql(b, d, &n->args[0], 0);
		sb_add(b, " IN (");
		for (i = 1; i < n->nargs; i++) {
			if (i > 1)
				sb_add(b, ", ");
			qp_add(p, b, &n->args[i].lit);
		}
		sb_add(b, "))");
		return 0;
	case CQ_ISNULL:
		sb_add(b, "(");
		prop_sql(b, d, &n->args[0], 0);
		sb_add(b, " IS NULL)");
		return 0;
	case CQ_INTERSECTS:
		return d->intersects(d->ctx, b, p, e, n->args[1].geom);
	}
	spool_fail(err, SPOOL_ERR_INTERNAL, "filter: unknown node");
	return -1;
}

int
cq_sql(struct sbuf *b, struct qparams *p, const struct cq_expr *e,
    const struct cq_dialect *d, spool_err *err)
{
	if (e->root != NULL && node_sql(b, p, e, e->root, d, err) != 0)
		return err->code ? err->code : SPOOL_ERR_FORMAT;
	if (b->oom)
		return spool_fail(err, SPOOL_ERR_LIMIT, "filter: the query "
		    "grew past %zu bytes of SQL (or memory ran out)", b->max);
	return SPOOL_OK;
}

/* ---- evaluation (sources without SQL) ---- */

enum { T_FALSE = 0, T_TRUE = 1, T_UNKNOWN = 2 };

static int
feature_value(OGRFeatureH f, const int *map, const struct cq_arg *a,
    struct qval *v)
{
	int i;

	memset(v, 0, sizeof(*v));
	if (a->kind == CA_LIT) {
		*v = a->lit;
		return 0;
	}
	if (a->field == CQ_FID) {
		v->t = QV_INT;
		v->i = OGR_F_GetFID(f);
		return 0;
	}
	i = map[a->field];
	if (!OGR_F_IsFieldSetAndNotNull(f, i)) {
		v->t = QV_NULL;
		return 0;
	}
	switch (OGR_Fld_GetType(OGR_F_GetFieldDefnRef(f, i))) {
	case OFTInteger:
	case OFTInteger64:
		if (OGR_Fld_GetSubType(OGR_F_GetFieldDefnRef(f, i)) ==
		    OFSTBoolean) {
			v->t = QV_BOOL;
			v->i = OGR_F_GetFieldAsInteger64(f, i) != 0;
		} else {
			v->t = QV_INT;
			v->i = OGR_F_GetFieldAsInteger64(f, i);
		}
		return 0;
	case OFTReal:
		v->t = QV_REAL;
		v->d = OGR_F_GetFieldAsDouble(f, i);
		return 0;
	default:
		v->t = QV_TEXT;
		v->s = OGR_F_GetFieldAsString(f, i);
		v->n = strlen(v->s);
		return 0;
	}
}

static int
is_num(const struct qval *v, double *d)
{
	switch (v->t) {
	case QV_INT:
	case QV_BOOL:
		*d = (double)v->i;
		return 1;
	case QV_REAL:
		*d = v->d;
		return 1;
	default:
		return 0;
	}
}

/* <0, 0, >0; T_UNKNOWN in *ok when not comparable (or a NULL) */
static int
compare(const struct qval *a, const struct qval *b, int *ok)
{
	double x, y;

	*ok = 1;
	if (a->t == QV_NULL || b->t == QV_NULL) {
		*ok = 0;
		return 0;
	}
	if (a->t == QV_INT && b->t == QV_INT)
		return a->i < b->i ? -1 : a->i > b->i;
	if (is_num(a, &x) && is_num(b, &y))
		return x < y ? -1 : x > y;
	if (a->t == QV_TEXT && b->t == QV_TEXT)
		return strcmp(a->s, b->s);
	*ok = 0;
	return 0;
}

static const char *
utf8_next(const char *s)
{
	s++;
	while ((*s & 0xC0) == 0x80)
		s++;
	return s;
}

/* CQL2 like: % any run, _ one character, \ escapes. */
static int
like_match(const char *s, const char *p)
{
	for (;;) {
		if (*p == '\0')
			return *s == '\0';
		if (*p == '%') {
			while (*p == '%')
				p++;
			if (*p == '\0')
				return 1;
			for (; *s; s = utf8_next(s))
				if (like_match(s, p))
					return 1;
			return like_match(s, p);
		}
		if (*s == '\0')
			return 0;
		if (*p == '_') {
			s = utf8_next(s);
			p++;
			continue;
		}
		if (*p == '\\' && p[1] != '\0')
			p++;
		if (*s != *p)
			return 0;
		s++;
		p++;
	}
}

static int
eval(const struct cq_expr *e, const struct cq_node *n, OGRFeatureH f,
    OGRGeometryH g, const int *map)
{
	struct qval a, b, c;
	size_t i;
	int r, k, ok, unknown = 0;

	switch (n->op) {
	case CQ_AND:
		for (i = 0; i < n->nkids; i++) {
			if ((r = eval(e, n->kids[i], f, g, map)) == T_FALSE)
				return T_FALSE;
			unknown |= r == T_UNKNOWN;
		}
		return unknown ? T_UNKNOWN : T_TRUE;
	case CQ_OR:
		for (i = 0; i < n->nkids; i++) {
			if ((r = eval(e, n->kids[i], f, g, map)) == T_TRUE)
				return T_TRUE;
			unknown |= r == T_UNKNOWN;
		}
		return unknown ? T_UNKNOWN : T_FALSE;
	case CQ_NOT:
		r = eval(e, n->kids[0], f, g, map);
		return r == T_UNKNOWN ? r : !r;
	case CQ_EQ: case CQ_NE: case CQ_LT: case CQ_LE: case CQ_GT:
	case CQ_GE:
		feature_value(f, map, &n->args[0], &a);
		feature_value(f, map, &n->args[1], &b);
		k = compare(&a, &b, &ok);
		if (!ok)
			return T_UNKNOWN;
		switch (n->op) {
		case CQ_EQ: return k == 0;
		case CQ_NE: return k != 0;
		case CQ_LT: return k < 0;
		case CQ_LE: return k <= 0;
		case CQ_GT: return k > 0;
		default: return k >= 0;
		}
	case CQ_LIKE:
		feature_value(f, map, &n->args[0], &a);
		if (a.t == QV_NULL)
			return T_UNKNOWN;
		if (a.t != QV_TEXT) {
			char num[64];

			if (a.t == QV_REAL)
				snprintf(num, sizeof(num), "%.17g", a.d);
			else
				snprintf(num, sizeof(num), "%lld",
				    (long long)a.i);
			return like_match(num, n->args[1].lit.s);
		}
		return like_match(a.s, n->args[1].lit.s);
	case CQ_BETWEEN:
		feature_value(f, map, &n->args[0], &a);
		b = n->args[1].lit;
		c = n->args[2].lit;
		k = compare(&a, &b, &ok);
		if (!ok)
			return T_UNKNOWN;
		if (k < 0)
			return T_FALSE;
		k = compare(&a, &c, &ok);
		if (!ok)
			return T_UNKNOWN;
		return k <= 0;
	case CQ_IN:
		feature_value(f, map, &n->args[0], &a);
		if (a.t == QV_NULL)
			return T_UNKNOWN;
		for (i = 1; i < n->nargs; i++) {
			k = compare(&a, &n->args[i].lit, &ok);
			if (ok && k == 0)
				return T_TRUE;
			unknown |= !ok;
		}
		return unknown ? T_UNKNOWN : T_FALSE;
	case CQ_ISNULL:
		feature_value(f, map, &n->args[0], &a);
		return a.t == QV_NULL;
	case CQ_INTERSECTS: {
		struct cq_geom *cg = &e->geoms[n->args[1].geom];
		OGREnvelope env;

		if (g == NULL || OGR_G_IsEmpty(g))
			return T_UNKNOWN;
		OGR_G_GetEnvelope(g, &env);
		if (env.MinX > cg->env.MaxX || env.MaxX < cg->env.MinX ||
		    env.MinY > cg->env.MaxY || env.MaxY < cg->env.MinY)
			return T_FALSE;
		if (cg->prep == NULL)
			cg->prep = OGRCreatePreparedGeometry(cg->g);
		if (cg->prep != NULL)
			return OGRPreparedGeometryIntersects(cg->prep, g) != 0;
		return OGR_G_Intersects(cg->g, g) != 0;
	}
	}
	return T_UNKNOWN;
}

int
cq_eval(const struct cq_expr *e, OGRFeatureH f, OGRGeometryH g,
    const int *field_map)
{
	if (e->root == NULL)
		return 1;
	return eval(e, e->root, f, g, field_map) == T_TRUE;
}
