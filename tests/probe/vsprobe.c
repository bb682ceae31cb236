/* vsprobe: escape probes run as root inside a test guest (SECURITY.md section 2).
 *
 * Usage: vsprobe NAME [ARGS] | vsprobe all [NAME=ARG[,ARG]...]
 * `all` runs every probe that takes no argument, then the NAME=ARG ones given.
 * Every attempt prints exactly one line (a few "ok info:" lines only report):
 *   PROBE <name> ok <detail>                     the attempt was blocked
 *   PROBE <name> escaped errno=<EXXX|0> <detail> it was not
 *   PROBE <name> error <detail>                  the probe could not decide
 * Exit status: 0 all ok, 1 any escaped or error, 2 usage error.
 *
 * Safety rule: the probe must change nothing on a host if it runs unconfined (it is
 * self-tested that way). Calls that could change host state are made with arguments the
 * kernel rejects after its permission check (bubblewrap try-syscall.c technique): then
 * EPERM/ENOSYS (or SIGSYS) = blocked, any other errno = the call got past the gate.
 * The few real attempts (tmpfs/bind mounts on a private temp dir, namespaces, forks,
 * mknod in a temp dir, cgroup mkdir) are undone at once. Nothing is ever written to
 * /proc, /sys or cgroup files: they are only opened for writing.
 * Attempts run in forked children, so a seccomp kill (SIGSYS) or a changed process
 * state (namespaces, root, personality) never reaches the probe itself. */
#define _GNU_SOURCE
/* Probe and attempt callbacks share signatures; many ignore their arguments. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/netlink.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/timex.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef __x86_64__
#error "vsprobe is written for x86_64 (i386 int $0x80 and x32 probes)"
#endif

/* Unmapped (below mmap_min_addr): EFAULT if the kernel gets as far as reading it. */
#define BAD_PTR 1L
#define X32_BIT 0x40000000L
#define SYSLOG_ACTION_READ_ALL 3
#define SYSLOG_ACTION_CONSOLE_LEVEL 8
#define PTRACE_SEIZE_NR 0x4206
#define FILEID_INO32_GEN 1
#define PERSONA_READ_IMPLIES_EXEC 0x0400000L

/* ---- output ---------------------------------------------------------------------- */

/* Shared with forked children so that they can report and return results. */
struct shared {
	volatile int escaped, errors;
	volatile long ret;
	volatile int done;
	volatile long progress;
	char detail[512];
};
static struct shared *sh;

enum { V_OK, V_ESC, V_ERR };

static const char *ename(int e)
{
	static char ring[4][16];
	static int next;
	const char *s = e ? strerrorname_np(e) : "0";
	if (s)
		return s;
	char *b = ring[next++ % 4];
	snprintf(b, sizeof ring[0], "E%d", e);
	return b;
}

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* One line, one write(2): safe in forked children, no stdio buffers to duplicate. */
__attribute__((format(printf, 4, 5)))
static void report(const char *probe, int verdict, int err, const char *fmt, ...)
{
	char detail[1024], line[1280];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	for (char *p = detail; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	int n;
	if (verdict == V_OK) {
		n = snprintf(line, sizeof line, "PROBE %s ok %s\n", probe, detail);
	} else if (verdict == V_ESC) {
		n = snprintf(line, sizeof line, "PROBE %s escaped errno=%s %s\n", probe, ename(err),
			     detail);
		sh->escaped++;
	} else {
		n = snprintf(line, sizeof line, "PROBE %s error %s\n", probe, detail);
		sh->errors++;
	}
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line) {
		n = (int)sizeof line - 1;
		line[n - 1] = '\n';
	}
	write_all(1, line, (size_t)n);
}

#define OK(p, ...) report(p, V_OK, 0, __VA_ARGS__)
#define ESC(p, e, ...) report(p, V_ESC, e, __VA_ARGS__)
#define ERR(p, ...) report(p, V_ERR, 0, __VA_ARGS__)

/* ---- helpers --------------------------------------------------------------------- */

/* Raw syscall with every argument a full long; returns -errno on failure. */
static long sys6(long nr, long a, long b, long c, long d, long e, long f)
{
	long r = syscall(nr, a, b, c, d, e, f);
	return r == -1 ? -(long)errno : r;
}

static long close_fd(long fd)
{
	if (fd >= 0)
		close((int)fd);
	return fd;
}

/* TRY(fn, nr, 6 args [, CLOSE_FD]): an attempt that is one raw syscall. */
#define TRY(fn, nr, a, b, c, d, e, f, ...) \
	static long fn(void *p) { return __VA_ARGS__(sys6(nr, a, b, c, d, e, f)); }
#define CLOSE_FD close_fd

struct outcome {
	int ran;  /* child returned normally */
	int sig;  /* child killed by this signal */
	long ret; /* >= 0 success value, < 0 -errno */
};

/* Runs fn in a forked child; a SIGSYS from seccomp, or a changed namespace, root or
 * personality, stays there. The child may report() lines itself. */
static struct outcome in_child(long (*fn)(void *), void *arg)
{
	struct outcome o = {0, 0, 0};
	sh->done = 0;
	sh->ret = 0;
	sh->detail[0] = 0;
	pid_t pid = fork();
	if (pid < 0) {
		o.ret = -errno;
		return o;
	}
	if (pid == 0) {
		sh->ret = fn(arg);
		sh->done = 1;
		_exit(0);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return o;
	if (WIFSIGNALED(st))
		o.sig = WTERMSIG(st);
	else if (sh->done) {
		o.ran = 1;
		o.ret = sh->ret;
	}
	return o;
}

/* Verdict for an attempt whose only acceptable outcomes are EPERM, ENOSYS, SIGSYS or an
 * errno in also_ok. Anything else means the call got past seccomp and the capability
 * check (why_escaped says what that error means). */
static void judge_also(const char *probe, const char *what, struct outcome o,
		       const char *why_escaped, const int *also_ok)
{
	int e = o.ran && o.ret < 0 ? (int)-o.ret : 0;
	for (; e && also_ok && *also_ok; also_ok++)
		if (*also_ok == e) {
			OK(probe, "%s -> %s", what, ename(e));
			return;
		}
	if (o.sig == SIGSYS)
		OK(probe, "%s -> killed by SIGSYS (seccomp)", what);
	else if (o.sig)
		ERR(probe, "%s -> child killed by signal %d (%s)", what, o.sig, strsignal(o.sig));
	else if (!o.ran)
		ERR(probe, "%s -> could not run the attempt in a child (%s)", what,
		    o.ret < 0 ? ename((int)-o.ret) : "no result");
	else if (e == EPERM || e == ENOSYS)
		OK(probe, "%s -> %s", what, ename(e));
	else if (e)
		ESC(probe, e, "%s: %s%s%s", what, why_escaped, sh->detail[0] ? "; " : "", sh->detail);
	else
		ESC(probe, 0, "%s succeeded (returned %ld)%s%s", what, o.ret,
		    sh->detail[0] ? "; " : "", sh->detail);
}

#define judge(probe, what, o, why) judge_also(probe, what, o, why, NULL)

#define GATE "passed seccomp and the capability check (the error is from the invalid arguments)"
#define SECCOMP_ONLY "passed seccomp, its only gate (the error is from the invalid arguments)"

static int parse_long(const char *s, int base, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, base);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* A private temp directory for mount targets, device nodes and the like. */
static int make_tmpdir(const char *tag, char *out, size_t outsz)
{
	const char *bases[] = {getenv("TMPDIR"), "/tmp", "/dev/shm", "/run", "/var/tmp"};
	for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
		if (!bases[i] || bases[i][0] != '/')
			continue;
		snprintf(out, outsz, "%s/vsprobe-%s.XXXXXX", bases[i], tag);
		if (mkdtemp(out))
			return 0;
	}
	return -1;
}

static int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* ---- E01 chroot-escape <hostmarker> ------------------------------------------------ */

struct chroot_arg {
	const char *dir, *marker;
	struct stat root;
};

static void judge_marker(const char *probe, const char *what, const char *path)
{
	struct stat st;
	if (stat(path, &st) == 0)
		ESC(probe, 0, "%s: host marker %s is visible", what, path);
	else if (errno == ENOENT || errno == ENOTDIR)
		OK(probe, "%s: stat(%s) -> %s", what, path, ename(errno));
	else
		ERR(probe, "%s: stat(%s) -> %s, cannot tell whether it exists", what, path,
		    ename(errno));
}

static long t_chroot_escape(void *p)
{
	const char *n = "chroot-escape";
	struct chroot_arg *a = p;
	if (chroot(a->dir) < 0)
		return -errno;
	/* cwd is still the old root, now outside our root: climb from there. */
	for (int i = 0; i < 64; i++)
		if (chdir("..") < 0)
			break;
	if (chroot(".") < 0) {
		ERR(n, "chroot(%s) worked but chroot(\".\") after chdir(\"..\")x64 -> %s", a->dir,
		    ename(errno));
		return 1;
	}
	struct stat st;
	if (stat("/", &st) < 0)
		ERR(n, "stat(\"/\") after the escape -> %s", ename(errno));
	else if (same_file(&st, &a->root))
		OK(n, "chroot(%s)+chdir(..)x64+chroot(.): / is still the guest root (dev %u:%u ino %lu)",
		   a->dir, major(st.st_dev), minor(st.st_dev), (unsigned long)st.st_ino);
	else
		ESC(n, 0, "chroot(%s)+chdir(..)x64+chroot(.): / moved to dev %u:%u ino %lu (was %u:%u ino %lu)",
		    a->dir, major(st.st_dev), minor(st.st_dev), (unsigned long)st.st_ino,
		    major(a->root.st_dev), minor(a->root.st_dev), (unsigned long)a->root.st_ino);
	judge_marker(n, "after chroot escape", a->marker);
	return 1;
}

static void compare_root(const char *probe, const char *path, const struct stat *root)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		if (errno == EACCES || errno == EPERM || errno == ENOENT)
			OK(probe, "stat(%s) -> %s", path, ename(errno));
		else
			ERR(probe, "stat(%s) -> %s", path, ename(errno));
	} else if (same_file(&st, root)) {
		OK(probe, "%s is the guest root", path);
	} else {
		ESC(probe, 0, "%s is dev %u:%u ino %lu, not the guest root", path, major(st.st_dev),
		    minor(st.st_dev), (unsigned long)st.st_ino);
	}
}

static void probe_chroot_escape(int argc, char **argv)
{
	const char *n = "chroot-escape";
	struct chroot_arg a = {"/vsprobe-x", argv[0], {0}};
	if (stat("/", &a.root) < 0) {
		ERR(n, "stat(\"/\") -> %s", ename(errno));
		return;
	}
	int created = 0;
	struct stat st;
	if (mkdir(a.dir, 0700) == 0)
		created = 1;
	else if (!(errno == EEXIST && stat(a.dir, &st) == 0 && S_ISDIR(st.st_mode))) {
		/* read-only root: any existing subdirectory serves as well */
		const char *alt[] = {"/tmp", "/dev", "/etc", "/proc"};
		a.dir = NULL;
		for (size_t i = 0; i < sizeof alt / sizeof alt[0] && !a.dir; i++)
			if (stat(alt[i], &st) == 0 && S_ISDIR(st.st_mode))
				a.dir = alt[i];
		if (!a.dir) {
			ERR(n, "no directory to chroot into (mkdir /vsprobe-x failed)");
			return;
		}
	}
	struct outcome o = in_child(t_chroot_escape, &a);
	if (created && rmdir("/vsprobe-x") < 0)
		ERR(n, "rmdir /vsprobe-x -> %s", ename(errno));
	char what[64];
	snprintf(what, sizeof what, "chroot(%s)", a.dir);
	if (o.ran && o.ret < 0 && o.ret != -EPERM && o.ret != -ENOSYS)
		ERR(n, "%s -> %s, the escape could not be tried", what, ename((int)-o.ret));
	else if (!o.ran || o.ret < 0) /* else the child has reported */
		judge(n, what, o, "");

	/* The /proc routes: magic links to another process's root, then "..". */
	char path[PATH_MAX];
	snprintf(path, sizeof path, "/proc/1/root/../..%s", a.marker);
	if (stat("/proc/1/root/", &st) < 0 && (errno == EACCES || errno == EPERM || errno == ENOENT))
		OK(n, "stat(/proc/1/root/) -> %s, the /proc route is closed", ename(errno));
	else
		judge_marker(n, "via /proc/1/root", path);
	compare_root(n, "/proc/1/root/../..", &a.root);
	compare_root(n, "/proc/self/root/..", &a.root);
}

/* ---- E02 mount ------------------------------------------------------------------- */

struct mount_try {
	const char *what, *src, *fstype;
	unsigned long flags;
	const char *data, *dir;
};

static long t_mount_real(void *p)
{
	const struct mount_try *m = p;
	if (mount(m->src, m->dir, m->fstype, m->flags, m->data) < 0)
		return -errno;
	int r = umount2(m->dir, MNT_DETACH); /* it worked: undo at once */
	snprintf(sh->detail, sizeof sh->detail, "%s", r ? "UNDO FAILED" : "unmounted again");
	return 0;
}

/* Two propagation flags at once: EINVAL in do_change_type(), after may_mount(). */
TRY(t_mount_bad_propagation, SYS_mount, 0, (long)"/", 0, MS_SHARED | MS_PRIVATE, 0, 0)
/* MNT_EXPIRE|MNT_DETACH: can_umount() checks CAP_SYS_ADMIN first, do_umount() then
 * rejects the pair with EINVAL before touching anything. */
TRY(t_umount_expire, SYS_umount2, (long)p, MNT_EXPIRE | MNT_DETACH, 0, 0, 0, 0)
/* Real fs context / detached tree copy: both vanish with the fd. */
TRY(t_fsopen, SYS_fsopen, (long)"tmpfs", FSOPEN_CLOEXEC, 0, 0, 0, 0, CLOSE_FD)
TRY(t_open_tree, SYS_open_tree, AT_FDCWD, (long)"/", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC, 0, 0, 0,
    CLOSE_FD)
TRY(t_fsconfig, SYS_fsconfig, -1, 6 /* FSCONFIG_CMD_CREATE */, 0, 0, 0, 0)
TRY(t_fsmount, SYS_fsmount, -1, 0x80 /* not FSMOUNT_CLOEXEC */, 0, 0, 0, 0)
TRY(t_move_mount, SYS_move_mount, -1, (long)"", -1, (long)"", 0x80000000L, 0)
TRY(t_pivot_root, SYS_pivot_root, BAD_PTR, BAD_PTR, 0, 0, 0, 0)

TRY(t_mount_setattr, SYS_mount_setattr, -1, (long)"", AT_EMPTY_PATH,
    ((long)&(uint64_t[4]){1ULL << 31 /* no such MOUNT_ATTR_ */}), 32, 0)

static void probe_mount(int argc, char **argv)
{
	const char *n = "mount";
	char dir[PATH_MAX];
	if (make_tmpdir("mnt", dir, sizeof dir) < 0) {
		ERR(n, "no writable directory for a mount target (mkdtemp failed)");
	} else {
		struct mount_try t[] = {
			{"mount(tmpfs)", "vsprobe", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=16k", dir},
			{"mount(/, MS_BIND)", "/", NULL, MS_BIND, NULL, dir},
			{"mount(/proc, MS_BIND|MS_REC)", "/proc", NULL, MS_BIND | MS_REC, NULL, dir},
		};
		for (int i = 0; i < 3; i++) {
			char what[PATH_MAX + 64];
			snprintf(what, sizeof what, "%s on %s", t[i].what, dir);
			judge(n, what, in_child(t_mount_real, &t[i]),
			      "passed the permission check (failed later)");
		}
		if (rmdir(dir) < 0)
			ERR(n, "rmdir %s -> %s (a mount may be left there)", dir, ename(errno));
	}
	judge(n, "mount(NULL, /, MS_SHARED|MS_PRIVATE)", in_child(t_mount_bad_propagation, NULL), GATE);

	const char *umounts[] = {"/proc/kcore", "/proc"};
	for (int i = 0; i < 2; i++) {
		char what[128];
		snprintf(what, sizeof what, "umount2(%s, MNT_EXPIRE|MNT_DETACH)", umounts[i]);
		struct outcome o = in_child(t_umount_expire, (void *)umounts[i]);
		if (o.ran && o.ret == -ENOENT) /* nothing there to unmount */
			OK(n, "%s -> ENOENT (absent; the /proc attempt decides)", what);
		else
			judge(n, what, o, "passed the CAP_SYS_ADMIN check (EINVAL: invalid flag pair)");
	}
	const char *perm = "passed the permission check";
	judge(n, "fsopen(tmpfs)", in_child(t_fsopen, NULL), perm);
	judge(n, "fsconfig(-1, FSCONFIG_CMD_CREATE)", in_child(t_fsconfig, NULL), SECCOMP_ONLY);
	judge(n, "fsmount(-1, invalid flags)", in_child(t_fsmount, NULL), GATE);
	judge(n, "open_tree(/, OPEN_TREE_CLONE)", in_child(t_open_tree, NULL), perm);
	judge(n, "move_mount(-1, invalid flags)", in_child(t_move_mount, NULL), GATE);
	judge(n, "mount_setattr(-1, invalid attr)", in_child(t_mount_setattr, NULL), GATE);
	judge(n, "pivot_root(bad, bad)", in_child(t_pivot_root, NULL), GATE);
}

/* ---- E03 ns ---------------------------------------------------------------------- */

TRY(t_unshare, SYS_unshare, (long)p, 0, 0, 0, 0, 0)
TRY(t_setns, SYS_setns, (long)p, CLONE_NEWNS, 0, 0, 0, 0)

static long reap_forked(long pid)
{
	if (pid == 0)
		_exit(0); /* the new child */
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
	return pid;
}

static long t_clone_newuser(void *p)
{
	/* raw clone without CLONE_VM and with stack 0 behaves like fork */
	return reap_forked(sys6(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0, 0));
}

struct vs_clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

static long t_clone3(void *p)
{
	struct vs_clone_args ca;
	memset(&ca, 0, sizeof ca);
	ca.flags = (uint64_t)(long)p;
	ca.exit_signal = SIGCHLD;
	return reap_forked(sys6(SYS_clone3, (long)&ca, sizeof ca, 0, 0, 0, 0));
}

static void probe_ns(int argc, char **argv)
{
	const char *n = "ns", *why = "the kernel refused for another reason";
	judge(n, "unshare(CLONE_NEWUSER|CLONE_NEWNS)",
	      in_child(t_unshare, (void *)(long)(CLONE_NEWUSER | CLONE_NEWNS)), why);
	judge(n, "unshare(CLONE_NEWUSER)", in_child(t_unshare, (void *)(long)CLONE_NEWUSER), why);
	judge(n, "clone(CLONE_NEWUSER) raw", in_child(t_clone_newuser, NULL), why);
	why = "clone3 must be ENOSYS or EPERM whatever its flags";
	judge(n, "clone3(flags=0)", in_child(t_clone3, NULL), why);
	judge(n, "clone3(CLONE_NEWUSER)", in_child(t_clone3, (void *)(long)CLONE_NEWUSER), why);
	int fd = open("/proc/1/ns/mnt", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EACCES || errno == EPERM || errno == ENOENT)
			OK(n, "open(/proc/1/ns/mnt) -> %s, setns not reachable", ename(errno));
		else
			ERR(n, "open(/proc/1/ns/mnt) -> %s", ename(errno));
		return;
	}
	judge(n, "setns(/proc/1/ns/mnt, CLONE_NEWNS)", in_child(t_setns, (void *)(intptr_t)fd),
	      "the kernel refused for another reason");
	close(fd);
}

/* ---- E04 kill-host, hostname, shm --------------------------------------------------- */

static void judge_kill(const char *n, pid_t pid, int sig)
{
	char comm[64] = "?";
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t r = read(fd, comm, sizeof comm - 1);
		comm[r > 0 ? r : 0] = 0;
		comm[strcspn(comm, "\n")] = 0;
		close(fd);
	}
	if (kill(pid, sig) == 0)
		ESC(n, 0, "kill(%d, %d) succeeded: pid %d is visible (comm in our /proc: %s)", (int)pid,
		    sig, (int)pid, comm);
	else if (errno == ESRCH)
		OK(n, "kill(%d, %d) -> ESRCH", (int)pid, sig);
	else if (errno == EPERM)
		ESC(n, EPERM, "kill(%d, %d): pid %d exists in our view (comm %s)", (int)pid, sig,
		    (int)pid, comm);
	else
		ERR(n, "kill(%d, %d) -> %s", (int)pid, sig, ename(errno));
}

static void probe_kill_host(int argc, char **argv)
{
	const char *n = "kill-host";
	long pid = strtol(argv[0], NULL, 10); /* checked by check_args */
	judge_kill(n, (pid_t)pid, 0);
	judge_kill(n, (pid_t)pid, SIGKILL);
	/* kill(-1, 0) only reports what a "kill -9 -1" would reach. */
	int visible = 0;
	DIR *d = opendir("/proc");
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)))
			if (de->d_name[0] >= '1' && de->d_name[0] <= '9')
				visible++;
		closedir(d);
	}
	int r = kill(-1, 0);
	OK(n, "info: kill(-1, 0) -> %s; %d pids visible in /proc", r == 0 ? "0" : ename(errno),
	   visible);
}

/* The capability check comes before the length check: len -1 can only give EINVAL. */
TRY(t_sethostname, SYS_sethostname, (long)"evil", -1, 0, 0, 0, 0)
TRY(t_setdomainname, SYS_setdomainname, (long)"evil", -1, 0, 0, 0, 0)

static void probe_hostname(int argc, char **argv)
{
	judge("hostname", "sethostname(\"evil\", len=-1)", in_child(t_sethostname, NULL), GATE);
	judge("hostname", "setdomainname(\"evil\", len=-1)", in_child(t_setdomainname, NULL), GATE);
}

static void probe_shm(int argc, char **argv)
{
	const char *n = "shm";
	long key = strtol(argv[0], NULL, 0); /* checked by check_args */
	int id = shmget((key_t)key, 0, 0);
	if (id >= 0)
		ESC(n, 0, "shmget(0x%lx) found segment id %d", key, id);
	else if (errno == ENOENT)
		OK(n, "shmget(0x%lx) -> ENOENT", key);
	else if (errno == EACCES)
		ESC(n, EACCES, "shmget(0x%lx): the segment exists in our IPC namespace", key);
	else
		ERR(n, "shmget(0x%lx) -> %s", key, ename(errno));
}

/* ---- E05 shocker ----------------------------------------------------------------- */

struct handle_arg {
	struct file_handle *h;
	int flags, mount_fd;
};

static long t_open_by_handle(void *p)
{
	struct handle_arg *a = p;
	long fd = sys6(SYS_open_by_handle_at, a->mount_fd, (long)a->h, a->flags | O_CLOEXEC, 0, 0, 0);
	if (fd >= 0) {
		char path[64], target[256];
		snprintf(path, sizeof path, "/proc/self/fd/%ld", fd);
		ssize_t r = readlink(path, target, sizeof target - 1);
		target[r > 0 ? r : 0] = 0;
		snprintf(sh->detail, sizeof sh->detail, "opened %s", target);
		close((int)fd);
	}
	return fd;
}

static void probe_shocker(int argc, char **argv)
{
	union {
		struct file_handle h;
		char buf[sizeof(struct file_handle) + 128];
	} real, forged;
	int mount_id;
	real.h.handle_bytes = 128;
	int have_real = name_to_handle_at(AT_FDCWD, "/", &real.h, &mount_id, 0) == 0;
	const char *nth = have_real ? "ok" : ename(errno);

	forged.h.handle_bytes = 8;
	forged.h.handle_type = FILEID_INO32_GEN;
	uint32_t ino_gen[2] = {2, 0}; /* inode 2: the ext4 root, as in the shocker exploit */
	memcpy(forged.h.f_handle, ino_gen, sizeof ino_gen);

	struct {
		const char *what;
		struct file_handle *h;
		int flags;
	} tries[] = {
		{"open_by_handle_at(handle of /, O_RDONLY)", &real.h, O_RDONLY},
		{"open_by_handle_at(handle of /, O_RDONLY|O_DIRECTORY)", &real.h, O_RDONLY | O_DIRECTORY},
		{"open_by_handle_at(forged type 1 inode 2, O_RDONLY)", &forged.h, O_RDONLY},
		{"open_by_handle_at(forged type 1 inode 2, O_RDONLY|O_DIRECTORY)", &forged.h,
		 O_RDONLY | O_DIRECTORY},
	};
	int mfd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (mfd < 0) {
		ERR("shocker", "open(\"/\") -> %s", ename(errno));
		return;
	}
	for (size_t i = 0; i < sizeof tries / sizeof tries[0]; i++) {
		char what[160];
		if (tries[i].h == &real.h && !have_real)
			continue;
		snprintf(what, sizeof what, "%s [name_to_handle_at(/) %s]", tries[i].what, nth);
		struct handle_arg a = {tries[i].h, tries[i].flags, mfd};
		judge("shocker", what, in_child(t_open_by_handle, &a),
		      "passed the permission check (decoding the handle failed)");
	}
	close(mfd);
}

/* ---- E06 fds --------------------------------------------------------------------- */

static void probe_fds(int argc, char **argv)
{
	const char *n = "fds";
	DIR *d = opendir("/proc/self/fd");
	if (!d) {
		ERR(n, "opendir(/proc/self/fd) -> %s", ename(errno));
	} else {
		int self = dirfd(d), seen = 0;
		struct dirent *de;
		while ((de = readdir(d))) {
			long fd;
			if (parse_long(de->d_name, 10, 0, INT_MAX, &fd) < 0 || fd == self)
				continue;
			char path[64], target[PATH_MAX];
			snprintf(path, sizeof path, "/proc/self/fd/%ld", fd);
			ssize_t r = readlink(path, target, sizeof target - 1);
			target[r > 0 ? r : 0] = 0;
			if (r < 0)
				snprintf(target, sizeof target, "(readlink: %s)", ename(errno));
			seen++;
			if (fd <= 2)
				OK(n, "fd %ld -> %s", fd, target);
			else
				ESC(n, 0, "fd %ld -> %s leaked into the guest", fd, target);
		}
		closedir(d);
		if (!seen)
			OK(n, "no open fds besides the probe's own directory fd");
	}
	char cwd[PATH_MAX + 1];
	long r = sys6(SYS_getcwd, (long)cwd, sizeof cwd - 1, 0, 0, 0, 0);
	if (r < 0)
		ERR(n, "getcwd -> %s", ename((int)-r));
	else if (cwd[0] != '/')
		ESC(n, 0, "cwd \"%s\" is outside the root", cwd);
	else
		OK(n, "cwd %s", cwd);
}

/* ---- E09 masks, E10 procsys, E11 sysfs ----------------------------------------------- */

static int is_devnull(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
}

/* Opens for writing and never writes. */
static void try_write_open(const char *n, const char *path)
{
	int fd = open(path, O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd >= 0) {
		int dn = is_devnull(fd);
		close(fd);
		ESC(n, 0, "open(%s, O_WRONLY) succeeded%s (nothing written)", path,
		    dn ? ", it is a writable /dev/null mask" : "");
		return;
	}
	int e = errno;
	if (e == EROFS || e == EACCES || e == EPERM || e == ENOENT)
		OK(n, "open(%s, O_WRONLY) -> %s", path, ename(e));
	else
		ERR(n, "open(%s, O_WRONLY) -> %s (unexpected)", path, ename(e));
}

static void probe_masks(int argc, char **argv)
{
	const char *n = "masks";
	const char *files[] = {"/proc/kcore", "/proc/keys", "/proc/timer_list",
			       "/proc/sched_debug", "/proc/latency_stats", "/proc/interrupts",
			       "/proc/timer_stats"};
	const char *dirs[] = {"/proc/acpi", "/proc/scsi", "/proc/asound", "/sys/firmware",
			      "/sys/devices/virtual/powercap"};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		const char *p = files[i];
		int fd = open(p, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT || errno == EACCES || errno == EPERM)
				OK(n, "read %s: open -> %s", p, ename(errno));
			else
				ERR(n, "read %s: open -> %s", p, ename(errno));
		} else {
			char buf[4096];
			ssize_t r = read(fd, buf, sizeof buf);
			int e = errno;
			close(fd);
			if (r > 0)
				ESC(n, 0, "read %s: got %zd bytes", p, r);
			else if (r == 0)
				OK(n, "read %s: empty", p);
			else
				OK(n, "read %s: read -> %s, no content", p, ename(e));
		}
		try_write_open(n, p);
	}
	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		const char *p = dirs[i];
		DIR *d = opendir(p);
		if (!d) {
			if (errno == ENOENT || errno == EACCES || errno == EPERM || errno == ENOTDIR)
				OK(n, "list %s: %s", p, ename(errno));
			else
				ERR(n, "list %s: %s", p, ename(errno));
		} else {
			int count = 0;
			char first[256] = "";
			struct dirent *de;
			while ((de = readdir(d))) {
				if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
					continue;
				if (!count++)
					snprintf(first, sizeof first, "%s", de->d_name);
			}
			closedir(d);
			if (count)
				ESC(n, 0, "list %s: %d entries (first %s)", p, count, first);
			else
				OK(n, "list %s: empty", p);
		}
		char f[PATH_MAX];
		snprintf(f, sizeof f, "%s/.vsprobe-w", p);
		int fd = open(f, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0) {
			close(fd);
			unlink(f);
			ESC(n, 0, "created %s (removed again)", f);
		} else if (errno == EROFS || errno == EACCES || errno == EPERM || errno == ENOENT ||
			   errno == ENOTDIR) {
			OK(n, "create %s -> %s", f, ename(errno));
		} else {
			ERR(n, "create %s -> %s (unexpected)", f, ename(errno));
		}
	}
}

static void probe_procsys(int argc, char **argv)
{
	const char *files[] = {"/proc/sys/kernel/core_pattern", "/proc/sysrq-trigger",
			       "/proc/sys/kernel/modprobe", "/proc/sys/fs/binfmt_misc/register",
			       "/proc/sys/vm/drop_caches", "/proc/sys/net/ipv4/ip_forward"};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
		try_write_open("procsys", files[i]);
}

static void probe_sysfs(int argc, char **argv)
{
	const char *files[] = {"/sys/kernel/uevent_helper", "/sys/power/state",
			       "/sys/class/net/lo/mtu", "/sys/kernel/mm/transparent_hugepage/enabled"};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
		try_write_open("sysfs", files[i]);
}

/* ---- E12 cgroupfs ---------------------------------------------------------------- */

static void cgroup_dir(const char *n, const char *dir)
{
	const char *files[] = {"cgroup.procs", "tasks", "release_agent", "notify_on_release",
			       "memory.limit_in_bytes", "memory.max", "pids.max",
			       "cgroup.subtree_control", "devices.allow"};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char p[PATH_MAX];
		struct stat st;
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		if (lstat(p, &st) < 0)
			continue;
		try_write_open(n, p);
	}
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s/vsprobe-x.%d", dir, (int)getpid());
	if (mkdir(p, 0755) == 0) {
		int r = rmdir(p);
		ESC(n, 0, "mkdir %s succeeded%s", p, r == 0 ? " (removed again)" : ", REMOVE FAILED");
	} else if (errno == EROFS || errno == EACCES || errno == EPERM || errno == ENOENT) {
		OK(n, "mkdir %s -> %s", p, ename(errno));
	} else {
		ERR(n, "mkdir %s -> %s (unexpected)", p, ename(errno));
	}
}

static void probe_cgroupfs(int argc, char **argv)
{
	const char *n = "cgroupfs";
	struct stat st;
	if (stat("/sys/fs/cgroup", &st) < 0 || !S_ISDIR(st.st_mode)) {
		OK(n, "/sys/fs/cgroup absent (%s)", ename(errno));
		return;
	}
	dev_t top = st.st_dev;
	cgroup_dir(n, "/sys/fs/cgroup");
	/* v1 (and hybrid "unified") hierarchies are mounts below it; plain subdirectories are
	 * child cgroups of a v2 root and are left alone. */
	DIR *d = opendir("/sys/fs/cgroup");
	if (!d) {
		OK(n, "list /sys/fs/cgroup -> %s", ename(errno));
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		char p[PATH_MAX];
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "/sys/fs/cgroup/%s", de->d_name);
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode) && st.st_dev != top)
			cgroup_dir(n, p);
	}
	closedir(d);
}

/* ---- E15 devices [dir] ------------------------------------------------------------ */

static void probe_devices(int argc, char **argv)
{
	const char *n = "devices";
	char dir[PATH_MAX];
	if (argc > 0) {
		snprintf(dir, sizeof dir, "%s/vsprobe-dev.XXXXXX", argv[0]);
		if (!mkdtemp(dir)) {
			ERR(n, "mkdtemp in %s -> %s", argv[0], ename(errno));
			return;
		}
	} else if (make_tmpdir("dev", dir, sizeof dir) < 0) {
		ERR(n, "no writable directory for device nodes");
		return;
	}
	struct {
		const char *name;
		mode_t type;
		unsigned maj, min;
	} nodes[] = {
		{"sda", S_IFBLK, 8, 0},      {"mem", S_IFCHR, 1, 1},
		{"kmsg", S_IFCHR, 1, 11},    {"port", S_IFCHR, 1, 4},
		{"fuse", S_IFCHR, 10, 229},  {"tun", S_IFCHR, 10, 200},
		{"loop-control", S_IFCHR, 10, 237}, {"tty0", S_IFCHR, 4, 0},
		{"rootdisk", S_IFBLK, 0, 0},
	};
	struct stat rst;
	size_t count = sizeof nodes / sizeof nodes[0];
	if (stat("/", &rst) == 0 && major(rst.st_dev) != 0) {
		nodes[count - 1].maj = major(rst.st_dev);
		nodes[count - 1].min = minor(rst.st_dev);
	} else {
		count--; /* root on a virtual fs (overlay, tmpfs): no disk to name */
	}
	for (size_t i = 0; i < count; i++) {
		char p[PATH_MAX + 32];
		char kind = nodes[i].type == S_IFBLK ? 'b' : 'c';
		snprintf(p, sizeof p, "%s/%s", dir, nodes[i].name);
		if (mknod(p, nodes[i].type | 0600, makedev(nodes[i].maj, nodes[i].min)) < 0) {
			if (errno == EPERM)
				OK(n, "mknod %s %c %u:%u -> EPERM", nodes[i].name, kind, nodes[i].maj,
				   nodes[i].min);
			else
				ERR(n, "mknod %s %c %u:%u -> %s (cannot decide)", nodes[i].name, kind,
				    nodes[i].maj, nodes[i].min, ename(errno));
			continue;
		}
		/* mknod allowed (opt-in): the node must still be unusable. Open read-only,
		 * non-blocking, no controlling tty; close at once. */
		int fd = open(p, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		int e = errno;
		if (fd >= 0) {
			close(fd);
			ESC(n, 0, "mknod %s %c %u:%u and open in %s succeeded", nodes[i].name, kind,
			    nodes[i].maj, nodes[i].min, dir);
		} else if (e == EPERM || e == EACCES || e == ENXIO || e == ENODEV) {
			OK(n, "mknod %s %c %u:%u allowed, open -> %s%s", nodes[i].name, kind,
			   nodes[i].maj, nodes[i].min, ename(e),
			   e == EACCES ? " (nodev mount?)" : e == EPERM ? "" : " (no such device)");
		} else {
			ESC(n, e, "mknod %s %c %u:%u allowed and open reached the driver", nodes[i].name,
			    kind, nodes[i].maj, nodes[i].min);
		}
		unlink(p);
	}
	if (rmdir(dir) < 0)
		ERR(n, "rmdir %s -> %s", dir, ename(errno));
}

/* ---- E19 caps <hexmask> ------------------------------------------------------------ */

static void probe_caps(int argc, char **argv)
{
	const char *n = "caps";
	unsigned long long want = strtoull(argv[0], NULL, 16); /* validated before */
	FILE *f = fopen("/proc/self/status", "re");
	if (!f) {
		ERR(n, "open /proc/self/status -> %s", ename(errno));
		return;
	}
	const char *keys[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"};
	unsigned long long v[5];
	int got = 0;
	char line[512];
	while (fgets(line, sizeof line, f))
		for (int i = 0; i < 5; i++) {
			size_t kl = strlen(keys[i]);
			if (!strncmp(line, keys[i], kl) && line[kl] == ':' &&
			    sscanf(line + kl + 1, "%llx", &v[i]) == 1)
				got |= 1 << i;
		}
	fclose(f);
	if (got != 31) {
		ERR(n, "Cap* lines missing in /proc/self/status");
		return;
	}
	if (v[0] == 0)
		OK(n, "CapInh=%016llx", v[0]);
	else
		ESC(n, 0, "CapInh=%016llx, must be 0", v[0]);
	if (v[4] == 0)
		OK(n, "CapAmb=%016llx", v[4]);
	else
		ESC(n, 0, "CapAmb=%016llx, must be 0", v[4]);
	if (v[3] == want)
		OK(n, "CapBnd=%016llx as configured", v[3]);
	else
		ESC(n, 0, "CapBnd=%016llx, configured %016llx (extra %016llx)", v[3], want,
		    v[3] & ~want);
	if ((v[2] & ~v[3]) == 0)
		OK(n, "CapEff=%016llx within CapBnd (CapPrm=%016llx)", v[2], v[1]);
	else
		ESC(n, 0, "CapEff=%016llx has bits outside CapBnd=%016llx (CapPrm=%016llx)", v[2], v[3],
		    v[1]);
}

/* ---- E20 syscalls ---------------------------------------------------------------- */
/* Each attempt uses arguments that fail harmlessly if the call is permitted. */

TRY(t_keyctl, SYS_keyctl, 0x7fffffff, 0, 0, 0, 0, 0)
TRY(t_add_key, SYS_add_key, BAD_PTR, BAD_PTR, 0, 0, -2 /* KEY_SPEC_PROCESS_KEYRING */, 0)
TRY(t_request_key, SYS_request_key, BAD_PTR, BAD_PTR, 0, 0, 0, 0)
TRY(t_userfaultfd, SYS_userfaultfd, -1, 0, 0, 0, 0, 0)
TRY(t_perf, SYS_perf_event_open, BAD_PTR, 0, -1, -1, 0, 0)
TRY(t_bpf, SYS_bpf, 5 /* BPF_PROG_LOAD */, BAD_PTR, 48, 0, 0, 0)
TRY(t_io_uring, SYS_io_uring_setup, 1, BAD_PTR, 0, 0, 0, 0)
/* nr_segments 1000 > KEXEC_SEGMENT_MAX and an undefined flag bit: EINVAL, never a load
 * (nr_segments 0 would unload, so it is not used). */
TRY(t_kexec_load, SYS_kexec_load, 0, 1000, BAD_PTR, 0x8000, 0, 0)
/* Undefined flag only (never KEXEC_FILE_UNLOAD). */
TRY(t_kexec_file, SYS_kexec_file_load, -1, -1, 0, BAD_PTR, 1L << 30, 0)
TRY(t_finit_module, SYS_finit_module, -1, (long)"", 0x40000000, 0, 0, 0)
TRY(t_init_module, SYS_init_module, 0, 0, (long)"", 0, 0, 0)
TRY(t_delete_module, SYS_delete_module, BAD_PTR, 0, 0, 0, 0, 0)
TRY(t_acct, SYS_acct, BAD_PTR, 0, 0, 0, 0, 0)
TRY(t_swapon, SYS_swapon, BAD_PTR, 0, 0, 0, 0, 0)
TRY(t_swapoff, SYS_swapoff, BAD_PTR, 0, 0, 0, 0, 0)
/* Unknown subcommand without a device: ENODEV, no cap check of its own. */
TRY(t_quotactl, SYS_quotactl, 0x7fff00, 0, 0, 0, 0, 0)
TRY(t_quotactl_fd, SYS_quotactl_fd, -1, 0x7fff00, 0, 0, 0, 0)
TRY(t_lookup_dcookie, SYS_lookup_dcookie, 0, BAD_PTR, 16, 0, 0, 0)
TRY(t_clock_settime, SYS_clock_settime, 1000 /* no such clock */, BAD_PTR, 0, 0, 0, 0)
/* Wrong magic1: EINVAL after the CAP_SYS_BOOT check. Never the real magic. */
TRY(t_reboot, SYS_reboot, 0x12345678, 0, 0, 0, 0, 0)
TRY(t_syslog_read, SYS_syslog, SYSLOG_ACTION_READ_ALL, BAD_PTR, 4096, 0, 0, 0)
/* Console level with len 0: EINVAL after the CAP_SYSLOG check. */
TRY(t_syslog_level, SYS_syslog, SYSLOG_ACTION_CONSOLE_LEVEL, 0, 0, 0, 0, 0)
/* PTRACE_SEIZE with addr != 0: EIO before any attach; pid 1 is never stopped. */
TRY(t_ptrace, SYS_ptrace, PTRACE_SEIZE_NR, 1, 1, 0, 0, 0)
TRY(t_pidfd_getfd, SYS_pidfd_getfd, -1, 0, 1, 0, 0, 0)
TRY(t_process_madvise, SYS_process_madvise, -1, 0, 0, 0, 0, 0)
TRY(t_personality, SYS_personality, PERSONA_READ_IMPLIES_EXEC, 0, 0, 0, 0, 0)
TRY(t_uselib, SYS_uselib, BAD_PTR, 0, 0, 0, 0, 0)
TRY(t_ustat, SYS_ustat, 0, BAD_PTR, 0, 0, 0, 0)
TRY(t_sysfs, SYS_sysfs, 1, BAD_PTR, 0, 0, 0, 0)
TRY(t_sysctl, SYS__sysctl, BAD_PTR, 0, 0, 0, 0, 0)
TRY(t_move_pages, SYS_move_pages, 0, 1, BAD_PTR, 0, BAD_PTR, 0)
TRY(t_mbind, SYS_mbind, 0, 0, 0x7fff, 0, 0, 0)
TRY(t_set_mempolicy, SYS_set_mempolicy, 0x7fff, 0, 0, 0, 0, 0)

/* tz out of range, tv NULL: EINVAL only after the CAP_SYS_TIME check. */
TRY(t_settimeofday, SYS_settimeofday, 0, ((long)&(struct timezone){100000, 0}), 0, 0, 0, 0)
/* ADJ_TICK with tick 1 (< 900000/USER_HZ): EINVAL after the CAP_SYS_TIME check, before
 * anything is changed (timekeeping_validate_timex). */
TRY(t_adjtimex_tick, SYS_adjtimex, ((long)&(struct timex){.modes = ADJ_TICK, .tick = 1}), 0, 0,
    0, 0, 0)
/* Remote address 16 is never mapped: EFAULT once the ptrace access check passed. */
TRY(t_process_vm_readv, SYS_process_vm_readv, 1, ((long)&(struct iovec){(char[8]){0}, 8}), 1,
    ((long)&(struct iovec){(void *)16, 8}), 1, 0)

static long t_kcmp(void *p)
{
	return sys6(SYS_kcmp, getpid(), getpid(), 0x7fff, 0, 0, 0);
}

static long t_close_bad(void *p)
{
	return sys6(SYS_close, -1, 0, 0, 0, 0, 0);
}

static void probe_syscalls(int argc, char **argv)
{
	const char *n = "syscalls";
	struct outcome c = in_child(t_close_bad, NULL);
	if (c.ran && c.ret == -EBADF)
		OK("syscalls-control", "close(-1) -> EBADF: allowed calls reach the kernel");
	else
		ERR("syscalls-control", "close(-1) -> %s, expected EBADF: the technique cannot work here",
		    c.ran ? ename((int)-c.ret) : "no result");
	static const struct {
		const char *what;
		long (*fn)(void *);
		const char *why;
	} t[] = {
		{"keyctl(invalid op)", t_keyctl, SECCOMP_ONLY},
		{"add_key(bad pointers)", t_add_key, SECCOMP_ONLY},
		{"request_key(bad pointers)", t_request_key, SECCOMP_ONLY},
		{"userfaultfd(invalid flags)", t_userfaultfd, SECCOMP_ONLY},
		{"perf_event_open(bad attr)", t_perf, SECCOMP_ONLY},
		{"bpf(BPF_PROG_LOAD, bad attr)", t_bpf, SECCOMP_ONLY},
		{"io_uring_setup(bad params)", t_io_uring, SECCOMP_ONLY},
		{"kexec_load(1000 segments, invalid flag)", t_kexec_load, GATE},
		{"kexec_file_load(invalid flag)", t_kexec_file, GATE},
		{"finit_module(-1, invalid flags)", t_finit_module, GATE},
		{"init_module(NULL, 0)", t_init_module, GATE},
		{"delete_module(bad pointer)", t_delete_module, GATE},
		{"acct(bad pointer)", t_acct, GATE},
		{"swapon(bad pointer)", t_swapon, GATE},
		{"swapoff(bad pointer)", t_swapoff, GATE},
		{"quotactl(invalid command, NULL)", t_quotactl, SECCOMP_ONLY},
		{"quotactl_fd(-1)", t_quotactl_fd, SECCOMP_ONLY},
		{"lookup_dcookie(bad pointer)", t_lookup_dcookie, SECCOMP_ONLY},
		{"settimeofday(NULL, tz out of range)", t_settimeofday, GATE},
		{"clock_settime(invalid clock)", t_clock_settime, SECCOMP_ONLY},
		/* adjtimex itself is allowed (reading the clock state, as in moby); changing it needs
		 * CAP_SYS_TIME, which ADJ_TICK checks before the out-of-range tick. */
		{"adjtimex(ADJ_TICK, tick=1)", t_adjtimex_tick, GATE},
		{"reboot(wrong magic)", t_reboot, GATE},
		{"syslog(READ_ALL, bad pointer)", t_syslog_read, "passed seccomp (and dmesg_restrict)"},
		{"syslog(CONSOLE_LEVEL, len 0)", t_syslog_level, GATE},
		{"ptrace(PTRACE_SEIZE, 1, addr!=0)", t_ptrace, SECCOMP_ONLY},
		{"process_vm_readv(1, unmapped remote)", t_process_vm_readv, GATE},
		{"pidfd_getfd(-1, invalid flags)", t_pidfd_getfd, SECCOMP_ONLY},
		{"process_madvise(-1)", t_process_madvise, SECCOMP_ONLY},
		{"kcmp(self, self, invalid type)", t_kcmp, SECCOMP_ONLY},
		{"personality(READ_IMPLIES_EXEC)", t_personality, SECCOMP_ONLY},
		{"uselib(bad pointer)", t_uselib, SECCOMP_ONLY},
		{"ustat(0, bad pointer)", t_ustat, SECCOMP_ONLY},
		{"sysfs(1, bad pointer)", t_sysfs, SECCOMP_ONLY},
		{"_sysctl(bad pointer)", t_sysctl, SECCOMP_ONLY},
		{"move_pages(self, bad pointers)", t_move_pages, SECCOMP_ONLY},
		{"mbind(invalid mode)", t_mbind, SECCOMP_ONLY},
		{"set_mempolicy(invalid mode)", t_set_mempolicy, SECCOMP_ONLY},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		judge(n, t[i].what, in_child(t[i].fn, NULL), t[i].why);
}

/* ---- E21 sockets ----------------------------------------------------------------- */

static long t_socket(void *p)
{
	const int *a = p;
	return close_fd(sys6(SYS_socket, a[0], a[1], a[2], 0, 0, 0));
}

static void probe_sockets(int argc, char **argv)
{
	static const struct {
		const char *what;
		int args[3];
	} t[] = {
		{"socket(AF_ALG, SOCK_SEQPACKET)", {AF_ALG, SOCK_SEQPACKET, 0}},
		{"socket(AF_VSOCK, SOCK_STREAM)", {AF_VSOCK, SOCK_STREAM, 0}},
		{"socket(AF_PACKET, SOCK_RAW)", {AF_PACKET, SOCK_RAW, 0x0300 /* htons(ETH_P_ALL) */}},
		{"socket(AF_INET, SOCK_RAW, ICMP)", {AF_INET, SOCK_RAW, 1}},
		{"socket(AF_NETLINK, SOCK_RAW, NETLINK_AUDIT)", {AF_NETLINK, SOCK_RAW, NETLINK_AUDIT}},
		/* Invalid type 15: EINVAL means the family got past the seccomp filter (and no
		 * module is autoloaded for it). */
		{"socket(AF_ALG, invalid type)", {AF_ALG, 15, 0}},
		{"socket(AF_VSOCK, invalid type)", {AF_VSOCK, 15, 0}},
	};
	static const int refusals[] = {EACCES, EAFNOSUPPORT, EPROTONOSUPPORT, ESOCKTNOSUPPORT, 0};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		int real = t[i].args[1] != 15;
		judge_also("sockets", t[i].what, in_child(t_socket, (void *)t[i].args),
			   real ? "unexpected error" : "the address family passed the seccomp filter",
			   real ? refusals : NULL);
	}
	static const int inet[3] = {AF_INET, SOCK_STREAM, 0};
	struct outcome o = in_child(t_socket, (void *)inet);
	if (o.ran && o.ret >= 0)
		OK("sockets-control", "socket(AF_INET, SOCK_STREAM) works");
	else
		ERR("sockets-control", "socket(AF_INET, SOCK_STREAM) -> %s, expected to work",
		    o.ran ? ename((int)-o.ret) : "no result");
}

/* ---- E27 abstract unix sockets of the host ---------------------------------------- */

static const char *abstract_name;

/* connect(2) (SOCK_STREAM) or sendto(2) (SOCK_DGRAM) to the abstract socket `abstract_name`. */
static long t_abstract(void *p)
{
	int type = *(const int *)p;
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	size_t n = strlen(abstract_name);
	if (n > sizeof a.sun_path - 1)
		n = sizeof a.sun_path - 1;
	memcpy(a.sun_path + 1, abstract_name, n);
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	long fd = sys6(SYS_socket, AF_UNIX, type | SOCK_CLOEXEC, 0, 0, 0, 0);
	if (fd < 0)
		return fd;
	long r = type == SOCK_STREAM
			 ? sys6(SYS_connect, fd, (long)&a, len, 0, 0, 0)
			 : sys6(SYS_sendto, fd, (long)"x", 1, MSG_NOSIGNAL, (long)&a, len);
	close(fd);
	return r < 0 ? r : 0;
}

/* NAME: an abstract socket the host listens on (stream and datagram, the test makes both
 * under NAME-s and NAME-d). Only EPERM counts as blocked: ECONNREFUSED says the name is not
 * there at all (another network namespace, or no listener), which proves nothing. */
static void probe_abstract_unix(int argc, char **argv)
{
	static const int stream = SOCK_STREAM, dgram = SOCK_DGRAM;
	static char names[2][108];
	snprintf(names[0], sizeof names[0], "%s-s", argv[0]);
	snprintf(names[1], sizeof names[1], "%s-d", argv[0]);
	for (int i = 0; i < 2; i++) {
		abstract_name = names[i];
		struct outcome o = in_child(t_abstract, (void *)(i == 0 ? &stream : &dgram));
		const char *what = i == 0 ? "connect(abstract stream)" : "sendto(abstract dgram)";
		int e = o.ran && o.ret < 0 ? (int)-o.ret : 0;
		if (o.ran && e == EPERM)
			OK("abstract-unix", "%s %s -> EPERM", what, names[i]);
		else if (o.ran && o.ret == 0)
			ESC("abstract-unix", 0, "%s %s reached the host's socket", what, names[i]);
		else
			ERR("abstract-unix", "%s %s -> %s, expected EPERM", what, names[i],
			    o.ran ? ename(e) : "no result");
	}
}

/* ---- E22 abi --------------------------------------------------------------------- */

static char *low_page; /* below 4 GiB, for pointers passed through int $0x80 */

static long int80(long nr, long a, long b, long c, long d, long e)
{
	long ret;
	__asm__ volatile("int $0x80"
			 : "=a"(ret)
			 : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e)
			 : "memory", "cc", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15");
	return (long)(int)ret;
}

/* i386 numbers: mount 21, unshare 310, keyctl 288; x32: 165, 272, 250 | 0x40000000. */
#define INT80(fn, nr, a, b, c, d) \
	static long fn(void *p) { return int80(nr, a, b, c, d, 0); }
INT80(t_i386_mount, 21, 0, (long)low_page, 0, MS_SHARED | MS_PRIVATE)
INT80(t_i386_unshare, 310, CLONE_NEWUSER | CLONE_NEWNS, 0, 0, 0)
INT80(t_i386_keyctl, 288, 0x7fffffff, 0, 0, 0)
INT80(t_i386_getpid, 20, 0, 0, 0, 0)
TRY(t_x32_mount, X32_BIT | 165, 0, (long)"/", 0, MS_SHARED | MS_PRIVATE, 0, 0)
TRY(t_x32_unshare, X32_BIT | 272, CLONE_NEWUSER | CLONE_NEWNS, 0, 0, 0, 0, 0)
TRY(t_x32_keyctl, X32_BIT | 250, 0x7fffffff, 0, 0, 0, 0, 0)
/* fd -1: EBADF if the filter lets the command through; nothing is ever injected. */
TRY(t_tiocsti, SYS_ioctl, -1, TIOCSTI, BAD_PTR, 0, 0, 0)
TRY(t_tiocsti_hi, SYS_ioctl, -1, (long)(TIOCSTI | (1UL << 32)), BAD_PTR, 0, 0, 0)
TRY(t_tioclinux_hi, SYS_ioctl, -1, (long)(TIOCLINUX | (1UL << 32)), BAD_PTR, 0, 0, 0)

static void probe_abi(int argc, char **argv)
{
	if (!low_page) {
		void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
		if (m == MAP_FAILED) {
			ERR("abi", "mmap(MAP_32BIT) -> %s", ename(errno));
			return;
		}
		low_page = m;
		strcpy(low_page, "/");
	}
	static const struct {
		const char *what;
		long (*fn)(void *);
		const char *why;
	} t[] = {
		{"int $0x80 mount(NULL, /, MS_SHARED|MS_PRIVATE)", t_i386_mount, GATE},
		{"int $0x80 unshare(CLONE_NEWUSER|CLONE_NEWNS)", t_i386_unshare, "i386 entry not filtered"},
		{"int $0x80 keyctl(invalid op)", t_i386_keyctl, SECCOMP_ONLY},
		{"x32 mount(NULL, /, MS_SHARED|MS_PRIVATE)", t_x32_mount, GATE},
		{"x32 unshare(CLONE_NEWUSER|CLONE_NEWNS)", t_x32_unshare, "x32 entry not filtered"},
		{"x32 keyctl(invalid op)", t_x32_keyctl, SECCOMP_ONLY},
		{"ioctl(-1, TIOCSTI)", t_tiocsti, "the command passed seccomp"},
		{"ioctl(-1, TIOCSTI|1<<32)", t_tiocsti_hi, "the command passed seccomp (compare masked?)"},
		{"ioctl(-1, TIOCLINUX|1<<32)", t_tioclinux_hi, "the command passed seccomp (compare masked?)"},
	};
	/* Without IA32 emulation int $0x80 raises SIGSEGV (GP fault): the ABI is absent. A
	 * harmless getpid tells that apart from a crash of the probe itself. */
	struct outcome c = in_child(t_i386_getpid, NULL);
	int no_ia32 = c.sig == SIGSEGV;
	if (no_ia32)
		OK("abi", "info: int $0x80 getpid -> SIGSEGV (no i386 emulation in this kernel)");
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		struct outcome o = in_child(t[i].fn, NULL);
		if (o.sig == SIGSEGV && i < 3 && no_ia32)
			OK("abi", "%s -> SIGSEGV (no i386 emulation)", t[i].what);
		else
			judge("abi", t[i].what, o, t[i].why);
	}
}

/* ---- E29 forkbomb, E30 memhog, E32 inodes, E34 cpuburn ----------------------------- */

static void probe_forkbomb(int argc, char **argv)
{
	const char *n = "forkbomb";
	long limit = strtol(argv[0], NULL, 10); /* checked by check_args */
	pid_t *pids = calloc((size_t)limit + 1, sizeof *pids);
	if (!pids) {
		ERR(n, "calloc failed");
		return;
	}
	pid_t parent = getpid();
	long count = 0;
	int err = 0;
	while (count <= limit) {
		pid_t p = fork();
		if (p < 0) {
			err = errno;
			break;
		}
		if (p == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(0);
			for (;;)
				pause();
		}
		pids[count++] = p;
	}
	for (long i = 0; i < count; i++)
		kill(pids[i], SIGKILL);
	for (long i = 0; i < count; i++)
		while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
			;
	free(pids);
	if (count > limit)
		ESC(n, 0, "forked %ld children without failure, more than the limit %ld (all killed)",
		    count, limit);
	else if (err == EAGAIN)
		OK(n, "fork failed with EAGAIN after %ld children (limit %ld)", count, limit);
	else
		ERR(n, "fork failed with %s after %ld children, expected EAGAIN", ename(err), count);
}

static long t_memhog(void *p)
{
	long mib = (long)p;
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) { /* best effort: be the OOM victim, not the probe */
		(void)!write(fd, "1000", 4);
		close(fd);
	}
	size_t len = (size_t)mib << 20;
	char *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	if (m == MAP_FAILED)
		return -errno;
	for (size_t off = 0; off < len; off += 4096) {
		m[off] = 1;
		if ((off & ((1 << 20) - 1)) == 0)
			sh->progress = (long)(off >> 20);
	}
	sh->progress = mib;
	return mib;
}

static void probe_memhog(int argc, char **argv)
{
	const char *n = "memhog";
	long mib = strtol(argv[0], NULL, 10); /* checked by check_args */
	sh->progress = 0;
	struct outcome o = in_child(t_memhog, (void *)mib);
	if (o.sig == SIGKILL)
		OK(n, "child killed by SIGKILL after touching about %ld of %ld MiB", sh->progress, mib);
	else if (o.sig)
		ERR(n, "child killed by signal %d (%s) after %ld MiB, expected SIGKILL", o.sig,
		    strsignal(o.sig), sh->progress);
	else if (o.ran && o.ret < 0)
		ERR(n, "mmap(%ld MiB) -> %s, the memory limit was not exercised", mib,
		    ename((int)-o.ret));
	else if (o.ran)
		ESC(n, 0, "allocated and touched %ld MiB without being killed", mib);
	else
		ERR(n, "no result from the child");
}

static void probe_inodes(int argc, char **argv)
{
	const char *n = "inodes";
	long max = strtol(argv[0], NULL, 10); /* checked by check_args */
	const char *base = argc > 1 ? argv[1] : "/";
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s%svsprobe-inodes.%d", base,
		 base[strlen(base) - 1] == '/' ? "" : "/", (int)getpid());
	if (mkdir(dir, 0700) < 0) {
		if (errno == ENOSPC || errno == EDQUOT)
			OK(n, "mkdir %s -> %s, created=0", dir, ename(errno));
		else
			ERR(n, "mkdir %s -> %s", dir, ename(errno));
		return;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		ERR(n, "open %s -> %s", dir, ename(errno));
		rmdir(dir);
		return;
	}
	long count = 0;
	int err = 0;
	char name[32];
	while (count < max) {
		snprintf(name, sizeof name, "%ld", count);
		int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0) {
			err = errno;
			break;
		}
		close(fd);
		count++;
	}
	for (long i = 0; i < count; i++) {
		snprintf(name, sizeof name, "%ld", i);
		unlinkat(dfd, name, 0);
	}
	close(dfd);
	int rm = rmdir(dir);
	if (count >= max)
		ESC(n, 0, "created %ld files in %s without hitting a limit (max %ld)", count, dir, max);
	else if (err == ENOSPC || err == EDQUOT)
		OK(n, "stopped with %s after created=%ld files (max %ld)", ename(err), count, max);
	else
		ERR(n, "file %ld failed with %s, expected ENOSPC/EDQUOT", count, ename(err));
	if (rm < 0)
		ERR(n, "rmdir %s -> %s", dir, ename(errno));
}

static long now_ms(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void probe_cpuburn(int argc, char **argv)
{
	long ms = strtol(argv[0], NULL, 10); /* checked by check_args */
	long start = now_ms(CLOCK_MONOTONIC), cpu0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
	volatile unsigned long spin = 0;
	while (now_ms(CLOCK_MONOTONIC) - start < ms)
		for (int i = 0; i < 100000; i++)
			spin++;
	OK("cpuburn", "spun=%ld cpu_ms=%ld", ms, now_ms(CLOCK_PROCESS_CPUTIME_ID) - cpu0);
}

/* ---- dispatch -------------------------------------------------------------------- */

static const struct probe {
	const char *name;
	int min_args, max_args;
	void (*fn)(int, char **);
	const char *args;
	int base;    /* first argument: 0 = absolute path, -1 = C integer literal, else a */
	long lo, hi; /* number in this base within [lo, hi]; later ones: absolute paths */
} probes[] = {
	/* Probes without arguments, in the order `all` runs them (fds first, before the
	 * probe itself has opened anything). */
	{"fds", 0, 0, probe_fds, "", 0, 0, 0},
	{"mount", 0, 0, probe_mount, "", 0, 0, 0},
	{"ns", 0, 0, probe_ns, "", 0, 0, 0},
	{"hostname", 0, 0, probe_hostname, "", 0, 0, 0},
	{"shocker", 0, 0, probe_shocker, "", 0, 0, 0},
	{"masks", 0, 0, probe_masks, "", 0, 0, 0},
	{"procsys", 0, 0, probe_procsys, "", 0, 0, 0},
	{"sysfs", 0, 0, probe_sysfs, "", 0, 0, 0},
	{"cgroupfs", 0, 0, probe_cgroupfs, "", 0, 0, 0},
	{"devices", 0, 1, probe_devices, "[DIR]", 0, 0, 0},
	{"syscalls", 0, 0, probe_syscalls, "", 0, 0, 0},
	{"sockets", 0, 0, probe_sockets, "", 0, 0, 0},
	{"abi", 0, 0, probe_abi, "", 0, 0, 0},
	/* Probes that need an argument. */
	{"chroot-escape", 1, 1, probe_chroot_escape, "HOSTMARKER", 0, 0, 0},
	{"kill-host", 1, 1, probe_kill_host, "PID", 10, 2, INT_MAX},
	{"shm", 1, 1, probe_shm, "KEY", -1, INT_MIN, UINT_MAX},
	{"caps", 1, 1, probe_caps, "HEXMASK", 16, 0, LONG_MAX},
	{"forkbomb", 1, 1, probe_forkbomb, "LIMIT", 10, 1, 1000000},
	{"memhog", 1, 1, probe_memhog, "MIB", 10, 1, 1L << 24},
	{"inodes", 1, 2, probe_inodes, "MAX [DIR]", 10, 1, 100000000},
	{"cpuburn", 1, 1, probe_cpuburn, "MS", 10, 1, 3600000},
	{"abstract-unix", 1, 1, probe_abstract_unix, "/NAME", 0, 0, 0},
};
#define NPROBES (sizeof probes / sizeof probes[0])

static const struct probe *find_probe(const char *name)
{
	for (size_t i = 0; i < NPROBES; i++)
		if (!strcmp(probes[i].name, name))
			return &probes[i];
	return NULL;
}

static int check_args(const struct probe *p, int argc, char **argv)
{
	long v = 0;
	if (!p || argc < p->min_args || argc > p->max_args)
		return -1;
	for (int i = 0; i < argc; i++) {
		if (i == 0 && p->base) {
			if (parse_long(argv[0], p->base < 0 ? 0 : p->base, p->lo, p->hi, &v) < 0)
				return -1;
		} else if (argv[i][0] != '/') {
			return -1;
		}
	}
	if (!strcmp(p->name, "kill-host") && (v == getpid() || v == getppid()))
		return -1; /* never ourselves or our caller */
	if (!strcmp(p->name, "shm") && v == 0)
		return -1; /* IPC_PRIVATE would create a segment */
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: vsprobe NAME [ARGS]\n"
			"       vsprobe all [NAME=ARG[,ARG]...]   every probe without arguments, then\n"
			"                                         the NAME=ARG ones given\n"
			"probes:");
	for (size_t i = 0; i < NPROBES; i++)
		fprintf(stderr, "\n  %s %s", probes[i].name, probes[i].args);
	fprintf(stderr, "\noutput: PROBE NAME ok DETAIL | PROBE NAME escaped errno=EXXX DETAIL |"
			" PROBE NAME error DETAIL\nexit: 0 all ok, 1 escaped or error, 2 usage\n");
	exit(2);
}

/* Splits "a,b" in place into at most 2 arguments. */
static int split_args(char *s, char **out)
{
	int n = 0;
	out[n++] = s;
	char *c = strchr(s, ',');
	if (c) {
		*c = 0;
		out[n++] = c + 1;
		if (strchr(c + 1, ','))
			return -1;
	}
	return n;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		fprintf(stderr, "vsprobe: mmap: %s\n", strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(argv[1], "all")) {
		/* Validate everything before running anything. */
		char *names[64], *args[64][2];
		int nargs[64], extra = argc - 2;
		if (extra > 64)
			usage();
		for (int i = 0; i < extra; i++) {
			char *eq = strchr(argv[i + 2], '=');
			if (!eq)
				usage();
			*eq = 0;
			names[i] = argv[i + 2];
			nargs[i] = split_args(eq + 1, args[i]);
			const struct probe *p = find_probe(names[i]);
			if (!p || p->min_args == 0 || nargs[i] < 0 || check_args(p, nargs[i], args[i]) < 0)
				usage();
		}
		for (size_t i = 0; i < NPROBES; i++)
			if (probes[i].min_args == 0)
				probes[i].fn(0, NULL);
		for (int i = 0; i < extra; i++)
			find_probe(names[i])->fn(nargs[i], args[i]);
	} else {
		const struct probe *p = find_probe(argv[1]);
		if (check_args(p, argc - 2, argv + 2) < 0)
			usage();
		p->fn(argc - 2, argv + 2);
	}
	return sh->escaped || sh->errors ? 1 : 0;
}
