/*
 * control.h - the control protocol between spoolctl and a running spoold
 * (control.c): one request line on the socket store/spoold.sock, one
 * answer line back.
 *
 *   "flush\n"  ->  "ok\n"               (spool_daemon_flush)
 *   "gc\n"     ->  "ok jobs=N ...\n"    (spool_gc_run, spool_gc_format)
 *   anything   ->  "error: WHY\n"
 */
#ifndef SPOOL_CONTROL_H
#define SPOOL_CONTROL_H

#include <stddef.h>
#include <stdint.h>

#include "spool/base/error.h"
#include "spool/flow/daemon.h"
#include "spool/node/node.h"

#define SPOOL_CONTROL_SOCK "store/spoold.sock" /* under the node root */
#define SPOOL_CONTROL_FLUSH "flush\n"
#define SPOOL_CONTROL_GC "gc\n"

/* The daemon's side.  Listen on the node's socket (non-blocking): *fd
 * and path (for unlinking at stop) set.  SPOOL_ERR_USAGE when the path
 * is too long for a socket (spoolctl then works only while spoold is
 * stopped). */
int spool_control_listen(const struct spool_node *n, int *fd, char *path,
    size_t pathlen, spool_err *err);
/* Answer one connection accepted on the socket: read the request (2 s at
 * most), run it on d, write the answer.  *next_ms: when the outbox is due
 * next after a flush (left alone otherwise). */
void spool_control_serve(struct spool_daemon *d, int fd, int64_t *next_ms);

/* spoolctl's side.  Ask the running daemon (request one of the above):
 * 1 when it answered, with *ok and in detail what followed "ok " or
 * "error: " ("" when nothing did); 0 when no daemon listens. */
int spool_control_ask(const struct spool_node *n, const char *request,
    int *ok, char *detail, size_t len);

#endif
