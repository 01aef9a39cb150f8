/*
 * hash.c - streamed BLAKE2b and hex.
 */
#include <errno.h>
#include <unistd.h>

#include "spool/base/error.h"
#include "spool/base/hash.h"

void
spool_hasher_init(spool_hasher *h, size_t outlen)
{
	h->outlen = outlen;
	crypto_generichash_init(&h->st, NULL, 0, outlen);
}

void
spool_hasher_update(spool_hasher *h, const void *p, size_t n)
{
	crypto_generichash_update(&h->st, p, n);
}

void
spool_hasher_final(spool_hasher *h, uint8_t *out)
{
	crypto_generichash_final(&h->st, out, h->outlen);
}

void
spool_hex(char *out, const uint8_t *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int
nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
spool_unhex(uint8_t *out, size_t n, const char *hex)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int hi = nibble(hex[2 * i]), lo;

		if (hi < 0)
			return -1;
		lo = nibble(hex[2 * i + 1]);
		if (lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return hex[2 * n] == '\0' ? 0 : -1;
}

int
spool_hasher_fd(spool_hasher *h, int fd, uint64_t *size, spool_err *err)
{
	static __thread uint8_t buf[1 << 18];
	uint64_t total = 0;
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return spool_fail_sys(err, "read");
		if (n == 0)
			break;
		spool_hasher_update(h, buf, (size_t)n);
		total += (uint64_t)n;
	}
	*size = total;
	return SPOOL_OK;
}

int
spool_hash_fd(int fd, uint8_t out[SPOOL_HASH_LEN], uint64_t *size,
    spool_err *err)
{
	spool_hasher h;
	int r;

	spool_hasher_init(&h, SPOOL_HASH_LEN);
	if ((r = spool_hasher_fd(&h, fd, size, err)) != SPOOL_OK)
		return r;
	spool_hasher_final(&h, out);
	return SPOOL_OK;
}
