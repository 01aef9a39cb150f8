/*
 * batch_read.c - verifies a batch in DESIGN section 4's import order.
 *
 *   0. pin the .batch (a read lease: nobody can change it unnoticed) and
 *      hash it, or, when the kernel will not lease it, copy it into a
 *      private file, hashing it on the way;
 *   1. parse the bounded .minisig, find the trusted sender it names;
 *   2. verify both signatures over that hash;
 *   3. decompress with a bounded window, exactly the signed tar size;
 *   4. read the ustar strictly, the manifest line by line (bounded lines,
 *      schema, header == signed facts);
 *   5. hash every blob as it streams to the sink.
 * Must never: parse a byte of the .batch before step 2 succeeds, or work
 * on bytes that someone else can still change.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "spool/base/error.h"
#include "spool/base/fsutil.h"
#include "spool/base/hash.h"
#include "spool/base/phash.h"
#include "spool/format/batch.h"
#include "spool/format/blobset.h"
#include "spool/format/manifest.h"
#include "spool/format/minisig.h"
#include "spool/format/ustar.h"
#include "spool/keys/key.h"
#include "spool/keys/trust.h"

enum phase { WANT_MANIFEST, IN_MANIFEST, WANT_BLOBS, IN_BLOB };

#define IO_CHUNK (1u << 20)

struct reader {
	const struct spool_batch_check *chk;
	const struct spool_batch_facts *facts;
	struct spool_manifest *manifest;
	enum phase phase;
	char *line;          /* current manifest line */
	size_t nline;
	uint64_t lineno;
	uint64_t items;
	struct spool_blobset want;
	uint64_t want_bytes;
	size_t seen;
	struct spool_blob_entry *cur;
	struct spool_phash *h; /* blob hash, beside the sink's writing */
	uintptr_t inflight;    /* where the chunk being hashed lives */
};

static int
add_want(void *ctx, const struct spool_payload *p, spool_err *err)
{
	struct reader *rd = ctx;
	struct spool_blob_entry *e;
	char hex[SPOOL_HASH_HEXLEN + 1];
	int created;

	e = spool_blobset_add(&rd->want, p->hash, p->size, &created);
	if (e == NULL && rd->want.n < rd->want.max)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	if (e == NULL)
		return spool_fail(err, SPOOL_ERR_LIMIT,
		    "manifest names more than %u blobs", SPOOL_BLOBS_MAX);
	if (!created && e->size != p->size) {
		spool_hex(hex, p->hash, SPOOL_HASH_LEN);
		return spool_fail(err, SPOOL_ERR_FORMAT,
		    "manifest gives blob %s two sizes", hex);
	}
	if (created)
		rd->want_bytes += p->size;
	return SPOOL_OK;
}

static int
do_line(struct reader *rd, spool_err *err)
{
	const struct spool_batch_sink *sink = rd->chk->sink;
	json_error_t jerr;
	json_t *v;
	int r;

	rd->lineno++;
	if (rd->nline == 0)
		return spool_fail(err, SPOOL_ERR_FORMAT,
		    "manifest line %" PRIu64 " is empty", rd->lineno);
	spool_json_oom_clear();
	v = json_loadb(rd->line, rd->nline, JSON_REJECT_DUPLICATES, &jerr);
	if (v == NULL && (spool_json_oom() ||
	    json_error_code(&jerr) == json_error_out_of_memory))
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	if (v == NULL)
		return spool_fail(err, SPOOL_ERR_FORMAT,
		    "manifest line %" PRIu64 " is not JSON: %s", rd->lineno,
		    jerr.text);
	if (rd->lineno == 1) {
		r = spool_manifest_check_header(rd->manifest, v, rd->facts, err);
		if (r == SPOOL_OK && sink != NULL && sink->header != NULL)
			r = sink->header(sink->ctx, v, err);
	} else {
		rd->items++;
		if (rd->items > rd->facts->items)
			r = spool_fail(err, SPOOL_ERR_FORMAT,
			    "manifest has more items than its header says");
		else if ((r = spool_manifest_check_item(rd->manifest, v, err)) !=
		    SPOOL_OK)
			spool_err_prefix(err, "manifest line %" PRIu64,
			    rd->lineno);
		else if ((r = spool_manifest_payloads(v, add_want, rd, err)) ==
		    SPOOL_OK && sink != NULL && sink->item != NULL)
			r = sink->item(sink->ctx, v, err);
	}
	json_decref(v);
	rd->nline = 0;
	return r;
}

static int
manifest_data(struct reader *rd, const uint8_t *p, size_t n, spool_err *err)
{
	while (n > 0) {
		const uint8_t *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;
		int r;

		if (rd->nline + take > SPOOL_LINE_MAX)
			return spool_fail(err, SPOOL_ERR_LIMIT,
			    "manifest line %" PRIu64 " is longer than %u bytes",
			    rd->lineno + 1, SPOOL_LINE_MAX);
		memcpy(rd->line + rd->nline, p, take);
		rd->nline += take;
		p += take;
		n -= take;
		if (nl != NULL) {
			if ((r = do_line(rd, err)) != SPOOL_OK)
				return r;
			p++;
			n--;
		}
	}
	return SPOOL_OK;
}

static int
manifest_end(struct reader *rd, spool_err *err)
{
	int r;

	if (rd->nline > 0 && (r = do_line(rd, err)) != SPOOL_OK)
		return r;
	if (rd->lineno == 0)
		return spool_fail(err, SPOOL_ERR_FORMAT, "manifest is empty");
	if (rd->items != rd->facts->items)
		return spool_fail(err, SPOOL_ERR_FORMAT,
		    "manifest has %" PRIu64 " items, its header says %" PRIu64,
		    rd->items, rd->facts->items);
	if (rd->want_bytes != rd->facts->bytes)
		return spool_fail(err, SPOOL_ERR_FORMAT,
		    "manifest blobs total %" PRIu64 " bytes, the header says %"
		    PRIu64, rd->want_bytes, rd->facts->bytes);
	return SPOOL_OK;
}

static int
on_member(void *ctx, const char *name, uint64_t size, spool_err *err)
{
	struct reader *rd = ctx;
	const struct spool_batch_sink *sink = rd->chk->sink;
	uint8_t hash[SPOOL_HASH_LEN];

	if (rd->phase == WANT_MANIFEST) {
		if (strcmp(name, "manifest.jsonl") != 0)
			return spool_fail(err, SPOOL_ERR_FORMAT,
			    "first member is '%s', not manifest.jsonl", name);
		if (size > SPOOL_MANIFEST_MAX)
			return spool_fail(err, SPOOL_ERR_LIMIT,
			    "manifest is %" PRIu64 " bytes, over the %u limit",
			    size, SPOOL_MANIFEST_MAX);
		rd->phase = IN_MANIFEST;
		return SPOOL_OK;
	}
	if (strncmp(name, "blobs/", 6) != 0 ||
	    spool_unhex(hash, SPOOL_HASH_LEN, name + 6) != 0)
		return spool_fail(err, SPOOL_ERR_FORMAT,
		    "unexpected member '%s'", name);
	rd->cur = spool_blobset_find(&rd->want, hash);
	if (rd->cur == NULL)
		return spool_fail(err, SPOOL_ERR_FORMAT,
		    "member '%s' is not named in the manifest", name);
	if (rd->cur->flags != 0)
		return spool_fail(err, SPOOL_ERR_FORMAT,
		    "duplicate member '%s'", name);
	if (rd->cur->size != size)
		return spool_fail(err, SPOOL_ERR_FORMAT,
		    "member '%s' is %" PRIu64 " bytes, the manifest says %" PRIu64,
		    name, size, rd->cur->size);
	rd->cur->flags = 1;
	rd->seen++;
	rd->phase = IN_BLOB;
	spool_phash_init(rd->h, SPOOL_HASH_LEN);
	if (sink != NULL && sink->blob_begin != NULL)
		return sink->blob_begin(sink->ctx, hash, size, err);
	return SPOOL_OK;
}

static int
on_data(void *ctx, const uint8_t *p, size_t n, spool_err *err)
{
	struct reader *rd = ctx;
	const struct spool_batch_sink *sink = rd->chk->sink;

	if (rd->phase == IN_MANIFEST)
		return manifest_data(rd, p, n, err);
	/* hashed on the other core while the sink writes and the next
	 * chunk decompresses; unpack_stream waits before reusing p */
	spool_phash_submit(rd->h, p, n);
	rd->inflight = (uintptr_t)p;
	if (sink != NULL && sink->blob_data != NULL)
		return sink->blob_data(sink->ctx, p, n, err);
	return SPOOL_OK;
}

static int
on_end(void *ctx, spool_err *err)
{
	struct reader *rd = ctx;
	const struct spool_batch_sink *sink = rd->chk->sink;
	uint8_t got[SPOOL_HASH_LEN];
	char hex[SPOOL_HASH_HEXLEN + 1];

	if (rd->phase == IN_MANIFEST) {
		rd->phase = WANT_BLOBS;
		return manifest_end(rd, err);
	}
	rd->phase = WANT_BLOBS;
	spool_phash_final(rd->h, got);
	rd->inflight = 0;
	if (memcmp(got, rd->cur->hash, SPOOL_HASH_LEN) != 0) {
		spool_hex(hex, rd->cur->hash, SPOOL_HASH_LEN);
		return spool_fail(err, SPOOL_ERR_HASH,
		    "blob %s: content does not match its name", hex);
	}
	if (sink != NULL && sink->blob_end != NULL)
		return sink->blob_end(sink->ctx, rd->cur->hash, err);
	return SPOOL_OK;
}

/* Step 0: the bytes to verify and parse, hashed.  The pinned file
 * itself when the kernel leases it to us (*fd stays open on it, the
 * lease checked again after parsing), else a private copy hashed on the
 * way (*fd on the copy): the medium can change under us, the copy
 * cannot.  Either way no one else can change what *fd reads unnoticed. */
static int
take_bytes(const char *path, const char *tmpdir, uint64_t max,
    struct spool_phash *h, int *fdp, int *pinned, struct spool_tmpfile *copy,
    uint8_t digest[SPOOL_PREHASH_LEN], spool_err *err)
{
	struct stat st;
	int fd, r;

	*pinned = 0;
	if ((r = spool_open_regular(path, &fd, &st, err)) != SPOOL_OK)
		return r;
	if ((uint64_t)st.st_size > max) {
		r = spool_fail(err, SPOOL_ERR_LIMIT,
		    "batch file is %" PRIu64 " bytes, over the %" PRIu64
		    " limit", (uint64_t)st.st_size, max);
		goto out;
	}
	if (spool_pin(fd)) {
		*pinned = 1;
		r = spool_phash_fd(h, fd, path, -1, NULL, max,
		    SPOOL_PREHASH_LEN, digest, NULL, err);
		if (r == SPOOL_OK && lseek(fd, 0, SEEK_SET) != 0)
			r = spool_fail_sys(err, "cannot rewind '%s'", path);
		if (r == SPOOL_OK) {
			*fdp = fd;
			return SPOOL_OK;
		}
		goto out;
	}
	if ((r = spool_tmpfile_open(copy, tmpdir, "import", 0600, err)) !=
	    SPOOL_OK)
		goto out;
	/* read, hashed on the hasher's thread and written at once: on two
	 * cores this beats a kernel copy followed by a hashing read-back
	 * (128 MiB, unpack against zstd|tar: 0.94 against 1.04-1.09) */
	if ((r = spool_phash_fd(h, fd, path, copy->fd, copy->path, max,
	    SPOOL_PREHASH_LEN, digest, NULL, err)) != SPOOL_OK)
		goto out;
	close(fd);
	if ((fd = open(copy->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return spool_fail_sys(err, "cannot reopen '%s'", copy->path);
	*fdp = fd;
	return SPOOL_OK;
out:
	close(fd);
	return r;
}

/* Steps 1 and 2. */
static int
check_signature(const char *batch_path, const char *sig_path,
    const struct spool_batch_check *chk, const uint8_t digest[64],
    struct spool_batch_facts *f, spool_err *err)
{
	struct spool_trusted *all = NULL;
	struct spool_minisig sig;
	struct spool_pubkey pk;
	char want[128], kid[SPOOL_KEYID_STRLEN + 1], pid[SPOOL_KEYID_STRLEN + 1];
	size_t n = 0, i = 0;
	int r;

	if ((r = spool_minisig_read(sig_path, &sig, err)) != SPOOL_OK)
		return r;
	if ((r = spool_facts_parse(sig.trusted, f, err)) != SPOOL_OK)
		return r;
	if (strcmp(f->to, chk->self) != 0)
		return spool_fail(err, SPOOL_ERR_UNTRUSTED,
		    "batch is addressed to '%s', this node is '%s'", f->to,
		    chk->self);
	r = spool_trust_get(chk->root, f->from, &pk, err);
	if (r == SPOOL_ERR_NOTFOUND)
		return spool_fail(err, SPOOL_ERR_UNTRUSTED,
		    "sender '%s' is not a trusted peer", f->from);
	if (r != SPOOL_OK) {
		/* our own key file is broken: not the batch's fault */
		spool_err_prefix(err, "trusted key of '%s'", f->from);
		if (err != NULL)
			err->code = SPOOL_ERR_CONFIG;
		return SPOOL_ERR_CONFIG;
	}
	if (memcmp(pk.id, sig.keyid, SPOOL_KEYID_LEN) != 0) {
		spool_keyid_str(sig.keyid, kid);
		spool_keyid_str(pk.id, pid);
		if (spool_trust_list(chk->root, &all, &n, NULL) == SPOOL_OK)
			for (i = 0; i < n; i++)
				if (memcmp(all[i].key.id, sig.keyid, 8) == 0)
					break;
		if (all != NULL && i < n)
			r = spool_fail(err, SPOOL_ERR_UNTRUSTED,
			    "signed by key %s of peer '%s', not by sender '%s' "
			    "(key %s)", kid, all[i].name, f->from, pid);
		else
			r = spool_fail(err, SPOOL_ERR_UNTRUSTED,
			    "signed by untrusted key %s, not by sender '%s' "
			    "(key %s)", kid, f->from, pid);
		free(all);
		return r;
	}
	if (chk->strict_name) {
		spool_batch_name(want, sizeof(want), f->from, f->to, f->seq);
		if (strcmp(spool_basename(batch_path), want) != 0)
			return spool_fail(err, SPOOL_ERR_FORMAT,
			    "file name '%s' does not match the signed name '%s'",
			    spool_basename(batch_path), want);
	}
	return spool_minisig_verify(&sig, &pk, digest, err);
}

static int
zstd_fail(size_t e, int at_frame_end, spool_err *err)
{
	if (at_frame_end && ZSTD_getErrorCode(e) == ZSTD_error_prefix_unknown)
		return spool_fail(err, SPOOL_ERR_FORMAT,
		    "trailing data after the last zstd frame");
	if (ZSTD_getErrorCode(e) == ZSTD_error_memory_allocation)
		return spool_fail(err, SPOOL_ERR_NOMEM, "zstd: out of memory");
	if (ZSTD_getErrorCode(e) == ZSTD_error_frameParameter_windowTooLarge)
		return spool_fail(err, SPOOL_ERR_LIMIT,
		    "zstd frame needs a window over %u MiB",
		    (1u << SPOOL_WINDOW_LOG_MAX) >> 20);
	return spool_fail(err, SPOOL_ERR_FORMAT, "zstd: %s",
	    ZSTD_getErrorName(e));
}

static int
missing_blob(const struct reader *rd, spool_err *err)
{
	char hex[SPOOL_HASH_HEXLEN + 1];
	size_t i;

	for (i = 0; i < rd->want.cap; i++)
		if (rd->want.slots[i].used && rd->want.slots[i].flags == 0)
			break;
	spool_hex(hex, rd->want.slots[i].hash, SPOOL_HASH_LEN);
	return spool_fail(err, SPOOL_ERR_FORMAT,
	    "blob %s named in the manifest is missing (%zu missing)", hex,
	    rd->want.n - rd->seen);
}

/* Steps 3 to 5, from the verified bytes. */
static int
unpack_stream(int fd, struct reader *rd, uint64_t tar, spool_err *err)
{
	static const struct spool_ustar_cb cbtab = { NULL, on_member, on_data,
		on_end };
	struct spool_ustar_cb cb = cbtab;
	struct spool_ustar_reader *ur = NULL;
	ZSTD_DCtx *d = ZSTD_createDCtx();
	/* two output buffers: one is hashed while the other fills; 1 MiB
	 * each (not zstd's 128 KiB block), so that a thread hand-off, which
	 * costs tens of microseconds on a VM, comes every MiB */
	size_t insz = IO_CHUNK, outsz = IO_CHUNK;
	uint8_t *in = malloc(insz), *obuf = malloc(2 * outsz), *out = obuf;
	uint64_t total = 0, compressed = 0;
	size_t ret = 1;
	ssize_t n;
	int r;

	cb.ctx = rd;
	if (d == NULL || in == NULL || obuf == NULL) {
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax, SPOOL_WINDOW_LOG_MAX);
	if ((r = spool_ustar_reader_new(&ur, &cb, err)) != SPOOL_OK)
		goto out;
	while ((n = read(fd, in, insz)) != 0) {
		ZSTD_inBuffer ib = { in, 0, 0 };
		ZSTD_outBuffer ob;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = spool_fail_sys(err, "read");
			goto out;
		}
		ib.size = (size_t)n;
		compressed += (uint64_t)n;
		do {
			out = out == obuf ? obuf + outsz : obuf;
			if (rd->inflight >= (uintptr_t)out &&
			    rd->inflight < (uintptr_t)(out + outsz)) {
				spool_phash_wait(rd->h);
				rd->inflight = 0;
			}
			ob.dst = out;
			ob.size = outsz;
			ob.pos = 0;
			size_t prev = ret;

			ret = ZSTD_decompressStream(d, &ob, &ib);
			if (ZSTD_isError(ret)) {
				/* prev == 0: a frame had just ended cleanly */
				r = zstd_fail(ret, prev == 0 && total > 0, err);
				goto out;
			}
			total += ob.pos;
			if (total > tar) {
				r = spool_fail(err, SPOOL_ERR_FORMAT,
				    "decompressed stream is longer than the "
				    "signed tar size %" PRIu64, tar);
				goto out;
			}
			if ((r = spool_ustar_reader_feed(ur, out, ob.pos, err)) !=
			    SPOOL_OK)
				goto out;
		} while (ib.pos < ib.size || ob.pos == ob.size);
	}
	if (compressed == 0) {
		r = spool_fail(err, SPOOL_ERR_FORMAT, "batch file is empty");
		goto out;
	}
	if (ret != 0) {
		r = spool_fail(err, SPOOL_ERR_FORMAT, "zstd stream is truncated");
		goto out;
	}
	if (total != tar) {
		r = spool_fail(err, SPOOL_ERR_FORMAT,
		    "decompressed stream is %" PRIu64 " bytes, the signed tar "
		    "size is %" PRIu64, total, tar);
		goto out;
	}
	if ((r = spool_ustar_reader_finish(ur, err)) != SPOOL_OK)
		goto out;
	if (rd->phase == WANT_MANIFEST)
		r = spool_fail(err, SPOOL_ERR_FORMAT, "batch has no manifest");
	else if (rd->seen != rd->want.n)
		r = missing_blob(rd, err);
	else
		r = SPOOL_OK;
out:
	spool_phash_wait(rd->h); /* never free a buffer being hashed */
	spool_ustar_reader_free(ur);
	ZSTD_freeDCtx(d);
	free(in);
	free(obuf);
	return r;
}

/* Steps 3 to 5 on fd, whose bytes carry the signed facts f. */
static int
parse_signed(int fd, const struct spool_batch_check *chk,
    const struct spool_batch_facts *f, struct spool_phash *h, spool_err *err)
{
	struct reader rd;
	int r;

	memset(&rd, 0, sizeof(rd));
	rd.chk = chk;
	rd.facts = f;
	rd.h = h;
	spool_blobset_init(&rd.want, SPOOL_BLOBS_MAX);
	rd.manifest = chk->manifest;
	if ((rd.line = malloc(SPOOL_LINE_MAX)) == NULL)
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	else if (rd.manifest != NULL ||
	    (r = spool_manifest_new(&rd.manifest, err)) == SPOOL_OK)
		r = unpack_stream(fd, &rd, f->tar, err);
	if (rd.manifest != chk->manifest)
		spool_manifest_free(rd.manifest);
	spool_blobset_release(&rd.want);
	free(rd.line);
	return r;
}

#ifdef SPOOL_FUZZING
int
spool_batch_parse_unsigned(int fd, const struct spool_batch_check *chk,
    const struct spool_batch_facts *f, spool_err *err)
{
	struct spool_phash *h;
	int r;

	if ((r = spool_phash_new(&h, err)) != SPOOL_OK)
		return r;
	r = parse_signed(fd, chk, f, h, err);
	spool_phash_free(h);
	return r;
}
#endif

int
spool_batch_read(const char *batch_path, const char *sig_path,
    const struct spool_batch_check *chk, struct spool_batch_facts *facts,
    spool_err *err)
{
	uint8_t digest[SPOOL_PREHASH_LEN];
	char sigbuf[PATH_MAX];
	struct spool_batch_facts f;
	struct spool_tmpfile copy = { -1, "" };
	struct spool_phash *h = NULL;
	uint64_t max_file;
	int fd = -1, pinned = 0, r;

	if (sig_path == NULL) {
		if (snprintf(sigbuf, sizeof(sigbuf), "%s.minisig", batch_path) >=
		    (int)sizeof(sigbuf))
			return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
		sig_path = sigbuf;
	}
	max_file = ZSTD_compressBound(chk->max_tar) + (1u << 20);
	if ((r = spool_phash_new(&h, err)) != SPOOL_OK)
		goto out;
	if ((r = take_bytes(batch_path, chk->tmpdir, max_file, h, &fd, &pinned,
	    &copy, digest, err)) != SPOOL_OK)
		goto out;
	if ((r = check_signature(batch_path, sig_path, chk, digest, &f, err)) !=
	    SPOOL_OK)
		goto out;
	if (f.tar > chk->max_tar) {
		r = spool_fail(err, SPOOL_ERR_LIMIT,
		    "signed tar size %" PRIu64 " exceeds batch.max_bytes %" PRIu64,
		    f.tar, chk->max_tar);
		goto out;
	}
	if (chk->sink != NULL && chk->sink->verified != NULL &&
	    (r = chk->sink->verified(chk->sink->ctx, &f, err)) != SPOOL_OK)
		goto out;
	/* Only now, with the hash signed by the sender, parse it. */
	if ((r = parse_signed(fd, chk, &f, h, err)) != SPOOL_OK)
		goto out;
	if (pinned && !spool_pin_held(fd)) {
		/* what was parsed may not be what was verified: not this
		 * batch's fault, try again when the writer is done */
		r = spool_fail(err, SPOOL_ERR_BUSY, "'%s' was opened for "
		    "writing while it was read; it will be read again",
		    batch_path);
		goto out;
	}
	if (chk->keep_copy != NULL) {
		int kfd = pinned ? fd : copy.fd;

		if (fsync(kfd) != 0) {
			r = spool_fail_sys(err, "cannot fsync '%s'", pinned ?
			    batch_path : copy.path);
			goto out;
		}
		/* "": the batch file itself is what was verified */
		snprintf(chk->keep_copy, PATH_MAX, "%s", pinned ? "" :
		    copy.path);
		if (!pinned) {
			close(copy.fd);
			copy.fd = -1;
			copy.path[0] = '\0';
		}
	}
	if (facts != NULL)
		*facts = f;
	r = SPOOL_OK;
out:
	if (fd >= 0)
		close(fd);
	spool_tmpfile_discard(&copy);
	spool_phash_free(h);
	return r;
}
