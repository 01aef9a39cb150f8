/*
 * test_config.c - spoold.conf: values, problems, print and write_new.
 *
 * Over 800 lines: the tests of one file format, case by case.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool/node/config.h"
#include "harness.h"

#define DIR "/etc/spool"

static int
parse(struct spool_config **c, const char *text, struct spool_diag *d,
    spool_err *err)
{
	return spool_config_parse(c, "t.conf", DIR, text, strlen(text), d, err);
}

/* The one problem text gives must contain want (and name file:line). */
static void
one_problem(const char *file, int line, const char *text, const char *want)
{
	struct spool_config *c = NULL;
	struct spool_diag d = { 0 };
	spool_err err;
	int r = parse(&c, text, &d, &err);

	if (r != SPOOL_ERR_CONFIG || d.n != 1 ||
	    strstr(d.lines[0], want) == NULL ||
	    strcmp(d.lines[0], err.msg) != 0 || c != NULL)
		unit_fail(file, line, "r=%d n=%zu first=\"%s\", wanted \"%s\"",
		    r, d.n, d.n ? d.lines[0] : err.msg, want);
	spool_diag_release(&d);
	spool_config_free(c);
}
#define ONE_PROBLEM(text, want) one_problem(__FILE__, __LINE__, text, want)

#define NODE "[node]\nname = alpha\n"

static int
str_eq(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Field by field, so the library cannot agree with itself by accident. */
static int
config_equal(const struct spool_config *a, const struct spool_config *b)
{
	size_t i, j;

	if (strcmp(a->name, b->name) != 0 || !str_eq(a->root, b->root) ||
	    !str_eq(a->peer, b->peer) || !str_eq(a->store_url, b->store_url) ||
	    a->max_bytes != b->max_bytes || a->max_items != b->max_items ||
	    a->max_age != b->max_age || a->zstd_level != b->zstd_level ||
	    a->heartbeat != b->heartbeat || a->settle != b->settle ||
	    a->workers != b->workers || a->memory_limit != b->memory_limit ||
	    a->task_timeout != b->task_timeout || a->retries != b->retries ||
	    a->keep_archive != b->keep_archive ||
	    a->keep_results != b->keep_results ||
	    a->keep_status != b->keep_status || a->keep_seen != b->keep_seen ||
	    a->npeers != b->npeers || a->nfolders != b->nfolders ||
	    a->nsources != b->nsources)
		return 0;
	for (i = 0; i < a->npeers; i++)
		if (strcmp(a->peers[i].name, b->peers[i].name) != 0 ||
		    a->peers[i].direction != b->peers[i].direction)
			return 0;
	for (i = 0; i < a->nfolders; i++) {
		const struct spool_conf_folder *x = &a->folders[i],
		    *y = &b->folders[i];

		if (!str_eq(x->name, y->name) || !str_eq(x->type, y->type) ||
		    !str_eq(x->peer, y->peer) || x->priority != y->priority ||
		    x->expires != y->expires)
			return 0;
	}
	for (i = 0; i < a->nsources; i++) {
		const struct spool_conf_source *x = &a->sources[i],
		    *y = &b->sources[i];

		if (!str_eq(x->name, y->name) || !str_eq(x->url, y->url) ||
		    x->nlayers != y->nlayers || x->max_rows != y->max_rows ||
		    x->timeout != y->timeout)
			return 0;
		for (j = 0; j < x->nlayers; j++)
			if (!str_eq(x->layers[j], y->layers[j]))
				return 0;
	}
	return 1;
}

TEST(config_defaults)
{
	struct spool_config *c = NULL;
	struct spool_diag d = { 0 };
	spool_err err;

	CHECK_OK(parse(&c, NODE, &d, &err));
	CHECK_INT(d.n, 0);
	CHECK_STR(c->name, "alpha");
	CHECK_STR(c->path, "t.conf");
	CHECK_STR(c->dir, DIR);
	CHECK_STR(c->root, DIR);
	CHECK(c->peer == NULL);
	CHECK_STR(c->store_url, "sqlite:///etc/spool/lineage.db");
	CHECK_INT(c->max_bytes, 1024ULL * 1024 * 1024);
	CHECK_INT(c->max_items, 10000);
	CHECK_INT(c->max_age, 300);
	CHECK_INT(c->zstd_level, 3);
	CHECK_INT(c->heartbeat, 600);
	CHECK_INT(c->settle, 0);
	CHECK_INT(c->workers, 2);
	CHECK_INT(c->memory_limit, 1024ULL * 1024 * 1024);
	CHECK_INT(c->task_timeout, 3600);
	CHECK_INT(c->retries, 3);
	CHECK_INT(c->keep_archive, 30 * 86400);
	CHECK_INT(c->keep_results, 30 * 86400);
	CHECK_INT(c->keep_status, 30 * 86400);
	CHECK_INT(c->keep_seen, 90 * 86400);
	CHECK_INT(c->npeers, 0);
	CHECK_INT(c->nfolders, 0);
	CHECK_INT(c->nsources, 0);
	spool_config_free(c);
}

TEST(config_named_defaults)
{
	struct spool_config *c = NULL;
	spool_err err;

	CHECK_OK(parse(&c, NODE "[peer beta]\n[folder in]\ntype = raster\n"
	    "[query.source gis]\nurl = PG:dbname=gis\n", NULL, &err));
	REQUIRE(c->npeers == 1 && c->nfolders == 1 && c->nsources == 1);
	CHECK_STR(c->peers[0].name, "beta");
	CHECK_INT(c->peers[0].direction, SPOOL_DIR_TWO_WAY);
	CHECK_STR(c->folders[0].name, "in");
	CHECK_STR(c->folders[0].type, "raster");
	CHECK(c->folders[0].peer == NULL);
	CHECK_INT(c->folders[0].priority, 0);
	CHECK_INT(c->folders[0].expires, 0);
	CHECK_STR(c->sources[0].name, "gis");
	CHECK_STR(c->sources[0].url, "PG:dbname=gis");
	CHECK_INT(c->sources[0].nlayers, 0);
	CHECK_INT(c->sources[0].max_rows, 1000);
	CHECK_INT(c->sources[0].timeout, 30);
	spool_config_free(c);
}

static const char full[] =
    "; every key set to something other than its default\n"
    "[node]\nname = alpha\nroot = data\npeer = beta\noperators = spoolops\n"
    "status_names = yes\n"
    "[store]\nurl = postgresql://spool@db/spool\n"
    "[batch]\nmax_bytes = 64K\nmax_items = 1000000\nmax_age = 90s\n"
    "zstd_level = 19\nheartbeat = 0\n"
    "[intake]\nsettle = 2s\nmax_file_size = 10G\n"
    "[workers]\ncount = 256\nmemory_limit = 512M\ntask_timeout = 2h\n"
    "retries = 0\n"
    "[retention]\narchive = 7d\nresults = 1d\nstatus = 12h\nseen = 365d\n"
    "[peer beta]\ndirection = send-only\n"
    "[peer gamma]\ndirection = receive-only\n"
    "[folder requests]\ntype = request\n"
    "[folder in.raw_2-x]\ntype = transfer\npeer = beta\npriority = -1000\n"
    "expires = 7d\n"
    "[folder q]\ntype = query\npriority = 1000\n"
    "[query.source gis]\nurl = PG:dbname=gis host=db\n"
    "layers = roads, rivers ,towns\nmax_rows = 1\ntimeout = 5m\n";

TEST(config_every_key)
{
	struct spool_config *c = NULL;
	const struct spool_conf_folder *fo;
	spool_err err;

	CHECK_OK(parse(&c, full, NULL, &err));
	CHECK_STR(c->root, DIR "/data");
	CHECK_STR(c->peer, "beta");
	CHECK_STR(c->store_url, "postgresql://spool@db/spool");
	CHECK_INT(c->max_bytes, 65536);
	CHECK_INT(c->max_items, 1000000);
	CHECK_INT(c->max_age, 90);
	CHECK_INT(c->zstd_level, 19);
	CHECK_INT(c->heartbeat, 0);
	CHECK_INT(c->settle, 2);
	CHECK_INT(c->max_file_size, 10ULL << 30);
	CHECK_STR(c->operators, "spoolops");
	CHECK_INT(c->status_names, 1);
	CHECK_INT(c->workers, 256);
	CHECK_INT(c->memory_limit, 512ULL << 20);
	CHECK_INT(c->task_timeout, 7200);
	CHECK_INT(c->retries, 0);
	CHECK_INT(c->keep_archive, 7 * 86400);
	CHECK_INT(c->keep_results, 86400);
	CHECK_INT(c->keep_status, 12 * 3600);
	CHECK_INT(c->keep_seen, 365 * 86400);
	REQUIRE(c->npeers == 2);
	CHECK_INT(spool_config_peer(c, "beta")->direction, SPOOL_DIR_SEND_ONLY);
	CHECK_INT(spool_config_peer(c, "gamma")->direction,
	    SPOOL_DIR_RECEIVE_ONLY);
	CHECK(spool_config_peer(c, "delta") == NULL);
	CHECK(spool_config_peer(NULL, "beta") == NULL);
	REQUIRE(c->nfolders == 3);
	REQUIRE((fo = spool_config_folder(c, "in.raw_2-x")) != NULL);
	CHECK_STR(fo->type, "transfer");
	CHECK_STR(fo->peer, "beta");
	CHECK_INT(fo->priority, -1000);
	CHECK_INT(fo->expires, 7 * 86400);
	CHECK_INT(spool_config_folder(c, "q")->priority, 1000);
	CHECK(spool_config_folder(c, "nope") == NULL);
	CHECK(spool_config_folder(c, NULL) == NULL);
	REQUIRE(c->nsources == 1);
	CHECK_STR(c->sources[0].url, "PG:dbname=gis host=db");
	REQUIRE(c->sources[0].nlayers == 3);
	CHECK_STR(c->sources[0].layers[0], "roads");
	CHECK_STR(c->sources[0].layers[1], "rivers");
	CHECK_STR(c->sources[0].layers[2], "towns");
	CHECK_INT(c->sources[0].max_rows, 1);
	CHECK_INT(c->sources[0].timeout, 300);
	spool_config_free(c);
}

TEST(config_parse_size)
{
	uint64_t v = 7;

	CHECK_INT(spool_parse_size("0", &v), SPOOL_OK);
	CHECK_INT(v, 0);
	CHECK_INT(spool_parse_size("1024", &v), SPOOL_OK);
	CHECK_INT(v, 1024);
	CHECK_INT(spool_parse_size("64K", &v), SPOOL_OK);
	CHECK_INT(v, 65536);
	CHECK_INT(spool_parse_size("64k", &v), SPOOL_OK);
	CHECK_INT(v, 65536);
	CHECK_INT(spool_parse_size("512M", &v), SPOOL_OK);
	CHECK_INT(v, 512ULL << 20);
	CHECK_INT(spool_parse_size("1G", &v), SPOOL_OK);
	CHECK_INT(v, 1ULL << 30);
	CHECK_INT(spool_parse_size("007", &v), SPOOL_OK);
	CHECK_INT(v, 7);
	CHECK_INT(spool_parse_size("18446744073709551615", &v), SPOOL_OK);
	CHECK(v == UINT64_MAX);
	CHECK_INT(spool_parse_size("17179869183G", &v), SPOOL_OK);
	CHECK(v == 17179869183ULL << 30);
	v = 7;
	CHECK_INT(spool_parse_size("18446744073709551616", &v),
	    SPOOL_ERR_LIMIT);
	CHECK_INT(spool_parse_size("17179869184G", &v), SPOOL_ERR_LIMIT);
	CHECK_INT(spool_parse_size("99999999999999999999G", &v),
	    SPOOL_ERR_LIMIT);
	CHECK_INT(spool_parse_size("", &v), SPOOL_ERR_FORMAT);
	CHECK_INT(spool_parse_size("-1", &v), SPOOL_ERR_FORMAT);
	CHECK_INT(spool_parse_size("+1", &v), SPOOL_ERR_FORMAT);
	CHECK_INT(spool_parse_size(" 1", &v), SPOOL_ERR_FORMAT);
	CHECK_INT(spool_parse_size("1 K", &v), SPOOL_ERR_FORMAT);
	CHECK_INT(spool_parse_size("1.5G", &v), SPOOL_ERR_FORMAT);
	CHECK_INT(spool_parse_size("1KB", &v), SPOOL_ERR_FORMAT);
	CHECK_INT(spool_parse_size("1T", &v), SPOOL_ERR_FORMAT);
	CHECK_INT(spool_parse_size("G", &v), SPOOL_ERR_FORMAT);
	CHECK_INT(spool_parse_size("0x10", &v), SPOOL_ERR_FORMAT);
	CHECK_INT(spool_parse_size("1s", &v), SPOOL_ERR_FORMAT);
	CHECK_INT(spool_parse_size(NULL, &v), SPOOL_ERR_USAGE);
	CHECK_INT(v, 7); /* untouched on failure */
}

TEST(config_parse_duration)
{
	uint64_t v = 7;

	CHECK_INT(spool_parse_duration("0", &v), SPOOL_OK);
	CHECK_INT(v, 0);
	CHECK_INT(spool_parse_duration("0s", &v), SPOOL_OK);
	CHECK_INT(spool_parse_duration("30s", &v), SPOOL_OK);
	CHECK_INT(v, 30);
	CHECK_INT(spool_parse_duration("5m", &v), SPOOL_OK);
	CHECK_INT(v, 300);
	CHECK_INT(spool_parse_duration("2h", &v), SPOOL_OK);
	CHECK_INT(v, 7200);
	CHECK_INT(spool_parse_duration("7d", &v), SPOOL_OK);
	CHECK_INT(v, 7 * 86400);
	v = 7;
	CHECK_INT(spool_parse_duration("30", &v), SPOOL_ERR_FORMAT);
	CHECK_INT(spool_parse_duration("5M", &v), SPOOL_ERR_FORMAT);
	CHECK_INT(spool_parse_duration("1w", &v), SPOOL_ERR_FORMAT);
	CHECK_INT(spool_parse_duration("1h30m", &v), SPOOL_ERR_FORMAT);
	CHECK_INT(spool_parse_duration("-5s", &v), SPOOL_ERR_FORMAT);
	CHECK_INT(spool_parse_duration("s", &v), SPOOL_ERR_FORMAT);
	CHECK_INT(spool_parse_duration("", &v), SPOOL_ERR_FORMAT);
	CHECK_INT(spool_parse_duration("5 m", &v), SPOOL_ERR_FORMAT);
	CHECK_INT(spool_parse_duration("213503982334602d", &v),
	    SPOOL_ERR_LIMIT);
	CHECK_INT(spool_parse_duration("99999999999999999999s", &v),
	    SPOOL_ERR_LIMIT);
	CHECK_INT(spool_parse_duration("1d", NULL), SPOOL_ERR_USAGE);
	CHECK_INT(v, 7);
}

TEST(config_node_name)
{
	CHECK(spool_node_name_ok("a"));
	CHECK(spool_node_name_ok("site7"));
	CHECK(spool_node_name_ok("0123456789abcdefghijklmnopqrstuv"));
	CHECK(!spool_node_name_ok("0123456789abcdefghijklmnopqrstuvw"));
	CHECK(!spool_node_name_ok(""));
	CHECK(!spool_node_name_ok(NULL));
	CHECK(!spool_node_name_ok("Alpha"));
	CHECK(!spool_node_name_ok("a-b"));
	CHECK(!spool_node_name_ok("a_b"));
	CHECK(!spool_node_name_ok("a b"));
	CHECK(!spool_node_name_ok("\xc3\xa9t\xc3\xa9"));
}

TEST(config_bad_values)
{
	ONE_PROBLEM(NODE "[batch]\nmax_bytes = 12Q\n",
	    "t.conf:4: [batch] key 'max_bytes': '12Q' is not a size");
	ONE_PROBLEM(NODE "[batch]\nmax_bytes = -1\n",
	    "[batch] key 'max_bytes': '-1' must not be negative");
	ONE_PROBLEM(NODE "[batch]\nmax_bytes = 99999999999999999999G\n",
	    "'99999999999999999999G' is too large");
	ONE_PROBLEM(NODE "[batch]\nmax_bytes = 32K\n",
	    "t.conf:4: [batch] key 'max_bytes': '32K' is out of range "
	    "(64K..4294967295)");
	ONE_PROBLEM(NODE "[batch]\nmax_bytes = 4G\n", "is out of range");
	ONE_PROBLEM(NODE "[batch]\nmax_age = 30\n",
	    "key 'max_age': '30' has no unit (use s, m, h or d)");
	ONE_PROBLEM(NODE "[batch]\nmax_age = 0\n",
	    "'0' is out of range (1s..36500d)");
	ONE_PROBLEM(NODE "[batch]\nheartbeat = soon\n",
	    "'soon' is not a duration");
	ONE_PROBLEM(NODE "[batch]\nzstd_level = 20\n",
	    "key 'zstd_level': '20' is out of range (1..19)");
	ONE_PROBLEM(NODE "[batch]\nzstd_level = -3\n", "out of range (1..19)");
	ONE_PROBLEM(NODE "[batch]\nzstd_level = 3x\n", "'3x' is not a number");
	ONE_PROBLEM(NODE "[batch]\nzstd_level = 99999999999\n",
	    "out of range (1..19)");
	ONE_PROBLEM(NODE "[batch]\nmax_items = 0\n",
	    "out of range (1..1000000)");
	ONE_PROBLEM(NODE "[workers]\ncount = 257\n", "out of range (1..256)");
	ONE_PROBLEM(NODE "[workers]\nretries = -1\n", "out of range (0..100)");
	ONE_PROBLEM(NODE "[workers]\nmemory_limit = 1K\n",
	    "'1K' is out of range (at least 1M)");
	ONE_PROBLEM(NODE "[retention]\nseen = 1h\n", "out of range (1d..");
	ONE_PROBLEM(NODE "[folder a]\ntype = raster\npriority = 1001\n",
	    "[folder a] key 'priority': '1001' is out of range (-1000..1000)");
	ONE_PROBLEM(NODE "[folder a]\ntype = raster\npriority = -1001\n",
	    "'-1001' is out of range (-1000..1000)");
	ONE_PROBLEM(NODE "[folder a]\ntype = image\n",
	    "t.conf:4: [folder a] key 'type': 'image' is not one of request, "
	    "transfer, raster, vector, query");
	ONE_PROBLEM(NODE "[folder a]\ntype = raster\npeer = Beta\n",
	    "key 'peer': 'Beta' is not a node name ([a-z0-9]{1,32})");
	ONE_PROBLEM(NODE "[peer b]\ndirection = both\n",
	    "[peer b] key 'direction': 'both' is not one of two-way, "
	    "send-only, receive-only");
	ONE_PROBLEM("[node]\nname = Alpha\n",
	    "t.conf:2: [node] key 'name': 'Alpha' is not a node name");
	ONE_PROBLEM(NODE "peer = b-2\n", "t.conf:3: [node] key 'peer'");
	ONE_PROBLEM(NODE "[store]\nurl =\n",
	    "t.conf:4: [store] key 'url': empty value");
	ONE_PROBLEM(NODE "[query.source g]\nurl = x\nlayers = a,,b\n",
	    "key 'layers': 'a,,b' has an empty item");
	ONE_PROBLEM(NODE "[query.source g]\nurl = x\nmax_rows = 0\n",
	    "out of range (1..1000000000)");
	ONE_PROBLEM(NODE "[query.source g]\nurl = x\ntimeout = 0\n",
	    "out of range (1s..");
}

TEST(config_unknown)
{
	ONE_PROBLEM(NODE "[batch]\nmax_byte = 1G\n",
	    "t.conf:4: [batch] key 'max_byte': unknown key");
	ONE_PROBLEM(NODE "[batch]\nMax_Bytes = 1G\n", "unknown key");
	ONE_PROBLEM(NODE "\n[bogus]\nx = 1\ny = 2\n",
	    "t.conf:4: [bogus]: unknown section");
	ONE_PROBLEM(NODE "[folders x]\ntype = raster\n",
	    "t.conf:3: [folders x]: unknown section");
	ONE_PROBLEM(NODE "[peer b]\ntype = raster\n",
	    "t.conf:4: [peer b] key 'type': unknown key");
	ONE_PROBLEM("name = alpha\n" NODE,
	    "t.conf:1: key 'name': not in any section");
	ONE_PROBLEM(NODE "[batch x]\n", "[batch x]: section [batch] takes "
	    "no name");
	ONE_PROBLEM(NODE "[folder]\ntype = raster\n",
	    "t.conf:3: [folder]: missing name (use [folder NAME])");
	ONE_PROBLEM(NODE "[folder Raster]\ntype = raster\n",
	    "[folder Raster]: bad name (use [a-z0-9][a-z0-9_.-]{0,63})");
	ONE_PROBLEM(NODE "[folder _x]\ntype = raster\n", "bad name");
	ONE_PROBLEM(NODE "[folder a/b]\ntype = raster\n", "bad name");
	ONE_PROBLEM(NODE "[folder a b]\ntype = raster\n", "bad name");
	ONE_PROBLEM(NODE "[folder ..]\ntype = raster\n", "bad name");
	ONE_PROBLEM(NODE "[query.source a;b]\nurl = x\n", "bad name");
	ONE_PROBLEM(NODE "[peer a.b]\n", "[peer a.b]: bad name (use "
	    "[a-z0-9]{1,32})");
	ONE_PROBLEM(NODE "[batch\n", "t.conf:3: section header lacks ']'");
	ONE_PROBLEM(NODE "[batch] max_age = 1m\n",
	    "t.conf:3: junk after section header");
	ONE_PROBLEM(NODE "max_age\n", "t.conf:3: expected 'key = value'");
	ONE_PROBLEM(NODE "max_age ;= 3\n", "t.conf:3: expected 'key = value'");
	ONE_PROBLEM(NODE "= 3\n", "t.conf:3: [node] key '': unknown key");
}

TEST(config_missing_required)
{
	ONE_PROBLEM("", "t.conf: [node] key 'name': required key is missing "
	    "(no [node] section)");
	ONE_PROBLEM("\n\n; nothing\n", "(no [node] section)");
	ONE_PROBLEM("[node]\npeer = b\n",
	    "t.conf:1: [node] key 'name': required key is missing");
	ONE_PROBLEM(NODE "\n[folder a]\npriority = 3\n[folder b]\ntype = raster\n",
	    "t.conf:4: [folder a] key 'type': required key is missing");
	ONE_PROBLEM(NODE "[folder a]\ntype = raster\n[query.source g]\n"
	    "layers = x\n",
	    "t.conf:5: [query.source g] key 'url': required key is missing");
	/* a bad value is not also reported as missing */
	ONE_PROBLEM(NODE "[folder a]\ntype = bogus\n", "'bogus' is not one of");
}

TEST(config_repeats)
{
	ONE_PROBLEM(NODE "[batch]\nmax_age = 1m\nmax_age = 2m\n",
	    "t.conf:5: [batch] key 'max_age': repeated key (first at line 4)");
	ONE_PROBLEM(NODE "[batch]\nmax_age = 1m\n[batch]\nzstd_level = 2\n",
	    "t.conf:5: [batch]: repeated section (first at line 3)");
	ONE_PROBLEM(NODE "[node]\nname = beta\n",
	    "t.conf:3: [node]: repeated section (first at line 1)");
	ONE_PROBLEM(NODE "[folder a]\ntype = raster\n[folder b]\ntype = "
	    "vector\n[folder a]\ntype = raster\n",
	    "t.conf:7: [folder a]: repeated section (first at line 3)");
	ONE_PROBLEM(NODE "[peer b]\n[peer  b ]\n",
	    "t.conf:4: [peer b]: repeated section (first at line 3)");
	ONE_PROBLEM(NODE "[query.source g]\nurl = x\nurl = y\n",
	    "t.conf:5: [query.source g] key 'url': repeated key");
	/* the same key in different sections is fine */
	{
		struct spool_config *c = NULL;
		spool_err err;

		CHECK_OK(parse(&c, NODE "peer = b\n[folder a]\ntype = raster\n"
		    "peer = b\n[folder b]\ntype = raster\npeer = c\n", NULL,
		    &err));
		spool_config_free(c);
	}
}

TEST(config_all_problems_listed)
{
	struct spool_config *c = (struct spool_config *)1;
	struct spool_diag d = { 0 };
	spool_err err;
	static const char text[] =
	    "[node]\n"                 /* 1 */
	    "name = Alpha\n"           /* 2 */
	    "colour = blue\n"          /* 3 */
	    "[batch]\n"                /* 4 */
	    "max_bytes = 1T\n"         /* 5 */
	    "zstd_level = 0\n"         /* 6 */
	    "zstd_level = 1\n"         /* 7 */
	    "[nonsense]\n"             /* 8 */
	    "anything = goes\n"        /* 9 */
	    "[folder x]\n"             /* 10 */
	    "priority = 5\n"           /* 11 */
	    "just words\n";            /* 12 */

	CHECK_FAIL(parse(&c, text, &d, &err), SPOOL_ERR_CONFIG,
	    "t.conf:2: [node] key 'name': 'Alpha' is not a node name");
	CHECK(c == (struct spool_config *)1); /* untouched */
	REQUIRE(d.n == 8);
	CHECK_STR(d.lines[0], err.msg);
	CHECK(strstr(d.lines[1], "t.conf:3: [node] key 'colour': unknown "
	    "key") != NULL);
	CHECK(strstr(d.lines[2], "t.conf:5: [batch] key 'max_bytes': '1T' "
	    "is not a size") != NULL);
	CHECK(strstr(d.lines[3], "t.conf:6: [batch] key 'zstd_level'") !=
	    NULL);
	CHECK(strstr(d.lines[4], "t.conf:7: [batch] key 'zstd_level': "
	    "repeated key (first at line 6)") != NULL);
	CHECK_STR(d.lines[5], "t.conf:8: [nonsense]: unknown section");
	CHECK_STR(d.lines[6], "t.conf:12: expected 'key = value'");
	CHECK_STR(d.lines[7], "t.conf:10: [folder x] key 'type': required "
	    "key is missing");
	spool_diag_release(&d);
	CHECK(d.n == 0 && d.lines == NULL);
	spool_diag_release(&d);
	spool_diag_release(NULL);
	spool_config_free(NULL);
}

TEST(config_diag_capped)
{
	struct spool_config *c = NULL;
	struct spool_diag d = { 0 };
	spool_err err;
	char *text = malloc(64 * 1000), *p = text;
	int i;

	REQUIRE(text != NULL);
	p += sprintf(p, NODE);
	for (i = 0; i < 500; i++)
		p += sprintf(p, "bad%d = 1\n", i);
	CHECK_FAIL(parse(&c, text, &d, &err), SPOOL_ERR_CONFIG,
	    "t.conf:3: [node] key 'bad0': unknown key");
	CHECK_INT(d.n, SPOOL_DIAG_MAX + 1);
	CHECK_STR(d.lines[SPOOL_DIAG_MAX],
	    "t.conf: too many problems, listing stopped after 100");
	spool_diag_release(&d);
	free(text);
}

TEST(config_lines)
{
	struct spool_config *c = NULL;
	spool_err err;
	char text[1024], url[256];
	size_t n;

	/* CRLF, a BOM, indentation, tabs, comments of both kinds, and
	 * ':' as libinih's other separator */
	CHECK_OK(parse(&c, "\xef\xbb\xbf[node]\r\n  name = alpha\r\n"
	    "\tpeer=beta   ; the default destination\r\n"
	    "# a comment\r\n; another\r\n\r\n  [ batch ]  # comment\r\n"
	    "    max_age: 90s\r\n    zstd_level = 4\r\n", NULL, &err));
	CHECK_STR(c->name, "alpha");
	CHECK_STR(c->peer, "beta");
	CHECK_INT(c->max_age, 90);
	CHECK_INT(c->zstd_level, 4); /* not a continuation of max_age */
	spool_config_free(c);
	c = NULL;

	/* ';' without whitespace before it is part of the value */
	CHECK_OK(parse(&c, NODE "[store]\nurl = a;b ; comment\n", NULL, &err));
	CHECK_STR(c->store_url, "a;b");
	spool_config_free(c);
	c = NULL;

	/* no final newline; the buffer need not be NUL-terminated */
	memcpy(text, NODE "peer = beta\nGARBAGE", 40);
	CHECK_OK(spool_config_parse(&c, "t.conf", DIR, text, 31, NULL, &err));
	CHECK_STR(c->peer, "beta");
	spool_config_free(c);
	c = NULL;

	/* the longest key line libinih can take whole, and one more */
	memset(url, 'u', sizeof(url));
	n = SPOOL_CONF_LINE_MAX - strlen("url = ");
	snprintf(text, sizeof(text), NODE "[store]\nurl = %.*s\n", (int)n,
	    url);
	CHECK_OK(parse(&c, text, NULL, &err));
	CHECK_INT(strlen(c->store_url), n);
	spool_config_free(c);
	c = NULL;
	snprintf(text, sizeof(text), NODE "[store]\n  url = %.*s  \n",
	    (int)n + 1, url);
	ONE_PROBLEM(text, "t.conf:4: line too long (199 bytes, max 198)");
	snprintf(text, sizeof(text), NODE "[store]\nurl = %.*s = x\n", 250,
	    url);
	ONE_PROBLEM(text, "t.conf:4: line too long");
	/* long comments are fine; they never reach libinih */
	snprintf(text, sizeof(text), "# %.*s\n" NODE, 250, url);
	CHECK_OK(parse(&c, text, NULL, &err));
	spool_config_free(c);
	c = NULL;

	ONE_PROBLEM(NODE "peer = be\x01ta\n",
	    "t.conf:3: control character 0x01 in line");
	ONE_PROBLEM(NODE "peer = be\rta\n", "control character 0x0d");
	CHECK_FAIL(spool_config_parse(&c, "t.conf", DIR, NODE "\0x = 1\n",
	    sizeof(NODE "\0x = 1\n") - 1, NULL, &err), SPOOL_ERR_CONFIG,
	    "t.conf:3: control character 0x00 in line");
}

TEST(config_long_section_names)
{
	/* libinih cuts section names at 49 bytes; names up to 64 work */
	static const char n64[] =
	    "a123456789b123456789c123456789d123456789e123456789f123456789wxyz";
	struct spool_config *c = NULL;
	spool_err err;
	char text[512];

	snprintf(text, sizeof(text), NODE "[folder %s]\ntype = vector\n"
	    "[folder %.50s]\ntype = raster\n", n64, n64);
	CHECK_OK(parse(&c, text, NULL, &err));
	REQUIRE(c->nfolders == 2);
	CHECK_STR(c->folders[0].name, n64);
	CHECK_STR(c->folders[0].type, "vector");
	CHECK_INT(strlen(c->folders[1].name), 50);
	CHECK_STR(c->folders[1].type, "raster");
	spool_config_free(c);
	snprintf(text, sizeof(text), NODE "[folder %sz]\ntype = vector\n", n64);
	ONE_PROBLEM(text, "t.conf:3: [folder a123456789");
	ONE_PROBLEM(text, "bad name");
}

TEST(config_paths)
{
	struct spool_config *c = NULL;
	spool_err err;
	char *cwd, want[4096];

	CHECK_OK(parse(&c, NODE "root = ../srv//x/./y/\n", NULL, &err));
	CHECK_STR(c->root, "/etc/srv/x/y");
	CHECK_STR(c->store_url, "sqlite:///etc/srv/x/y/lineage.db");
	spool_config_free(c);
	c = NULL;
	CHECK_OK(parse(&c, NODE "root = /var/lib/../spool\n", NULL, &err));
	CHECK_STR(c->root, "/var/spool");
	spool_config_free(c);
	c = NULL;
	CHECK_OK(parse(&c, NODE "root = ../../../..\n", NULL, &err));
	CHECK_STR(c->root, "/");
	CHECK_STR(c->store_url, "sqlite:///lineage.db");
	spool_config_free(c);
	c = NULL;

	/* load: paths are taken from the file's directory, not the cwd */
	REQUIRE(mkdir("etc", 0700) == 0);
	unit_write_file("etc/spoold.conf", NODE "root = ../data\n",
	    strlen(NODE "root = ../data\n"));
	CHECK_OK(spool_config_load(&c, "./etc//spoold.conf", NULL, &err));
	REQUIRE((cwd = getcwd(NULL, 0)) != NULL);
	snprintf(want, sizeof(want), "%s/etc/spoold.conf", cwd);
	CHECK_STR(c->path, want);
	snprintf(want, sizeof(want), "%s/etc", cwd);
	CHECK_STR(c->dir, want);
	snprintf(want, sizeof(want), "%s/data", cwd);
	CHECK_STR(c->root, want);
	spool_config_free(c);
	c = NULL;

	/* the default root is the file's directory */
	unit_write_file("etc/spoold.conf", NODE, strlen(NODE));
	CHECK_OK(spool_config_load(&c, "etc/spoold.conf", NULL, &err));
	snprintf(want, sizeof(want), "%s/etc", cwd);
	CHECK_STR(c->root, want);
	spool_config_free(c);
	c = NULL;

	/* messages name the file as given */
	unit_write_file("etc/spoold.conf", NODE "x = 1\n", strlen(NODE) + 6);
	CHECK_FAIL(spool_config_load(&c, "etc/spoold.conf", NULL, &err),
	    SPOOL_ERR_CONFIG, "etc/spoold.conf:3: [node] key 'x': unknown key");
	CHECK_FAIL(spool_config_load(&c, "etc/nope.conf", NULL, &err),
	    SPOOL_ERR_SYS, "cannot open 'etc/nope.conf': No such file");
	CHECK_FAIL(spool_config_load(&c, "etc", NULL, &err), SPOOL_ERR_SYS,
	    "cannot read 'etc': Is a directory");
	CHECK(c == NULL);
	free(cwd);

	CHECK_FAIL(spool_config_parse(&c, "t.conf", "etc", NODE, strlen(NODE),
	    NULL, &err), SPOOL_ERR_USAGE, "bad argument");
	CHECK_FAIL(spool_config_parse(&c, "t.conf", NULL, NODE, strlen(NODE),
	    NULL, &err), SPOOL_ERR_USAGE, "bad argument");
}

TEST(config_too_large)
{
	struct spool_config *c = NULL;
	spool_err err;
	size_t n = SPOOL_CONF_MAX + 1;
	char *big = malloc(n);

	REQUIRE(big != NULL);
	memset(big, '\n', n);
	memcpy(big, NODE, strlen(NODE));
	CHECK_FAIL(spool_config_parse(&c, "t.conf", DIR, big, n, NULL, &err),
	    SPOOL_ERR_LIMIT, "t.conf: too large (1048577 bytes, max 1048576)");
	CHECK_OK(spool_config_parse(&c, "t.conf", DIR, big, n - 1, NULL,
	    &err));
	spool_config_free(c);
	c = NULL;
	unit_write_file("big.conf", big, n);
	CHECK_FAIL(spool_config_load(&c, "big.conf", NULL, &err),
	    SPOOL_ERR_LIMIT, "too large");
	free(big);
}

TEST(config_folder_peer_may_be_absent)
{
	struct spool_config *c = NULL;
	spool_err err;

	/* neither the folder's peer nor the node's peer has a [peer]
	 * section yet: that is allowed, the peer may be trusted later */
	CHECK_OK(parse(&c, NODE "peer = beta\n[folder a]\ntype = transfer\n"
	    "[folder b]\ntype = raster\npeer = gamma\n", NULL, &err));
	CHECK_INT(c->npeers, 0);
	CHECK(c->folders[0].peer == NULL);
	CHECK_STR(c->folders[1].peer, "gamma");
	spool_config_free(c);
}

TEST(config_receive_only_is_never_a_destination)
{
	struct spool_config *c = NULL;
	spool_err err;

	/* receive-only: this node never writes to that peer, so no
	 * folder may send to it, neither by default nor by its own peer */
	CHECK_FAIL(parse(&c, NODE "peer = beta\n[peer beta]\ndirection = "
	    "receive-only\n", NULL, &err), SPOOL_ERR_CONFIG,
	    "t.conf:1: [node] key 'peer': 'beta' is receive-only");
	CHECK_FAIL(parse(&c, NODE "[peer gamma]\ndirection = receive-only\n"
	    "[folder b]\ntype = transfer\npeer = gamma\n", NULL, &err),
	    SPOOL_ERR_CONFIG, "t.conf:5: [folder b] peer 'gamma' is "
	    "receive-only");
	CHECK_OK(parse(&c, NODE "[peer gamma]\ndirection = send-only\n"
	    "[folder b]\ntype = transfer\npeer = gamma\n", NULL, &err));
	spool_config_free(c);
}

static char *
print_to_string(const struct spool_config *c, int *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return NULL;
	*r = spool_config_print(c, f);
	fclose(f);
	return buf;
}

static void
round_trip(const char *file, int line, const char *text)
{
	struct spool_config *a = NULL, *b = NULL;
	spool_err err;
	char *out = NULL, *out2 = NULL;
	int r = -99, r2 = -99;

	if (parse(&a, text, NULL, &err) != SPOOL_OK) {
		unit_fail(file, line, "parse: %s", err.msg);
		return;
	}
	out = print_to_string(a, &r);
	if (out == NULL || r != SPOOL_OK)
		unit_fail(file, line, "print -> %d", r);
	else if (parse(&b, out, NULL, &err) != SPOOL_OK)
		unit_fail(file, line, "reparse: %s\n%s", err.msg, out);
	else if (!config_equal(a, b))
		unit_fail(file, line, "not equal after round trip:\n%s", out);
	else if ((out2 = print_to_string(b, &r2)) == NULL ||
	    strcmp(out, out2) != 0)
		unit_fail(file, line, "second print differs");
	free(out);
	free(out2);
	spool_config_free(a);
	spool_config_free(b);
}

TEST(config_print_round_trip)
{
	struct spool_config *c = NULL;
	spool_err err;
	char *out;
	int r;

	round_trip(__FILE__, __LINE__, NODE);
	round_trip(__FILE__, __LINE__, full);
	round_trip(__FILE__, __LINE__, NODE "[batch]\nmax_bytes = 1536K\n"
	    "max_age = 3601s\n[workers]\nmemory_limit = 1048577\n"
	    "[query.source a]\nurl = x\nlayers = one\n"
	    "[query.source b]\nurl = http://h/p?a=b;c  ; comment\nlayers=\n");

	/* readable units, unset keys as comments */
	CHECK_OK(parse(&c, full, NULL, &err));
	REQUIRE((out = print_to_string(c, &r)) != NULL);
	CHECK_INT(r, SPOOL_OK);
	CHECK(strstr(out, "\n[node]\nname = alpha\nroot = /etc/spool/data\n"
	    "peer = beta\n") != NULL);
	CHECK(strstr(out, "max_bytes = 64K\n") != NULL);
	CHECK(strstr(out, "memory_limit = 512M\n") != NULL);
	CHECK(strstr(out, "max_age = 90s\n") != NULL);
	CHECK(strstr(out, "task_timeout = 2h\n") != NULL);
	CHECK(strstr(out, "seen = 365d\n") != NULL);
	CHECK(strstr(out, "heartbeat = 0\n") != NULL);
	CHECK(strstr(out, "[folder requests]\ntype = request\n"
	    "# peer is not set\npriority = 0\nexpires = 0\n") != NULL);
	CHECK(strstr(out, "[peer gamma]\ndirection = receive-only\n") != NULL);
	CHECK(strstr(out, "layers = roads,rivers,towns\n") != NULL);
	free(out);
	spool_config_free(c);
	c = NULL;

	/* a value that libinih could not read back is flagged */
	CHECK_OK(spool_config_parse(&c, "t.conf", "/etc/a ;b", NODE,
	    strlen(NODE), NULL, &err));
	out = print_to_string(c, &r);
	CHECK_INT(r, SPOOL_ERR_LIMIT);
	CHECK(out != NULL && strstr(out, "root = /etc/a ;b\n") != NULL);
	free(out);
	spool_config_free(c);
	c = NULL;
	/* found by the fuzzer: "key = ;x" would read back as "" */
	CHECK_OK(parse(&c, NODE "[query.source a]\nurl =;x\nlayers =;y\n",
	    NULL, &err));
	CHECK_STR(c->sources[0].url, ";x");
	out = print_to_string(c, &r);
	CHECK_INT(r, SPOOL_ERR_LIMIT);
	free(out);
	spool_config_free(c);
	CHECK_INT(spool_config_print(NULL, stdout), SPOOL_ERR_USAGE);
}

TEST(config_write_new)
{
	struct spool_config *c = NULL;
	struct spool_diag d = { 0 };
	spool_err err;
	FILE *f;
	char *cwd;

	REQUIRE((f = fopen("spoold.conf", "w")) != NULL);
	CHECK_INT(spool_config_write_new(f, "alpha", "beta"), SPOOL_OK);
	REQUIRE(fclose(f) == 0);
	CHECK_OK(spool_config_load(&c, "spoold.conf", &d, &err));
	CHECK_INT(d.n, 0);
	REQUIRE((cwd = getcwd(NULL, 0)) != NULL);
	CHECK_STR(c->name, "alpha");
	CHECK_STR(c->peer, "beta");
	CHECK_STR(c->root, cwd);
	REQUIRE(c->npeers == 1);
	CHECK_STR(c->peers[0].name, "beta");
	REQUIRE(c->nfolders == 4);
	CHECK_STR(spool_config_folder(c, "requests")->type, "request");
	CHECK_STR(spool_config_folder(c, "files")->type, "transfer");
	CHECK_STR(spool_config_folder(c, "raster")->type, "raster");
	CHECK_STR(spool_config_folder(c, "vector")->type, "vector");
	CHECK(c->folders[0].peer == NULL);
	CHECK_INT(c->max_bytes, 1ULL << 30); /* defaults, commented out */
	CHECK_INT(c->nsources, 0);
	spool_config_free(c);
	c = NULL;
	free(cwd);

	/* without a peer */
	REQUIRE((f = fopen("spoold.conf", "w")) != NULL);
	CHECK_INT(spool_config_write_new(f, "solo", NULL), SPOOL_OK);
	REQUIRE(fclose(f) == 0);
	CHECK_OK(spool_config_load(&c, "spoold.conf", NULL, &err));
	CHECK_STR(c->name, "solo");
	CHECK(c->peer == NULL);
	CHECK_INT(c->npeers, 0);
	CHECK_INT(c->nfolders, 4);
	spool_config_free(c);

	/* the commented-out keys are right: uncomment every one */
	{
		size_t len, i, o = 0;
		char *t, *u;

		REQUIRE((f = fopen("spoold.conf", "w")) != NULL);
		CHECK_INT(spool_config_write_new(f, "alpha", "beta"), SPOOL_OK);
		REQUIRE(fclose(f) == 0);
		t = unit_read_file("spoold.conf", &len);
		REQUIRE(t != NULL && (u = malloc(len + 1)) != NULL);
		for (i = 0; i < len; i++) {
			if (t[i] == '#' && (i == 0 || t[i - 1] == '\n') &&
			    i + 1 < len && (t[i + 1] == '[' ||
			    (t[i + 1] >= 'a' && t[i + 1] <= 'z')))
				continue;
			u[o++] = t[i];
		}
		u[o] = '\0';
		struct spool_config *def = NULL;

		c = NULL;
		CHECK_OK(parse(&c, u, NULL, &err));
		CHECK_OK(parse(&def, NODE, NULL, &err));
		CHECK_STR(c->root, DIR);
		CHECK_INT(c->nsources, 1);
		/* what the comments call defaults are the defaults */
		CHECK(c->max_bytes == def->max_bytes &&
		    c->max_items == def->max_items &&
		    c->max_age == def->max_age &&
		    c->zstd_level == def->zstd_level &&
		    c->heartbeat == def->heartbeat &&
		    c->settle == def->settle && c->workers == def->workers &&
		    c->memory_limit == def->memory_limit &&
		    c->task_timeout == def->task_timeout &&
		    c->retries == def->retries &&
		    c->keep_archive == def->keep_archive &&
		    c->keep_results == def->keep_results &&
		    c->keep_status == def->keep_status &&
		    c->keep_seen == def->keep_seen);
		CHECK_INT(c->sources[0].max_rows, 1000);
		CHECK_INT(c->sources[0].timeout, 30);
		spool_config_free(def);
		spool_config_free(c);
		free(t);
		free(u);
	}

	CHECK_INT(spool_config_write_new(stdout, "Bad", NULL),
	    SPOOL_ERR_USAGE);
	CHECK_INT(spool_config_write_new(stdout, "a", "b c"), SPOOL_ERR_USAGE);
	CHECK_INT(spool_config_write_new(NULL, "a", NULL), SPOOL_ERR_USAGE);
}
