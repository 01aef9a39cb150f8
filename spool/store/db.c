/*
 * db.c - result sets shared by the SQL drivers.
 *
 * Rows are copied into one growing arena and addressed by offset, so a
 * result is two allocations whatever its size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spool/base/error.h"
#include "spool/store/db.h"

int
spool_dbres_init(struct spool_dbres *r, size_t ncols, spool_err *err)
{
	(void)err;
	memset(r, 0, sizeof(*r));
	r->ncols = ncols;
	return SPOOL_OK;
}

void
spool_dbres_release(struct spool_dbres *r)
{
	if (r == NULL)
		return;
	free(r->off);
	free(r->arena);
	memset(r, 0, sizeof(*r));
}

int
spool_dbres_add_row(struct spool_dbres *r, const char *const *cells,
    const size_t *lens, spool_err *err)
{
	size_t need = 0, i;

	if (r->nrows >= SPOOL_DB_ROWS_MAX)
		return spool_fail(err, SPOOL_ERR_LIMIT,
		    "query returned more than %d rows", SPOOL_DB_ROWS_MAX);
	for (i = 0; i < r->ncols; i++)
		if (cells[i] != NULL)
			need += lens[i] + 1;
	if ((r->nrows + 1) * r->ncols > r->offcap) {
		size_t cap = r->offcap ? r->offcap * 2 : r->ncols * 8 + 8;
		size_t *o = realloc(r->off, cap * sizeof(*o));
		if (o == NULL)
			return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		r->off = o;
		r->offcap = cap;
	}
	if (r->len + need > r->cap) {
		size_t cap = r->cap ? r->cap : 256;
		char *a;
		while (cap < r->len + need)
			cap *= 2;
		if ((a = realloc(r->arena, cap)) == NULL)
			return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		r->arena = a;
		r->cap = cap;
	}
	for (i = 0; i < r->ncols; i++) {
		size_t *o = &r->off[r->nrows * r->ncols + i];
		if (cells[i] == NULL) {
			*o = SIZE_MAX;
			continue;
		}
		*o = r->len;
		memcpy(r->arena + r->len, cells[i], lens[i]);
		r->arena[r->len + lens[i]] = '\0';
		r->len += lens[i] + 1;
	}
	r->nrows++;
	return SPOOL_OK;
}

const char *
spool_dbres_text(const struct spool_dbres *r, size_t row, size_t col)
{
	size_t o;

	if (row >= r->nrows || col >= r->ncols)
		return NULL;
	o = r->off[row * r->ncols + col];
	return o == SIZE_MAX ? NULL : r->arena + o;
}

int64_t
spool_dbres_int(const struct spool_dbres *r, size_t row, size_t col)
{
	const char *s = spool_dbres_text(r, row, col);
	char *end;
	long long v;

	if (s == NULL || *s == '\0')
		return 0;
	v = strtoll(s, &end, 10);
	return *end == '\0' ? (int64_t)v : 0;
}

static size_t
slot(const void *key, size_t cap)
{
	uintptr_t k = (uintptr_t)key;

	k ^= k >> 17;
	k *= 0x9e3779b97f4a7c15ull;
	return (size_t)(k >> 7) & (cap - 1);
}

void *
spool_stmt_cache_get(const struct spool_stmt_cache *c, const char *key)
{
	size_t i;

	if (c->cap == 0)
		return NULL;
	for (i = slot(key, c->cap); c->v[i].key != NULL;
	    i = (i + 1) & (c->cap - 1))
		if (c->v[i].key == key)
			return c->v[i].val;
	return NULL;
}

int
spool_stmt_cache_put(struct spool_stmt_cache *c, const char *key, void *val)
{
	size_t i;

	if ((c->n + 1) * 2 > c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64, j;
		struct spool_stmt_slot *v = calloc(cap, sizeof(*v));

		if (v == NULL)
			return SPOOL_ERR_NOMEM;
		for (j = 0; j < c->cap; j++) {
			if (c->v[j].key == NULL)
				continue;
			for (i = slot(c->v[j].key, cap); v[i].key != NULL;
			    i = (i + 1) & (cap - 1))
				;
			v[i] = c->v[j];
		}
		free(c->v);
		c->v = v;
		c->cap = cap;
	}
	for (i = slot(key, c->cap); c->v[i].key != NULL;
	    i = (i + 1) & (c->cap - 1))
		;
	c->v[i].key = key;
	c->v[i].val = val;
	c->n++;
	return SPOOL_OK;
}

void
spool_stmt_cache_release(struct spool_stmt_cache *c, void (*fn)(void *))
{
	size_t i;

	for (i = 0; fn != NULL && i < c->cap; i++)
		if (c->v[i].key != NULL)
			fn(c->v[i].val);
	free(c->v);
	memset(c, 0, sizeof(*c));
}
