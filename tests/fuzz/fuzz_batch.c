/*
 * fuzz_batch.c - everything the reader does after the signature checked:
 * zstd with a bounded window, strict ustar, the streamed manifest (lines,
 * JSON, schema, header against the facts) and blob hashing.  This is what
 * a compromised but trusted peer can reach.
 *
 * Input: 16 bytes of facts (items and bytes, u64 little-endian) then an
 * uncompressed tar stream, which the harness compresses (so the fuzzer
 * works on tar structure) and whose length becomes the signed tar size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zstd.h>

#include "spool/format/manifest.h"
#include "spool/spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct spool_manifest *schemas; /* compiled once, as a daemon does */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct spool_batch_check chk;
	struct spool_batch_facts f;
	spool_err err;
	size_t cap, n;
	uint8_t *z;
	int fd;

	if (size < 16 || size > (1u << 20))
		return 0;
	if (schemas == NULL && spool_manifest_new(&schemas, &err) != SPOOL_OK)
		abort();
	memset(&f, 0, sizeof(f));
	strcpy(f.from, "low");
	strcpy(f.to, "high");
	f.seq = 1;
	strcpy(f.id, "01936f3e-1c2a-7abc-8def-0123456789ab");
	strcpy(f.created, "2026-11-23T11:00:00Z");
	memcpy(&f.items, data, 8);
	memcpy(&f.bytes, data + 8, 8);
	f.tar = size - 16;
	cap = ZSTD_compressBound(size - 16);
	if ((z = malloc(cap)) == NULL)
		return 0;
	n = ZSTD_compress(z, cap, data + 16, size - 16, 1);
	if (ZSTD_isError(n) || (fd = memfd_create("batch", 0)) < 0) {
		free(z);
		return 0;
	}
	if (write(fd, z, n) == (ssize_t)n && lseek(fd, 0, SEEK_SET) == 0) {
		memset(&chk, 0, sizeof(chk));
		chk.self = "high";
		chk.max_tar = 1u << 30;
		chk.manifest = schemas;
		spool_batch_parse_unsigned(fd, &chk, &f, &err);
	}
	close(fd);
	free(z);
	return 0;
}
