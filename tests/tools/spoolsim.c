/*
 * spoolsim - what two nodes' stores hold after files travel, until
 * spoold exists to do it for real.  A test tool: it writes to the stores
 * through libspool's public API exactly as the daemon will (requests,
 * batches, the job engine, lineage by the conventions of
 * docs/DECISIONS.md "Lineage"), and prints shell assignments of the ids
 * it made, for tests to eval.
 *
 *   spoolsim chain --low CONF --high CONF [--type T] [--folder F] FILE...
 *       every FILE submitted on low, carried to high in ONE batch,
 *       processed there by a two-stage job, its output carried back in
 *       one result batch and delivered on low (into results/REQ/); then
 *       high's lineage is merged into low's store
 *   spoolsim lost --low CONF --high CONF
 *       high sends low a batch that never arrives, then one that does:
 *       low has a gap
 *   spoolsim job --node CONF [--fail]
 *       a processing-side request with a one-task job, left queued (to
 *       cancel) or failed for good (to retry)
 *   spoolsim cycle --node CONF
 *       three entities whose lineage goes round in a circle
 *
 * Times come from a simulated clock, an hour in the past, one second per
 * step, so histories read in order and nothing is in the future.
 *
 * Over 800 lines: a test tool; one simulation, step by step.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool/spool.h"

#define MAXFILES 64

static int64_t sim_clock;

static int64_t
sim_now(void *arg)
{
	(void)arg;
	return sim_clock;
}

static void
step(void)
{
	sim_clock += 1000;
}

static void die(const char *, const spool_err *) __attribute__((noreturn));
static void usage(void) __attribute__((noreturn));

static void
die(const char *what, const spool_err *err)
{
	fprintf(stderr, "spoolsim: %s: %s\n", what, err ? err->msg : "failed");
	exit(1);
}

static void
usage(void)
{
	fputs("usage: spoolsim chain --low CONF --high CONF [--type T] "
	    "[--folder F] FILE...\n"
	    "       spoolsim lost --low CONF --high CONF\n"
	    "       spoolsim job --node CONF [--fail]\n"
	    "       spoolsim cycle --node CONF\n", stderr);
	exit(2);
}

struct node {
	struct spool_config *cfg;
	struct spool_store *st;
};

static void
node_open(struct node *n, const char *conf)
{
	struct spool_diag diag = { NULL, 0 };
	spool_err err;

	if (spool_config_load(&n->cfg, conf, &diag, &err) != SPOOL_OK)
		die(conf, &err);
	spool_diag_release(&diag);
	if (spool_store_open_config(&n->st, n->cfg, &err) != SPOOL_OK)
		die("opening the store", &err);
	spool_store_set_clock(n->st, sim_now, NULL);
}

static void
node_close(struct node *n)
{
	spool_store_close(n->st);
	spool_config_free(n->cfg);
}

/* Record an event: used and generated are NULL-terminated lists. */
static void
lineage(struct node *n, const char *event, const char *user,
    const char *batch, const char *const *used,
    const char *const *generated)
{
	struct spool_lineage_event ev;
	spool_err err;

	memset(&ev, 0, sizeof(ev));
	ev.event = event;
	ev.user = user;
	ev.batch = batch;
	ev.used = used;
	while (used && used[ev.nused])
		ev.nused++;
	ev.generated = generated;
	while (generated && generated[ev.ngenerated])
		ev.ngenerated++;
	if (spool_lineage_record(n->st, &ev, &err) != SPOOL_OK)
		die(event, &err);
}

static void
entity(struct node *n, const char *ref, const char *name, const char *hash,
    int64_t size)
{
	spool_err err;

	if (spool_lineage_entity(n->st, ref, name, hash, size, &err) !=
	    SPOOL_OK)
		die(ref, &err);
}

static void
set_state(struct node *n, const char *req, const char *state)
{
	spool_err err;

	if (spool_store_request_set_state(n->st, req, state, NULL, &err) !=
	    SPOOL_OK)
		die(state, &err);
}

static void
ref(char out[SPOOL_REF_MAX], const char *kind, const char *id)
{
	snprintf(out, SPOOL_REF_MAX, "%.8s:%.64s", kind, id);
}

static void
hash_mem(char hex[SPOOL_HASH_HEXLEN + 1], const void *p, size_t n)
{
	spool_hasher h;
	uint8_t b[SPOOL_HASH_LEN];

	spool_hasher_init(&h, SPOOL_HASH_LEN);
	spool_hasher_update(&h, p, n);
	spool_hasher_final(&h, b);
	spool_hex(hex, b, SPOOL_HASH_LEN);
}

static void
user_name(char *out, size_t n, uid_t uid)
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(out, n, "%s", pw->pw_name);
	else
		snprintf(out, n, "%u", (unsigned)uid);
}

/* ---- chain ------------------------------------------------------------ */

struct file {
	char name[256];
	char hash[SPOOL_HASH_HEXLEN + 1];
	uint64_t size;
	char user[64];
	char req[SPOOL_ID_MAX], job[SPOOL_ID_MAX], task[2][SPOOL_ID_MAX];
	char out[SPOOL_ID_MAX];
	char outname[300], outhash[SPOOL_HASH_HEXLEN + 1];
	char *content;
	char delivered[PATH_MAX];
};

static void
file_read(struct file *f, const char *path)
{
	uint8_t h[SPOOL_HASH_LEN];
	struct stat sb;
	spool_err err;
	char *copy;
	int fd;

	if (spool_open_regular(path, &fd, &sb, &err) != SPOOL_OK)
		die(path, &err);
	if (spool_hash_fd(fd, h, &f->size, &err) != SPOOL_OK)
		die(path, &err);
	close(fd);
	spool_hex(f->hash, h, SPOOL_HASH_LEN);
	if ((copy = strdup(path)) == NULL)
		die("out of memory", NULL);
	snprintf(f->name, sizeof(f->name), "%s", basename(copy));
	free(copy);
	user_name(f->user, sizeof(f->user), sb.st_uid);
}

static struct file *
file_of_job(struct file *f, size_t n, const char *job)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(f[i].job, job) == 0)
			return &f[i];
	return NULL;
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fputs(text, fp) == EOF || fclose(fp) != 0) {
		fprintf(stderr, "spoolsim: cannot write '%s': %s\n", path,
		    strerror(errno));
		exit(1);
	}
}

/* Merge every lineage event and entity of src into dst, keeping ids. */
struct merge {
	struct node *dst;
	char id[SPOOL_ID_MAX];
	char event[32], node[SPOOL_NAME_MAX + 1], user[256], batch[SPOOL_REF_MAX];
	int has_user, has_batch;
	int64_t time;
	char used[16][SPOOL_REF_MAX], gen[16][SPOOL_REF_MAX];
	size_t nused, ngen;
	size_t events;
};

static void
merge_flush(struct merge *m)
{
	const char *used[17], *gen[17];
	struct spool_lineage_event ev;
	spool_err err;
	size_t i;

	if (m->id[0] == '\0')
		return;
	for (i = 0; i < m->nused; i++)
		used[i] = m->used[i];
	for (i = 0; i < m->ngen; i++)
		gen[i] = m->gen[i];
	memset(&ev, 0, sizeof(ev));
	memcpy(ev.id, m->id, sizeof(ev.id));
	ev.event = m->event;
	ev.time = m->time;
	ev.node = m->node;
	ev.user = m->has_user ? m->user : NULL;
	ev.batch = m->has_batch ? m->batch : NULL;
	ev.used = used;
	ev.nused = m->nused;
	ev.generated = gen;
	ev.ngenerated = m->ngen;
	if (spool_lineage_record(m->dst->st, &ev, &err) != SPOOL_OK)
		die("merging lineage", &err);
	m->id[0] = '\0';
	m->nused = m->ngen = 0;
	m->events++;
}

/* id event time node usr batch role ref */
static int
merge_row(void *arg, const struct spool_store_row *row)
{
	struct merge *m = arg;
	const char *const *c = row->col;

	if (strcmp(m->id, c[0]) != 0) {
		merge_flush(m);
		snprintf(m->id, sizeof(m->id), "%s", c[0]);
		snprintf(m->event, sizeof(m->event), "%s", c[1]);
		m->time = strtoll(c[2], NULL, 10);
		snprintf(m->node, sizeof(m->node), "%s", c[3]);
		m->has_user = c[4] != NULL;
		snprintf(m->user, sizeof(m->user), "%s", c[4] ? c[4] : "");
		m->has_batch = c[5] != NULL;
		snprintf(m->batch, sizeof(m->batch), "%s", c[5] ? c[5] : "");
	}
	if (c[6] == NULL)
		return 0;
	if (strcmp(c[6], "used") == 0 && m->nused < 16)
		snprintf(m->used[m->nused++], SPOOL_REF_MAX, "%s", c[7]);
	else if (strcmp(c[6], "generated") == 0 && m->ngen < 16)
		snprintf(m->gen[m->ngen++], SPOOL_REF_MAX, "%s", c[7]);
	return 0;
}

/* ref kind name hash size node created */
static int
merge_entity(void *arg, const struct spool_store_row *row)
{
	struct merge *m = arg;
	const char *const *c = row->col;

	if (c[2] != NULL || c[3] != NULL)
		entity(m->dst, c[0], c[2], c[3],
		    c[4] ? strtoll(c[4], NULL, 10) : -1);
	return 0;
}

static void
merge(struct node *dst, struct node *src)
{
	struct merge m;
	spool_err err;

	memset(&m, 0, sizeof(m));
	m.dst = dst;
	if (spool_store_lineage_events(src->st, 0, 100000, merge_row, &m,
	    &err) != SPOOL_OK)
		die("reading lineage", &err);
	merge_flush(&m);
	if (spool_store_lineage_entities(src->st, 0, 100000, merge_entity, &m,
	    &err) != SPOOL_OK)
		die("reading lineage entities", &err);
}

static int
chain(int argc, char **argv)
{
	static const char *const stages[] = { "validate", "process" };
	const char *lowconf = NULL, *highconf = NULL, *type = "transfer",
	    *folder = "files";
	struct file *f;
	struct node low, high;
	char b1[SPOOL_ID_MAX], b2[SPOOL_ID_MAX], bname[128], r1[SPOOL_REF_MAX],
	    r2[SPOOL_REF_MAX], rb1[SPOOL_REF_MAX], rb2[SPOOL_REF_MAX];
	uint64_t seq1, seq2, bytes = 0;
	spool_err err;
	size_t n = 0, i, k, rounds;
	int dup;

	if ((f = calloc(MAXFILES, sizeof(*f))) == NULL)
		die("out of memory", NULL);
	for (i = 0; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--low") == 0 && i + 1 < (size_t)argc)
			lowconf = argv[++i];
		else if (strcmp(argv[i], "--high") == 0 && i + 1 < (size_t)argc)
			highconf = argv[++i];
		else if (strcmp(argv[i], "--type") == 0 && i + 1 < (size_t)argc)
			type = argv[++i];
		else if (strcmp(argv[i], "--folder") == 0 &&
		    i + 1 < (size_t)argc)
			folder = argv[++i];
		else if (argv[i][0] == '-' || n == MAXFILES)
			usage();
		else
			file_read(&f[n++], argv[i]);
	}
	if (lowconf == NULL || highconf == NULL || n == 0)
		usage();
	node_open(&low, lowconf);
	node_open(&high, highconf);

	/* low: each file becomes a request */
	for (i = 0; i < n; i++) {
		struct spool_request q;
		memset(&q, 0, sizeof(q));
		q.side = "submit";
		q.type = type;
		q.user = f[i].user;
		q.folder = folder;
		q.name = f[i].name;
		q.peer = high.cfg->name;
		q.state = "accepted";
		q.size = (int64_t)f[i].size;
		q.hash = f[i].hash;
		if (spool_store_request_add(low.st, &q, &err) != SPOOL_OK)
			die("adding a request", &err);
		memcpy(f[i].req, q.id, sizeof(f[i].req));
		ref(r1, "file", f[i].hash);
		ref(r2, "request", f[i].req);
		lineage(&low, "received", f[i].user, NULL,
		    (const char *[]){ r1, NULL }, (const char *[]){ r2, NULL });
		entity(&low, r1, f[i].name, f[i].hash, (int64_t)f[i].size);
		entity(&low, r2, f[i].name, f[i].hash, (int64_t)f[i].size);
		bytes += f[i].size;
		step();
	}

	/* low: all of them in one batch to high, exported */
	spool_uuid7(b1);
	ref(rb1, "batch", b1);
	if (spool_store_batch_plan(low.st, high.cfg->name, b1, &seq1, &err) !=
	    SPOOL_OK)
		die("planning a batch", &err);
	spool_batch_name(bname, sizeof(bname), low.cfg->name, high.cfg->name,
	    seq1);
	for (i = 0; i < n; i++) {
		ref(r2, "request", f[i].req);
		lineage(&low, "batched", f[i].user, NULL,
		    (const char *[]){ r2, NULL }, (const char *[]){ rb1, NULL });
		set_state(&low, f[i].req, "batched");
	}
	if (spool_store_batch_written(low.st, b1, bname, n, bytes,
	    bytes + 512 * (2 * n + 3), &err) != SPOOL_OK)
		die("writing a batch", &err);
	entity(&low, rb1, bname, NULL, -1);
	step();
	if (spool_store_batch_set_state(low.st, b1, "exported", NULL, &err) !=
	    SPOOL_OK)
		die("exporting a batch", &err);
	lineage(&low, "exported", NULL, NULL, (const char *[]){ rb1, NULL },
	    NULL);
	for (i = 0; i < n; i++)
		set_state(&low, f[i].req, "exported");
	step();

	/* high: the batch arrives, its requests are imported */
	if (spool_store_batch_received(high.st, low.cfg->name, seq1, b1, bname,
	    n, bytes, bytes + 512 * (2 * n + 3), &dup, NULL, &err) !=
	    SPOOL_OK)
		die("receiving a batch", &err);
	if (dup)
		die("the batch was a duplicate", NULL);
	entity(&high, rb1, bname, NULL, -1);
	for (i = 0; i < n; i++) {
		struct spool_request q;
		memset(&q, 0, sizeof(q));
		memcpy(q.id, f[i].req, sizeof(q.id));
		q.side = "process";
		q.type = type;
		q.user = f[i].user;
		q.folder = folder;
		q.name = f[i].name;
		q.peer = low.cfg->name;
		q.state = "imported";
		q.size = (int64_t)f[i].size;
		q.hash = f[i].hash;
		if (spool_store_request_add(high.st, &q, &err) != SPOOL_OK)
			die("importing a request", &err);
		ref(r2, "request", f[i].req);
		lineage(&high, "imported", f[i].user, b1,
		    (const char *[]){ rb1, NULL }, (const char *[]){ r2, NULL });
		entity(&high, r2, f[i].name, f[i].hash, (int64_t)f[i].size);
	}
	step();

	/* high: a job per request: validate, then process */
	for (i = 0; i < n; i++) {
		struct spool_task_spec t;
		struct spool_job_spec s;
		char in[512];

		snprintf(in, sizeof(in), "{\"request\":\"%s\",\"hash\":\"%s\"}",
		    f[i].req, f[i].hash);
		t.type = NULL;
		t.input = in;
		memset(&s, 0, sizeof(s));
		s.type = type;
		s.request = f[i].req;
		s.max_attempts = 3;
		s.nstages = 2;
		s.stage_names = stages;
		s.tasks = &t;
		s.ntasks = 1;
		if (spool_job_create(high.st, &s, f[i].job, &err) != SPOOL_OK)
			die("creating a job", &err);
		ref(r1, "request", f[i].req);
		ref(r2, "job", f[i].job);
		lineage(&high, "started", f[i].user, NULL,
		    (const char *[]){ r1, NULL }, (const char *[]){ r2, NULL });
	}
	step();
	for (rounds = 0; rounds < 10; rounds++) {
		struct spool_task t[16];
		struct spool_task_done d[16];
		struct spool_task_spec next[16];
		char result[16][512];
		size_t got;

		if (spool_job_claim(high.st, "spoolsim", type, 16, 600000, t,
		    &got, &err) != SPOOL_OK)
			die("claiming tasks", &err);
		if (got == 0)
			break;
		memset(d, 0, sizeof(d));
		for (k = 0; k < got; k++) {
			struct file *x = file_of_job(f, n, t[k].job);
			char rt[SPOOL_REF_MAX];

			if (x == NULL || t[k].stage > 1)
				die("claimed a task that is not ours", NULL);
			memcpy(x->task[t[k].stage], t[k].id, SPOOL_ID_MAX);
			ref(r1, "job", x->job);
			ref(rt, "task", t[k].id);
			lineage(&high, "started", x->user, NULL,
			    (const char *[]){ r1, NULL },
			    (const char *[]){ rt, NULL });
			d[k].task = t[k].id;
			if (t[k].stage == 0) {
				snprintf(result[k], sizeof(result[k]),
				    "{\"valid\":true,\"size\":%" PRIu64 "}",
				    x->size);
				next[k].type = NULL;
				next[k].input = "{\"step\":\"process\"}";
				d[k].next = &next[k];
				d[k].nnext = 1;
			} else {
				/* the output, derived from the task and the
				 * file */
				if (asprintf(&x->content, "spoolsim output of "
				    "%s (%s)\n", x->name, x->hash) < 0)
					die("out of memory", NULL);
				spool_uuid7(x->out);
				snprintf(x->outname, sizeof(x->outname), "%s.out",
				    x->name);
				hash_mem(x->outhash, x->content,
				    strlen(x->content));
				ref(r1, "file", x->hash);
				ref(r2, "output", x->out);
				lineage(&high, "derived", x->user, NULL,
				    (const char *[]){ rt, r1, NULL },
				    (const char *[]){ r2, NULL });
				entity(&high, r2, x->outname, x->outhash,
				    (int64_t)strlen(x->content));
				snprintf(result[k], sizeof(result[k]),
				    "{\"output\":\"%s\",\"hash\":\"%s\"}",
				    x->out, x->outhash);
			}
			d[k].result = result[k];
		}
		if (spool_job_complete(high.st, "spoolsim", d, got, &err) !=
		    SPOOL_OK)
			die("completing tasks", &err);
		for (k = 0; k < got; k++) {
			if (d[k].status != SPOOL_OK)
				die("a completion did not count", NULL);
			spool_task_release(&t[k]);
		}
		step();
	}

	/* high: the results go back in one batch */
	spool_uuid7(b2);
	ref(rb2, "batch", b2);
	if (spool_store_batch_plan(high.st, low.cfg->name, b2, &seq2, &err) !=
	    SPOOL_OK)
		die("planning the result batch", &err);
	spool_batch_name(bname, sizeof(bname), high.cfg->name, low.cfg->name,
	    seq2);
	for (i = 0; i < n; i++) {
		if (f[i].out[0] == '\0')
			die("a job did not finish", NULL);
		ref(r2, "output", f[i].out);
		lineage(&high, "batched", f[i].user, NULL,
		    (const char *[]){ r2, NULL }, (const char *[]){ rb2, NULL });
	}
	if (spool_store_batch_written(high.st, b2, bname, n, 0, 0, &err) !=
	    SPOOL_OK)
		die("writing the result batch", &err);
	entity(&high, rb2, bname, NULL, -1);
	step();
	if (spool_store_batch_set_state(high.st, b2, "exported", NULL, &err) !=
	    SPOOL_OK)
		die("exporting the result batch", &err);
	lineage(&high, "exported", NULL, NULL, (const char *[]){ rb2, NULL },
	    NULL);
	step();

	/* low: results arrive (with the ack of the first batch) and are
	 * delivered into results/REQ/ */
	if (spool_store_batch_received(low.st, high.cfg->name, seq2, b2, bname,
	    n, 0, 0, &dup, NULL, &err) != SPOOL_OK || dup)
		die("receiving the result batch", &err);
	entity(&low, rb2, bname, NULL, -1);
	if (spool_store_batch_set_state(low.st, b1, "acknowledged", NULL,
	    &err) != SPOOL_OK)
		die("acknowledging a batch", &err);
	for (i = 0; i < n; i++) {
		char dir[PATH_MAX];

		set_state(&low, f[i].req, "acknowledged");
		ref(r1, "output", f[i].out);
		ref(r2, "file", f[i].outhash);
		lineage(&low, "imported", f[i].user, b2,
		    (const char *[]){ rb2, NULL }, (const char *[]){ r1, NULL });
		entity(&low, r1, f[i].outname, f[i].outhash,
		    (int64_t)strlen(f[i].content));
		snprintf(dir, sizeof(dir), "%s/results/%s", low.cfg->root,
		    f[i].req);
		if (spool_mkdirs(dir, 0755, &err) != SPOOL_OK)
			die(dir, &err);
		if (snprintf(f[i].delivered, sizeof(f[i].delivered), "%s/%s",
		    dir, f[i].outname) >= (int)sizeof(f[i].delivered))
			die("path too long", NULL);
		write_file(f[i].delivered, f[i].content);
		lineage(&low, "delivered", f[i].user, NULL,
		    (const char *[]){ r1, NULL }, (const char *[]){ r2, NULL });
		entity(&low, r2, f[i].outname, f[i].outhash,
		    (int64_t)strlen(f[i].content));
		set_state(&low, f[i].req, "completed");
	}
	step();

	/* what the result batch carried back: high's lineage */
	merge(&low, &high);

	printf("batch=%s\nseq=%" PRIu64 "\nresult_batch=%s\nresult_seq=%"
	    PRIu64 "\n", b1, seq1, b2, seq2);
	for (i = 0; i < n; i++) {
		printf("req_%zu=%s\nhash_%zu=%s\njob_%zu=%s\ntask_%zu_0=%s\n"
		    "task_%zu_1=%s\nout_%zu=%s\nouthash_%zu=%s\n"
		    "delivered_%zu='%s'\n", i + 1, f[i].req, i + 1, f[i].hash,
		    i + 1, f[i].job, i + 1, f[i].task[0], i + 1, f[i].task[1],
		    i + 1, f[i].out, i + 1, f[i].outhash, i + 1,
		    f[i].delivered);
		free(f[i].content);
	}
	free(f);
	node_close(&low);
	node_close(&high);
	return 0;
}

/* ---- lost: a gap ------------------------------------------------------ */

static int
lost(int argc, char **argv)
{
	const char *lowconf = NULL, *highconf = NULL;
	struct node low, high;
	char b[SPOOL_ID_MAX], name[128];
	uint64_t lost_seq, seq;
	spool_err err;
	int i, dup;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--low") == 0 && i + 1 < argc)
			lowconf = argv[++i];
		else if (strcmp(argv[i], "--high") == 0 && i + 1 < argc)
			highconf = argv[++i];
		else
			usage();
	}
	if (lowconf == NULL || highconf == NULL)
		usage();
	node_open(&low, lowconf);
	node_open(&high, highconf);
	/* sent, never received */
	spool_uuid7(b);
	if (spool_store_batch_plan(high.st, low.cfg->name, b, &lost_seq,
	    &err) != SPOOL_OK)
		die("planning a batch", &err);
	spool_batch_name(name, sizeof(name), high.cfg->name, low.cfg->name,
	    lost_seq);
	if (spool_store_batch_written(high.st, b, name, 0, 0, 1024, &err) !=
	    SPOOL_OK ||
	    spool_store_batch_set_state(high.st, b, "exported", NULL, &err) !=
	    SPOOL_OK)
		die("writing a batch", &err);
	step();
	/* a heartbeat after it, received */
	spool_uuid7(b);
	if (spool_store_batch_plan(high.st, low.cfg->name, b, &seq, &err) !=
	    SPOOL_OK)
		die("planning a batch", &err);
	spool_batch_name(name, sizeof(name), high.cfg->name, low.cfg->name,
	    seq);
	if (spool_store_batch_written(high.st, b, name, 0, 0, 1024, &err) !=
	    SPOOL_OK)
		die("writing a batch", &err);
	step();
	if (spool_store_batch_received(low.st, high.cfg->name, seq, b, name, 0,
	    0, 1024, &dup, NULL, &err) != SPOOL_OK || dup)
		die("receiving a batch", &err);
	printf("lost_seq=%" PRIu64 "\nheartbeat=%s\nheartbeat_seq=%" PRIu64
	    "\n", lost_seq, b, seq);
	node_close(&low);
	node_close(&high);
	return 0;
}

/* ---- job: one to cancel or to retry ----------------------------------- */

static int
job(int argc, char **argv)
{
	static const char *const stages[] = { "process" };
	const char *conf = NULL;
	struct spool_task_spec t;
	struct spool_job_spec s;
	struct spool_request q;
	struct spool_task task;
	struct node nd;
	char jid[SPOOL_ID_MAX], tid[SPOOL_ID_MAX], type[32], user[64], rnd[9];
	uint8_t b[4];
	spool_err err;
	size_t got;
	int i, failing = 0;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--node") == 0 && i + 1 < argc)
			conf = argv[++i];
		else if (strcmp(argv[i], "--fail") == 0)
			failing = 1;
		else
			usage();
	}
	if (conf == NULL)
		usage();
	node_open(&nd, conf);
	user_name(user, sizeof(user), getuid());
	memset(&q, 0, sizeof(q));
	q.side = "process";
	q.type = "transfer";
	q.user = user;
	q.folder = "files";
	q.name = failing ? "doomed.bin" : "slow.bin";
	q.peer = nd.cfg->peer;
	q.state = "imported";
	q.size = -1;
	if (spool_store_request_add(nd.st, &q, &err) != SPOOL_OK)
		die("adding a request", &err);
	step();
	/* a task type of its own, so no other claim takes it */
	randombytes_buf(b, sizeof(b));
	spool_hex(rnd, b, sizeof(b));
	snprintf(type, sizeof(type), "sim-%s", rnd);
	t.type = type;
	t.input = "{\"sim\":true}";
	memset(&s, 0, sizeof(s));
	s.type = "transfer";
	s.request = q.id;
	s.max_attempts = 2;
	s.nstages = 1;
	s.stage_names = stages;
	s.tasks = &t;
	s.ntasks = 1;
	if (spool_job_create(nd.st, &s, jid, &err) != SPOOL_OK)
		die("creating a job", &err);
	step();
	memset(&task, 0, sizeof(task));
	tid[0] = '\0';
	if (failing) {
		if (spool_job_claim(nd.st, "spoolsim", type, 1, 600000, &task,
		    &got, &err) != SPOOL_OK || got != 1)
			die("claiming the task", got != 1 ? NULL : &err);
		step();
		memcpy(tid, task.id, sizeof(tid));
		if (spool_job_fail(nd.st, "spoolsim", task.id,
		    "simulated failure", 1, NULL, &err) != SPOOL_OK)
			die("failing the task", &err);
		spool_task_release(&task);
		step();
	}
	printf("request=%s\njob=%s\ntask=%s\n", q.id, jid, tid);
	node_close(&nd);
	return 0;
}

/* ---- cycle ------------------------------------------------------------ */

static int
cycle(int argc, char **argv)
{
	const char *conf = NULL;
	char r[SPOOL_ID_MAX], j[SPOOL_ID_MAX], o[SPOOL_ID_MAX];
	char rr[SPOOL_REF_MAX], rj[SPOOL_REF_MAX], ro[SPOOL_REF_MAX];
	struct node nd;
	int i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--node") == 0 && i + 1 < argc)
			conf = argv[++i];
		else
			usage();
	}
	if (conf == NULL)
		usage();
	node_open(&nd, conf);
	spool_uuid7(r);
	spool_uuid7(j);
	spool_uuid7(o);
	ref(rr, "request", r);
	ref(rj, "job", j);
	ref(ro, "output", o);
	lineage(&nd, "started", NULL, NULL, (const char *[]){ rr, NULL },
	    (const char *[]){ rj, NULL });
	step();
	lineage(&nd, "derived", NULL, NULL, (const char *[]){ rj, NULL },
	    (const char *[]){ ro, NULL });
	step();
	/* and round again: the output made the request */
	lineage(&nd, "derived", NULL, NULL, (const char *[]){ ro, NULL },
	    (const char *[]){ rr, NULL });
	entity(&nd, rr, "cycle-request", NULL, -1);
	entity(&nd, ro, "cycle-output", NULL, -1);
	printf("cyc_req=%s\ncyc_job=%s\ncyc_out=%s\n", r, j, o);
	node_close(&nd);
	return 0;
}

int
main(int argc, char **argv)
{
	int r;

	if (sodium_init() < 0)
		die("libsodium failed to initialise", NULL);
	/* an hour ago, on a whole second */
	sim_clock = (spool_now_ms() / 1000 - 3600) * 1000;
	if (argc < 2)
		usage();
	if (strcmp(argv[1], "chain") == 0)
		r = chain(argc - 2, argv + 2);
	else if (strcmp(argv[1], "lost") == 0)
		r = lost(argc - 2, argv + 2);
	else if (strcmp(argv[1], "job") == 0)
		r = job(argc - 2, argv + 2);
	else if (strcmp(argv[1], "cycle") == 0)
		r = cycle(argc - 2, argv + 2);
	else
		usage();
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fputs("spoolsim: cannot write output\n", stderr);
		return 1;
	}
	return r;
}
