/*
 * harness.h - the C unit test harness.
 *
 * TEST(name) { ... } defines a test that registers itself; the runner
 * (harness.c) runs each in a forked child with its own empty temporary
 * directory as the working directory, and prints TAP ("ok 3 - name").
 * CHECK macros print what differed and mark the test failed; they do not
 * stop it, except CHECK_OK / REQUIRE which return from the test.
 */
#ifndef UNIT_HARNESS_H
#define UNIT_HARNESS_H

#include <stdint.h>
#include <string.h>

struct unit_test {
	const char *name;
	void (*fn)(void);
	struct unit_test *next;
};

void unit_register(struct unit_test *t);
void unit_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Directory holding shared/testdata (from SPOOL_TESTDATA), or NULL. */
const char *unit_testdata(void);
/* Write len bytes to path (test helper); aborts the test on failure. */
void unit_write_file(const char *path, const void *p, size_t len);
/* Read a whole small file; returns malloc'd buffer, *len set. */
char *unit_read_file(const char *path, size_t *len);

#define TEST(n)                                                          \
	static void n(void);                                             \
	static struct unit_test n##_unit = { #n, n, 0 };                 \
	__attribute__((constructor)) static void n##_reg(void)           \
	{                                                                \
		unit_register(&n##_unit);                                \
	}                                                                \
	static void n(void)

#define CHECK(c)                                                         \
	do {                                                             \
		if (!(c))                                                \
			unit_fail(__FILE__, __LINE__, "%s", #c);         \
	} while (0)

#define REQUIRE(c)                                                       \
	do {                                                             \
		if (!(c)) {                                              \
			unit_fail(__FILE__, __LINE__, "%s", #c);         \
			return;                                          \
		}                                                        \
	} while (0)

#define CHECK_INT(a, b)                                                  \
	do {                                                             \
		long long a_ = (long long)(a), b_ = (long long)(b);      \
		if (a_ != b_)                                            \
			unit_fail(__FILE__, __LINE__,                    \
			    "%s == %lld, expected %s == %lld", #a, a_,   \
			    #b, b_);                                     \
	} while (0)

#define CHECK_STR(a, b)                                                  \
	do {                                                             \
		const char *a_ = (a), *b_ = (b);                         \
		if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0)     \
			unit_fail(__FILE__, __LINE__,                    \
			    "%s == \"%s\", expected \"%s\"", #a,         \
			    a_ ? a_ : "(null)", b_ ? b_ : "(null)");     \
	} while (0)

/* expr returns a spool code and fills the spool_err named err. */
#define CHECK_OK(expr)                                                   \
	do {                                                             \
		int r_ = (expr);                                         \
		if (r_ != 0) {                                           \
			unit_fail(__FILE__, __LINE__, "%s -> %d: %s",    \
			    #expr, r_, err.msg);                         \
			return;                                          \
		}                                                        \
	} while (0)

/* expr must fail with code; the reason must contain substring sub. */
#define CHECK_FAIL(expr, code, sub)                                      \
	do {                                                             \
		int r_ = (expr);                                         \
		if (r_ != (code))                                        \
			unit_fail(__FILE__, __LINE__,                    \
			    "%s -> %d (%s), expected %d", #expr, r_,     \
			    err.msg, (int)(code));                       \
		else if (strstr(err.msg, (sub)) == NULL)                 \
			unit_fail(__FILE__, __LINE__,                    \
			    "%s: reason \"%s\" lacks \"%s\"", #expr,     \
			    err.msg, (sub));                             \
	} while (0)

#endif
