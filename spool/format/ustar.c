/*
 * ustar.c - strict POSIX ustar: header writer and push reader.
 *
 * The reader parses bytes that came from another node, before anything
 * else looks at them.  It must never buffer more than one block whatever
 * the input, never hand padding to the caller as data, and never accept a
 * header that GNU tar and Python's tarfile could read differently or that
 * could escape the extraction directory: no links, devices, directories,
 * pax or GNU extension headers, base-256 numbers, odd names.
 *
 * The writer emits exactly what Python's tarfile emits for the same
 * regular file (USTAR_FORMAT, mode 0644, root:root), so batches are
 * byte-identical given the same inputs and anyone can check them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool/base/error.h"
#include "spool/format/ustar.h"

/* Header fields (POSIX.1-1988): offsets, and lengths where they matter.
 * H_MAGIC covers magic (6 bytes) and version (2). */
enum {
	H_NAME = 0, L_NAME = 100, H_MODE = 100, H_UID = 108, H_GID = 116,
	H_SIZE = 124, L_SIZE = 12, H_MTIME = 136, H_CHKSUM = 148,
	L_CHKSUM = 8, H_TYPE = 156, H_MAGIC = 257, H_UNAME = 265,
	H_GNAME = 297, H_PREFIX = 345, L_PREFIX = 155
};

/* 11 octal digits and a NUL in a 12-byte field: 8 GiB - 1. */
#define OCTAL11_MAX SPOOL_USTAR_SIZE_MAX
/* A name as quoted in messages: every byte may become "\xNN". */
#define QUOTED_MAX (4 * (SPOOL_USTAR_NAME_MAX + 1) + 1)

enum state {
	ST_HEADER, /* collecting a header block in u.block */
	ST_DATA,   /* left bytes of member data to pass on */
	ST_PAD,    /* left bytes of padding, which must be zero */
	ST_END,    /* after the first zero block: zero bytes only */
	ST_FAILED  /* poisoned: u.err holds the error to repeat */
};

struct spool_ustar_reader {
	struct spool_ustar_cb cb;
	enum state state;
	size_t fill;       /* bytes into the current block */
	uint64_t left;     /* data or padding bytes still to come */
	uint64_t size;     /* size of the current member */
	uint64_t members;  /* headers accepted so far */
	uint64_t offset;   /* bytes consumed so far */
	/* The one block buffer.  Once a header is parsed its bytes are no
	 * longer needed, so the member's name lives in the same place (for
	 * messages), and after a failure the error does. */
	union {
		uint8_t block[SPOOL_USTAR_BLOCK];
		char name[SPOOL_USTAR_NAME_MAX + 1];
		spool_err err;
	} u;
};

size_t
spool_ustar_padding(uint64_t size)
{
	return (SPOOL_USTAR_BLOCK - size % SPOOL_USTAR_BLOCK) %
	    SPOOL_USTAR_BLOCK;
}

/* Why a member name is unsafe or ambiguous, or NULL if it is fine. */
static const char *
name_problem(const char *s, size_t len)
{
	size_t i, start = 0;

	if (len == 0)
		return "empty name";
	if (s[0] == '/')
		return "absolute name";
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return "control character in name";
	if (s[len - 1] == '/')
		return "trailing '/' in name";
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '/')
			continue;
		if (i == start)
			return "empty component in name";
		if (i - start == 1 && s[start] == '.')
			return "'.' component in name";
		if (i - start == 2 && s[start] == '.' && s[start + 1] == '.')
			return "'..' component in name";
		start = i + 1;
	}
	return NULL;
}

/* Copy s into out (QUOTED_MAX bytes) with unprintable bytes, quotes and
 * backslashes escaped, so a hostile name cannot fake or break a message. */
static void
quote(char *out, const char *s)
{
	size_t o = 0;

	for (; *s != '\0' && o + 5 <= QUOTED_MAX; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f || c == '\\' || c == '\'')
			o += (size_t)snprintf(out + o, 5, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
}

/* len - 1 zero-padded octal digits and a NUL; v fits (checked). */
static void
put_octal(uint8_t *field, size_t len, uint64_t v)
{
	snprintf((char *)field, len, "%0*llo", (int)len - 1,
	    (unsigned long long)v);
}

/* Sum of the header with the checksum field counted as spaces; *sgn gets
 * the sum of the bytes taken as signed chars, which old tars wrote. */
static unsigned long
header_sum(const uint8_t *b, long *sgn)
{
	unsigned long sum = 0;
	long ssum = 0;
	size_t i;

	for (i = 0; i < SPOOL_USTAR_BLOCK; i++) {
		uint8_t c = b[i];

		if (i >= H_CHKSUM && i < H_CHKSUM + L_CHKSUM)
			c = ' ';
		sum += c;
		ssum += (signed char)c;
	}
	*sgn = ssum;
	return sum;
}

int
spool_ustar_header(uint8_t out[SPOOL_USTAR_BLOCK], const char *name,
    uint64_t size, uint64_t mtime, spool_err *err)
{
	char q[QUOTED_MAX];
	const char *why;
	size_t len, cut = 0;
	unsigned long sum;
	long ssum;

	if (out == NULL || name == NULL)
		return spool_fail(err, SPOOL_ERR_USAGE, "ustar: no name");
	len = strnlen(name, SPOOL_USTAR_NAME_MAX + 1);
	if (len > SPOOL_USTAR_NAME_MAX)
		return spool_fail(err, SPOOL_ERR_USAGE,
		    "ustar: name longer than %d bytes", SPOOL_USTAR_NAME_MAX);
	quote(q, name);
	if ((why = name_problem(name, len)) != NULL)
		return spool_fail(err, SPOOL_ERR_USAGE,
		    "ustar: cannot store '%s': %s", q, why);
	if (size > OCTAL11_MAX || mtime > OCTAL11_MAX)
		return spool_fail(err, SPOOL_ERR_USAGE, "ustar: cannot store "
		    "'%s': size %llu or mtime %llu over the ustar limit", q,
		    (unsigned long long)size, (unsigned long long)mtime);
	if (len > L_NAME) {
		/* Shortest prefix that leaves at most 100 bytes of name, as
		 * GNU tar and Python split; the prefix keeps its NUL. */
		for (cut = len - L_NAME - 1; cut < len; cut++)
			if (name[cut] == '/')
				break;
		if (cut >= len || cut >= L_PREFIX)
			return spool_fail(err, SPOOL_ERR_USAGE,
			    "ustar: cannot store '%s': no '/' splits it into "
			    "prefix and name fields", q);
	}

	memset(out, 0, SPOOL_USTAR_BLOCK);
	if (cut > 0) {
		memcpy(out + H_PREFIX, name, cut);
		memcpy(out + H_NAME, name + cut + 1, len - cut - 1);
	} else {
		memcpy(out + H_NAME, name, len);
	}
	put_octal(out + H_MODE, 8, 0644);
	put_octal(out + H_UID, 8, 0);
	put_octal(out + H_GID, 8, 0);
	put_octal(out + H_SIZE, L_SIZE, size);
	put_octal(out + H_MTIME, 12, mtime);
	out[H_TYPE] = '0';
	memcpy(out + H_MAGIC, "ustar\0" "00", 8);
	memcpy(out + H_UNAME, "root", 4);
	memcpy(out + H_GNAME, "root", 4);
	sum = header_sum(out, &ssum);
	put_octal(out + H_CHKSUM, 7, sum);
	out[H_CHKSUM + 7] = ' ';
	return SPOOL_OK;
}

/* Octal digits (after leading spaces if spaces is set), then at least
 * one NUL or space and nothing else: no base-256, no unterminated field. */
static int
octal(const uint8_t *f, size_t len, int spaces, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	while (spaces && i < len && f[i] == ' ')
		i++;
	if (i == len || f[i] < '0' || f[i] > '7')
		return -1;
	for (; i < len && f[i] >= '0' && f[i] <= '7'; i++)
		v = v * 8 + (uint64_t)(f[i] - '0');
	if (i == len)
		return -1;
	for (; i < len; i++)
		if (f[i] != '\0' && f[i] != ' ')
			return -1;
	*out = v;
	return 0;
}

/* GNU tar accepts the unsigned sum and the signed one old tars wrote. */
static int
checksum_ok(const uint8_t *b)
{
	uint64_t want;
	unsigned long sum;
	long ssum;

	if (octal(b + H_CHKSUM, L_CHKSUM, 1, &want) != 0)
		return 0;
	sum = header_sum(b, &ssum);
	return want == sum || (ssum >= 0 && want == (uint64_t)ssum);
}

static int __attribute__((format(printf, 4, 5)))
member_fail(struct spool_ustar_reader *r, spool_err *e, uint64_t idx,
    const char *fmt, ...)
{
	char q[QUOTED_MAX], why[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	quote(q, r->u.name);
	return spool_fail(e, SPOOL_ERR_FORMAT, "member %llu '%s': %s",
	    (unsigned long long)idx, q, why);
}

/* The member's data and padding are through: close it. */
static int
member_done(struct spool_ustar_reader *r, spool_err *e)
{
	r->state = ST_HEADER;
	r->fill = 0;
	if (r->cb.end != NULL)
		return r->cb.end(r->cb.ctx, e);
	return SPOOL_OK;
}

/* u.block holds a whole header block: check it and open the member. */
static int
header(struct spool_ustar_reader *r, spool_err *e)
{
	uint8_t *b = r->u.block;
	unsigned long long idx = (unsigned long long)r->members + 1;
	const char *why, *size_why = NULL;
	uint64_t size = 0;
	size_t nlen, plen;
	int gnu, rc;
	uint8_t type;

	if (b[0] == 0 && memcmp(b, b + 1, SPOOL_USTAR_BLOCK - 1) == 0) {
		r->state = ST_END;
		return SPOOL_OK;
	}
	if (!checksum_ok(b))
		return spool_fail(e, SPOOL_ERR_FORMAT,
		    "member %llu: bad header checksum", idx);
	gnu = memcmp(b + H_MAGIC, "ustar  \0", 8) == 0;
	if (!gnu && memcmp(b + H_MAGIC, "ustar\0" "00", 8) != 0)
		return spool_fail(e, SPOOL_ERR_FORMAT,
		    "member %llu: not a ustar header (bad magic)", idx);
	nlen = strnlen((const char *)b + H_NAME, L_NAME);
	plen = strnlen((const char *)b + H_PREFIX, L_PREFIX);
	if (plen == L_PREFIX)
		return spool_fail(e, SPOOL_ERR_FORMAT,
		    "member %llu: prefix field not terminated", idx);
	/* GNU tar keeps atime/ctime where ustar has the prefix, and Python
	 * would still read it as one: refuse rather than pick a meaning. */
	if (gnu && plen > 0)
		return spool_fail(e, SPOOL_ERR_FORMAT,
		    "member %llu: gnu header with data in the prefix area",
		    idx);
	type = b[H_TYPE];
	if (b[H_SIZE] & 0x80)
		size_why = "base-256 size not supported";
	else if (octal(b + H_SIZE, L_SIZE, 0, &size) != 0)
		size_why = "bad size field (not octal)";

	/* Join prefix "/" name in place (this overwrites the header).  The
	 * name moves first; the prefix (at 345) is beyond what it touches. */
	memmove(r->u.name + (plen ? plen + 1 : 0), b + H_NAME, nlen);
	if (plen > 0) {
		memmove(r->u.name, b + H_PREFIX, plen);
		r->u.name[plen] = '/';
		plen++;
	}
	r->u.name[plen + nlen] = '\0';

	if (type != '0' && type != '\0') {
		if (type > 0x20 && type < 0x7f)
			return member_fail(r, e, idx,
			    "not a regular file (type '%c')", type);
		return member_fail(r, e, idx,
		    "not a regular file (type 0x%02x)", type);
	}
	if (size_why != NULL)
		return member_fail(r, e, idx, "%s", size_why);
	if ((why = name_problem(r->u.name, plen + nlen)) != NULL)
		return member_fail(r, e, idx, "%s", why);

	r->members++;
	r->size = size;
	r->left = size;
	r->state = ST_DATA;
	if (r->cb.member != NULL &&
	    (rc = r->cb.member(r->cb.ctx, r->u.name, size, e)) != SPOOL_OK)
		return rc;
	if (size == 0)
		return member_done(r, e);
	return SPOOL_OK;
}

/* Consume up to n bytes in the current state; *used says how many. */
static int
step(struct spool_ustar_reader *r, const uint8_t *p, size_t n, size_t *used,
    spool_err *e)
{
	size_t k, i;
	int rc;

	switch (r->state) {
	case ST_HEADER:
		k = SPOOL_USTAR_BLOCK - r->fill;
		k = k < n ? k : n;
		memcpy(r->u.block + r->fill, p, k);
		r->fill += k;
		*used = k;
		if (r->fill < SPOOL_USTAR_BLOCK)
			return SPOOL_OK;
		r->fill = 0;
		return header(r, e);
	case ST_DATA:
		k = r->left < n ? (size_t)r->left : n;
		*used = k;
		r->left -= k;
		if (r->cb.data != NULL &&
		    (rc = r->cb.data(r->cb.ctx, p, k, e)) != SPOOL_OK)
			return rc;
		if (r->left > 0)
			return SPOOL_OK;
		r->left = spool_ustar_padding(r->size);
		if (r->left == 0)
			return member_done(r, e);
		r->state = ST_PAD;
		return SPOOL_OK;
	case ST_PAD:
		k = r->left < n ? (size_t)r->left : n;
		*used = k;
		for (i = 0; i < k; i++)
			if (p[i] != 0)
				return member_fail(r, e, r->members,
				    "non-zero padding");
		r->left -= k;
		return r->left == 0 ? member_done(r, e) : SPOOL_OK;
	case ST_END:
		*used = n;
		for (i = 0; i < n; i++)
			if (p[i] != 0)
				return spool_fail(e, SPOOL_ERR_FORMAT,
				    "data after end of archive (offset %llu)",
				    (unsigned long long)(r->offset + i));
		r->fill = (r->fill + n) % SPOOL_USTAR_BLOCK;
		return SPOOL_OK;
	case ST_FAILED:
		break;
	}
	return spool_fail(e, SPOOL_ERR_INTERNAL, "ustar: bad reader state");
}

/* Poison the reader with e and report it. */
static int
fail(struct spool_ustar_reader *r, int code, spool_err *e, spool_err *err)
{
	e->code = code;
	if (e->msg[0] == '\0')
		snprintf(e->msg, sizeof(e->msg),
		    "ustar: refused at member %llu",
		    (unsigned long long)r->members);
	r->u.err = *e;
	r->state = ST_FAILED;
	if (err != NULL)
		*err = *e;
	return code;
}

static int
replay(const struct spool_ustar_reader *r, spool_err *err)
{
	if (err != NULL)
		*err = r->u.err;
	return r->u.err.code;
}

int
spool_ustar_reader_new(struct spool_ustar_reader **out,
    const struct spool_ustar_cb *cb, spool_err *err)
{
	struct spool_ustar_reader *r;

	if (out == NULL || cb == NULL)
		return spool_fail(err, SPOOL_ERR_USAGE,
		    "ustar: reader needs callbacks");
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "ustar: out of memory");
	r->cb = *cb;
	r->state = ST_HEADER;
	*out = r;
	return SPOOL_OK;
}

int
spool_ustar_reader_feed(struct spool_ustar_reader *r, const uint8_t *p,
    size_t n, spool_err *err)
{
	spool_err e;
	size_t used;
	int rc;

	if (r->state == ST_FAILED)
		return replay(r, err);
	spool_err_clear(&e);
	while (n > 0) {
		used = 0;
		if ((rc = step(r, p, n, &used, &e)) != SPOOL_OK)
			return fail(r, rc, &e, err);
		p += used;
		n -= used;
		r->offset += used;
	}
	return SPOOL_OK;
}

int
spool_ustar_reader_finish(struct spool_ustar_reader *r, spool_err *err)
{
	char q[QUOTED_MAX];
	spool_err e;

	if (r->state == ST_FAILED)
		return replay(r, err);
	spool_err_clear(&e);
	if (r->state == ST_DATA || r->state == ST_PAD) {
		quote(q, r->u.name);
		spool_fail(&e, SPOOL_ERR_FORMAT,
		    "truncated archive (inside member %llu '%s')",
		    (unsigned long long)r->members, q);
	} else if (r->fill != 0 && r->state == ST_HEADER) {
		spool_fail(&e, SPOOL_ERR_FORMAT,
		    "truncated block (header of member %llu)",
		    (unsigned long long)r->members + 1);
	} else if (r->fill != 0) {
		spool_fail(&e, SPOOL_ERR_FORMAT,
		    "truncated block (after end of archive)");
	}
	return e.code == SPOOL_OK ? SPOOL_OK : fail(r, e.code, &e, err);
}

uint64_t
spool_ustar_reader_members(const struct spool_ustar_reader *r)
{
	return r->members;
}

void
spool_ustar_reader_free(struct spool_ustar_reader *r)
{
	free(r);
}
