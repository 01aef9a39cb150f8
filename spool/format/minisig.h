/*
 * minisig.h - minisign signature files, prehashed mode only.
 *
 * A .minisig is four lines: an untrusted comment; base64("ED" || key_id ||
 * Ed25519(BLAKE2b-512(file))); "trusted comment: TEXT"; base64(Ed25519(sig
 * || TEXT)).  spool's TEXT is the batch facts line
 *   spool-batch v1 from=F to=T seq=N id=UUID items=N bytes=N tar=N created=TIME
 * Parsing is bounded (SPOOL_MINISIG_MAX) and happens before verification:
 * it is the only untrusted text spool reads before a signature check.
 */
#ifndef SPOOL_MINISIG_H
#define SPOOL_MINISIG_H

#include <stddef.h>
#include <stdint.h>

#include "spool/base/error.h"
#include "spool/base/util.h"
#include "spool/keys/key.h"

#define SPOOL_MINISIG_MAX 4096
#define SPOOL_TRUSTED_MAX 1024
#define SPOOL_SEQ_MAX 9999999999ULL

struct spool_minisig {
	uint8_t keyid[SPOOL_KEYID_LEN];
	uint8_t sig[64];
	char trusted[SPOOL_TRUSTED_MAX + 1];
	uint8_t global_sig[64];
};

/* The facts a batch's trusted comment carries. */
struct spool_batch_facts {
	char from[SPOOL_NAME_MAX + 1];
	char to[SPOOL_NAME_MAX + 1];
	uint64_t seq;
	char id[SPOOL_UUID_LEN + 1];
	uint64_t items;
	uint64_t bytes;
	uint64_t tar;
	char created[SPOOL_TIME_LEN + 1];
};

/* Strict parse of a .minisig's text.  A legacy ("Ed") signature is
 * SPOOL_ERR_SIGNATURE; anything malformed SPOOL_ERR_FORMAT. */
int spool_minisig_parse(const char *text, size_t len, struct spool_minisig *out,
    spool_err *err);
/* Read path (at most SPOOL_MINISIG_MAX bytes) and parse it. */
int spool_minisig_read(const char *path, struct spool_minisig *out,
    spool_err *err);
/* Check both signatures with pk over prehash (BLAKE2b-512 of the file).
 * Does not check the key id: the caller chose pk by it. */
int spool_minisig_verify(const struct spool_minisig *m,
    const struct spool_pubkey *pk, const uint8_t prehash[64], spool_err *err);
/* Check only the global signature (over the signature and the trusted
 * comment) with pk: the comment's facts are the signer's, whatever file
 * they come with.  Needs no byte of the batch. */
int spool_minisig_verify_comment(const struct spool_minisig *m,
    const struct spool_pubkey *pk, spool_err *err);
/* Sign prehash, producing the complete file text in out. */
int spool_minisig_sign(const struct spool_seckey *sk,
    const uint8_t prehash[64], const char *trusted, const char *untrusted,
    char *out, size_t outsz, spool_err *err);

/* The trusted comment of a batch, and its strict inverse. */
int spool_facts_format(const struct spool_batch_facts *f, char *out,
    size_t outsz);
int spool_facts_parse(const char *trusted, struct spool_batch_facts *out,
    spool_err *err);
/* "<from>-<to>-<seq:010>.batch" */
int spool_batch_name(char *out, size_t outsz, const char *from, const char *to,
    uint64_t seq);

#endif
