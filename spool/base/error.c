/*
 * error.c - error codes and one-line reasons.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "spool/base/error.h"

static const char *const texts[] = {
	[0] = "success",
	[1] = "system error",
	[2] = "out of memory",
	[3] = "bad argument",
	[4] = "configuration error",
	[5] = "malformed input",
	[6] = "signature invalid",
	[7] = "untrusted signer",
	[8] = "limit exceeded",
	[9] = "checksum mismatch",
	[10] = "already exists",
	[11] = "not found",
	[12] = "cryptography failure",
	[13] = "compression failure",
	[14] = "store failure",
	[15] = "internal error",
	[16] = "store busy",
	[17] = "lease lost",
	[18] = "cancelled",
	[19] = "not allowed in this state",
};

const char *
spool_strerror(int code)
{
	if (code > 0 || code < SPOOL_ERR__MIN)
		return "unknown error";
	return texts[-code];
}

void
spool_err_clear(spool_err *e)
{
	if (e == NULL)
		return;
	e->code = SPOOL_OK;
	e->sys_errno = 0;
	e->msg[0] = '\0';
}

static void
vset(spool_err *e, int code, const char *fmt, va_list ap)
{
	e->code = code;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
}

int
spool_fail(spool_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (e == NULL)
		return code;
	va_start(ap, fmt);
	vset(e, code, fmt, ap);
	va_end(ap);
	e->sys_errno = 0;
	return code;
}

int
spool_fail_sys(spool_err *e, const char *fmt, ...)
{
	int saved = errno;
	int code = saved == ENOMEM ? SPOOL_ERR_NOMEM : SPOOL_ERR_SYS;
	va_list ap;
	size_t n;

	if (e == NULL) {
		errno = saved;
		return code;
	}
	va_start(ap, fmt);
	vset(e, code, fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(saved));
	e->sys_errno = saved;
	errno = saved;
	return code;
}

void
spool_err_prefix(spool_err *e, const char *fmt, ...)
{
	char head[SPOOL_ERR_MSG_MAX], both[2 * SPOOL_ERR_MSG_MAX + 2];
	va_list ap;

	if (e == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	snprintf(both, sizeof(both), "%s: %s", head, e->msg);
	/* a long reason is cut, never overflowed */
	memcpy(e->msg, both, sizeof(e->msg) - 1);
	e->msg[sizeof(e->msg) - 1] = '\0';
}

int
spool_err_is_verify(int code)
{
	switch (code) {
	case SPOOL_ERR_FORMAT:
	case SPOOL_ERR_SIGNATURE:
	case SPOOL_ERR_UNTRUSTED:
	case SPOOL_ERR_LIMIT:
	case SPOOL_ERR_HASH:
		return 1;
	default:
		return 0;
	}
}
