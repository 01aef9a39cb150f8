/*
 * outbox.c - the batcher: pending manifest lines become signed batches in
 * out/.
 *
 * For a peer whose lines are due, take lines in send order while the
 * batch stays within batch.max_bytes (an estimate of the ustar size that
 * never undercounts), plan the batch (seq + lines, one transaction),
 * write it (.batch then .minisig), keep it in archive/sent/, and record
 * it written.  A crash after planning leaves a planned batch: at start
 * (and before each round) it is adopted if its pair is complete in out/,
 * else written again from the same lines under the same seq and id.
 *
 * Over 800 lines and kept whole: planning, writing, adopting and
 * re-writing a batch are one crash-safe sequence over the same lines.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool/base/error.h"
#include "spool/base/fsutil.h"
#include "spool/base/hash.h"
#include "spool/base/util.h"
#include "spool/flow/daemon.h"
#include "spool/flow/daemon_impl.h"
#include "spool/flow/outbox.h"
#include "spool/flow/qlocal.h"
#include "spool/flow/reaper.h"
#include "spool/format/batch.h"
#include "spool/format/manifest.h"
#include "spool/format/minisig.h"
#include "spool/format/pair.h"
#include "spool/node/config.h"
#include "spool/node/node.h"
#include "spool/store/batchlog.h"
#include "spool/store/blobstore.h"
#include "spool/store/queue.h"
#include "spool/store/store.h"

#define ACKS_MAX 256 /* receipts carried per batch (the newest) */
#define TAR_BLOCK 512u

static uint64_t
tar_member(uint64_t size)
{
	return TAR_BLOCK + (size + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
}

/* What a batch's fixed parts cost at most: the header line with its
 * acks, and the archive's end (two zero blocks, padded to 10240). */
static uint64_t
tar_base(void)
{
	return tar_member(1024 + ACKS_MAX * 64) + 10240;
}

struct line {
	char id[SPOOL_ID_MAX];
	char kind[8];
	char request[SPOOL_ID_MAX];
	uint64_t size;
	char *item;
};

struct lines {
	struct line *v;
	size_t n, cap;
	uint64_t tar, limit, max;
	int too_big; /* the first line alone does not fit: it is big */
	struct line big;
	char (*pblob)[SPOOL_HASH_HEXLEN + 1]; /* blobs of its part lines */
	size_t npblob;
	uint64_t files, max_files; /* files the lines carry; at most (0: any) */
};

/* How many files a line carries as members (a result may carry many;
 * the receiver takes at most [batch] max_items files a batch). */
static uint64_t
line_files(const char *kind, const char *item)
{
	const json_t *f;
	json_t *j;
	uint64_t n = 0;
	size_t i;

	if (strcmp(kind, "result") != 0)
		return 1;
	if ((j = json_loads(item, 0, NULL)) == NULL)
		return 1;
	json_array_foreach(json_object_get(j, "files"), i, f)
		n += json_object_get(f, "parts") == NULL;
	json_decref(j);
	return n;
}

/* The blob of a part line ("" when not a part line). */
static void
part_blob(const char *kind, const char *item, char out[SPOOL_HASH_HEXLEN + 1])
{
	json_t *j;

	out[0] = '\0';
	if (strcmp(kind, "part") != 0 || (j = json_loads(item, 0, NULL)) == NULL)
		return;
	snprintf(out, SPOOL_HASH_HEXLEN + 1, "%s",
	    json_string_value(json_object_get(j, "blob")) ?
	    json_string_value(json_object_get(j, "blob")) : "");
	json_decref(j);
}

static void
lines_release(struct lines *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].item);
	free(l->v);
	free(l->big.item);
	free(l->pblob);
	memset(l, 0, sizeof(*l));
}

/* What a request line's upstream lineage (received, batched) may add to
 * it when written: reserved in the size estimate, and left out of the
 * line (never the estimate exceeded) when it would take more. */
#define LINEAGE_RESERVE 2048

/* Row: id kind request priority created ord size item */
static int
add_line(void *arg, const struct spool_store_row *row)
{
	struct lines *l = arg;
	struct line *x;
	uint64_t size = strtoull(row->col[6], NULL, 10);
	uint64_t cost = tar_member(size) + strlen(row->col[7]) + 1 +
	    (strcmp(row->col[1], "request") == 0 ? LINEAGE_RESERVE : 0);
	char pb[SPOOL_HASH_HEXLEN + 1];
	size_t k;

	/* two parts of the same bytes (a file of equal halves, or one
	 * file sent twice) go in two batches: the receiver wants every
	 * part item's bytes carried, not one blob standing for two */
	pb[0] = '\0';
	if (l->limit) { /* planning (a planned batch is written as planned) */
		uint64_t nf = line_files(row->col[1], row->col[7]);

		if (l->max_files && l->n > 0 && l->files + nf > l->max_files)
			return 1; /* full */
		l->files += nf;
		part_blob(row->col[1], row->col[7], pb);
	}
	for (k = 0; pb[0] != '\0' && k < l->npblob; k++)
		if (strcmp(l->pblob[k], pb) == 0)
			return 1; /* full */

	if (l->limit && l->tar + cost > l->limit) {
		if (l->n == 0) {
			l->too_big = 1;
			snprintf(l->big.id, sizeof(l->big.id), "%s", row->col[0]);
			snprintf(l->big.kind, sizeof(l->big.kind), "%s",
			    row->col[1]);
			if ((l->big.item = strdup(row->col[7])) == NULL)
				return SPOOL_ERR_NOMEM;
		}
		return 1; /* full */
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		void *p = realloc(l->v, cap * sizeof(*l->v));

		if (p == NULL)
			return SPOOL_ERR_NOMEM;
		l->v = p;
		l->cap = cap;
	}
	if (pb[0] != '\0') {
		void *p = realloc(l->pblob, (l->npblob + 1) * sizeof(*l->pblob));

		if (p == NULL)
			return SPOOL_ERR_NOMEM;
		l->pblob = p;
		memcpy(l->pblob[l->npblob++], pb, sizeof(pb));
	}
	x = &l->v[l->n];
	memset(x, 0, sizeof(*x));
	snprintf(x->id, sizeof(x->id), "%s", row->col[0]);
	snprintf(x->kind, sizeof(x->kind), "%s", row->col[1]);
	snprintf(x->request, sizeof(x->request), "%s", row->col[2]);
	x->size = size;
	if ((x->item = strdup(row->col[7])) == NULL)
		return SPOOL_ERR_NOMEM;
	l->n++;
	l->tar += cost;
	return 0;
}

static int
add_ack(void *arg, const struct spool_store_row *row)
{
	json_t *acks = arg;

	if (json_array_append_new(acks, json_pack("{s:I, s:s}", "seq",
	    (json_int_t)strtoll(row->col[0], NULL, 10), "id", row->col[1])) !=
	    0)
		return SPOOL_ERR_NOMEM;
	return 0;
}

/* The blobs a line brings: files of requests and results (not those
 * travelling as parts), or the byte range of a part. */
static int
add_blobs(struct spool_daemon *d, struct spool_batch_writer *w,
    const json_t *item, spool_err *err)
{
	const char *kind = json_string_value(json_object_get(item, "kind"));
	char path[PATH_MAX];
	uint8_t hash[SPOOL_HASH_LEN];
	const json_t *f;
	size_t i;
	int r;

	if (kind != NULL && strcmp(kind, "part") == 0) {
		const char *fb = json_string_value(json_object_get(item,
		    "file_blob"));
		const char *b = json_string_value(json_object_get(item, "blob"));

		if (fb == NULL || b == NULL || spool_unhex(hash, sizeof(hash),
		    b) != 0 || spool_blob_path(d->node->root, fb, path) != 0)
			return spool_fail(err, SPOOL_ERR_INTERNAL, "bad part");
		return spool_batch_add_blob(w, hash, (uint64_t)
		    json_integer_value(json_object_get(item, "size")), path,
		    (uint64_t)json_integer_value(json_object_get(item,
		    "offset")), err);
	}
	json_array_foreach(json_object_get(item, "files"), i, f) {
		const char *b = json_string_value(json_object_get(f, "blob"));

		if (json_object_get(f, "parts") != NULL)
			continue;
		if (b == NULL || spool_unhex(hash, sizeof(hash), b) != 0 ||
		    spool_blob_path(d->node->root, b, path) != 0)
			return spool_fail(err, SPOOL_ERR_INTERNAL, "bad file");
		if ((r = spool_batch_add_blob(w, hash, (uint64_t)
		    json_integer_value(json_object_get(f, "size")), path, 0,
		    err)) != SPOOL_OK)
			return r;
	}
	return SPOOL_OK;
}

/* The upstream lineage of a batch's requests: request id -> (event id
 * -> EVENT object). */
static int
add_upstream(void *arg, const struct spool_store_row *row)
{
	json_t *by = arg, *evs;
	char t[32];

	/* request event_id event time node user batch used generated */
	if ((evs = json_object_get(by, row->col[0])) == NULL) {
		if ((evs = json_object()) == NULL ||
		    json_object_set_new(by, row->col[0], evs) != 0)
			return SPOOL_ERR_NOMEM;
	}
	spool_time_ms(t, strtoll(row->col[3], NULL, 10));
	if (spool_manifest_event_edge(evs, row->col[1], row->col[2], t,
	    row->col[4], row->col[5], row->col[6] != NULL &&
	    strncmp(row->col[6], "batch:", 6) == 0 ? row->col[6] + 6 :
	    row->col[6], row->col[7], row->col[8]) != 0)
		return SPOOL_ERR_NOMEM;
	return 0;
}

/* A request line with its upstream lineage, when that fits what was
 * reserved for it (and the line limit): else as it is. */
static int
with_upstream(json_t *item, const json_t *by, const struct line *x,
    spool_err *err)
{
	json_t *evs = json_object_get(by, x->request), *a, *e;
	const char *k;
	char *text;
	size_t len;

	if (strcmp(x->kind, "request") != 0 || evs == NULL)
		return SPOOL_OK;
	if ((a = json_array()) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	json_object_foreach((json_t *)evs, k, e)
		json_array_append(a, e);
	if ((text = json_dumps(a, JSON_COMPACT)) == NULL) {
		json_decref(a);
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	}
	len = strlen(text);
	free(text);
	if (json_array_size(a) > 16 || len + 16 > LINEAGE_RESERVE ||
	    strlen(x->item) + len + 16 >= SPOOL_LINE_MAX) {
		json_decref(a);
		return SPOOL_OK;
	}
	if (json_object_set_new(item, "lineage", a) != 0)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	return SPOOL_OK;
}

/* When the last batch went to peer, on the schedule's clock (what the
 * heartbeat counts from): kept in memory once known, so that a step of
 * the wall clock moves no heartbeat. */
static struct spool_out_at *
out_at(struct spool_daemon *d, const char *peer)
{
	size_t i;

	for (i = 0; i < d->nout; i++)
		if (strcmp(d->out[i].peer, peer) == 0)
			return &d->out[i];
	if (d->nout == sizeof(d->out) / sizeof(d->out[0]))
		return NULL;
	snprintf(d->out[d->nout].peer, sizeof(d->out[0].peer), "%s", peer);
	d->out[d->nout].at = 0;
	return &d->out[d->nout++];
}

static void
note_out(struct spool_daemon *d, const char *peer, int64_t at)
{
	struct spool_out_at *o = out_at(d, peer);

	if (o != NULL)
		o->at = at;
}

/* Not known yet (a start): the store's wall-clock fact, counted back
 * from now (never into the future, never more than one interval). */
static int
last_out(struct spool_daemon *d, const char *peer, int64_t every,
    int64_t *at, spool_err *err)
{
	struct spool_out_at *o = out_at(d, peer);
	int64_t wall, ago;
	int r;

	if (o != NULL && o->at != 0) {
		*at = o->at;
		return SPOOL_OK;
	}
	if ((r = spool_store_last_batch(d->st, peer, "out", &wall, err)) !=
	    SPOOL_OK)
		return r;
	ago = wall == 0 ? 0 : spool_store_now(d->st) - wall;
	ago = ago < 0 ? 0 : ago > every ? every : ago;
	*at = spool_store_sched(d->st) - ago;
	if (o != NULL)
		o->at = *at;
	return SPOOL_OK;
}

/* Write the planned batch bid (its lines are in the store) to out/. */
static int
write_planned(struct spool_daemon *d, const char *bid, const char *peer,
    uint64_t seq, int64_t created_ms, spool_err *err)
{
	struct spool_batch_writer *w = NULL;
	struct spool_batch_spec spec;
	struct spool_batch_facts facts;
	struct lines l;
	char name[128], out[PATH_MAX], sig[PATH_MAX + 8];
	json_t *acks = NULL, *up = NULL;
	size_t i;
	int r;

	memset(&l, 0, sizeof(l));
	spool_batch_name(name, sizeof(name), d->node->cfg->name, peer, seq);
	if (spool_node_path(d->node, out, sizeof(out), "out") != 0 ||
	    strlen(out) + strlen(name) + 2 >= sizeof(out))
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	strcat(strcat(out, "/"), name);
	spool_pair_sig_path(sig, sizeof(sig), out);
	/* a .batch without its .minisig is what a crash left: redo it */
	if (!spool_pair_complete(out))
		unlink(out);
	if ((r = spool_store_outbox_batch(d->st, bid, add_line, &l, err)) !=
	    SPOOL_OK)
		goto out;
	if ((up = json_object()) == NULL ||
	    (r = spool_store_batch_upstream(d->st, bid, add_upstream, up,
	    err)) != SPOOL_OK) {
		r = r == SPOOL_ERR_NOMEM || up == NULL ? spool_fail(err,
		    SPOOL_ERR_NOMEM, "out of memory") : r;
		goto out;
	}
	if ((acks = json_array()) == NULL ||
	    (r = spool_store_acks(d->st, peer, ACKS_MAX, add_ack, acks,
	    err)) != SPOOL_OK) {
		r = r ? r : spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	memset(&spec, 0, sizeof(spec));
	spec.from = d->node->cfg->name;
	spec.to = peer;
	spec.seq = seq;
	spec.id = bid;
	spec.created = (time_t)(created_ms / 1000);
	spec.zstd_level = d->node->cfg->zstd_level;
	spec.acks = acks;
	if ((r = spool_batch_writer_new(&w, &spec, err)) != SPOOL_OK)
		goto out;
	for (i = 0; i < l.n; i++) {
		json_error_t je;
		json_t *item = json_loads(l.v[i].item, 0, &je);

		if (item == NULL) {
			r = spool_fail(err, SPOOL_ERR_INTERNAL, "outbox line "
			    "%s: %s", l.v[i].id, je.text);
			goto out;
		}
		if ((r = add_blobs(d, w, item, err)) != SPOOL_OK ||
		    (r = with_upstream(item, up, &l.v[i], err)) != SPOOL_OK) {
			json_decref(item);
			goto out;
		}
		if ((r = spool_batch_add_item(w, item, err)) != SPOOL_OK)
			goto out;
	}
	/* unlinks in the middle of a burst slow the files taken after it */
	spool_reaper_busy(d);
	if ((r = spool_batch_write(w, out, &d->sk, &facts, err)) != SPOOL_OK)
		goto out;
	spool_reaper_busy(d);
	if ((r = spool_node_archive_sent(d->node, out, name, err)) !=
	    SPOOL_OK && r != SPOOL_ERR_EXISTS)
		goto out;
	if ((r = spool_store_outbox_written(d->st, bid, name, facts.items,
	    facts.bytes, facts.tar, err)) != SPOOL_OK)
		goto out;
	for (i = 0; i < l.n; i++)
		if (strcmp(l.v[i].kind, "request") == 0)
			spool_idlist_add(&d->changed, l.v[i].request);
	d->written++;
	note_out(d, peer, spool_store_sched(d->st));
	spool_daemon_log(d, "event=batch-written batch=%s id=%s peer=%s "
	    "seq=%llu items=%llu bytes=%llu tar=%llu", name, bid, peer,
	    (unsigned long long)seq, (unsigned long long)facts.items,
	    (unsigned long long)facts.bytes, (unsigned long long)facts.tar);
out:
	json_decref(acks);
	json_decref(up);
	spool_batch_writer_free(w);
	lines_release(&l);
	return r;
}

/* A planned batch whose pair is complete in out/ was written before a
 * crash: record it. */
static int
adopt(struct spool_daemon *d, const char *bid, const char *peer,
    uint64_t seq, int *done, spool_err *err)
{
	struct spool_minisig m;
	struct spool_batch_facts f;
	char name[128], out[PATH_MAX], sig[PATH_MAX + 8];
	int r;

	*done = 0;
	spool_batch_name(name, sizeof(name), d->node->cfg->name, peer, seq);
	spool_node_path(d->node, out, sizeof(out), "out");
	strcat(strcat(out, "/"), name);
	spool_pair_sig_path(sig, sizeof(sig), out);
	if (!spool_pair_complete(out))
		return SPOOL_OK;
	if (spool_minisig_read(sig, &m, NULL) != SPOOL_OK ||
	    spool_facts_parse(m.trusted, &f, NULL) != SPOOL_OK ||
	    strcmp(f.id, bid) != 0) {
		/* not what was planned: write it again */
		unlink(sig);
		unlink(out);
		return SPOOL_OK;
	}
	if ((r = spool_node_archive_sent(d->node, out, name, err)) !=
	    SPOOL_OK && r != SPOOL_ERR_EXISTS)
		return r;
	if ((r = spool_store_outbox_written(d->st, bid, name, f.items,
	    f.bytes, f.tar, err)) != SPOOL_OK)
		return r;
	spool_daemon_log(d, "event=batch-adopted batch=%s id=%s", name, bid);
	*done = 1;
	return SPOOL_OK;
}

struct planned {
	char bid[SPOOL_ID_MAX];
	char peer[SPOOL_NAME_MAX + 1];
	uint64_t seq;
	int64_t created;
};

struct planned_list {
	struct planned *v;
	size_t n, cap;
};

/* Row: batch_id peer seq created name */
static int
add_planned(void *arg, const struct spool_store_row *row)
{
	struct planned_list *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		void *p = realloc(l->v, cap * sizeof(*l->v));

		if (p == NULL)
			return SPOOL_ERR_NOMEM;
		l->v = p;
		l->cap = cap;
	}
	snprintf(l->v[l->n].bid, SPOOL_ID_MAX, "%s", row->col[0]);
	snprintf(l->v[l->n].peer, SPOOL_NAME_MAX + 1, "%s", row->col[1]);
	l->v[l->n].seq = strtoull(row->col[2], NULL, 10);
	l->v[l->n].created = strtoll(row->col[3], NULL, 10);
	l->n++;
	return 0;
}

int
spool_outbox_recover(struct spool_daemon *d, spool_err *err)
{
	struct planned_list l = { NULL, 0, 0 };
	size_t i;
	int r, done;

	if ((r = spool_store_planned(d->st, add_planned, &l, err)) != SPOOL_OK) {
		free(l.v);
		return r == SPOOL_ERR_NOMEM ? spool_fail(err, r,
		    "out of memory") : r;
	}
	for (i = 0; i < l.n && r == SPOOL_OK; i++) {
		struct planned *p = &l.v[i];

		if ((r = adopt(d, p->bid, p->peer, p->seq, &done, err)) !=
		    SPOOL_OK || done)
			continue;
		r = write_planned(d, p->bid, p->peer, p->seq, p->created, err);
	}
	free(l.v);
	return r;
}

#define PART_LINE_MAX 4096 /* a part line's JSON, with room to spare */

/* BLAKE2b-256 of size bytes of path from offset. */
static int
hash_range(const char *path, uint64_t offset, uint64_t size,
    char hex[SPOOL_HASH_HEXLEN + 1], spool_err *err)
{
	static __thread uint8_t buf[1 << 17];
	uint8_t h[SPOOL_HASH_LEN];
	spool_hasher hs;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return spool_fail_sys(err, "cannot open '%s'", path);
	spool_hasher_init(&hs, SPOOL_HASH_LEN);
	while (size > 0) {
		size_t want = size < sizeof(buf) ? (size_t)size : sizeof(buf);
		ssize_t n = pread(fd, buf, want, (off_t)offset);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return n < 0 ? spool_fail_sys(err, "cannot read '%s'",
			    path) : spool_fail(err, SPOOL_ERR_FORMAT, "'%s' is "
			    "shorter than recorded", path);
		}
		spool_hasher_update(&hs, buf, (size_t)n);
		offset += (uint64_t)n;
		size -= (uint64_t)n;
	}
	close(fd);
	spool_hasher_final(&hs, h);
	spool_hex(hex, h, SPOOL_HASH_LEN);
	return SPOOL_OK;
}

/* A request line too big for one batch: each file that does not fit
 * travels as parts of at most part_max bytes, in the batches after it. */
static int
split(struct spool_daemon *d, struct lines *l, spool_err *err)
{
	uint64_t part_max = (l->limit - PART_LINE_MAX - TAR_BLOCK) /
	    TAR_BLOCK * TAR_BLOCK, inline_size = 0;
	json_t *item = NULL, *f;
	char **parts = NULL, *text = NULL;
	uint64_t *psizes = NULL;
	size_t i, n = 0, cap = 0;
	int r = SPOOL_OK;

	if (strcmp(l->big.kind, "request") != 0 || l->limit < 2 * TAR_BLOCK +
	    PART_LINE_MAX)
		return spool_fail(err, SPOOL_ERR_LIMIT, "a %s line does not fit "
		    "in batch.max_bytes", l->big.kind);
	if ((item = json_loads(l->big.item, 0, NULL)) == NULL)
		return spool_fail(err, SPOOL_ERR_INTERNAL, "bad outbox line");
	json_array_foreach(json_object_get(item, "files"), i, f) {
		uint64_t size = (uint64_t)json_integer_value(json_object_get(f,
		    "size")), off, count, k;
		const char *blob = json_string_value(json_object_get(f, "blob"));
		char path[PATH_MAX], hex[SPOOL_HASH_HEXLEN + 1];

		if (json_object_get(f, "parts") != NULL)
			continue; /* split before */
		if (tar_member(size) + PART_LINE_MAX <= l->limit / 2) {
			inline_size += size;
			continue;
		}
		count = (size + part_max - 1) / part_max;
		if (count < 2)
			count = 2; /* a part item is one of several */
		json_object_set_new(f, "parts", json_integer((json_int_t)count));
		spool_blob_path(d->node->root, blob, path);
		for (k = 0, off = 0; k < count; k++) {
			uint64_t ps = k + 1 < count ? (size + count - 1) / count :
			    size - off;
			json_t *p;

			if (k + 1 < count && ps > size - off)
				ps = size - off;
			if ((r = hash_range(path, off, ps, hex, err)) != SPOOL_OK)
				goto out;
			p = spool_manifest_part(json_string_value(
			    json_object_get(item, "id")), json_string_value(
			    json_object_get(f, "name")), k, count, off, ps, hex,
			    size, blob);
			if (n == cap) {
				void *a = realloc(parts, (cap ? cap * 2 : 16) *
				    sizeof(*parts));
				void *b = a ? realloc(psizes, (cap ? cap * 2 :
				    16) * sizeof(*psizes)) : NULL;

				if (a != NULL)
					parts = a;
				if (b == NULL) {
					json_decref(p);
					r = spool_fail(err, SPOOL_ERR_NOMEM,
					    "out of memory");
					goto out;
				}
				psizes = b;
				cap = cap ? cap * 2 : 16;
			}
			psizes[n] = ps;
			parts[n] = p ? json_dumps(p, JSON_COMPACT) : NULL;
			json_decref(p);
			if (parts[n++] == NULL) {
				r = spool_fail(err, SPOOL_ERR_NOMEM, "out of "
				    "memory");
				goto out;
			}
			off += ps;
		}
	}
	if (n == 0) {
		/* nothing left to split: this line can never go */
		r = spool_fail(err, SPOOL_ERR_LIMIT, "request %s does not fit "
		    "in batch.max_bytes even with its files in parts",
		    json_string_value(json_object_get(item, "id")));
		goto out;
	}
	if ((text = json_dumps(item, JSON_COMPACT)) == NULL) {
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((r = spool_store_outbox_split(d->st, l->big.id, text, inline_size,
	    (const char *const *)parts, psizes, n, err)) == SPOOL_OK)
		spool_daemon_log(d, "event=split request=%s parts=%zu",
		    json_string_value(json_object_get(item, "id")), n);
out:
	for (i = 0; i < n; i++)
		free(parts[i]);
	free(parts);
	free(psizes);
	free(text);
	json_decref(item);
	return r;
}

/* Plan and write one batch of peer's pending lines (none: a heartbeat).
 * full_only: only a full batch (max_items lines, or as many as
 * max_bytes holds), else nothing.  *more: lines are left (full_only:
 * and another batch may be full). */
static int
one_batch(struct spool_daemon *d, const char *peer, int heartbeat,
    int full_only, int *more, spool_err *err)
{
	const struct spool_config *c = d->node->cfg;
	struct lines l;
	const char **ids = NULL;
	char bid[SPOOL_ID_MAX];
	uint64_t seq;
	size_t i;
	int r;

	*more = 0;
	memset(&l, 0, sizeof(l));
	l.limit = c->max_bytes > tar_base() ? c->max_bytes - tar_base() : 1;
	l.max_files = c->max_items;
	if (!heartbeat) {
		r = spool_store_outbox_pending(d->st, peer, (size_t)c->max_items,
		    add_line, &l, err);
		if (r == SPOOL_ERR_NOMEM)
			r = spool_fail(err, r, "out of memory");
		if (r < 0)
			goto out;
		if (l.too_big) {
			/* the next line is a large file: it goes in parts,
			 * and this round is tried again */
			if ((r = split(d, &l, err)) == SPOOL_OK)
				*more = 1;
			goto out;
		}
		if (l.n == 0)
			goto out;
		*more = r == 1 || l.n == c->max_items;
		if (full_only && !*more) {
			r = SPOOL_OK; /* these wait for more, or their age */
			goto out;
		}
	}
	if (l.n > 0 && (ids = calloc(l.n, sizeof(*ids))) == NULL) {
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < l.n; i++)
		ids[i] = l.v[i].id;
	spool_uuid7(bid);
	if ((r = spool_store_outbox_plan(d->st, peer, bid, ids, l.n, &seq,
	    err)) != SPOOL_OK)
		goto out;
	r = write_planned(d, bid, peer, seq, spool_store_now(d->st), err);
out:
	free(ids);
	lines_release(&l);
	return r;
}

struct due_peer {
	char peer[SPOOL_NAME_MAX + 1];
	uint64_t n, bytes;
	int64_t oldest;
};

struct due_list {
	struct due_peer v[64];
	size_t n;
};

static int
add_due(void *arg, const struct spool_store_row *row)
{
	struct due_list *l = arg;

	if (l->n == sizeof(l->v) / sizeof(l->v[0]))
		return 1;
	snprintf(l->v[l->n].peer, SPOOL_NAME_MAX + 1, "%s", row->col[0]);
	l->v[l->n].n = strtoull(row->col[1], NULL, 10);
	l->v[l->n].oldest = strtoll(row->col[2], NULL, 10);
	l->v[l->n].bytes = strtoull(row->col[3], NULL, 10);
	l->n++;
	return 0;
}

static void
next_at(int64_t *next, int64_t t)
{
	if (*next == 0 || t < *next)
		*next = t;
}

int
spool_outbox_run(struct spool_daemon *d, int force, int64_t *next_ms,
    spool_err *err)
{
	const struct spool_config *c = d->node->cfg;
	struct due_list due;
	int64_t now = spool_store_sched(d->st);
	size_t i;
	int r, more, failed = SPOOL_OK;

	if ((r = spool_outbox_recover(d, err)) != SPOOL_OK)
		return r;
	/* a query answered here already never leaves */
	if ((r = spool_query_local_answers(d, NULL, err)) != SPOOL_OK)
		spool_daemon_log(d, "event=error what=local-answers reason=%s",
		    LQ(err->msg));
	due.n = 0;
	if ((r = spool_store_outbox_peers(d->st, add_due, &due, err)) < 0)
		return r;
	for (i = 0; i < due.n; i++) {
		struct due_peer *p = &due.v[i];
		const struct spool_conf_peer *cp = spool_config_peer(c, p->peer);
		int64_t at = p->oldest + (int64_t)c->max_age * 1000;
		int full_only = !force && at > now;

		/* receive-only: never written to (its answers wait, said
		 * once each when they were made) */
		if (cp != NULL && cp->direction == SPOOL_DIR_RECEIVE_ONLY)
			continue;

		/* A peer's lines go when the oldest is max_age old (all of
		 * them), or a batch is full (max_items lines, or what
		 * max_bytes holds; only full batches, the rest waits for
		 * more or for its age, so a burst comes out in full
		 * batches).  Any step that adds lines runs this again. */
		if (full_only) {
			next_at(next_ms, at);
			if (p->n < c->max_items && p->bytes < c->max_bytes)
				continue;
		}
		do {
			if ((r = one_batch(d, p->peer, 0, full_only, &more,
			    err)) != SPOOL_OK) {
				/* this peer waits; the others go on */
				spool_daemon_log(d, "event=error what=batch "
				    "peer=%s reason=%s", p->peer, LQ(err->msg));
				failed = r;
				break;
			}
		} while (more);
	}
	/* heartbeats: a peer that got nothing for [batch] heartbeat */
	for (i = 0; c->heartbeat > 0 && i < c->npeers; i++) {
		const struct spool_conf_peer *p = &c->peers[i];
		int64_t last;

		if (p->direction == SPOOL_DIR_RECEIVE_ONLY)
			continue;
		if ((r = last_out(d, p->name, (int64_t)c->heartbeat * 1000,
		    &last, err)) != SPOOL_OK)
			return r;
		if (last + (int64_t)c->heartbeat * 1000 > now) {
			next_at(next_ms, last + (int64_t)c->heartbeat * 1000);
			continue;
		}
		if ((r = one_batch(d, p->name, 1, 0, &more, err)) != SPOOL_OK)
			return r;
		next_at(next_ms, now + (int64_t)c->heartbeat * 1000);
	}
	return failed;
}
