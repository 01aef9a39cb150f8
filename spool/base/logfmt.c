/*
 * logfmt.c - quoting log values, checking workers' event lines.
 */
#include <stdio.h>
#include <string.h>

#include "spool/base/logfmt.h"

static int
bare_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("_./:@+,-", c));
}

const char *
spool_logq(char *buf, size_t n, const char *s)
{
	const char *p;
	size_t o = 0;

	if (s == NULL)
		return "-";
	for (p = s; *p; p++)
		if (!bare_char((unsigned char)*p))
			break;
	if (*p == '\0' && p != s)
		return s;
	buf[o++] = '"';
	for (p = s; *p && o + 5 < n; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(buf + o, n - o, "\\x%02x", c);
		} else
			buf[o++] = (char)c;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

static int
hex_digit(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* The value at *pp, bare or quoted as spool_logq writes it; *pp past
 * it.  0 if it is neither. */
static int
value(const char **pp)
{
	const char *p = *pp;

	if (*p != '"') {
		if (!bare_char((unsigned char)*p))
			return 0;
		while (bare_char((unsigned char)*p))
			p++;
		*pp = p;
		return 1;
	}
	for (p++; *p != '"'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c == 0x7f)
			return 0; /* the end of the line among them */
		if (c != '\\')
			continue;
		if (p[1] == '"' || p[1] == '\\')
			p++;
		else if (p[1] == 'x' && hex_digit(p[2]) && hex_digit(p[3]))
			p += 3;
		else
			return 0;
	}
	*pp = p + 1;
	return 1;
}

static int
is_name(const char *p, size_t n, const char *name)
{
	return strlen(name) == n && strncmp(p, name, n) == 0;
}

static int
own_event(const char *name, size_t n, const char *kind)
{
	size_t k = strlen(kind);

	if (k > 0 && n > k + 1 && strncmp(name, kind, k) == 0 &&
	    name[k] == '_')
		return 1;
	return (n > 7 && strncmp(name, "worker_", 7) == 0) ||
	    is_name(name, n, "gdal") || (n > 5 && strncmp(name, "gdal_", 5) == 0);
}

int
spool_logline_take(char *line, const char *kind, int *level)
{
	static const char *const levels[] = { "err", "warning", "notice",
		"info", "debug", "error" };
	static const char *const reserved[] = { "time", "level", "node",
		"kind", "pid", "event" };
	const char *p = line, *name, *lv = NULL, *lvend = NULL;
	size_t n, i;

	*level = -1;
	if (strncmp(p, "event=", 6) != 0)
		return 0;
	name = p += 6;
	while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
	    *p == '_' || *p == '-')
		p++;
	if (!own_event(name, (size_t)(p - name), kind))
		return 0;
	while (*p == ' ') {
		const char *key = ++p, *v;

		while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '_')
			p++;
		n = (size_t)(p - key);
		if (n == 0 || *p++ != '=')
			return 0;
		v = p;
		if (!value(&p))
			return 0;
		if (is_name(key, n, "level")) {
			if (lv != NULL)
				return 0;
			for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
				if (is_name(v, (size_t)(p - v), levels[i]))
					break;
			if (i == sizeof(levels) / sizeof(levels[0]))
				return 0;
			*level = (int)i;
			lv = key - 1;
			lvend = p;
			continue;
		}
		for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
			if (is_name(key, n, reserved[i]))
				return 0;
	}
	if (*p != '\0')
		return 0;
	if (lv != NULL)
		memmove(line + (lv - line), lvend, strlen(lvend) + 1);
	return 1;
}
