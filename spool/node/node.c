/*
 * node.c - node layout, keys and offline packing.
 *
 * Sequence numbers come from the store (spool_store_batch_plan): a seq is
 * never handed out twice, even across crashes, and every seq taken has a
 * batch row saying what became of it (written, or abandoned and why).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool/base/error.h"
#include "spool/base/fsutil.h"
#include "spool/base/hash.h"
#include "spool/base/util.h"
#include "spool/format/batch.h"
#include "spool/format/manifest.h"
#include "spool/format/minisig.h"
#include "spool/format/pair.h"
#include "spool/keys/key.h"
#include "spool/keys/trust.h"
#include "spool/node/config.h"
#include "spool/node/node.h"
#include "spool/store/batchlog.h"
#include "spool/store/lineage.h"
#include "spool/store/queue.h"
#include "spool/store/request.h"
#include "spool/store/store.h"

static const char *const layout[] = {
	"keys", "keys/trusted", "in", "out", "import", "results", "delivered",
	"status", "rejected", "quarantine", "archive", "archive/sent",
	"archive/received", "store", "store/blobs", "store/tmp", "store/work",
	NULL
};

int
spool_node_path(const struct spool_node *n, char *out, size_t outsz,
    const char *rel)
{
	int w = snprintf(out, outsz, "%s/%s", n->root, rel);

	return w < 0 || (size_t)w >= outsz ? -1 : 0;
}

static int
make_layout(const struct spool_node *n, spool_err *err)
{
	char path[PATH_MAX];
	size_t i;
	int r;

	for (i = 0; layout[i] != NULL; i++) {
		if (spool_node_path(n, path, sizeof(path), layout[i]) != 0)
			return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
		if ((r = spool_mkdirs(path, strncmp(layout[i], "keys", 4) == 0 ||
		    strncmp(layout[i], "store", 5) == 0 ? 0700 : 0755, err)) !=
		    SPOOL_OK)
			return r;
	}
	for (i = 0; i < n->cfg->nfolders; i++) {
		if (snprintf(path, sizeof(path), "%s/in/%s", n->root,
		    n->cfg->folders[i].name) >= (int)sizeof(path))
			return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
		if ((r = spool_mkdirs(path, 0777, err)) != SPOOL_OK)
			return r;
	}
	return SPOOL_OK;
}

int
spool_node_create(const char *root, const char *name, const char *peer,
    spool_err *err)
{
	struct spool_node *n = NULL;
	struct spool_pubkey pub;
	struct spool_seckey sec;
	char path[PATH_MAX], *text = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	if (!spool_node_name_ok(name))
		return spool_fail(err, SPOOL_ERR_USAGE,
		    "'%s' is not a valid node name ([a-z0-9]{1,32})", name);
	if (peer != NULL && !spool_node_name_ok(peer))
		return spool_fail(err, SPOOL_ERR_USAGE,
		    "'%s' is not a valid node name ([a-z0-9]{1,32})", peer);
	if ((r = spool_mkdirs(root, 0755, err)) != SPOOL_OK)
		return r;
	if (snprintf(path, sizeof(path), "%s/spoold.conf", root) >=
	    (int)sizeof(path))
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	if (access(path, F_OK) == 0)
		return spool_fail(err, SPOOL_ERR_EXISTS,
		    "'%s' is already initialised", root);
	if ((f = open_memstream(&text, &len)) == NULL)
		return spool_fail_sys(err, "open_memstream");
	r = spool_config_write_new(f, name, peer);
	if (fclose(f) != 0 && r == SPOOL_OK)
		r = spool_fail_sys(err, "cannot write configuration");
	if (r == SPOOL_OK)
		r = spool_write_file_atomic(path, text, len, 0644, err);
	free(text);
	if (r != SPOOL_OK)
		return r;
	if ((r = spool_node_open(&n, path, NULL, err)) != SPOOL_OK)
		return r;
	if ((r = make_layout(n, err)) != SPOOL_OK)
		goto out;
	if ((r = spool_keypair_generate(&pub, &sec, err)) != SPOOL_OK)
		goto out;
	spool_node_path(n, path, sizeof(path), "keys/node.key");
	if ((r = spool_seckey_write(path, &sec, err)) != SPOOL_OK)
		goto out;
	spool_node_path(n, path, sizeof(path), "keys/node.pub");
	if ((r = spool_pubkey_write(path, &pub, err)) != SPOOL_OK)
		goto out;
	spool_node_path(n, path, sizeof(path), "keys");
	r = spool_fsync_dir(path, err);
out:
	spool_seckey_wipe(&sec);
	spool_node_free(n);
	return r;
}

int
spool_node_open(struct spool_node **out, const char *config_path,
    struct spool_diag *diag, spool_err *err)
{
	struct spool_node *n;
	int r;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	if ((r = spool_config_load(&n->cfg, config_path, diag, err)) !=
	    SPOOL_OK) {
		free(n);
		return r;
	}
	n->root = n->cfg->root;
	*out = n;
	return SPOOL_OK;
}

void
spool_node_free(struct spool_node *n)
{
	if (n == NULL)
		return;
	spool_config_free(n->cfg);
	free(n);
}

int
spool_node_seckey(const struct spool_node *n, struct spool_seckey *out,
    spool_err *err)
{
	char path[PATH_MAX];

	if (spool_node_path(n, path, sizeof(path), "keys/node.key") != 0)
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	return spool_seckey_read(path, out, err);
}

int
spool_node_pubkey(const struct spool_node *n, struct spool_pubkey *out,
    spool_err *err)
{
	char path[PATH_MAX];

	if (spool_node_path(n, path, sizeof(path), "keys/node.pub") != 0)
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	return spool_pubkey_read(path, out, err);
}

int
spool_node_trust_add(const struct spool_node *n, const char *name,
    const char *pubfile, spool_err *err)
{
	struct spool_pubkey key, own;
	int r;

	if (strcmp(name, n->cfg->name) == 0)
		return spool_fail(err, SPOOL_ERR_USAGE, "'%s' is this node's own "
		    "name; a peer has another", name);
	if ((r = spool_pubkey_read(pubfile, &key, err)) != SPOOL_OK)
		return r;
	if ((r = spool_node_pubkey(n, &own, err)) != SPOOL_OK)
		return r;
	if (memcmp(key.pk, own.pk, sizeof(key.pk)) == 0 ||
	    memcmp(key.id, own.id, sizeof(key.id)) == 0)
		return spool_fail(err, SPOOL_ERR_EXISTS, "'%s' is this node's "
		    "own public key (keys/node.pub), not a peer's", pubfile);
	return spool_trust_add(n->root, name, pubfile, err);
}

void
spool_node_batch_check(const struct spool_node *n,
    struct spool_batch_check *chk, char tmpdir[PATH_MAX])
{
	memset(chk, 0, sizeof(*chk));
	spool_node_path(n, tmpdir, PATH_MAX, "store/tmp");
	chk->self = n->cfg->name;
	chk->root = n->root;
	chk->tmpdir = tmpdir;
	chk->max_tar = n->cfg->max_bytes;
}

void
spool_owner_name(unsigned uid, char *out, size_t outsz)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL &&
	    strlen(res->pw_name) <= 64)
		snprintf(out, outsz, "%s", res->pw_name);
	else
		snprintf(out, outsz, "uid%u", (unsigned)uid);
}

/* Threads for hashing: one per CPU, at most 4. */
static int
online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 4 ? 4 : (int)n;
}

/* One input of an offline pack, hashed before anything is written. */
struct pack_input {
	const char *path;
	char id[SPOOL_UUID_LEN + 1]; /* the request's */
	char user[80];
	uint8_t hash[SPOOL_HASH_LEN];
	uint64_t size;
	uid_t uid;
	int r;
	spool_err err;
	char *line; /* its manifest line */
};

static void
hash_input(struct pack_input *in)
{
	struct stat st;
	int fd;

	if (!spool_item_name_ok(spool_basename(in->path))) {
		in->r = spool_fail(&in->err, SPOOL_ERR_USAGE,
		    "cannot pack '%s': its name is not a valid file name "
		    "(UTF-8, no control characters)", in->path);
		return;
	}
	if ((in->r = spool_open_regular(in->path, &fd, &st, &in->err)) !=
	    SPOOL_OK) {
		/* an operator's argument, not a hostile input: exit 1 */
		spool_err_prefix(&in->err, "cannot pack");
		in->r = SPOOL_ERR_SYS;
		return;
	}
	in->uid = st.st_uid;
	in->r = spool_hash_fd(fd, in->hash, &in->size, &in->err);
	close(fd);
}

struct hash_pool {
	struct pack_input *v;
	size_t n, next;
	pthread_mutex_t mu;
};

static void *
hash_worker(void *arg)
{
	struct hash_pool *pool = arg;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&pool->mu);
		i = pool->next++;
		pthread_mutex_unlock(&pool->mu);
		if (i >= pool->n)
			return NULL;
		hash_input(&pool->v[i]);
	}
}

/* Hash every input on all CPUs (BLAKE2b is the slow part of packing). */
static int
hash_inputs(struct pack_input *v, size_t n, spool_err *err)
{
	struct hash_pool pool = { v, n, 0, PTHREAD_MUTEX_INITIALIZER };
	pthread_t th[4];
	size_t i, nth = 0, want = (size_t)online_cpus() - 1;

	while (nth < want && nth + 1 < n &&
	    spool_thread_start(&th[nth], hash_worker, &pool) == 0)
		nth++;
	hash_worker(&pool);
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < n; i++)
		if (v[i].r != SPOOL_OK) {
			if (err != NULL)
				*err = v[i].err;
			return v[i].r;
		}
	return SPOOL_OK;
}

/* Describe one hashed input as a transfer request. */
static int
pack_item(struct spool_batch_writer *w, struct pack_input *in,
    time_t now, spool_err *err)
{
	char hex[SPOOL_HASH_HEXLEN + 1];
	char created[SPOOL_TIME_LEN + 1];
	const char *name = spool_basename(in->path);
	json_t *item;
	int r;

	spool_hex(hex, in->hash, SPOOL_HASH_LEN);
	spool_time_format(created, now);
	item = spool_manifest_request(&(struct spool_request_line){ .id =
	    in->id, .type = "transfer", .name = name, .user = in->user,
	    .priority = 0, .created = created, .size = in->size, .blob = hex });
	if (item == NULL)
		return spool_fail(err, SPOOL_ERR_USAGE,
		    "cannot describe '%s'", in->path);
	if ((in->line = json_dumps(item, JSON_COMPACT)) == NULL) {
		json_decref(item);
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	}
	if ((r = spool_batch_add_item(w, item, err)) != SPOOL_OK)
		return r;
	return spool_batch_add_blob(w, in->hash, in->size, in->path, 0, err);
}

/* What a pack did, in the store, in one transaction: a request per file
 * (received, then batched) with its lineage, and the batch written. */
struct pack_record {
	const struct pack_input *in;
	size_t n;
	const char *peer, *batch_id, *name;
	const struct spool_batch_facts *facts;
	int64_t now;
};

static int
record_pack(struct spool_store *st, void *arg, spool_err *err)
{
	struct pack_record *p = arg;
	char bref[SPOOL_REF_MAX];
	size_t i;
	int r;

	snprintf(bref, sizeof(bref), "batch:%s", p->batch_id);
	if ((r = spool_store_batch_written(st, p->batch_id, p->name,
	    p->facts->items, p->facts->bytes, p->facts->tar, err)) !=
	    SPOOL_OK ||
	    (r = spool_lineage_entity(st, bref, p->name, NULL, -1, err)) !=
	    SPOOL_OK)
		return r;
	for (i = 0; i < p->n; i++) {
		const struct pack_input *in = &p->in[i];
		char hex[SPOOL_HASH_HEXLEN + 1];
		char rref[SPOOL_REF_MAX];
		const char *name = spool_basename(in->path);
		struct spool_request q = { .type = "transfer", .user = in->user,
			.name = name, .peer = p->peer, .size = (int64_t)in->size,
			.hash = hex, .created = p->now };

		spool_hex(hex, in->hash, SPOOL_HASH_LEN);
		snprintf(rref, sizeof(rref), "request:%s", in->id);
		memcpy(q.id, in->id, sizeof(in->id));
		if ((r = spool_store_request_received(st, &q, err)) !=
		    SPOOL_OK ||
		    (r = spool_store_request_set_state(st, in->id, "batched",
		    p->name, err)) != SPOOL_OK)
			return r;
		if ((r = spool_lineage_link(st, "batched", p->now, in->user,
		    p->batch_id, (const char *[]){ rref }, 1,
		    (const char *[]){ bref }, 1, err)) != SPOOL_OK)
			return r;
		/* its line, as carried by this batch (export, acks) */
		if ((r = spool_store_outbox_add(st, &(struct spool_outbox_item){
		    .peer = p->peer, .kind = "request", .request = in->id,
		    .created = p->now, .ord = (int)i, .size = in->size,
		    .item = in->line, .batch = p->batch_id }, err)) !=
		    SPOOL_OK)
			return r;
	}
	return SPOOL_OK;
}

int
spool_node_archive_sent(const struct spool_node *n, const char *written,
    const char *name, spool_err *err)
{
	char dst[PATH_MAX], src[PATH_MAX + 8], dsig[PATH_MAX + 8];
	int r;

	if (spool_node_path(n, dst, sizeof(dst), "archive/sent") != 0 ||
	    strlen(dst) + strlen(name) + 10 >= sizeof(dst))
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	strcat(dst, "/");
	strcat(dst, name);
	snprintf(dsig, sizeof(dsig), "%s.minisig", dst);
	snprintf(src, sizeof(src), "%s.minisig", written);
	/* Batches are born read-only and never change; the archive keeps
	 * the same bytes without writing them again (a reflink or a hard
	 * link: a full copy would double the disk writes of every pack).
	 * Resend must verify an archived batch before offering it again. */
	/* a .batch archived already (a step redone after a crash) still
	 * needs its .minisig */
	if ((r = spool_keep_file(written, dst, err)) != SPOOL_OK &&
	    r != SPOOL_ERR_EXISTS)
		return r;
	if ((r = spool_keep_file(src, dsig, err)) == SPOOL_ERR_EXISTS)
		r = SPOOL_OK;
	return r;
}

/* The output can be created: its name is free, its directory writable. */
static int
can_write(const char *out_path, spool_err *err)
{
	char dir[PATH_MAX];
	struct stat st;

	if (spool_dirname(dir, sizeof(dir), out_path ? out_path : "x") != 0)
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	if (out_path != NULL && lstat(out_path, &st) == 0)
		return spool_fail(err, SPOOL_ERR_EXISTS, "'%s' already exists",
		    out_path);
	if (access(dir, W_OK | X_OK) != 0)
		return spool_fail_sys(err, "cannot write in '%s'", dir);
	return SPOOL_OK;
}

/* An output named like a batch (FROM-TO-SEQ.batch) must be the batch
 * it names: this node to peer (checked here), and the seq it takes
 * (*want, checked when the seq is taken).  Any other name is free. */
static int
named_seq(const struct spool_node *n, const char *peer, const char *out_path,
    uint64_t *want, spool_err *err)
{
	char stem[96], from[SPOOL_NAME_MAX + 1], to[SPOOL_NAME_MAX + 1];
	const char *base;
	size_t len;

	*want = 0;
	if (out_path == NULL)
		return SPOOL_OK; /* named by its seq */
	base = spool_basename(out_path);
	len = strlen(base);
	if (len <= 6 || len - 6 >= sizeof(stem) ||
	    strcmp(base + len - 6, ".batch") != 0)
		return SPOOL_OK;
	memcpy(stem, base, len - 6);
	stem[len - 6] = '\0';
	if (!spool_batch_stem_parse(stem, from, to, want))
		return SPOOL_OK;
	if (strcmp(from, n->cfg->name) != 0 || strcmp(to, peer) != 0)
		return spool_fail(err, SPOOL_ERR_USAGE, "'%s' names a batch "
		    "from '%s' to '%s', but this one goes from '%s' to '%s' "
		    "(a peer would refuse it; nothing was taken)", out_path,
		    from, to, n->cfg->name, peer);
	return SPOOL_OK;
}

static int
named_wrong(const struct spool_node *n, const char *peer,
    const char *out_path, uint64_t want, struct spool_store *st,
    spool_err *err)
{
	char right[128];
	uint64_t next = 0;
	int r;

	if ((r = spool_store_peer_next_seq(st, peer, &next, err)) != SPOOL_OK)
		return r;
	spool_batch_name(right, sizeof(right), n->cfg->name, peer, next);
	return spool_fail(err, SPOOL_ERR_USAGE, "'%s' names seq %" PRIu64
	    ", but the next seq to '%s' is %" PRIu64 ": name it '%s', or "
	    "leave out -o (a peer would refuse a batch whose name and seq "
	    "disagree; nothing was taken)", out_path, want, peer, next, right);
}

int
spool_node_pack(const struct spool_node *n, const char *peer,
    char *const files[], size_t nfiles, const char *out_path,
    char written[PATH_MAX], struct spool_batch_facts *facts, spool_err *err)
{
	struct spool_batch_writer *w = NULL;
	struct spool_store *st = NULL;
	struct spool_batch_spec spec;
	struct spool_seckey sk;
	struct spool_pubkey pk;
	struct pack_input *in = NULL;
	struct pack_record rec;
	char name[128], bid[SPOOL_UUID_LEN + 1];
	time_t now = time(NULL);
	uint64_t want = 0;
	int planned = 0;
	size_t i;
	int r;

	memset(&sk, 0, sizeof(sk));
	if ((r = spool_trust_get(n->root, peer, &pk, err)) != SPOOL_OK)
		return r == SPOOL_ERR_NOTFOUND ? spool_fail(err, SPOOL_ERR_USAGE,
		    "peer '%s' is not trusted (spoolctl trust add %s KEYFILE)",
		    peer, peer) : r;
	{
		const struct spool_conf_peer *p = spool_config_peer(n->cfg, peer);

		if (p != NULL && p->direction == SPOOL_DIR_RECEIVE_ONLY)
			return spool_fail(err, SPOOL_ERR_USAGE, "peer '%s' is "
			    "receive-only ([peer %s] direction): this node "
			    "never sends to it", peer, peer);
	}
	if ((r = spool_node_seckey(n, &sk, err)) != SPOOL_OK)
		return r;
	memset(&spec, 0, sizeof(spec));
	spec.from = n->cfg->name;
	spec.to = peer;
	spec.zstd_level = n->cfg->zstd_level;
	spec.created = now;
	spool_uuid7(bid);
	spec.id = bid;
	if ((r = spool_store_open_config(&st, n->cfg, err)) != SPOOL_OK ||
	    (r = spool_batch_writer_new(&w, &spec, err)) != SPOOL_OK)
		goto out;
	if ((in = calloc(nfiles ? nfiles : 1, sizeof(*in))) == NULL) {
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < nfiles; i++) {
		in[i].path = files[i];
		spool_uuid7(in[i].id);
	}
	if ((r = hash_inputs(in, nfiles, err)) != SPOOL_OK)
		goto out;
	for (i = 0; i < nfiles; i++)
		spool_owner_name(in[i].uid, in[i].user, sizeof(in[i].user));
	for (i = 0; i < nfiles; i++)
		if ((r = pack_item(w, &in[i], now, err)) != SPOOL_OK)
			goto out;
	/* What would fail after the seq is taken is checked first: a spent
	 * seq is a gap at the receiver forever. */
	if ((r = can_write(out_path, err)) != SPOOL_OK ||
	    (r = named_seq(n, peer, out_path, &want, err)) != SPOOL_OK)
		goto out;
	/* Everything is readable: only now take the seq, durably, with a
	 * batch row that will say what became of it (an output named as a
	 * batch: only the seq its name says, or none) */
	if ((r = spool_store_batch_plan_seq(st, peer, bid, want, &spec.seq,
	    err)) != SPOOL_OK) {
		if (r == SPOOL_ERR_STATE)
			r = named_wrong(n, peer, out_path, want, st, err);
		goto out;
	}
	planned = 1;
	if ((r = spool_batch_set_seq(w, spec.seq, err)) != SPOOL_OK)
		goto out;
	spool_batch_name(name, sizeof(name), spec.from, peer, spec.seq);
	snprintf(written, PATH_MAX, "%s", out_path ? out_path : name);
	if ((r = spool_batch_write(w, written, &sk, facts, err)) != SPOOL_OK)
		goto out;
	if ((r = spool_node_archive_sent(n, written, name, err)) != SPOOL_OK)
		goto out;
	rec.in = in;
	rec.n = nfiles;
	rec.peer = peer;
	rec.batch_id = bid;
	rec.name = name;
	rec.facts = facts;
	rec.now = (int64_t)now * 1000;
	planned = 0;
	r = spool_store_atomic(st, record_pack, &rec, err);
out:
	if (planned) {
		/* the seq is spent: say why, so the gap is explained */
		spool_err why;
		spool_err_clear(&why);
		spool_store_batch_set_state(st, bid, "abandoned",
		    err ? err->msg : "pack failed", &why);
	}
	spool_store_close(st);
	for (i = 0; in != NULL && i < nfiles; i++)
		free(in[i].line);
	free(in);
	spool_seckey_wipe(&sk);
	spool_batch_writer_free(w);
	return r;
}
