/*
 * test_store.c - the store, on whichever backend the environment names.
 *
 * Without SPOOL_TEST_PG each test gets a fresh SQLite file in its working
 * directory; with SPOOL_TEST_PG=postgresql://... (tests/t/t0400 starts a
 * throwaway cluster) each test gets a fresh PostgreSQL schema.  The same
 * tests, the same assertions: that is the point.
 *
 * Over 800 lines: the unit tests of the store's modules, on one backend
 * setup.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "harness.h"
#include "spool/base/hash.h"
#include "spool/spool.h"
#include "spool/store/store_impl.h"
#include "spool/base/util.h"

static int64_t fake_ms = 1800000000000;

static int64_t
fake_clock(void *arg)
{
	(void)arg;
	return fake_ms;
}

/* A url for a fresh, empty store. */
static void
fresh_url(char *url, size_t n)
{
	const char *pg = getenv("SPOOL_TEST_PG");
	char cwd[512];

	if (pg == NULL || *pg == '\0') {
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			abort();
		snprintf(url, n, "sqlite://%s/store.db", cwd);
		return;
	} else {
		struct spool_db *db;
		char schema[64], sql[128];
		spool_err err;
		unsigned rnd;

		randombytes_buf(&rnd, sizeof(rnd));
		snprintf(schema, sizeof(schema), "t%ld_%u", (long)getpid(), rnd);
		snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", schema);
		if (spool_db_pg.open(&db, pg, &err) != SPOOL_OK ||
		    spool_db_pg.script(db, sql, &err) != SPOOL_OK) {
			fprintf(stderr, "# %s\n", err.msg);
			abort();
		}
		spool_db_pg.close(db);
		snprintf(url, n, "%s%coptions=-csearch_path%%3D%s", pg,
		    strchr(pg, '?') ? '&' : '?', schema);
	}
}

static struct spool_store *
open_fresh(char *url, size_t n)
{
	struct spool_store *st = NULL;
	spool_err err;

	fresh_url(url, n);
	if (spool_store_open(&st, url, "high", &err) != SPOOL_OK) {
		fprintf(stderr, "# open: %s\n", err.msg);
		return NULL;
	}
	spool_store_set_clock(st, fake_clock, NULL);
	return st;
}

/* ---- schema ------------------------------------------------------------ */

TEST(store_open_fresh_is_latest)
{
	char url[1024];
	struct spool_store *st = open_fresh(url, sizeof(url));
	spool_err err;
	int v;

	REQUIRE(st != NULL);
	CHECK_OK(spool_store_version(st, &v, &err));
	CHECK_INT(v, SPOOL_STORE_VERSION);
	CHECK_STR(spool_store_backend(st),
	    getenv("SPOOL_TEST_PG") ? "postgresql" : "sqlite");
	spool_store_close(st);
	/* opening again changes nothing */
	CHECK_OK(spool_store_open(&st, url, "high", &err));
	CHECK_OK(spool_store_version(st, &v, &err));
	CHECK_INT(v, SPOOL_STORE_VERSION);
	spool_store_close(st);
}

TEST(store_older_version_is_migrated)
{
	char url[1024], id[SPOOL_ID_MAX];
	struct spool_store *st;
	spool_err err;
	uint64_t seq;
	int v;

	fresh_url(url, sizeof(url));
	CHECK_OK(spool_store_open_at(&st, url, "low", 1, &err));
	CHECK_OK(spool_store_version(st, &v, &err));
	CHECK_INT(v, 1);
	spool_uuid7(id);
	CHECK_OK(spool_store_batch_plan(st, "high", id, &seq, &err));
	CHECK_INT(seq, 1);
	/* version 2's table is not there yet */
	CHECK(spool_job_set_cap(st, "raster", 1, &err) != SPOOL_OK);
	spool_store_close(st);

	CHECK_OK(spool_store_open(&st, url, "low", &err));
	CHECK_OK(spool_store_version(st, &v, &err));
	CHECK_INT(v, SPOOL_STORE_VERSION);
	CHECK_OK(spool_job_set_cap(st, "raster", 1, &err));
	/* what version 1 held is still there */
	spool_uuid7(id);
	CHECK_OK(spool_store_batch_plan(st, "high", id, &seq, &err));
	CHECK_INT(seq, 2);
	spool_store_close(st);
}

static int
collect_id(void *arg, const struct spool_store_row *row)
{
	char *ids = arg;

	strcat(ids, row->col[0]);
	strcat(ids, " ");
	return 0;
}

/* Version 5 marks the processed requests answered before it as answered:
 * none is answered twice, and only the others are found. */
TEST(store_v5_knows_what_was_answered)
{
	char url[1024], ids[256];
	struct spool_store *st;
	spool_err err;

	fresh_url(url, sizeof(url));
	CHECK_OK(spool_store_open_at(&st, url, "high", 4, &err));
	CHECK_OK(st_q0(st, NULL, &err, "INSERT INTO request (id, side, type, "
	    "usr, name, peer, state, created, updated) VALUES "
	    "('r1', 'process', 'transfer', 'u', 'a', 'low', 'succeeded', 1, 2), "
	    "('r2', 'process', 'transfer', 'u', 'b', 'low', 'failed', 1, 3), "
	    "('r3', 'process', 'transfer', 'u', 'c', 'low', 'running', 1, 4)"));
	CHECK_OK(st_q0(st, NULL, &err, "INSERT INTO outbox (id, peer, kind, "
	    "request, priority, created, size, item) VALUES ('o1', 'low', "
	    "'result', 'r1', 0, 5, 0, '{}')"));
	spool_store_close(st);

	CHECK_OK(spool_store_open(&st, url, "high", &err));
	ids[0] = '\0';
	CHECK_OK(spool_store_unanswered(st, 10, collect_id, ids, &err));
	CHECK_STR(ids, "r2 ");
	CHECK_OK(spool_store_outbox_add(st, &(struct spool_outbox_item){
	    .peer = "low", .kind = "result", .request = "r2", .item = "{}" },
	    &err));
	ids[0] = '\0';
	CHECK_OK(spool_store_unanswered(st, 10, collect_id, ids, &err));
	CHECK_STR(ids, "");
	CHECK_OK(st_q0(st, NULL, &err, "UPDATE request SET state = "
	    "'succeeded' WHERE id = 'r3'"));
	ids[0] = '\0';
	CHECK_OK(spool_store_unanswered(st, 10, collect_id, ids, &err));
	CHECK_STR(ids, "r3 ");
	spool_store_close(st);
}

TEST(store_newer_version_is_refused)
{
	char url[1024];
	struct spool_store *st = open_fresh(url, sizeof(url));
	spool_err err;

	REQUIRE(st != NULL);
	CHECK_OK(st_q0(st, NULL, &err, "UPDATE meta SET value = '99' WHERE "
	    "key = 'schema_version'"));
	spool_store_close(st);
	CHECK_FAIL(spool_store_open(&st, url, "high", &err), SPOOL_ERR_STORE,
	    "store schema version 99 is newer than this spool's 5");
}

TEST(store_bad_url_is_a_config_error)
{
	struct spool_store *st;
	spool_err err;

	CHECK_FAIL(spool_store_open(&st, "mysql://x", "a", &err),
	    SPOOL_ERR_CONFIG, "use sqlite://PATH or postgresql://");
}

/* ---- sequence ledgers ----------------------------------------------- */

TEST(store_seq_is_per_peer_and_every_seq_has_a_batch)
{
	char url[1024], id[4][SPOOL_ID_MAX];
	struct spool_store *st = open_fresh(url, sizeof(url));
	struct spool_batch_rec b;
	spool_err err;
	uint64_t seq;
	int i;

	REQUIRE(st != NULL);
	for (i = 0; i < 3; i++) {
		spool_uuid7(id[i]);
		CHECK_OK(spool_store_batch_plan(st, "low", id[i], &seq, &err));
		CHECK_INT(seq, i + 1);
	}
	spool_uuid7(id[3]);
	CHECK_OK(spool_store_batch_plan(st, "other", id[3], &seq, &err));
	CHECK_INT(seq, 1);
	CHECK_OK(spool_store_batch_written(st, id[0], "a.batch", 2, 100, 2048,
	    &err));
	CHECK_OK(spool_store_batch_set_state(st, id[0], "exported", NULL,
	    &err));
	CHECK_OK(spool_store_batch_set_state(st, id[0], "acknowledged", NULL,
	    &err));
	CHECK_FAIL(spool_store_batch_set_state(st, id[0], "written", NULL,
	    &err), SPOOL_ERR_STATE, "is acknowledged, cannot become written");
	CHECK_OK(spool_store_batch_set_state(st, id[1], "abandoned",
	    "disk full", &err));
	CHECK_OK(spool_store_batch_get(st, id[0], &b, &err));
	CHECK_STR(b.state, "acknowledged");
	CHECK_STR(b.dir, "out");
	CHECK_STR(b.peer, "low");
	CHECK_INT(b.seq, 1);
	CHECK_INT(b.tar, 2048);
	CHECK_STR(b.name, "a.batch");
	spool_batch_rec_release(&b);
	/* a prefix of 8+ characters finds it too */
	{
		char pre[25];
		snprintf(pre, sizeof(pre), "%.24s", id[1]);
		CHECK_OK(spool_store_batch_get(st, pre, &b, &err));
		CHECK_STR(b.state, "abandoned");
		CHECK_STR(b.reason, "disk full");
		spool_batch_rec_release(&b);
	}
	CHECK_FAIL(spool_store_batch_get(st, "0000000000", &b, &err),
	    SPOOL_ERR_NOTFOUND, "no batch");
	/* a raised floor is kept; a lower one is ignored */
	CHECK_OK(spool_store_seq_floor(st, "low", 10, &err));
	CHECK_OK(spool_store_seq_floor(st, "low", 5, &err));
	spool_uuid7(id[2]);
	CHECK_OK(spool_store_batch_plan(st, "low", id[2], &seq, &err));
	CHECK_INT(seq, 10);
	spool_store_close(st);
}

static void
gaps_are(struct spool_store *st, const char *peer, const uint64_t *want,
    size_t nwant)
{
	uint64_t *got;
	size_t n, i;
	spool_err err;
	int more;

	CHECK_OK(spool_store_gaps(st, peer, &got, &n, 100, &more, &err));
	CHECK_INT(n, nwant);
	CHECK_INT(more, 0);
	for (i = 0; i < n && i < nwant; i++)
		CHECK_INT(got[i], want[i]);
	free(got);
}

TEST(store_received_batches_gaps_and_replays)
{
	char url[1024], ids[10][SPOOL_ID_MAX], other[SPOOL_ID_MAX];
	struct spool_store *st = open_fresh(url, sizeof(url));
	static const uint64_t seqs[] = { 1, 2, 4, 7 };
	struct spool_batch_rec b;
	char row[SPOOL_ID_MAX];
	spool_err err;
	uint64_t pruned;
	size_t i;
	int dup;

	REQUIRE(st != NULL);
	for (i = 0; i < 10; i++)
		spool_uuid7(ids[i]);
	for (i = 0; i < 4; i++) {
		CHECK_OK(spool_store_batch_received(st, "low", seqs[i],
		    ids[seqs[i]], "x.batch", 1, 10, 1024, &dup, row, &err));
		CHECK_INT(dup, 0);
		CHECK_STR(row, ids[seqs[i]]);
	}
	gaps_are(st, "low", (const uint64_t[]){ 3, 5, 6 }, 3);
	/* the same batch again, and another batch claiming a used seq */
	CHECK_OK(spool_store_batch_received(st, "low", 2, ids[2], "x.batch", 1,
	    10, 1024, &dup, row, &err));
	CHECK_INT(dup, 1);
	CHECK_OK(spool_store_batch_get(st, row, &b, &err));
	CHECK_STR(b.state, "duplicate");
	CHECK_STR(b.reason, "batch already received");
	spool_batch_rec_release(&b);
	/* a conflict, above and below the mark: no row, the caller
	 * quarantines it */
	spool_uuid7(other);
	CHECK_OK(spool_store_batch_received(st, "low", 7, other, "y.batch", 1,
	    10, 1024, &dup, row, &err));
	CHECK_INT(dup, 2);
	CHECK_OK(spool_store_batch_received(st, "low", 1, other, "y.batch", 1,
	    10, 1024, &dup, row, &err));
	CHECK_INT(dup, 2);
	/* the tail: a heartbeat says 9 were sent */
	CHECK_OK(spool_store_peer_sent_up_to(st, "low", 9, &err));
	gaps_are(st, "low", (const uint64_t[]){ 3, 5, 6, 8, 9 }, 5);
	CHECK_OK(spool_store_batch_received(st, "low", 3, ids[3], "x.batch", 1,
	    10, 1024, &dup, row, &err));
	CHECK_INT(dup, 0);
	gaps_are(st, "low", (const uint64_t[]){ 5, 6, 8, 9 }, 4);
	/* pruning keeps refusing what the mark covers */
	fake_ms += 1000;
	CHECK_OK(spool_store_seen_prune(st, fake_ms, &pruned, &err));
	CHECK_INT(pruned, 4); /* 1..4; 7 is above the mark */
	CHECK_OK(spool_store_batch_received(st, "low", 1, ids[1], "x.batch", 1,
	    10, 1024, &dup, row, &err));
	CHECK_INT(dup, 1);
	gaps_are(st, "low", (const uint64_t[]){ 5, 6, 8, 9 }, 4);
	/* a peer never heard of has no gaps */
	gaps_are(st, "nobody", NULL, 0);
	/* quarantined: what is known is kept, with the reason */
	CHECK_OK(spool_store_batch_quarantined(st, "bad.batch", NULL, 0, NULL,
	    "signature invalid", row, &err));
	CHECK_OK(spool_store_batch_get(st, row, &b, &err));
	CHECK_STR(b.state, "quarantined");
	CHECK_STR(b.reason, "signature invalid");
	CHECK_STR(b.name, "bad.batch");
	spool_batch_rec_release(&b);
	spool_store_close(st);
}

/* ---- requests ------------------------------------------------------- */

static int
count_row(void *arg, const struct spool_store_row *r)
{
	(void)r;
	(*(int *)arg)++;
	return 0;
}

TEST(store_request_states_and_history)
{
	char url[1024];
	struct spool_store *st = open_fresh(url, sizeof(url));
	struct spool_request q;
	spool_err err;
	int n = 0;

	REQUIRE(st != NULL);
	memset(&q, 0, sizeof(q));
	q.side = "submit";
	q.type = "transfer";
	q.user = "alice";
	q.folder = "files";
	q.name = "dem.tif";
	q.peer = "high";
	q.state = "accepted";
	q.size = 42;
	CHECK_OK(spool_store_request_add(st, &q, &err));
	CHECK(spool_uuid_ok(q.id));
	CHECK_FAIL(spool_store_request_add(st, &q, &err), SPOOL_ERR_EXISTS,
	    "already exists");
	CHECK_OK(spool_store_request_set_state(st, q.id, "batched", NULL,
	    &err));
	CHECK_FAIL(spool_store_request_set_state(st, q.id, "accepted", NULL,
	    &err), SPOOL_ERR_STATE, "is batched, cannot become accepted");
	CHECK_FAIL(spool_store_request_set_state(st, q.id, "rejected", NULL,
	    &err), SPOOL_ERR_STATE, "cannot become rejected");
	CHECK_FAIL(spool_store_request_set_state(st, q.id, "running", NULL,
	    &err), SPOOL_ERR_STATE, "cannot become running");
	/* a result may overtake the ack */
	CHECK_OK(spool_store_request_set_state(st, q.id, "completed", NULL,
	    &err));
	CHECK_FAIL(spool_store_request_set_state(st, q.id, "failed", "x",
	    &err), SPOOL_ERR_STATE, "is completed");
	CHECK_FAIL(spool_store_request_set_state(st, "01890a5d-ac96-774b-"
	    "bcce-b302099a8057", "failed", "x", &err), SPOOL_ERR_NOTFOUND,
	    "no request");
	CHECK_OK(spool_store_history(st, "request", q.id, count_row, &n,
	    &err));
	CHECK_INT(n, 3);
	n = 0;
	CHECK_OK(spool_store_list_requests(st, "completed", 0, count_row, &n,
	    &err));
	CHECK_INT(n, 1);
	n = 0;
	CHECK_OK(spool_store_list_requests(st, "accepted", 0, count_row, &n,
	    &err));
	CHECK_INT(n, 0);
	spool_store_close(st);
}

TEST(store_blobs_and_their_references)
{
	char url[1024];
	struct spool_store *st = open_fresh(url, sizeof(url));
	spool_err err;
	int n = 0;

	REQUIRE(st != NULL);
	CHECK_OK(spool_store_blob_add(st, "aa", 3, "store/blobs/aa", &err));
	CHECK_OK(spool_store_blob_add(st, "aa", 3, "store/blobs/aa", &err));
	CHECK_OK(spool_store_blob_add(st, "bb", 5, "store/blobs/bb", &err));
	CHECK_OK(spool_store_blob_ref(st, "aa", "r1", "upload", &err));
	CHECK_OK(spool_store_blob_ref(st, "aa", "r1", "upload", &err));
	CHECK_OK(spool_store_blob_orphans(st,
	    (int (*)(void *, const char *, const char *))(void *)count_row,
	    &n, &err));
	CHECK_INT(n, 1); /* bb */
	CHECK_OK(spool_store_blob_forget(st, "aa", &err)); /* still held */
	CHECK_OK(spool_store_blob_unref(st, "aa", "r1", "upload", &err));
	n = 0;
	CHECK_OK(spool_store_blob_orphans(st,
	    (int (*)(void *, const char *, const char *))(void *)count_row,
	    &n, &err));
	CHECK_INT(n, 2);
	CHECK_OK(spool_store_blob_forget(st, "aa", &err));
	CHECK_OK(spool_store_blob_forget(st, "bb", &err));
	n = 0;
	CHECK_OK(spool_store_blob_orphans(st,
	    (int (*)(void *, const char *, const char *))(void *)count_row,
	    &n, &err));
	CHECK_INT(n, 0);
	spool_store_close(st);
}

/* ---- the job engine ------------------------------------------------- */

static int
claim(struct spool_store *st, const char *w, const char *type, size_t max,
    struct spool_task *t, size_t *n)
{
	spool_err err;
	int r = spool_job_claim(st, w, type, max, 30000, t, n, &err);

	if (r != SPOOL_OK)
		fprintf(stderr, "# claim: %s\n", err.msg);
	return r;
}

static void
release_all(struct spool_task *t, size_t n)
{
	while (n-- > 0)
		spool_task_release(&t[n]);
}

struct collect {
	char states[64][16];
	char results[64][64];
	int stages[64];
	int n;
};

static int
collect_task(void *arg, const struct spool_store_row *r)
{
	struct collect *c = arg;

	if (c->n >= 64)
		return 0;
	snprintf(c->states[c->n], 16, "%s", r->col[5]);
	snprintf(c->results[c->n], 64, "%s", r->col[14] ? r->col[14] : "");
	c->stages[c->n] = atoi(r->col[2]);
	c->n++;
	return 0;
}

static void
job_state_is(struct spool_store *st, const char *job, const char *want,
    const char *want_error)
{
	struct spool_dbres res;
	spool_err err;

	CHECK_OK(st_q(st, &res, &err, "SELECT state, error FROM job WHERE "
	    "id = ?", DBS(job)));
	CHECK_STR(spool_dbres_text(&res, 0, 0), want);
	if (want_error != NULL) {
		const char *e = spool_dbres_text(&res, 0, 1);
		if (e == NULL || strstr(e, want_error) == NULL)
			unit_fail(__FILE__, __LINE__, "job error '%s' lacks "
			    "'%s'", e ? e : "(null)", want_error);
	}
	spool_dbres_release(&res);
}

TEST(store_job_three_stages_with_a_planner)
{
	char url[1024], job[SPOOL_ID_MAX];
	struct spool_store *st = open_fresh(url, sizeof(url));
	static const char *const names[] = { "tile", "plan", "process" };
	struct spool_task_spec first[4], planner = { NULL, "plan" }, next[4];
	struct spool_job_spec js;
	struct spool_task t[8];
	struct spool_task_done d[8];
	struct collect c;
	char in[4][16], sum[64] = "", nin[4][64];
	spool_err err;
	size_t n, i;

	REQUIRE(st != NULL);
	for (i = 0; i < 4; i++) {
		snprintf(in[i], sizeof(in[i]), "t%zu", i);
		first[i].type = NULL;
		first[i].input = in[i];
	}
	memset(&js, 0, sizeof(js));
	js.type = "raster";
	js.max_attempts = 3;
	js.nstages = 3;
	js.stage_names = names;
	js.tasks = first;
	js.ntasks = 4;
	CHECK_OK(spool_job_create(st, &js, job, &err));

	/* stage 0: four tasks, claimed in two rounds */
	REQUIRE(claim(st, "w1", NULL, 3, t, &n) == SPOOL_OK);
	CHECK_INT(n, 3);
	memset(d, 0, sizeof(d));
	for (i = 0; i < n; i++) {
		d[i].task = t[i].id;
		d[i].result = t[i].input; /* result = "t0".. */
	}
	CHECK_OK(spool_job_complete(st, "w1", d, n, &err));
	for (i = 0; i < n; i++)
		CHECK_INT(d[i].status, SPOOL_OK);
	release_all(t, n);
	REQUIRE(claim(st, "w2", NULL, 8, t, &n) == SPOOL_OK);
	CHECK_INT(n, 1); /* stage 1 is not runnable before stage 0 ends */
	CHECK_INT(t[0].stage, 0);
	memset(d, 0, sizeof(d));
	d[0].task = t[0].id;
	d[0].result = t[0].input;
	CHECK_OK(spool_job_complete(st, "w2", d, 1, &err));
	release_all(t, n);

	/* nobody planned stages 1 and 2: empty stages are passed over and
	 * the job is done */
	REQUIRE(claim(st, "w1", NULL, 8, t, &n) == SPOOL_OK);
	CHECK_INT(n, 0);
	job_state_is(st, job, "succeeded", NULL);
	spool_store_close(st);

	/* Again, properly: stage 0's tasks each plan nothing but the last
	 * one plans the single planner task of stage 1, which plans stage
	 * 2 from stage 0's results. */
	st = open_fresh(url, sizeof(url));
	REQUIRE(st != NULL);
	CHECK_OK(spool_job_create(st, &js, job, &err));
	REQUIRE(claim(st, "w1", NULL, 8, t, &n) == SPOOL_OK);
	CHECK_INT(n, 4);
	memset(d, 0, sizeof(d));
	for (i = 0; i < n; i++) {
		d[i].task = t[i].id;
		d[i].result = t[i].input;
	}
	/* one of them plans the planner (any may; the store adds it to
	 * stage 1 and queues it when stage 0 is done) */
	d[2].next = &planner;
	d[2].nnext = 1;
	CHECK_OK(spool_job_complete(st, "w1", d, n, &err));
	release_all(t, n);
	REQUIRE(claim(st, "w1", NULL, 8, t, &n) == SPOOL_OK);
	REQUIRE(n == 1);
	CHECK_INT(t[0].stage, 1);
	CHECK_STR(t[0].input, "plan");
	/* the planner reads stage 0's results, in order */
	memset(&c, 0, sizeof(c));
	CHECK_OK(spool_store_job_tasks(st, job, collect_task, &c, &err));
	CHECK_INT(c.n, 5);
	for (i = 0; i < 4; i++) {
		CHECK_INT(c.stages[i], 0);
		CHECK_STR(c.results[i], in[i]);
		CHECK_STR(c.states[i], "done");
		snprintf(nin[i], sizeof(nin[i]), "from %s", c.results[i]);
		next[i].type = "raster-tile";
		next[i].input = nin[i];
		strcat(sum, c.results[i]);
	}
	memset(d, 0, sizeof(d));
	d[0].task = t[0].id;
	d[0].result = sum;
	d[0].next = next;
	d[0].nnext = 4;
	CHECK_OK(spool_job_complete(st, "w1", d, 1, &err));
	release_all(t, 1);
	/* stage 2: the four planned tasks, of their own type */
	REQUIRE(claim(st, "w3", "raster-tile", 8, t, &n) == SPOOL_OK);
	CHECK_INT(n, 4);
	memset(d, 0, sizeof(d));
	for (i = 0; i < n; i++) {
		CHECK_INT(t[i].stage, 2);
		d[i].task = t[i].id;
		d[i].result = t[i].input;
	}
	job_state_is(st, job, "running", NULL);
	CHECK_OK(spool_job_complete(st, "w3", d, n, &err));
	release_all(t, n);
	job_state_is(st, job, "succeeded", NULL);
	/* all results of all stages, in order */
	memset(&c, 0, sizeof(c));
	CHECK_OK(spool_store_job_tasks(st, job, collect_task, &c, &err));
	REQUIRE(c.n == 9);
	CHECK_STR(c.results[4], "t0t1t2t3");
	for (i = 0; i < 4; i++) {
		CHECK_INT(c.stages[5 + i], 2);
		CHECK_STR(c.results[5 + i], nin[i]);
	}
	spool_store_close(st);
}

static void
one_task_job(struct spool_store *st, const char *type, int prio,
    int max_attempts, int64_t deadline, char job[SPOOL_ID_MAX],
    const char *input)
{
	struct spool_task_spec ts = { NULL, input };
	struct spool_job_spec js;
	spool_err err;

	memset(&js, 0, sizeof(js));
	js.type = type;
	js.priority = prio;
	js.deadline = deadline;
	js.max_attempts = max_attempts;
	js.nstages = 1;
	js.tasks = &ts;
	js.ntasks = 1;
	if (spool_job_create(st, &js, job, &err) != SPOOL_OK)
		unit_fail(__FILE__, __LINE__, "create: %s", err.msg);
}

TEST(store_job_failure_backs_off_then_fails_the_job)
{
	char url[1024], job[SPOOL_ID_MAX];
	struct spool_store *st = open_fresh(url, sizeof(url));
	struct spool_request q;
	struct spool_task t[2];
	int64_t at, delay[4];
	spool_err err;
	size_t n;
	int i;

	REQUIRE(st != NULL);
	spool_job_set_backoff(st, 1000, 60000);
	memset(&q, 0, sizeof(q));
	q.side = "process";
	q.type = "raster";
	q.user = "alice";
	q.name = "x.tif";
	q.state = "imported";
	CHECK_OK(spool_store_request_add(st, &q, &err));
	{
		struct spool_task_spec ts = { NULL, "x" };
		struct spool_job_spec js = { "raster", q.id, 0, 0, 4, 1, NULL,
			&ts, 1 };
		CHECK_OK(spool_job_create(st, &js, job, &err));
	}
	for (i = 0; i < 4; i++) {
		REQUIRE(claim(st, "w", NULL, 1, t, &n) == SPOOL_OK);
		REQUIRE(n == 1);
		CHECK_INT(t[0].attempt, i + 1);
		CHECK_OK(spool_job_fail(st, "w", t[0].id, "gdal: not a raster",
		    0, &at, &err));
		delay[i] = at ? at - fake_ms : 0;
		/* not runnable before its time */
		if (at) {
			size_t m;
			struct spool_task u[1];
			fake_ms = at - 1;
			REQUIRE(claim(st, "w", NULL, 1, u, &m) == SPOOL_OK);
			CHECK_INT(m, 0);
			fake_ms = at;
		}
		release_all(t, n);
	}
	/* 1 s, 2 s, 4 s, each +-50%; then no retry */
	CHECK(delay[0] >= 500 && delay[0] <= 1500);
	CHECK(delay[1] >= 1000 && delay[1] <= 3000);
	CHECK(delay[2] >= 2000 && delay[2] <= 6000);
	CHECK_INT(delay[3], 0);
	job_state_is(st, job, "failed", "failed 4 times: gdal: not a raster");
	/* the request followed its job */
	{
		struct spool_dbres res;
		CHECK_OK(st_q(st, &res, &err, "SELECT state, error FROM request "
		    "WHERE id = ?", DBS(q.id)));
		CHECK_STR(spool_dbres_text(&res, 0, 0), "failed");
		CHECK(strstr(spool_dbres_text(&res, 0, 1), "not a raster"));
		spool_dbres_release(&res);
	}
	/* retry runs it again from scratch */
	CHECK_OK(spool_job_retry(st, job, &err));
	job_state_is(st, job, "running", NULL);
	REQUIRE(claim(st, "w", NULL, 1, t, &n) == SPOOL_OK);
	REQUIRE(n == 1);
	CHECK_INT(t[0].attempt, 1);
	{
		struct spool_task_done d = { t[0].id, "ok", NULL, 0, 0 };
		CHECK_OK(spool_job_complete(st, "w", &d, 1, &err));
		CHECK_INT(d.status, SPOOL_OK);
	}
	release_all(t, n);
	job_state_is(st, job, "succeeded", NULL);
	CHECK_FAIL(spool_job_retry(st, job, &err), SPOOL_ERR_STATE,
	    "only a failed, cancelled or expired job");
	/* a permanent failure does not retry */
	one_task_job(st, "vector", 0, 5, 0, job, "y");
	REQUIRE(claim(st, "w", NULL, 1, t, &n) == SPOOL_OK);
	CHECK_OK(spool_job_fail(st, "w", t[0].id, "unsupported type", 1, &at,
	    &err));
	CHECK_INT(at, 0);
	release_all(t, n);
	job_state_is(st, job, "failed", "unsupported type");
	spool_store_close(st);
}

TEST(store_job_cancel_mid_stage)
{
	char url[1024], job[SPOOL_ID_MAX];
	struct spool_store *st = open_fresh(url, sizeof(url));
	struct spool_task_spec ts[4] = { { NULL, "a" }, { NULL, "b" },
		{ NULL, "c" }, { NULL, "d" } };
	struct spool_job_spec js = { "raster", NULL, 0, 0, 3, 2, NULL, ts, 4 };
	struct spool_task t[4], u[4];
	struct spool_task_done d;
	spool_err err;
	size_t n, m;

	REQUIRE(st != NULL);
	CHECK_OK(spool_job_create(st, &js, job, &err));
	REQUIRE(claim(st, "w1", NULL, 2, t, &n) == SPOOL_OK);
	REQUIRE(n == 2);
	memset(&d, 0, sizeof(d));
	d.task = t[0].id;
	CHECK_OK(spool_job_complete(st, "w1", &d, 1, &err));
	CHECK_OK(spool_job_cancel(st, t[1].id, "operator said so", &err));
	job_state_is(st, job, "cancelled", "operator said so");
	/* the running task learns it at its next heartbeat */
	CHECK_FAIL(spool_job_heartbeat(st, "w1", t[1].id, 30000, &err),
	    SPOOL_ERR_CANCELLED, "cancelled");
	d.task = t[1].id;
	CHECK_OK(spool_job_complete(st, "w1", &d, 1, &err));
	CHECK_INT(d.status, SPOOL_ERR_CANCELLED);
	REQUIRE(claim(st, "w2", NULL, 4, u, &m) == SPOOL_OK);
	CHECK_INT(m, 0);
	CHECK_FAIL(spool_job_cancel(st, job, NULL, &err), SPOOL_ERR_STATE,
	    "is cancelled");
	/* retried, the unfinished three run; the done one does not */
	CHECK_OK(spool_job_retry(st, job, &err));
	REQUIRE(claim(st, "w2", NULL, 4, u, &m) == SPOOL_OK);
	CHECK_INT(m, 3);
	release_all(u, m);
	release_all(t, n);
	spool_store_close(st);
}

TEST(store_job_expires_at_its_deadline)
{
	char url[1024], job[SPOOL_ID_MAX], live[SPOOL_ID_MAX];
	struct spool_store *st = open_fresh(url, sizeof(url));
	struct spool_task t[2];
	spool_err err;
	uint64_t requeued, expired;
	size_t n;

	REQUIRE(st != NULL);
	one_task_job(st, "query", 0, 3, fake_ms + 5000, job, "q");
	one_task_job(st, "query", 0, 3, 0, live, "r");
	REQUIRE(claim(st, "w", NULL, 1, t, &n) == SPOOL_OK);
	REQUIRE(n == 1);
	fake_ms += 6000;
	CHECK_OK(spool_job_sweep(st, &requeued, &expired, &err));
	CHECK_INT(expired, 1);
	job_state_is(st, job, "expired", "deadline passed");
	if (strcmp(t[0].job, job) == 0)
		CHECK_FAIL(spool_job_heartbeat(st, "w", t[0].id, 1000, &err),
		    SPOOL_ERR_CANCELLED, "cancelled");
	release_all(t, n);
	job_state_is(st, live, "running", NULL);
	spool_store_close(st);
}

TEST(store_job_lost_leases_requeue_and_count)
{
	char url[1024], job[SPOOL_ID_MAX];
	struct spool_store *st = open_fresh(url, sizeof(url));
	struct spool_task t[1], u[1];
	struct spool_task_done d;
	spool_err err;
	size_t n, m;
	int i;

	REQUIRE(st != NULL);
	spool_job_set_backoff(st, 10, 10);
	one_task_job(st, "transfer", 0, 3, 0, job, "x");
	REQUIRE(spool_job_claim(st, "dead", NULL, 1, 1000, t, &n, &err) ==
	    SPOOL_OK && n == 1);
	fake_ms += 500;
	CHECK_OK(spool_job_heartbeat(st, "dead", t[0].id, 1000, &err));
	fake_ms += 1100;
	/* the lease ran out: requeued after its backoff, then another
	 * worker gets it, attempt 2 */
	CHECK_OK(spool_job_sweep(st, NULL, NULL, &err));
	fake_ms += 20;
	REQUIRE(spool_job_claim(st, "alive", NULL, 1, 1000, u, &m, &err) ==
	    SPOOL_OK);
	REQUIRE(m == 1);
	CHECK_STR(u[0].id, t[0].id);
	CHECK_INT(u[0].attempt, 2);
	/* the dead worker's late answers do not count */
	CHECK_FAIL(spool_job_heartbeat(st, "dead", t[0].id, 1000, &err),
	    SPOOL_ERR_LOST, "lease lost");
	memset(&d, 0, sizeof(d));
	d.task = t[0].id;
	d.result = "late";
	CHECK_OK(spool_job_complete(st, "dead", &d, 1, &err));
	CHECK_INT(d.status, SPOOL_ERR_LOST);
	CHECK_FAIL(spool_job_fail(st, "dead", t[0].id, "x", 0, NULL, &err),
	    SPOOL_ERR_LOST, "lease lost");
	release_all(u, m);
	/* a task that kills every worker fails the job when attempts end */
	for (i = 0; i < 2; i++) {
		fake_ms += 2000;
		CHECK_OK(spool_job_sweep(st, NULL, NULL, &err)); /* requeue */
		fake_ms += 20;
		REQUIRE(spool_job_claim(st, "alive", NULL, 1, 1000, u, &m,
		    &err) == SPOOL_OK);
		CHECK_INT(m, i == 0 ? 1 : 0);
		if (m)
			release_all(u, m);
	}
	job_state_is(st, job, "failed", "lost its lease on attempt 3 of 3");
	release_all(t, n);
	spool_store_close(st);
}

TEST(store_job_priority_then_age)
{
	char url[1024], j[4][SPOOL_ID_MAX];
	struct spool_store *st = open_fresh(url, sizeof(url));
	struct spool_task t[4];
	size_t n;

	REQUIRE(st != NULL);
	one_task_job(st, "transfer", 0, 1, 0, j[0], "old0");
	fake_ms += 10;
	one_task_job(st, "transfer", 5, 1, 0, j[1], "p5");
	fake_ms += 10;
	one_task_job(st, "transfer", 0, 1, 0, j[2], "new0");
	fake_ms += 10;
	one_task_job(st, "transfer", -1, 1, 0, j[3], "m1");
	REQUIRE(claim(st, "w", NULL, 4, t, &n) == SPOOL_OK);
	REQUIRE(n == 4);
	CHECK_STR(t[0].input, "p5");
	CHECK_STR(t[1].input, "old0");
	CHECK_STR(t[2].input, "new0");
	CHECK_STR(t[3].input, "m1");
	release_all(t, n);
	spool_store_close(st);
}

TEST(store_job_caps_per_type)
{
	char url[1024], j[SPOOL_ID_MAX];
	struct spool_store *st = open_fresh(url, sizeof(url));
	struct spool_task t[8], u[8];
	struct spool_task_done d;
	spool_err err;
	size_t n, m, i, raster = 0;

	REQUIRE(st != NULL);
	CHECK_OK(spool_job_set_cap(st, "raster", 1, &err));
	for (i = 0; i < 3; i++)
		one_task_job(st, "raster", 0, 1, 0, j, "r");
	one_task_job(st, "vector", 0, 1, 0, j, "v");
	REQUIRE(claim(st, "w", NULL, 8, t, &n) == SPOOL_OK);
	CHECK_INT(n, 2);
	for (i = 0; i < n; i++)
		raster += strcmp(t[i].type, "raster") == 0;
	CHECK_INT(raster, 1);
	REQUIRE(claim(st, "w", "raster", 8, u, &m) == SPOOL_OK);
	CHECK_INT(m, 0);
	memset(&d, 0, sizeof(d));
	for (i = 0; i < n; i++)
		if (strcmp(t[i].type, "raster") == 0)
			d.task = t[i].id;
	CHECK_OK(spool_job_complete(st, "w", &d, 1, &err));
	REQUIRE(claim(st, "w", "raster", 8, u, &m) == SPOOL_OK);
	CHECK_INT(m, 1);
	release_all(u, m);
	release_all(t, n);
	CHECK_OK(spool_job_set_cap(st, "raster", 0, &err));
	REQUIRE(claim(st, "w", "raster", 8, u, &m) == SPOOL_OK);
	CHECK_INT(m, 1);
	release_all(u, m);
	spool_store_close(st);
}

TEST(store_job_prune_by_retention)
{
	char url[1024], old[SPOOL_ID_MAX], young[SPOOL_ID_MAX];
	struct spool_store *st = open_fresh(url, sizeof(url));
	struct spool_task t[2];
	struct spool_task_done d[2];
	spool_err err;
	uint64_t pruned;
	size_t n, i;

	REQUIRE(st != NULL);
	one_task_job(st, "transfer", 0, 1, 0, old, "a");
	one_task_job(st, "transfer", 0, 1, 0, young, "b");
	REQUIRE(claim(st, "w", NULL, 1, t, &n) == SPOOL_OK && n == 1);
	memset(d, 0, sizeof(d));
	d[0].task = t[0].id;
	CHECK_OK(spool_job_complete(st, "w", d, 1, &err));
	release_all(t, n);
	fake_ms += 86400000;
	REQUIRE(claim(st, "w", NULL, 1, t, &n) == SPOOL_OK && n == 1);
	d[0].task = t[0].id;
	CHECK_OK(spool_job_complete(st, "w", d, 1, &err));
	release_all(t, n);
	CHECK_OK(spool_job_prune(st, fake_ms - 3600000, &pruned, &err));
	CHECK_INT(pruned, 1);
	{
		struct spool_dbres res;
		CHECK_OK(st_q0(st, &res, &err, "SELECT (SELECT count(*) FROM "
		    "job), (SELECT count(*) FROM task), (SELECT count(*) FROM "
		    "task_event), (SELECT count(*) FROM stage)"));
		CHECK_INT(spool_dbres_int(&res, 0, 0), 1);
		CHECK_INT(spool_dbres_int(&res, 0, 1), 1);
		CHECK_INT(spool_dbres_int(&res, 0, 2), 2);
		CHECK_INT(spool_dbres_int(&res, 0, 3), 1);
		spool_dbres_release(&res);
	}
	(void)i;
	spool_store_close(st);
}

/* The claim and the lease sweep walk their indexes, whatever the
 * statistics say (ANCHORS: a claim planned without its index took 51 ms
 * instead of 0.03). */
TEST(store_claim_uses_its_index)
{
	char url[1024], j[SPOOL_ID_MAX];
	struct spool_store *st = open_fresh(url, sizeof(url));
	struct spool_task_spec *ts;
	struct spool_job_spec js;
	struct spool_dbres res;
	spool_err err;
	int pg = getenv("SPOOL_TEST_PG") != NULL;
	char plan[4096] = "";
	size_t i, len = 0;
	int k;

	REQUIRE(st != NULL);
	REQUIRE((ts = calloc(500, sizeof(*ts))) != NULL);
	memset(&js, 0, sizeof(js));
	js.type = "transfer";
	js.max_attempts = 1;
	js.nstages = 1;
	js.tasks = ts;
	js.ntasks = 500;
	for (k = 0; k < 10; k++) {
		js.priority = k % 3;
		js.type = k % 2 ? "raster" : "transfer";
		CHECK_OK(spool_job_create(st, &js, j, &err));
	}
	free(ts);
	CHECK_OK(st->drv->script(st->db, "ANALYZE", &err));
	{
		/* the very statements claim runs, with literals */
		static const char *const sql_pg[] = {
			"EXPLAIN SELECT id FROM task WHERE state = 'queued' AND "
			"+run_at <= 1900000000000 ORDER BY priority DESC, "
			"created, id LIMIT 10 FOR UPDATE SKIP LOCKED",
			"EXPLAIN SELECT id FROM task WHERE state = 'queued' AND "
			"type = 'raster' AND +run_at <= 1900000000000 ORDER BY "
			"priority DESC, created, id LIMIT 10 FOR UPDATE SKIP "
			"LOCKED",
		};
		static const char *const sql_sq[] = {
			"EXPLAIN QUERY PLAN SELECT id FROM task WHERE state = "
			"'queued' AND +run_at <= 1900000000000 ORDER BY "
			"priority DESC, created, id LIMIT 10",
			"EXPLAIN QUERY PLAN SELECT id FROM task WHERE state = "
			"'queued' AND type = 'raster' AND +run_at <= "
			"1900000000000 ORDER BY priority DESC, created, id "
			"LIMIT 10",
		};
		static const char *const want[] = { "task_claim",
			"task_claim_type" };
		for (k = 0; k < 2; k++) {
			CHECK_OK(st_q0(st, &res, &err, pg ? sql_pg[k] :
			    sql_sq[k]));
			len = 0;
			plan[0] = '\0';
			for (i = 0; i < res.nrows; i++) {
				const char *line = spool_dbres_text(&res, i,
				    res.ncols - 1);
				len += (size_t)snprintf(plan + len,
				    len < sizeof(plan) ? sizeof(plan) - len : 0,
				    "%s | ", line);
				if (len >= sizeof(plan))
					len = sizeof(plan) - 1;
			}
			spool_dbres_release(&res);
			/* uses the index, in its order: no sort step */
			if (pg) {
				char idx[64];
				snprintf(idx, sizeof(idx), "Index Scan using %s ",
				    want[k]);
				if (strstr(plan, idx) == NULL ||
				    strstr(plan, "Sort") != NULL)
					unit_fail(__FILE__, __LINE__, "plan: %s",
					    plan);
			} else {
				char idx[64];
				snprintf(idx, sizeof(idx), "USING INDEX %s",
				    want[k]);
				if (strstr(plan, idx) == NULL ||
				    strstr(plan, "TEMP B-TREE") != NULL)
					unit_fail(__FILE__, __LINE__, "plan: %s",
					    plan);
			}
		}
	}
	spool_store_close(st);
}

/* ---- lineage --------------------------------------------------------- */

struct walk {
	char edges[64][200];
	int n;
	int entities;
};

static int
on_edge(void *arg, const struct spool_lineage_edge *e)
{
	struct walk *w = arg;

	if (w->n < 64)
		snprintf(w->edges[w->n++], 200, "%s %s>%s", e->event, e->from,
		    e->to);
	return 0;
}

static int
on_entity(void *arg, const struct spool_lineage_info *i)
{
	(void)i;
	((struct walk *)arg)->entities++;
	return 0;
}

static int
has_edge(const struct walk *w, const char *s)
{
	int i;

	for (i = 0; i < w->n; i++)
		if (strcmp(w->edges[i], s) == 0)
			return 1;
	return 0;
}

static int
mentions(const struct walk *w, const char *ref)
{
	int i;

	for (i = 0; i < w->n; i++)
		if (strstr(w->edges[i], ref) != NULL)
			return 1;
	return 0;
}

static void
ev(struct spool_store *st, const char *event, const char *batch,
    const char *u1, const char *u2, const char *g1)
{
	const char *used[2] = { u1, u2 }, *gen[1] = { g1 };
	struct spool_lineage_event e;
	spool_err err;

	memset(&e, 0, sizeof(e));
	e.event = event;
	e.batch = batch;
	e.used = used;
	e.nused = u2 ? 2 : (u1 ? 1 : 0);
	e.generated = gen;
	e.ngenerated = g1 ? 1 : 0;
	if (spool_lineage_record(st, &e, &err) != SPOOL_OK)
		unit_fail(__FILE__, __LINE__, "record: %s", err.msg);
}

TEST(store_lineage_is_per_file_both_ways)
{
	char url[1024];
	struct spool_store *st = open_fresh(url, sizeof(url));
	const char *f1 = "file:aaaa", *f2 = "file:bbbb";
	const char *r1 = "request:0001", *r2 = "request:0002";
	const char *b = "batch:00b1", *j1 = "job:00a1", *t1 = "task:00c1";
	const char *o1 = "output:00d1", *o2 = "output:00d2";
	struct walk w;
	spool_err err;

	REQUIRE(st != NULL);
	ev(st, "received", NULL, f1, NULL, r1);
	ev(st, "received", NULL, f2, NULL, r2);
	ev(st, "batched", NULL, r1, NULL, b);
	ev(st, "batched", NULL, r2, NULL, b);
	ev(st, "imported", "00b1", b, NULL, r1);
	ev(st, "imported", "00b1", b, NULL, r2);
	ev(st, "started", NULL, r1, NULL, j1);
	ev(st, "started", NULL, j1, NULL, t1);
	ev(st, "derived", NULL, t1, f1, o1);
	ev(st, "derived", NULL, r2, NULL, o2);

	memset(&w, 0, sizeof(w));
	CHECK_OK(spool_lineage_walk(st, f1, SPOOL_LINEAGE_DOWN, on_edge,
	    on_entity, &w, &err));
	CHECK(has_edge(&w, "received file:aaaa>request:0001"));
	CHECK(has_edge(&w, "batched request:0001>batch:00b1"));
	CHECK(has_edge(&w, "started request:0001>job:00a1"));
	CHECK(has_edge(&w, "started job:00a1>task:00c1"));
	CHECK(has_edge(&w, "derived task:00c1>output:00d1"));
	CHECK(has_edge(&w, "derived file:aaaa>output:00d1"));
	/* the shared batch does not leak f2's story into f1's */
	CHECK(!mentions(&w, r2));
	CHECK(!mentions(&w, o2));
	CHECK_INT(w.entities, 6);

	memset(&w, 0, sizeof(w));
	CHECK_OK(spool_lineage_walk(st, o1, SPOOL_LINEAGE_UP, on_edge, NULL,
	    &w, &err));
	CHECK(has_edge(&w, "received file:aaaa>request:0001"));
	CHECK(has_edge(&w, "imported batch:00b1>request:0001"));
	CHECK(!mentions(&w, f2));
	CHECK(!mentions(&w, r2));

	/* from the batch: both files, both ways */
	memset(&w, 0, sizeof(w));
	CHECK_OK(spool_lineage_walk(st, b, SPOOL_LINEAGE_UP, on_edge, NULL, &w,
	    &err));
	CHECK(has_edge(&w, "received file:aaaa>request:0001"));
	CHECK(has_edge(&w, "received file:bbbb>request:0002"));
	memset(&w, 0, sizeof(w));
	CHECK_OK(spool_lineage_walk(st, b, SPOOL_LINEAGE_DOWN, on_edge, NULL,
	    &w, &err));
	CHECK(has_edge(&w, "derived task:00c1>output:00d1"));
	CHECK(has_edge(&w, "derived request:0002>output:00d2"));
	spool_store_close(st);
}

TEST(store_lineage_cycle_ends_and_merge_is_idempotent)
{
	char url[1024];
	struct spool_store *st = open_fresh(url, sizeof(url));
	const char *a = "file:aaaa", *b = "output:0b", *c = "request:0c";
	const char *used[1], *gen[1];
	struct spool_lineage_event e;
	struct spool_dbres res;
	struct walk w;
	spool_err err;

	REQUIRE(st != NULL);
	ev(st, "received", NULL, a, NULL, c);
	ev(st, "derived", NULL, c, NULL, b);
	ev(st, "delivered", NULL, b, NULL, a); /* back to where it began */
	memset(&w, 0, sizeof(w));
	CHECK_OK(spool_lineage_walk(st, a, SPOOL_LINEAGE_DOWN, on_edge, NULL,
	    &w, &err));
	CHECK_INT(w.n, 3);
	memset(&w, 0, sizeof(w));
	CHECK_OK(spool_lineage_walk(st, c, SPOOL_LINEAGE_UP, on_edge, NULL,
	    &w, &err));
	CHECK_INT(w.n, 3);

	/* an event merged from another node twice is stored once */
	memset(&e, 0, sizeof(e));
	spool_uuid7(e.id);
	e.event = "derived";
	e.node = "low";
	used[0] = c;
	gen[0] = "output:0d";
	e.used = used;
	e.nused = 1;
	e.generated = gen;
	e.ngenerated = 1;
	CHECK_OK(spool_lineage_record(st, &e, &err));
	CHECK_OK(spool_lineage_record(st, &e, &err));
	CHECK_OK(st_q(st, &res, &err, "SELECT count(*) FROM lineage_io WHERE "
	    "event = ?", DBS(e.id)));
	CHECK_INT(spool_dbres_int(&res, 0, 0), 2);
	spool_dbres_release(&res);
	/* bad names are refused */
	e.id[0] = '\0';
	e.event = "teleported";
	CHECK_FAIL(spool_lineage_record(st, &e, &err), SPOOL_ERR_USAGE,
	    "unknown lineage event");
	e.event = "derived";
	used[0] = "file:../etc";
	CHECK_FAIL(spool_lineage_record(st, &e, &err), SPOOL_ERR_USAGE,
	    "bad lineage entity");
	spool_store_close(st);
}

TEST(store_lineage_resolves_ids_hashes_and_paths)
{
	char url[1024], ref[SPOOL_REF_MAX], rid[SPOOL_ID_MAX], fref[80];
	struct spool_store *st = open_fresh(url, sizeof(url));
	uint8_t h[SPOOL_HASH_LEN];
	char hex[2 * SPOOL_HASH_LEN + 1], oref[80];
	spool_err err;

	REQUIRE(st != NULL);
	unit_write_file("f.txt", "hello\n", 6);
	crypto_generichash(h, sizeof(h), (const uint8_t *)"hello\n", 6, NULL,
	    0);
	spool_hex(hex, h, sizeof(h));
	spool_uuid7(rid);
	snprintf(fref, sizeof(fref), "file:%s", hex);
	{
		char rref[80];
		snprintf(rref, sizeof(rref), "request:%s", rid);
		ev(st, "received", NULL, fref, NULL, rref);
		CHECK_OK(spool_lineage_resolve(st, rid, ref, &err));
		CHECK_STR(ref, rref);
		rid[12] = '\0';
		CHECK_OK(spool_lineage_resolve(st, rid, ref, &err));
		CHECK_STR(ref, rref);
		CHECK_OK(spool_lineage_resolve(st, rref, ref, &err));
		CHECK_STR(ref, rref);
	}
	CHECK_OK(spool_lineage_resolve(st, hex, ref, &err));
	CHECK_STR(ref, fref);
	CHECK_OK(spool_lineage_resolve(st, "f.txt", ref, &err));
	CHECK_STR(ref, fref);
	/* an output found by its content */
	unit_write_file("g.txt", "other\n", 6);
	crypto_generichash(h, sizeof(h), (const uint8_t *)"other\n", 6, NULL,
	    0);
	spool_hex(hex, h, sizeof(h));
	spool_uuid7(rid);
	snprintf(oref, sizeof(oref), "output:%s", rid);
	CHECK_OK(spool_lineage_entity(st, oref, "out.tif", hex, 6, &err));
	CHECK_OK(spool_lineage_resolve(st, "g.txt", ref, &err));
	CHECK_STR(ref, oref);
	unit_write_file("h.txt", "third\n", 6);
	CHECK_FAIL(spool_lineage_resolve(st, "h.txt", ref, &err),
	    SPOOL_ERR_NOTFOUND, "no file with hash");
	CHECK_FAIL(spool_lineage_resolve(st, "nothing-here", ref, &err),
	    SPOOL_ERR_NOTFOUND, "is not an id, hash or file");
	spool_store_close(st);
}
