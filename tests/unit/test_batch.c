/*
 * test_batch.c - the batch writer and reader through the library API.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "spool/spool.h"

/* A node directory "low" trusting itself as "low": enough for the reader. */
static int
setup(struct spool_seckey *sk, spool_err *err)
{
	struct spool_pubkey pk;
	int r;

	mkdir("low", 0755);
	mkdir("low/keys", 0700);
	mkdir("low/keys/trusted", 0755);
	mkdir("tmp", 0700);
	if ((r = spool_keypair_generate(&pk, sk, err)) != SPOOL_OK)
		return r;
	return spool_pubkey_write("low/keys/trusted/low.pub", &pk, err);
}

static json_t *
request(const char *name, const char *hex, uint64_t size)
{
	char id[SPOOL_UUID_LEN + 1];

	spool_uuid7(id);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:[{s:s, s:I, "
	    "s:s}]}", "kind", "request", "id", id, "type", "transfer", "name",
	    name, "user", "alice", "priority", 0, "created",
	    "2026-11-23T11:00:00Z", "files", "name", name, "size",
	    (json_int_t)size, "blob", hex);
}

static void
file_hash(const char *path, uint8_t h[SPOOL_HASH_LEN], char *hex,
    uint64_t *size)
{
	spool_err err;
	FILE *f = fopen(path, "rb");

	spool_hash_fd(fileno(f), h, size, &err);
	fclose(f);
	spool_hex(hex, h, SPOOL_HASH_LEN);
}

struct seen {
	int items, blobs;
	uint64_t bytes;
};

static int
s_item(void *ctx, const json_t *item, spool_err *err)
{
	(void)item;
	(void)err;
	((struct seen *)ctx)->items++;
	return SPOOL_OK;
}

static int
s_begin(void *ctx, const uint8_t *h, uint64_t size, spool_err *err)
{
	(void)h;
	(void)size;
	(void)err;
	((struct seen *)ctx)->blobs++;
	return SPOOL_OK;
}

static int
s_data(void *ctx, const uint8_t *p, size_t n, spool_err *err)
{
	(void)p;
	(void)err;
	((struct seen *)ctx)->bytes += n;
	return SPOOL_OK;
}

/* Whether this directory's filesystem grants read leases to us. */
static int
pin_works(void)
{
	int fd, ok;

	unit_write_file("probe", "x", 1);
	if ((fd = open("probe", O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	ok = spool_pin(fd);
	close(fd);
	unlink("probe");
	if (!ok)
		printf("# no read leases here: the private copy is tested "
		    "instead\n");
	return ok;
}

TEST(pin_refused_to_writers_and_broken_by_them)
{
	int fd, wfd;

	if (!pin_works())
		return;
	unit_write_file("f", "abc", 3);
	wfd = open("f", O_WRONLY | O_CLOEXEC);
	fd = open("f", O_RDONLY | O_CLOEXEC);
	REQUIRE(fd >= 0 && wfd >= 0);
	CHECK(spool_pin(fd) == 0); /* someone has it open for writing */
	close(wfd);
	CHECK(spool_pin(fd) == 1);
	CHECK(spool_pin_held(fd) == 1);
	/* reading, opening for reading: the pin holds */
	wfd = open("f", O_RDONLY | O_CLOEXEC);
	CHECK(wfd >= 0);
	close(wfd);
	CHECK(spool_pin_held(fd) == 1);
	/* an opener for writing waits for the pin (or is told to) and
	 * breaks it: the holder can tell */
	errno = 0;
	wfd = open("f", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	CHECK(wfd < 0 && errno == EWOULDBLOCK);
	CHECK(spool_pin_held(fd) == 0);
	close(fd);
	/* and this process is still here: the break sent it no SIGIO
	 * (the harness reports a test killed by a signal as failed) */
}

/* A sink that opens the batch being read for writing at its first blob,
 * as a careless operator's tool might. */
static int
s_begin_open(void *ctx, const uint8_t *h, uint64_t size, spool_err *err)
{
	int fd = open((const char *)ctx, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

	(void)h;
	(void)size;
	(void)err;
	if (fd >= 0)
		close(fd);
	return SPOOL_OK;
}

TEST(batch_read_in_place_refuses_bytes_that_may_have_changed)
{
	struct spool_batch_writer *w = NULL;
	struct spool_batch_spec spec = { .from = "low", .to = "low", .seq = 3 };
	struct spool_batch_facts f, g;
	struct spool_seckey sk;
	static char name[] = "low-low-0000000003.batch";
	struct spool_batch_sink sink = { name, NULL, NULL, s_begin_open, NULL,
		NULL, NULL };
	struct spool_batch_check chk = { .self = "low", .root = "low",
		.tmpdir = "tmp", .max_tar = 1 << 30, .strict_name = 1,
		.sink = &sink };
	uint8_t h[32];
	char x[65];
	uint64_t n;
	spool_err err;

	CHECK_OK(setup(&sk, &err));
	if (!pin_works())
		return;
	unit_write_file("a.txt", "alpha\n", 6);
	file_hash("a.txt", h, x, &n);
	CHECK_OK(spool_batch_writer_new(&w, &spec, &err));
	CHECK_OK(spool_batch_add_item(w, request("a.txt", x, n), &err));
	CHECK_OK(spool_batch_add_blob(w, h, n, "a.txt", 0, &err));
	CHECK_OK(spool_batch_write(w, "low-low-0000000003.batch", &sk, &f,
	    &err));
	spool_batch_writer_free(w);
	/* not a refusal of the batch (not a verify error): read it again */
	CHECK_FAIL(spool_batch_read("low-low-0000000003.batch", NULL, &chk,
	    &g, &err), SPOOL_ERR_BUSY, "was opened for writing while it was "
	    "read");
	CHECK(!spool_err_is_verify(SPOOL_ERR_BUSY));
	sink.blob_begin = NULL;
	CHECK_OK(spool_batch_read("low-low-0000000003.batch", NULL, &chk, &g,
	    &err));
	CHECK(system("test -z \"$(ls -A tmp)\"") == 0);
}

TEST(batch_roundtrip_through_sink)
{
	struct spool_batch_writer *w = NULL;
	struct spool_batch_spec spec = { .from = "low", .to = "low", .seq = 7 };
	struct spool_batch_facts f, g;
	struct spool_seckey sk;
	struct seen seen = { 0, 0, 0 };
	struct spool_batch_sink sink = { &seen, NULL, s_item, s_begin, s_data, NULL, NULL };
	struct spool_batch_check chk = { .self = "low", .root = "low",
		.tmpdir = "tmp", .max_tar = 1 << 30, .strict_name = 1,
		.sink = &sink };
	uint8_t h1[32], h2[32];
	char x1[65], x2[65];
	uint64_t n1, n2;
	spool_err err;

	CHECK_OK(setup(&sk, &err));
	unit_write_file("a.txt", "alpha\n", 6);
	unit_write_file("b.txt", "alpha\n", 6); /* same content */
	unit_write_file("c.bin", "\0\1\2", 3);
	file_hash("a.txt", h1, x1, &n1);
	file_hash("c.bin", h2, x2, &n2);
	CHECK_OK(spool_batch_writer_new(&w, &spec, &err));
	CHECK_OK(spool_batch_add_item(w, request("a.txt", x1, n1), &err));
	CHECK_OK(spool_batch_add_blob(w, h1, n1, "a.txt", 0, &err));
	CHECK_OK(spool_batch_add_item(w, request("b.txt", x1, n1), &err));
	CHECK_OK(spool_batch_add_blob(w, h1, n1, "b.txt", 0, &err));
	CHECK_OK(spool_batch_add_item(w, request("c.bin", x2, n2), &err));
	CHECK_OK(spool_batch_add_blob(w, h2, n2, "c.bin", 0, &err));
	CHECK_INT(spool_batch_writer_bytes(w), 9);
	CHECK_OK(spool_batch_write(w, "low-low-0000000007.batch", &sk, &f, &err));
	spool_batch_writer_free(w);
	CHECK_INT(f.items, 3);
	CHECK_INT(f.bytes, 9);
	CHECK_OK(spool_batch_read("low-low-0000000007.batch", NULL, &chk, &g,
	    &err));
	CHECK(memcmp(&f, &g, sizeof(f)) == 0);
	CHECK_INT(seen.items, 3);
	CHECK_INT(seen.blobs, 2);
	CHECK_INT(seen.bytes, 9);
	CHECK(system("test -z \"$(ls -A tmp)\"") == 0); /* copy removed */
	/* the signed name is checked in import/ mode */
	CHECK(rename("low-low-0000000007.batch", "x.batch") == 0);
	CHECK(rename("low-low-0000000007.batch.minisig", "x.batch.minisig") == 0);
	CHECK_FAIL(spool_batch_read("x.batch", NULL, &chk, &g, &err),
	    SPOOL_ERR_FORMAT, "does not match the signed name");
	chk.strict_name = 0;
	CHECK_OK(spool_batch_read("x.batch", NULL, &chk, &g, &err));
	/* keep_copy: the verified bytes stay for the caller (a daemon
	 * archives them): "" when the batch itself was pinned and read in
	 * place; a private copy when someone has it open for writing */
	{
		char kept[PATH_MAX];
		struct stat st;
		int wfd, can_pin = pin_works();

		chk.keep_copy = kept;
		chk.sink = NULL;
		CHECK_OK(spool_batch_read("x.batch", NULL, &chk, &g, &err));
		if (can_pin)
			CHECK(kept[0] == '\0');
		else
			CHECK(strncmp(kept, "tmp/", 4) == 0 && unlink(kept) == 0);
		CHECK(system("test -z \"$(ls -A tmp)\"") == 0);
		CHECK(chmod("x.batch", 0644) == 0);
		wfd = open("x.batch", O_WRONLY | O_APPEND | O_CLOEXEC);
		REQUIRE(wfd >= 0);
		CHECK_OK(spool_batch_read("x.batch", NULL, &chk, &g, &err));
		close(wfd);
		CHECK(strncmp(kept, "tmp/", 4) == 0);
		CHECK(stat(kept, &st) == 0 && (st.st_mode & 0777) == 0600);
		CHECK(system("cmp -s x.batch tmp/.import.*") == 0);
		chk.keep_copy = NULL;
	}
	/* a bound below the signed tar size refuses before parsing */
	chk.max_tar = 1024;
	CHECK_FAIL(spool_batch_read("x.batch", NULL, &chk, &g, &err),
	    SPOOL_ERR_LIMIT, "exceeds batch.max_bytes");
}

/* A writer (seq as given) holding one item naming a.txt ("alpha\n"). */
static int
one_item_writer(struct spool_batch_writer **w, uint64_t seq,
    struct spool_seckey *sk, uint8_t h[32], uint64_t *n, spool_err *err)
{
	struct spool_batch_spec spec = { .from = "low", .to = "high",
		.seq = seq };
	char x[65];
	int r;

	if ((r = setup(sk, err)) != SPOOL_OK)
		return r;
	unit_write_file("a.txt", "alpha\n", 6);
	file_hash("a.txt", h, x, n);
	if ((r = spool_batch_writer_new(w, &spec, err)) != SPOOL_OK)
		return r;
	return spool_batch_add_item(*w, request("a.txt", x, *n), err);
}

TEST(batch_writer_catches_changed_source)
{
	struct spool_batch_writer *w = NULL;
	struct spool_seckey sk;
	uint8_t h[32];
	uint64_t n;
	spool_err err;

	CHECK_OK(one_item_writer(&w, 1, &sk, h, &n, &err));
	CHECK_OK(spool_batch_add_blob(w, h, n, "a.txt", 0, &err));
	unit_write_file("a.txt", "alphA\n", 6);
	CHECK_FAIL(spool_batch_write(w, "out.batch", &sk, NULL, &err),
	    SPOOL_ERR_HASH, "changed while being packed");
	spool_batch_writer_free(w);
	CHECK(access("out.batch", F_OK) != 0);
	CHECK(access("out.batch.minisig", F_OK) != 0);
	CHECK(system("test -z \"$(ls -A | grep '\\.tmp$')\"") == 0);
}

TEST(batch_writer_requires_items_and_blobs_to_agree)
{
	struct spool_batch_writer *w = NULL;
	struct spool_seckey sk;
	uint8_t h[32];
	char x[65];
	uint64_t n;
	spool_err err;

	CHECK_OK(one_item_writer(&w, 0, &sk, h, &n, &err));
	spool_hex(x, h, 32);
	CHECK_FAIL(spool_batch_write(w, "out.batch", &sk, NULL, &err),
	    SPOOL_ERR_USAGE, "no seq");
	CHECK_OK(spool_batch_set_seq(w, 3, &err));
	CHECK_FAIL(spool_batch_write(w, "out.batch", &sk, NULL, &err),
	    SPOOL_ERR_USAGE, "items name 1 blobs, 0 were added");
	/* an item with an unsafe name is refused on write, as on read */
	CHECK_FAIL(spool_batch_add_item(w, request("../x", x, n), &err),
	    SPOOL_ERR_FORMAT, "");
	CHECK_FAIL(spool_batch_add_item(w, request("a\nb", x, n), &err),
	    SPOOL_ERR_FORMAT, "safe path component");
	spool_batch_writer_free(w);
}
