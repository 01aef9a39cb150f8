/*
 * util.c - small helpers of the raster worker: JSON numbers that are
 * never inf or NaN, strings that are always UTF-8, JSON files in out/, content hashes, config sizes.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "raster.h"
#include "spool/base/hash.h"
#include "spool/base/util.h"

json_t *
jnum(double v)
{
	if (!isfinite(v))
		return json_null();
	/* integral values stay integers (nodata 0, sizes, EPSG-like) */
	if (v == floor(v) && fabs(v) < 9007199254740992.0)
		return json_integer((json_int_t)v);
	return json_real(v);
}

json_t *
jnodata(double v)
{
	if (isnan(v))
		return json_string("nan");
	if (isinf(v))
		return json_string(v > 0 ? "inf" : "-inf");
	return jnum(v);
}

json_t *
jtext(const char *s)
{
	json_t *j;
	char *buf;
	size_t n;

	if (s == NULL)
		return json_null();
	if ((j = json_string(s)) != NULL)
		return j;
	/* not UTF-8 (a GeoTIFF citation in Latin-1, say): bytes as \xNN */
	n = strlen(s) * 4 + 1;
	if ((buf = malloc(n)) == NULL)
		return json_null();
	j = json_string(spool_text_utf8(buf, n, s));
	free(buf);
	return j ? j : json_null();
}

int
rwrite_json(struct spool_worker_task *t, const char *name, json_t *o)
{
	char path[RASTER_PATH], tmp[RASTER_PATH];
	int r;

	snprintf(path, sizeof(path), "out/%s", name);
	snprintf(tmp, sizeof(tmp), "tmp/%s.json-tmp", name);
	if (o == NULL)
		return spool_worker_fail(t, 0, "cannot build %s: out of memory",
		    name);
	r = json_dump_file(o, tmp, JSON_INDENT(2) | JSON_REAL_PRECISION(17) |
	    JSON_ENSURE_ASCII);
	if (r != 0 || rename(tmp, path) != 0) {
		int e = errno;

		unlink(tmp);
		return spool_worker_fail(t, e != ENOSPC ? 1 : 0,
		    "cannot write %s: %s", name, strerror(e));
	}
	return 0;
}

int
rhash_file(const char *path, char hex[65], uint64_t *size)
{
	uint8_t h[SPOOL_HASH_LEN];
	spool_err err;
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	memset(&err, 0, sizeof(err));
	r = spool_hash_fd(fd, h, size, &err);
	close(fd);
	if (r != 0)
		return -1;
	spool_hex(hex, h, sizeof(h));
	return 0;
}

int64_t
rcfg_size(const json_t *cfg, const char *key, int64_t dflt)
{
	const json_t *v = json_object_get(cfg, key);
	const char *s;
	char *end;
	double n;

	if (v == NULL || json_is_null(v))
		return dflt;
	if (json_is_integer(v))
		return json_integer_value(v) > 0 ? json_integer_value(v) : dflt;
	if (json_is_real(v))
		return json_real_value(v) > 0 ? (int64_t)json_real_value(v) :
		    dflt;
	if ((s = json_string_value(v)) == NULL)
		return dflt;
	n = strtod(s, &end);
	if (end == s || n <= 0)
		return dflt;
	switch (*end) {
	case 'K': case 'k': n *= 1024.0; end++; break;
	case 'M': case 'm': n *= 1048576.0; end++; break;
	case 'G': case 'g': n *= 1073741824.0; end++; break;
	case 'T': case 't': n *= 1099511627776.0; end++; break;
	default: break;
	}
	if (*end == 'i' || *end == 'B')
		end++;
	if (*end == 'B')
		end++;
	return *end == '\0' ? (int64_t)n : dflt;
}

void
rnow(char out[32])
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
rstem(const char *name, char *out, size_t n)
{
	const char *dot = strrchr(name, '.');
	size_t len = dot && dot != name ? (size_t)(dot - name) : strlen(name);

	if (len >= n)
		len = n - 1;
	memcpy(out, name, len);
	out[len] = '\0';
}

int
rfile_exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}
