/*
 * cmd_lineage.c - spoolctl lineage ID|HASH|PATH: what a file came from
 * and what became of it, as trees (a node met again is printed once, then
 * "(see above)", so cycles end), as JSON, or as a Graphviz digraph.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "output.h"
#include "spoolctl.h"

#define TREE_DEPTH_MAX 64  /* deeper lineage is cut, and says so */

struct ledge {
	char *event_id, *event, *node, *user, *batch, *from, *to;
	int64_t time;
};

struct lent {
	char *ref, *kind, *name, *hash, *node;
	int64_t size, created;
	int shown;
};

/* Both walks: edges per direction (0 up, 1 down) in walk order, and
 * every entity met (sorted by ref once the walks are done). */
struct lgraph {
	struct ledge *e[2];
	size_t ne[2], cape[2];
	struct lent *n;
	size_t nn, capn;
	int dir;
	struct spool_store *st; /* for what a request entity adds */
};

static char *
dup0(const char *s, int *bad)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*bad = 1;
	return d;
}

static int
lg_edge(void *arg, const struct spool_lineage_edge *e)
{
	struct lgraph *g = arg;
	struct ledge *x;
	int d = g->dir, bad = 0;

	if (g->ne[d] == g->cape[d]) {
		size_t cap = g->cape[d] ? 2 * g->cape[d] : 64;
		struct ledge *v = realloc(g->e[d], cap * sizeof(*v));
		if (v == NULL)
			return SPOOL_ERR_NOMEM;
		g->e[d] = v;
		g->cape[d] = cap;
	}
	x = &g->e[d][g->ne[d]++];
	x->event_id = dup0(e->event_id, &bad);
	x->event = dup0(e->event, &bad);
	x->node = dup0(e->node, &bad);
	x->user = dup0(e->user, &bad);
	x->batch = dup0(e->batch, &bad);
	x->from = dup0(e->from, &bad);
	x->to = dup0(e->to, &bad);
	x->time = e->time;
	return bad || !x->event_id || !x->event || !x->from || !x->to ?
	    SPOOL_ERR_NOMEM : SPOOL_OK;
}

static int
lg_entity(void *arg, const struct spool_lineage_info *i)
{
	struct lgraph *g = arg;
	struct lent *x;
	int bad = 0;

	if (g->nn == g->capn) {
		size_t cap = g->capn ? 2 * g->capn : 64;
		struct lent *v = realloc(g->n, cap * sizeof(*v));
		if (v == NULL)
			return SPOOL_ERR_NOMEM;
		g->n = v;
		g->capn = cap;
	}
	x = &g->n[g->nn++];
	x->ref = dup0(i->ref, &bad);
	x->kind = dup0(i->kind, &bad);
	x->name = dup0(i->name, &bad);
	x->hash = dup0(i->hash, &bad);
	x->node = dup0(i->node, &bad);
	x->size = i->size;
	x->created = i->created;
	x->shown = 0;
	return bad || x->ref == NULL ? SPOOL_ERR_NOMEM : SPOOL_OK;
}

static void
lent_release(struct lent *x)
{
	free(x->ref);
	free(x->kind);
	free(x->name);
	free(x->hash);
	free(x->node);
}

static void
lg_free(struct lgraph *g)
{
	size_t d, i;

	for (d = 0; d < 2; d++) {
		for (i = 0; i < g->ne[d]; i++) {
			struct ledge *x = &g->e[d][i];
			free(x->event_id);
			free(x->event);
			free(x->node);
			free(x->user);
			free(x->batch);
			free(x->from);
			free(x->to);
		}
		free(g->e[d]);
	}
	for (i = 0; i < g->nn; i++)
		lent_release(&g->n[i]);
	free(g->n);
}

static int
lent_cmp(const void *a, const void *b)
{
	const struct lent *x = a, *y = b;

	return strcmp(x->ref ? x->ref : "", y->ref ? y->ref : "");
}

/* Sort the entities and keep one of each. */
static void
lg_finish(struct lgraph *g)
{
	size_t i, k = 0;

	if (g->nn > 0)
		qsort(g->n, g->nn, sizeof(*g->n), lent_cmp);
	for (i = 0; i < g->nn; i++) {
		if (k > 0 && lent_cmp(&g->n[k - 1], &g->n[i]) == 0) {
			lent_release(&g->n[i]);
			continue;
		}
		g->n[k++] = g->n[i];
	}
	g->nn = k;
}

static struct lent *
lg_find(struct lgraph *g, const char *ref)
{
	struct lent key;

	memset(&key, 0, sizeof(key));
	key.ref = (char *)ref;
	if (g->nn == 0)
		return NULL;
	return bsearch(&key, g->n, g->nn, sizeof(*g->n), lent_cmp);
}

/* Edges of one direction by the entity they hang from (down: from; up:
 * to), in walk order within each. */
struct lkey {
	const char *k;
	size_t pos;
};

static int
lkey_cmp(const void *a, const void *b)
{
	const struct lkey *x = a, *y = b;
	int c = strcmp(x->k, y->k);

	if (c != 0)
		return c;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

struct tree {
	struct lgraph *g;
	int down;
	struct lkey *ix;
	size_t nix;
	char prefix[4 * TREE_DEPTH_MAX + 1];
};

/* A request as the store here knows it: folder and user on the node
 * that took it, or where it came from (extra "" when it is not a
 * request this store has). */
static void
request_facts(struct spool_store *st, const char *ref, char *extra,
    size_t n, struct spool_request_info *ri)
{
	extra[0] = '\0';
	if (st == NULL || strncmp(ref, "request:", 8) != 0 ||
	    spool_store_request_info(st, ref + 8, ri, NULL) != SPOOL_OK)
		return;
	snprintf(extra, n, "%s %s, folder %s, user %s",
	    strcmp(ri->side, "submit") == 0 ? "to" : "from",
	    ri->peer[0] ? ri->peer : "-", ri->folder[0] ? ri->folder : "-",
	    ri->user);
}

static void
print_entity_name(const struct lgraph *g, const struct lent *x)
{
	struct spool_request_info ri;
	char extra[400];

	if (x == NULL || x->name == NULL)
		return;
	printf(" \"");
	out_put(x->name);
	putchar('"');
	request_facts(g->st, x->ref, extra, sizeof(extra), &ri);
	if (extra[0] != '\0') {
		printf(" [");
		out_put(extra);
		putchar(']');
	}
}

static void
tree_node(struct tree *t, const char *ref, size_t depth)
{
	size_t lo = 0, hi = t->nix, i, plen = strlen(t->prefix);

	/* the first key equal to ref */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(t->ix[mid].k, ref) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < t->nix && strcmp(t->ix[i].k, ref) == 0; i++) {
		const struct ledge *e = &t->g->e[t->down][t->ix[i].pos];
		const char *next = t->down ? e->to : e->from;
		struct lent *x = lg_find(t->g, next);
		int last = i + 1 >= t->nix || strcmp(t->ix[i + 1].k, ref) != 0;
		char tm[32];

		out_time(tm, e->time, 0);
		printf("%s%s%s %s %s", t->prefix, last ? "`-- " : "|-- ",
		    e->event, t->down ? "->" : "<-", next);
		print_entity_name(t->g, x);
		printf("  (node ");
		out_put(e->node);
		printf(", user ");
		out_put(e->user);
		printf(", %s", tm);
		if (e->batch != NULL)
			printf(", batch %s", e->batch);
		putchar(')');
		if (x != NULL && x->shown) {
			printf(" (see above)\n");
			continue;
		}
		putchar('\n');
		if (x != NULL)
			x->shown = 1;
		memcpy(t->prefix + plen, last ? "    " : "|   ", 5);
		if (depth + 1 >= TREE_DEPTH_MAX)
			printf("%s... (deeper links not shown)\n", t->prefix);
		else
			tree_node(t, next, depth + 1);
		t->prefix[plen] = '\0';
	}
}

static int
print_tree(struct lgraph *g, const char *root, int down)
{
	struct tree t;
	struct lent *x;
	size_t i;

	memset(&t, 0, sizeof(t));
	t.g = g;
	t.down = down;
	t.nix = g->ne[down];
	if (t.nix > 0 && (t.ix = calloc(t.nix, sizeof(*t.ix))) == NULL)
		return -1;
	for (i = 0; i < t.nix; i++) {
		t.ix[i].k = down ? g->e[down][i].from : g->e[down][i].to;
		t.ix[i].pos = i;
	}
	if (t.nix > 0)
		qsort(t.ix, t.nix, sizeof(*t.ix), lkey_cmp);
	for (i = 0; i < g->nn; i++)
		g->n[i].shown = 0;
	printf("%s:\n", down ? "descendants (what became of it)" :
	    "ancestors (what it came from)");
	printf("%s", root);
	x = lg_find(g, root);
	print_entity_name(g, x);
	putchar('\n');
	if (x != NULL)
		x->shown = 1;
	if (t.nix == 0)
		printf("    none recorded\n");
	else
		tree_node(&t, root, 0);
	free(t.ix);
	return 0;
}

static json_t *
lg_edges_json(const struct lgraph *g, int d)
{
	json_t *a = json_array(), *o;
	char tm[32];
	size_t i;

	for (i = 0; a != NULL && i < g->ne[d]; i++) {
		const struct ledge *e = &g->e[d][i];

		out_time(tm, e->time, 1);
		o = json_pack("{s:s, s:s, s:o?, s:o?, s:o?, s:s, s:s, s:s}",
		    "event_id", e->event_id, "event", e->event, "node",
		    out_jstr(e->node), "user", out_jstr(e->user), "batch",
		    out_jstr(e->batch), "time", tm, "from", e->from, "to", e->to);
		if (o == NULL || json_array_append_new(a, o) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

static int
lineage_json(const struct ctl *c, struct lgraph *g, const char *ref,
    int up, int down)
{
	json_t *doc = json_object(), *ents = json_object(), *o;
	struct spool_request_info ri;
	char tm[32], extra[400];
	size_t i;
	int bad = doc == NULL || ents == NULL;

	for (i = 0; !bad && i < g->nn; i++) {
		const struct lent *x = &g->n[i];

		out_time(tm, x->created, 1);
		o = json_pack("{s:s, s:o?, s:o?, s:o?, s:o?, s:o?, s:s}",
		    "ref", x->ref, "kind", out_jstr(x->kind), "name",
		    out_jstr(x->name), "hash", out_jstr(x->hash), "size",
		    x->size >= 0 ? json_integer(x->size) : json_null(),
		    "node", out_jstr(x->node), "created", tm);
		request_facts(g->st, x->ref, extra, sizeof(extra), &ri);
		if (o != NULL && extra[0] != '\0')
			json_object_update_new(o, json_pack("{s:s, s:o, s:o?, "
			    "s:o}", "side", ri.side, "user", out_jstr(ri.user),
			    "folder", ri.folder[0] ? out_jstr(ri.folder) :
			    json_null(), "peer", out_jstr(ri.peer)));
		if (o == NULL || json_object_set_new(ents, x->ref, o) != 0)
			bad = 1;
	}
	if (!bad && (json_object_set_new(doc, "ref", json_string(ref)) != 0 ||
	    json_object_set_new(doc, "entities", ents) != 0))
		bad = 1;
	ents = NULL;
	if (!bad && up && json_object_set_new(doc, "ancestors",
	    lg_edges_json(g, 0)) != 0)
		bad = 1;
	if (!bad && down && json_object_set_new(doc, "descendants",
	    lg_edges_json(g, 1)) != 0)
		bad = 1;
	if (bad) {
		json_decref(ents);
		json_decref(doc);
		return out_nomem(c);
	}
	return ctl_print_json(doc);
}

/* Text inside a DOT quoted string: '"' and '\' escaped, controls made
 * printable. */
static void
dot_text(const char *s)
{
	char *d = out_printable(s);
	const char *p;

	for (p = d ? d : "?"; *p; p++) {
		if (*p == '"' || *p == '\\')
			putchar('\\');
		putchar(*p);
	}
	free(d);
}

static void
dot_quote(const char *s)
{
	putchar('"');
	dot_text(s);
	putchar('"');
}

static int
eptr_cmp(const void *a, const void *b)
{
	const struct ledge *x = *(const struct ledge *const *)a;
	const struct ledge *y = *(const struct ledge *const *)b;
	int c;

	if ((c = strcmp(x->event_id, y->event_id)) != 0 ||
	    (c = strcmp(x->from, y->from)) != 0)
		return c;
	return strcmp(x->to, y->to);
}

static int
lineage_dot(const struct ctl *c, struct lgraph *g, const char *ref)
{
	const struct ledge **v;
	size_t i, n = 0, d;

	if ((v = calloc(g->ne[0] + g->ne[1] + 1, sizeof(*v))) == NULL)
		return out_nomem(c);
	for (d = 0; d < 2; d++)
		for (i = 0; i < g->ne[d]; i++)
			v[n++] = &g->e[d][i];
	qsort(v, n, sizeof(*v), eptr_cmp);
	printf("digraph lineage {\n\trankdir=LR;\n\tnode [shape=box];\n");
	for (i = 0; i < g->nn; i++) {
		const struct lent *x = &g->n[i];

		/* the label's line break is DOT's \n, not a byte */
		printf("\t");
		dot_quote(x->ref);
		printf(" [label=\"");
		dot_text(x->kind ? x->kind : "?");
		printf("\\n");
		dot_text(x->name ? x->name : x->ref + strcspn(x->ref, ":") + 1);
		putchar('"');
		if (strcmp(x->ref, ref) == 0)
			printf(", style=bold");
		printf("];\n");
	}
	for (i = 0; i < n; i++) {
		if (i > 0 && eptr_cmp(&v[i - 1], &v[i]) == 0)
			continue;
		printf("\t");
		dot_quote(v[i]->from);
		printf(" -> ");
		dot_quote(v[i]->to);
		printf(" [label=");
		dot_quote(v[i]->event);
		printf("];\n");
	}
	printf("}\n");
	free(v);
	return EXIT_OK;
}

static int
print_match(void *arg, const struct spool_lineage_match *m)
{
	char tm[32];

	(void)arg;
	out_time(tm, m->created, 0);
	fprintf(stderr, "  %s  ", m->ref);
	fflush(stderr);
	{
		/* names come from users and peers: made printable */
		char *p = out_printable(m->name ? m->name : "");
		char *d = out_printable(m->detail);

		fprintf(stderr, "\"%s\"  %s, %s\n", p ? p : "?", d ? d : "?",
		    tm);
		free(p);
		free(d);
	}
	return SPOOL_OK;
}

int
ctl_resolve(struct ctl *c, struct spool_store *st, const char *arg,
    char ref[SPOOL_REF_MAX])
{
	char path[PATH_MAX];
	spool_err err;
	size_t n = 0;
	struct stat sb;
	int r;

	/* a path under the root, as status files and receipts name them
	 * (delivered/low/x.tif), from wherever the command runs */
	if (stat(arg, &sb) != 0 && arg[0] != '/' &&
	    spool_node_path(c->node, path, sizeof(path), arg) == 0 &&
	    stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
		arg = path;
	spool_err_clear(&err);
	if ((r = spool_lineage_resolve(st, arg, ref, &err)) == SPOOL_OK)
		return EXIT_OK;
	r = out_fail(c, &err);
	if (err.code == SPOOL_ERR_USAGE &&
	    spool_lineage_named(st, arg, NULL, NULL, &n, NULL) == SPOOL_OK &&
	    n > 1) {
		fprintf(stderr, "spoolctl: %s: candidates:\n", c->cmd);
		spool_lineage_named(st, arg, print_match, NULL, &n, NULL);
		if (n > 100)
			fprintf(stderr, "  ... and %zu more\n", n - 100);
	}
	return r;
}

int
cmd_lineage(struct ctl *c)
{
	struct spool_store *st = NULL;
	struct lgraph g;
	char ref[SPOOL_REF_MAX];
	const char *arg = NULL;
	spool_err err;
	int up = c->opt[OPT_UP] != NULL, down = c->opt[OPT_DOWN] != NULL;
	int dot = c->opt[OPT_DOT] != NULL, r, status = EXIT_OK;

	if (c->argc != 1)
		return ctl_usage(c, NULL);
	arg = c->argv[0];
	if (dot && c->json)
		return ctl_fail(c, SPOOL_ERR_USAGE, "give --dot or --json, not "
		    "both");
	if (!up && !down)
		up = down = 1;
	if ((status = out_store_open(c, &st)) != EXIT_OK)
		return status;
	memset(&g, 0, sizeof(g));
	spool_err_clear(&err);
	if ((status = ctl_resolve(c, st, arg, ref)) != EXIT_OK)
		goto out;
	g.st = st;
	r = SPOOL_OK;
	if (up) {
		g.dir = 0;
		r = spool_lineage_walk(st, ref, SPOOL_LINEAGE_UP, lg_edge,
		    lg_entity, &g, &err);
	}
	if (r == SPOOL_OK && down) {
		g.dir = 1;
		r = spool_lineage_walk(st, ref, SPOOL_LINEAGE_DOWN, lg_edge,
		    lg_entity, &g, &err);
	}
	if (r != SPOOL_OK) {
		status = out_fail(c, &err);
		goto out;
	}
	lg_finish(&g);
	if (dot)
		status = lineage_dot(c, &g, ref);
	else if (c->json)
		status = lineage_json(c, &g, ref, up, down);
	else {
		struct lent *x = lg_find(&g, ref);

		printf("lineage of %s", ref);
		print_entity_name(&g, x);
		if (x != NULL && x->size >= 0)
			printf(", %" PRId64 " bytes", x->size);
		if (x != NULL && x->node != NULL) {
			printf(", first seen on ");
			out_put(x->node);
		}
		printf("\n");
		if (up) {
			putchar('\n');
			if (print_tree(&g, ref, 0) != 0)
				status = out_nomem(c);
		}
		if (down && status == EXIT_OK) {
			putchar('\n');
			if (print_tree(&g, ref, 1) != 0)
				status = out_nomem(c);
		}
	}
out:
	lg_free(&g);
	spool_store_close(st);
	return status;
}
