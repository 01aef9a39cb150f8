/*
 * test_crypto.c - hashes, keys, minisign signatures, batch facts, ids.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "spool/spool.h"

TEST(hash_b2_256_matches_b2sum)
{
	uint8_t h[SPOOL_HASH_LEN];
	char hex[SPOOL_HASH_HEXLEN + 1];
	spool_hasher s;

	spool_hasher_init(&s, SPOOL_HASH_LEN);
	spool_hasher_update(&s, "ab", 2);
	spool_hasher_update(&s, "c", 1);
	spool_hasher_final(&s, h);
	spool_hex(hex, h, sizeof(h));
	/* printf abc | b2sum -l 256 */
	CHECK_STR(hex,
	    "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
	spool_hasher_init(&s, SPOOL_HASH_LEN);
	spool_hasher_final(&s, h);
	spool_hex(hex, h, sizeof(h));
	CHECK_STR(hex,
	    "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
}

TEST(error_texts_and_classes)
{
	spool_err err;

	CHECK_STR(spool_strerror(SPOOL_OK), "success");
	CHECK_STR(spool_strerror(SPOOL_ERR_SIGNATURE), "signature invalid");
	CHECK_STR(spool_strerror(SPOOL_ERR__MIN - 1), "unknown error");
	CHECK_STR(spool_strerror(1), "unknown error");
	CHECK(spool_err_is_verify(SPOOL_ERR_HASH));
	CHECK(!spool_err_is_verify(SPOOL_ERR_NOMEM));
	CHECK(!spool_err_is_verify(SPOOL_ERR_CONFIG));
	CHECK_INT(spool_fail(&err, SPOOL_ERR_FORMAT, "bad %d", 7),
	    SPOOL_ERR_FORMAT);
	spool_err_prefix(&err, "'%s'", "x.batch");
	CHECK_STR(err.msg, "'x.batch': bad 7");
	errno = ENOENT;
	CHECK_INT(spool_fail_sys(&err, "cannot open '%s'", "y"), SPOOL_ERR_SYS);
	CHECK_STR(err.msg, "cannot open 'y': No such file or directory");
}

TEST(hex_roundtrip_and_refusals)
{
	uint8_t b[4] = { 0, 0x7f, 0xa0, 0xff }, o[4];
	char hex[9];

	spool_hex(hex, b, 4);
	CHECK_STR(hex, "007fa0ff");
	CHECK_INT(spool_unhex(o, 4, hex), 0);
	CHECK(memcmp(b, o, 4) == 0);
	CHECK_INT(spool_unhex(o, 4, "007FA0FF"), -1); /* lowercase only */
	CHECK_INT(spool_unhex(o, 4, "007fa0f"), -1);
	CHECK_INT(spool_unhex(o, 4, "007fa0ff0"), -1);
	CHECK_INT(spool_unhex(o, 4, "007fa0fg"), -1);
}

TEST(key_files_roundtrip)
{
	struct spool_pubkey pub, pub2;
	struct spool_seckey sec, sec2;
	char text[256], id[SPOOL_KEYID_STRLEN + 1];
	struct stat st;
	spool_err err;

	CHECK_OK(spool_keypair_generate(&pub, &sec, &err));
	CHECK_OK(spool_seckey_write("k.key", &sec, &err));
	CHECK_OK(spool_pubkey_write("k.pub", &pub, &err));
	CHECK_INT(stat("k.key", &st), 0);
	CHECK_INT(st.st_mode & 0777, 0600);
	CHECK_OK(spool_seckey_read("k.key", &sec2, &err));
	CHECK(memcmp(&sec, &sec2, sizeof(sec)) == 0);
	CHECK_OK(spool_pubkey_read("k.pub", &pub2, &err));
	CHECK(memcmp(&pub, &pub2, sizeof(pub)) == 0);
	spool_pubkey_format(&pub, text, sizeof(text));
	spool_keyid_str(pub.id, id);
	CHECK(strstr(text, id) != NULL);
	CHECK_FAIL(spool_seckey_write("k.key", &sec, &err), SPOOL_ERR_EXISTS,
	    "already exists");
	chmod("k.key", 0644);
	CHECK_FAIL(spool_seckey_read("k.key", &sec2, &err), SPOOL_ERR_CONFIG,
	    "accessible by others");
}

TEST(key_id_printed_like_minisign)
{
	/* minisign printed "D13CC4AA8E18615" for these bytes (no padding) */
	const uint8_t id[8] = { 0x15, 0x86, 0xe1, 0xa8, 0x4a, 0xcc, 0x13, 0x0d };
	char s[SPOOL_KEYID_STRLEN + 1];

	spool_keyid_str(id, s);
	CHECK_STR(s, "D13CC4AA8E18615");
}

TEST(minisign_generated_key_is_read)
{
	/* from `minisign -G -W` (0.11): zero checksum, zero kdf fields */
	static const char sk[] =
	    "untrusted comment: minisign encrypted secret key\n"
	    "RWQAAEIyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAFYbhqErMEw1J4SGyXU5QbWkndhLuDGlWp6Ns55mku3HSmmMNq6LqfjO0EjsmOf"
	    "Kiv/afexPc7p67Ks8Q5UUdIO8knc1+Gu4kAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAA=\n";
	static const char pk[] =
	    "untrusted comment: minisign public key D13CC4AA8E18615\n"
	    "RWQVhuGoSswTDTO0EjsmOfKiv/afexPc7p67Ks8Q5UUdIO8knc1+Gu4k\n";
	struct spool_seckey sec;
	struct spool_pubkey pub, derived;
	spool_err err;

	unit_write_file("m.key", sk, sizeof(sk) - 1);
	chmod("m.key", 0600);
	CHECK_OK(spool_seckey_read("m.key", &sec, &err));
	CHECK_OK(spool_pubkey_parse(pk, sizeof(pk) - 1, &pub, &err));
	spool_seckey_public(&sec, &derived);
	CHECK(memcmp(&pub, &derived, sizeof(pub)) == 0);
}

TEST(pubkey_parse_refusals)
{
	struct spool_pubkey pub;
	spool_err err;

	CHECK_FAIL(spool_pubkey_parse("", 0, &pub, &err), SPOOL_ERR_FORMAT,
	    "untrusted comment");
	CHECK_FAIL(spool_pubkey_parse("untrusted comment: x\nAAAA\n", 25, &pub,
	    &err), SPOOL_ERR_FORMAT, "bad key line");
}

static void
make_facts(struct spool_batch_facts *f)
{
	memset(f, 0, sizeof(*f));
	strcpy(f->from, "low");
	strcpy(f->to, "high");
	f->seq = 42;
	strcpy(f->id, "01936f3e-1c2a-7abc-8def-0123456789ab");
	f->items = 3;
	f->bytes = 1000;
	f->tar = 10240;
	strcpy(f->created, "2026-11-23T11:00:00Z");
}

TEST(facts_roundtrip_and_strictness)
{
	struct spool_batch_facts f, g;
	char text[512];
	spool_err err;

	make_facts(&f);
	CHECK_INT(spool_facts_format(&f, text, sizeof(text)), 0);
	CHECK_STR(text, "spool-batch v1 from=low to=high seq=42 "
	    "id=01936f3e-1c2a-7abc-8def-0123456789ab items=3 bytes=1000 "
	    "tar=10240 created=2026-11-23T11:00:00Z");
	CHECK_OK(spool_facts_parse(text, &g, &err));
	CHECK(memcmp(&f, &g, sizeof(f)) == 0);
	CHECK_FAIL(spool_facts_parse("spool-batch v2 from=low", &g, &err),
	    SPOOL_ERR_FORMAT, "version");
	CHECK_FAIL(spool_facts_parse("spool-batch v1 to=high from=low", &g,
	    &err), SPOOL_ERR_FORMAT, "expected 'from='");
	CHECK_FAIL(spool_facts_parse("spool-batch v1 from=Low to=high seq=1 "
	    "id=01936f3e-1c2a-7abc-8def-0123456789ab items=0 bytes=0 tar=0 "
	    "created=2026-11-23T11:00:00Z", &g, &err), SPOOL_ERR_FORMAT,
	    "'from'");
	CHECK_FAIL(spool_facts_parse("spool-batch v1 from=low to=high seq=042 "
	    "id=01936f3e-1c2a-7abc-8def-0123456789ab items=0 bytes=0 tar=0 "
	    "created=2026-11-23T11:00:00Z", &g, &err), SPOOL_ERR_FORMAT,
	    "'seq'");
	CHECK_FAIL(spool_facts_parse("spool-batch v1 from=low to=high seq=0 "
	    "id=01936f3e-1c2a-7abc-8def-0123456789ab items=0 bytes=0 tar=0 "
	    "created=2026-11-23T11:00:00Z", &g, &err), SPOOL_ERR_FORMAT,
	    "'seq'");
	CHECK_FAIL(spool_facts_parse("spool-batch v1 from=low to=high seq=1 "
	    "id=01936f3e-1c2a-7abc-8def-0123456789ab items=0 bytes=0 "
	    "tar=99999999999999999999 created=2026-11-23T11:00:00Z", &g, &err),
	    SPOOL_ERR_FORMAT, "'tar'");
	CHECK_FAIL(spool_facts_parse("spool-batch v1 from=low to=high seq=1 "
	    "id=01936f3e-1c2a-7abc-8def-0123456789ab items=0 bytes=0 tar=0 "
	    "created=2026-11-23T11:00:00Z extra=1", &g, &err), SPOOL_ERR_FORMAT,
	    "wrong number of fields");
}

TEST(minisig_sign_parse_verify)
{
	struct spool_pubkey pub, other;
	struct spool_seckey sec, osec;
	struct spool_minisig m;
	uint8_t digest[64];
	char text[SPOOL_MINISIG_MAX], *p;
	spool_err err;

	CHECK_OK(spool_keypair_generate(&pub, &sec, &err));
	CHECK_OK(spool_keypair_generate(&other, &osec, &err));
	memset(digest, 7, sizeof(digest));
	CHECK_OK(spool_minisig_sign(&sec, digest, "hello", "u", text,
	    sizeof(text), &err));
	CHECK_OK(spool_minisig_parse(text, strlen(text), &m, &err));
	CHECK_STR(m.trusted, "hello");
	CHECK(memcmp(m.keyid, pub.id, 8) == 0);
	CHECK_OK(spool_minisig_verify(&m, &pub, digest, &err));
	CHECK_FAIL(spool_minisig_verify(&m, &other, digest, &err),
	    SPOOL_ERR_SIGNATURE, "does not match");
	digest[0] ^= 1;
	CHECK_FAIL(spool_minisig_verify(&m, &pub, digest, &err),
	    SPOOL_ERR_SIGNATURE, "does not match");
	digest[0] ^= 1;
	strcpy(m.trusted, "hellO");
	CHECK_FAIL(spool_minisig_verify(&m, &pub, digest, &err),
	    SPOOL_ERR_SIGNATURE, "trusted comment");
	/* legacy: flip the algorithm bytes "ED" -> "Ed" (base64 "RU" -> "RW") */
	p = strchr(text, '\n') + 1;
	CHECK(strncmp(p, "RU", 2) == 0);
	p[1] = 'W';
	CHECK_FAIL(spool_minisig_parse(text, strlen(text), &m, &err),
	    SPOOL_ERR_SIGNATURE, "legacy");
}

TEST(minisig_parse_refusals)
{
	struct spool_minisig m;
	char big[SPOOL_MINISIG_MAX + 2];
	spool_err err;

	memset(big, 'a', sizeof(big));
	CHECK_FAIL(spool_minisig_parse(big, sizeof(big), &m, &err),
	    SPOOL_ERR_LIMIT, "larger than");
	CHECK_FAIL(spool_minisig_parse("hello\n", 6, &m, &err), SPOOL_ERR_FORMAT,
	    "untrusted comment");
	CHECK_FAIL(spool_minisig_read("nope.minisig", &m, &err),
	    SPOOL_ERR_SIGNATURE, "missing");
}

TEST(uuid7_shape_and_order)
{
	char a[SPOOL_UUID_LEN + 1], b[SPOOL_UUID_LEN + 1];

	spool_uuid7(a);
	spool_uuid7(b);
	CHECK(spool_uuid_ok(a));
	CHECK(a[14] == '7');
	CHECK(strchr("89ab", a[19]) != NULL);
	CHECK(strcmp(a, b) != 0);
	CHECK(strncmp(a, b, 8) <= 0);
	CHECK(!spool_uuid_ok("01936f3e-1c2a-7abc-8def-0123456789aB"));
	CHECK(!spool_uuid_ok("01936f3e-1c2a-7abc-8def-0123456789a"));
}

/* The pool behind ids: a forked child does not hand out the bytes its
 * parent will (the same UUIDs from a daemon and its worker). */
TEST(random_pool_forgets_at_fork)
{
	uint8_t first[8], mine[16], theirs[16];
	int fd[2];
	pid_t pid;

	spool_random(first, sizeof(first)); /* the pool is full now */
	CHECK_INT(pipe(fd), 0);
	if ((pid = fork()) == 0) {
		spool_random(theirs, sizeof(theirs));
		_exit(write(fd[1], theirs, sizeof(theirs)) == sizeof(theirs) ?
		    0 : 1);
	}
	CHECK(pid > 0);
	spool_random(mine, sizeof(mine));
	CHECK_INT((int)read(fd[0], theirs, sizeof(theirs)), (int)sizeof(theirs));
	waitpid(pid, NULL, 0);
	close(fd[0]);
	close(fd[1]);
	CHECK(memcmp(mine, theirs, sizeof(mine)) != 0);
}

static void *
mask_of(void *arg)
{
	sigset_t *m = arg;

	pthread_sigmask(SIG_BLOCK, NULL, m);
	return NULL;
}

/* A helper thread never takes the process's signals (spoold reads
 * SIGCHLD from a signalfd: a thread with it unblocked swallowed it). */
TEST(threads_block_signals)
{
	sigset_t m;
	pthread_t t;

	sigemptyset(&m);
	CHECK_INT(spool_thread_start(&t, mask_of, &m), 0);
	pthread_join(t, NULL);
	CHECK(sigismember(&m, SIGCHLD));
	CHECK(sigismember(&m, SIGTERM));
	CHECK(sigismember(&m, SIGHUP));
}

TEST(time_format_parse)
{
	char s[SPOOL_TIME_LEN + 1];
	time_t t;

	spool_time_format(s, 1795000000);
	CHECK_INT(spool_time_parse(s, &t), 0);
	CHECK_INT(t, 1795000000);
	CHECK_INT(spool_time_parse("2026-11-23T11:00:00.123Z", &t), 0);
	CHECK_INT(spool_time_parse("2026-11-23T11:00:00+01:00", &t), -1);
	CHECK_INT(spool_time_parse("2026-11-23", &t), -1);
}

TEST(item_names)
{
	char out[300];

	CHECK(spool_item_name_ok("report.pdf"));
	CHECK(spool_item_name_ok("carte du monde \xc3\xa9t\xc3\xa9.tif"));
	CHECK(!spool_item_name_ok(""));
	CHECK(!spool_item_name_ok("."));
	CHECK(!spool_item_name_ok(".."));
	CHECK(!spool_item_name_ok("a/b"));
	CHECK(!spool_item_name_ok("a\nb"));
	CHECK(!spool_item_name_ok("a\x7f"));
	CHECK(!spool_item_name_ok("\xc0\xaf"));   /* overlong '/' */
	CHECK(!spool_item_name_ok("\xed\xa0\x80")); /* surrogate */
	CHECK(!spool_item_name_ok("\xff"));
	CHECK_INT(spool_name_variant(out, sizeof(out), "report.pdf", 1), 0);
	CHECK_STR(out, "report.pdf");
	CHECK_INT(spool_name_variant(out, sizeof(out), "report.pdf", 2), 0);
	CHECK_STR(out, "report (2).pdf");
	CHECK_INT(spool_name_variant(out, sizeof(out), "README", 3), 0);
	CHECK_STR(out, "README (3)");
	CHECK_INT(spool_name_variant(out, sizeof(out), ".hidden", 2), 0);
	CHECK_STR(out, ".hidden (2)");
}

TEST(text_lines_for_json)
{
	char s[64];
	size_t i;

	/* control characters become spaces, stray bytes '?' */
	snprintf(s, sizeof(s), "a\nb\rc\td\x7f");
	CHECK_INT(spool_text_line(s, 64), 8);
	CHECK_STR(s, "a b c d ");
	snprintf(s, sizeof(s), "\xff\xc3(\xed\xa0\x80\xc3\xa9");
	CHECK_INT(spool_text_line(s, 64), 8);
	CHECK_STR(s, "??" "(???" "\xc3\xa9");
	/* cut on a character boundary, within max with its "..." */
	for (i = 0; i < 20; i++) {
		s[2 * i] = (char)0xc3;
		s[2 * i + 1] = (char)0xa9;
	}
	s[40] = '\0';
	CHECK_INT(spool_text_line(s, 10), 9);
	CHECK_STR(s, "\xc3\xa9\xc3\xa9\xc3\xa9...");
	snprintf(s, sizeof(s), "0123456789");
	CHECK_INT(spool_text_line(s, 10), 10);
	CHECK_STR(s, "0123456789");
	CHECK_INT(spool_text_line(s, 9), 9);
	CHECK_STR(s, "012345...");
}

TEST(long_names_keep_their_suffix)
{
	char name[256], out[300];
	size_t i;

	/* 254 bytes: "ab", 124 two-byte characters, ".tif": the " (2)"
	 * variant must cut the stem at byte 247, inside a character */
	name[0] = 'a';
	name[1] = 'b';
	for (i = 0; i < 124; i++) {
		name[2 + 2 * i] = (char)0xc3;
		name[3 + 2 * i] = (char)0xa9;
	}
	memcpy(name + 250, ".tif", 5);
	CHECK(spool_item_name_ok(name));
	CHECK_INT(spool_name_variant(out, sizeof(out), name, 1), 0);
	CHECK_STR(out, name);
	CHECK_INT(spool_name_variant(out, sizeof(out), name, 2), 0);
	CHECK_INT(strlen(out), 254); /* 246 of stem, not 247 */
	CHECK(strcmp(out + strlen(out) - 8, " (2).tif") == 0);
	CHECK(spool_item_name_ok(out)); /* no character cut in half */
	CHECK_INT(spool_name_part(out, sizeof(out), name, 7), 0);
	CHECK(strlen(out) <= 255);
	CHECK(strcmp(out + strlen(out) - 11, ".part000007") == 0);
	CHECK(spool_item_name_ok(out));
}

TEST(atomic_write_never_replaces)
{
	spool_err err;
	char *text;
	size_t len;

	CHECK_OK(spool_write_file_atomic("f", "one", 3, 0644, &err));
	CHECK_FAIL(spool_write_file_atomic("f", "two", 3, 0644, &err),
	    SPOOL_ERR_EXISTS, "already exists");
	CHECK_OK(spool_read_file("f", 100, &text, &len, &err));
	CHECK_STR(text, "one");
	free(text);
	CHECK_FAIL(spool_read_file("f", 2, &text, &len, &err), SPOOL_ERR_LIMIT,
	    "larger than");
	CHECK(system("ls -A | grep -c tmp | grep -qx 0") == 0);
}
