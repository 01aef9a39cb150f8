/*
 * pair.c - the two files of a batch, and when they are complete.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "spool/base/util.h"
#include "spool/format/pair.h"

static int
ends_with(const char *s, const char *end)
{
	size_t n = strlen(s), e = strlen(end);

	return n > e && strcmp(s + n - e, end) == 0;
}

int
spool_pair_is_batch(const char *name)
{
	return name[0] != '.' && ends_with(name, SPOOL_BATCH_EXT);
}

int
spool_pair_batch_of(const char *name, char *out, size_t n)
{
	size_t l = strlen(name);

	if (ends_with(name, SPOOL_BATCH_EXT SPOOL_SIG_EXT))
		l -= strlen(SPOOL_SIG_EXT);
	else if (!ends_with(name, SPOOL_BATCH_EXT))
		return 0;
	return snprintf(out, n, "%.*s", (int)l, name) < (int)n;
}

int
spool_pair_sig_path(char *out, size_t n, const char *batch_path)
{
	return snprintf(out, n, "%s" SPOOL_SIG_EXT, batch_path) < (int)n ? 0 :
	    -1;
}

int
spool_pair_complete(const char *batch_path)
{
	char sig[PATH_MAX + 16];
	struct stat sb;

	if (spool_pair_sig_path(sig, sizeof(sig), batch_path) != 0)
		return 0;
	return lstat(sig, &sb) == 0 && lstat(batch_path, &sb) == 0;
}

int
spool_pair_complete_in(const char *stem,
    int (*has)(void *arg, const char *name), void *arg)
{
	char sig[NAME_MAX + 1];

	if (snprintf(sig, sizeof(sig), "%s" SPOOL_BATCH_EXT SPOOL_SIG_EXT,
	    stem) >= (int)sizeof(sig))
		return 0;
	return has(arg, sig);
}

int
spool_batch_stem_parse(const char *stem, char *from, char *to,
    uint64_t *seq)
{
	const char *d1, *d2, *p;
	uint64_t v = 0;
	size_t i;

	if ((d1 = strchr(stem, '-')) == NULL ||
	    (d2 = strchr(d1 + 1, '-')) == NULL)
		return 0;
	if (d1 == stem || d1 - stem > SPOOL_NAME_MAX || d2 == d1 + 1 ||
	    d2 - d1 - 1 > SPOOL_NAME_MAX || strlen(d2 + 1) != 10)
		return 0;
	for (p = stem; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    (*p == '-' && (p == d1 || p == d2))))
			return 0;
	for (i = 0, p = d2 + 1; i < 10; i++, p++)
		if (*p < '0' || *p > '9')
			return 0;
		else
			v = v * 10 + (uint64_t)(*p - '0');
	if (from != NULL)
		snprintf(from, SPOOL_NAME_MAX + 1, "%.*s", (int)(d1 - stem),
		    stem);
	if (to != NULL)
		snprintf(to, SPOOL_NAME_MAX + 1, "%.*s", (int)(d2 - d1 - 1),
		    d1 + 1);
	if (seq != NULL)
		*seq = v;
	return 1;
}
