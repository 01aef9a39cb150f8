/*
 * minisig.c - minisign-compatible signatures and batch facts.
 *
 * Must never: accept a legacy (non-prehashed) signature, read more than
 * SPOOL_MINISIG_MAX bytes of a signature file, or accept a trusted comment
 * that is not exactly the facts format.
 */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spool/base/error.h"
#include "spool/base/fsutil.h"
#include "spool/base/util.h"
#include "spool/format/minisig.h"
#include "spool/keys/key.h"

int
spool_minisig_parse(const char *text, size_t len, struct spool_minisig *out,
    spool_err *err)
{
	static const char uc[] = "untrusted comment: ", tc[] = "trusted comment: ";
	const char *p = text, *end = text + len, *line;
	uint8_t bin[2 + 8 + 64];
	size_t n, i;

	if (len > SPOOL_MINISIG_MAX)
		return spool_fail(err, SPOOL_ERR_LIMIT,
		    "signature file larger than %d bytes", SPOOL_MINISIG_MAX);
	if (spool_next_line(&p, end, &line, &n) != 0 || n < sizeof(uc) - 1 ||
	    memcmp(line, uc, sizeof(uc) - 1) != 0)
		return spool_fail(err, SPOOL_ERR_FORMAT,
		    "not a minisign signature (line 1 is not an untrusted "
		    "comment)");
	if (spool_next_line(&p, end, &line, &n) != 0 ||
	    spool_b64_exact(bin, sizeof(bin), line, n) != 0)
		return spool_fail(err, SPOOL_ERR_FORMAT,
		    "not a minisign signature (bad signature line)");
	if (bin[0] == 'E' && bin[1] == 'd')
		return spool_fail(err, SPOOL_ERR_SIGNATURE,
		    "legacy signature (Ed) refused: only prehashed (ED) "
		    "signatures are accepted");
	if (bin[0] != 'E' || bin[1] != 'D')
		return spool_fail(err, SPOOL_ERR_SIGNATURE,
		    "unknown signature algorithm");
	if (spool_next_line(&p, end, &line, &n) != 0 || n < sizeof(tc) - 1 ||
	    memcmp(line, tc, sizeof(tc) - 1) != 0)
		return spool_fail(err, SPOOL_ERR_FORMAT,
		    "not a minisign signature (no trusted comment)");
	line += sizeof(tc) - 1;
	n -= sizeof(tc) - 1;
	if (n > SPOOL_TRUSTED_MAX)
		return spool_fail(err, SPOOL_ERR_LIMIT, "trusted comment too long");
	for (i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			return spool_fail(err, SPOOL_ERR_FORMAT,
			    "control character in trusted comment");
	memcpy(out->trusted, line, n);
	out->trusted[n] = '\0';
	if (spool_next_line(&p, end, &line, &n) != 0 ||
	    spool_b64_exact(out->global_sig, 64, line, n) != 0)
		return spool_fail(err, SPOOL_ERR_FORMAT,
		    "not a minisign signature (bad global signature line)");
	for (; p < end; p++)
		if (*p != '\n' && *p != '\r')
			return spool_fail(err, SPOOL_ERR_FORMAT,
			    "unexpected text after the signature");
	memcpy(out->keyid, bin + 2, 8);
	memcpy(out->sig, bin + 10, 64);
	return SPOOL_OK;
}

int
spool_minisig_read(const char *path, struct spool_minisig *out, spool_err *err)
{
	char *text;
	size_t len;
	int r;

	r = spool_read_file(path, SPOOL_MINISIG_MAX, &text, &len, err);
	if (r == SPOOL_ERR_NOTFOUND)
		return spool_fail(err, SPOOL_ERR_SIGNATURE,
		    "signature file '%s' is missing", path);
	if (r != SPOOL_OK)
		return r;
	r = spool_minisig_parse(text, len, out, err);
	free(text);
	return r;
}

int
spool_minisig_verify_comment(const struct spool_minisig *m,
    const struct spool_pubkey *pk, spool_err *err)
{
	uint8_t msg[64 + SPOOL_TRUSTED_MAX];
	size_t tlen = strlen(m->trusted);

	memcpy(msg, m->sig, 64);
	memcpy(msg + 64, m->trusted, tlen);
	if (crypto_sign_verify_detached(m->global_sig, msg, 64 + tlen,
	    pk->pk) != 0)
		return spool_fail(err, SPOOL_ERR_SIGNATURE,
		    "trusted comment signature is invalid (comment altered)");
	return SPOOL_OK;
}

int
spool_minisig_verify(const struct spool_minisig *m,
    const struct spool_pubkey *pk, const uint8_t prehash[64], spool_err *err)
{
	uint8_t msg[64 + SPOOL_TRUSTED_MAX];
	size_t tlen = strlen(m->trusted);

	if (crypto_sign_verify_detached(m->sig, prehash, 64, pk->pk) != 0)
		return spool_fail(err, SPOOL_ERR_SIGNATURE,
		    "signature does not match the file (altered or truncated)");
	memcpy(msg, m->sig, 64);
	memcpy(msg + 64, m->trusted, tlen);
	if (crypto_sign_verify_detached(m->global_sig, msg, 64 + tlen,
	    pk->pk) != 0)
		return spool_fail(err, SPOOL_ERR_SIGNATURE,
		    "trusted comment signature is invalid (comment altered)");
	return SPOOL_OK;
}

int
spool_minisig_sign(const struct spool_seckey *sk, const uint8_t prehash[64],
    const char *trusted, const char *untrusted, char *out, size_t outsz,
    spool_err *err)
{
	uint8_t bin[2 + 8 + 64], gsig[64], msg[64 + SPOOL_TRUSTED_MAX];
	char b1[sodium_base64_ENCODED_LEN(sizeof(bin),
	    sodium_base64_VARIANT_ORIGINAL)];
	char b2[sodium_base64_ENCODED_LEN(64, sodium_base64_VARIANT_ORIGINAL)];
	size_t tlen = strlen(trusted);
	int w;

	if (tlen > SPOOL_TRUSTED_MAX || strchr(untrusted, '\n') != NULL)
		return spool_fail(err, SPOOL_ERR_USAGE, "comment too long");
	bin[0] = 'E';
	bin[1] = 'D';
	memcpy(bin + 2, sk->id, 8);
	crypto_sign_detached(bin + 10, NULL, prehash, 64, sk->sk);
	memcpy(msg, bin + 10, 64);
	memcpy(msg + 64, trusted, tlen);
	crypto_sign_detached(gsig, NULL, msg, 64 + tlen, sk->sk);
	sodium_bin2base64(b1, sizeof(b1), bin, sizeof(bin),
	    sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(b2, sizeof(b2), gsig, sizeof(gsig),
	    sodium_base64_VARIANT_ORIGINAL);
	w = snprintf(out, outsz,
	    "untrusted comment: %s\n%s\ntrusted comment: %s\n%s\n", untrusted,
	    b1, trusted, b2);
	if (w < 0 || (size_t)w >= outsz)
		return spool_fail(err, SPOOL_ERR_USAGE, "signature too long");
	return SPOOL_OK;
}

int
spool_facts_format(const struct spool_batch_facts *f, char *out, size_t outsz)
{
	int w = snprintf(out, outsz,
	    "spool-batch v1 from=%s to=%s seq=%" PRIu64 " id=%s items=%" PRIu64
	    " bytes=%" PRIu64 " tar=%" PRIu64 " created=%s", f->from, f->to,
	    f->seq, f->id, f->items, f->bytes, f->tar, f->created);

	return w < 0 || (size_t)w >= outsz ? -1 : 0;
}

/* Decimal without sign or leading zeros, at most max. */
static int
parse_u64(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

int
spool_facts_parse(const char *trusted, struct spool_batch_facts *out,
    spool_err *err)
{
	static const char *const keys[] = { "from", "to", "seq", "id", "items",
		"bytes", "tar", "created" };
	struct spool_batch_facts f;
	const char *p = trusted;
	size_t k;
	time_t t;

	memset(&f, 0, sizeof(f));
	if (strncmp(p, "spool-batch ", 12) != 0)
		return spool_fail(err, SPOOL_ERR_FORMAT,
		    "trusted comment is not a spool batch's");
	p += 12;
	if (strncmp(p, "v1 ", 3) != 0)
		return spool_fail(err, SPOOL_ERR_FORMAT,
		    "unsupported batch version in trusted comment");
	p += 3;
	for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		size_t kl = strlen(keys[k]);
		const char *v, *sp;
		size_t vl;
		int bad = 0;

		if (strncmp(p, keys[k], kl) != 0 || p[kl] != '=')
			return spool_fail(err, SPOOL_ERR_FORMAT,
			    "trusted comment: expected '%s=' at '%.20s'",
			    keys[k], p);
		v = p + kl + 1;
		sp = strchr(v, ' ');
		vl = sp ? (size_t)(sp - v) : strlen(v);
		if ((sp == NULL) != (k == sizeof(keys) / sizeof(keys[0]) - 1))
			return spool_fail(err, SPOOL_ERR_FORMAT,
			    "trusted comment: wrong number of fields");
		switch (k) {
		case 0:
		case 1: {
			char *dst = k == 0 ? f.from : f.to;

			if (vl > SPOOL_NAME_MAX)
				bad = 1;
			else {
				memcpy(dst, v, vl);
				dst[vl] = '\0';
				bad = !spool_node_name_ok(dst);
			}
			break;
		}
		case 2:
			bad = parse_u64(v, vl, SPOOL_SEQ_MAX, &f.seq) != 0 ||
			    f.seq == 0;
			break;
		case 3:
			if (vl != SPOOL_UUID_LEN)
				bad = 1;
			else {
				memcpy(f.id, v, vl);
				bad = !spool_uuid_ok(f.id);
			}
			break;
		case 4:
			bad = parse_u64(v, vl, UINT64_MAX, &f.items) != 0;
			break;
		case 5:
			bad = parse_u64(v, vl, UINT64_MAX, &f.bytes) != 0;
			break;
		case 6:
			bad = parse_u64(v, vl, UINT64_MAX, &f.tar) != 0;
			break;
		case 7:
			if (vl > SPOOL_TIME_LEN + 10)
				bad = 1;
			else {
				char tmp[SPOOL_TIME_LEN + 11];

				memcpy(tmp, v, vl);
				tmp[vl] = '\0';
				bad = spool_time_parse(tmp, &t) != 0 ||
				    vl > SPOOL_TIME_LEN;
				if (!bad)
					memcpy(f.created, tmp, vl + 1);
			}
			break;
		}
		if (bad)
			return spool_fail(err, SPOOL_ERR_FORMAT,
			    "trusted comment: bad value for '%s'", keys[k]);
		p = sp ? sp + 1 : v + vl;
	}
	*out = f;
	return SPOOL_OK;
}

int
spool_batch_name(char *out, size_t outsz, const char *from, const char *to,
    uint64_t seq)
{
	int w = snprintf(out, outsz, "%s-%s-%010" PRIu64 ".batch", from, to,
	    seq);

	return w < 0 || (size_t)w >= outsz ? -1 : 0;
}
