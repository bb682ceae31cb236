/* vsprobe's filesystem probes: escapes from the root (chroot, mounts, file handles, open
 * fds) and what the guest's /proc, /sys, cgroupfs and /dev let it write or create. */
#include "vsprobe.h"

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

void probe_chroot_escape(int argc, char **argv)
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

void probe_mount(int argc, char **argv)
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

void probe_shocker(int argc, char **argv)
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

void probe_fds(int argc, char **argv)
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

void probe_masks(int argc, char **argv)
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

void probe_procsys(int argc, char **argv)
{
	const char *files[] = {"/proc/sys/kernel/core_pattern", "/proc/sysrq-trigger",
			       "/proc/sys/kernel/modprobe", "/proc/sys/fs/binfmt_misc/register",
			       "/proc/sys/vm/drop_caches", "/proc/sys/net/ipv4/ip_forward"};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
		try_write_open("procsys", files[i]);
}

void probe_sysfs(int argc, char **argv)
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

void probe_cgroupfs(int argc, char **argv)
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

void probe_devices(int argc, char **argv)
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
