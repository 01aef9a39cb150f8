/*
 * fuzz_ustar.c - libFuzzer target for the strict ustar push reader.
 *
 * Input: one byte that seeds the chunking, then the archive.  Each input
 * is read twice, in one piece and in chunks of pseudo-random sizes, and
 * the two readings must agree exactly (code, reason, members, bytes):
 * chunking must never change what the reader decides.  Invariants that
 * abort(): the data of a member adds up to the size its header announced,
 * callbacks come in order (member, data..., end), accepted names are safe,
 * and a failed reader repeats its error.  Seeds with bit 0x10 set get
 * their header checksums fixed first, so mutations reach the other checks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spool/format/ustar.h"

struct run {
	uint64_t members, ended, want, got;
	uint64_t hash; /* FNV-1a over names and data */
	int open;
	int refuse_at; /* member whose header the callback refuses, or 0 */
	int code;
	char msg[SPOOL_ERR_MSG_MAX];
};

static void
mix(struct run *r, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		r->hash = (r->hash ^ p[i]) * UINT64_C(1099511628211);
}

/* What the reader promises about every name it passes on. */
static void
check_name(const char *s)
{
	size_t len = strlen(s), i, start = 0;

	if (len == 0 || len > SPOOL_USTAR_NAME_MAX || s[0] == '/' ||
	    s[len - 1] == '/')
		abort();
	for (i = 0; i <= len; i++) {
		if (i < len && ((unsigned char)s[i] < 0x20 || s[i] == 0x7f))
			abort();
		if (i < len && s[i] != '/')
			continue;
		if (i == start || (i - start == 1 && s[start] == '.') ||
		    (i - start == 2 && s[start] == '.' && s[start + 1] == '.'))
			abort();
		start = i + 1;
	}
}

static int
on_member(void *ctx, const char *name, uint64_t size, spool_err *err)
{
	struct run *r = ctx;

	if (r->open)
		abort();
	check_name(name);
	r->members++;
	mix(r, (const uint8_t *)name, strlen(name) + 1);
	if (r->refuse_at != 0 && (uint64_t)r->refuse_at == r->members)
		return spool_fail(err, SPOOL_ERR_LIMIT, "refused '%s'", name);
	r->open = 1;
	r->want = size;
	r->got = 0;
	return SPOOL_OK;
}

static int
on_data(void *ctx, const uint8_t *p, size_t n, spool_err *err)
{
	struct run *r = ctx;

	(void)err;
	if (!r->open || n == 0 || n > r->want - r->got)
		abort();
	r->got += n;
	mix(r, p, n);
	return SPOOL_OK;
}

static int
on_end(void *ctx, spool_err *err)
{
	struct run *r = ctx;

	(void)err;
	if (!r->open || r->got != r->want)
		abort();
	r->open = 0;
	r->ended++;
	return SPOOL_OK;
}

/* Read p[0..n) in chunks: limit 0 means all at once, else pseudo-random
 * sizes in 1..limit from seed. */
static void
run(struct run *r, const uint8_t *p, size_t n, size_t limit, uint32_t seed)
{
	struct spool_ustar_cb cb = { r, on_member, on_data, on_end };
	struct spool_ustar_reader *rd;
	spool_err err, again;
	size_t off = 0, k;
	int rc = SPOOL_OK;

	if (spool_ustar_reader_new(&rd, &cb, &err) != SPOOL_OK)
		abort();
	while (off < n && rc == SPOOL_OK) {
		k = n - off;
		if (limit != 0) {
			seed = seed * 1103515245u + 12345u;
			k = 1 + (seed >> 8) % limit;
			k = k < n - off ? k : n - off;
		}
		rc = spool_ustar_reader_feed(rd, p + off, k, &err);
		off += k;
	}
	if (rc == SPOOL_OK)
		rc = spool_ustar_reader_finish(rd, &err);
	if (rc == SPOOL_OK && (r->open || r->members != r->ended))
		abort();
	if (spool_ustar_reader_members(rd) != r->members)
		abort();
	if (rc != SPOOL_OK) {
		/* Poisoned: the same error again, whatever comes next. */
		if (spool_ustar_reader_feed(rd, p, n ? 1 : 0, &again) != rc ||
		    strcmp(again.msg, err.msg) != 0 ||
		    spool_ustar_reader_finish(rd, &again) != rc ||
		    strcmp(again.msg, err.msg) != 0 ||
		    memchr(err.msg, '\n', strlen(err.msg)) != NULL)
			abort();
		memcpy(r->msg, err.msg, sizeof(r->msg));
	}
	r->code = rc;
	spool_ustar_reader_free(rd);
}

/* Give every block that carries the ustar magic a correct checksum, so
 * that mutated headers get past the checksum to the checks behind it. */
static void
fix_checksums(uint8_t *p, size_t n)
{
	size_t off, i;
	unsigned sum;

	for (off = 0; off + SPOOL_USTAR_BLOCK <= n; off += SPOOL_USTAR_BLOCK) {
		uint8_t *h = p + off;

		if (memcmp(h + 257, "ustar", 5) != 0)
			continue;
		memset(h + 148, ' ', 8);
		for (sum = 0, i = 0; i < SPOOL_USTAR_BLOCK; i++)
			sum += h[i];
		for (i = 6; i-- > 0; sum >>= 3)
			h[148 + i] = (uint8_t)('0' + (sum & 7));
		h[154] = '\0';
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole, chunked;
	uint8_t seed, *copy = NULL;

	if (size == 0)
		return 0;
	seed = data[0];
	if (seed & 0x10) {
		if ((copy = malloc(size)) == NULL)
			abort();
		memcpy(copy, data, size);
		fix_checksums(copy + 1, size - 1);
		data = copy;
	}
	memset(&whole, 0, sizeof(whole));
	memset(&chunked, 0, sizeof(chunked));
	/* Seeds above 0xe0 also refuse a member from the callback. */
	whole.refuse_at = chunked.refuse_at = seed > 0xe0 ? seed - 0xe0 : 0;
	run(&whole, data + 1, size - 1, 0, 0);
	run(&chunked, data + 1, size - 1, (size_t)1 << (seed % 11), seed);
	if (whole.code != chunked.code || whole.members != chunked.members ||
	    whole.ended != chunked.ended || whole.hash != chunked.hash ||
	    strcmp(whole.msg, chunked.msg) != 0)
		abort();
	free(copy);
	return 0;
}
