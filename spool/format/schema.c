/*
 * schema.c - a JSON Schema (2020-12 subset) validator on jansson values.
 *
 * A schema is compiled once into a tree of nodes (regexes precompiled),
 * then any number of documents are validated against it.  The subset is
 * exactly the keywords handled in keyword() below; anything else fails to
 * compile, so a published schema can never carry a rule that spool
 * silently ignores.
 *
 * Deliberate differences from the full specification:
 * - "integer" means a JSON integer token; 1.0 is a number, not an integer.
 * - "pattern" is POSIX ERE (regcomp); compile refuses constructs that mean
 *   something else in ECMA-262 (escapes like \d, '\' or '[' inside
 *   brackets, a leading ']'), and a string holding a NUL never matches.
 * - "$ref" is local only ("#/$defs/NAME"); "$defs" and "$id" only at the
 *   root, so every reference resolves against the one document.
 *
 * Validation only reads the compiled schema (regexec is reentrant), so one
 * compiled schema may be shared by threads.  Recursion is bounded: schema
 * nesting (compile), $ref hops and document depth (validate).
 *
 * Over 800 lines and kept whole: one validator, one keyword a function,
 * over one compiled form.
 */
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool/base/error.h"
#include "spool/format/schema.h"

#define DEPTH_MAX 64  /* document nesting, $ref hops, schema nesting */
#define PTR_MAX 256   /* longest JSON pointer kept for messages */
#define TEXT_MAX 200  /* longest rendering of enum/const values */
#define NEST_MAX 16   /* anyOf/oneOf within anyOf/oneOf */

static const char *const type_names[] = {
	"object", "array", "string", "integer", "number", "boolean", "null"
};
enum { T_OBJECT = 1, T_ARRAY = 2, T_STRING = 4, T_INTEGER = 8,
	T_NUMBER = 16, T_BOOLEAN = 32, T_NULL = 64, NTYPES = 7 };

/* Count keywords, in the order of node.lim[]. */
static const char *const lim_names[] = {
	"minLength", "maxLength", "minItems", "maxItems", "maxProperties"
};
enum { MIN_LEN, MAX_LEN, MIN_ITEMS, MAX_ITEMS, MAX_PROPS, NLIMS };

struct prop {
	const char *name; /* borrowed from the schema document */
	struct node *schema;
};

struct node {
	struct node *next;  /* all nodes of one schema, for freeing */
	int never;          /* the schema `false` */
	unsigned types;     /* T_* mask; 0: any type */
	const json_t *constv, *enumv, *required, *minimum, *maximum;
	char *values;       /* const/enum rendered for messages */
	const char *pattern;
	regex_t re;
	json_int_t lim[NLIMS]; /* -1: absent */
	struct prop *props;
	size_t nprops, nany, none;
	struct node *additional, *items, *not_, *ref, **any_of, **one_of;
};

struct spool_schema {
	json_t *doc; /* owns every string the nodes borrow */
	struct node *nodes;
	struct node *root;
};

/* A JSON pointer under construction; segs ranks oneOf failures. */
struct ptr {
	char s[PTR_MAX];
	size_t len;
	int segs;
};

/* Sanitized copy of src into dst: one line, with RFC 6901 escapes when
 * ptr is set, else with '"' and '\' escaped; ends in "..." if cut. */
static void
put_text(char *dst, size_t cap, const char *src, int ptr)
{
	size_t n = 0, k;
	char t[8];

	for (; *src != '\0'; src++) {
		unsigned char ch = (unsigned char)*src;

		if (ptr && (ch == '~' || ch == '/'))
			snprintf(t, sizeof(t), "~%c", ch == '~' ? '0' : '1');
		else if (!ptr && (ch == '"' || ch == '\\'))
			snprintf(t, sizeof(t), "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			snprintf(t, sizeof(t), "\\x%02x", ch);
		else
			snprintf(t, sizeof(t), "%c", ch);
		if (n + (k = strlen(t)) + 4 > cap) {
			memcpy(dst + n, "...", 4);
			return;
		}
		memcpy(dst + n, t, k);
		n += k;
	}
	dst[n] = '\0';
}

/* Appends key, or the index i when key is NULL; returns what ptr_pop
 * needs to undo it. */
static size_t
ptr_push(struct ptr *p, const char *key, size_t i)
{
	size_t old = p->len;
	char num[24];

	if (key == NULL) {
		snprintf(num, sizeof(num), "%zu", i);
		key = num;
	}
	if (p->len + 5 < sizeof(p->s)) {
		p->s[p->len++] = '/';
		put_text(p->s + p->len, sizeof(p->s) - p->len, key, 1);
		p->len += strlen(p->s + p->len);
	}
	p->segs++;
	return old;
}

static void
ptr_pop(struct ptr *p, size_t old)
{
	p->len = old;
	p->s[old] = '\0';
	p->segs--;
}

static const char *
ptr_str(const struct ptr *p)
{
	return p->len ? p->s : "/";
}

/* Exact comparison of JSON numbers, integer or real (no rounding). */
static int
num_cmp(const json_t *a, const json_t *b)
{
	json_int_t i, t;
	double d, frac;
	int sign = 1;

	if (json_is_integer(a) && json_is_integer(b)) {
		i = json_integer_value(a);
		t = json_integer_value(b);
		return (i > t) - (i < t);
	}
	if (json_is_real(a) && json_is_real(b))
		return (json_real_value(a) > json_real_value(b)) -
		    (json_real_value(a) < json_real_value(b));
	if (json_is_real(a)) { /* then compare b to a, and negate */
		const json_t *x = a;
		a = b;
		b = x;
		sign = -1;
	}
	i = json_integer_value(a);
	d = json_real_value(b);
	if (d >= 9223372036854775808.0 || d < -9223372036854775808.0)
		return d > 0 ? -sign : sign;
	t = (json_int_t)d; /* exact: |d| < 2^63 and trunc(d) is a double */
	if (i != t)
		return i < t ? -sign : sign;
	frac = d - (double)t;
	return frac > 0 ? -sign : frac < 0 ? sign : 0;
}

/* JSON Schema equality: numbers by value, objects unordered. */
static int
equal(const json_t *a, const json_t *b)
{
	const char *key;
	json_t *x;
	size_t i;

	if (json_is_number(a) && json_is_number(b))
		return num_cmp(a, b) == 0;
	if (json_typeof(a) != json_typeof(b))
		return 0;
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return 0;
		json_array_foreach(a, i, x)
			if (!equal(x, json_array_get(b, i)))
				return 0;
		return 1;
	}
	if (json_is_object(a)) {
		if (json_object_size(a) != json_object_size(b))
			return 0;
		json_object_foreach((json_t *)a, key, x)
			if (json_object_get(b, key) == NULL ||
			    !equal(x, json_object_get(b, key)))
				return 0;
		return 1;
	}
	return json_equal((json_t *)a, (json_t *)b);
}

/* ---- compile ----------------------------------------------------------- */

struct cctx {
	struct spool_schema *s;
	struct prop *defs;
	size_t ndefs;
	struct ptr at; /* where in the schema document we are */
	int depth;     /* 1 while compiling the root object itself */
	spool_err *err;
};

static int compile_into(struct cctx *c, struct node *n, const json_t *j);

static int __attribute__((format(printf, 2, 3)))
cfail(struct cctx *c, const char *fmt, ...)
{
	char what[SPOOL_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return spool_fail(c->err, SPOOL_ERR_FORMAT, "%s at %s", what,
	    ptr_str(&c->at));
}

static int
nomem(struct cctx *c)
{
	return spool_fail(c->err, SPOOL_ERR_NOMEM, "out of memory");
}

static struct node *
node_new(struct cctx *c)
{
	struct node *n = calloc(1, sizeof(*n));
	size_t i;

	if (n == NULL) {
		nomem(c);
		return NULL;
	}
	for (i = 0; i < NLIMS; i++)
		n->lim[i] = -1;
	n->next = c->s->nodes;
	c->s->nodes = n;
	return n;
}

/* Compiles the subschema j found under keyword key (at index i if >= 0,
 * for anyOf and oneOf). */
static int
sub(struct cctx *c, struct node **out, const json_t *j, const char *key,
    long i)
{
	size_t old = ptr_push(&c->at, key, 0), old2 = c->at.len;
	int r = SPOOL_ERR_NOMEM;

	if (i >= 0)
		old2 = ptr_push(&c->at, NULL, (size_t)i);
	if ((*out = node_new(c)) != NULL)
		r = compile_into(c, *out, j);
	if (i >= 0)
		ptr_pop(&c->at, old2);
	ptr_pop(&c->at, old);
	return r;
}

/* An object of named schemas ("properties", "$defs"): every node exists
 * before any is compiled, so "$ref" can point at a definition at once and
 * cycles between definitions need no second pass. */
static int
named(struct cctx *c, const json_t *v, const char *kw, struct prop **out,
    size_t *cnt)
{
	const char *key;
	json_t *x;
	size_t i = 0, old;
	int r = SPOOL_OK;

	if (!json_is_object(v))
		return cfail(c, "'%s' must be an object", kw);
	if ((*out = calloc(json_object_size(v) + 1, sizeof(**out))) == NULL)
		return nomem(c);
	json_object_foreach((json_t *)v, key, x) {
		(*out)[i].name = key;
		if (((*out)[i++].schema = node_new(c)) == NULL)
			return SPOOL_ERR_NOMEM;
		*cnt = i;
	}
	old = ptr_push(&c->at, kw, 0);
	for (i = 0; i < *cnt && r == SPOOL_OK; i++) {
		size_t old2 = ptr_push(&c->at, (*out)[i].name, 0);

		r = compile_into(c, (*out)[i].schema,
		    json_object_get(v, (*out)[i].name));
		ptr_pop(&c->at, old2);
	}
	ptr_pop(&c->at, old);
	return r;
}

static int
list(struct cctx *c, struct node ***out, size_t *cnt, const char *key,
    const json_t *v)
{
	size_t i;
	int r;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return cfail(c, "'%s' must be a non-empty array", key);
	if ((*out = calloc(json_array_size(v), sizeof(**out))) == NULL)
		return nomem(c);
	for (i = 0; i < json_array_size(v); i++, (*cnt)++)
		if ((r = sub(c, &(*out)[i], json_array_get(v, i), key,
		    (long)i)) != SPOOL_OK)
			return r;
	return SPOOL_OK;
}

/* Renders const or enum values ("\"a\", \"b\"") for messages. */
static int
render_values(struct cctx *c, struct node *n, const json_t *v, int many)
{
	char buf[TEXT_MAX + 8] = "";
	size_t len = 0, i, cnt = many ? json_array_size(v) : 1;
	char *one;

	for (i = 0; i < cnt && len < TEXT_MAX; i++, len = strlen(buf)) {
		one = json_dumps(many ? json_array_get(v, i) : v,
		    JSON_ENCODE_ANY | JSON_COMPACT);
		if (one == NULL)
			return nomem(c);
		snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? ", " : "",
		    one);
		free(one);
	}
	if (i < cnt || len >= TEXT_MAX)
		memcpy(buf + (len < TEXT_MAX ? len : TEXT_MAX), "...", 4);
	return (n->values = strdup(buf)) == NULL ? nomem(c) : SPOOL_OK;
}

/* POSIX ERE and ECMA-262 agree on a pattern only if it avoids escapes
 * other than of punctuation, and '\' or '[' inside brackets. */
static int
check_pattern(struct cctx *c, const char *p)
{
	const char *q;
	int in = 0; /* inside brackets: 1 + members seen */

	for (q = p; *q != '\0'; q++) {
		if (in && (*q == '\\' || *q == '['))
			return cfail(c, "pattern '%s': '%c' inside brackets "
			    "differs between POSIX and ECMA", p, *q);
		if (in)
			in = *q == ']' && in > 1 ? 0 : in + 1;
		else if (*q == '[') {
			in = 1;
			q += q[1] == '^';
			if (q[1] == ']')
				return cfail(c, "pattern '%s': ']' first in "
				    "brackets differs between POSIX and ECMA",
				    p);
		} else if (*q == '\\' && (q[1] == '\0' ||
		    strchr(".[]{}()*+?^$|\\/-", *++q) == NULL))
			return cfail(c, "pattern '%s': escape '\\%c' is not "
			    "portable POSIX ERE", p, *q);
	}
	return SPOOL_OK;
}

static int
kw_type(struct cctx *c, struct node *n, const json_t *v)
{
	size_t i, k, cnt = json_is_array(v) ? json_array_size(v) : 1;
	const char *name;

	if (!json_is_string(v) && (!json_is_array(v) || cnt == 0))
		return cfail(c, "'type' must be a string or non-empty array");
	for (i = 0; i < cnt; i++) {
		name = json_string_value(json_is_array(v) ?
		    json_array_get(v, i) : v);
		for (k = 0; name != NULL && k < NTYPES; k++)
			if (strcmp(name, type_names[k]) == 0)
				break;
		if (name == NULL || k == NTYPES)
			return cfail(c, "unknown type %s", name ? name : "");
		n->types |= 1u << k;
	}
	return SPOOL_OK;
}

static int
kw_ref(struct cctx *c, struct node *n, const json_t *v)
{
	const char *ref = json_string_value(v);
	size_t i;

	if (ref == NULL || strncmp(ref, "#/$defs/", 8) != 0)
		return cfail(c, "unsupported $ref %s (only \"#/$defs/NAME\")",
		    ref ? ref : "(not a string)");
	for (i = 0; i < c->ndefs; i++)
		if (strcmp(c->defs[i].name, ref + 8) == 0) {
			n->ref = c->defs[i].schema;
			return SPOOL_OK;
		}
	return cfail(c, "unresolvable $ref '%s'", ref);
}

static int
kw_pattern(struct cctx *c, struct node *n, const json_t *v)
{
	char msg[128];
	int r;

	if (!json_is_string(v))
		return cfail(c, "'pattern' must be a string");
	if ((r = check_pattern(c, json_string_value(v))) != SPOOL_OK)
		return r;
	r = regcomp(&n->re, json_string_value(v), REG_EXTENDED | REG_NOSUB);
	if (r != 0) {
		regerror(r, &n->re, msg, sizeof(msg));
		return cfail(c, "pattern '%s': %s", json_string_value(v), msg);
	}
	n->pattern = json_string_value(v); /* now regfree is due */
	return SPOOL_OK;
}

static int
keyword(struct cctx *c, struct node *n, const char *k, const json_t *v)
{
	static const char *const notes[] = {
		"title", "description", "examples", "$comment"
	};
	size_t i;

	for (i = 0; i < NLIMS; i++) {
		if (strcmp(k, lim_names[i]) != 0)
			continue;
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return cfail(c, "'%s' must be a non-negative integer",
			    k);
		n->lim[i] = json_integer_value(v);
		return SPOOL_OK;
	}
	for (i = 0; i < sizeof(notes) / sizeof(notes[0]); i++)
		if (strcmp(k, notes[i]) == 0)
			return SPOOL_OK;
	if (strcmp(k, "type") == 0)
		return kw_type(c, n, v);
	if (strcmp(k, "properties") == 0)
		return named(c, v, k, &n->props, &n->nprops);
	if (strcmp(k, "additionalProperties") == 0)
		return sub(c, &n->additional, v, k, -1);
	if (strcmp(k, "items") == 0)
		return sub(c, &n->items, v, k, -1);
	if (strcmp(k, "not") == 0)
		return sub(c, &n->not_, v, k, -1);
	if (strcmp(k, "anyOf") == 0)
		return list(c, &n->any_of, &n->nany, k, v);
	if (strcmp(k, "oneOf") == 0)
		return list(c, &n->one_of, &n->none, k, v);
	if (strcmp(k, "$ref") == 0)
		return kw_ref(c, n, v);
	if (strcmp(k, "pattern") == 0)
		return kw_pattern(c, n, v);
	if (strcmp(k, "required") == 0) {
		for (i = 0; json_is_array(v) && i < json_array_size(v); i++)
			if (!json_is_string(json_array_get(v, i)))
				break;
		if (!json_is_array(v) || i < json_array_size(v))
			return cfail(c, "'required' must be an array of "
			    "strings");
		n->required = v;
		return SPOOL_OK;
	}
	if (strcmp(k, "const") == 0 || strcmp(k, "enum") == 0) {
		if (n->constv != NULL || n->enumv != NULL)
			return cfail(c, "'const' and 'enum' together");
		if (k[0] == 'c')
			n->constv = v;
		else if (json_is_array(v) && json_array_size(v) > 0)
			n->enumv = v;
		else
			return cfail(c, "'enum' must be a non-empty array");
		return render_values(c, n, v, k[0] == 'e');
	}
	if (strcmp(k, "minimum") == 0 || strcmp(k, "maximum") == 0) {
		if (!json_is_number(v))
			return cfail(c, "'%s' must be a number", k);
		*(strcmp(k, "minimum") == 0 ? &n->minimum : &n->maximum) = v;
		return SPOOL_OK;
	}
	if ((strcmp(k, "$defs") == 0 || strcmp(k, "$id") == 0) &&
	    c->depth != 1)
		return cfail(c, "'%s' is supported only at the root", k);
	if (strcmp(k, "$defs") == 0 || strcmp(k, "$id") == 0)
		return SPOOL_OK; /* $defs: compiled first, by the caller */
	if (strcmp(k, "$schema") == 0) {
		if (c->depth != 1 || !json_is_string(v) ||
		    strcmp(json_string_value(v),
		    "https://json-schema.org/draft/2020-12/schema") != 0)
			return cfail(c, "'$schema' must be 2020-12 and only "
			    "at the root");
		return SPOOL_OK;
	}
	return cfail(c, "unsupported keyword '%s'", k);
}

static int
compile_into(struct cctx *c, struct node *n, const json_t *j)
{
	const char *key;
	json_t *v;
	int r = SPOOL_OK;

	if (json_is_boolean(j)) {
		n->never = json_is_false(j);
		return SPOOL_OK;
	}
	if (!json_is_object(j))
		return cfail(c, "a schema must be an object or a boolean");
	if (++c->depth > DEPTH_MAX)
		r = cfail(c, "schema nested deeper than %d", DEPTH_MAX);
	json_object_foreach((json_t *)j, key, v) {
		if (r != SPOOL_OK || (r = keyword(c, n, key, v)) != SPOOL_OK)
			break;
	}
	c->depth--;
	return r;
}

int
spool_schema_compile(struct spool_schema **out, const char *text,
    spool_err *err)
{
	struct cctx c = { .err = err };
	json_error_t jerr;
	const json_t *defs;
	int r;

	if ((c.s = calloc(1, sizeof(*c.s))) == NULL)
		return nomem(&c);
	c.s->doc = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
	    &jerr);
	if (c.s->doc == NULL) {
		r = json_error_code(&jerr) == json_error_out_of_memory ?
		    nomem(&c) : spool_fail(err, SPOOL_ERR_FORMAT,
		    "schema: line %d: %s", jerr.line, jerr.text);
		goto out;
	}
	if ((defs = json_object_get(c.s->doc, "$defs")) != NULL) {
		c.depth = 1; /* the definitions' own keywords are below it */
		r = named(&c, defs, "$defs", &c.defs, &c.ndefs);
		c.depth = 0;
		if (r != SPOOL_OK)
			goto out;
	}
	if ((c.s->root = node_new(&c)) == NULL) {
		r = SPOOL_ERR_NOMEM;
		goto out;
	}
	if ((r = compile_into(&c, c.s->root, c.s->doc)) != SPOOL_OK)
		goto out;
	*out = c.s;
	c.s = NULL;
	out:
	free(c.defs);
	spool_schema_free(c.s);
	return r;
}

int
spool_schema_load(struct spool_schema **out, const char *name,
    spool_err *err)
{
	const struct spool_embedded_schema *e;
	int r;

	for (e = spool_embedded_schemas; e->name != NULL; e++)
		if (strcmp(e->name, name) == 0)
			break;
	if (e->name == NULL)
		return spool_fail(err, SPOOL_ERR_NOTFOUND,
		    "no embedded schema '%s'", name);
	if ((r = spool_schema_compile(out, e->text, err)) != SPOOL_OK) {
		spool_err_prefix(err, "schema '%s'", name);
		/* the embedded schemas are part of the build: failing to
		 * load one is never the input's fault */
		if (r != SPOOL_ERR_NOMEM && err != NULL)
			err->code = SPOOL_ERR_INTERNAL;
		if (r != SPOOL_ERR_NOMEM)
			r = SPOOL_ERR_INTERNAL;
	}
	return r;
}

void
spool_schema_free(struct spool_schema *s)
{
	struct node *n, *next;

	if (s == NULL)
		return;
	for (n = s->nodes; n != NULL; n = next) {
		next = n->next;
		if (n->pattern != NULL)
			regfree(&n->re);
		free(n->props);
		free(n->any_of);
		free(n->one_of);
		free(n->values);
		free(n);
	}
	json_decref(s->doc);
	free(s);
}

/* ---- validate ---------------------------------------------------------- */

struct vctx {
	struct ptr at; /* the instance location */
	char msg[SPOOL_ERR_MSG_MAX];
	int fail_segs; /* depth of the failure, for the oneOf ranking */
	int nest;      /* anyOf/oneOf being checked */
	int fatal;     /* a bound was hit: no branch or "not" may hide it */
	int nomem;     /* regexec ran out of memory: not the document's fault */
	char kept[NEST_MAX][SPOOL_ERR_MSG_MAX]; /* their best reasons */
};

static int check(struct vctx *c, const struct node *s, const json_t *v,
    int refs);

static int __attribute__((format(printf, 2, 3)))
bad(struct vctx *c, const char *fmt, ...)
{
	size_t n;
	va_list ap;

	snprintf(c->msg, sizeof(c->msg), "%s: ", ptr_str(&c->at));
	n = strlen(c->msg);
	va_start(ap, fmt);
	vsnprintf(c->msg + n, sizeof(c->msg) - n, fmt, ap);
	va_end(ap);
	c->fail_segs = c->at.segs;
	return -1;
}

static int member(struct vctx *c, const struct node *s, const json_t *v,
    const char *key, size_t i, int n);

/* The whole document's depth is bounded, parts no rule walks included. */
static int
check_depth(struct vctx *c, const json_t *v, int n)
{
	const char *key;
	json_t *x;
	size_t i;

	if (!json_is_object(v) && !json_is_array(v))
		return 0;
	if (n > DEPTH_MAX)
		return bad(c, "nested deeper than %d levels", DEPTH_MAX);
	json_array_foreach(v, i, x)
		if (member(c, NULL, x, NULL, i, n + 1) != 0)
			return -1;
	json_object_foreach((json_t *)v, key, x)
		if (member(c, NULL, x, key, 0, n + 1) != 0)
			return -1;
	return 0;
}

/* Checks v, the member key (or element i when key is NULL) of the
 * current instance: against s with n $ref hops so far, or when s is NULL
 * only its nesting, v being at depth n. */
static int
member(struct vctx *c, const struct node *s, const json_t *v,
    const char *key, size_t i, int n)
{
	size_t old = ptr_push(&c->at, key, i);
	int r = s != NULL ? check(c, s, v, n) : check_depth(c, v, n);

	ptr_pop(&c->at, old);
	return r;
}

static int
check_scalar(struct vctx *c, const struct node *s, const json_t *v)
{
	const char *str = json_string_value(v);
	size_t i, n = json_string_length(v), cps = 0;
	const json_t *b;

	for (i = 0; str != NULL && i < n; i++) /* UTF-8 code points */
		cps += ((unsigned char)str[i] & 0xc0) != 0x80;
	if (str != NULL && s->lim[MIN_LEN] >= 0 &&
	    cps < (size_t)s->lim[MIN_LEN])
		return bad(c, "must be at least %" JSON_INTEGER_FORMAT
		    " characters", s->lim[MIN_LEN]);
	if (str != NULL && s->lim[MAX_LEN] >= 0 &&
	    cps > (size_t)s->lim[MAX_LEN])
		return bad(c, "must be at most %" JSON_INTEGER_FORMAT
		    " characters", s->lim[MAX_LEN]);
	if (str != NULL && s->pattern != NULL) {
		int m = memchr(str, 0, n) != NULL ? REG_NOMATCH :
		    regexec(&s->re, str, 0, NULL, 0);

		if (m != 0 && m != REG_NOMATCH) {
			c->nomem = c->fatal = 1;
			return bad(c, "out of memory matching a pattern");
		}
		if (m != 0)
			return bad(c, "does not match pattern %s", s->pattern);
	}
	if (!json_is_number(v))
		return 0;
	if ((b = s->minimum) != NULL && num_cmp(v, b) >= 0)
		b = NULL;
	if (b == NULL && (b = s->maximum) != NULL && num_cmp(v, b) <= 0)
		b = NULL;
	if (b == NULL)
		return 0;
	if (json_is_integer(b))
		return bad(c, "must be %s %" JSON_INTEGER_FORMAT,
		    b == s->minimum ? ">=" : "<=", json_integer_value(b));
	return bad(c, "must be %s %.17g", b == s->minimum ? ">=" : "<=",
	    json_real_value(b));
}

static int
check_object(struct vctx *c, const struct node *s, const json_t *v,
    int refs)
{
	char shown[PTR_MAX];
	const char *key;
	size_t i, klen;
	json_t *x;

	for (i = 0; i < json_array_size(s->required); i++) {
		key = json_string_value(json_array_get(s->required, i));
		if (json_object_get(v, key) == NULL) {
			put_text(shown, sizeof(shown), key, 0);
			return bad(c, "missing required property \"%s\"",
			    shown);
		}
	}
	for (i = 0; i < s->nprops; i++)
		if ((x = json_object_get(v, s->props[i].name)) != NULL &&
		    member(c, s->props[i].schema, x, s->props[i].name, 0,
		    refs) != 0)
			return -1;
	if (s->lim[MAX_PROPS] >= 0 &&
	    json_object_size(v) > (size_t)s->lim[MAX_PROPS])
		return bad(c, "must have at most %" JSON_INTEGER_FORMAT
		    " properties", s->lim[MAX_PROPS]);
	if (s->additional == NULL)
		return 0;
	json_object_keylen_foreach((json_t *)v, key, klen, x) {
		for (i = 0; i < s->nprops; i++)
			if (strcmp(key, s->props[i].name) == 0)
				break;
		if (i < s->nprops && strlen(key) == klen)
			continue;
		put_text(shown, sizeof(shown), key, 0);
		if (s->additional->never || strlen(key) != klen)
			return bad(c, "unknown property \"%s\"", shown);
		if (member(c, s->additional, x, key, 0, refs) != 0)
			return -1;
	}
	return 0;
}

static int
check_array(struct vctx *c, const struct node *s, const json_t *v, int refs)
{
	size_t i, n = json_array_size(v);

	if (s->lim[MIN_ITEMS] >= 0 && n < (size_t)s->lim[MIN_ITEMS])
		return bad(c, "must have at least %" JSON_INTEGER_FORMAT
		    " items", s->lim[MIN_ITEMS]);
	if (s->lim[MAX_ITEMS] >= 0 && n > (size_t)s->lim[MAX_ITEMS])
		return bad(c, "must have at most %" JSON_INTEGER_FORMAT
		    " items", s->lim[MAX_ITEMS]);
	for (i = 0; s->items != NULL && i < n; i++)
		if (member(c, s->items, json_array_get(v, i), NULL, i,
		    refs) != 0)
			return -1;
	return 0;
}

/* The property of branch s (or of what it refers to) whose "const" the
 * object v contradicts: such a branch is another variant of a
 * discriminated union ("kind"), so it cannot explain the failure. */
static const struct prop *
mismatch(const struct node *s, const json_t *v)
{
	const struct prop *p;
	const json_t *x;
	size_t i;
	int hops;

	if (!json_is_object(v))
		return NULL;
	/* indexed: props may be NULL when nprops is 0 */
	for (hops = 0; s != NULL && hops < DEPTH_MAX; s = s->ref, hops++)
		for (i = 0; i < s->nprops; i++) {
			p = &s->props[i];
			if (p->schema->constv != NULL &&
			    (x = json_object_get(v, p->name)) != NULL &&
			    !equal(x, p->schema->constv))
				return p;
		}
	return NULL;
}

/* anyOf (one == 0) or oneOf (one == 1).  On failure the reason is the
 * one of the branch that got deepest into the document: the branch the
 * author most likely meant.  That reason is kept in c->kept[] rather than
 * found again, which would cost 2^depth for nested combinators. */
static int
check_of(struct vctx *c, struct node *const *br, size_t n, int one,
    const json_t *v, int refs)
{
	const char *what = one ? "oneOf" : "anyOf", *key = NULL;
	char consts[TEXT_MAX + 8] = "";
	size_t i, len, matched = 0, skipped = 0, old;
	const struct prop *p;
	int best = -1, same = 1, r = -1;

	if (c->nest >= NEST_MAX) {
		c->fatal = 1;
		return bad(c, "more than %d nested anyOf/oneOf", NEST_MAX);
	}
	c->nest++;
	for (i = 0; i < n && matched < 2; i++) {
		if ((p = mismatch(br[i], v)) != NULL) {
			same = same && (!key || strcmp(key, p->name) == 0);
			key = p->name;
			if ((len = strlen(consts)) < TEXT_MAX)
				snprintf(consts + len, sizeof(consts) - len,
				    "%s%s", len ? ", " : "", p->schema->values);
			skipped++;
		} else if (check(c, br[i], v, refs) == 0) {
			matched += one ? 1 : 2; /* anyOf: done at once */
		} else if (c->fatal) {
			c->nest--;
			return -1;
		} else if (c->fail_segs > best) {
			best = c->fail_segs;
			memcpy(c->kept[c->nest - 1], c->msg, sizeof(c->msg));
		}
	}
	c->nest--;
	if (matched == 1 || (matched > 1 && !one))
		r = 0;
	else if (matched > 1)
		bad(c, "matches more than one of %s", what);
	else if (best >= 0) {
		memcpy(c->msg, c->kept[c->nest], sizeof(c->msg));
		c->fail_segs = best;
	} else if (skipped == n && same) {
		old = ptr_push(&c->at, key, 0);
		bad(c, "must be one of %s", consts);
		ptr_pop(&c->at, old);
	} else
		bad(c, "does not match any of %s", what);
	return r;
}

static int
check(struct vctx *c, const struct node *s, const json_t *v, int refs)
{
	char want[128] = "";
	unsigned t;
	size_t i;

	if (s->never)
		return bad(c, "no value is allowed here");
	t = json_is_object(v) ? T_OBJECT : json_is_array(v) ? T_ARRAY :
	    json_is_string(v) ? T_STRING : json_is_integer(v) ? T_INTEGER |
	    T_NUMBER : json_is_real(v) ? T_NUMBER : json_is_boolean(v) ?
	    T_BOOLEAN : T_NULL;
	if (s->types != 0 && (s->types & t) == 0) {
		for (i = 0; i < NTYPES; i++)
			if (s->types & (1u << i))
				snprintf(want + strlen(want), sizeof(want) -
				    strlen(want), "%s%s", want[0] ? " or " :
				    "", type_names[i]);
		return bad(c, "must be %s", want);
	}
	if (s->constv != NULL && !equal(v, s->constv))
		return bad(c, "must be %s", s->values);
	for (i = 0; s->enumv != NULL && i < json_array_size(s->enumv); i++)
		if (equal(v, json_array_get(s->enumv, i)))
			break;
	if (s->enumv != NULL && i == json_array_size(s->enumv))
		return bad(c, "must be one of %s", s->values);
	if (check_scalar(c, s, v) != 0 || (json_is_object(v) &&
	    check_object(c, s, v, refs) != 0) || (json_is_array(v) &&
	    check_array(c, s, v, refs) != 0))
		return -1;
	if (s->ref != NULL && refs >= DEPTH_MAX) {
		c->fatal = 1;
		return bad(c, "more than %d nested $ref (a cycle?)",
		    DEPTH_MAX);
	}
	if ((s->ref != NULL && check(c, s->ref, v, refs + 1) != 0) ||
	    (s->nany && check_of(c, s->any_of, s->nany, 0, v, refs) != 0) ||
	    (s->none && check_of(c, s->one_of, s->none, 1, v, refs) != 0))
		return -1;
	if (s->not_ != NULL) {
		if (check(c, s->not_, v, refs) != 0)
			return c->fatal ? -1 : 0;
		if (s->not_->values != NULL)
			return bad(c, "must not be %s%s", s->not_->enumv ?
			    "one of " : "", s->not_->values);
		return bad(c, "must not match the \"not\" schema");
	}
	return 0;
}

int
spool_schema_validate(const struct spool_schema *s, const json_t *doc,
    spool_err *err)
{
	struct vctx c;

	if (s == NULL || doc == NULL)
		return spool_fail(err, SPOOL_ERR_USAGE,
		    "schema validate: no schema or no document");
	memset(&c, 0, sizeof(c));
	if (check_depth(&c, doc, 1) != 0 || check(&c, s->root, doc, 0) != 0)
		return spool_fail(err, c.nomem ? SPOOL_ERR_NOMEM :
		    SPOOL_ERR_FORMAT, "%s", c.msg);
	return SPOOL_OK;
}
