/*
 * test_logfmt.c - log values quoted so that they stay one value, and a
 * worker's stderr line taken as an event only when it is one of its own.
 */
#include <stdio.h>
#include <string.h>

#include "harness.h"
#include "spool/base/logfmt.h"

TEST(logq_values)
{
	char buf[64];

	CHECK_STR(spool_logq(buf, sizeof(buf), "abc-1.2/x:y@z+w,v_"),
	    "abc-1.2/x:y@z+w,v_");
	CHECK_STR(spool_logq(buf, sizeof(buf), NULL), "-");
	CHECK_STR(spool_logq(buf, sizeof(buf), ""), "\"\"");
	CHECK_STR(spool_logq(buf, sizeof(buf), "a b"), "\"a b\"");
	CHECK_STR(spool_logq(buf, sizeof(buf), "say \"hi\"\\"),
	    "\"say \\\"hi\\\"\\\\\"");
	CHECK_STR(spool_logq(buf, sizeof(buf), "l1\nevent=x\r\x1b"),
	    "\"l1\\x0aevent=x\\x0d\\x1b\"");
	/* cut to fit, still closed */
	memset(buf, 'z', sizeof(buf));
	spool_logq(buf, 16, "a very long value that does not fit");
	CHECK(strlen(buf) < 16);
	CHECK(buf[0] == '"' && buf[strlen(buf) - 1] == '"');
}

static int
take(const char *in, const char *kind, char *out, size_t n, int *lv)
{
	snprintf(out, n, "%s", in);
	return spool_logline_take(out, kind, lv);
}

TEST(logline_own_events)
{
	char b[256], q[128];
	int lv;

	CHECK_INT(take("event=vector_spatial_index table=pts entries=3 ms=1",
	    "vector", b, sizeof(b), &lv), 1);
	CHECK_INT(lv, -1);
	CHECK_STR(b, "event=vector_spatial_index table=pts entries=3 ms=1");
	CHECK_INT(take("event=gdal level=warning code=1 msg=\"a \\\"b\\\" "
	    "\\x0a c\"", "query", b, sizeof(b), &lv), 1);
	CHECK_INT(lv, 1);
	CHECK_STR(b, "event=gdal code=1 msg=\"a \\\"b\\\" \\x0a c\"");
	CHECK_INT(take("event=gdal_warning msg=x level=error", "raster", b,
	    sizeof(b), &lv), 1);
	CHECK_INT(lv, 5);
	CHECK_STR(b, "event=gdal_warning msg=x");
	CHECK_INT(take("event=worker_bad_line", "raster", b, sizeof(b), &lv),
	    1);
	/* what a worker writes with spool_logq reads back as one value */
	snprintf(q, sizeof(q), "event=query_sql sql=%s", spool_logq((char[96]){
	    0 }, 96, "SELECT 1\nevent=delivered path=\"x\" \\"));
	CHECK_INT(take(q, "query", b, sizeof(b), &lv), 1);
}

TEST(logline_refused)
{
	static const char *const bad[] = {
		"just words",
		"event=",
		"event=delivered request=x path=y",  /* the daemon's own */
		"event=imported batch=x",
		"event=raster_done x=1",             /* another kind's */
		"event=vectorx x=1",
		"event=vector_ x=1",
		"event=vector_a kind=raster",        /* keys the log adds */
		"event=vector_a pid=1",
		"event=vector_a node=high",
		"event=vector_a time=now",
		"event=vector_a event=x",
		"event=vector_a level=warning level=err",
		"event=vector_a level=loud",
		"event=vector_a msg=\"open",
		"event=vector_a msg=\"a\"b",
		"event=vector_a msg=\"bad \\q escape\"",
		"event=vector_a msg=\"\\x4\"",
		"event=vector_a msg=\"ctl \x1b[2J\"",
		"event=vector_a msg=tab\there",
		"event=vector_a msg=a\rb",
		"event=vector_a  two=spaces",
		"event=vector_a trailing=1 ",
		"event=vector_a =v",
		"event=vector_a Key=v",
		"event=vector_a k=",
		"event=vector_a k=\xc3\xa9",
		"event=vector_a\x1b k=v",
	};
	char b[256];
	size_t i;
	int lv;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (take(bad[i], "vector", b, sizeof(b), &lv) != 0)
			unit_fail(__FILE__, __LINE__, "taken as an event: %s",
			    bad[i]);
}
