/*
 * phash.c - one worker thread, one chunk in flight at a time.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "spool/base/error.h"
#include "spool/base/fsutil.h"
#include "spool/base/hash.h"
#include "spool/base/phash.h"
#include "spool/base/util.h"

/* Below this a thread hand-off costs more than it saves. */
#define INLINE_MAX (32u << 10)

struct spool_phash {
	spool_hasher h;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	const void *buf;
	size_t n;
	int busy;    /* a chunk is submitted and not yet hashed */
	int quit;
	int threaded;
};

static void *
worker(void *arg)
{
	struct spool_phash *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->busy && !p->quit)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->quit)
			break;
		pthread_mutex_unlock(&p->mu);
		spool_hasher_update(&p->h, p->buf, p->n);
		pthread_mutex_lock(&p->mu);
		p->busy = 0;
		pthread_cond_broadcast(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int
spool_phash_new(struct spool_phash **out, spool_err *err)
{
	struct spool_phash *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->threaded = spool_thread_start(&p->thread, worker, p) == 0;
	*out = p;
	return SPOOL_OK;
}

void
spool_phash_init(struct spool_phash *p, size_t outlen)
{
	spool_phash_wait(p);
	spool_hasher_init(&p->h, outlen);
}

void
spool_phash_submit(struct spool_phash *p, const void *buf, size_t n)
{
	spool_phash_wait(p);
	if (!p->threaded || n <= INLINE_MAX) {
		spool_hasher_update(&p->h, buf, n);
		return;
	}
	pthread_mutex_lock(&p->mu);
	p->buf = buf;
	p->n = n;
	p->busy = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

void
spool_phash_wait(struct spool_phash *p)
{
	if (!p->threaded)
		return;
	pthread_mutex_lock(&p->mu);
	while (p->busy)
		pthread_cond_wait(&p->cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

void
spool_phash_final(struct spool_phash *p, uint8_t *out)
{
	spool_phash_wait(p);
	spool_hasher_final(&p->h, out);
}

void
spool_phash_free(struct spool_phash *p)
{
	if (p == NULL)
		return;
	if (p->threaded) {
		pthread_mutex_lock(&p->mu);
		p->quit = 1;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->thread, NULL);
	}
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}

/* Big enough that a read costs little next to its hashing, small enough
 * to stay in the cache while it is hashed. */
#define FD_CHUNK (1u << 18)

int
spool_phash_fd(struct spool_phash *p, int fd, const char *path,
    int copy_fd, const char *copy_path, uint64_t max, size_t outlen,
    uint8_t *out, uint64_t *size, spool_err *err)
{
	uint8_t *buf, *cur;
	uint64_t total = 0;
	int half = 0, r = SPOOL_OK;
	ssize_t n;

	/* two halves: one is hashed while the next is read */
	if ((buf = malloc(2 * (size_t)FD_CHUNK)) == NULL)
		return spool_fail(err, SPOOL_ERR_NOMEM, "out of memory");
	spool_phash_init(p, outlen);
	for (;;) {
		cur = buf + (size_t)half * FD_CHUNK;
		n = read(fd, cur, FD_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = spool_fail_sys(err, "cannot read '%s'", path);
			break;
		}
		if (n == 0)
			break;
		total += (uint64_t)n;
		if (total > max) {
			r = spool_fail(err, SPOOL_ERR_LIMIT, "'%s' is over the "
			    "%" PRIu64 " byte limit", path, max);
			break;
		}
		if (copy_fd < 0) {
			/* nothing to overlap with: reading from the cache
			 * costs little next to hashing, a hand-off to the
			 * thread and back costs more than it saves */
			spool_hasher_update(&p->h, cur, (size_t)n);
			continue;
		}
		spool_phash_submit(p, cur, (size_t)n); /* waits for the other */
		if ((r = spool_write_all(copy_fd, cur, (size_t)n, err)) !=
		    SPOOL_OK) {
			spool_err_prefix(err, "'%s'", copy_path);
			break;
		}
		half ^= 1;
	}
	spool_phash_final(p, out); /* also: never free a buffer being hashed */
	free(buf);
	if (r == SPOOL_OK && size != NULL)
		*size = total;
	return r;
}
