/*
 * error.h - the one error type of libspool.
 *
 * Every fallible function returns SPOOL_OK (0) or a negative spool code and,
 * when given a non-NULL spool_err, fills it with a one-line reason that an
 * operator can read ("cannot open 'x': No such file or directory").  The
 * library never prints and never exits: callers decide what to do.
 */
#ifndef SPOOL_ERROR_H
#define SPOOL_ERROR_H

enum {
	SPOOL_OK = 0,
	SPOOL_ERR_SYS = -1,       /* a system call failed; sys_errno is valid */
	SPOOL_ERR_NOMEM = -2,
	SPOOL_ERR_USAGE = -3,     /* caller passed a bad argument */
	SPOOL_ERR_CONFIG = -4,    /* configuration file is wrong */
	SPOOL_ERR_FORMAT = -5,    /* input is malformed */
	SPOOL_ERR_SIGNATURE = -6, /* signature missing, invalid or legacy */
	SPOOL_ERR_UNTRUSTED = -7, /* signer is not the trusted sender */
	SPOOL_ERR_LIMIT = -8,     /* input exceeds a configured bound */
	SPOOL_ERR_HASH = -9,      /* content does not match its checksum */
	SPOOL_ERR_EXISTS = -10,   /* target already exists */
	SPOOL_ERR_NOTFOUND = -11, /* named thing does not exist */
	SPOOL_ERR_CRYPTO = -12,   /* libsodium failed */
	SPOOL_ERR_COMPRESS = -13, /* zstd failed while writing */
	SPOOL_ERR_STORE = -14,    /* database backend failed */
	SPOOL_ERR_INTERNAL = -15, /* broken invariant */
	SPOOL_ERR_BUSY = -16,     /* store busy or a transaction conflicted;
				   * the same call may succeed again */
	SPOOL_ERR_LOST = -17,     /* a task's lease is no longer the caller's */
	SPOOL_ERR_CANCELLED = -18, /* the job was cancelled or expired */
	SPOOL_ERR_STATE = -19,    /* not allowed in the thing's current state */
	SPOOL_ERR__MIN = -19
};

#define SPOOL_ERR_MSG_MAX 512

typedef struct spool_err {
	int code;
	int sys_errno;
	char msg[SPOOL_ERR_MSG_MAX];
} spool_err;

/* Short generic text for a code ("signature invalid"). */
const char *spool_strerror(int code);

/* Record code and a formatted reason in e (may be NULL); return code. */
int spool_fail(spool_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* As spool_fail(SPOOL_ERR_SYS), appending ": strerror(errno)"; errno is
 * saved in e->sys_errno.  Returns SPOOL_ERR_SYS, or SPOOL_ERR_NOMEM when
 * errno is ENOMEM. */
int spool_fail_sys(spool_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prefix the existing reason with "what: " (for adding context upward). */
void spool_err_prefix(spool_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* True for codes that mean "this input failed verification" (tampered,
 * unsigned, untrusted, malformed, over a limit): exit status 3. */
int spool_err_is_verify(int code);

void spool_err_clear(spool_err *e);

#endif
