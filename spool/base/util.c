/*
 * util.c - ids, times and names.
 */
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "spool/base/hash.h"
#include "spool/base/util.h"

#define POOL 512

static _Thread_local struct {
	uint8_t b[POOL];
	size_t left;                  /* unused bytes at the end of b */
} pool;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

/* The child's copy of the pool was its parent's: it is thrown away (and
 * wiped) in the one thread a child has. */
static void
pool_forget(void)
{
	sodium_memzero(&pool, sizeof(pool));
}

static void
pool_setup(void)
{
	(void)pthread_atfork(NULL, NULL, pool_forget);
}

void
spool_random(void *p, size_t n)
{
	uint8_t *out = p;

	pthread_once(&pool_once, pool_setup);
	if (n > POOL / 4) {
		randombytes_buf(p, n);
		return;
	}
	if (pool.left < n) {
		randombytes_buf(pool.b, POOL);
		pool.left = POOL;
	}
	memcpy(out, pool.b + POOL - pool.left, n);
	sodium_memzero(pool.b + POOL - pool.left, n);
	pool.left -= n;
}

int
spool_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	int e;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return e;
}

void
spool_uuid7(char out[SPOOL_UUID_LEN + 1])
{
	struct timespec ts;
	uint8_t b[16];
	uint64_t ms;
	char hex[33];
	int i;

	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	spool_random(b, sizeof(b));
	for (i = 0; i < 6; i++)
		b[i] = (uint8_t)(ms >> (40 - 8 * i));
	b[6] = (uint8_t)(0x70 | (b[6] & 0x0f));
	b[8] = (uint8_t)(0x80 | (b[8] & 0x3f));
	spool_hex(hex, b, 16);
	snprintf(out, SPOOL_UUID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex,
	    hex + 8, hex + 12, hex + 16, hex + 20);
}

int
spool_uuid_ok(const char *s)
{
	int i;

	for (i = 0; i < SPOOL_UUID_LEN; i++) {
		char c = s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return 0;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return s[SPOOL_UUID_LEN] == '\0';
}

void
spool_time_format(char out[SPOOL_TIME_LEN + 1], time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, SPOOL_TIME_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
spool_time_parse(const char *s, time_t *out)
{
	struct tm tm;
	const char *p;

	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (p == NULL)
		return -1;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (p[0] != 'Z' || p[1] != '\0')
		return -1;
	*out = timegm(&tm);
	return 0;
}

/* The length of the strict UTF-8 character at s (no overlongs, no
 * surrogates, nothing above U+10FFFF), 1 for ASCII; 0 if s does not
 * start one (or at the terminating NUL). */
static size_t
utf8_char(const unsigned char *s)
{
	unsigned c = *s, n, i, cp;

	if (c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 1, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 2, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 3, cp = c & 0x07;
	else
		return 0;
	for (i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n + 1;
}

static int
utf8_ok(const unsigned char *s)
{
	size_t n;

	for (; *s; s += n)
		if ((n = utf8_char(s)) == 0)
			return 0;
	return 1;
}

size_t
spool_text_line(char *s, size_t max)
{
	unsigned char *p = (unsigned char *)s;
	size_t o = 0, n, cut = 0;

	if (max < 4)
		max = 4;
	while (*p) {
		n = utf8_char(p);
		if (n == 0) /* a byte that starts no character */
			*p = '?', n = 1;
		else if (n == 1 && (*p < 0x20 || *p == 0x7f))
			*p = ' ';
		if (o + n <= max - 3)
			cut = o + n;
		if (o + n > max) { /* too long: end at cut, with "..." */
			memcpy(s + cut, "...", 4);
			return cut + 3;
		}
		o += n;
		p += n;
	}
	return o;
}

int
spool_node_name_ok(const char *s)
{
	size_t n;

	for (n = 0; s != NULL && s[n] != '\0'; n++)
		if (n >= SPOOL_NAME_MAX || !((s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= '0' && s[n] <= '9')))
			return 0;
	return n > 0;
}

int
spool_item_name_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 255 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '/' || c < 0x20 || c == 0x7f)
			return 0;
	}
	return utf8_ok((const unsigned char *)s);
}

/* The longest prefix of s[0..n) of at most max bytes that ends on a
 * UTF-8 character boundary. */
static size_t
utf8_cut(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/* stem (cut to fit) + mid + tail, at most max bytes in all. */
static int
compose_max(char *out, size_t outsz, const char *stem, size_t stemlen,
    const char *mid, const char *tail, size_t max)
{
	size_t fixed = strlen(mid) + strlen(tail);
	int w;

	if (fixed >= max)
		return -1;
	stemlen = utf8_cut(stem, stemlen, max - fixed);
	if (stemlen == 0)
		return -1;
	w = snprintf(out, outsz, "%.*s%s%s", (int)stemlen, stem, mid, tail);
	return w < 0 || (size_t)w >= outsz ? -1 : 0;
}

static int
compose(char *out, size_t outsz, const char *stem, size_t stemlen,
    const char *mid, const char *tail)
{
	return compose_max(out, outsz, stem, stemlen, mid, tail, 255);
}

/* Where a name's extension starts (its end when it has none worth
 * keeping). */
static const char *
ext_of(const char *name)
{
	const char *dot = strrchr(name, '.');

	/* no extension, a dot-file, or an "extension" too long to keep */
	if (dot == NULL || dot == name || strlen(dot) > 32)
		dot = name + strlen(name);
	return dot;
}

int
spool_name_variant_tag(char *out, size_t outsz, const char *name,
    const char *tag)
{
	const char *dot = ext_of(name);
	char mid[80];

	snprintf(mid, sizeof(mid), " (%s)", tag);
	return compose(out, outsz, name, (size_t)(dot - name), mid, dot);
}

int
spool_name_fit(char *out, size_t outsz, const char *name, size_t max)
{
	const char *dot = ext_of(name);

	return compose_max(out, outsz, name, (size_t)(dot - name), "", dot,
	    max);
}

const char *
spool_text_utf8(char *buf, size_t n, const char *s)
{
	const unsigned char *p;
	size_t o = 0;

	if (s == NULL || utf8_ok((const unsigned char *)s))
		return s;
	for (p = (const unsigned char *)s; *p && o + 5 < n; p++)
		if (*p < 0x80 && *p >= 0x20)
			buf[o++] = (char)*p;
		else
			o += (size_t)snprintf(buf + o, n - o, "\\x%02x", *p);
	buf[o] = '\0';
	return buf;
}

int
spool_name_variant(char *out, size_t outsz, const char *name, unsigned n)
{
	const char *dot = strrchr(name, '.');
	char mid[16] = "";

	if (n > 1)
		snprintf(mid, sizeof(mid), " (%u)", n);
	/* no extension, a dot-file, or an "extension" too long to keep */
	if (dot == NULL || dot == name || strlen(dot) > 32)
		dot = name + strlen(name);
	return compose(out, outsz, name, (size_t)(dot - name), mid, dot);
}

int
spool_name_part(char *out, size_t outsz, const char *name, unsigned index)
{
	char tail[24];

	snprintf(tail, sizeof(tail), ".part%06u", index);
	return compose(out, outsz, name, strlen(name), "", tail);
}

int
spool_next_line(const char **p, const char *end, const char **line, size_t *n)
{
	const char *nl;

	if (*p >= end)
		return -1;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	*line = *p;
	*n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
	if (*n > 0 && (*line)[*n - 1] == '\r')
		(*n)--;
	*p = nl ? nl + 1 : end;
	return 0;
}

int
spool_b64_exact(uint8_t *out, size_t want, const char *s, size_t n)
{
	size_t got;

	if (sodium_base642bin(out, want, s, n, NULL, &got, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	return got == want ? 0 : -1;
}

int64_t
spool_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
spool_size_str(char *out, size_t n, uint64_t v)
{
	static const char *const u[] = { "bytes", "KiB", "MiB", "GiB", "TiB",
		"PiB" };
	double x = (double)v;
	int i = 0;

	while (x >= 1024 && i < 5) {
		x /= 1024;
		i++;
	}
	if (i == 0)
		snprintf(out, n, "%llu bytes", (unsigned long long)v);
	else
		snprintf(out, n, "%.1f %s", x, u[i]);
}
