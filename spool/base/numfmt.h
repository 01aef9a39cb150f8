/*
 * numfmt.h - a double as the shortest of %.15g and %.17g that reads back
 * as itself.
 */
#ifndef SPOOL_BASE_NUMFMT_H
#define SPOOL_BASE_NUMFMT_H

#include <stddef.h>

/* Room for any double spool_fmt_double writes, with its NUL. */
#define SPOOL_DOUBLE_LEN 32

/*
 * Writes d into buf (n bytes, at least SPOOL_DOUBLE_LEN) exactly as
 * snprintf's "%.15g" if that text reads back as d, else as "%.17g" (which
 * always does).  Not for NaN or infinities (JSON has no text for them):
 * those are written as printf does.
 */
void spool_fmt_double(char *buf, size_t n, double d);

/* The same by snprintf and strtod alone: the reference for the tests. */
void spool_fmt_double_ref(char *buf, size_t n, double d);

#endif
