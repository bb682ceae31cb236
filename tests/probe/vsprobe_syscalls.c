/* vsprobe's syscall and namespace probes: new namespaces, host pids, hostname and IPC,
 * capabilities, the syscalls the profile denies, and the other ABIs (i386, x32, ioctl). */
#include "vsprobe.h"

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

void probe_ns(int argc, char **argv)
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

void probe_kill_host(int argc, char **argv)
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

void probe_hostname(int argc, char **argv)
{
	judge("hostname", "sethostname(\"evil\", len=-1)", in_child(t_sethostname, NULL), GATE);
	judge("hostname", "setdomainname(\"evil\", len=-1)", in_child(t_setdomainname, NULL), GATE);
}

void probe_shm(int argc, char **argv)
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

/* ---- E19 caps <hexmask> ------------------------------------------------------------ */

void probe_caps(int argc, char **argv)
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

void probe_syscalls(int argc, char **argv)
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

void probe_abi(int argc, char **argv)
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
