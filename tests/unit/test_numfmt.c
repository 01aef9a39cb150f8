/*
 * test_numfmt.c - spool_fmt_double writes what snprintf and strtod do.
 *
 * SPOOL_NUMFMT_N sets how many random doubles each test compares
 * (default 20000; 20000000 was run once by hand).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "spool/base/numfmt.h"

static long
count(void)
{
	const char *e = getenv("SPOOL_NUMFMT_N");

	return e != NULL && atol(e) > 0 ? atol(e) : 20000;
}

/* xorshift64*: the same numbers on every run */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static int bad;

static void
same(double d)
{
	char a[SPOOL_DOUBLE_LEN], b[SPOOL_DOUBLE_LEN];

	spool_fmt_double(a, sizeof(a), d);
	spool_fmt_double_ref(b, sizeof(b), d);
	if (strcmp(a, b) != 0 && bad++ < 10)
		unit_fail(__FILE__, __LINE__, "%a: '%s', printf '%s'", d, a, b);
	if (isfinite(d) && strtod(a, NULL) != d && bad++ < 10)
		unit_fail(__FILE__, __LINE__, "%a: '%s' reads back otherwise",
		    d, a);
}

TEST(numfmt_edges)
{
	static const double v[] = {
		0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 1.5, 2.5, 10.0, 100.0,
		123.456, -58.346588024401157, 1e-4, 1e-5, 6.2e-5, 9.9e-5,
		0.0001, 0.00010000000000000001, 999999999999999.0,
		999999999999999.9, 1e15, 1e16, 1e100, 1e-300, 5e-324,
		1.7976931348623157e308, 4503599627370496.0,
		9007199254740992.0, 0.3, 2.0 / 3.0, 1234567890123.125,
		1234567890123.375, 123456789012.5625, 0.000123456789012345,
		99999.999999999993, 9.9999999999999995, 0.99999999999999989,
		0.00099999999999999998, 180.0, -180.0, 90.0, 45.5,
	};
	size_t i;
	int k;

	bad = 0;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		same(v[i]);
		same(-v[i]);
		same(nextafter(v[i], 0));
		same(nextafter(v[i], INFINITY));
	}
	/* every power of ten and its neighbours, and halves at the 15th
	 * and 17th digit that are exact in binary */
	for (k = -6; k <= 16; k++) {
		double p = pow(10, k);

		same(p);
		same(nextafter(p, 0));
		same(nextafter(p, INFINITY));
		same(nextafter(nextafter(p, 0), 0));
	}
	for (k = 0; k < 40; k++) {
		same(ldexp(1, k - 14));
		same(nextafter(ldexp(1, k - 14), 0));
	}
	same(NAN);
	same(INFINITY);
	same(-INFINITY);
}

TEST(numfmt_random_decimals)
{
	uint64_t s = 0x9E3779B97F4A7C15ULL;
	long i, n = count();

	/* what data holds: short decimals, coordinates to 5-9 places,
	 * and exact binary fractions (ties at the 15th digit) */
	bad = 0;
	for (i = 0; i < n; i++) {
		uint64_t r = rnd(&s);
		int places = (int)(r % 12);
		double d = (double)(int64_t)(rnd(&s) % 360000000000ULL -
		    180000000000LL) / pow(10, places);

		same(d);
		same(ldexp((double)(rnd(&s) >> 11), -(int)(r % 60)));
	}
}

TEST(numfmt_random_bits)
{
	uint64_t s = 0xD1B54A32D192ED03ULL;
	long i, n = count();

	bad = 0;
	for (i = 0; i < n; i++) {
		uint64_t r = rnd(&s);
		double d;

		/* exponents over the fast range and a little beyond */
		r = (r & 0x800FFFFFFFFFFFFFULL) |
		    ((uint64_t)(1023 - 16 + rnd(&s) % 68) << 52);
		memcpy(&d, &r, sizeof(d));
		same(d);
		/* and uniform in [-180, 180] as coordinates are */
		same(((double)(rnd(&s) >> 11) / 9007199254740992.0) * 360 - 180);
	}
}
