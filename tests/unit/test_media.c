/*
 * test_media.c - what export and import decide without touching a medium:
 * which names are batches, and what a FAT filesystem can hold.
 */
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "spool/spool.h"

#define EXFAT_MAGIC 0x2011BAB0UL
#define EXT4_MAGIC 0xEF53UL
#define GiB (1ULL << 30)

TEST(media_fat_refuses_4gib_and_more)
{
	CHECK(!spool_media_fat_refuses(SPOOL_FAT_MAGIC, 0));
	CHECK(!spool_media_fat_refuses(SPOOL_FAT_MAGIC, 4 * GiB - 1));
	CHECK(spool_media_fat_refuses(SPOOL_FAT_MAGIC, 4 * GiB));
	CHECK(spool_media_fat_refuses(SPOOL_FAT_MAGIC, 5 * GiB));
	CHECK(spool_media_fat_refuses(SPOOL_FAT_MAGIC, UINT64_MAX));
	/* exFAT and the rest hold big files */
	CHECK(!spool_media_fat_refuses(EXFAT_MAGIC, 5 * GiB));
	CHECK(!spool_media_fat_refuses(EXT4_MAGIC, 5 * GiB));
}

TEST(media_fat_reason_says_why)
{
	spool_err err;

	CHECK_OK(spool_media_size_check(SPOOL_FAT_MAGIC, "a.batch",
	    4 * GiB - 1, &err));
	CHECK_OK(spool_media_size_check(EXFAT_MAGIC, "a.batch", 5 * GiB,
	    &err));
	CHECK_FAIL(spool_media_size_check(SPOOL_FAT_MAGIC, "a.batch", 5 * GiB,
	    &err), SPOOL_ERR_LIMIT, "FAT");
	CHECK_STR(err.msg, "'a.batch' is 5.0 GiB (5368709120 bytes); a FAT "
	    "filesystem holds files under 4 GiB");
	CHECK_FAIL(spool_media_size_check(SPOOL_FAT_MAGIC, "b.batch", 4 * GiB,
	    &err), SPOOL_ERR_LIMIT, "is 4.0 GiB (4294967296 bytes);");
	CHECK_FAIL(spool_media_size_check(SPOOL_FAT_MAGIC, "c.batch",
	    4 * GiB + GiB / 2, &err), SPOOL_ERR_LIMIT, "is 4.5 GiB");
}

TEST(media_batch_stem_names)
{
	char from[SPOOL_NAME_MAX + 1], to[SPOOL_NAME_MAX + 1];
	char longest[128];
	uint64_t seq = 0;

	CHECK(spool_batch_stem_parse("low-high-0000000042", from, to, &seq));
	CHECK_STR(from, "low");
	CHECK_STR(to, "high");
	CHECK_INT(seq, 42);
	CHECK(spool_batch_stem_parse("a-b-9999999999", NULL, NULL, &seq));
	CHECK_INT(seq, 9999999999LL);
	memset(longest, 'a', 32);
	memcpy(longest + 32, "-", 1);
	memset(longest + 33, 'b', 32);
	strcpy(longest + 65, "-0000000001");
	CHECK(spool_batch_stem_parse(longest, from, to, &seq));
	CHECK_INT(strlen(from), 32);
	CHECK_INT(strlen(to), 32);
	longest[0] = 'c';
	memmove(longest + 1, longest, strlen(longest) + 1); /* from of 33 */
	CHECK(!spool_batch_stem_parse(longest, NULL, NULL, NULL));

	CHECK(!spool_batch_stem_parse("", NULL, NULL, NULL));
	CHECK(!spool_batch_stem_parse("low-high-42", NULL, NULL, NULL));
	CHECK(!spool_batch_stem_parse("low-high-00000000420", NULL, NULL,
	    NULL));
	CHECK(!spool_batch_stem_parse("Low-high-0000000042", NULL, NULL,
	    NULL));
	CHECK(!spool_batch_stem_parse("low-high-000000004x", NULL, NULL,
	    NULL));
	CHECK(!spool_batch_stem_parse("low--0000000042", NULL, NULL, NULL));
	CHECK(!spool_batch_stem_parse("-high-0000000042", NULL, NULL, NULL));
	CHECK(!spool_batch_stem_parse("low-high-x-0000000042", NULL, NULL,
	    NULL));
	CHECK(!spool_batch_stem_parse("low_x-high-0000000042", NULL, NULL,
	    NULL));
	CHECK(!spool_batch_stem_parse("low-high-0000000042.batch", NULL, NULL,
	    NULL));
	CHECK(!spool_batch_stem_parse(".low-high-0000000042", NULL, NULL,
	    NULL));
}
