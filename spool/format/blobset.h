/*
 * blobset.h - a set of content hashes with a size and flags each
 * (open addressing).  Capacity is bounded by the caller.
 */
#ifndef SPOOL_BLOBSET_H
#define SPOOL_BLOBSET_H

#include <stddef.h>
#include <stdint.h>

#include "spool/base/hash.h"

struct spool_blob_entry {
	uint8_t hash[SPOOL_HASH_LEN];
	uint64_t size;
	uint32_t flags;
	uint32_t order; /* insertion order, 0-based */
	int used;
};

struct spool_blobset {
	struct spool_blob_entry *slots;
	size_t cap;   /* power of two */
	size_t n;
	size_t max;   /* refuse inserts beyond this */
	uint8_t key[crypto_shorthash_KEYBYTES]; /* per set, random */
};

void spool_blobset_init(struct spool_blobset *s, size_t max);
void spool_blobset_release(struct spool_blobset *s);
struct spool_blob_entry *spool_blobset_find(const struct spool_blobset *s,
    const uint8_t hash[SPOOL_HASH_LEN]);
/* Insert (or find) hash.  *created says which.  NULL when full or out of
 * memory (check s->n >= s->max to tell). */
struct spool_blob_entry *spool_blobset_add(struct spool_blobset *s,
    const uint8_t hash[SPOOL_HASH_LEN], uint64_t size, int *created);

#endif
