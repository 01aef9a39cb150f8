/*
 * numfmt.c - doubles as text, fast where it matters.
 *
 * A query answer is mostly coordinates: a hundred points of GeoJSON is
 * four hundred numbers.  glibc's printf is exact, but it gets there by
 * multi-precision arithmetic, and its "%.15g, and %.17g if that does not
 * read back" costs two printfs and a strtod per number.  For the numbers
 * that are almost every coordinate and measure (1e-4 <= |d| < 1e15, what
 * %g writes without an exponent) the same digits come out of one 128-bit
 * product here, and whether 15 digits read back is decided exactly on
 * integers, without strtod.  Everything else goes to printf.  The output
 * is byte-identical to spool_fmt_double_ref(); the unit tests check it.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool/base/numfmt.h"

typedef unsigned __int128 u128;

static const uint64_t pow10_64[20] = {
	1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL,
	10000000ULL, 100000000ULL, 1000000000ULL, 10000000000ULL,
	100000000000ULL, 1000000000000ULL, 10000000000000ULL,
	100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
	100000000000000000ULL, 1000000000000000000ULL,
	10000000000000000000ULL,
};

/* 10^p for 0 <= p <= 38 */
static u128
pow10_128(int p)
{
	if (p <= 19)
		return pow10_64[p];
	return (u128)pow10_64[19] * pow10_64[p - 19];
}

void
spool_fmt_double_ref(char *buf, size_t n, double d)
{
	snprintf(buf, n, "%.15g", d);
	if (strtod(buf, NULL) != d)
		snprintf(buf, n, "%.17g", d);
}

/*
 * |d| = m / 2^s rounded to prec significant digits: the digits in *q
 * (prec of them, trailing zeros included) and the decimal exponent of
 * the first in *x, as printf rounds (to nearest, ties to even, on the
 * exact value).  -1 if the exponent is not found (it always is).
 */
static int
digits(uint64_t m, int s, double a, int prec, uint64_t *q, int *x)
{
	int e = (int)floor(log10(a)), k;

	for (k = 0; k < 4; k++) {
		int p = prec - 1 - e;
		u128 v, rem, half;
		uint64_t f;

		if (p < 0 || p > 22) /* m < 2^53, 10^22 < 2^74 */
			return -1;
		v = (u128)m * pow10_128(p);
		if ((v >> s) >= pow10_64[prec]) {
			e++;
			continue;
		}
		f = (uint64_t)(v >> s);
		if (f < pow10_64[prec - 1]) {
			e--;
			continue;
		}
		rem = v & (((u128)1 << s) - 1);
		half = (u128)1 << (s - 1);
		if (rem > half || (rem == half && (f & 1)))
			f++;
		if (f == pow10_64[prec]) {
			/* 9.99..95 and up: a digit more to the left */
			f = pow10_64[prec - 1];
			e++;
		}
		*q = f;
		*x = e;
		return 0;
	}
	return -1;
}

/*
 * Whether q * 10^x-(prec-1), q of prec digits, reads back as m / 2^s:
 * it lies within half the gap to the neighbouring double on its side
 * (ties go to the even one).  The gap below is half as wide when m is
 * the first of its binade.
 */
static int
reads_back(uint64_t m, int s, int first, uint64_t q, int prec, int x)
{
	int p = prec - 1 - x;
	u128 a, b, h, diff, lim;

	/* all times 10^p * 2^(s+2): q < 2^57, s + 2 <= 68; m * 4 < 2^55,
	 * 10^p < 2^70 */
	a = (u128)q << (s + 2);
	b = ((u128)m << 2) * pow10_128(p);
	h = pow10_128(p) * 2;
	if (a >= b) {
		diff = a - b;
		lim = h;
	} else {
		diff = b - a;
		lim = first ? h / 2 : h;
	}
	return diff < lim || (diff == lim && (m & 1) == 0);
}

/* What %g writes for digits q (prec of them) and exponent x, when
 * -4 <= x < prec: no exponent, no trailing zeros. */
static void
put(char *buf, int neg, uint64_t q, int prec, int x)
{
	char dig[20], *o = buf;
	int i, nd;

	for (i = prec - 1; i >= 0; i--) {
		dig[i] = (char)('0' + q % 10);
		q /= 10;
	}
	for (nd = prec; nd > 1 && dig[nd - 1] == '0'; nd--)
		;
	if (neg)
		*o++ = '-';
	if (x >= 0) {
		for (i = 0; i <= x; i++)
			*o++ = dig[i];
		if (nd > x + 1) {
			*o++ = '.';
			for (i = x + 1; i < nd; i++)
				*o++ = dig[i];
		}
	} else {
		*o++ = '0';
		*o++ = '.';
		for (i = 0; i < -x - 1; i++)
			*o++ = '0';
		for (i = 0; i < nd; i++)
			*o++ = dig[i];
	}
	*o = '\0';
}

void
spool_fmt_double(char *buf, size_t n, double d)
{
	double a = fabs(d);
	uint64_t bits, m, q;
	int be, s, x, prec;

	/* 6.2e-5 > 2^-14 and 1e15 < 2^50: 3 <= s <= 66 below */
	if (n < SPOOL_DOUBLE_LEN || !(a >= 6.2e-5 && a < 1e15))
		goto slow;
	memcpy(&bits, &d, sizeof(bits));
	be = (int)((bits >> 52) & 0x7ff);
	m = (bits & ((1ULL << 52) - 1)) | (1ULL << 52);
	s = 1075 - be;
	for (prec = 15; prec <= 17; prec += 2) {
		if (digits(m, s, a, prec, &q, &x) != 0)
			goto slow;
		if (x < -4 || x >= prec)
			goto slow;
		if (prec == 17 || reads_back(m, s, m == 1ULL << 52, q, prec,
		    x)) {
			put(buf, d < 0, q, prec, x);
			return;
		}
	}
slow:
	spool_fmt_double_ref(buf, n, d);
}
