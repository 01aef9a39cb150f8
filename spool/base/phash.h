/*
 * phash.h - a BLAKE2b hasher on its own thread.
 *
 * BLAKE2b runs at about 700 MB/s here, slower than zstd -3 on most data,
 * so hashing a chunk while the caller compresses or writes the same chunk
 * is what lets one pass over the data cost little more than the slower of
 * the two.  Without threads (creation failed) it hashes synchronously.
 *
 *   spool_phash_submit(p, buf, n);   hash buf on the thread...
 *   compress_or_write(buf, n);       ...while this thread uses it too
 *   spool_phash_wait(p);             buf may be reused after this
 */
#ifndef SPOOL_PHASH_H
#define SPOOL_PHASH_H

#include <stddef.h>
#include <stdint.h>

#include "spool/base/error.h"

struct spool_phash;

int spool_phash_new(struct spool_phash **out, spool_err *err);
/* Start a new hash of outlen bytes (the hasher must be idle). */
void spool_phash_init(struct spool_phash *p, size_t outlen);
void spool_phash_submit(struct spool_phash *p, const void *buf, size_t n);
void spool_phash_wait(struct spool_phash *p);
/* Waits, then writes the digest. */
void spool_phash_final(struct spool_phash *p, uint8_t *out);
void spool_phash_free(struct spool_phash *p);

/* Hash fd from its offset to its end: BLAKE2b of outlen bytes into out,
 * the byte count into *size (may be NULL).  Each chunk is also written
 * to copy_fd when it is >= 0, while the thread hashes it (without a copy
 * to make, the calling thread hashes).  More than max bytes is SPOOL_ERR_LIMIT; path and
 * copy_path name the files in errors. */
int spool_phash_fd(struct spool_phash *p, int fd, const char *path,
    int copy_fd, const char *copy_path, uint64_t max, size_t outlen,
    uint8_t *out, uint64_t *size, spool_err *err);

#endif
