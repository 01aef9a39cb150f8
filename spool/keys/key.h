/*
 * key.h - Ed25519 node keys in minisign's file formats.
 *
 * Public key file: "untrusted comment: ..." then base64("Ed" || key_id[8]
 * || pk[32]).  Secret key file: the unencrypted minisign format (kdf "\0\0"),
 * so `minisign -S -s keys/node.key` signs with a node's key too, mode 0600.
 */
#ifndef SPOOL_KEY_H
#define SPOOL_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "spool/base/error.h"

#define SPOOL_KEYID_LEN 8
#define SPOOL_KEYID_STRLEN 16
#define SPOOL_KEYFILE_MAX 4096

struct spool_pubkey {
	uint8_t id[SPOOL_KEYID_LEN];
	uint8_t pk[32];
};

struct spool_seckey {
	uint8_t id[SPOOL_KEYID_LEN];
	uint8_t sk[64]; /* libsodium form: seed || pk */
};

int spool_keypair_generate(struct spool_pubkey *pub, struct spool_seckey *sec,
    spool_err *err);
void spool_seckey_public(const struct spool_seckey *sec,
    struct spool_pubkey *pub);
/* Wipes the secret key material. */
void spool_seckey_wipe(struct spool_seckey *sec);

/* The key id as minisign prints it (%llX of the little-endian bytes). */
void spool_keyid_str(const uint8_t id[SPOOL_KEYID_LEN],
    char out[SPOOL_KEYID_STRLEN + 1]);

/* Complete public key file text (two lines). */
int spool_pubkey_format(const struct spool_pubkey *pub, char *out,
    size_t outsz);
int spool_pubkey_parse(const char *text, size_t len, struct spool_pubkey *out,
    spool_err *err);
int spool_pubkey_read(const char *path, struct spool_pubkey *out,
    spool_err *err);
int spool_pubkey_write(const char *path, const struct spool_pubkey *pub,
    spool_err *err);

/* Refuses encrypted keys and keys readable by group or others. */
int spool_seckey_read(const char *path, struct spool_seckey *out,
    spool_err *err);
/* Creates path (must not exist) with mode 0600. */
int spool_seckey_write(const char *path, const struct spool_seckey *sec,
    spool_err *err);

#endif
