/*
 * sqlbuf.c - SQL text with a cap, identifiers quoted, values bound.
 *
 * The only ways request text reaches SQL: sb_ident() for a name already
 * checked against the layer's real fields (quoted all the same), and
 * qp_add() for a value, which writes a placeholder and keeps the value
 * for binding.  A buffer that passes its cap or runs out of memory
 * remembers it, so callers check once at the end.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool/base/numfmt.h"

#include "query.h"

void
sb_init(struct sbuf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
sb_release(struct sbuf *b)
{
	if (b == NULL)
		return;
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static int
sb_grow(struct sbuf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->oom)
		return -1;
	if (b->len + more + 1 <= b->cap)
		return 0;
	if (b->len + more + 1 > b->max) {
		b->oom = 1;
		return -1;
	}
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;
	if (cap > b->max)
		cap = b->max;
	if ((p = realloc(b->p, cap)) == NULL) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void
sb_addn(struct sbuf *b, const char *s, size_t n)
{
	if (sb_grow(b, n) != 0)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
sb_add(struct sbuf *b, const char *s)
{
	sb_addn(b, s, strlen(s));
}

void
sb_addc(struct sbuf *b, char c)
{
	if (sb_grow(b, 1) != 0)
		return;
	b->p[b->len++] = c;
	b->p[b->len] = '\0';
}

void
q_fmt_double(char *buf, size_t n, double d)
{
	/* 15 digits usually do; 17 always do (16 is rarely what 15
	 * missed, and a third try costs more than it saves) */
	spool_fmt_double(buf, n, d);
}

void
sb_addf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->oom = 1;
		return;
	}
	sb_add(b, tmp);
}

void
sb_ident(struct sbuf *b, const char *name)
{
	const char *s;

	if (sb_grow(b, 2 * strlen(name) + 2) != 0)
		return;
	b->p[b->len++] = '"';
	for (s = name; *s; s++) {
		if (*s == '"')
			b->p[b->len++] = '"';
		b->p[b->len++] = *s;
	}
	b->p[b->len++] = '"';
	b->p[b->len] = '\0';
}

int
qp_add(struct qparams *p, struct sbuf *b, const struct qval *v)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct qval *nv = realloc(p->v, cap * sizeof(*nv));

		if (nv == NULL) {
			b->oom = 1;
			return -1;
		}
		p->v = nv;
		p->cap = cap;
	}
	p->v[p->n++] = *v;
	sb_addf(b, p->pg ? "$%zu" : "?%zu", p->n);
	return 0;
}

const char *
qp_keep(struct qparams *p, char *s)
{
	char **nk;

	if (s == NULL)
		return NULL;
	if ((nk = realloc(p->keep, (p->nkeep + 1) * sizeof(*nk))) == NULL) {
		free(s);
		return NULL;
	}
	p->keep = nk;
	p->keep[p->nkeep++] = s;
	return s;
}

void
qp_release(struct qparams *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->nkeep; i++)
		free(p->keep[i]);
	free(p->keep);
	free(p->v);
	p->keep = NULL;
	p->v = NULL;
	p->n = p->cap = p->nkeep = 0;
}
