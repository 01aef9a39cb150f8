/*
 * ustar.h - strict POSIX ustar: writing headers, and a push parser.
 *
 * The reader takes bytes in any chunking and calls back per member.  It
 * accepts only regular files (typeflag '0' or NUL) with a valid header
 * checksum and ustar magic ("ustar\0" "00", or GNU's "ustar  \0"), octal
 * sizes, relative names without "." / ".." / empty components, control
 * characters or a trailing '/', and zero padding.  After the first zero
 * block only zero bytes may follow (any number of zero blocks).  It never
 * buffers more than one block: memory is constant.
 */
#ifndef SPOOL_USTAR_H
#define SPOOL_USTAR_H

#include <stddef.h>
#include <stdint.h>

#include "spool/base/error.h"

#define SPOOL_USTAR_BLOCK 512
#define SPOOL_USTAR_NAME_MAX 255 /* prefix (155) + '/' + name (100) - 1 */
/* The largest member size: 11 octal digits (8 GiB - 1). */
#define SPOOL_USTAR_SIZE_MAX ((UINT64_C(1) << 33) - 1)

/* Fill out with the header of a regular file (mode 0644, uid/gid 0,
 * mtime as given).  Names longer than 100 bytes use the prefix field.
 * SPOOL_ERR_USAGE if the name cannot be represented. */
int spool_ustar_header(uint8_t out[SPOOL_USTAR_BLOCK], const char *name,
    uint64_t size, uint64_t mtime, spool_err *err);

/* Zero bytes that follow size bytes of member data (0..511). */
size_t spool_ustar_padding(uint64_t size);

struct spool_ustar_cb {
	void *ctx;
	/* A member header was read; return non-zero (a spool code, with err
	 * filled) to refuse it. */
	int (*member)(void *ctx, const char *name, uint64_t size,
	    spool_err *err);
	/* Member data, in order, exactly size bytes in all. */
	int (*data)(void *ctx, const uint8_t *p, size_t n, spool_err *err);
	/* All of the member's data has been delivered. */
	int (*end)(void *ctx, spool_err *err);
};

struct spool_ustar_reader;

int spool_ustar_reader_new(struct spool_ustar_reader **out,
    const struct spool_ustar_cb *cb, spool_err *err);
/* Feed n bytes.  Returns the callback's code if a callback refused, else
 * SPOOL_ERR_FORMAT with a reason ("member 3 'x': not a regular file"). */
int spool_ustar_reader_feed(struct spool_ustar_reader *r, const uint8_t *p,
    size_t n, spool_err *err);
/* The input ended: OK only between members at a block boundary. */
int spool_ustar_reader_finish(struct spool_ustar_reader *r, spool_err *err);
/* Members whose header has been read so far. */
uint64_t spool_ustar_reader_members(const struct spool_ustar_reader *r);
void spool_ustar_reader_free(struct spool_ustar_reader *r);

#endif
