/*
 * torture.c - curl's "torture" idea for the batch reader and unpack:
 * fail the 1st, 2nd, 3rd ... allocation in turn and check that every run
 * ends in a clean error: no crash, no leak (a live-allocation count), no
 * file left behind, and a reason that does not blame the batch.  This
 * binary (build/torture, not built with sanitizers) replaces malloc: glibc
 * supports that, and jansson and zstd then allocate through it too.  It
 * is kept apart from the unit tests so valgrind still sees theirs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../unit/harness.h"
#include "spool/format/manifest.h"
#include "spool/spool.h"

#if defined(__SANITIZE_ADDRESS__)
#define TORTURE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TORTURE 0
#endif
#endif
#ifndef TORTURE
#define TORTURE 1
#endif

#if TORTURE
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static long countdown = -1; /* allocations left before one fails; -1 never */
static long live;           /* allocations not yet freed */

static int
fail_now(void)
{
	if (countdown < 0)
		return 0;
	if (countdown == 0) {
		errno = ENOMEM;
		return 1;
	}
	countdown--;
	return 0;
}

void *
malloc(size_t n)
{
	void *p;

	if (fail_now())
		return NULL;
	if ((p = __libc_malloc(n)) != NULL)
		__atomic_add_fetch(&live, 1, __ATOMIC_RELAXED);
	return p;
}

void *
calloc(size_t a, size_t b)
{
	void *p;

	if (fail_now())
		return NULL;
	if ((p = __libc_calloc(a, b)) != NULL)
		__atomic_add_fetch(&live, 1, __ATOMIC_RELAXED);
	return p;
}

void *
realloc(void *old, size_t n)
{
	void *p;

	if (old == NULL)
		return malloc(n);
	if (fail_now())
		return NULL;
	p = __libc_realloc(old, n);
	if (n == 0 && p == NULL)
		__atomic_sub_fetch(&live, 1, __ATOMIC_RELAXED);
	return p;
}

void
free(void *p)
{
	if (p != NULL)
		__atomic_sub_fetch(&live, 1, __ATOMIC_RELAXED);
	__libc_free(p);
}
#endif

/* A node "high" trusting "low", and a batch from low with three items. */
static int
make_batch(spool_err *err)
{
	struct spool_batch_writer *w = NULL;
	struct spool_batch_spec spec = { .from = "low", .to = "high", .seq = 1 };
	struct spool_pubkey pk;
	struct spool_seckey sk;
	const char *names[] = { "a.txt", "b.txt", "c.json" };
	const char *texts[] = { "alpha\n", "beta\n", "{\"q\":1}\n" };
	int i, r;

	mkdir("high", 0755);
	mkdir("high/keys", 0700);
	mkdir("high/keys/trusted", 0755);
	mkdir("tmp", 0700);
	if ((r = spool_keypair_generate(&pk, &sk, err)) != SPOOL_OK ||
	    (r = spool_pubkey_write("high/keys/trusted/low.pub", &pk, err)) !=
	    SPOOL_OK ||
	    (r = spool_batch_writer_new(&w, &spec, err)) != SPOOL_OK)
		return r;
	for (i = 0; i < 3; i++) {
		uint8_t h[32];
		char hex[65], id[SPOOL_UUID_LEN + 1];
		size_t n = strlen(texts[i]);

		unit_write_file(names[i], texts[i], n);
		spool_hasher st;
		spool_hasher_init(&st, 32);
		spool_hasher_update(&st, texts[i], n);
		spool_hasher_final(&st, h);
		spool_hex(hex, h, 32);
		spool_uuid7(id);
		r = spool_batch_add_item(w, json_pack("{s:s, s:s, s:s, s:s, "
		    "s:s, s:i, s:s, s:[{s:s, s:I, s:s}]}", "kind", "request",
		    "id", id, "type", "transfer", "name", names[i], "user", "u",
		    "priority", 0, "created", "2026-11-23T11:00:00Z", "files",
		    "name", names[i], "size", (json_int_t)n, "blob", hex), err);
		if (r == SPOOL_OK)
			r = spool_batch_add_blob(w, h, n, names[i], 0, err);
		if (r != SPOOL_OK)
			break;
	}
	if (r == SPOOL_OK)
		r = spool_batch_write(w, "low-high-0000000001.batch", &sk, NULL,
		    err);
	spool_batch_writer_free(w);
	return r;
}

static int
dir_empty(const char *d)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A %s)\"", d);
	return system(cmd) == 0;
}

TEST(torture_batch_reader_and_unpack)
{
	struct spool_batch_check chk = { .self = "high", .root = "high",
		.tmpdir = "tmp", .max_tar = 1 << 30 };
	spool_err err;
	long k, before;
	int r = -1, which, bad = 0;

	if (!TORTURE)
		return; /* the sanitizers check leaks themselves */
#if TORTURE
	CHECK_OK(make_batch(&err));
	/* schemas compiled once, as a long-lived process does: glibc's
	 * regcomp double-frees when an allocation inside it fails */
	CHECK_OK(spool_manifest_new(&chk.manifest, &err));
	/* warm up: one-time allocations of the libraries */
	CHECK_OK(spool_batch_read("low-high-0000000001.batch", NULL, &chk, NULL,
	    &err));
	CHECK_OK(spool_batch_unpack("low-high-0000000001.batch", NULL, &chk,
	    "warm", NULL, &err));
	for (which = 0; which < 2; which++) {
		bad = 0;
		for (k = 0; k < 100000; k++) {
			before = live;
			countdown = k;
			r = which == 0 ?
			    spool_batch_read("low-high-0000000001.batch", NULL,
				&chk, NULL, &err) :
			    spool_batch_unpack("low-high-0000000001.batch",
				NULL, &chk, "out", NULL, &err);
			countdown = -1;
			if (live != before && bad++ < 5)
				unit_fail(__FILE__, __LINE__, "%s: failing "
				    "allocation %ld leaks %ld allocations",
				    which ? "unpack" : "read", k, live - before);
			if (!dir_empty("tmp") && bad++ < 5)
				unit_fail(__FILE__, __LINE__, "%s: failing "
				    "allocation %ld left files in tmp",
				    which ? "unpack" : "read", k);
			if (r == SPOOL_OK || bad >= 5)
				break;
			/* out of memory must never look like a bad batch */
			if (spool_err_is_verify(r) && bad++ < 5)
				unit_fail(__FILE__, __LINE__, "%s: failing "
				    "allocation %ld blamed the batch: %s",
				    which ? "unpack" : "read", k, err.msg);
			if (which == 1 && access("out", F_OK) == 0 && bad++ < 5)
				unit_fail(__FILE__, __LINE__, "unpack: failing "
				    "allocation %ld left 'out' behind", k);
		}
		CHECK_INT(r, SPOOL_OK);
		printf("# %s: %ld allocations failed in turn\n",
		    which ? "unpack" : "read", k);
	}
#endif
}
