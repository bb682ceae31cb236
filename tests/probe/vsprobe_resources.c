/* vsprobe's resource probes: processes, memory, inodes and cpu time against the limits. */
#include "vsprobe.h"

/* ---- E29 forkbomb, E30 memhog, E32 inodes, E34 cpuburn ----------------------------- */

void probe_forkbomb(int argc, char **argv)
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

void probe_memhog(int argc, char **argv)
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

void probe_inodes(int argc, char **argv)
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

void probe_cpuburn(int argc, char **argv)
{
	long ms = strtol(argv[0], NULL, 10); /* checked by check_args */
	long start = now_ms(CLOCK_MONOTONIC), cpu0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
	volatile unsigned long spin = 0;
	while (now_ms(CLOCK_MONOTONIC) - start < ms)
		for (int i = 0; i < 100000; i++)
			spin++;
	OK("cpuburn", "spun=%ld cpu_ms=%ld", ms, now_ms(CLOCK_PROCESS_CPUTIME_ID) - cpu0);
}
