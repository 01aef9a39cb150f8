/*
 * check.h - a configuration checked against the node it describes
 * (check.c), for `spoolctl config check`: what the file alone cannot
 * say.
 */
#ifndef SPOOL_CHECK_H
#define SPOOL_CHECK_H

#include "spool/node/config.h"

/* Check c against the node at c->root.  Problems (appended to diag,
 * "FILE: [section]: why"): this node's key pair is not there or does not
 * read; a [peer] section has the node's own name; a folder has no
 * destination; a query source that is a file (not a PG:, postgresql://
 * or /vsi... source) does not exist.  Warnings (appended to warn): a
 * [peer NAME], the [node] peer or a folder's peer has no trusted key
 * (keys/trusted/NAME.pub) or one that does not read -- a warning, since
 * a node is configured before keys are exchanged (init --peer writes
 * the [peer] section) and a send-only peer's key is never needed.
 * Returns how many problems were found, or -1 when c->root holds no node
 * (no keys/ directory): then nothing was checked. */
int spool_node_check(const struct spool_config *c, struct spool_diag *diag,
    struct spool_diag *warn);

#endif
