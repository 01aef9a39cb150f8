/*
 * sandbox.h - what a worker process may touch (docs/DECISIONS.md,
 * "Workers").
 *
 * Two halves.  spoold, between fork and exec of a worker, applies what
 * needs privilege or must hold before the worker's first instruction:
 * rlimits, no-new-privileges, a new network namespace, an unprivileged
 * uid (spool_sandbox_child).  The worker, once it has loaded its
 * libraries and drivers, locks itself in (spool_sandbox_enter): Landlock
 * (files: read-only system paths, its inputs; read-write only its own
 * out/ and tmp/; TCP: nothing, or the one server it may reach) and a
 * seccomp filter (no sockets unless it needs a database, no new
 * processes, no exec, no ptrace).
 */
#ifndef SPOOL_SANDBOX_H
#define SPOOL_SANDBOX_H

#include <stdint.h>
#include <sys/types.h>

#define SPOOL_SANDBOX_MAX_PATHS 16

/* The worker's half. */
struct spool_sandbox {
	unsigned needs;     /* SPOOL_SANDBOX_NET (worker.h) */
	const char *area;   /* the work area: in/ read-only, out/ tmp/ rw */
	const char *read[SPOOL_SANDBOX_MAX_PATHS]; /* more read-only paths */
	int nread;
	const char *net[SPOOL_SANDBOX_MAX_PATHS]; /* NET: "PORT" or
			     * "HOST:PORT" of the TCP servers it may reach
			     * (none: Unix sockets only) */
	int nnet;
};

/* Lock the calling process in.  Returns 0, or -1 with *why (malloc'd)
 * set.  What the kernel cannot do (no Landlock, or an ABI without TCP
 * rules) is left to the other layers (spool_landlock_abi() tells). */
int spool_sandbox_enter(const struct spool_sandbox *sb, char **why);

/* spoold's half, in the child between fork and exec. */
struct spool_sandbox_limits {
	uint64_t memory;     /* RLIMIT_AS bytes (0: none) */
	uint64_t cpu_s;      /* RLIMIT_CPU seconds (0: none) */
	uint64_t fsize;      /* RLIMIT_FSIZE bytes (0: none) */
	uint64_t nofile;     /* RLIMIT_NOFILE (0: 256) */
	int new_netns;       /* unshare(CLONE_NEWNET) when permitted */
	uid_t uid;           /* switch to uid/gid when running as root and */
	gid_t gid;           /* set_user is 1 */
	int set_user;
	/* as root: in a new mount namespace, area is mounted on mnt (a
	 * root-owned directory any uid can reach) and becomes the cwd, so
	 * the worker's uid need not reach the area by its own path (SQLite
	 * makes relative paths absolute) */
	const char *area;
	const char *mnt;
};

/* Apply limits in a forked child (async-signal-safe calls only).
 * Returns 0 or an errno-style positive code naming the step in *step. */
int spool_sandbox_child(const struct spool_sandbox_limits *l,
    const char **step);

/* The Landlock ABI this kernel offers (0: none). */
int spool_landlock_abi(void);

#endif
