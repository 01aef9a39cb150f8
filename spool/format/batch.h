/*
 * batch.h - writing, verifying and unpacking batches (DESIGN section 4).
 *
 * A batch is NAME.batch (a zstd stream of a ustar archive: manifest.jsonl
 * first, then blobs/<blake2b-256 hex>) and NAME.batch.minisig.  Writing and
 * reading both stream: memory does not depend on payload or batch size.
 */
#ifndef SPOOL_BATCH_H
#define SPOOL_BATCH_H

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "spool/base/error.h"
#include "spool/base/hash.h"
#include "spool/format/minisig.h"
#include "spool/keys/key.h"

struct spool_manifest;

#define SPOOL_MANIFEST_MAX (32u << 20) /* manifest.jsonl member */
#define SPOOL_LINE_MAX (1u << 20)      /* one manifest line */
#define SPOOL_WINDOW_LOG_MAX 24        /* zstd window: 16 MiB */
#define SPOOL_BLOBS_MAX 1000000u       /* distinct blobs in a batch */

/* ---- writing ---- */

struct spool_batch_spec {
	const char *from;
	const char *to;
	uint64_t seq;     /* 0: set later with spool_batch_set_seq */
	const char *id;   /* NULL: a new UUIDv7 */
	time_t created;   /* 0: now */
	int zstd_level;   /* 0: 3 */
	json_t *acks;     /* borrowed; NULL: [] */
};

struct spool_batch_writer;

int spool_batch_writer_new(struct spool_batch_writer **out,
    const struct spool_batch_spec *spec, spool_err *err);
/* Append an item; it is schema-checked now.  Steals the reference. */
int spool_batch_add_item(struct spool_batch_writer *w, json_t *item,
    spool_err *err);
/* Where a blob's bytes come from: size bytes of path from offset.  A
 * blob added twice (same hash) is stored once. */
int spool_batch_add_blob(struct spool_batch_writer *w,
    const uint8_t hash[SPOOL_HASH_LEN], uint64_t size, const char *path,
    uint64_t offset, spool_err *err);
/* Give the batch its seq (when it was not known at _new). */
int spool_batch_set_seq(struct spool_batch_writer *w, uint64_t seq,
    spool_err *err);
/* The distinct blob bytes so far. */
uint64_t spool_batch_writer_bytes(const struct spool_batch_writer *w);
/* Write batch_path and batch_path.minisig, each appearing atomically
 * (.batch first, .minisig last), signed with sk.  Every blob is hashed
 * again while it streams; a source that changed fails the write. */
int spool_batch_write(struct spool_batch_writer *w, const char *batch_path,
    const struct spool_seckey *sk, struct spool_batch_facts *facts,
    spool_err *err);
void spool_batch_writer_free(struct spool_batch_writer *w);

/* ---- reading ---- */

/* Receives the verified content.  Items arrive (checked) before any blob;
 * blob_end is called only once the blob's hash matched.  Any callback may
 * refuse by returning a spool code. */
struct spool_batch_sink {
	void *ctx;
	/* the checked header line (acks), before any item; may be NULL */
	int (*header)(void *ctx, const json_t *hdr, spool_err *err);
	int (*item)(void *ctx, const json_t *item, spool_err *err);
	int (*blob_begin)(void *ctx, const uint8_t hash[SPOOL_HASH_LEN],
	    uint64_t size, spool_err *err);
	int (*blob_data)(void *ctx, const uint8_t *p, size_t n, spool_err *err);
	int (*blob_end)(void *ctx, const uint8_t hash[SPOOL_HASH_LEN],
	    spool_err *err);
	/* the signed facts, once both signatures verified and before any
	 * byte of the batch is parsed (a peer this node never accepts
	 * from is refused here); may be NULL */
	int (*verified)(void *ctx, const struct spool_batch_facts *f,
	    spool_err *err);
};

struct spool_batch_check {
	const char *self;      /* this node: the batch must be addressed to it */
	const char *root;      /* node root holding keys/trusted/ */
	const char *tmpdir;    /* private directory for the working copy */
	uint64_t max_tar;      /* batch.max_bytes */
	int strict_name;       /* file name must equal the signed name */
	const struct spool_batch_sink *sink; /* NULL: verify only */
	char *keep_copy;       /* non-NULL (PATH_MAX): on success, fsync the
	                          verified bytes and keep them: the private
	                          copy's path, or "" when the batch file
	                          itself was pinned and verified in place */
	struct spool_manifest *manifest; /* compiled schemas to use (a
	                          long-lived process compiles them once at
	                          start); NULL: compile them for this call */
};

/* Verify (and, through the sink, deliver) a batch in DESIGN's import
 * order.  sig_path NULL means batch_path + ".minisig".  Failures that
 * mean "refuse this batch" satisfy spool_err_is_verify(). */
int spool_batch_read(const char *batch_path, const char *sig_path,
    const struct spool_batch_check *chk, struct spool_batch_facts *facts,
    spool_err *err);

#ifdef SPOOL_FUZZING
/* Fuzz builds only: steps 3 to 5 on fd as if f had been signed. */
int spool_batch_parse_unsigned(int fd, const struct spool_batch_check *chk,
    const struct spool_batch_facts *f, spool_err *err);
#endif

/* Verify, then write every payload into dir (created, or existing and
 * empty) under its item name; a name used twice gets "name (2).ext".  On
 * any failure dir is left as it was found. */
int spool_batch_unpack(const char *batch_path, const char *sig_path,
    const struct spool_batch_check *chk, const char *dir,
    struct spool_batch_facts *facts, spool_err *err);

#endif
