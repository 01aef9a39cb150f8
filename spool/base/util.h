/*
 * util.h - small shared helpers: UUIDv7 ids, RFC 3339 times, names.
 */
#ifndef SPOOL_UTIL_H
#define SPOOL_UTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SPOOL_UUID_LEN 36
#define SPOOL_TIME_LEN 20 /* "2026-11-23T11:00:00Z" */

/* n unpredictable bytes for names and ids (not for keys): from a small
 * per-thread pool refilled by the kernel's CSPRNG, so that a burst of ids
 * costs one getrandom() per few dozen, not one each.  A forked child
 * never repeats its parent's bytes. */
void spool_random(void *p, size_t n);

/* pthread_create, with every signal blocked in the new thread: a
 * library's helper thread must never be the one a process-directed
 * signal (SIGCHLD, SIGTERM) lands in, or a daemon reading its signals
 * from a signalfd would never see it.  0 or an errno value. */
int spool_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

/* A new UUIDv7 (RFC 9562): 48-bit ms timestamp, random rest. */
void spool_uuid7(char out[SPOOL_UUID_LEN + 1]);
int spool_uuid_ok(const char *s);

/* UTC "YYYY-MM-DDTHH:MM:SSZ". */
void spool_time_format(char out[SPOOL_TIME_LEN + 1], time_t t);
/* Parses what spool_time_format writes (fractions allowed); -1 if bad. */
int spool_time_parse(const char *s, time_t *out);

#define SPOOL_NAME_MAX 32 /* node names: [a-z0-9]{1,32} */
/* [a-z0-9]{1,32}: 1 if s is a node name, else 0 */
int spool_node_name_ok(const char *s);

/* An item name: one path component of 1..255 bytes, not "." or "..",
 * no '/', NUL or control characters, valid UTF-8. */
int spool_item_name_ok(const char *s);

/* "name" -> "name (N).ext" style alternatives for N >= 2; out gets the
 * candidate for n (n == 1 gives name itself).  The stem is shortened (at a
 * character boundary) so the result stays within 255 bytes. */
int spool_name_variant(char *out, size_t outsz, const char *name,
    unsigned n);
/* "name (tag).ext", shortened the same way: a unique tag (a request
 * id) settles a name taken in one step. */
int spool_name_variant_tag(char *out, size_t outsz, const char *name,
    const char *tag);
/* name with its stem shortened (extension kept) to at most max bytes:
 * room for a suffix such as ".error.json" within 255. */
int spool_name_fit(char *out, size_t outsz, const char *name, size_t max);
/* s when it is valid UTF-8 (or NULL), else a copy in buf with every byte
 * that is not printable ASCII written \xNN: a name or reason from outside
 * that a JSON string can hold. */
const char *spool_text_utf8(char *buf, size_t n, const char *s);
/* s made one line a JSON string can hold, in place: control characters
 * become spaces, bytes that start no UTF-8 character '?', and a text
 * longer than max bytes (at least 4) is cut on a character boundary and
 * ends "...".  Returns its new length. */
size_t spool_text_line(char *s, size_t max);
/* A size for people: "512 bytes", "1.5 MiB", "100.0 GiB". */
void spool_size_str(char *out, size_t n, uint64_t v);
/* Milliseconds of CLOCK_MONOTONIC: what schedules run on (a step of the
 * wall clock changes nothing); never persisted. */
int64_t spool_mono_ms(void);
/* "name.partNNNNNN" (0-based index), shortened the same way. */
int spool_name_part(char *out, size_t outsz, const char *name,
    unsigned index);

/* Split the next LF- (or CRLF-) terminated line off *p (the line is
 * *line, *n bytes, without its terminator); -1 at end. */
int spool_next_line(const char **p, const char *end, const char **line,
    size_t *n);
/* Standard base64 of exactly want bytes; -1 otherwise. */
int spool_b64_exact(uint8_t *out, size_t want, const char *s, size_t n);

#endif
