/*
 * output.c - spoolctl's output kit: text made printable and JSON-safe,
 * times, rows collected from the store, tables for people, rows as JSON,
 * and failures as messages (output.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "spoolctl.h"

/* ---- text ------------------------------------------------------------- */

/* Control characters (C0, DEL, and C1 as UTF-8) become '?'; line breaks
 * and tabs become spaces. */
void
sanitize(char *s)
{
	unsigned char *p = (unsigned char *)s;

	for (; *p; p++) {
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
		else if (*p < 0x20 || *p == 0x7f)
			*p = '?';
		else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			p[0] = '?';
			p[1] = '?';
			p++;
		}
	}
}

/* s made printable, or "-" for NULL; the buffer is freed by the caller
 * (NULL when out of memory). */
char *
out_printable(const char *s)
{
	char *d = strdup(s ? s : "-");

	if (d != NULL)
		sanitize(d);
	return d;
}

/* Write s printable to stdout ("-" for NULL). */
void
out_put(const char *s)
{
	char *d = out_printable(s);

	fputs(d ? d : "?", stdout);
	free(d);
}

/* Columns on a terminal: UTF-8 lead bytes (wide characters aside). */
size_t
width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* A JSON string for s (NULL: null); bytes that are not valid UTF-8
 * become '?'. */
json_t *
out_jstr(const char *s)
{
	json_t *j;
	char *d;
	size_t i;

	if (s == NULL)
		return json_null();
	if ((j = json_string(s)) != NULL)
		return j;
	if ((d = strdup(s)) == NULL)
		return NULL;
	for (i = 0; d[i]; i++)
		if ((unsigned char)d[i] >= 0x80)
			d[i] = '?';
	j = json_string(d);
	free(d);
	return j;
}

void
out_size(char *out, size_t n, double v)
{
	const char *u[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(out, n, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

/* ms since 1970 as "YYYY-MM-DDTHH:MM:SSZ", or with ".mmm" (frac). */
void
out_time(char out[32], int64_t ms, int frac)
{
	char s[SPOOL_TIME_LEN + 1];
	int64_t sec = ms / 1000, rem = ms % 1000;

	if (rem < 0) {
		rem += 1000;
		sec--;
	}
	spool_time_format(s, (time_t)sec);
	if (frac)
		snprintf(out, 32, "%.19s.%03dZ", s, (int)rem);
	else
		snprintf(out, 32, "%s", s);
}

/* A time cell (ms as text, or NULL) for people: "-" when none. */
const char *
cell_time(char out[32], const char *cell)
{
	if (cell == NULL)
		return "-";
	out_time(out, strtoll(cell, NULL, 10), 0);
	return out;
}

int64_t
cell_int(const char *cell)
{
	return cell ? strtoll(cell, NULL, 10) : 0;
}

/* "spoolctl: CMD: why" for a library error: 2 for usage (an ambiguous
 * or short id, a bad argument), 1 for everything else. */
int
out_fail(const struct ctl *c, const spool_err *err)
{
	char msg[SPOOL_ERR_MSG_MAX];

	snprintf(msg, sizeof(msg), "%s", err->msg[0] ? err->msg :
	    spool_strerror(err->code));
	sanitize(msg);
	return ctl_fail(c, err->code == SPOOL_ERR_USAGE ? SPOOL_ERR_USAGE :
	    SPOOL_ERR_STORE, msg);
}

int
out_nomem(const struct ctl *c)
{
	return ctl_fail(c, SPOOL_ERR_NOMEM, "out of memory");
}

int
out_store_open(struct ctl *c, struct spool_store **st)
{
	spool_err err;

	spool_err_clear(&err);
	if (spool_store_open_config(st, c->node->cfg, &err) != SPOOL_OK)
		return out_fail(c, &err);
	return EXIT_OK;
}

/* --name VALUE or --name=VALUE at argv[*i]. */

/* ---- rows from the store ---------------------------------------------- */



void
rows_free(struct rows *r)
{
	size_t i;

	for (i = 0; i < r->n * r->ncols; i++)
		free(r->cell[i]);
	free(r->cell);
	memset(r, 0, sizeof(*r));
}

int
collect(void *arg, const struct spool_store_row *row)
{
	struct rows *r = arg;
	size_t c;

	if (r->n == 0 && r->ncols == 0)
		r->ncols = row->ncols;
	if (row->ncols != r->ncols)
		return SPOOL_ERR_INTERNAL;
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		char **v = realloc(r->cell, cap * r->ncols * sizeof(*v));
		if (v == NULL)
			return SPOOL_ERR_NOMEM;
		r->cell = v;
		r->cap = cap;
	}
	for (c = 0; c < r->ncols; c++) {
		const char *s = row->col[c];
		if (s == NULL)
			CELL(r, r->n, c) = NULL;
		else if ((CELL(r, r->n, c) = strdup(s)) == NULL) {
			while (c-- > 0)
				free(CELL(r, r->n, c));
			return SPOOL_ERR_NOMEM;
		}
	}
	r->n++;
	return SPOOL_OK;
}

/* A row found by id, then deleted (gc) before it was read. */
int
gone(const struct rows *r, const char *kind, const char *id, spool_err *err)
{
	if (r->n == 1)
		return SPOOL_OK;
	return spool_fail(err, SPOOL_ERR_NOTFOUND, "no %s '%s'", kind, id);
}


json_t *
row_json(struct rows *r, size_t i, const struct col *cols, size_t ncols)
{
	json_t *o = json_object(), *j;
	char t[32];
	size_t c;

	if (o == NULL)
		return NULL;
	for (c = 0; c < ncols && c < r->ncols; c++) {
		const char *v = CELL(r, i, c);

		if (v == NULL)
			j = json_null();
		else if (cols[c].type == 'i')
			j = json_integer(cell_int(v));
		else if (cols[c].type == 't') {
			out_time(t, cell_int(v), 1);
			j = json_string(t);
		} else if (cols[c].type == 'j') {
			if ((j = json_loads(v, JSON_DECODE_ANY, NULL)) == NULL)
				j = out_jstr(v);
		} else
			j = out_jstr(v);
		if (j == NULL || json_object_set_new(o, cols[c].key, j) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

json_t *
rows_json(struct rows *r, const struct col *cols, size_t ncols)
{
	json_t *a = json_array(), *o;
	size_t i;

	for (i = 0; a != NULL && i < r->n; i++)
		if ((o = row_json(r, i, cols, ncols)) == NULL ||
		    json_array_append_new(a, o) != 0) {
			json_decref(a);
			a = NULL;
		}
	return a;
}

/* Print {"key": [rows]} */
int
print_rows_json(const struct ctl *c, const char *key, struct rows *r,
    const struct col *cols, size_t ncols)
{
	json_t *a = rows_json(r, cols, ncols), *doc;

	if (a == NULL || (doc = json_object()) == NULL) {
		json_decref(a);
		return out_nomem(c);
	}
	if (json_object_set_new(doc, key, a) != 0) {
		json_decref(doc);
		return out_nomem(c);
	}
	return ctl_print_json(doc);
}

/* ---- tables for people ------------------------------------------------ */


void
table_init(struct table *t, size_t ncols, unsigned right)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->right = right;
}

/* One row of t->ncols values (NULL prints "-"). */
void
table_row(struct table *t, const char *const *v)
{
	size_t c;

	if (t->nomem)
		return;
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 16;
		char **p = realloc(t->cell, cap * t->ncols * sizeof(*p));
		if (p == NULL) {
			t->nomem = 1;
			return;
		}
		t->cell = p;
		t->cap = cap;
	}
	for (c = 0; c < t->ncols; c++)
		if ((t->cell[t->n * t->ncols + c] = out_printable(v[c])) == NULL)
			t->nomem = 1;
	t->n++;
}

/* Columns padded to their widest cell, two spaces apart, each line
 * indented; nothing is padded after a row's last non-empty cell.  With
 * a header (row 0), a column with no data at all is left out. */
void
table_print(const struct table *t, const char *indent, int header)
{
	size_t w[16] = { 0 }, i, c, k, lastnz;
	int keep[16];

	for (c = 0; c < t->ncols && c < 16; c++) {
		keep[c] = !header;
		for (i = header ? 1 : 0; i < t->n; i++) {
			const char *s = t->cell[i * t->ncols + c];
			if (s == NULL || *s != '\0')
				keep[c] = 1;
		}
	}
	for (i = 0; i < t->n; i++)
		for (c = 0; c < t->ncols && c < 16; c++) {
			const char *s = t->cell[i * t->ncols + c];
			if (s != NULL && width(s) > w[c])
				w[c] = width(s);
		}
	for (i = 0; i < t->n; i++) {
		const char *sep = "";

		lastnz = 0;
		for (c = 0; c < t->ncols && c < 16; c++) {
			const char *s = t->cell[i * t->ncols + c];
			if (keep[c] && (s == NULL || *s != '\0'))
				lastnz = c;
		}
		fputs(indent, stdout);
		for (c = 0; c <= lastnz; c++) {
			const char *s = t->cell[i * t->ncols + c];
			size_t pad = w[c] - (s ? width(s) : 0);

			if (!keep[c])
				continue;
			fputs(sep, stdout);
			sep = "  ";
			if (t->right & (1u << c))
				for (k = 0; k < pad; k++)
					putchar(' ');
			fputs(s ? s : "?", stdout);
			if (!(t->right & (1u << c)) && c < lastnz)
				for (k = 0; k < pad; k++)
					putchar(' ');
		}
		putchar('\n');
	}
}

void
table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->n * t->ncols; i++)
		free(t->cell[i]);
	free(t->cell);
	memset(t, 0, sizeof(*t));
}

/* "  label      value" */
void
field(const char *label, const char *value)
{
	printf("  %-10s ", label);
	out_put(value);
	putchar('\n');
}

void
field_time(const char *label, const char *cell)
{
	char t[32];

	field(label, cell_time(t, cell));
}
