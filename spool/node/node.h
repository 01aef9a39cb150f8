/*
 * node.h - a spool node on disk: its root, config, keys and counters.
 */
#ifndef SPOOL_NODE_H
#define SPOOL_NODE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "spool/base/error.h"
#include "spool/format/batch.h"
#include "spool/keys/key.h"
#include "spool/node/config.h"
#include "spool/store/store.h"

struct spool_node {
	struct spool_config *cfg;
	const char *root; /* cfg->root */
};

/* Create ROOT with the layout of DESIGN section 3, spoold.conf and a new
 * keypair.  Refuses a root that already has a spoold.conf. */
int spool_node_create(const char *root, const char *name, const char *peer,
    spool_err *err);

/* Load the node whose configuration is config_path. */
int spool_node_open(struct spool_node **out, const char *config_path,
    struct spool_diag *diag, spool_err *err);
void spool_node_free(struct spool_node *n);

/* ROOT/rel into out; -1 if it does not fit. */
int spool_node_path(const struct spool_node *n, char *out, size_t outsz,
    const char *rel);

int spool_node_seckey(const struct spool_node *n, struct spool_seckey *out,
    spool_err *err);
int spool_node_pubkey(const struct spool_node *n, struct spool_pubkey *out,
    spool_err *err);

/* Trust the minisign public key in pubfile as peer name (keys/trust.h),
 * refusing this node's own name and its own key: a node never trusts
 * itself, so a batch it wrote is never taken as a peer's. */
int spool_node_trust_add(const struct spool_node *n, const char *name,
    const char *pubfile, spool_err *err);

/* A batch check for batches addressed to this node. */
void spool_node_batch_check(const struct spool_node *n,
    struct spool_batch_check *chk, char tmpdir[PATH_MAX]);

/* Offline pack: one transfer request per file into one batch to peer,
 * written at out_path (NULL: ./<from>-<to>-<seq>.batch) and archived in
 * archive/sent/.  The path written is returned in written.  The seq comes
 * from the node's store, which records the batch, a request per file and
 * their lineage (received, batched). */
int spool_node_pack(const struct spool_node *n, const char *peer,
    char *const files[], size_t nfiles, const char *out_path,
    char written[PATH_MAX], struct spool_batch_facts *facts, spool_err *err);

/* Keep a sent batch (written: its path) in archive/sent/NAME(.minisig)
 * without writing its bytes again (reflink or hard link). */
int spool_node_archive_sent(const struct spool_node *n, const char *written,
    const char *name, spool_err *err);

/* The user name of uid, or "uid123" when it has none (at most 64). */
void spool_owner_name(unsigned uid, char *out, size_t outsz);

/* The store of a configured node (node_store.c): [store] url, a relative
 * sqlite path resolved from the config file's directory; a counter left
 * by spool 0.1 in store/seq/PEER is taken over once.  A SQLite store is
 * made at the first open and named in store/sqlite-store; once named, a
 * missing file is refused (it was deleted or moved: an empty store in
 * its place would reuse sequence numbers and forget every request), not
 * made again. */
int spool_store_open_config(struct spool_store **out,
    const struct spool_config *c, spool_err *err);
/* The file of a configured SQLite store (0), or -1 for PostgreSQL. */
int spool_store_config_file(const struct spool_config *c, char *out,
    size_t outsz);

#endif
