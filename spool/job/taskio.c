/*
 * taskio.c - the spoold side of the worker protocol (taskio.h).
 *
 * Everything a worker wrote is untrusted: its answer line is a claim,
 * its out/ files may be links, FIFOs, huge or missing.  Outputs are
 * opened relative to out/ without following links, must be regular
 * files with one link, at most max_output bytes, and become blobs by
 * copy (hashed on the way), never by rename of the worker's inode.
 *
 * Over 800 lines and kept whole: the task line out and the answer back
 * (with every output's checks) are one exchange with one worker.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool/base/fsutil.h"
#include "spool/base/util.h"
#include "spool/job/plan.h"
#include "spool/job/taskio.h"
#include "spool/store/blobref.h"
#include "spool/store/blobstore.h"
#include "spool/store/lineage.h"
#include "spool/store/list.h"
#include "spool/store/request.h"

#define OUTPUTS_MAX 10000
#define DEPTH_MAX 32

/* ---- the area ---------------------------------------------------------- */

/* Remove everything below dirfd (not dirfd itself), links as links. */
static int
empty_dir(int dirfd, int depth)
{
	struct dirent *e;
	DIR *dp;
	int fd, r = 0;

	if (depth > DEPTH_MAX)
		return -1;
	if ((fd = dup(dirfd)) < 0)
		return -1;
	if ((dp = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((e = readdir(dp)) != NULL) {
		int sub;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd, e->d_name, 0) == 0)
			continue;
		if (errno != EISDIR && errno != EPERM) {
			r = -1;
			continue;
		}
		sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0) {
			r = -1;
			continue;
		}
		/* a directory the worker made read-only is ours to open */
		fchmod(sub, 0700);
		if (empty_dir(sub, depth + 1) != 0)
			r = -1;
		close(sub);
		if (unlinkat(dirfd, e->d_name, AT_REMOVEDIR) != 0)
			r = -1;
	}
	closedir(dp);
	return r;
}

static int
reset_sub(int afd, const char *area, const char *name, mode_t mode,
    uid_t uid, gid_t gid, spool_err *err)
{
	int fd;

	if (mkdirat(afd, name, mode) != 0 && errno != EEXIST)
		return spool_fail_sys(err, "cannot make '%s/%s'", area, name);
	fd = openat(afd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return spool_fail_sys(err, "cannot open '%s/%s'", area, name);
	if (fchown(fd, uid, gid) != 0 && geteuid() == 0) {
		close(fd);
		return spool_fail_sys(err, "cannot chown '%s/%s'", area, name);
	}
	if (fchmod(fd, mode) != 0 || empty_dir(fd, 0) != 0) {
		close(fd);
		return spool_fail(err, SPOOL_ERR_SYS, "cannot empty '%s/%s'",
		    area, name);
	}
	close(fd);
	return SPOOL_OK;
}

int
spool_area_reset(const struct spool_area *a, spool_err *err)
{
	int afd, r;

	if ((r = spool_mkdirs(a->path, 0755, err)) != SPOOL_OK)
		return r;
	afd = open(a->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (afd < 0)
		return spool_fail_sys(err, "cannot open '%s'", a->path);
	/* in/ is spoold's (the worker reads it); out/ and tmp/ the worker's */
	if ((r = reset_sub(afd, a->path, "in", 0755, geteuid(), getegid(),
	    err)) == SPOOL_OK &&
	    (r = reset_sub(afd, a->path, "out", 0700, a->uid, a->gid, err)) ==
	    SPOOL_OK)
		r = reset_sub(afd, a->path, "tmp", 0700, a->uid, a->gid, err);
	close(afd);
	return r;
}

/* Put blob hex as in/name: a link when the worker may read the blob
 * through it (its group made able to, see DECISIONS "Workers"), else a
 * copy. */
static int
place_input(const char *root, const struct spool_area *a, const char *name,
    const char *hex, spool_err *err)
{
	char src[PATH_MAX], dst[PATH_MAX + NAME_MAX + 8];
	int fd;

	if (spool_blob_path(root, hex, src) != 0 ||
	    (size_t)snprintf(dst, sizeof(dst), "%s/in/%s", a->path, name) >=
	    sizeof(dst))
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	if (a->link_inputs && link(src, dst) == 0) {
		if (a->uid == geteuid())
			return SPOOL_OK;
		/* another uid reads it by group; the blob's directories
		 * stay 0700, so the link is the only way to it */
		if ((fd = open(dst, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
			int ok = fchown(fd, (uid_t)-1, a->gid) == 0 &&
			    fchmod(fd, 0640) == 0;

			close(fd);
			if (ok)
				return SPOOL_OK;
		}
		unlink(dst);
	} else if (errno == EEXIST)
		return SPOOL_OK; /* the same name twice: the first stays */
	if (spool_copy_file(src, dst, err) != SPOOL_OK)
		return err ? err->code : SPOOL_ERR_SYS;
	if (chmod(dst, 0444) != 0)
		return spool_fail_sys(err, "cannot chmod '%s'", dst);
	return SPOOL_OK;
}

/* ---- the task line ----------------------------------------------------- */

struct earlier {
	const char *root;
	const struct spool_area *a;
	const struct spool_task *t;
	json_t *inputs;
	int count;       /* tasks in t's stage */
	spool_err *err;
	int r;
};

/* task columns: id job stage idx type state priority created run_at
 * attempt max_attempts lease_owner lease_until input result error started
 * finished */
static int
earlier_row(void *arg, const struct spool_store_row *row)
{
	struct earlier *e = arg;
	int stage = atoi(row->col[2]);
	json_t *res, *outs, *o;
	size_t i;

	if (stage == e->t->stage) {
		e->count++;
		return 0;
	}
	if (stage > e->t->stage || row->col[14] == NULL)
		return 0;
	if ((res = json_loads(row->col[14], 0, NULL)) == NULL)
		return 0;
	outs = json_object_get(res, "outputs");
	json_array_foreach(outs, i, o) {
		const char *name = json_string_value(json_object_get(o, "name"));
		const char *blob = json_string_value(json_object_get(o, "blob"));
		char path[NAME_MAX + 8];

		if (name == NULL || blob == NULL || !spool_item_name_ok(name))
			continue;
		if ((e->r = place_input(e->root, e->a, name, blob, e->err)) !=
		    SPOOL_OK)
			break;
		snprintf(path, sizeof(path), "in/%s", name);
		json_array_append_new(e->inputs, json_pack("{s:s, s:s, s:O, "
		    "s:s, s:s}", "name", name, "path", path, "size",
		    json_object_get(o, "size"), "hash", blob, "stage",
		    row->col[2]));
	}
	json_decref(res);
	return e->r != SPOOL_OK;
}

struct stage_name {
	int idx;
	char name[64];
};

static int
stage_row(void *arg, const struct spool_store_row *row)
{
	struct stage_name *s = arg;

	/* idx name state total done */
	if (atoi(row->col[0]) == s->idx)
		snprintf(s->name, sizeof(s->name), "%s", row->col[1]);
	return 0;
}

int
spool_task_line(struct spool_store *st, const char *root,
    const struct spool_task *t, const char *kind, const struct spool_area *a,
    const json_t *config, const struct spool_task_limits *lim, char **line,
    spool_err *err)
{
	struct spool_request_info ri;
	struct stage_name sn;
	struct earlier e;
	json_t *in = NULL, *task = NULL, *inputs = NULL, *params = NULL;
	const char *req;
	char *ptext = NULL, path[NAME_MAX + 8];
	int r;

	in = t->input ? json_loads(t->input, 0, NULL) : NULL;
	req = json_string_value(json_object_get(in, "request"));
	if (req == NULL) {
		r = spool_fail(err, SPOOL_ERR_INTERNAL, "task %s has no request",
		    t->id);
		goto out;
	}
	if ((r = spool_store_request_info(st, req, &ri, err)) != SPOOL_OK)
		goto out;
	if ((r = spool_store_request_params(st, req, &ptext, err)) !=
	    SPOOL_OK)
		goto out;
	params = ptext ? json_loads(ptext, 0, NULL) : NULL;
	if (!json_is_object(params)) {
		json_decref(params);
		params = json_object();
	}
	if ((inputs = json_array()) == NULL) {
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	if (ri.hash[0] != '\0') {
		if (!spool_item_name_ok(ri.name)) {
			r = spool_fail(err, SPOOL_ERR_INTERNAL, "request %s has "
			    "a bad name", req);
			goto out;
		}
		if ((r = place_input(root, a, ri.name, ri.hash, err)) !=
		    SPOOL_OK)
			goto out;
		snprintf(path, sizeof(path), "in/%s", ri.name);
		json_array_append_new(inputs, json_pack("{s:s, s:s, s:I, s:s}",
		    "name", ri.name, "path", path, "size", (json_int_t)ri.size,
		    "hash", ri.hash));
	}
	memset(&e, 0, sizeof(e));
	e.root = root;
	e.a = a;
	e.t = t;
	e.inputs = inputs;
	e.err = err;
	if ((r = spool_store_job_tasks(st, t->job, earlier_row, &e, err)) < 0)
		goto out;
	if ((r = e.r) != SPOOL_OK)
		goto out;
	memset(&sn, 0, sizeof(sn));
	sn.idx = t->stage;
	if ((r = spool_store_job_stages(st, t->job, stage_row, &sn, err)) < 0)
		goto out;
	task = json_pack("{s:i, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, "
	    "s:s, s:O, s:O, s:o, s:{s:I, s:I, s:i, s:I}}",
	    "v", 1, "task", t->id, "job", t->job, "request", req, "kind", kind,
	    "stage", sn.name, "stage_index", t->stage, "index", t->idx,
	    "count", e.count ? e.count : 1, "attempt", t->attempt,
	    "dir", ".", "inputs", inputs, "params", params,
	    "config", config ? json_deep_copy(config) : json_object(),
	    "limits", "timeout_ms", (json_int_t)lim->timeout_ms, "memory",
	    (json_int_t)lim->memory, "threads", lim->threads, "cachemax",
	    (json_int_t)lim->cachemax);
	if (task == NULL) {
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	json_object_set(task, "plan", json_object_get(in, "plan") ?
	    json_object_get(in, "plan") : json_null());
	if ((*line = json_dumps(task, JSON_COMPACT)) == NULL) {
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	r = SPOOL_OK;
out:
	json_decref(in);
	json_decref(task);
	json_decref(inputs);
	json_decref(params);
	free(ptext);
	return r;
}

/* ---- the answer -------------------------------------------------------- */

struct output {
	char name[NAME_MAX + 1];
	struct spool_blob_tmp b;
	char oid[SPOOL_ID_MAX];
};

struct taken {
	const char *root, *req, *user;
	const struct spool_task *t;
	struct output *o;
	size_t n;
	json_t *inputs; /* the hashes the task used */
};

static int
taken_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct taken *k = arg;
	char path[PATH_MAX], tref[SPOOL_REF_MAX];
	const char **used = NULL, **gen = NULL;
	char (*refs)[SPOOL_REF_MAX] = NULL;
	size_t i, nin = json_array_size(k->inputs), nu = 0;
	json_t *v;
	int r = SPOOL_OK;

	used = calloc(nin + 1, sizeof(*used));
	gen = calloc(k->n ? k->n : 1, sizeof(*gen));
	refs = calloc(nin + k->n + 1, sizeof(*refs));
	if (used == NULL || gen == NULL || refs == NULL) {
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	snprintf(tref, sizeof(tref), "task:%s", k->t->id);
	used[nu++] = tref;
	json_array_foreach(k->inputs, i, v) {
		snprintf(refs[i], sizeof(refs[i]), "file:%s",
		    json_string_value(v));
		used[nu++] = refs[i];
	}
	for (i = 0; i < k->n; i++) {
		struct output *o = &k->o[i];
		char *ref = refs[nin + i];

		spool_blob_path(k->root, o->b.hex, path);
		snprintf(ref, SPOOL_REF_MAX, "output:%s", o->oid);
		if ((r = spool_store_blob_add(st, o->b.hex, o->b.size, path,
		    err)) != SPOOL_OK ||
		    (r = spool_store_blob_ref(st, o->b.hex, k->req, "output",
		    err)) != SPOOL_OK ||
		    (r = spool_lineage_entity(st, ref, o->name, o->b.hex,
		    (int64_t)o->b.size, err)) != SPOOL_OK)
			goto out;
		gen[i] = ref;
	}
	if (k->n > 0)
		r = spool_lineage_link(st, "derived", 0, k->user, NULL, used, nu,
		    gen, k->n, err);
out:
	free(used);
	free(gen);
	free(refs);
	return r;
}

/* Open out/<comp> of the area as a plain file of at most max bytes. */
static int
open_output(int outfd, const struct spool_area *a, const char *comp,
    uint64_t max, int *fd, struct stat *sb, char *why, size_t whylen)
{
	*fd = openat(outfd, comp, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (*fd < 0) {
		snprintf(why, whylen, "output '%s': %s", comp, strerror(errno));
		return -1;
	}
	if (fstat(*fd, sb) != 0 || !S_ISREG(sb->st_mode) || sb->st_nlink != 1) {
		snprintf(why, whylen, "output '%s' is not a plain file", comp);
		goto bad;
	}
	if ((uint64_t)sb->st_size > max) {
		snprintf(why, whylen, "output '%s' is over the %llu bytes an "
		    "output may have", comp, (unsigned long long)max);
		goto bad;
	}
	(void)a;
	return 0;
bad:
	close(*fd);
	*fd = -1;
	return -1;
}

static void
one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20)
			*s = ' ';
}

int
spool_task_failed(struct spool_store *st, const char *worker,
    const struct spool_task *t, const char *why, int permanent,
    const char **outcome, spool_err *err)
{
	int64_t retry = 0;
	int r;

	r = spool_job_fail(st, worker, t->id, why, permanent, &retry, err);
	if (r == SPOOL_ERR_LOST) {
		*outcome = "lost";
		return SPOOL_OK;
	}
	if (r == SPOOL_ERR_CANCELLED) {
		*outcome = "cancelled";
		return SPOOL_OK;
	}
	if (r == SPOOL_OK)
		*outcome = retry ? "retry" : "failed";
	return r;
}

int
spool_task_answer(struct spool_store *st, const char *root,
    const char *worker, const struct spool_task *t,
    const struct spool_area *a, const json_t *answer, uint64_t max_output,
    const char **outcome, spool_err *err)
{
	const char *status = json_string_value(json_object_get(answer,
	    "status"));
	struct spool_request_info ri;
	struct spool_task_done done;
	struct spool_task_spec *specs = NULL;
	struct spool_plan plan;
	struct output *outs = NULL;
	struct taken k;
	char why[1024], opath[PATH_MAX], sdir[PATH_MAX];
	json_t *in = NULL, *result = NULL, *rout = NULL, *next, *o, *used = NULL;
	char **inputs_text = NULL;
	const char *req;
	size_t i, n = 0, nnext = 0;
	int outfd = -1, r, from_next = 0, cnt;

	*outcome = "failed";
	memset(&k, 0, sizeof(k));
	in = t->input ? json_loads(t->input, 0, NULL) : NULL;
	req = json_string_value(json_object_get(in, "request"));
	if (req == NULL || (r = spool_store_request_info(st, req, &ri, err)) !=
	    SPOOL_OK) {
		r = spool_task_failed(st, worker, t, "task has no request", 1,
		    outcome, err);
		goto done;
	}
	if (status == NULL || strcmp(status, "succeeded") != 0) {
		const char *e = json_string_value(json_object_get(answer,
		    "error"));
		json_t *p = json_object_get(answer, "permanent");

		snprintf(why, sizeof(why), "%s", e && *e ? e :
		    "the worker failed without saying why");
		one_line(why);
		r = spool_task_failed(st, worker, t, why, p == NULL ||
		    json_is_true(p), outcome, err);
		goto done;
	}
	/* what the next stage gets, before any output is taken */
	if ((r = spool_plan_get(&plan, t->type, NULL, err)) != SPOOL_OK &&
	    strcmp(t->type, "selftest") != 0)
		goto done;
	if (strcmp(t->type, "selftest") == 0) {
		char *ptext = NULL;
		json_t *params;

		if ((r = spool_store_request_params(st, req, &ptext, err)) !=
		    SPOOL_OK)
			goto done;
		params = ptext ? json_loads(ptext, 0, NULL) : NULL;
		free(ptext);
		r = spool_plan_get(&plan, t->type, params, err);
		json_decref(params);
		if (r != SPOOL_OK)
			goto done;
	}
	next = json_object_get(answer, "next");
	if ((cnt = spool_plan_next_count(&plan, t->stage, t->idx, next,
	    &from_next)) < 0) {
		r = spool_task_failed(st, worker, t, "the worker planned tasks "
		    "this request type has no stage for", 1, outcome, err);
		goto done;
	}
	if (from_next) {
		json_array_foreach(next, i, o)
			if (!json_is_object(o)) {
				r = spool_task_failed(st, worker, t, "the "
				    "worker planned a task that is not an "
				    "object", 1, outcome, err);
				goto done;
			}
	}
	/* the outputs */
	rout = json_array();
	used = json_array();
	o = json_object_get(answer, "outputs");
	if (rout == NULL || used == NULL) {
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto done;
	}
	if (o != NULL && (!json_is_array(o) || json_array_size(o) >
	    OUTPUTS_MAX)) {
		r = spool_task_failed(st, worker, t, "the worker's outputs are "
		    "not a list of at most 10000", 1, outcome, err);
		goto done;
	}
	if ((outs = calloc(json_array_size(o) + 1, sizeof(*outs))) == NULL) {
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto done;
	}
	if ((size_t)snprintf(opath, sizeof(opath), "%s/out", a->path) >=
	    sizeof(opath)) {
		r = spool_fail(err, SPOOL_ERR_USAGE, "path too long");
		goto done;
	}
	outfd = open(opath, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (outfd < 0) {
		r = spool_fail_sys(err, "cannot open '%s'", opath);
		goto done;
	}
	for (i = 0; i < json_array_size(o); i++) {
		json_t *x = json_array_get(o, i);
		const char *name = json_string_value(json_object_get(x,
		    "name"));
		const char *p = json_string_value(json_object_get(x, "path"));
		struct output *q = &outs[n];
		struct stat sb;
		int fd;
		size_t j;

		if (name == NULL || p == NULL || strncmp(p, "out/", 4) != 0 ||
		    !spool_item_name_ok(name) || !spool_item_name_ok(p + 4)) {
			snprintf(why, sizeof(why), "the worker named an output "
			    "badly (%s)", name ? name : "no name");
			one_line(why);
			r = spool_task_failed(st, worker, t, why, 1, outcome,
			    err);
			goto done;
		}
		for (j = 0; j < n; j++)
			if (strcmp(outs[j].name, name) == 0)
				break;
		if (j < n) {
			snprintf(why, sizeof(why), "the worker named two "
			    "outputs '%s'", name);
			one_line(why);
			r = spool_task_failed(st, worker, t, why, 1, outcome,
			    err);
			goto done;
		}
		if (open_output(outfd, a, p + 4, max_output, &fd, &sb, why,
		    sizeof(why)) != 0) {
			one_line(why);
			r = spool_task_failed(st, worker, t, why, 1, outcome,
			    err);
			goto done;
		}
		snprintf(q->name, sizeof(q->name), "%s", name);
		q->b.tf.fd = -1;
		if ((r = spool_blob_open(&q->b, root, err)) != SPOOL_OK ||
		    (r = spool_blob_copy_fd(&q->b, fd, p, (uint64_t)sb.st_size,
		    err)) != SPOOL_OK ||
		    (r = spool_blob_commit(&q->b, root, NULL, err)) !=
		    SPOOL_OK) {
			close(fd);
			spool_blob_discard(&q->b);
			goto done;
		}
		close(fd);
		spool_uuid7(q->oid);
		n++;
		x = json_pack("{s:s, s:s, s:I, s:s}", "name", name, "blob",
		    q->b.hex, "size", (json_int_t)q->b.size, "output", q->oid);
		if (x == NULL) {
			r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
			goto done;
		}
		if (json_is_string(json_object_get(json_array_get(o, i),
		    "role")))
			json_object_set(x, "role", json_object_get(
			    json_array_get(o, i), "role"));
		if (json_is_string(json_object_get(json_array_get(o, i),
		    "type")))
			json_object_set(x, "type", json_object_get(
			    json_array_get(o, i), "type"));
		if (json_is_true(json_object_get(json_array_get(o, i),
		    "internal")))
			json_object_set_new(x, "internal", json_true());
		json_array_append_new(rout, x);
	}
	/* durable before the store says they exist */
	snprintf(sdir, sizeof(sdir), "%s/store", root);
	if (n > 0) {
		int sfd = open(sdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (sfd < 0 || syncfs(sfd) != 0) {
			r = spool_fail_sys(err, "cannot sync '%s'", sdir);
			if (sfd >= 0)
				close(sfd);
			goto done;
		}
		close(sfd);
	}
	if (ri.hash[0] != '\0')
		json_array_append_new(used, json_string(ri.hash));
	k.root = root;
	k.req = req;
	k.user = ri.user;
	k.t = t;
	k.o = outs;
	k.n = n;
	k.inputs = used;
	if ((r = spool_store_atomic(st, taken_tx, &k, err)) != SPOOL_OK)
		goto done;

	result = json_pack("{s:O}", "outputs", rout);
	if (result == NULL) {
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto done;
	}
	if (json_is_object(json_object_get(answer, "summary")))
		json_object_set_new(result, "summary", json_deep_copy(
		    json_object_get(answer, "summary")));
	/* a query says whether the cache answered it: here the source did */
	if (strcmp(t->type, "query") == 0) {
		if (json_object_get(result, "summary") == NULL)
			json_object_set_new(result, "summary", json_object());
		json_object_set_new(json_object_get(result, "summary"),
		    "cache_hit", json_false());
	}
	if (json_is_object(json_object_get(answer, "metrics")))
		json_object_set(result, "metrics", json_object_get(answer,
		    "metrics"));
	nnext = (size_t)cnt;
	if (nnext > 0) {
		specs = calloc(nnext, sizeof(*specs));
		inputs_text = calloc(nnext, sizeof(*inputs_text));
		if (specs == NULL || inputs_text == NULL) {
			r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
			goto done;
		}
		for (i = 0; i < nnext; i++) {
			json_t *ti = json_pack("{s:s}", "request", req);

			if (ti != NULL && from_next)
				json_object_set(ti, "plan", json_array_get(next,
				    i));
			inputs_text[i] = ti ? json_dumps(ti, JSON_COMPACT) :
			    NULL;
			json_decref(ti);
			if (inputs_text[i] == NULL) {
				r = spool_fail(err, SPOOL_ERR_NOMEM,
				    "out of memory");
				goto done;
			}
			specs[i].input = inputs_text[i];
		}
	}
	memset(&done, 0, sizeof(done));
	done.task = t->id;
	if ((done.result = json_dumps(result, JSON_COMPACT)) == NULL) {
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto done;
	}
	done.next = specs;
	done.nnext = nnext;
	r = spool_job_complete(st, worker, &done, 1, err);
	free((char *)done.result);
	if (r == SPOOL_OK)
		*outcome = done.status == SPOOL_OK ? "succeeded" :
		    done.status == SPOOL_ERR_CANCELLED ? "cancelled" : "lost";
done:
	if (outfd >= 0)
		close(outfd);
	for (i = 0; outs != NULL && i < n; i++)
		spool_blob_discard(&outs[i].b);
	free(outs);
	for (i = 0; inputs_text != NULL && i < nnext; i++)
		free(inputs_text[i]);
	free(inputs_text);
	free(specs);
	json_decref(in);
	json_decref(result);
	json_decref(rout);
	json_decref(used);
	return r;
}

/* ---- answers from the query cache -------------------------------------- */

struct cached {
	json_t *result;     /* the first answer's task result */
};

static int
cached_row(void *arg, const struct spool_store_row *row)
{
	struct cached *c = arg;

	/* the query's one task, done, with its result */
	if (c->result == NULL && row->col[14] != NULL &&
	    strcmp(row->col[5], "done") == 0)
		c->result = json_loads(row->col[14], 0, NULL);
	return 0;
}

struct cached_tx {
	const struct spool_task *t;
	const char *req, *user;
	json_t *outs;       /* the new result's outputs (new output ids) */
	json_t *old;        /* the first answer's outputs */
};

static int
cached_link_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct cached_tx *k = arg;
	char used[SPOOL_REF_MAX], gen[SPOOL_REF_MAX];
	const char *u[1] = { used }, *g[1] = { gen };
	json_t *o, *p;
	size_t i;
	int r;

	json_array_foreach(k->outs, i, o) {
		const char *blob = json_string_value(json_object_get(o, "blob"));

		p = json_array_get(k->old, i);
		snprintf(used, sizeof(used), "output:%s", json_string_value(
		    json_object_get(p, "output")));
		snprintf(gen, sizeof(gen), "output:%s", json_string_value(
		    json_object_get(o, "output")));
		if ((r = spool_store_blob_ref(st, blob, k->req, "output",
		    err)) != SPOOL_OK ||
		    (r = spool_lineage_entity(st, gen, json_string_value(
		    json_object_get(o, "name")), blob, json_integer_value(
		    json_object_get(o, "size")), err)) != SPOOL_OK ||
		    (r = spool_lineage_link(st, "derived", 0, k->user, NULL, u,
		    1, g, 1, err)) != SPOOL_OK)
			return r;
	}
	return SPOOL_OK;
}

int
spool_task_answer_cached(struct spool_store *st, const char *worker,
    const struct spool_task *t, const char *from, const char **outcome,
    spool_err *err)
{
	struct spool_request_info ri;
	struct spool_task_done done;
	struct cached c = { NULL };
	struct cached_tx k;
	char job[SPOOL_ID_MAX], rid[SPOOL_ID_MAX], oid[SPOOL_ID_MAX];
	json_t *in = NULL, *res = NULL, *outs = NULL, *sum, *o;
	const char *req;
	size_t i;
	int r;

	*outcome = "failed";
	in = t->input ? json_loads(t->input, 0, NULL) : NULL;
	req = json_string_value(json_object_get(in, "request"));
	if (req == NULL || spool_job_resolve(st, from, job, NULL) != SPOOL_OK ||
	    spool_store_job_tasks(st, job, cached_row, &c, err) < 0 ||
	    c.result == NULL) {
		r = SPOOL_ERR_NOTFOUND;
		goto out;
	}
	snprintf(rid, sizeof(rid), "%s", req);
	if ((r = spool_store_request_info(st, rid, &ri, err)) != SPOOL_OK)
		goto out;
	res = json_deep_copy(c.result);
	outs = json_array();
	if (res == NULL || outs == NULL) {
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	/* the same blobs, as this request's own outputs */
	json_array_foreach(json_object_get(c.result, "outputs"), i, o) {
		json_t *n = json_deep_copy(o);

		spool_uuid7(oid);
		json_object_set_new(n, "output", json_string(oid));
		json_array_append_new(outs, n);
	}
	json_object_set(res, "outputs", outs);
	if (!json_is_object(sum = json_object_get(res, "summary"))) {
		sum = json_object();
		json_object_set_new(res, "summary", sum);
	}
	json_object_set_new(sum, "cache_hit", json_true());
	json_object_set_new(sum, "answer_of", json_string(from));
	json_object_del(res, "metrics");
	k.t = t;
	k.req = rid;
	k.user = ri.user;
	k.outs = outs;
	k.old = json_object_get(c.result, "outputs");
	if ((r = spool_store_atomic(st, cached_link_tx, &k, err)) != SPOOL_OK)
		goto out;
	memset(&done, 0, sizeof(done));
	done.task = t->id;
	if ((done.result = json_dumps(res, JSON_COMPACT)) == NULL) {
		r = spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		goto out;
	}
	r = spool_job_complete(st, worker, &done, 1, err);
	free((char *)done.result);
	if (r == SPOOL_OK)
		*outcome = done.status == SPOOL_OK ? "succeeded" :
		    done.status == SPOOL_ERR_CANCELLED ? "cancelled" : "lost";
out:
	json_decref(c.result);
	json_decref(in);
	json_decref(res);
	json_decref(outs);
	return r;
}
