/*
 * blobset.c - hash set of content hashes.  The reader fills it from a
 * manifest before any blob is verified, so the hashes are only claims: a
 * peer could pick them to collide in a plain index.  Slots are chosen by
 * SipHash (crypto_shorthash) under a random key of each set.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "spool/base/hash.h"
#include "spool/format/blobset.h"

void
spool_blobset_init(struct spool_blobset *s, size_t max)
{
	memset(s, 0, sizeof(*s));
	s->max = max;
	randombytes_buf(s->key, sizeof(s->key));
}

void
spool_blobset_release(struct spool_blobset *s)
{
	free(s->slots);
	s->slots = NULL;
	s->cap = s->n = 0;
}

static size_t
slot_of(const struct spool_blobset *s, const uint8_t *hash, size_t cap)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, hash, SPOOL_HASH_LEN, s->key);
	memcpy(&v, h, sizeof(v));
	return (size_t)v & (cap - 1);
}

struct spool_blob_entry *
spool_blobset_find(const struct spool_blobset *s,
    const uint8_t hash[SPOOL_HASH_LEN])
{
	size_t i;

	if (s->cap == 0)
		return NULL;
	for (i = slot_of(s, hash, s->cap);; i = (i + 1) & (s->cap - 1)) {
		struct spool_blob_entry *e = &s->slots[i];

		if (!e->used)
			return NULL;
		if (memcmp(e->hash, hash, SPOOL_HASH_LEN) == 0)
			return e;
	}
}

static int
grow(struct spool_blobset *s)
{
	size_t ncap = s->cap ? s->cap * 2 : 64, i;
	struct spool_blob_entry *nv = calloc(ncap, sizeof(*nv));

	if (nv == NULL)
		return -1;
	for (i = 0; i < s->cap; i++) {
		size_t j;

		if (!s->slots[i].used)
			continue;
		for (j = slot_of(s, s->slots[i].hash, ncap); nv[j].used;
		    j = (j + 1) & (ncap - 1))
			;
		nv[j] = s->slots[i];
	}
	free(s->slots);
	s->slots = nv;
	s->cap = ncap;
	return 0;
}

struct spool_blob_entry *
spool_blobset_add(struct spool_blobset *s, const uint8_t hash[SPOOL_HASH_LEN],
    uint64_t size, int *created)
{
	struct spool_blob_entry *e = spool_blobset_find(s, hash);
	size_t i;

	*created = 0;
	if (e != NULL)
		return e;
	if (s->n >= s->max)
		return NULL;
	if ((s->n + 1) * 4 > s->cap * 3 && grow(s) != 0)
		return NULL;
	for (i = slot_of(s, hash, s->cap); s->slots[i].used;
	    i = (i + 1) & (s->cap - 1))
		;
	e = &s->slots[i];
	memcpy(e->hash, hash, SPOOL_HASH_LEN);
	e->size = size;
	e->flags = 0;
	e->order = (uint32_t)s->n;
	e->used = 1;
	s->n++;
	*created = 1;
	return e;
}
