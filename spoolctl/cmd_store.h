/*
 * cmd_store.h - output helpers shared by the store commands (cmd_store.c,
 * cmd_lineage.c); private to spoolctl.
 */
#ifndef SPOOLCTL_CMD_STORE_H
#define SPOOLCTL_CMD_STORE_H

#include <stdint.h>

#include <jansson.h>

#include "spoolctl.h"

/* s made printable, or "-" for NULL; the caller frees it (NULL when out
 * of memory). */
char *out_printable(const char *s);
/* Write s printable to stdout ("-" for NULL). */
void out_put(const char *s);
/* A JSON string for s (NULL: null); bytes that are not valid UTF-8
 * become '?'. */
json_t *out_jstr(const char *s);
/* ms since 1970 as RFC 3339 UTC; frac: with milliseconds. */
void out_time(char out[32], int64_t ms, int frac);
/* "spoolctl: CMD: why" for a library error: 2 for usage (an ambiguous or
 * short id, a bad argument), 1 for everything else. */
int out_fail(const struct ctl *c, const spool_err *err);
int out_nomem(const struct ctl *c);
/* The node's store, as its configuration says. */
int out_store_open(struct ctl *c, struct spool_store **st);

#endif
