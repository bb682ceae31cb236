/* vsprobe's insides, shared by its files: vsprobe.c (output, helpers, dispatch, main) and
 * the probe families vsprobe_fs.c, vsprobe_syscalls.c, vsprobe_net.c, vsprobe_resources.c.
 * Include it first: it sets _GNU_SOURCE for the libc headers it includes. */
#ifndef VSPROBE_H
#define VSPROBE_H

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
extern struct shared *sh;

enum { V_OK, V_ESC, V_ERR };

/* The name of errno value e ("EPERM"), "0" for 0, "E<n>" for one without a name. */
const char *ename(int e);

/* One line, one write(2): safe in forked children, no stdio buffers to duplicate. */
__attribute__((format(printf, 4, 5)))
void report(const char *probe, int verdict, int err, const char *fmt, ...);

#define OK(p, ...) report(p, V_OK, 0, __VA_ARGS__)
#define ESC(p, e, ...) report(p, V_ESC, e, __VA_ARGS__)
#define ERR(p, ...) report(p, V_ERR, 0, __VA_ARGS__)

/* ---- helpers --------------------------------------------------------------------- */

/* Raw syscall with every argument a full long; returns -errno on failure. */
long sys6(long nr, long a, long b, long c, long d, long e, long f);
/* Closes fd if it is one; returns it. */
long close_fd(long fd);

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
struct outcome in_child(long (*fn)(void *), void *arg);

/* Verdict for an attempt whose only acceptable outcomes are EPERM, ENOSYS, SIGSYS or an
 * errno in also_ok. Anything else means the call got past seccomp and the capability
 * check (why_escaped says what that error means). */
void judge_also(const char *probe, const char *what, struct outcome o,
		const char *why_escaped, const int *also_ok);

#define judge(probe, what, o, why) judge_also(probe, what, o, why, NULL)

#define GATE "passed seccomp and the capability check (the error is from the invalid arguments)"
#define SECCOMP_ONLY "passed seccomp, its only gate (the error is from the invalid arguments)"

/* All of s as a number in base (0: as in C) within [min, max] into *out; else -1. */
int parse_long(const char *s, int base, long min, long max, long *out);
/* A private temp directory for mount targets, device nodes and the like. */
int make_tmpdir(const char *tag, char *out, size_t outsz);
/* Whether a and b are the same inode. */
int same_file(const struct stat *a, const struct stat *b);

/* ---- the probes: PROBE(argc, argv), argv the probe's arguments (see vsprobe.c) ------ */

/* vsprobe_fs.c */
void probe_chroot_escape(int argc, char **argv);
void probe_mount(int argc, char **argv);
void probe_shocker(int argc, char **argv);
void probe_fds(int argc, char **argv);
void probe_masks(int argc, char **argv);
void probe_procsys(int argc, char **argv);
void probe_sysfs(int argc, char **argv);
void probe_cgroupfs(int argc, char **argv);
void probe_devices(int argc, char **argv);

/* vsprobe_syscalls.c */
void probe_ns(int argc, char **argv);
void probe_kill_host(int argc, char **argv);
void probe_hostname(int argc, char **argv);
void probe_shm(int argc, char **argv);
void probe_caps(int argc, char **argv);
void probe_syscalls(int argc, char **argv);
void probe_abi(int argc, char **argv);

/* vsprobe_net.c */
void probe_sockets(int argc, char **argv);
void probe_abstract_unix(int argc, char **argv);

/* vsprobe_resources.c */
void probe_forkbomb(int argc, char **argv);
void probe_memhog(int argc, char **argv);
void probe_inodes(int argc, char **argv);
void probe_cpuburn(int argc, char **argv);

#endif
