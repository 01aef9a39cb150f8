/*
 * key.c - node keypairs in minisign's formats.
 *
 * Must never: write a secret key readable by others, or accept a public
 * key line that is not exactly "Ed" || id || pk.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool/base/error.h"
#include "spool/base/fsutil.h"
#include "spool/base/util.h"
#include "spool/keys/key.h"

#define SK_BIN_LEN (2 + 2 + 2 + 32 + 8 + 8 + 8 + 64 + 32)

int
spool_keypair_generate(struct spool_pubkey *pub, struct spool_seckey *sec,
    spool_err *err)
{
	if (sodium_init() < 0)
		return spool_fail(err, SPOOL_ERR_CRYPTO, "libsodium init failed");
	randombytes_buf(sec->id, sizeof(sec->id));
	crypto_sign_keypair(pub->pk, sec->sk);
	memcpy(pub->id, sec->id, sizeof(pub->id));
	return SPOOL_OK;
}

void
spool_seckey_public(const struct spool_seckey *sec, struct spool_pubkey *pub)
{
	memcpy(pub->id, sec->id, sizeof(pub->id));
	memcpy(pub->pk, sec->sk + 32, 32);
}

void
spool_seckey_wipe(struct spool_seckey *sec)
{
	sodium_memzero(sec, sizeof(*sec));
}

void
spool_keyid_str(const uint8_t id[SPOOL_KEYID_LEN],
    char out[SPOOL_KEYID_STRLEN + 1])
{
	unsigned long long v = 0;
	int i;

	for (i = SPOOL_KEYID_LEN - 1; i >= 0; i--)
		v = v << 8 | id[i];
	snprintf(out, SPOOL_KEYID_STRLEN + 1, "%llX", v);
}

int
spool_pubkey_format(const struct spool_pubkey *pub, char *out, size_t outsz)
{
	uint8_t bin[2 + 8 + 32];
	char b64[sodium_base64_ENCODED_LEN(sizeof(bin),
	    sodium_base64_VARIANT_ORIGINAL)];
	char id[SPOOL_KEYID_STRLEN + 1];
	int w;

	bin[0] = 'E';
	bin[1] = 'd';
	memcpy(bin + 2, pub->id, 8);
	memcpy(bin + 10, pub->pk, 32);
	sodium_bin2base64(b64, sizeof(b64), bin, sizeof(bin),
	    sodium_base64_VARIANT_ORIGINAL);
	spool_keyid_str(pub->id, id);
	w = snprintf(out, outsz, "untrusted comment: minisign public key %s\n%s\n",
	    id, b64);
	return w < 0 || (size_t)w >= outsz ? -1 : 0;
}

int
spool_pubkey_parse(const char *text, size_t len, struct spool_pubkey *out,
    spool_err *err)
{
	const char *p = text, *end = text + len, *line;
	uint8_t bin[2 + 8 + 32];
	size_t n;

	if (spool_next_line(&p, end, &line, &n) != 0 ||
	    n < 19 || memcmp(line, "untrusted comment: ", 19) != 0)
		return spool_fail(err, SPOOL_ERR_FORMAT,
		    "not a minisign public key (no 'untrusted comment:' line)");
	if (spool_next_line(&p, end, &line, &n) != 0 ||
	    spool_b64_exact(bin, sizeof(bin), line, n) != 0)
		return spool_fail(err, SPOOL_ERR_FORMAT,
		    "not a minisign public key (bad key line)");
	if (bin[0] != 'E' || bin[1] != 'd')
		return spool_fail(err, SPOOL_ERR_FORMAT,
		    "unsupported public key algorithm");
	while (p < end) {
		if (*p != '\n' && *p != '\r' && *p != ' ' && *p != '\t')
			return spool_fail(err, SPOOL_ERR_FORMAT,
			    "unexpected text after the public key");
		p++;
	}
	memcpy(out->id, bin + 2, 8);
	memcpy(out->pk, bin + 10, 32);
	return SPOOL_OK;
}

int
spool_pubkey_read(const char *path, struct spool_pubkey *out, spool_err *err)
{
	char *text;
	size_t len;
	int r;

	if ((r = spool_read_file(path, SPOOL_KEYFILE_MAX, &text, &len, err)) !=
	    SPOOL_OK)
		return r;
	r = spool_pubkey_parse(text, len, out, err);
	free(text);
	if (r != SPOOL_OK)
		spool_err_prefix(err, "'%s'", path);
	return r;
}

int
spool_pubkey_write(const char *path, const struct spool_pubkey *pub,
    spool_err *err)
{
	char text[256];

	if (spool_pubkey_format(pub, text, sizeof(text)) != 0)
		return spool_fail(err, SPOOL_ERR_INTERNAL, "key text too long");
	return spool_write_file_atomic(path, text, strlen(text), 0644, err);
}

int
spool_seckey_read(const char *path, struct spool_seckey *out, spool_err *err)
{
	uint8_t bin[SK_BIN_LEN], chk[32], zero[32] = { 0 };
	const char *p, *end, *line;
	crypto_generichash_state h;
	struct stat st;
	char *text = NULL;
	size_t len, n;
	int r;

	if (stat(path, &st) == 0 && (st.st_mode & 077) != 0)
		return spool_fail(err, SPOOL_ERR_CONFIG,
		    "secret key '%s' is accessible by others (mode %04o); "
		    "chmod 600 it", path, (unsigned)(st.st_mode & 07777));
	if ((r = spool_read_file(path, SPOOL_KEYFILE_MAX, &text, &len, err)) !=
	    SPOOL_OK)
		return r;
	p = text;
	end = text + len;
	r = spool_fail(err, SPOOL_ERR_FORMAT,
	    "'%s' is not a minisign secret key", path);
	if (spool_next_line(&p, end, &line, &n) != 0 || n < 19 ||
	    memcmp(line, "untrusted comment: ", 19) != 0)
		goto out;
	if (spool_next_line(&p, end, &line, &n) != 0 ||
	    spool_b64_exact(bin, sizeof(bin), line, n) != 0)
		goto out;
	if (bin[0] != 'E' || bin[1] != 'd' || bin[4] != 'B' || bin[5] != '2')
		goto out;
	if (bin[2] != 0 || bin[3] != 0) {
		r = spool_fail(err, SPOOL_ERR_CONFIG,
		    "secret key '%s' is password-protected; spool needs an "
		    "unencrypted key (minisign -G -W, or minisign -C -W)", path);
		goto out;
	}
	memcpy(out->id, bin + 54, 8);
	memcpy(out->sk, bin + 62, 64);
	/* minisign -W leaves the checksum zero; spool writes the real one */
	crypto_generichash_init(&h, NULL, 0, 32);
	crypto_generichash_update(&h, bin, 2);
	crypto_generichash_update(&h, bin + 54, 8 + 64);
	crypto_generichash_final(&h, chk, 32);
	if (memcmp(chk, bin + 126, 32) != 0 && memcmp(zero, bin + 126, 32) != 0) {
		r = spool_fail(err, SPOOL_ERR_FORMAT,
		    "secret key '%s' fails its checksum", path);
		goto out;
	}
	r = SPOOL_OK;
out:
	sodium_memzero(bin, sizeof(bin));
	if (text != NULL) {
		sodium_memzero(text, len);
		free(text);
	}
	return r;
}

int
spool_seckey_write(const char *path, const struct spool_seckey *sec,
    spool_err *err)
{
	uint8_t bin[SK_BIN_LEN];
	char b64[sodium_base64_ENCODED_LEN(SK_BIN_LEN,
	    sodium_base64_VARIANT_ORIGINAL)];
	char text[sizeof(b64) + 128];
	crypto_generichash_state h;
	int fd, r;

	memset(bin, 0, sizeof(bin));
	bin[0] = 'E';
	bin[1] = 'd';
	bin[4] = 'B';
	bin[5] = '2';
	memcpy(bin + 54, sec->id, 8);
	memcpy(bin + 62, sec->sk, 64);
	crypto_generichash_init(&h, NULL, 0, 32);
	crypto_generichash_update(&h, bin, 2);
	crypto_generichash_update(&h, bin + 54, 8 + 64);
	crypto_generichash_final(&h, bin + 126, 32);
	sodium_bin2base64(b64, sizeof(b64), bin, sizeof(bin),
	    sodium_base64_VARIANT_ORIGINAL);
	snprintf(text, sizeof(text),
	    "untrusted comment: minisign secret key (spool node key, "
	    "unencrypted)\n%s\n", b64);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd < 0) {
		r = errno == EEXIST ? spool_fail(err, SPOOL_ERR_EXISTS,
		    "secret key '%s' already exists", path) :
		    spool_fail_sys(err, "cannot create '%s'", path);
		goto out;
	}
	r = spool_write_all(fd, text, strlen(text), err);
	if (r == SPOOL_OK && fsync(fd) != 0)
		r = spool_fail_sys(err, "cannot fsync '%s'", path);
	close(fd);
	if (r != SPOOL_OK)
		unlink(path);
out:
	sodium_memzero(bin, sizeof(bin));
	sodium_memzero(b64, sizeof(b64));
	sodium_memzero(text, sizeof(text));
	return r;
}
