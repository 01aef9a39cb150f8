/*
 * output.h - spoolctl's output kit (output.c), shared by the commands
 * (cmd_store.c, cmd_lineage.c, cmd_daemon.c); private to spoolctl.
 */
#ifndef SPOOLCTL_OUTPUT_H
#define SPOOLCTL_OUTPUT_H

#include <stdint.h>

#include <jansson.h>

#include "spoolctl.h"

/* ---- text ---- */

/* s made printable, or "-" for NULL; the caller frees it (NULL when out
 * of memory). */
char *out_printable(const char *s);
/* Write s printable to stdout ("-" for NULL). */
void out_put(const char *s);
/* A JSON string for s (NULL: null); bytes that are not valid UTF-8
 * become '?'. */
json_t *out_jstr(const char *s);
/* v bytes as "12 B", "3.4 MiB" (binary units, one decimal). */
void out_size(char *out, size_t n, double v);
/* ms since 1970 as RFC 3339 UTC; frac: with milliseconds. */
void out_time(char out[32], int64_t ms, int frac);
/* "spoolctl: CMD: why" for a library error: 2 for usage (an ambiguous or
 * short id, a bad argument), 1 for everything else. */
int out_fail(const struct ctl *c, const spool_err *err);
int out_nomem(const struct ctl *c);
/* The node's store, as its configuration says. */
int out_store_open(struct ctl *c, struct spool_store **st);

/* ---- rows from the store ---- */

struct rows {
	size_t ncols, n, cap;
	char **cell; /* n * ncols; NULL is SQL NULL */
};
#define CELL(r, i, c) ((r)->cell[(i) * (r)->ncols + (c)])

/* How a column reads in JSON: s text, i integer, t time, j JSON text
 * (kept as text when it does not parse). */
struct col {
	const char *key;
	char type;
};

struct table {
	size_t ncols, n, cap;
	char **cell;    /* n * ncols, printable */
	unsigned right; /* bit c: column c is right-aligned */
	int nomem;
};
#define NCOLS(a) (sizeof(a) / sizeof((a)[0]))

/* Control characters (C0, DEL, and C1 as UTF-8) become '?'; line breaks
 * and tabs become spaces. */
void sanitize(char *s);
/* Columns on a terminal: UTF-8 lead bytes (wide characters aside). */
size_t width(const char *s);
/* A time cell (ms as text, or NULL) for people: "-" when none. */
const char *cell_time(char out[32], const char *cell);
int64_t cell_int(const char *cell);
void rows_free(struct rows *r);
/* A store listing's callback: each row copied into (struct rows *)arg. */
int collect(void *arg, const struct spool_store_row *row);
/* A row found by id, then deleted (gc) before it was read. */
int gone(const struct rows *r, const char *kind, const char *id,
    spool_err *err);
/* Row i (or every row) as JSON, typed by cols. */
json_t *row_json(struct rows *r, size_t i, const struct col *cols,
    size_t ncols);
json_t *rows_json(struct rows *r, const struct col *cols, size_t ncols);
/* Print {"key": [rows]} */
int print_rows_json(const struct ctl *c, const char *key, struct rows *r,
    const struct col *cols, size_t ncols);
void table_init(struct table *t, size_t ncols, unsigned right);
/* One row of t->ncols values (NULL prints "-"). */
void table_row(struct table *t, const char *const *v);
/* Columns padded to their widest cell, two spaces apart, each line
 * indented; nothing is padded after a row's last non-empty cell.  With
 * a header (row 0), a column with no data at all is left out. */
void table_print(const struct table *t, const char *indent, int header);
void table_free(struct table *t);
/* "  label      value" */
void field(const char *label, const char *value);
void field_time(const char *label, const char *cell);

#endif
