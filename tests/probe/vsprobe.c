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
#include "vsprobe.h"

/* ---- output ---------------------------------------------------------------------- */

struct shared *sh;

const char *ename(int e)
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

void report(const char *probe, int verdict, int err, const char *fmt, ...)
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

/* ---- helpers --------------------------------------------------------------------- */

long sys6(long nr, long a, long b, long c, long d, long e, long f)
{
	long r = syscall(nr, a, b, c, d, e, f);
	return r == -1 ? -(long)errno : r;
}

long close_fd(long fd)
{
	if (fd >= 0)
		close((int)fd);
	return fd;
}

struct outcome in_child(long (*fn)(void *), void *arg)
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

void judge_also(const char *probe, const char *what, struct outcome o,
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

int parse_long(const char *s, int base, long min, long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, base);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int make_tmpdir(const char *tag, char *out, size_t outsz)
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

int same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
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
