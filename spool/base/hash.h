/*
 * hash.h - BLAKE2b (libsodium): content hashes and signature prehashes.
 *
 * Content is named by BLAKE2b-256 in lowercase hex, the same string that
 * `b2sum -l 256` prints.  Signatures cover the BLAKE2b-512 of a whole
 * batch file (minisign's prehashed mode).  Both are streamed.
 */
#ifndef SPOOL_HASH_H
#define SPOOL_HASH_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#include "spool/base/error.h"

#define SPOOL_HASH_LEN 32               /* content hash */
#define SPOOL_HASH_HEXLEN 64
#define SPOOL_PREHASH_LEN 64            /* signature prehash */

typedef struct spool_hasher {
	crypto_generichash_state st;
	size_t outlen;
} spool_hasher;

void spool_hasher_init(spool_hasher *h, size_t outlen);
void spool_hasher_update(spool_hasher *h, const void *p, size_t n);
void spool_hasher_final(spool_hasher *h, uint8_t *out);

/* out gets 2n lowercase hex digits and a NUL. */
void spool_hex(char *out, const uint8_t *in, size_t n);
/* Exactly 2n lowercase hex digits -> n bytes; -1 otherwise. */
int spool_unhex(uint8_t *out, size_t n, const char *hex);

/* Feed h everything readable from fd (from its current offset); *size
 * is the count. */
int spool_hasher_fd(spool_hasher *h, int fd, uint64_t *size, spool_err *err);
/* Hash everything readable from fd (from its current offset) and
 * return its size. */
int spool_hash_fd(int fd, uint8_t out[SPOOL_HASH_LEN], uint64_t *size,
    spool_err *err);

#endif
