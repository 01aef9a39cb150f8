/*
 * logfmt.h - the log's "event=NAME key=value ..." lines: quoting a value,
 * and checking a line that another process (a worker) wrote.
 *
 * A value is bare when it is made only of [A-Za-z0-9_./:@+,-], else
 * quoted: "..." with \" and \\ escaped and every control byte written
 * \xNN.  So a line never holds a control byte, and a value can never
 * end the line or start another key.
 */
#ifndef SPOOL_LOGFMT_H
#define SPOOL_LOGFMT_H

#include <stddef.h>

/* s as a log value, quoted when it needs to be ("-" for NULL), in buf
 * (cut to fit n, still closed) or s itself when it needs no quotes. */
const char *spool_logq(char *buf, size_t n, const char *s);
/* spool_logq into a buffer of its own, short enough that a worker's
 * line with one such value stays within the 1 KiB its supervisor takes
 * whole (a longer line is logged as words, in pieces) */
#define SPOOL_LQ(s) spool_logq((char[900]){ 0 }, 900, (s))

/* Checks a line a worker of kind wrote on its stderr before the log
 * takes it as an event of its own.  1 when the line is
 *   event=NAME( KEY=VALUE)*
 * with NAME in the worker's own names ("KIND_...", "worker_...",
 * "gdal", "gdal_..."), KEY [a-z0-9_]+ and never one the log adds itself
 * (time, node, kind, pid, event), at most one level=, and each VALUE
 * bare or quoted as spool_logq writes it; else 0 (the line is logged as
 * the worker's words, quoted, never as an event: a worker that parses
 * hostile files cannot forge the daemon's own events or a line of
 * another's).  On 1, *level is the index of the level= value in
 * "err" "warning" "notice" "info" "debug" "error" (-1 when there is
 * none) and level=... is removed from line (in place). */
int spool_logline_take(char *line, const char *kind, int *level);

#endif
