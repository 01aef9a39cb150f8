/*
 * sandbox.c - locking a worker in (sandbox.h).
 *
 * Each mechanism covers what it covers and no more, so they are layered
 * (docs/DECISIONS.md, "Workers"):
 * - a separate uid (spoold as root) keeps the node's key (0600) and the
 *   store's files and control socket out of reach by plain permissions;
 * - Landlock keeps the worker's file access to read-only system paths,
 *   its read-only inputs and its own out/ and tmp/, whatever the uid;
 *   from ABI 4 it also decides which TCP ports may be reached;
 * - a new network namespace leaves a worker without a database no
 *   interface but a downed loopback;
 * - seccomp refuses socket() to a worker without a database (so no Unix
 *   socket either: Landlock does not cover connecting to a pathname
 *   socket, and another network namespace does not hide one), and to
 *   every worker new processes, exec, ptrace and namespace calls.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "spool/job/sandbox.h"
#include "spool/job/worker.h"

#ifndef AUDIT_ARCH_X86_64
#include <linux/audit.h>
#endif

/* Landlock ABI 1..7; the kernel headers of Debian 12 know ABI 2 only */
#define LL_FS_EXECUTE     (1ULL << 0)
#define LL_FS_WRITE_FILE  (1ULL << 1)
#define LL_FS_READ_FILE   (1ULL << 2)
#define LL_FS_READ_DIR    (1ULL << 3)
#define LL_FS_TRUNCATE    (1ULL << 14)
#define LL_FS_IOCTL_DEV   (1ULL << 15)
#define LL_NET_BIND_TCP   (1ULL << 0)
#define LL_NET_CONNECT_TCP (1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX (1ULL << 0)
#define LL_SCOPE_SIGNAL   (1ULL << 1)
#define LL_RULE_PATH_BENEATH 1
#define LL_RULE_NET_PORT  2

struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

struct ll_path_beneath {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

struct ll_net_port {
	uint64_t allowed_access;
	uint64_t port;
};

int
spool_landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);

	return abi < 0 ? 0 : (int)abi;
}

static uint64_t
fs_all(int abi)
{
	uint64_t all = (1ULL << 13) - 1; /* ABI 1 */

	if (abi >= 2)
		all |= 1ULL << 13; /* REFER */
	if (abi >= 3)
		all |= LL_FS_TRUNCATE;
	if (abi >= 5)
		all |= LL_FS_IOCTL_DEV;
	return all;
}

/* The rights that apply to a file (not a directory). */
static uint64_t
fs_file_rights(int abi)
{
	uint64_t r = LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE;

	if (abi >= 3)
		r |= LL_FS_TRUNCATE;
	if (abi >= 5)
		r |= LL_FS_IOCTL_DEV;
	return r;
}

static int
fail(char **why, const char *what, const char *path)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s%s%s%s: %s", what, path ? " '" : "",
	    path ? path : "", path ? "'" : "", strerror(errno));
	*why = strdup(buf);
	return -1;
}

/* Allow access beneath path (absent paths are skipped). */
static int
ll_allow(int rs, int abi, const char *path, uint64_t access, char **why)
{
	struct ll_path_beneath pb;
	struct stat sb;
	int fd;

	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == EACCES ? 0 :
		    fail(why, "cannot open", path);
	if (fstat(fd, &sb) != 0) {
		close(fd);
		return fail(why, "cannot stat", path);
	}
	access &= fs_all(abi);
	if (!S_ISDIR(sb.st_mode))
		access &= fs_file_rights(abi);
	pb.allowed_access = access;
	pb.parent_fd = fd;
	if (access != 0 && syscall(SYS_landlock_add_rule, rs,
	    LL_RULE_PATH_BENEATH, &pb, 0) != 0) {
		close(fd);
		return fail(why, "landlock rule for", path);
	}
	close(fd);
	return 0;
}

static int
landlock(const struct spool_sandbox *sb, int abi, char **why)
{
	static const char *const sys_ro[] = {
		"/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc",
		"/proc/self", "/proc/meminfo", "/proc/cpuinfo", "/proc/stat",
		"/sys/fs/cgroup", "/sys/devices/system/cpu", "/dev/urandom",
		"/dev/zero",
	};
	const uint64_t ro = LL_FS_EXECUTE | LL_FS_READ_FILE | LL_FS_READ_DIR;
	struct ll_ruleset_attr ra;
	size_t rasz, i;
	char path[4096];
	int rs, r = -1;

	memset(&ra, 0, sizeof(ra));
	ra.handled_access_fs = fs_all(abi);
	rasz = 8;
	if (abi >= 4) {
		ra.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
		rasz = 16;
	}
	if (abi >= 6) {
		ra.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
		rasz = 24;
	}
	rs = (int)syscall(SYS_landlock_create_ruleset, &ra, rasz, 0);
	if (rs < 0)
		return fail(why, "landlock_create_ruleset", NULL);
	for (i = 0; i < sizeof(sys_ro) / sizeof(sys_ro[0]); i++)
		if (ll_allow(rs, abi, sys_ro[i], ro, why) != 0)
			goto out;
	if (ll_allow(rs, abi, "/dev/null", LL_FS_READ_FILE |
	    LL_FS_WRITE_FILE | LL_FS_TRUNCATE, why) != 0)
		goto out;
	for (i = 0; i < (size_t)sb->nread; i++)
		if (ll_allow(rs, abi, sb->read[i], ro, why) != 0)
			goto out;
	if (sb->area != NULL) {
		/* the area itself: listed; in/ read-only (its files are the
		 * store's blobs, linked); out/ and tmp/ everything */
		if (ll_allow(rs, abi, sb->area, LL_FS_READ_DIR, why) != 0)
			goto out;
		snprintf(path, sizeof(path), "%s/in", sb->area);
		if (ll_allow(rs, abi, path, ro & ~LL_FS_EXECUTE, why) != 0)
			goto out;
		snprintf(path, sizeof(path), "%s/out", sb->area);
		if (ll_allow(rs, abi, path, fs_all(abi) & ~LL_FS_EXECUTE,
		    why) != 0)
			goto out;
		snprintf(path, sizeof(path), "%s/tmp", sb->area);
		if (ll_allow(rs, abi, path, fs_all(abi) & ~LL_FS_EXECUTE,
		    why) != 0)
			goto out;
	}
	for (i = 0; abi >= 4 && (sb->needs & SPOOL_SANDBOX_NET) &&
	    i < (size_t)sb->nnet; i++) {
		const char *colon = strrchr(sb->net[i], ':');
		struct ll_net_port np;

		np.allowed_access = LL_NET_CONNECT_TCP;
		np.port = strtoull(colon ? colon + 1 : sb->net[i], NULL, 10);
		if (np.port > 0 && np.port < 65536 && syscall(
		    SYS_landlock_add_rule, rs, LL_RULE_NET_PORT, &np, 0) != 0) {
			fail(why, "landlock port rule", NULL);
			goto out;
		}
	}
	if (syscall(SYS_landlock_restrict_self, rs, 0) != 0) {
		fail(why, "landlock_restrict_self", NULL);
		goto out;
	}
	r = 0;
out:
	close(rs);
	return r;
}

/* seccomp: see the file's header. */
#if defined(__x86_64__)
#define SB_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SB_ARCH AUDIT_ARCH_AARCH64
#endif

#define LD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, \
	offsetof(struct seccomp_data, nr))
#define LD_ARG0 BPF_STMT(BPF_LD | BPF_W | BPF_ABS, \
	offsetof(struct seccomp_data, args[0]))
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define DENY(e) RET(SECCOMP_RET_ERRNO | ((e) & SECCOMP_RET_DATA))
#define ALLOW RET(SECCOMP_RET_ALLOW)
/* if nr == n: return v */
#define NR_RET(n, v) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (n), 0, 1), RET(v)

static int
seccomp(const struct spool_sandbox *sb, char **why)
{
#ifdef SB_ARCH
	const uint32_t eperm = SECCOMP_RET_ERRNO | EPERM;
	const uint32_t sock = (sb->needs & SPOOL_SANDBOX_NET) ?
	    SECCOMP_RET_ALLOW : (SECCOMP_RET_ERRNO | EACCES);
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
		    offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SB_ARCH, 1, 0),
		RET(SECCOMP_RET_KILL_PROCESS),
		LD_NR,
		NR_RET(__NR_socket, sock),
		NR_RET(__NR_socketpair, SECCOMP_RET_ERRNO | EACCES),
#ifdef __NR_fork
		NR_RET(__NR_fork, eperm),
#endif
#ifdef __NR_vfork
		NR_RET(__NR_vfork, eperm),
#endif
		NR_RET(__NR_clone3, SECCOMP_RET_ERRNO | ENOSYS),
		NR_RET(__NR_execve, eperm),
		NR_RET(__NR_execveat, eperm),
		NR_RET(__NR_ptrace, eperm),
		NR_RET(__NR_process_vm_readv, eperm),
		NR_RET(__NR_process_vm_writev, eperm),
		NR_RET(__NR_unshare, eperm),
		NR_RET(__NR_setns, eperm),
		NR_RET(__NR_mount, eperm),
		NR_RET(__NR_pivot_root, eperm),
		NR_RET(__NR_chroot, eperm),
		NR_RET(__NR_keyctl, eperm),
		NR_RET(__NR_add_key, eperm),
		NR_RET(__NR_request_key, eperm),
		NR_RET(__NR_bpf, eperm),
		NR_RET(__NR_perf_event_open, eperm),
		NR_RET(__NR_userfaultfd, eperm),
		/* clone: threads only (no new process) */
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 3),
		LD_ARG0,
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, 0x00010000 /* THREAD */,
		    1, 0),
		RET(eperm),
		ALLOW,
	};
	struct sock_fprog prog = {
		.len = (unsigned short)(sizeof(f) / sizeof(f[0])),
		.filter = f,
	};

	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
		return fail(why, "seccomp filter", NULL);
#else
	(void)sb;
	(void)why;
#endif
	return 0;
}

int
spool_sandbox_enter(const struct spool_sandbox *sb, char **why)
{
	int abi;

	*why = NULL;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return fail(why, "no_new_privs", NULL);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return fail(why, "dumpable", NULL);
	abi = spool_landlock_abi();
	if (abi > 0 && landlock(sb, abi, why) != 0)
		return -1;
	return seccomp(sb, why);
}

int
spool_sandbox_child(const struct spool_sandbox_limits *l, const char **step)
{
	struct rlimit rl;

	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_CORE, &rl) != 0)
		return *step = "RLIMIT_CORE", errno;
	if (l->memory > 0) {
		rl.rlim_cur = rl.rlim_max = l->memory;
		if (setrlimit(RLIMIT_AS, &rl) != 0)
			return *step = "RLIMIT_AS", errno;
	}
	if (l->cpu_s > 0) {
		rl.rlim_cur = l->cpu_s;
		rl.rlim_max = l->cpu_s + 5;
		if (setrlimit(RLIMIT_CPU, &rl) != 0)
			return *step = "RLIMIT_CPU", errno;
	}
	if (l->fsize > 0) {
		rl.rlim_cur = rl.rlim_max = l->fsize;
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			return *step = "RLIMIT_FSIZE", errno;
	}
	rl.rlim_cur = rl.rlim_max = l->nofile ? l->nofile : 256;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		return *step = "RLIMIT_NOFILE", errno;
	/* no network at all where that is allowed us (root; or a kernel
	 * with unprivileged user namespaces, not tried here) */
	if (l->new_netns && unshare(CLONE_NEWNET) != 0 && errno != EPERM)
		return *step = "unshare(CLONE_NEWNET)", errno;
	if (l->area != NULL && l->mnt != NULL && geteuid() == 0) {
		if (unshare(CLONE_NEWNS) != 0)
			return *step = "unshare(CLONE_NEWNS)", errno;
		if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
			return *step = "mount(private)", errno;
		if (mount(l->area, l->mnt, NULL, MS_BIND, NULL) != 0)
			return *step = "mount(area)", errno;
		if (chdir(l->mnt) != 0)
			return *step = "chdir(area)", errno;
	}
	if (l->set_user && geteuid() == 0) {
		if (setgroups(0, NULL) != 0)
			return *step = "setgroups", errno;
		if (setgid(l->gid) != 0)
			return *step = "setgid", errno;
		if (setuid(l->uid) != 0)
			return *step = "setuid", errno;
		if (setuid(0) == 0)
			return *step = "setuid (root regained)", EPERM;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return *step = "no_new_privs", errno;
	if (prctl(PR_SET_PDEATHSIG, 9 /* SIGKILL */, 0, 0, 0) != 0)
		return *step = "PR_SET_PDEATHSIG", errno;
	return 0;
}
