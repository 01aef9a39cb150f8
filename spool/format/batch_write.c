/*
 * batch_write.c - streams items and blobs into a signed batch.
 *
 * One pass over every payload: bytes are read once, hashed (to prove the
 * source did not change since it was named) and compressed; the
 * compressed output is hashed on its way to disk for the signature.
 * Must never: leave a partial .batch under its final name, or write a
 * blob whose bytes do not match its name.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "spool/base/error.h"
#include "spool/base/fsutil.h"
#include "spool/base/hash.h"
#include "spool/base/phash.h"
#include "spool/base/util.h"
#include "spool/format/batch.h"
#include "spool/format/blobset.h"
#include "spool/format/manifest.h"
#include "spool/format/minisig.h"
#include "spool/format/ustar.h"
#include "spool/keys/key.h"

struct blob_src {
	uint8_t hash[SPOOL_HASH_LEN];
	uint64_t size;
	uint64_t offset;
	char *path;
};

struct spool_batch_writer {
	struct spool_batch_facts facts;
	time_t created;       /* also the members' mtime */
	int level;
	json_t *acks;
	struct spool_manifest *manifest;
	char *lines;          /* item lines, each ending in \n */
	size_t nlines, caplines;
	struct spool_blobset blobs;
	struct blob_src *src; /* in insertion order */
	size_t nsrc, capsrc;
	struct spool_blobset want; /* blobs the items name */
	uint64_t bytes;
	/* output state */
	ZSTD_CCtx *cctx;
	struct spool_tmpfile out;
	struct spool_phash *outhash; /* signature prehash of the output */
	struct spool_phash *inhash;  /* payload hashes, beside compression */
	uint64_t tar;
	uint8_t *zbuf;        /* two halves of zcap: one is hashed while */
	size_t zcap;          /* the other fills */
	int zcur;
};

int
spool_batch_writer_new(struct spool_batch_writer **out,
    const struct spool_batch_spec *spec, spool_err *err)
{
	struct spool_batch_writer *w;
	int r;

	if (!spool_node_name_ok(spec->from) || !spool_node_name_ok(spec->to) ||
	    spec->seq > SPOOL_SEQ_MAX)
		return spool_fail(err, SPOOL_ERR_USAGE, "bad batch address");
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	w->out.fd = -1;
	snprintf(w->facts.from, sizeof(w->facts.from), "%s", spec->from);
	snprintf(w->facts.to, sizeof(w->facts.to), "%s", spec->to);
	w->facts.seq = spec->seq;
	if (spec->id != NULL && spool_uuid_ok(spec->id))
		memcpy(w->facts.id, spec->id, SPOOL_UUID_LEN + 1);
	else
		spool_uuid7(w->facts.id);
	w->created = spec->created ? spec->created : time(NULL);
	spool_time_format(w->facts.created, w->created);
	w->level = spec->zstd_level > 0 ? spec->zstd_level : 3;
	w->acks = spec->acks ? json_incref(spec->acks) : json_array();
	spool_blobset_init(&w->blobs, SPOOL_BLOBS_MAX);
	spool_blobset_init(&w->want, SPOOL_BLOBS_MAX);
	if ((r = spool_manifest_new(&w->manifest, err)) != SPOOL_OK) {
		spool_batch_writer_free(w);
		return r;
	}
	*out = w;
	return SPOOL_OK;
}

void
spool_batch_writer_free(struct spool_batch_writer *w)
{
	size_t i;

	if (w == NULL)
		return;
	spool_tmpfile_discard(&w->out);
	spool_phash_free(w->inhash);
	spool_phash_free(w->outhash);
	ZSTD_freeCCtx(w->cctx);
	free(w->zbuf);
	for (i = 0; i < w->nsrc; i++)
		free(w->src[i].path);
	free(w->src);
	spool_blobset_release(&w->blobs);
	spool_blobset_release(&w->want);
	free(w->lines);
	json_decref(w->acks);
	spool_manifest_free(w->manifest);
	free(w);
}

int
spool_batch_set_seq(struct spool_batch_writer *w, uint64_t seq, spool_err *err)
{
	if (seq == 0 || seq > SPOOL_SEQ_MAX)
		return spool_fail(err, SPOOL_ERR_USAGE, "bad batch seq");
	w->facts.seq = seq;
	return SPOOL_OK;
}

uint64_t
spool_batch_writer_bytes(const struct spool_batch_writer *w)
{
	return w->bytes;
}

static int
want_payload(void *ctx, const struct spool_payload *p, spool_err *err)
{
	struct spool_batch_writer *w = ctx;
	struct spool_blob_entry *e;
	int created;

	e = spool_blobset_add(&w->want, p->hash, p->size, &created);
	if (e == NULL)
		return w->want.n < w->want.max ?
		    spool_fail(err, SPOOL_ERR_NOMEM, "out of memory") :
		    spool_fail(err, SPOOL_ERR_LIMIT, "too many blobs");
	if (!created && e->size != p->size)
		return spool_fail(err, SPOOL_ERR_USAGE,
		    "one blob named with two sizes");
	return SPOOL_OK;
}

int
spool_batch_add_item(struct spool_batch_writer *w, json_t *item,
    spool_err *err)
{
	char *text = NULL;
	size_t n;
	int r;

	if ((r = spool_manifest_check_item(w->manifest, item, err)) != SPOOL_OK)
		goto out;
	if ((r = spool_manifest_payloads(item, want_payload, w, err)) !=
	    SPOOL_OK)
		goto out;
	text = json_dumps(item, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (text == NULL) {
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	n = strlen(text);
	if (n >= SPOOL_LINE_MAX) {
		r = spool_fail(err, SPOOL_ERR_LIMIT, "manifest item too long");
		goto out;
	}
	if (w->nlines + n + 1 > SPOOL_MANIFEST_MAX - 4096) {
		r = spool_fail(err, SPOOL_ERR_LIMIT, "manifest too large");
		goto out;
	}
	if (w->nlines + n + 1 > w->caplines) {
		size_t cap = w->caplines ? w->caplines : 4096;
		char *nv;

		while (cap < w->nlines + n + 1)
			cap *= 2;
		if ((nv = realloc(w->lines, cap)) == NULL) {
			r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
			goto out;
		}
		w->lines = nv;
		w->caplines = cap;
	}
	memcpy(w->lines + w->nlines, text, n);
	w->lines[w->nlines + n] = '\n';
	w->nlines += n + 1;
	w->facts.items++;
	r = SPOOL_OK;
out:
	free(text);
	json_decref(item);
	return r;
}

int
spool_batch_add_blob(struct spool_batch_writer *w,
    const uint8_t hash[SPOOL_HASH_LEN], uint64_t size, const char *path,
    uint64_t offset, spool_err *err)
{
	struct spool_blob_entry *e;
	int created;

	/* refused now, not after a seq was taken for this batch */
	if (size > SPOOL_USTAR_SIZE_MAX)
		return spool_fail(err, SPOOL_ERR_USAGE,
		    "'%s' is larger than a ustar member can be (8 GiB - 1)",
		    path);
	e = spool_blobset_add(&w->blobs, hash, size, &created);
	if (e == NULL)
		return w->blobs.n < w->blobs.max ?
		    spool_fail(err, SPOOL_ERR_NOMEM, "out of memory") :
		    spool_fail(err, SPOOL_ERR_LIMIT, "too many blobs");
	if (!created)
		return e->size == size ? SPOOL_OK :
		    spool_fail(err, SPOOL_ERR_USAGE,
			"one blob added with two sizes");
	if (w->nsrc == w->capsrc) {
		size_t cap = w->capsrc ? w->capsrc * 2 : 16;
		struct blob_src *nv = realloc(w->src, cap * sizeof(*nv));

		if (nv == NULL)
			return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		w->src = nv;
		w->capsrc = cap;
	}
	memcpy(w->src[w->nsrc].hash, hash, SPOOL_HASH_LEN);
	w->src[w->nsrc].size = size;
	w->src[w->nsrc].offset = offset;
	if ((w->src[w->nsrc].path = strdup(path)) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	w->nsrc++;
	w->bytes += size;
	return SPOOL_OK;
}

/* Compress n bytes of tar stream (or flush at end) to the output. */
static int
emit(struct spool_batch_writer *w, const void *p, size_t n,
    ZSTD_EndDirective mode, spool_err *err)
{
	ZSTD_inBuffer in = { p, n, 0 };
	size_t left;
	int r;

	w->tar += n;
	do {
		uint8_t *zb = w->zbuf + (size_t)w->zcur * w->zcap;
		ZSTD_outBuffer out = { zb, w->zcap, 0 };

		left = ZSTD_compressStream2(w->cctx, &out, &in, mode);
		if (ZSTD_isError(left))
			return spool_fail(err, SPOOL_ERR_COMPRESS, "zstd: %s",
			    ZSTD_getErrorName(left));
		if (out.pos > 0) {
			/* submit waits for the previous half to be hashed, so
			 * the half we fill next is free */
			spool_phash_submit(w->outhash, zb, out.pos);
			if ((r = spool_write_all(w->out.fd, zb, out.pos, err)) !=
			    SPOOL_OK)
				return r;
			w->zcur ^= 1;
		}
	} while (mode == ZSTD_e_end ? left != 0 : in.pos < in.size);
	return SPOOL_OK;
}

static int
emit_member(struct spool_batch_writer *w, const char *name, uint64_t size,
    spool_err *err)
{
	uint8_t hdr[SPOOL_USTAR_BLOCK];
	int r;

	if ((r = spool_ustar_header(hdr, name, size,
	    w->created > 0 ? (uint64_t)w->created : 0, err)) != SPOOL_OK)
		return r;
	return emit(w, hdr, sizeof(hdr), ZSTD_e_continue, err);
}

static int
emit_padding(struct spool_batch_writer *w, uint64_t size, spool_err *err)
{
	static const uint8_t zero[SPOOL_USTAR_BLOCK * 2];

	return emit(w, zero, spool_ustar_padding(size), ZSTD_e_continue, err);
}

/* buf holds two halves of bufsz: one is hashed while the next is read
 * and compressed. */
static int
emit_blob(struct spool_batch_writer *w, const struct blob_src *b,
    uint8_t *buf, size_t bufsz, spool_err *err)
{
	int half = 0;
	char name[6 + SPOOL_HASH_HEXLEN + 1], hex[SPOOL_HASH_HEXLEN + 1];
	uint8_t got[SPOOL_HASH_LEN];
	uint64_t left = b->size, off = b->offset;
	int fd, r;

	spool_hex(hex, b->hash, SPOOL_HASH_LEN);
	snprintf(name, sizeof(name), "blobs/%s", hex);
	fd = open(b->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return spool_fail_sys(err, "cannot open '%s'", b->path);
	if ((r = emit_member(w, name, b->size, err)) != SPOOL_OK)
		goto out;
	spool_phash_init(w->inhash, SPOOL_HASH_LEN);
	while (left > 0) {
		size_t want = left < bufsz ? (size_t)left : bufsz;
		uint8_t *cur = buf + (size_t)half * bufsz;
		ssize_t n = pread(fd, cur, want, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = spool_fail_sys(err, "cannot read '%s'", b->path);
			goto out;
		}
		if (n == 0) {
			r = spool_fail(err, SPOOL_ERR_HASH,
			    "'%s' shrank while being packed", b->path);
			goto out;
		}
		/* hash on the other core while this one compresses; submit
		 * first waits for the other half, which we read into next */
		spool_phash_submit(w->inhash, cur, (size_t)n);
		if ((r = emit(w, cur, (size_t)n, ZSTD_e_continue, err)) !=
		    SPOOL_OK)
			goto out;
		half ^= 1;
		left -= (uint64_t)n;
		off += (uint64_t)n;
	}
	spool_phash_final(w->inhash, got);
	if (memcmp(got, b->hash, SPOOL_HASH_LEN) != 0) {
		r = spool_fail(err, SPOOL_ERR_HASH,
		    "'%s' changed while being packed", b->path);
		goto out;
	}
	r = emit_padding(w, b->size, err);
	/* packed (read twice, hashed twice): not read again soon */
	if (r == SPOOL_OK && b->size >= SPOOL_BIG_FILE)
		(void)posix_fadvise(fd, (off_t)b->offset, (off_t)b->size,
		    POSIX_FADV_DONTNEED);
out:
	close(fd);
	return r;
}

/* Every blob the items name was added, and nothing else. */
static int
check_blobs(struct spool_batch_writer *w, spool_err *err)
{
	size_t i;

	if (w->want.n != w->blobs.n)
		return spool_fail(err, SPOOL_ERR_USAGE,
		    "items name %zu blobs, %zu were added", w->want.n,
		    w->blobs.n);
	for (i = 0; i < w->nsrc; i++) {
		struct spool_blob_entry *e = spool_blobset_find(&w->want,
		    w->src[i].hash);

		if (e == NULL || e->size != w->src[i].size)
			return spool_fail(err, SPOOL_ERR_USAGE,
			    "a blob was added that no item names");
	}
	return SPOOL_OK;
}

/* Levels 1..19 use windows of at most 2^23 bytes (zstd's level table),
 * below the 2^SPOOL_WINDOW_LOG_MAX a reader accepts; higher levels are
 * clamped rather than making batches that peers refuse. */
static int
set_level(struct spool_batch_writer *w, spool_err *err)
{
	int level = w->level > 19 ? 19 : w->level;
	size_t e;

	e = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, level);
	if (!ZSTD_isError(e))
		e = ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
	if (ZSTD_isError(e))
		return spool_fail(err, SPOOL_ERR_COMPRESS, "zstd: %s",
		    ZSTD_getErrorName(e));
	return SPOOL_OK;
}

int
spool_batch_write(struct spool_batch_writer *w, const char *batch_path,
    const struct spool_seckey *sk, struct spool_batch_facts *facts,
    spool_err *err)
{
	static const uint8_t zero[SPOOL_USTAR_BLOCK * 2];
	uint8_t digest[SPOOL_PREHASH_LEN], *buf = NULL;
	char dir[PATH_MAX], sigpath[PATH_MAX], trusted[SPOOL_TRUSTED_MAX];
	char untrusted[128], sigtext[SPOOL_MINISIG_MAX];
	const size_t bufsz = 1 << 20;
	json_t *hdr = NULL;
	char *hline = NULL;
	size_t hlen, i;
	int r;

	if (spool_dirname(dir, sizeof(dir), batch_path) != 0 ||
	    snprintf(sigpath, sizeof(sigpath), "%s.minisig", batch_path) >=
	    (int)sizeof(sigpath))
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	if (w->facts.seq == 0)
		return spool_fail(err, SPOOL_ERR_USAGE, "batch has no seq");
	if ((r = check_blobs(w, err)) != SPOOL_OK)
		return r;
	w->facts.bytes = w->bytes;
	hdr = spool_manifest_header(&w->facts, w->acks);
	if (hdr == NULL || (r = spool_manifest_check_header(w->manifest, hdr,
	    &w->facts, err)) != SPOOL_OK) {
		r = hdr ? r : spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	hline = json_dumps(hdr, JSON_COMPACT | JSON_ENSURE_ASCII);
	w->cctx = ZSTD_createCCtx();
	w->zcap = 1 << 20; /* a hand-off to a hasher every MiB */
	w->zbuf = malloc(2 * w->zcap);
	buf = malloc(2 * bufsz);
	if ((w->inhash == NULL && (r = spool_phash_new(&w->inhash, err)) !=
	    SPOOL_OK) || (w->outhash == NULL &&
	    (r = spool_phash_new(&w->outhash, err)) != SPOOL_OK))
		goto out;
	if (hline == NULL || w->cctx == NULL || w->zbuf == NULL || buf == NULL) {
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	hlen = strlen(hline);
	/* never write what a reader refuses (e.g. a header with many acks) */
	if (hlen >= SPOOL_LINE_MAX || hlen + 1 + w->nlines > SPOOL_MANIFEST_MAX) {
		r = spool_fail(err, SPOOL_ERR_LIMIT,
		    "manifest header of %zu bytes does not fit", hlen);
		goto out;
	}
	if ((r = set_level(w, err)) != SPOOL_OK)
		goto out;
	/* a signed batch is immutable: read-only from birth */
	if ((r = spool_tmpfile_open(&w->out, dir, spool_basename(batch_path),
	    0444, err)) != SPOOL_OK)
		goto out;
	spool_phash_init(w->outhash, SPOOL_PREHASH_LEN);
	w->tar = 0;
	if ((r = emit_member(w, "manifest.jsonl", hlen + 1 + w->nlines,
	    err)) != SPOOL_OK ||
	    (r = emit(w, hline, hlen, ZSTD_e_continue, err)) != SPOOL_OK ||
	    (r = emit(w, "\n", 1, ZSTD_e_continue, err)) != SPOOL_OK ||
	    (r = emit(w, w->lines, w->nlines, ZSTD_e_continue, err)) !=
	    SPOOL_OK ||
	    (r = emit_padding(w, hlen + 1 + w->nlines, err)) != SPOOL_OK)
		goto out;
	for (i = 0; i < w->nsrc; i++)
		if ((r = emit_blob(w, &w->src[i], buf, bufsz, err)) != SPOOL_OK)
			goto out;
	if ((r = emit(w, zero, sizeof(zero), ZSTD_e_end, err)) != SPOOL_OK)
		goto out;
	spool_phash_final(w->outhash, digest);
	w->facts.tar = w->tar;
	if (spool_facts_format(&w->facts, trusted, sizeof(trusted)) != 0) {
		r = spool_fail(err, SPOOL_ERR_INTERNAL, "facts too long");
		goto out;
	}
	snprintf(untrusted, sizeof(untrusted), "spool batch from %s to %s seq %"
	    PRIu64, w->facts.from, w->facts.to, w->facts.seq);
	if ((r = spool_minisig_sign(sk, digest, trusted, untrusted, sigtext,
	    sizeof(sigtext), err)) != SPOOL_OK)
		goto out;
	/* .batch first, .minisig last: a .minisig marks a complete pair */
	if ((r = spool_tmpfile_commit(&w->out, batch_path, err)) != SPOOL_OK)
		goto out;
	if ((r = spool_write_file_atomic(sigpath, sigtext, strlen(sigtext),
	    0444, err)) != SPOOL_OK) {
		unlink(batch_path);
		goto out;
	}
	if (facts != NULL)
		*facts = w->facts;
	r = SPOOL_OK;
out:
	if (w->inhash != NULL)
		spool_phash_wait(w->inhash); /* it may still read buf */
	spool_tmpfile_discard(&w->out);
	free(buf);
	free(hline);
	json_decref(hdr);
	return r;
}
