/*
 * floor.c - the least time DESIGN's contract lets any implementation take
 * to carry one file from a drop on one node to a delivery on the other,
 * measured on this machine, for make bench to print beside spool's time
 * and NNCP's (issue 11, point 8).
 *
 *   floor FILE MEDIUM_DIR
 *
 * It times only the steps the contract puts one after the other, each
 * needing the one before it to have finished, over the bytes of FILE (an
 * incompressible file: its batch is its size):
 *
 *   intake   BLAKE2b-256 of the file: the blob's name, which the manifest
 *            holds (DESIGN 4: blobs are named by it)
 *   batch    BLAKE2b-512 of the batch, whose first member is that
 *            manifest: the minisign prehash the signature is over (a
 *            sequential hash cannot take the blob's bytes before the
 *            manifest's)
 *   export   the batch copied to the medium, fsync'd, and read back from
 *            the device to verify it (DESIGN 8: "copy out/ to media,
 *            fsync, verify"; a verify that reads the page cache verifies
 *            nothing)
 *   import   BLAKE2b-512 of the copy from the medium: nothing is parsed
 *            before the signature over it is checked (DESIGN 4, step 2)
 *   blob     BLAKE2b-256 of the decompressed blob as it is stored (step 5)
 *
 * Their sum is "total": the floor of any design that carries a file in
 * one batch.  Everything such a design could overlap is left out:
 * compression and decompression (on the other core, beside a hash),
 * writing the batch and the blob and their fsyncs (their writeback can
 * run beside a hash), every store commit, process start-up and the
 * operator.
 *
 * A design that cuts a big file into parts (DESIGN 4 allows part items)
 * carried in several batches at once could hash on both cores.  Its floor
 * is "two_core": the sender's CPU work over two cores, then the export,
 * then the receiver's over two.  The sender hashes the file twice: whole
 * (its name, in the request) and part by part (each part is a blob named
 * by its own hash, DESIGN 4); then the batches' prehashes, zstd
 * ("compress": the fastest of levels 3, the default, 1 and -100; any
 * level makes a stream the reader takes) and the batch's write into the
 * page cache ("write": the CPU it takes; its fsync is left out).  The
 * receiver hashes each batch (import), each part as it is stored, and
 * the reassembled file whole ("the far side reassembles it and checks
 * the whole file's hash before any job sees it"), decompresses, and
 * writes the blob (the delivered file could be the blob renamed, and
 * the copy into import/ a file handed over: neither counted).  Perfect
 * sharing of both cores is assumed, so no such design can go below it.
 *
 * The file is read from the page cache, as spool and NNCP find it in the
 * benchmark.  Each step runs three times and its least time is kept (the
 * disk's fsync time varies fourfold here), so each sum is its floor at
 * its lowest.  Prints one JSON line of seconds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zstd.h>

#include "spool/spool.h"

#define CHUNK (1 << 20)

static unsigned char buf[CHUNK];

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what, const char *path)
{
	fprintf(stderr, "floor: %s '%s': %s\n", what, path, strerror(errno));
	exit(1);
}

/* Seconds to hash path whole with an outlen-byte BLAKE2b. */
static double
hash_pass(const char *path, size_t outlen)
{
	uint8_t out[SPOOL_PREHASH_LEN];
	spool_hasher h;
	double t0 = now();
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		die("cannot open", path);
	spool_hasher_init(&h, outlen);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		spool_hasher_update(&h, buf, (size_t)n);
	if (n < 0)
		die("cannot read", path);
	spool_hasher_final(&h, out);
	close(fd);
	return now() - t0;
}

/* Seconds to copy from to to and fsync it. */
static double
copy_pass(const char *from, const char *to)
{
	double t0 = now();
	ssize_t n;
	int in, out;

	if ((in = open(from, O_RDONLY | O_CLOEXEC)) < 0)
		die("cannot open", from);
	if ((out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0)
		die("cannot create", to);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			die("cannot write", to);
	if (n < 0)
		die("cannot read", from);
	if (fsync(out) != 0)
		die("cannot fsync", to);
	close(in);
	/* the verify: read back from the device, not the page cache */
	spool_drop_cache(out, NULL);
	close(out);
	if ((out = open(to, O_RDONLY | O_CLOEXEC)) < 0)
		die("cannot open", to);
	while ((n = read(out, buf, sizeof(buf))) > 0)
		;
	if (n < 0)
		die("cannot read", to);
	close(out);
	return now() - t0;
}

/* Seconds to zstd-compress the file's bytes (already in memory: the pass
 * that hashes them reads them) at level, streaming 1 MiB at a time as a
 * batch writer does, and (in *dsec) to decompress what that made. */
static double
zstd_pass(const unsigned char *data, size_t len, int level, double *dsec)
{
	size_t cap = ZSTD_compressBound(len), clen, done = 0, off;
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	unsigned char *cbuf;
	double t0, t1;

	if (cc == NULL || dc == NULL || (cbuf = malloc(cap)) == NULL)
		die("out of memory for", "zstd");
	/* A streaming writer reuses a small buffer: its pages are not new.
	 * Not 0: a malloc and a memset of 0 may be made one calloc. */
	memset(cbuf, 1, cap);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, level);
	t0 = now();
	for (off = 0;; off += CHUNK) {
		size_t n = len - off < CHUNK ? len - off : CHUNK;
		ZSTD_inBuffer in = { data + off, n, 0 };
		ZSTD_outBuffer out = { cbuf, cap, done };
		size_t left;

		do {
			left = ZSTD_compressStream2(cc, &out, &in, off + n ==
			    len ? ZSTD_e_end : ZSTD_e_continue);
			if (ZSTD_isError(left))
				die("cannot compress", "zstd");
		} while (in.pos < in.size || (off + n == len && left != 0));
		done = out.pos;
		if (off + n == len)
			break;
	}
	clen = done;
	t1 = now();
	{
		ZSTD_inBuffer in = { cbuf, clen, 0 };

		while (in.pos < in.size) {
			ZSTD_outBuffer out = { buf, sizeof(buf), 0 };

			if (ZSTD_isError(ZSTD_decompressStream(dc, &out, &in)))
				die("cannot decompress", "zstd");
		}
	}
	*dsec = now() - t1;
	free(cbuf);
	ZSTD_freeCCtx(cc);
	ZSTD_freeDCtx(dc);
	return t1 - t0;
}

/* Seconds to write len bytes of data into a new file at path (into the
 * page cache: its fsync is left out, its writeback can run beside the
 * hashes). */
static double
write_pass(const unsigned char *data, size_t len, const char *path)
{
	size_t off, n;
	double t0;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0)
		die("cannot create", path);
	t0 = now();
	for (off = 0; off < len; off += n) {
		n = len - off < CHUNK ? len - off : CHUNK;
		if (write(fd, data + off, n) != (ssize_t)n)
			die("cannot write", path);
	}
	t0 = now() - t0;
	fsync(fd);
	close(fd);
	unlink(path);
	return t0;
}

/* The whole of path in memory. */
static unsigned char *
slurp(const char *path, size_t *len)
{
	struct stat sb;
	unsigned char *data;
	size_t got = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &sb) != 0)
		die("cannot open", path);
	if ((data = malloc((size_t)sb.st_size + 1)) == NULL)
		die("out of memory for", path);
	while (got < (size_t)sb.st_size &&
	    (n = read(fd, data + got, (size_t)sb.st_size - got)) > 0)
		got += (size_t)n;
	if (got != (size_t)sb.st_size)
		die("cannot read", path);
	close(fd);
	*len = got;
	return data;
}

static double
least(double a, double b)
{
	return a < b ? a : b;
}

int
main(int argc, char **argv)
{
	char copy[4096];
	static const int levels[] = { 3, 1, -100 };
	double intake, batch, exp, imp, blob, comp, dec, wr, d;
	unsigned char *data;
	size_t len;
	int k, l;

	if (argc != 3) {
		fputs("usage: floor FILE MEDIUM_DIR\n", stderr);
		return 2;
	}
	if (sodium_init() < 0) {
		fputs("floor: libsodium failed to initialise\n", stderr);
		return 1;
	}
	if (snprintf(copy, sizeof(copy), "%s/floor.batch", argv[2]) >=
	    (int)sizeof(copy)) {
		fputs("floor: path too long\n", stderr);
		return 2;
	}
	hash_pass(argv[1], SPOOL_HASH_LEN); /* into the page cache */
	data = slurp(argv[1], &len);
	intake = batch = exp = imp = blob = comp = dec = wr = 1e9;
	for (k = 0; k < 3; k++) {
		intake = least(intake, hash_pass(argv[1], SPOOL_HASH_LEN));
		batch = least(batch, hash_pass(argv[1], SPOOL_PREHASH_LEN));
		exp = least(exp, copy_pass(argv[1], copy));
		imp = least(imp, hash_pass(copy, SPOOL_PREHASH_LEN));
		blob = least(blob, hash_pass(argv[1], SPOOL_HASH_LEN));
		unlink(copy);
		wr = least(wr, write_pass(data, len, copy));
		for (l = 0; l < 3; l++) {
			comp = least(comp, zstd_pass(data, len, levels[l],
			    &d));
			dec = least(dec, d);
		}
	}
	printf("{\"intake\": %.3f, \"batch\": %.3f, \"export\": %.3f, "
	    "\"import\": %.3f, \"blob\": %.3f, \"compress\": %.3f, "
	    "\"decompress\": %.3f, \"write\": %.3f, \"total\": %.3f, "
	    "\"two_core\": %.3f}\n", intake, batch, exp, imp, blob, comp, dec,
	    wr, intake + batch + exp + imp + blob, (2 * intake + batch + comp +
	    wr) / 2 + exp + (imp + 2 * blob + dec + wr) / 2);
	free(data);
	return 0;
}
