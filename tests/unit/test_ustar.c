/*
 * test_ustar.c - the ustar writer and the strict push reader, against
 * GNU tar and Python's tarfile in both directions.
 *
 * Over 800 lines: the tests of one format, case by case.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"
#include "spool/format/ustar.h"

#define MAXM 16
#define DATA_MAX (256 * 1024)

/* What the callbacks saw. */
struct got {
	int members, ended, in_member;
	char names[MAXM][SPOOL_USTAR_NAME_MAX + 1];
	uint64_t sizes[MAXM];
	size_t start[MAXM + 1]; /* offset of each member's data in data */
	uint8_t data[DATA_MAX];
	size_t n;
	int refuse_at; /* 1-based member whose header the callback refuses */
	int bad;       /* a callback broke the contract */
};

static int
on_member(void *ctx, const char *name, uint64_t size, spool_err *err)
{
	struct got *g = ctx;

	if (g->in_member || g->members >= MAXM)
		g->bad = 1;
	g->members++;
	if (g->refuse_at == g->members)
		return spool_fail(err, SPOOL_ERR_LIMIT, "member '%s' refused",
		    name);
	snprintf(g->names[g->members - 1], sizeof(g->names[0]), "%s", name);
	g->sizes[g->members - 1] = size;
	g->start[g->members - 1] = g->n;
	g->in_member = 1;
	return SPOOL_OK;
}

static int
on_data(void *ctx, const uint8_t *p, size_t n, spool_err *err)
{
	struct got *g = ctx;

	(void)err;
	if (!g->in_member || n == 0 || g->n + n > DATA_MAX) {
		g->bad = 1;
		return SPOOL_ERR_INTERNAL;
	}
	memcpy(g->data + g->n, p, n);
	g->n += n;
	return SPOOL_OK;
}

static int
on_end(void *ctx, spool_err *err)
{
	struct got *g = ctx;

	(void)err;
	if (!g->in_member ||
	    g->n - g->start[g->members - 1] != g->sizes[g->members - 1])
		g->bad = 1;
	g->in_member = 0;
	g->ended++;
	g->start[g->members] = g->n;
	return SPOOL_OK;
}

/* Read p in chunks of chunk bytes (0: all at once), then finish. */
static int
read_tar(const uint8_t *p, size_t len, size_t chunk, struct got *g,
    spool_err *err)
{
	struct spool_ustar_cb cb = { g, on_member, on_data, on_end };
	struct spool_ustar_reader *r = NULL;
	size_t off = 0, k;
	int rc;

	if ((rc = spool_ustar_reader_new(&r, &cb, err)) != SPOOL_OK)
		return rc;
	if (chunk == 0)
		chunk = len ? len : 1;
	while (off < len) {
		k = len - off < chunk ? len - off : chunk;
		if ((rc = spool_ustar_reader_feed(r, p + off, k, err)) != 0)
			goto out;
		off += k;
	}
	rc = spool_ustar_reader_finish(r, err);
	if (rc == SPOOL_OK && spool_ustar_reader_members(r) !=
	    (uint64_t)g->members)
		rc = SPOOL_ERR_INTERNAL;
out:
	spool_ustar_reader_free(r);
	return rc;
}

static struct got *
got_new(void)
{
	struct got *g = calloc(1, sizeof(*g));

	if (g == NULL)
		abort();
	return g;
}

/* Member i's data equals p[0..n). */
static int
got_data_is(const struct got *g, int i, const void *p, size_t n)
{
	return g->start[i + 1] - g->start[i] == n &&
	    memcmp(g->data + g->start[i], p, n) == 0;
}

/* Append a member (header, data, padding) to buf at *off. */
static void
put_member(uint8_t *buf, size_t *off, const char *name, const void *data,
    size_t n)
{
	spool_err err;

	spool_err_clear(&err);
	if (spool_ustar_header(buf + *off, name, n, 1700000000, &err) != 0) {
		printf("#   header '%s': %s\n", name, err.msg);
		abort();
	}
	*off += SPOOL_USTAR_BLOCK;
	memcpy(buf + *off, data, n);
	*off += n;
	memset(buf + *off, 0, spool_ustar_padding(n));
	*off += spool_ustar_padding(n);
}

static void
fix_sum(uint8_t *h)
{
	unsigned sum = 0;
	int i;

	memset(h + 148, ' ', 8);
	for (i = 0; i < SPOOL_USTAR_BLOCK; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
}

/* A one-member archive whose header gets the given raw name and prefix
 * fields (not NUL-terminated if they fill the field). */
static size_t
raw_names(uint8_t *buf, const char *name, size_t nlen, const char *prefix,
    size_t plen)
{
	size_t off = 0;

	memset(buf, 0, 4 * SPOOL_USTAR_BLOCK);
	put_member(buf, &off, "x", "abc", 3);
	memset(buf, 0, 100);
	memcpy(buf, name, nlen);
	memset(buf + 345, 0, 155);
	memcpy(buf + 345, prefix, plen);
	fix_sum(buf);
	return off + 2 * SPOOL_USTAR_BLOCK;
}

/* p must be refused with FORMAT and a reason containing sub, the same
 * way whether fed in one piece or byte by byte. */
static void
refused(const char *what, const uint8_t *p, size_t len, const char *sub)
{
	struct got *g1 = got_new(), *g2 = got_new();
	spool_err err, e1;
	int rc;

	spool_err_clear(&err);
	rc = read_tar(p, len, 0, g1, &err);
	e1 = err;
	if (rc != SPOOL_ERR_FORMAT || strstr(err.msg, sub) == NULL)
		unit_fail(__FILE__, __LINE__, "%s: got %d \"%s\", want \"%s\"",
		    what, rc, err.msg, sub);
	rc = read_tar(p, len, 1, g2, &err);
	if (rc != SPOOL_ERR_FORMAT || strcmp(err.msg, e1.msg) != 0)
		unit_fail(__FILE__, __LINE__, "%s: 1-byte: %d \"%s\" vs \"%s\"",
		    what, rc, err.msg, e1.msg);
	if (strchr(err.msg, '\n') != NULL || g1->bad || g2->bad)
		unit_fail(__FILE__, __LINE__, "%s: bad message or callbacks",
		    what);
	free(g1);
	free(g2);
}

static int
sh(const char *cmd)
{
	int rc = system(cmd);

	if (rc != 0)
		printf("#   '%s' -> %d\n", cmd, rc);
	return rc;
}

/* Files for tar and Python to archive; bin has no NUL-free pattern. */
static uint8_t bin[1000], big[512];

static void
make_files(void)
{
	size_t i;

	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (uint8_t)(i * 7 + 3);
	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(255 - i);
	mkdir("dir", 0755);
	unit_write_file("a.txt", "hello\n", 6);
	unit_write_file("dir/b.bin", bin, sizeof(bin));
	unit_write_file("dir/empty", "", 0);
	unit_write_file("c512", big, sizeof(big));
}

/* The archive at path holds exactly make_files()'s four files, read the
 * same in one piece, byte by byte and in odd chunks. */
static void
check_four(const char *path)
{
	static const size_t chunks[] = { 0, 1, 7, 511, 512, 513 };
	spool_err err;
	size_t len, c;
	char *tar = unit_read_file(path, &len);

	spool_err_clear(&err);
	REQUIRE(tar != NULL);
	for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		struct got *g = got_new();

		CHECK_OK(read_tar((uint8_t *)tar, len, chunks[c], g, &err));
		CHECK_INT(g->members, 4);
		CHECK_INT(g->ended, 4);
		CHECK(!g->bad);
		CHECK_STR(g->names[0], "a.txt");
		CHECK_STR(g->names[1], "dir/b.bin");
		CHECK_STR(g->names[2], "dir/empty");
		CHECK_STR(g->names[3], "c512");
		CHECK_INT(g->sizes[1], sizeof(bin));
		CHECK(got_data_is(g, 0, "hello\n", 6));
		CHECK(got_data_is(g, 1, bin, sizeof(bin)));
		CHECK(got_data_is(g, 2, "", 0));
		CHECK(got_data_is(g, 3, big, sizeof(big)));
		free(g);
	}
	free(tar);
}

TEST(ustar_padding)
{
	CHECK_INT(spool_ustar_padding(0), 0);
	CHECK_INT(spool_ustar_padding(1), 511);
	CHECK_INT(spool_ustar_padding(511), 1);
	CHECK_INT(spool_ustar_padding(512), 0);
	CHECK_INT(spool_ustar_padding(513), 511);
	CHECK_INT(spool_ustar_padding(UINT64_C(8589934591)), 1);
}

TEST(ustar_header_fields)
{
	uint8_t h[512], h2[512];
	spool_err err;

	spool_err_clear(&err);
	CHECK_OK(spool_ustar_header(h, "dir/file", 1234, 1700000000, &err));
	CHECK_OK(spool_ustar_header(h2, "dir/file", 1234, 1700000000, &err));
	CHECK(memcmp(h, h2, 512) == 0);
	CHECK_STR((char *)h, "dir/file");
	CHECK(memcmp(h + 100, "0000644\0" "0000000\0" "0000000\0", 24) == 0);
	CHECK(memcmp(h + 124, "00000002322\0", 12) == 0);
	CHECK(memcmp(h + 136, "14524770400\0", 12) == 0);
	CHECK_INT(h[156], '0');
	CHECK(memcmp(h + 257, "ustar\0" "00" "root", 12) == 0);
	CHECK_STR((char *)h + 297, "root");
	CHECK_INT(h[154], '\0');
	CHECK_INT(h[155], ' ');
	fix_sum(h2);
	CHECK(memcmp(h, h2, 512) == 0);
}

/* Python's tarfile writes the very same bytes for the same file. */
TEST(ustar_header_matches_python)
{
	static const char *names[] = { "manifest.jsonl",
		"blobs/0123456789abcdef0123456789abcdef"
		"0123456789abcdef0123456789abcdef",
		"dddddddddddddddddddddddddddddddddddddddddddddddd/"
		"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee/"
		"ffffffffffffffffffffffffffffffffffffffffffffffffffffff" };
	char cmd[1024];
	uint8_t h[512];
	spool_err err;
	size_t i, len;
	char *py;

	spool_err_clear(&err);
	for (i = 0; i < 3; i++) {
		snprintf(cmd, sizeof(cmd), "python3 -c 'import tarfile,sys\n"
		    "t=tarfile.TarInfo(sys.argv[1]); t.size=4242; "
		    "t.mtime=1234567890; t.mode=0o644; t.uname=t.gname=\"root\"\n"
		    "open(\"py.h\",\"wb\").write(t.tobuf("
		    "format=tarfile.USTAR_FORMAT))' %s", names[i]);
		REQUIRE(sh(cmd) == 0);
		py = unit_read_file("py.h", &len);
		REQUIRE(py != NULL && len == 512);
		CHECK_OK(spool_ustar_header(h, names[i], 4242, 1234567890,
		    &err));
		if (memcmp(h, py, 512) != 0)
			unit_fail(__FILE__, __LINE__, "header of '%s' differs "
			    "from python's", names[i]);
		free(py);
	}
}

TEST(ustar_header_refuses)
{
	char name[300];
	uint8_t h[512];
	spool_err err;

	spool_err_clear(&err);
	CHECK_OK(spool_ustar_header(h, "x", UINT64_C(8589934591), 0, &err));
	CHECK(memcmp(h + 124, "77777777777\0", 12) == 0);
	memset(h, 0xaa, sizeof(h));
	CHECK_FAIL(spool_ustar_header(h, "x", UINT64_C(8589934592), 0, &err),
	    SPOOL_ERR_USAGE, "over the ustar limit");
	CHECK_INT(h[0], 0xaa); /* untouched on failure */
	CHECK_FAIL(spool_ustar_header(h, "x", 0, UINT64_C(1) << 33, &err),
	    SPOOL_ERR_USAGE, "mtime");
	CHECK_FAIL(spool_ustar_header(h, "", 0, 0, &err), SPOOL_ERR_USAGE,
	    "empty name");
	CHECK_FAIL(spool_ustar_header(h, "/etc/x", 0, 0, &err),
	    SPOOL_ERR_USAGE, "absolute");
	CHECK_FAIL(spool_ustar_header(h, "a/../b", 0, 0, &err),
	    SPOOL_ERR_USAGE, "'..' component");
	CHECK_FAIL(spool_ustar_header(h, "a\tb", 0, 0, &err),
	    SPOOL_ERR_USAGE, "control character");
	/* 101 bytes and no '/' to split at. */
	memset(name, 'a', 101);
	name[101] = '\0';
	CHECK_FAIL(spool_ustar_header(h, name, 0, 0, &err), SPOOL_ERR_USAGE,
	    "no '/' splits it");
	/* The prefix would need 155 bytes: one more than fits with a NUL. */
	memset(name, 'p', 155);
	name[155] = '/';
	memset(name + 156, 'n', 10);
	name[166] = '\0';
	CHECK_FAIL(spool_ustar_header(h, name, 0, 0, &err), SPOOL_ERR_USAGE,
	    "no '/' splits it");
	name[154] = '/';
	name[155] = 'q';
	CHECK_OK(spool_ustar_header(h, name, 0, 0, &err));
	memset(name, 'a', 256);
	name[100] = name[200] = '/';
	name[256] = '\0';
	CHECK_FAIL(spool_ustar_header(h, name, 0, 0, &err), SPOOL_ERR_USAGE,
	    "longer than 255");
}

TEST(ustar_roundtrip)
{
	static uint8_t buf[8192];
	static const size_t chunks[] = { 0, 1, 2, 3, 100, 511, 512, 1000 };
	uint8_t blob[700];
	spool_err err;
	size_t off = 0, i, c;

	spool_err_clear(&err);
	for (i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(i ^ 0x5a);
	put_member(buf, &off, "manifest.jsonl", "{\"spool\":1}\n", 12);
	put_member(buf, &off, "blobs/ab", blob, sizeof(blob));
	CHECK_INT(off, 512 + 512 + 512 + 1024);
	off += 1024; /* two zero blocks */
	for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		struct got *g = got_new();

		CHECK_OK(read_tar(buf, off, chunks[c], g, &err));
		CHECK_INT(g->members, 2);
		CHECK_INT(g->ended, 2);
		CHECK(!g->bad);
		CHECK_STR(g->names[0], "manifest.jsonl");
		CHECK_STR(g->names[1], "blobs/ab");
		CHECK_INT(g->sizes[0], 12);
		CHECK_INT(g->sizes[1], sizeof(blob));
		CHECK(got_data_is(g, 0, "{\"spool\":1}\n", 12));
		CHECK(got_data_is(g, 1, blob, sizeof(blob)));
		free(g);
	}
}

/* Any number of zero blocks ends an archive, none included; a partial
 * zero block does not. */
TEST(ustar_end_blocks)
{
	static uint8_t buf[32 * 512];
	static const size_t zeros[] = { 0, 1, 2, 3, 20 };
	spool_err err;
	size_t off = 0, i;

	spool_err_clear(&err);
	put_member(buf, &off, "a", "xyz", 3);
	for (i = 0; i < sizeof(zeros) / sizeof(zeros[0]); i++) {
		struct got *g = got_new();

		CHECK_OK(read_tar(buf, off + zeros[i] * 512, 1, g, &err));
		CHECK_INT(g->members, 1);
		free(g);
	}
	refused("partial zero block", buf, off + 1024 + 100,
	    "truncated block (after end of archive)");
	refused("partial header", buf, off + 100, "truncated block");
	{
		struct got *g = got_new();

		CHECK_OK(read_tar(buf, 0, 0, g, &err)); /* empty input */
		CHECK_INT(g->members, 0);
		free(g);
	}
}

TEST(ustar_gnu_tar_ustar_format)
{
	make_files();
	REQUIRE(sh("tar --format=ustar -cf u.tar a.txt dir/b.bin dir/empty "
	    "c512") == 0);
	check_four("u.tar");
}

TEST(ustar_gnu_tar_gnu_format)
{
	make_files();
	REQUIRE(sh("tar -cf g.tar a.txt dir/b.bin dir/empty c512") == 0);
	check_four("g.tar");
}

TEST(ustar_python_tarfile)
{
	size_t len;
	char *p;

	make_files();
	REQUIRE(sh("python3 -c 'import tarfile\n"
	    "t=tarfile.open(\"p.tar\",\"w\",format=tarfile.USTAR_FORMAT)\n"
	    "for n in (\"a.txt\",\"dir/b.bin\",\"dir/empty\",\"c512\"): "
	    "t.add(n)\n"
	    "t.close()'") == 0);
	p = unit_read_file("p.tar", &len);
	REQUIRE(p != NULL);
	CHECK_INT(len, 10240);
	free(p);
	check_four("p.tar");
}

/* GNU tar in ustar format splits a long name into prefix and name. */
TEST(ustar_gnu_tar_prefix)
{
	static const char *dir =
	    "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd/"
	    "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
	char path[256], cmd[512];
	struct got *g = got_new();
	spool_err err;
	size_t len;
	char *tar;

	spool_err_clear(&err);
	snprintf(cmd, sizeof(cmd), "mkdir -p %s", dir);
	REQUIRE(sh(cmd) == 0);
	snprintf(path, sizeof(path), "%s/file.txt", dir);
	unit_write_file(path, "deep", 4);
	snprintf(cmd, sizeof(cmd), "tar --format=ustar -cf d.tar %s", path);
	REQUIRE(sh(cmd) == 0);
	tar = unit_read_file("d.tar", &len);
	REQUIRE(tar != NULL);
	CHECK(tar[345] == 'd'); /* the prefix field is in use */
	CHECK_OK(read_tar((uint8_t *)tar, len, 3, g, &err));
	CHECK_INT(g->members, 1);
	CHECK_STR(g->names[0], path);
	CHECK(got_data_is(g, 0, "deep", 4));
	free(tar);
	free(g);
}

/* GNU tar's own long names ('L' headers) are refused, not misread. */
TEST(ustar_gnu_tar_long_name_refused)
{
	char cmd[512], name[160];
	size_t len;
	char *tar;

	memset(name, 'x', 150);
	name[150] = '\0';
	unit_write_file(name, "1", 1);
	snprintf(cmd, sizeof(cmd), "tar -cf l.tar %s", name);
	REQUIRE(sh(cmd) == 0);
	tar = unit_read_file("l.tar", &len);
	REQUIRE(tar != NULL);
	refused("gnu long name", (uint8_t *)tar, len,
	    "member 1 '././@LongLink': not a regular file (type 'L')");
	free(tar);
}

/* GNU tar and Python list and extract what we write. */
TEST(ustar_tar_reads_ours)
{
	static uint8_t buf[8192];
	static const char *long_name =
	    "blobs/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	char name100[101], cmd[512], *list, *x;
	size_t off = 0, len;

	memset(name100, 'n', 100);
	name100[100] = '\0';
	put_member(buf, &off, "manifest.jsonl", "{}\n", 3);
	put_member(buf, &off, long_name, "long", 4);
	put_member(buf, &off, name100, "hundred", 7);
	off += 1024;
	unit_write_file("ours.tar", buf, off);
	REQUIRE(sh("tar -tvf ours.tar > list.txt") == 0);
	list = unit_read_file("list.txt", &len);
	REQUIRE(list != NULL);
	CHECK(strstr(list, "-rw-r--r-- root/root         3 ") != NULL);
	CHECK(strstr(list, " manifest.jsonl\n") != NULL);
	CHECK(strstr(list, long_name) != NULL);
	CHECK(strstr(list, name100) != NULL);
	free(list);
	mkdir("x", 0755);
	REQUIRE(sh("tar -xf ours.tar -C x") == 0);
	snprintf(cmd, sizeof(cmd), "x/%s", long_name);
	x = unit_read_file(cmd, &len);
	CHECK(x != NULL && len == 4 && memcmp(x, "long", 4) == 0);
	free(x);
	REQUIRE(sh("python3 -c 'import tarfile\n"
	    "t=tarfile.open(\"ours.tar\")\n"
	    "open(\"py.txt\",\"w\").write(\"\".join(\"%s %d %s\\n\" % (m.name,"
	    "m.size,t.extractfile(m).read().decode()) for m in t))'") == 0);
	list = unit_read_file("py.txt", &len);
	REQUIRE(list != NULL);
	snprintf(cmd, sizeof(cmd), "manifest.jsonl 3 {}\n\n%s 4 long\n"
	    "%s 7 hundred\n", long_name, name100);
	CHECK_STR(list, cmd);
	free(list);
}

TEST(ustar_long_name_roundtrip)
{
	static uint8_t buf[4096];
	char name[256];
	struct got *g = got_new();
	spool_err err;
	size_t off = 0;

	spool_err_clear(&err);
	memset(name, 'p', 154);
	name[60] = '/';
	name[154] = '/';
	memset(name + 155, 'n', 100);
	name[255] = '\0';
	put_member(buf, &off, name, "data", 4);
	CHECK_INT(strnlen((char *)buf + 345, 155), 154);
	CHECK_INT(strnlen((char *)buf, 100), 100);
	off += 1024;
	CHECK_OK(read_tar(buf, off, 1, g, &err));
	CHECK_INT(g->members, 1);
	CHECK_STR(g->names[0], name);
	CHECK(got_data_is(g, 0, "data", 4));
	free(g);
}

/* A name that fills its 100 bytes has no NUL, and that is valid. */
TEST(ustar_name_100_unterminated)
{
	static uint8_t buf[4096];
	char name[101];
	struct got *g = got_new();
	spool_err err;
	size_t len;

	spool_err_clear(&err);
	memset(name, 'z', 100);
	name[100] = '\0';
	len = raw_names(buf, name, 100, "", 0);
	CHECK_INT(buf[99], 'z');
	CHECK_INT(buf[100], '0'); /* the mode field follows at once */
	CHECK_OK(read_tar(buf, len, 0, g, &err));
	CHECK_STR(g->names[0], name);
	free(g);
	len = raw_names(buf, name, 100, "dir", 3);
	g = got_new();
	CHECK_OK(read_tar(buf, len, 1, g, &err));
	CHECK_INT(strlen(g->names[0]), 104);
	CHECK(strncmp(g->names[0], "dir/zzz", 7) == 0);
	free(g);
	memset(name, 'q', 100);
	len = raw_names(buf, "n", 1, name, 100); /* 155-byte prefix */
	memset(buf + 345, 'q', 155);
	fix_sum(buf);
	refused("full prefix", buf, len, "prefix field not terminated");
}

TEST(ustar_refuses_checksum)
{
	static uint8_t buf[4096];
	size_t off = 0;

	put_member(buf, &off, "a", "x", 1);
	buf[0] = 'b';
	refused("checksum", buf, off + 1024, "member 1: bad header checksum");
	fix_sum(buf);
	memcpy(buf + 148, "       \0", 8);
	refused("empty checksum", buf, off + 1024, "bad header checksum");
}

/* Old tars summed signed chars; GNU tar accepts both, and so do we. */
TEST(ustar_signed_checksum)
{
	static uint8_t buf[4096];
	struct got *g = got_new();
	spool_err err;
	size_t off = 0;
	long sum = 0;
	int i;

	spool_err_clear(&err);
	put_member(buf, &off, "caf\xc3\xa9", "x", 1);
	memset(buf + 148, ' ', 8);
	for (i = 0; i < 512; i++)
		sum += (signed char)buf[i];
	snprintf((char *)buf + 148, 8, "%06lo", sum);
	buf[155] = ' ';
	CHECK_OK(read_tar(buf, off + 1024, 1, g, &err));
	CHECK_STR(g->names[0], "caf\xc3\xa9");
	free(g);
	/* Leading spaces and a space terminator, as old tars wrote. */
	fix_sum(buf);
	memmove(buf + 149, buf + 148, 6);
	buf[148] = ' ';
	buf[155] = ' ';
	g = got_new();
	CHECK_OK(read_tar(buf, off + 1024, 0, g, &err));
	free(g);
}

TEST(ustar_refuses_types)
{
	static const char types[] = "1234567LKxgSVM";
	static uint8_t buf[4096];
	char sub[64];
	size_t off = 0, i;

	put_member(buf, &off, "thing", "", 0);
	off += 1024;
	for (i = 0; types[i] != '\0'; i++) {
		buf[156] = (uint8_t)types[i];
		fix_sum(buf);
		snprintf(sub, sizeof(sub),
		    "member 1 'thing': not a regular file (type '%c')",
		    types[i]);
		refused(sub, buf, off, sub);
	}
	buf[156] = 0x01;
	fix_sum(buf);
	refused("binary type", buf, off, "not a regular file (type 0x01)");
	/* NUL is the old regular-file type. */
	{
		struct got *g = got_new();
		spool_err err;

		buf[156] = '\0';
		fix_sum(buf);
		spool_err_clear(&err);
		CHECK_OK(read_tar(buf, off, 0, g, &err));
		CHECK_INT(g->members, 1);
		free(g);
	}
}

/* The real thing: GNU tar's own symlink, hard link, directory and fifo. */
TEST(ustar_refuses_tar_specials)
{
	static const struct {
		const char *make, *tar, *want;
	} t[] = {
		{ "ln -s a.txt sym", "sym", "'sym': not a regular file (type '2')" },
		{ "ln a.txt hard", "a.txt hard", "'hard': not a regular file (type '1')" },
		{ "mkdir d", "d", "'d/': not a regular file (type '5')" },
		{ "mkfifo ff", "ff", "'ff': not a regular file (type '6')" },
	};
	char cmd[256];
	size_t i, len;
	char *tar;

	unit_write_file("a.txt", "hello\n", 6);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		REQUIRE(sh(t[i].make) == 0);
		snprintf(cmd, sizeof(cmd), "tar --format=ustar -cf t.tar %s",
		    t[i].tar);
		REQUIRE(sh(cmd) == 0);
		tar = unit_read_file("t.tar", &len);
		REQUIRE(tar != NULL);
		refused(t[i].make, (uint8_t *)tar, len, t[i].want);
		free(tar);
	}
	REQUIRE(sh("tar --format=pax -cf x.tar a.txt") == 0);
	tar = unit_read_file("x.tar", &len);
	REQUIRE(tar != NULL);
	refused("pax", (uint8_t *)tar, len, "not a regular file (type 'x')");
	free(tar);
}

TEST(ustar_refuses_names)
{
	static const struct {
		const char *name, *prefix, *want;
	} t[] = {
		{ "/etc/passwd", "", "'/etc/passwd': absolute name" },
		{ "../x", "", "'../x': '..' component in name" },
		{ "a/../b", "", "'a/../b': '..' component in name" },
		{ "..", "", "'..': '..' component in name" },
		{ "./a", "", "'./a': '.' component in name" },
		{ "a/.", "", "'.' component in name" },
		{ "a//b", "", "'a//b': empty component in name" },
		{ "a/", "", "'a/': trailing '/' in name" },
		{ "a\nb", "", "'a\\x0ab': control character in name" },
		{ "a\x7f", "", "control character in name" },
		{ "a\x1b[2J", "", "control character in name" },
		{ "", "", "empty name" },
		{ "", "dir", "'dir/': trailing '/' in name" },
		{ "x", "/abs", "'/abs/x': absolute name" },
		{ "x", "a/..", "'..' component in name" },
		{ "x", "a/", "'a//x': empty component in name" },
		{ "b", "..", "'../b': '..' component" },
	};
	static uint8_t buf[4096];
	size_t i, len;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		len = raw_names(buf, t[i].name, strlen(t[i].name), t[i].prefix,
		    strlen(t[i].prefix));
		refused(t[i].name, buf, len, t[i].want);
	}
}

TEST(ustar_refuses_sizes)
{
	static uint8_t buf[4096];
	size_t off = 0;

	put_member(buf, &off, "a", "abc", 3);
	off += 1024;
	memset(buf + 124, 0, 12);
	buf[124] = 0x80;
	buf[135] = 3;
	fix_sum(buf);
	refused("base-256", buf, off, "'a': base-256 size not supported");
	memcpy(buf + 124, "00000000009\0", 12);
	fix_sum(buf);
	refused("digit 9", buf, off, "'a': bad size field (not octal)");
	memcpy(buf + 124, "000000000003", 12);
	fix_sum(buf);
	refused("no terminator", buf, off, "bad size field");
	memcpy(buf + 124, "       3\0\0\0\0", 12);
	fix_sum(buf);
	refused("leading spaces", buf, off, "bad size field");
	memcpy(buf + 124, "3 x\0\0\0\0\0\0\0\0\0", 12);
	fix_sum(buf);
	refused("junk after", buf, off, "bad size field");
	memset(buf + 124, 0, 12);
	fix_sum(buf);
	refused("empty size", buf, off, "bad size field");
}

TEST(ustar_refuses_magic)
{
	static uint8_t buf[4096];
	size_t off = 0;

	put_member(buf, &off, "a", "abc", 3);
	off += 1024;
	memcpy(buf + 257, "ustar\0" "01", 8);
	fix_sum(buf);
	refused("version", buf, off, "member 1: not a ustar header");
	memset(buf + 257, 0, 8); /* v7 */
	fix_sum(buf);
	refused("v7", buf, off, "bad magic");
	/* GNU magic: the prefix area is GNU's atime, which we refuse. */
	memcpy(buf + 257, "ustar  \0", 8);
	memcpy(buf + 345, "14524770400", 11);
	fix_sum(buf);
	refused("gnu atime", buf, off, "gnu header with data in the prefix");
}

TEST(ustar_refuses_truncation)
{
	static uint8_t buf[4096];
	size_t off = 0, first;

	put_member(buf, &off, "a", "abc", 3);
	first = off;
	put_member(buf, &off, "b", "defgh", 5);
	refused("in header", buf, first + 300,
	    "truncated block (header of member 2)");
	refused("in data", buf, first + 512 + 2,
	    "truncated archive (inside member 2 'b')");
	refused("in padding", buf, first + 512 + 100,
	    "truncated archive (inside member 2 'b')");
	refused("first member data", buf, 512,
	    "truncated archive (inside member 1 'a')");
}

TEST(ustar_refuses_padding_and_trailing)
{
	static uint8_t buf[8192];
	size_t off = 0;

	put_member(buf, &off, "a", "abc", 3);
	put_member(buf, &off, "b", "defgh", 5);
	buf[512 + 511] = 1;
	refused("padding", buf, off + 1024, "member 1 'a': non-zero padding");
	buf[512 + 511] = 0;
	buf[off + 1024 + 700] = 'x';
	refused("after end", buf, off + 2048,
	    "data after end of archive (offset 3772)");
	buf[off + 1024 + 700] = 0;
	buf[off + 515] = 1; /* in the second zero block */
	refused("in end block", buf, off + 1024,
	    "data after end of archive (offset 2563)");
}

/* A callback's refusal stops the reader, with the callback's reason, and
 * the reader stays failed. */
TEST(ustar_callback_refusal)
{
	static uint8_t buf[8192];
	struct spool_ustar_cb cb = { NULL, on_member, on_data, on_end };
	struct spool_ustar_reader *r;
	struct got *g = got_new();
	spool_err err;
	size_t off = 0;

	spool_err_clear(&err);
	put_member(buf, &off, "a", "abc", 3);
	put_member(buf, &off, "b", "defgh", 5);
	put_member(buf, &off, "c", "i", 1);
	off += 1024;
	g->refuse_at = 2;
	CHECK_FAIL(read_tar(buf, off, 1, g, &err), SPOOL_ERR_LIMIT,
	    "member 'b' refused");
	CHECK_INT(g->members, 2);
	CHECK_INT(g->ended, 1);
	CHECK_INT(g->n, 3); /* nothing of b */
	free(g);

	g = got_new();
	g->refuse_at = 2;
	cb.ctx = g;
	CHECK_OK(spool_ustar_reader_new(&r, &cb, &err));
	CHECK_FAIL(spool_ustar_reader_feed(r, buf, off, &err),
	    SPOOL_ERR_LIMIT, "member 'b' refused");
	spool_err_clear(&err);
	CHECK_FAIL(spool_ustar_reader_feed(r, buf, 1, &err), SPOOL_ERR_LIMIT,
	    "member 'b' refused");
	CHECK_FAIL(spool_ustar_reader_finish(r, &err), SPOOL_ERR_LIMIT,
	    "member 'b' refused");
	CHECK_INT(spool_ustar_reader_members(r), 2);
	CHECK_INT(spool_ustar_reader_feed(r, buf, 1, NULL), SPOOL_ERR_LIMIT);
	spool_ustar_reader_free(r);
	free(g);
}

/* After a format error every later call repeats it. */
TEST(ustar_poisoned)
{
	static uint8_t buf[4096];
	struct got *g = got_new();
	struct spool_ustar_cb cb = { g, on_member, on_data, on_end };
	struct spool_ustar_reader *r;
	spool_err err;
	size_t off = 0;

	spool_err_clear(&err);
	put_member(buf, &off, "a", "abc", 3);
	off += 1024;
	buf[0] = 'b';
	CHECK_OK(spool_ustar_reader_new(&r, &cb, &err));
	CHECK_FAIL(spool_ustar_reader_feed(r, buf, 512, NULL),
	    SPOOL_ERR_FORMAT, "");
	buf[0] = 'a';
	CHECK_FAIL(spool_ustar_reader_feed(r, buf, off, &err),
	    SPOOL_ERR_FORMAT, "member 1: bad header checksum");
	CHECK_FAIL(spool_ustar_reader_finish(r, &err), SPOOL_ERR_FORMAT,
	    "bad header checksum");
	CHECK_INT(g->members, 0);
	spool_ustar_reader_free(r);
	spool_ustar_reader_free(NULL);
	free(g);
}
