/*
 * intake.c - hot folders: complete files become requests.
 *
 * A file is claimed by renaming it from in/F/NAME to store/intake/F/NAME
 * (no-replace): from then on no user can change which file it is, and a
 * crash cannot make intake take it twice.  Its bytes are copied into a
 * blob (hashed on the way), or, for a big file of spoold's own user that
 * nobody writes to, the file itself becomes the blob (spool_blob_adopt:
 * a second name, no copy); a group of files is made durable with one
 * syncfs(), then recorded in one transaction (request, blob reference,
 * lineage, outbox line, and an intake row naming the claimed file); only
 * then is the claimed file removed, and its intake row with it.
 *
 * After a crash: a claimed file with an intake row was committed (remove
 * it); one without was not (take it again: its blob may exist already,
 * which is harmless).  A refused file goes to rejected/NAME after its
 * NAME.error.json; when the disk is full the claimed files go back to
 * in/ and intake pauses.
 *
 * Over 800 lines and kept whole: a group of files goes claim, copy,
 * sync, commit, remove as one sequence; splitting it would split the
 * crash reasoning.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "spool/base/error.h"
#include "spool/base/fsutil.h"
#include "spool/base/hash.h"
#include "spool/base/util.h"
#include "spool/flow/daemon.h"
#include "spool/flow/daemon_impl.h"
#include "spool/flow/intake.h"
#include "spool/flow/reaper.h"
#include "spool/format/batch.h"
#include "spool/format/manifest.h"
#include "spool/format/schema.h"
#include "spool/keys/trust.h"
#include "spool/node/config.h"
#include "spool/node/kinds.h"
#include "spool/node/node.h"
#include "spool/store/blobref.h"
#include "spool/store/blobstore.h"
#include "spool/store/queue.h"
#include "spool/store/request.h"
#include "spool/store/store.h"

#define GROUP_MAX 1024         /* files per syncfs and transaction */
#define REQUEST_FILE_MAX (1u << 20) /* a JSON request file */

int
spool_intake_ignored(const char *name)
{
	size_t n = strlen(name);

	return name[0] == '.' || n == 0 || name[n - 1] == '~' ||
	    (n >= 4 && strcmp(name + n - 4, ".tmp") == 0) ||
	    (n >= 5 && strcmp(name + n - 5, ".part") == 0);
}

struct claim {
	char name[NAME_MAX + 1];
	char rel[NAME_MAX * 2 + 2];   /* F/NAME under store/intake */
	char path[PATH_MAX];          /* store/intake/F/NAME */
	char id[SPOOL_ID_MAX];
	char ino[64];                 /* "dev:inode:ctime" of the claimed file */
	char user[80];
	char type[16];
	char why[SPOOL_ERR_MSG_MAX * 2];
	int code;                     /* the refusal's kind (intake.h) */
	int priority;
	int64_t deadline;
	int ok;
	int busy;                     /* held open under a lease: back, later */
	int back;                     /* goes back to in/ (no room now) */
	int wait_room;                /* ... because it does not fit now */
	int stay;                     /* refused where it is (not claimed) */
	uint64_t dev, inode;   /* of the claimed file */
	unsigned mode;         /* its permission bits */
	int gone;                     /* the claimed file is removed */
	struct spool_blob_tmp b;
	json_t *params;
};

struct group {
	struct spool_daemon *d;
	const struct spool_conf_folder *f;
	const char *peer;
	struct claim *c;
	size_t n;
	int64_t now;
	uint64_t room;                /* bytes the group may still take */
	uint64_t cap;                 /* bytes the filesystem can hold */
	unsigned owner_uid;           /* the last owner looked up, by name */
	char owner[80];               /* "" until the first lookup */
};

/* The owner's name: the files of a group mostly share one owner, and a
 * user database lookup reads /etc/passwd (or asks NSS) each time. */
static void
owner_name(struct group *g, unsigned uid, char *out, size_t outsz)
{
	if (g->owner[0] == '\0' || g->owner_uid != uid) {
		spool_owner_name(uid, g->owner, sizeof(g->owner));
		g->owner_uid = uid;
	}
	snprintf(out, outsz, "%s", g->owner);
}

static const char *const refusal_names[SPOOL_REFUSED_N] = {
	"symlink", "directory", "special", "hard-link", "name", "no-peer",
	"unreadable", "changed", "too-large", "bad-json", "schema"
};

const char *
spool_refusal_name(int code)
{
	return code >= 0 && code < SPOOL_REFUSED_N ? refusal_names[code] :
	    "other";
}

static int
refuse(struct claim *c, int code, const char *fmt, const char *arg)
{
	c->code = code;
	snprintf(c->why, sizeof(c->why), fmt, arg);
	c->ok = 0;
	return 0;
}

/* Read a JSON request file (already claimed, fd open): type, priority,
 * expiry and params from it; its bytes become the blob. */
static int
read_request(struct group *g, struct claim *c, int fd, spool_err *err)
{
	char *buf = NULL;
	json_error_t je;
	json_t *doc, *v;
	size_t got;
	spool_err e;
	int r;

	if ((buf = malloc(REQUEST_FILE_MAX + 1)) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	if ((r = spool_read_full(fd, buf, REQUEST_FILE_MAX + 1, &got, err)) !=
	    SPOOL_OK) {
		free(buf);
		return r;
	}
	if (got > REQUEST_FILE_MAX) {
		free(buf);
		return refuse(c, SPOOL_REFUSED_TOO_LARGE,
		    "request file is larger than 1 MiB%s", "");
	}
	if ((r = spool_blob_write(&c->b, buf, got, err)) != SPOOL_OK) {
		free(buf);
		return r;
	}
	doc = json_loadb(buf, got, JSON_REJECT_DUPLICATES, &je);
	free(buf);
	if (doc == NULL)
		return refuse(c, SPOOL_REFUSED_BAD_JSON,
		    "not a valid JSON request: %s", je.text);
	if (spool_schema_validate(g->d->request_schema, doc, &e) != SPOOL_OK) {
		json_decref(doc);
		return refuse(c, SPOOL_REFUSED_SCHEMA,
		    "request does not match the request schema: "
		    "%s", e.msg);
	}
	snprintf(c->type, sizeof(c->type), "%s",
	    json_string_value(json_object_get(doc, "type")));
	/* a request file is the request: these types work on a file */
	if (strcmp(c->type, "transfer") == 0 || strcmp(c->type, "raster") ==
	    0 || strcmp(c->type, "vector") == 0) {
		json_decref(doc);
		snprintf(c->why, sizeof(c->why), "a %s request works on a file: "
		    "drop the file in a %s folder (request files carry queries "
		    "and selftests)", c->type, c->type);
		c->ok = 0;
		return SPOOL_OK;
	}
	if ((v = json_object_get(doc, "priority")) != NULL)
		c->priority = (int)json_integer_value(v);
	if ((v = json_object_get(doc, "expires")) != NULL) {
		time_t t;

		if (spool_time_parse(json_string_value(v), &t) != SPOOL_OK) {
			json_decref(doc);
			return refuse(c, SPOOL_REFUSED_SCHEMA,
			    "request has a bad expiry time%s", "");
		}
		c->deadline = (int64_t)t * 1000;
	}
	if ((v = json_object_get(doc, "params")) != NULL)
		c->params = json_incref(v);
	json_decref(doc);
	return SPOOL_OK;
}

static int check_line(struct group *g, struct claim *c, spool_err *err);

/* Which file this is: device, inode and the change time the claim's
 * rename gave it (an inode number alone is reused once freed). */
static void
file_id(const struct stat *sb, char *out, size_t n)
{
	snprintf(out, n, "%llu:%llu:%lld.%09ld",
	    (unsigned long long)sb->st_dev, (unsigned long long)sb->st_ino,
	    (long long)sb->st_ctim.tv_sec, (long)sb->st_ctim.tv_nsec);
}

/* A claimed file of spoold's own user with two links may be one whose
 * other name is its blob (spool_blob_adopt) from a take that did not
 * commit (a crash, a full disk): then it is as good as unlinked. */
static int
own_blob(struct group *g, struct claim *c, const struct stat *sb)
{
	uint8_t h[SPOOL_HASH_LEN];
	char hex[SPOOL_HASH_HEXLEN + 1], bpath[PATH_MAX];
	struct stat bs;
	uint64_t n;
	spool_err e;
	int fd, ok;

	if (sb->st_nlink != 2 || sb->st_uid != geteuid() ||
	    !S_ISREG(sb->st_mode))
		return 0;
	fd = open(c->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return 0;
	ok = spool_hash_fd(fd, h, &n, &e) == SPOOL_OK;
	close(fd);
	spool_hex(hex, h, SPOOL_HASH_LEN);
	return ok && spool_blob_path(g->d->node->root, hex, bpath) == 0 &&
	    stat(bpath, &bs) == 0 && bs.st_dev == sb->st_dev &&
	    bs.st_ino == sb->st_ino;
}

/* Open, check and copy one claimed file.  A refusal is c->ok = 0 with
 * c->why; an error returned is the node's (no space, I/O). */
static int
take_one(struct group *g, struct claim *c, spool_err *err)
{
	struct stat sb, fsb;
	int fd, r, relinked;

	c->ok = 1;
	if (lstat(c->path, &sb) != 0)
		return spool_fail_sys(err, "cannot stat '%s'", c->path);
	file_id(&sb, c->ino, sizeof(c->ino));
	owner_name(g, sb.st_uid, c->user, sizeof(c->user));
	if (S_ISLNK(sb.st_mode))
		return refuse(c, SPOOL_REFUSED_SYMLINK,
		    "is a symbolic link; only regular files are "
		    "taken%s", "");
	if (S_ISDIR(sb.st_mode))
		return refuse(c, SPOOL_REFUSED_DIRECTORY,
		    "is a directory; only regular files are "
		    "taken%s", "");
	if (!S_ISREG(sb.st_mode))
		return refuse(c, SPOOL_REFUSED_SPECIAL,
		    "is a FIFO, socket or device; only regular "
		    "files are taken%s", "");
	if (sb.st_nlink != 1 && !own_blob(g, c, &sb))
		return refuse(c, SPOOL_REFUSED_HARD_LINK,
		    "has other hard links; only files with one "
		    "link are taken%s", "");
	if (!spool_item_name_ok(c->name))
		return refuse(c, SPOOL_REFUSED_NAME,
		    "its name is not valid UTF-8 or has control "
		    "characters%s", "");
	if (g->peer == NULL)
		return refuse(c, SPOOL_REFUSED_NO_PEER,
		    "the folder has no destination peer ([folder] "
		    "peer or [node] peer)%s", "");
	c->mode = (unsigned)sb.st_mode & 0777;
	c->dev = (uint64_t)sb.st_dev;
	c->inode = (uint64_t)sb.st_ino;
	fd = open(c->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ELOOP)
			return refuse(c, SPOOL_REFUSED_SYMLINK,
			    "is a symbolic link%s", "");
		if (errno == EACCES || errno == EPERM)
			return refuse(c, SPOOL_REFUSED_UNREADABLE,
			    "spoold may not read it (%s); give "
			    "the spool user read access and drop it again",
			    strerror(errno));
		if (errno == EWOULDBLOCK) {
			/* a lease: its holder is told to let go; the file
			 * goes back and is tried again later, alone */
			c->ok = 0;
			c->busy = 1;
			return SPOOL_OK;
		}
		return spool_fail_sys(err, "cannot open '%s'", c->path);
	}
	if (fstat(fd, &fsb) != 0 || fsb.st_ino != sb.st_ino ||
	    fsb.st_dev != sb.st_dev || !S_ISREG(fsb.st_mode)) {
		close(fd);
		return refuse(c, SPOOL_REFUSED_CHANGED,
		    "changed while it was taken%s", "");
	}
	/* no more than it holds now, and only what fits: a sparse 100 GB
	 * file costs its owner nothing, and a copy of it would fill the
	 * disk for everyone */
	if ((uint64_t)fsb.st_size > g->cap) {
		char a[32], b[32];

		close(fd);
		spool_size_str(a, sizeof(a), (uint64_t)fsb.st_size);
		spool_size_str(b, sizeof(b), g->cap);
		snprintf(c->why, sizeof(c->why), "is %s, more than the spool "
		    "filesystem can ever hold (%s)", a, b);
		c->ok = 0;
		return SPOOL_OK;
	}
	if (g->d->node->cfg->max_file_size > 0 && (uint64_t)fsb.st_size >
	    g->d->node->cfg->max_file_size) {
		char a[32], b[32];

		close(fd);
		spool_size_str(a, sizeof(a), (uint64_t)fsb.st_size);
		spool_size_str(b, sizeof(b), g->d->node->cfg->max_file_size);
		snprintf(c->why, sizeof(c->why), "is %s, over [intake] "
		    "max_file_size (%s)", a, b);
		c->ok = 0;
		return SPOOL_OK;
	}
	if ((uint64_t)fsb.st_size > g->room) {
		char a[32], b[32];

		/* it would fit another time: it waits in in/ (not copied),
		 * the others go on */
		close(fd);
		spool_size_str(a, sizeof(a), (uint64_t)fsb.st_size);
		spool_size_str(b, sizeof(b), g->room);
		snprintf(c->why, sizeof(c->why), "no room for a file of %s "
		    "(%s free for it)", a, b);
		c->ok = 0;
		c->back = 1;
		c->wait_room = 1;
		return SPOOL_OK;
	}
	g->room -= (uint64_t)fsb.st_size;
	c->priority = g->f->priority;
	c->deadline = g->f->expires ? g->now + (int64_t)g->f->expires * 1000 :
	    0;
	snprintf(c->type, sizeof(c->type), "%s", g->f->type);
	/* a raster or vector folder's preset travels as the params */
	if (strcmp(g->f->type, "raster") == 0 ||
	    strcmp(g->f->type, "vector") == 0) {
		json_decref(c->params);
		if ((c->params = spool_preset_params(g->d->node->cfg, g->f)) ==
		    NULL) {
			close(fd);
			return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		}
	}
	if ((r = spool_blob_open(&c->b, g->d->node->root, err)) != SPOOL_OK) {
		close(fd);
		return r;
	}
	relinked = sb.st_nlink != 1; /* commit drops the other link */
	if (strcmp(g->f->type, "request") == 0)
		r = read_request(g, c, fd, err);
	else if ((r = spool_blob_adopt(&c->b, fd, c->path, err)) == 0)
		r = spool_blob_copy_fd(&c->b, fd, c->name, (uint64_t)fsb.st_size,
		    err);
	else if (r == 1) {
		relinked = 1;
		r = SPOOL_OK;
	}
	close(fd);
	if (r == SPOOL_OK && c->ok)
		r = spool_blob_commit(&c->b, g->d->node->root, NULL, err);
	else
		spool_blob_discard(&c->b);
	if (r == SPOOL_OK && c->ok && relinked) {
		/* a link made or dropped changed the file's ctime: the
		 * intake row must name the file as a restart will find it */
		if (lstat(c->path, &fsb) != 0)
			return spool_fail_sys(err, "cannot stat '%s'", c->path);
		if (fsb.st_ino != sb.st_ino || fsb.st_dev != sb.st_dev)
			return spool_fail(err, SPOOL_ERR_INTERNAL, "'%s' is "
			    "another file than the one taken", c->path);
		file_id(&fsb, c->ino, sizeof(c->ino));
	}
	if (r == SPOOL_OK && c->ok)
		r = check_line(g, c, err);
	return r;
}

static char *request_line(struct group *g, const struct claim *c);

/* The request's manifest line must be one a batch can carry (schema, and
 * its length as the writer encodes it): refused now, not stuck later. */
static int
check_line(struct group *g, struct claim *c, spool_err *err)
{
	char *line = request_line(g, c), *ascii = NULL;
	json_t *item = NULL;
	spool_err e;

	if (line == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	if ((item = json_loads(line, 0, NULL)) == NULL ||
	    (ascii = json_dumps(item, JSON_COMPACT | JSON_ENSURE_ASCII)) ==
	    NULL) {
		json_decref(item);
		free(line);
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	}
	if (strlen(ascii) >= SPOOL_LINE_MAX)
		refuse(c, SPOOL_REFUSED_TOO_LARGE,
		    "the request is too large for a batch manifest "
		    "line (its params take more than 1 MiB as JSON)%s", "");
	else if (spool_manifest_check_item(g->d->manifest, item, &e) !=
	    SPOOL_OK)
		refuse(c, SPOOL_REFUSED_SCHEMA,
		    "the request cannot travel: %s", e.msg);
	json_decref(item);
	free(ascii);
	free(line);
	return SPOOL_OK;
}

/* The manifest line of an accepted file. */
static char *
request_line(struct group *g, const struct claim *c)
{
	char created[32], expires[32];
	struct spool_request_line l = { c->id, c->type, c->name, g->f->name,
		c->user, c->priority, created, NULL, c->params, c->b.size,
		c->b.hex, 1, c->mode };
	json_t *item;
	char *s;

	spool_time_ms(created, g->now);
	if (c->deadline) {
		spool_time_ms(expires, c->deadline);
		l.expires = expires;
	}
	if ((item = spool_manifest_request(&l)) == NULL)
		return NULL;
	s = json_dumps(item, JSON_COMPACT);
	json_decref(item);
	return s;
}

static int
record_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct group *g = arg;
	char bpath[PATH_MAX];
	int64_t sched = spool_store_sched(st);
	size_t i;
	int r;

	for (i = 0; i < g->n; i++) {
		struct claim *c = &g->c[i];
		struct spool_request q = { .type = c->type, .user = c->user,
			.folder = g->f->name, .name = c->name, .peer = g->peer,
			.priority = c->priority, .deadline = c->deadline,
			.size = (int64_t)c->b.size, .hash = c->b.hex,
			.created = g->now };
		char *line, *params = NULL, key[SPOOL_CACHE_KEY_MAX];

		if (!c->ok)
			continue;
		memcpy(q.id, c->id, sizeof(q.id));
		if (c->params != NULL &&
		    (q.params = params = json_dumps(c->params, JSON_COMPACT)) ==
		    NULL)
			return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		if (strcmp(c->type, "query") == 0 &&
		    spool_query_cache_key(c->params, key) == 0)
			q.cache_key = key;
		spool_blob_path(g->d->node->root, c->b.hex, bpath);
		r = spool_store_request_received(st, &q, err);
		free(params);
		if (r != SPOOL_OK ||
		    (r = spool_store_blob_add(st, c->b.hex, c->b.size, bpath,
		    err)) != SPOOL_OK ||
		    (r = spool_store_blob_ref(st, c->b.hex, c->id, "input",
		    err)) != SPOOL_OK ||
		    (r = spool_store_intake_add(st, c->rel, c->id, c->ino,
		    err)) != SPOOL_OK)
			return r;
		if ((line = request_line(g, c)) == NULL)
			return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
		r = spool_store_outbox_add(st, &(struct spool_outbox_item){
		    .peer = g->peer, .kind = "request", .request = c->id,
		    .priority = c->priority, .created = sched, .ord = (int)i,
		    .size = c->b.size, .item = line }, err);
		free(line);
		if (r != SPOOL_OK)
			return r;
	}
	return SPOOL_OK;
}

static int
forget_tx(struct spool_store *st, void *arg, spool_err *err)
{
	struct group *g = arg;
	size_t i;
	int r;

	for (i = 0; i < g->n; i++)
		if (g->c[i].ok && g->c[i].gone &&
		    (r = spool_store_intake_done(st, g->c[i].rel, err)) !=
		    SPOOL_OK)
			return r;
	return SPOOL_OK;
}

/* A file name as JSON: as is when it is UTF-8, else with each byte that
 * is not written \xNN (the name in rejected/ is the real one). */
static json_t *
json_name(const char *name)
{
	char buf[NAME_MAX * 4 + 1];
	const unsigned char *p;
	size_t o = 0;
	json_t *j;

	if ((j = json_string(name)) != NULL)
		return j;
	for (p = (const unsigned char *)name; *p && o + 5 < sizeof(buf); p++)
		if (*p < 0x80 && *p >= 0x20)
			buf[o++] = (char)*p;
		else
			o += (size_t)snprintf(buf + o, sizeof(buf) - o, "\\x%02x",
			    *p);
	buf[o] = '\0';
	return json_string(buf);
}

/* rejected/NAME.error.json, then the file itself as rejected/NAME (a
 * name taken gets "NAME (2)"...). */
static void
reject(struct group *g, struct claim *c)
{
	char dir[PATH_MAX], name[NAME_MAX + 1], dst[PATH_MAX + NAME_MAX + 2];
	char ej[PATH_MAX + NAME_MAX + 16], now[32], fit[NAME_MAX + 1];
	char cand[NAME_MAX + 1];
	struct stat sb;
	unsigned k;
	json_t *doc;
	char *text;
	spool_err e;

	spool_node_path(g->d->node, dir, sizeof(dir), "rejected");
	/* NAME and NAME.error.json must both be names: a long NAME is
	 * shortened to leave room for the suffix (the JSON has the real
	 * one); a name taken gets "NAME (2)", then "NAME (<request id>)",
	 * which nothing else has: a few lstat calls, whatever is there */
	if (spool_name_fit(fit, sizeof(fit), c->name, NAME_MAX -
	    strlen(".error.json")) != 0)
		snprintf(fit, sizeof(fit), "rejected");
	for (k = 1; k <= 3; k++) {
		/* a variant adds at most 40 bytes: made from a name
		 * shortened by as much, it still leaves room for the suffix */
		if (k == 1)
			snprintf(name, sizeof(name), "%s", fit);
		else if (spool_name_fit(cand, sizeof(cand), fit, NAME_MAX -
		    strlen(".error.json") - 40) != 0 ||
		    (k == 2 ? spool_name_variant(name, sizeof(name), cand, 2) :
		    spool_name_variant_tag(name, sizeof(name), cand, c->id)) !=
		    0)
			snprintf(name, sizeof(name), "rejected (%s)", c->id);
		snprintf(dst, sizeof(dst), "%s/%s", dir, name);
		snprintf(ej, sizeof(ej), "%s/%s.error.json", dir, name);
		if (lstat(dst, &sb) != 0 && lstat(ej, &sb) != 0)
			break;
	}
	spool_time_ms(now, g->now);
	doc = json_pack("{s:o, s:s, s:s, s:s, s:s, s:s}", "name",
	    json_name(c->name), "reason", c->why, "code",
	    spool_refusal_name(c->code), "time", now, "user", c->user,
	    "folder", g->f->name);
	text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
	json_decref(doc);
	if (text == NULL || spool_write_file_atomic(ej, text, strlen(text),
	    0644, &e) != SPOOL_OK)
		spool_daemon_log(g->d, "event=error what=reject name=%s "
		    "reason=%s", LQ(c->name), LQ(text ? e.msg : "out of memory"));
	free(text);
	if (!c->stay && spool_rename_noreplace(c->path, dst, &e) != SPOOL_OK)
		spool_daemon_log(g->d, "event=error what=reject name=%s "
		    "reason=%s", LQ(c->name), LQ(e.msg));
	spool_fsync_dir(dir, NULL);
	g->d->rejected++;
	if (c->code >= 0 && c->code < SPOOL_REFUSED_N)
		g->d->refused[c->code]++;
	spool_daemon_log(g->d, "event=rejected folder=%s name=%s user=%s "
	    "code=%s %sreason=%s", LQ(g->f->name), LQ(c->name), LQ(c->user),
	    spool_refusal_name(c->code), c->stay ? "left=in-folder " : "",
	    LQ(c->why));
}

/* Put a claimed file back where the user left it (no space to take it
 * now).  If the name was taken meanwhile it stays claimed: the next
 * rescan takes it from store/intake/ (spool_intake_recover). */
static void
put_back(struct group *g, struct claim *c)
{
	char src[PATH_MAX];
	spool_err e;

	spool_node_path(g->d->node, src, sizeof(src), "in");
	if (strlen(src) + strlen(c->rel) + 2 >= sizeof(src))
		return;
	strcat(src, "/");
	strcat(src, c->rel);
	if (spool_rename_noreplace(c->path, src, &e) != SPOOL_OK)
		spool_daemon_log(g->d, "event=error what=put-back name=%s "
		    "reason=%s", LQ(c->name), LQ(e.msg));
}

static int
is_nospace(int e)
{
	return e == ENOSPC || e == EDQUOT;
}

/* ---- files left where they are, for now ------------------------------- */

static struct spool_held *
held_find(struct spool_daemon *d, const char *folder, const char *name)
{
	size_t i;

	for (i = 0; i < d->nheld; i++)
		if (strcmp(d->held[i].name, name) == 0 &&
		    strcmp(d->held[i].folder, folder) == 0)
			return &d->held[i];
	return NULL;
}

static void
held_forget(struct spool_daemon *d, const char *folder, const char *name)
{
	struct spool_held *h = held_find(d, folder, name);

	if (h != NULL)
		*h = d->held[--d->nheld];
}

/* An entry for (folder, name), new (*fresh) or the one there. */
static struct spool_held *
held_get(struct spool_daemon *d, const char *folder, const char *name,
    uint64_t dev, uint64_t ino, int *fresh)
{
	struct spool_held *h = held_find(d, folder, name);

	*fresh = 0;
	if (h != NULL && h->dev == dev && h->ino == ino)
		return h;
	if (h == NULL) {
		if (d->held == NULL && (d->held = calloc(SPOOL_HELD_MAX,
		    sizeof(*d->held))) == NULL)
			return NULL;
		if (d->nheld == SPOOL_HELD_MAX) /* the oldest goes */
			memmove(d->held, d->held + 1, --d->nheld *
			    sizeof(*d->held));
		h = &d->held[d->nheld++];
	}
	memset(h, 0, sizeof(*h));
	snprintf(h->folder, sizeof(h->folder), "%s", folder);
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->dev = dev;
	h->ino = ino;
	*fresh = 1;
	return h;
}

/* Held open under a lease: back in in/, tried again after 1 s, 2 s, ...
 * up to a minute; said once. */
static void
held_busy(struct spool_daemon *d, const char *folder, const struct claim *c)
{
	struct spool_held *h;
	int fresh;

	if ((h = held_get(d, folder, c->name, c->dev, c->inode, &fresh)) == NULL)
		return;
	h->delay = fresh ? 1000 : h->delay * 2 > 60000 ? 60000 : h->delay * 2;
	h->due = spool_mono_ms() + h->delay;
	if (fresh)
		spool_daemon_log(d, "event=busy folder=%s name=%s user=%s "
		    "reason=\"held open under a lease by its owner; tried "
		    "again later, less and less often\"", LQ(folder),
		    LQ(c->name), LQ(c->user));
}

/* Whether intake leaves in/folder/name alone now (*due: the monotonic
 * time to look again, 0 none).  An entry of another file of that name
 * is dropped. */
static int
held_skip(struct spool_daemon *d, const char *folder, const char *dir,
    const char *name, int64_t *due)
{
	struct spool_held *h = held_find(d, folder, name);
	char p[PATH_MAX + NAME_MAX + 2];
	struct stat sb;

	*due = 0;
	if (h == NULL)
		return 0;
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	/* a directory stays refused whatever is put in it (its ctime moves
	 * with its entries); a file refused in place is looked at again
	 * once it changes */
	if (lstat(p, &sb) != 0 || (uint64_t)sb.st_dev != h->dev ||
	    (uint64_t)sb.st_ino != h->ino || (h->due == 0 &&
	    !S_ISDIR(sb.st_mode) && h->ctime != (int64_t)sb.st_ctim.tv_sec *
	    1000000000 + sb.st_ctim.tv_nsec)) {
		*h = d->held[--d->nheld];
		return 0;
	}
	if (h->due == 0)
		return 1; /* said; left until it changes */
	if (h->due <= spool_mono_ms())
		return 0;
	*due = h->due;
	return 1;
}

/* No room: said when it begins; the daemon tries again every few
 * seconds (spool_daemon_unpause), and meanwhile takes what fits. */
static void
pause_intake(struct group *g)
{
	spool_reaper_kick(g->d, 1); /* its space, now */
	if (!g->d->disk_full)
		spool_daemon_log(g->d, "event=disk-full what=intake folder=%s "
		    "reason=%s", LQ(g->f->name), LQ(g->d->disk_full_why));
	g->d->disk_full = 1;
}

/* A file that does not fit now waits in in/, tried again in 5 s; said
 * once; the other files go on. */
static void
held_room(struct group *g, const struct claim *c)
{
	struct spool_held *h;
	int fresh;

	if ((h = held_get(g->d, g->f->name, c->name, c->dev, c->inode,
	    &fresh)) != NULL) {
		h->delay = 5000;
		h->due = spool_mono_ms() + h->delay;
		h->room = 1;
		snprintf(h->why, sizeof(h->why), "%.*s", (int)sizeof(h->why) -
		    1, c->why);
	}
	if (h == NULL || fresh)
		spool_daemon_log(g->d, "event=disk-full what=intake folder=%s "
		    "name=%s user=%s reason=%s", LQ(g->f->name), LQ(c->name),
		    LQ(c->user), LQ(c->why));
	spool_reaper_kick(g->d, 1);
}

/* Take the claimed files g->c[0..n): copy, sync, commit, remove. */
static int
take_group(struct group *g, spool_err *err)
{
	size_t i, nok = 0;
	int r = SPOOL_OK, full = 0;

	for (i = 0; i < g->n; i++) {
		struct claim *c = &g->c[i];

		spool_uuid7(c->id);
		if ((r = take_one(g, c, err)) == SPOOL_OK) {
			nok += c->ok;
			continue;
		}
		if (r == SPOOL_ERR_SYS && is_nospace(err->sys_errno)) {
			/* no room after all (others write to the disk
			 * too): this file and the rest wait, what was
			 * taken is kept */
			spool_blob_discard(&c->b);
			full = 1;
			snprintf(g->d->disk_full_why, sizeof(g->d->disk_full_why),
			    "%s", err->msg);
			for (; i < g->n; i++) {
				g->c[i].ok = 0;
				g->c[i].back = 1;
			}
			r = SPOOL_OK;
		}
		break;
	}
	if (r == SPOOL_OK && nok > 0)
		r = spool_daemon_sync(g->d, err);
	if (r == SPOOL_OK && nok > 0)
		r = spool_store_atomic(g->d->st, record_tx, g, err);
	if (r != SPOOL_OK) {
		if (r == SPOOL_ERR_SYS && err && is_nospace(err->sys_errno)) {
			full = 1;
			snprintf(g->d->disk_full_why, sizeof(g->d->disk_full_why),
			    "%s", err->msg);
		}
		for (i = 0; i < g->n; i++) {
			spool_blob_discard(&g->c[i].b);
			put_back(g, &g->c[i]);
		}
		if (full) {
			pause_intake(g);
			return SPOOL_OK;
		}
		return r;
	}
	if (full)
		pause_intake(g);
	for (i = 0; i < g->n; i++) {
		struct claim *c = &g->c[i];

		if (c->back) {
			put_back(g, c);
			if (c->wait_room)
				held_room(g, c);
			continue;
		}
		if (c->busy) {
			put_back(g, c);
			held_busy(g->d, g->f->name, c);
			continue;
		}
		held_forget(g->d, g->f->name, c->name);
		if (!c->ok) {
			reject(g, c);
			continue;
		}
		/* its row goes only once the file is gone: a row names a
		 * claimed file that was committed */
		c->gone = spool_reap(g->d, c->path, c->id);
		if (!c->gone)
			spool_daemon_log(g->d, "event=error what=intake "
			    "name=%s reason=%s", LQ(c->name), LQ(strerror(errno)));
		spool_idlist_add(&g->d->changed, c->id);
		g->d->taken++;
		spool_daemon_log(g->d, "event=accepted request=%s folder=%s "
		    "name=%s user=%s type=%s size=%llu peer=%s", c->id,
		    LQ(g->f->name), LQ(c->name), LQ(c->user), c->type,
		    (unsigned long long)c->b.size, g->peer);
	}
	spool_reaper_kick(g->d, 0);
	if (nok > 0 && (r = spool_store_atomic(g->d->st, forget_tx, g, err)) !=
	    SPOOL_OK)
		return r;
	return SPOOL_OK;
}

static void
group_release(struct group *g)
{
	size_t i;

	for (i = 0; i < g->n; i++) {
		spool_blob_discard(&g->c[i].b);
		json_decref(g->c[i].params);
		g->c[i].params = NULL;
	}
	g->n = 0;
}

static int
group_init(struct group *g, struct spool_daemon *d, const char *folder,
    spool_err *err)
{
	char idir[PATH_MAX];
	int r;

	memset(g, 0, sizeof(*g));
	g->d = d;
	if ((g->f = spool_config_folder(d->node->cfg, folder)) == NULL)
		return spool_fail(err, SPOOL_ERR_NOTFOUND, "no folder '%s'",
		    folder);
	g->peer = g->f->peer ? g->f->peer : d->node->cfg->peer;
	if (spool_node_path(d->node, idir, sizeof(idir), "store/intake") != 0 ||
	    strlen(idir) + strlen(folder) + 2 >= sizeof(idir))
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	strcat(idir, "/");
	strcat(idir, folder);
	if ((r = spool_mkdirs(idir, 0700, err)) != SPOOL_OK)
		return r;
	/* (untouched until group_add fills a claim: a big calloc is pages
	 * the kernel zeroes only when they are used) */
	if ((g->c = calloc(GROUP_MAX, sizeof(*g->c))) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	return SPOOL_OK;
}

/* Add a claim for name; its file is at path (already claimed). */
static void
group_add(struct group *g, const char *name, const char *path)
{
	struct claim *c = &g->c[g->n++];

	memset(c, 0, sizeof(*c));
	c->b.tf.fd = -1;
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->rel, sizeof(c->rel), "%s/%s", g->f->name, name);
	snprintf(c->path, sizeof(c->path), "%s", path);
}

#define ROOM_RESERVE (16u << 20) /* left for the store and status files */

/* Bytes intake may copy now: what the node's filesystem has free (for
 * this user), less a reserve. */
static void
room_now(struct spool_daemon *d, uint64_t *room, uint64_t *cap)
{
	struct statvfs vfs;
	uint64_t free_, all, reserve;

	*room = *cap = UINT64_MAX; /* unknown: the copy will tell */
	if (fstatvfs(d->store_fd, &vfs) != 0)
		return;
	free_ = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	all = (uint64_t)vfs.f_blocks * vfs.f_frsize;
	/* a small filesystem (a test's tmpfs) keeps a twentieth */
	reserve = all / 20 < ROOM_RESERVE ? all / 20 : ROOM_RESERVE;
	*room = free_ > reserve ? free_ - reserve : 0;
	*cap = all > reserve ? all - reserve : 0;
}

static int
group_run(struct group *g, spool_err *err)
{
	int r;

	g->now = spool_store_now(g->d->st);
	room_now(g->d, &g->room, &g->cap);
	r = take_group(g, err);
	group_release(g);
	return r;
}

static void deny(struct group *g, const char *name, const char *src, int e);

/* Claim in/F/name into store/intake/F/name: 1 claimed, 0 not now. */
static int
claim(struct group *g, const char *name, char dst[PATH_MAX], spool_err *err)
{
	char src[PATH_MAX];

	if (spool_node_path(g->d->node, src, PATH_MAX, "in") != 0 ||
	    spool_node_path(g->d->node, dst, PATH_MAX, "store/intake") != 0)
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	if (strlen(src) + strlen(g->f->name) + strlen(name) + 3 >= PATH_MAX ||
	    strlen(dst) + strlen(g->f->name) + strlen(name) + 3 >= PATH_MAX)
		return 0;
	strcat(strcat(strcat(strcat(src, "/"), g->f->name), "/"), name);
	strcat(strcat(strcat(strcat(dst, "/"), g->f->name), "/"), name);
	if (renameat2(AT_FDCWD, src, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
		return 1;
	if (errno == ENOENT || errno == EEXIST)
		return 0; /* gone, or the same name still being taken */
	if (errno == EACCES || errno == EPERM || errno == ENOTEMPTY ||
	    errno == EISDIR || errno == EBUSY || errno == EXDEV) {
		/* this one thing, not the folder: refused where it is */
		deny(g, name, src, errno);
		return 0;
	}
	return spool_fail_sys(err, "cannot claim '%s'", src);
}

/* in/F/name cannot be moved out of in/ (a directory another user made in
 * a sticky folder, say): its .error.json says so once, it stays, and
 * intake looks at it again only when it changes.  The rest of the
 * folder is taken as usual. */
static void
deny(struct group *g, const char *name, const char *src, int e)
{
	struct spool_held *h;
	struct claim *c;
	struct stat sb;
	int fresh;

	if (lstat(src, &sb) != 0 || (c = calloc(1, sizeof(*c))) == NULL)
		return;
	h = held_get(g->d, g->f->name, name, (uint64_t)sb.st_dev,
	    (uint64_t)sb.st_ino, &fresh);
	if (h != NULL) {
		h->due = 0;
		h->ctime = (int64_t)sb.st_ctim.tv_sec * 1000000000 +
		    sb.st_ctim.tv_nsec;
	}
	if (h == NULL || fresh) {
		c->b.tf.fd = -1;
		c->stay = 1;
		snprintf(c->name, sizeof(c->name), "%s", name);
		snprintf(c->path, sizeof(c->path), "%s", src);
		spool_uuid7(c->id);
		owner_name(g, sb.st_uid, c->user, sizeof(c->user));
		snprintf(c->why, sizeof(c->why), "spoold cannot move it out of "
		    "the hot folder (%s)%s; it stays there until it changes: "
		    "remove it, or give it to the spool user", strerror(e),
		    S_ISDIR(sb.st_mode) ? ", and it is a directory: only "
		    "regular files are taken" : "");
		reject(g, c);
	}
	free(c);
}

int
spool_intake_folder(struct spool_daemon *d, const char *folder,
    char *const *names, size_t nnames, int64_t *retry_ms, spool_err *err)
{
	char dir[PATH_MAX], dst[PATH_MAX];
	struct group g;
	struct dirent *e;
	DIR *dp = NULL;
	int64_t now = spool_now_ms(), sched = spool_store_sched(d->st);
	uint64_t settle = d->node->cfg->settle;
	int64_t hdue;
	size_t k = 0;
	int r;

	if ((r = group_init(&g, d, folder, err)) != SPOOL_OK) {
		free(g.c);
		return r;
	}
	if (spool_node_path(d->node, dir, sizeof(dir), "in") != 0 ||
	    strlen(dir) + strlen(folder) + 2 >= sizeof(dir)) {
		free(g.c);
		return spool_fail(err, SPOOL_ERR_USAGE, "path too long");
	}
	strcat(strcat(dir, "/"), folder);
	if (names == NULL && (dp = opendir(dir)) == NULL) {
		free(g.c);
		if (errno == ENOENT)
			return spool_mkdirs(dir, 0755, err);
		return spool_fail_sys(err, "cannot read '%s'", dir);
	}
	r = SPOOL_OK;
	for (;;) {
		const char *name;

		if (dp != NULL) {
			errno = 0;
			if ((e = readdir(dp)) == NULL)
				break;
			name = e->d_name;
		} else {
			if (k >= nnames)
				break;
			name = names[k++];
		}
		if (spool_intake_ignored(name) || strcmp(name, "..") == 0)
			continue;
		if (d->nheld > 0 && held_skip(d, folder, dir, name, &hdue)) {
			/* left for now; its time, on the schedule */
			if (hdue > 0) {
				int64_t at = sched + (hdue - spool_mono_ms());

				if (*retry_ms == 0 || at < *retry_ms)
					*retry_ms = at;
			}
			continue;
		}
		if (settle > 0) {
			char p[PATH_MAX + NAME_MAX + 2];
			struct stat sb;
			int64_t m, due;

			snprintf(p, sizeof(p), "%s/%s", dir, name);
			if (lstat(p, &sb) != 0)
				continue;
			/* (only a file can still be written to).  The mtime
			 * is a wall-clock fact: what is left of the settle
			 * time (never more than all of it, after a step of
			 * the clock) goes on the schedule */
			m = !S_ISREG(sb.st_mode) ? 0 :
			    (int64_t)sb.st_mtim.tv_sec * 1000 +
			    sb.st_mtim.tv_nsec / 1000000;
			due = m + (int64_t)settle * 1000 - now;
			if (due > (int64_t)settle * 1000)
				due = (int64_t)settle * 1000;
			if (due > 0) {
				due += sched;
				if (*retry_ms == 0 || due < *retry_ms)
					*retry_ms = due;
				continue;
			}
		}
		if ((r = claim(&g, name, dst, err)) < 0)
			break;
		if (r == 0)
			continue;
		group_add(&g, name, dst);
		if (g.n == GROUP_MAX && (r = group_run(&g, err)) != SPOOL_OK)
			break;
	}
	if (r >= 0 && g.n > 0)
		r = group_run(&g, err);
	else
		r = r > 0 ? SPOOL_OK : r;
	/* files claimed after the disk filled go back */
	for (k = 0; k < g.n; k++)
		put_back(&g, &g.c[k]);
	group_release(&g);
	if (dp != NULL)
		closedir(dp);
	free(g.c);
	return r;
}

int
spool_intake_scan(struct spool_daemon *d, int64_t *retry_ms, spool_err *err)
{
	const struct spool_config *c = d->node->cfg;
	size_t i;
	int r;

	for (i = 0; i < c->nfolders; i++)
		if ((r = spool_intake_folder(d, c->folders[i].name, NULL, 0,
		    retry_ms, err)) != SPOOL_OK)
			return r;
	return SPOOL_OK;
}

/* Claimed files left by a crash: committed ones are removed, the others
 * taken now. */
int
spool_intake_recover(struct spool_daemon *d, spool_err *err)
{
	const struct spool_config *cfg = d->node->cfg;
	char dir[PATH_MAX], path[PATH_MAX], rel[NAME_MAX * 2 + 2];
	char req[SPOOL_ID_MAX], ino[64];
	struct dirent *e;
	struct group g;
	size_t i;
	int r = SPOOL_OK;

	for (i = 0; i < cfg->nfolders && r == SPOOL_OK; i++) {
		const char *folder = cfg->folders[i].name;
		DIR *dp;

		if ((r = group_init(&g, d, folder, err)) != SPOOL_OK) {
			free(g.c);
			return r;
		}
		spool_node_path(d->node, dir, sizeof(dir), "store/intake");
		strcat(strcat(dir, "/"), folder);
		if ((dp = opendir(dir)) == NULL) {
			free(g.c);
			continue;
		}
		while (r == SPOOL_OK && (e = readdir(dp)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(rel, sizeof(rel), "%s/%s", folder, e->d_name);
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			r = spool_store_intake_get(d->st, rel, req, ino, err);
			if (r == SPOOL_OK) {
				struct stat sb;
				char cur[64] = "";

				if (lstat(path, &sb) == 0)
					file_id(&sb, cur, sizeof(cur));
				if (strcmp(cur, ino) == 0) {
					/* committed before the crash */
					if (spool_reap(d, path, req))
						r = spool_store_intake_done(d->st,
						    rel, err);
					continue;
				}
				/* another file of that name: the row is
				 * stale (the new one replaces it at commit) */
			} else if (r != SPOOL_ERR_NOTFOUND)
				break;
			r = SPOOL_OK;
			group_add(&g, e->d_name, path);
			if (g.n == GROUP_MAX)
				r = group_run(&g, err);
		}
		closedir(dp);
		if (r == SPOOL_OK && g.n > 0)
			r = group_run(&g, err);
		group_release(&g);
		free(g.c);
	}
	spool_reaper_kick(d, 1);
	return r;
}
