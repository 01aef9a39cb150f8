/*
 * trust.h - the trust store: ROOT/keys/trusted/NAME.pub.
 *
 * The directory is the one source of truth for who is trusted.  A name is
 * a node name; a key (by id or public key) is trusted under one name only.
 */
#ifndef SPOOL_TRUST_H
#define SPOOL_TRUST_H

#include <stddef.h>

#include "spool/base/error.h"
#include "spool/base/util.h"
#include "spool/keys/key.h"

struct spool_trusted {
	char name[SPOOL_NAME_MAX + 1];
	struct spool_pubkey key;
};

/* Trust the minisign public key in pubfile as peer name. */
int spool_trust_add(const char *root, const char *name, const char *pubfile,
    spool_err *err);
int spool_trust_remove(const char *root, const char *name, spool_err *err);
/* SPOOL_ERR_NOTFOUND when name is not trusted. */
int spool_trust_get(const char *root, const char *name,
    struct spool_pubkey *out, spool_err *err);
/* All trusted peers sorted by name; free(*out) after. */
int spool_trust_list(const char *root, struct spool_trusted **out, size_t *n,
    spool_err *err);

#endif
