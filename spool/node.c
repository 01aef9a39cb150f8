/*
 * node.c - node layout, keys, sequence counters and offline packing.
 *
 * The sequence counter is a file per peer under store/seq/, updated under
 * an flock and made durable before the number is used: a seq is never
 * handed out twice, even across crashes (a crash may skip one).
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

#include "fsutil.h"
#include "hash.h"
#include "node.h"
#include "trust.h"
#include "util.h"

static const char *const layout[] = {
	"keys", "keys/trusted", "in", "out", "import", "results", "delivered",
	"status", "rejected", "quarantine", "archive", "archive/sent",
	"archive/received", "store", "store/blobs", "store/tmp", "store/work",
	"store/seq", NULL
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
spool_node_next_seq(const struct spool_node *n, const char *peer,
    uint64_t *seq, spool_err *err)
{
	char dir[PATH_MAX], lock[PATH_MAX], path[PATH_MAX], buf[32];
	char *text = NULL;
	uint64_t cur = 0;
	size_t len;
	int fd, r, w;

	if (!spool_node_name_ok(peer))
		return spool_fail(err, SPOOL_ERR_USAGE, "bad peer name '%s'",
		    peer);
	if (spool_node_path(n, dir, sizeof(dir), "store/seq") != 0 ||
	    snprintf(lock, sizeof(lock), "%s/.lock", dir) >= (int)sizeof(lock) ||
	    snprintf(path, sizeof(path), "%s/%s", dir, peer) >=
	    (int)sizeof(path))
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	if ((r = spool_mkdirs(dir, 0700, err)) != SPOOL_OK)
		return r;
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return spool_fail_sys(err, "cannot open '%s'", lock);
	if (flock(fd, LOCK_EX) != 0) {
		r = spool_fail_sys(err, "cannot lock '%s'", lock);
		goto out;
	}
	r = spool_read_file(path, 64, &text, &len, err);
	if (r == SPOOL_OK) {
		char *end;

		errno = 0;
		cur = strtoull(text, &end, 10);
		if (errno != 0 || end == text || (*end != '\n' && *end != '\0')) {
			/* a broken node, not a bad input: exit 1, not 3 */
			r = spool_fail(err, SPOOL_ERR_STORE,
			    "sequence counter '%s' is corrupt", path);
			goto out;
		}
	} else if (r != SPOOL_ERR_NOTFOUND)
		goto out;
	if (cur >= SPOOL_SEQ_MAX) {
		r = spool_fail(err, SPOOL_ERR_LIMIT,
		    "sequence numbers for '%s' are exhausted", peer);
		goto out;
	}
	w = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", cur + 1);
	{
		struct spool_tmpfile t;

		if ((r = spool_tmpfile_open(&t, dir, peer, 0600, err)) !=
		    SPOOL_OK)
			goto out;
		if ((r = spool_write_all(t.fd, buf, (size_t)w, err)) != SPOOL_OK ||
		    fsync(t.fd) != 0) {
			r = r ? r : spool_fail_sys(err, "fsync");
			spool_tmpfile_discard(&t);
			goto out;
		}
		close(t.fd);
		t.fd = -1;
		/* the counter is the one file here that is meant to be
		 * replaced */
		if (rename(t.path, path) != 0) {
			r = spool_fail_sys(err, "cannot update '%s'", path);
			spool_tmpfile_discard(&t);
			goto out;
		}
	}
	if ((r = spool_fsync_dir(dir, err)) != SPOOL_OK)
		goto out;
	*seq = cur + 1;
	r = SPOOL_OK;
out:
	free(text);
	close(fd);
	return r;
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

static void
owner_name(uid_t uid, char *out, size_t outsz)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL &&
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
	uint8_t hash[SPOOL_HASH_LEN];
	uint64_t size;
	uid_t uid;
	int r;
	spool_err err;
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
	    pthread_create(&th[nth], NULL, hash_worker, &pool) == 0)
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
pack_item(struct spool_batch_writer *w, const struct pack_input *in,
    time_t now, spool_err *err)
{
	char hex[SPOOL_HASH_HEXLEN + 1], id[SPOOL_UUID_LEN + 1];
	char created[SPOOL_TIME_LEN + 1], user[80];
	const char *name = spool_basename(in->path);
	json_t *item;
	int r;

	spool_hex(hex, in->hash, SPOOL_HASH_LEN);
	spool_uuid7(id);
	spool_time_format(created, now);
	owner_name(in->uid, user, sizeof(user));
	item = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:[{s:s, s:I, "
	    "s:s}]}", "kind", "request", "id", id, "type", "transfer", "name",
	    name, "user", user, "priority", 0, "created", created, "files",
	    "name", name, "size", (json_int_t)in->size, "blob", hex);
	if (item == NULL)
		return spool_fail(err, SPOOL_ERR_USAGE,
		    "cannot describe '%s'", in->path);
	if ((r = spool_batch_add_item(w, item, err)) != SPOOL_OK)
		return r;
	return spool_batch_add_blob(w, in->hash, in->size, in->path, 0, err);
}

static int
archive_sent(const struct spool_node *n, const char *written,
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
	if ((r = spool_keep_file(written, dst, err)) != SPOOL_OK)
		return r;
	return spool_keep_file(src, dsig, err);
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

int
spool_node_pack(const struct spool_node *n, const char *peer,
    char *const files[], size_t nfiles, const char *out_path,
    char written[PATH_MAX], struct spool_batch_facts *facts, spool_err *err)
{
	struct spool_batch_writer *w = NULL;
	struct spool_batch_spec spec;
	struct spool_seckey sk;
	struct spool_pubkey pk;
	struct pack_input *in = NULL;
	char name[128];
	time_t now = time(NULL);
	size_t i;
	int r;

	memset(&sk, 0, sizeof(sk));
	if ((r = spool_trust_get(n->root, peer, &pk, err)) != SPOOL_OK)
		return r == SPOOL_ERR_NOTFOUND ? spool_fail(err, SPOOL_ERR_USAGE,
		    "peer '%s' is not trusted (spoolctl trust add %s KEYFILE)",
		    peer, peer) : r;
	if ((r = spool_node_seckey(n, &sk, err)) != SPOOL_OK)
		return r;
	memset(&spec, 0, sizeof(spec));
	spec.from = n->cfg->name;
	spec.to = peer;
	spec.zstd_level = n->cfg->zstd_level;
	spec.created = now;
	if ((r = spool_batch_writer_new(&w, &spec, err)) != SPOOL_OK)
		goto out;
	if ((in = calloc(nfiles ? nfiles : 1, sizeof(*in))) == NULL) {
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < nfiles; i++)
		in[i].path = files[i];
	if ((r = hash_inputs(in, nfiles, err)) != SPOOL_OK)
		goto out;
	for (i = 0; i < nfiles; i++)
		if ((r = pack_item(w, &in[i], now, err)) != SPOOL_OK)
			goto out;
	/* What would fail after the seq is taken is checked first: a spent
	 * seq is a gap at the receiver forever. */
	if ((r = can_write(out_path, err)) != SPOOL_OK)
		goto out;
	/* Everything is readable: only now take the seq, durably. */
	if ((r = spool_node_next_seq(n, peer, &spec.seq, err)) != SPOOL_OK ||
	    (r = spool_batch_set_seq(w, spec.seq, err)) != SPOOL_OK)
		goto out;
	spool_batch_name(name, sizeof(name), spec.from, peer, spec.seq);
	snprintf(written, PATH_MAX, "%s", out_path ? out_path : name);
	if ((r = spool_batch_write(w, written, &sk, facts, err)) != SPOOL_OK)
		goto out;
	r = archive_sent(n, written, name, err);
out:
	free(in);
	spool_seckey_wipe(&sk);
	spool_batch_writer_free(w);
	return r;
}
