/*
 * inbox_place.c - where an imported pair goes: the verified bytes into
 * archive/received/ (and the pair out of import/), or the pair into
 * quarantine/ with NAME.reason.json and a record in the store.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool/base/error.h"
#include "spool/base/fsutil.h"
#include "spool/base/hash.h"
#include "spool/base/util.h"
#include "spool/flow/daemon.h"
#include "spool/flow/daemon_impl.h"
#include "spool/flow/inbox_place.h"
#include "spool/format/minisig.h"
#include "spool/node/node.h"
#include "spool/store/batchlog.h"
#include "spool/store/store.h"

/* What the trusted comment says, if the .minisig parses (for the
 * quarantine record; nothing is trusted from it). */
static int
facts_of(const char *sig, struct spool_batch_facts *f)
{
	struct spool_minisig m;

	return spool_minisig_read(sig, &m, NULL) == SPOOL_OK &&
	    spool_facts_parse(m.trusted, f, NULL) == SPOOL_OK;
}

/* Move the pair to quarantine/ with NAME.reason.json; record it. */
void
spool_inbox_quarantine(struct spool_daemon *d, const char *dir,
    const char *name, const char *why)
{
	struct spool_batch_facts fs;
	const struct spool_batch_facts *f = &fs;
	char qdir[PATH_MAX], base[NAME_MAX + 1], cand[NAME_MAX + 1];
	char src[PATH_MAX + NAME_MAX + 16], dst[PATH_MAX + NAME_MAX + 32];
	char now[32], row[SPOOL_ID_MAX];
	char nbuf[NAME_MAX * 4 + 1], wbuf[SPOOL_ERR_MSG_MAX * 4 + 1];
	size_t n = strlen(name);
	unsigned k;
	struct stat sb;
	json_t *doc;
	char *text;
	spool_err e;
	int known;

	/* what its signature file says of it, nothing trusted */
	snprintf(src, sizeof(src), "%s/%s.minisig", dir, name);
	known = facts_of(src, &fs);
	spool_node_path(d->node, qdir, sizeof(qdir), "quarantine");
	snprintf(base, sizeof(base), "%.*s", (int)(n > 6 ? n - 6 : n), name);
	/* the name, NAME.2, then NAME.<random>: a batch quarantined again
	 * and again costs a few lstat calls, not a search */
	for (k = 1; k <= 3; k++) {
		if (k == 1)
			snprintf(cand, sizeof(cand), "%.200s", base);
		else if (k == 2)
			snprintf(cand, sizeof(cand), "%.200s.2", base);
		else {
			uint8_t rnd[6];
			char hex[13];

			spool_random(rnd, sizeof(rnd));
			spool_hex(hex, rnd, sizeof(rnd));
			snprintf(cand, sizeof(cand), "%.200s.%s", base, hex);
		}
		snprintf(dst, sizeof(dst), "%s/%s.batch", qdir, cand);
		if (lstat(dst, &sb) != 0)
			break;
	}
	spool_time_ms(now, spool_now_ms());
	/* a name or reason from outside may not be UTF-8: written \xNN, so
	 * the refusal always has its reason.json */
	doc = json_pack("{s:s, s:s, s:s}", "name", spool_text_utf8(nbuf,
	    sizeof(nbuf), name), "reason", spool_text_utf8(wbuf, sizeof(wbuf),
	    why), "time", now);
	if (doc != NULL && known) {
		json_object_set_new(doc, "from", json_string(f->from));
		json_object_set_new(doc, "seq", json_integer((json_int_t)f->seq));
		json_object_set_new(doc, "id", json_string(f->id));
	}
	text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
	json_decref(doc);
	snprintf(dst, sizeof(dst), "%s/%s.reason.json", qdir, cand);
	if (text == NULL)
		spool_daemon_log(d, "event=error what=quarantine name=%s "
		    "reason=\"out of memory for its reason.json\"", LQ(name));
	else if (spool_write_file_atomic(dst, text, strlen(text), 0644, &e) !=
	    SPOOL_OK)
		spool_daemon_log(d, "event=error what=quarantine name=%s "
		    "reason=%s", LQ(name), LQ(e.msg));
	free(text);
	snprintf(src, sizeof(src), "%s/%s", dir, name);
	snprintf(dst, sizeof(dst), "%s/%s.batch", qdir, cand);
	if (spool_rename_noreplace(src, dst, &e) != SPOOL_OK && errno != ENOENT)
		spool_daemon_log(d, "event=error what=quarantine name=%s "
		    "reason=%s", LQ(name), LQ(e.msg));
	snprintf(src, sizeof(src), "%s/%s.minisig", dir, name);
	snprintf(dst, sizeof(dst), "%s/%s.batch.minisig", qdir, cand);
	spool_rename_noreplace(src, dst, &e);
	spool_fsync_dir(qdir, NULL);
	spool_fsync_dir(dir, NULL);
	if (spool_store_batch_quarantined(d->st, spool_text_utf8(nbuf,
	    sizeof(nbuf), name), known ? f->from : NULL, known ? f->seq : 0,
	    known ? f->id : NULL, spool_text_utf8(wbuf, sizeof(wbuf), why),
	    row, &e) != SPOOL_OK)
		spool_daemon_log(d, "event=error what=quarantine name=%s "
		    "reason=%s", LQ(name), LQ(e.msg));
	d->quarantined++;
	spool_daemon_log(d, "event=quarantined batch=%s reason=%s", LQ(name),
	    LQ(why));
}

/* Keep the verified copy ("": the batch file itself, verified in place)
 * in archive/received/, then remove the pair. */
int
spool_inbox_archive(struct spool_daemon *d, const char *dir, const char *name,
    const char *copy, spool_err *err)
{
	char dst[PATH_MAX + NAME_MAX + 16], src[PATH_MAX + NAME_MAX + 16];
	char adir[PATH_MAX];
	int r;

	spool_node_path(d->node, adir, sizeof(adir), "archive/received");
	snprintf(dst, sizeof(dst), "%s/%s.minisig", adir, name);
	snprintf(src, sizeof(src), "%s/%s.minisig", dir, name);
	{
		/* bounded, regular, no FIFO can hold the daemon here */
		char *text = NULL;
		size_t len;

		if ((r = spool_read_file(src, SPOOL_MINISIG_MAX, &text, &len,
		    err)) != SPOOL_OK)
			return r;
		r = spool_write_file_atomic(dst, text, len, 0444, err);
		free(text);
		if (r != SPOOL_OK && r != SPOOL_ERR_EXISTS)
			return r;
	}
	snprintf(dst, sizeof(dst), "%s/%s", adir, name);
	if (copy[0] == '\0') {
		/* verified in place: the file itself, under a second name
		 * until the pair leaves import/ (a crash in between leaves
		 * the pair to be seen again, as a duplicate) */
		snprintf(src, sizeof(src), "%s/%s", dir, name);
		r = spool_keep_file(src, dst, err);
	} else if ((r = spool_rename_noreplace(copy, dst, err)) ==
	    SPOOL_ERR_EXISTS)
		unlink(copy); /* the same batch is archived already */
	if (r != SPOOL_OK && r != SPOOL_ERR_EXISTS)
		return r;
	spool_fsync_dir(adir, NULL);
	spool_drop_cache(-1, dst); /* archived: not read again */
	snprintf(src, sizeof(src), "%s/%s.minisig", dir, name);
	unlink(src);
	snprintf(src, sizeof(src), "%s/%s", dir, name);
	unlink(src);
	return spool_fsync_dir(dir, err);
}

