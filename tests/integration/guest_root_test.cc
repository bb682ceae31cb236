// enter_guest_root on the real kernel (root): a busybox guest tree under the test's temp dir,
// entered by pid 1 of fresh mount + pid namespaces, then checked from inside (E01, E09-E12,
// E15) and from the host afterwards (victim files unchanged, no mount left behind). Hostile
// trees (E13) are in guest_root_hostile_test.cc.
#include "lib/mount/guest_root.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "lib/base/fs_at.h"
#include "lib/mount/mount_fd.h"
#include "tests/integration/guest_root_fixture.h"
#include "tests/support/root_env.h"
#include "tests/support/run_in_child.h"

namespace vs::test {
namespace {

namespace fs = std::filesystem;

// --- the guest's view ---

TEST_F(GuestRoot, RootIsTheGuestTreeAndChrootCannotEscape) {
  struct stat guest {};
  ASSERT_EQ(::stat(vdir_.c_str(), &guest), 0);
  bool host_nosuid = vfs_flags(vdir_) & ST_NOSUID;
  ASSERT_EQ(::mknod((vdir_ + "/tmp/null-node").c_str(), S_IFCHR | 0666, ::makedev(1, 3)), 0);
  run_in_child([&] {
    return in_guest(spec_, [&] {
      Checks c;
      struct stat root {};
      c.expect(
          ::stat("/", &root) == 0 && root.st_dev == guest.st_dev && root.st_ino == guest.st_ino,
          "/ is not the guest tree");
      c.expect(slurp("/marker") == "guest", "/marker is not the guest's");
      c.expect_errno(rc_of(::access(host_marker_.c_str(), F_OK)), ENOENT, "host marker");
      c.expect_errno(rc_of(::access(vdir_.c_str(), F_OK)), ENOENT, "host path of the vdir");
      // E01: chroot into a subdirectory, climb, chroot to where the climb ended.
      c.expect(::mkdir("/x", 0700) == 0 && ::chroot("/x") == 0, "mkdir+chroot /x");
      for (int i = 0; i < 64; ++i) (void)!::chdir("..");
      c.expect(::chroot(".") == 0, "chroot .");
      c.expect_errno(rc_of(::access(host_marker_.c_str(), F_OK)), ENOENT, "E01: host marker");
      c.expect(::stat("/", &root) == 0 && root.st_ino == guest.st_ino, "E01: / moved");
      struct stat up {};
      c.expect(::stat("/proc/1/root/../..", &up) == 0 && up.st_ino == guest.st_ino,
               "/proc/1/root/../.. is not the guest root");
      // E15: the guest root is nodev; suid stays as the host mount had it.
      c.expect_errno(open_errno("/tmp/null-node", O_WRONLY), EACCES, "device node in the tree");
      c.expect(static_cast<bool>(vfs_flags("/") & ST_NODEV), "/ is not nodev");
      c.expect(static_cast<bool>(vfs_flags("/") & ST_NOSUID) == host_nosuid, "/ nosuid changed");
      // The guest's own binaries run.
      pid_t sh = ::fork();
      if (sh == 0) {
        const char* argv[] = {"sh", "-c", "test -f /marker && test ! -e /dev/sda", nullptr};
        ::execv("/bin/sh", const_cast<char* const*>(argv));
        ::_exit(127);
      }
      int status = -1;
      ::waitpid(sh, &status, 0);
      c.expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
               "/bin/sh in the guest: status " + std::to_string(status));
      return c.result();
    });
  });
}

TEST_F(GuestRoot, ProcIsFreshMaskedAndPartlyReadOnly) {
  run_in_child([&] {
    return in_guest(spec_, [&] {
      Checks c;
      c.expect(::getpid() == 1, "not pid 1");
      std::set<std::string> pids;
      for (const auto& n : list_dir("/proc")) {
        if (std::all_of(n.begin(), n.end(), ::isdigit)) pids.insert(n);
      }
      c.expect(pids == std::set<std::string>{"1"}, "/proc shows pids " + join(pids));
      c.expect(fs_type("/proc") == PROC_SUPER_MAGIC, "/proc is not procfs");
      unsigned long want = ST_NOSUID | ST_NODEV | ST_NOEXEC;
      c.expect((vfs_flags("/proc") & want) == want, "/proc lacks nosuid,nodev,noexec");
      int checked = 0;
      for (const MaskedPath& m : masked_paths()) {
        std::string p(m.path);
        struct stat st {};
        if (p.rfind("/proc/", 0) != 0 || ::lstat(p.c_str(), &st) < 0) continue;
        ++checked;
        c.expect(static_cast<bool>(vfs_flags(p) & ST_RDONLY), p + ": mask is writable");
        if (S_ISDIR(st.st_mode)) {
          c.expect(list_dir(p).empty(), p + ": masked dir not empty");
          c.expect_errno(rc_of(::mkdir((p + "/x").c_str(), 0700)), EROFS, "mkdir in " + p);
        } else {
          c.expect(S_ISREG(st.st_mode) && st.st_size == 0, p + ": not an empty file");
          // Writes are refused (SECURITY.md E09), reads return nothing.
          c.expect_errno(open_errno(p, O_WRONLY), EROFS, "open for write " + p);
          c.expect(slurp(p).empty(), p + ": read something");
        }
      }
      c.expect(checked > 0, "no masked /proc path exists on this kernel: nothing was checked");
      c.expect_errno(open_errno("/proc/sys/kernel/domainname", O_WRONLY), EROFS,
                     "write /proc/sys/kernel/domainname");
      c.expect_errno(open_errno("/proc/sys/kernel/core_pattern", O_WRONLY), EROFS,
                     "E10: write /proc/sys/kernel/core_pattern");
      for (std::string_view ro : read_only_paths()) {
        std::string p(ro);
        if (::access(p.c_str(), F_OK) < 0) continue;
        c.expect(static_cast<bool>(vfs_flags(p) & ST_RDONLY), p + " is writable");
      }
      c.expect(slurp("/proc/1/comm").size() > 0, "/proc/1/comm unreadable");
      return c.result();
    });
  });
}

TEST_F(GuestRoot, SysIsReadOnlyAndHasNoCgroupfs) {
  run_in_child([&] {
    return in_guest(spec_, [&] {
      Checks c;
      c.expect(fs_type("/sys") == SYSFS_MAGIC, "/sys is not sysfs");
      unsigned long want = ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC;
      c.expect((vfs_flags("/sys") & want) == want, "/sys lacks ro,nosuid,nodev,noexec");
      // E11: whichever of these knobs this kernel has must refuse a write.
      int tried = 0;
      for (const char* knob :
           {"/sys/kernel/uevent_helper", "/sys/power/state", "/sys/class/net/lo/mtu",
            "/sys/kernel/mm/transparent_hugepage/enabled"}) {
        if (::access(knob, F_OK) < 0) continue;
        ++tried;
        c.expect_one_of(open_errno(knob, O_WRONLY), {EROFS, EACCES}, std::string("write ") + knob);
      }
      c.expect(tried > 0, "no sysfs knob to try");
      c.expect_errno(rc_of(::mkdir("/sys/x", 0700)), EROFS, "mkdir /sys/x");
      // E12: no cgroupfs unless asked for.
      long cg = fs_type("/sys/fs/cgroup");
      c.expect(cg != CGROUP2_SUPER_MAGIC && cg != CGROUP_SUPER_MAGIC && cg != TMPFS_MAGIC,
               "a cgroup hierarchy is mounted at /sys/fs/cgroup");
      c.expect(list_dir("/sys/fs/cgroup").empty(), "/sys/fs/cgroup is not empty");
      for (const MaskedPath& m : masked_paths()) {
        std::string p(m.path);
        if (p.rfind("/sys/", 0) != 0 || ::access(p.c_str(), F_OK) < 0) continue;
        c.expect(fs_type(p) == TMPFS_MAGIC && list_dir(p).empty(), p + " is not masked");
      }
      return c.result();
    });
  });
}

TEST_F(GuestRoot, CgroupIsReadOnlyWhenAsked) {
  spec_.cgroup_read_only = true;
  run_in_child([&] {
    return in_guest(
        spec_,
        [&] {
          Checks c;
          c.expect(fs_type("/sys/fs/cgroup") == CGROUP2_SUPER_MAGIC,
                   "no cgroup2 at /sys/fs/cgroup");
          c.expect(static_cast<bool>(vfs_flags("/sys/fs/cgroup") & ST_RDONLY), "cgroup2 writable");
          c.expect_errno(rc_of(::mkdir("/sys/fs/cgroup/x", 0700)), EROFS, "E12: mkdir a cgroup");
          c.expect_errno(open_errno("/sys/fs/cgroup/cgroup.procs", O_WRONLY), EROFS,
                         "E12: write cgroup.procs");
          return c.result();
        },
        {}, CLONE_NEWCGROUP);
  });
}

TEST_F(GuestRoot, DevIsAFreshMinimalTmpfs) {
  struct stat host_pts {};
  ASSERT_EQ(::stat("/dev/pts", &host_pts), 0);
  spec_.shm_size = 8 << 20;
  run_in_child([&] {
    return in_guest(spec_, [&] {
      Checks c;
      std::set<std::string> want = {"pts", "ptmx", "shm", "fd", "stdin", "stdout", "stderr"};
      for (const DeviceNode& d : device_nodes()) want.insert(std::string(d.name));
      std::set<std::string> got = list_dir("/dev");
      c.expect(got == want, "/dev holds: " + join(got));
      c.expect(fs_type("/dev") == TMPFS_MAGIC, "/dev is not tmpfs");
      c.expect(static_cast<bool>(vfs_flags("/dev") & ST_NOSUID), "/dev is not nosuid");
      for (const DeviceNode& d : device_nodes()) {
        std::string p = "/dev/" + std::string(d.name);
        struct stat st {};
        c.expect(::lstat(p.c_str(), &st) == 0 && S_ISCHR(st.st_mode) &&
                     st.st_rdev == ::makedev(d.major, d.minor),
                 p + " is not the right device");
      }
      int fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
      c.expect(fd >= 0 && ::write(fd, "x", 1) == 1, "write /dev/null");
      if (fd >= 0) ::close(fd);
      // A private devpts instance: not the host's, its first pty is 0.
      struct stat pts {};
      c.expect(fs_type("/dev/pts") == DEVPTS_SUPER_MAGIC, "/dev/pts is not devpts");
      c.expect(::stat("/dev/pts", &pts) == 0 && pts.st_dev != host_pts.st_dev,
               "/dev/pts is the host's instance");
      char link[64] = {};
      c.expect(
          ::readlink("/dev/ptmx", link, sizeof link - 1) > 0 && std::string(link) == "pts/ptmx",
          "/dev/ptmx is not a link to pts/ptmx");
      int master = ::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
      char name[64] = {};
      c.expect(master >= 0 && ::ptsname_r(master, name, sizeof name) == 0 &&
                   std::string(name) == "/dev/pts/0",
               "first pty of the new instance is not /dev/pts/0: " + std::string(name));
      if (master >= 0) ::close(master);
      // /dev/shm: tmpfs of the asked size, nosuid,nodev,noexec.
      struct statvfs shm {};
      unsigned long want_flags = ST_NOSUID | ST_NODEV | ST_NOEXEC;
      c.expect(::statvfs("/dev/shm", &shm) == 0 && (shm.f_flag & want_flags) == want_flags &&
                   shm.f_blocks * shm.f_frsize == (8u << 20),
               "/dev/shm is not an 8M nosuid,nodev,noexec tmpfs");
      c.expect(::readlink("/dev/fd", link, sizeof link - 1) > 0 &&
                   std::string(link).rfind("/proc/self/fd", 0) == 0,
               "/dev/fd");
      return c.result();
    });
  });
}

TEST_F(GuestRoot, MountinfoShowsOnlyGuestMountPoints) {
  run_in_child([&] {
    return in_guest(spec_, [&] {
      Checks c;
      int roots = 0;
      for (const auto& mp : mount_points()) {
        if (mp == "/") {
          ++roots;
          continue;
        }
        c.expect(under(mp, "/proc") || under(mp, "/sys") || under(mp, "/dev"),
                 "unexpected mount point " + mp);
        c.expect(mp.find(base_) == std::string::npos, "host path in mountinfo: " + mp);
      }
      c.expect(roots == 1, "mounts at /: " + std::to_string(roots));
      // No mount of the guest is a peer of anything: nothing propagates out of it.
      std::ifstream in("/proc/self/mountinfo");
      for (std::string line; std::getline(in, line);) {
        c.expect(line.find(" shared:") == std::string::npos, "shared mount: " + line);
      }
      return c.result();
    });
  });
}

TEST_F(GuestRoot, ExtraBindsAreNodevAndReadOnlyWhenAsked) {
  fs::create_directory(base_ + "/share");
  put(base_ + "/share/file", "data");
  put(base_ + "/rw", "old");
  put(vdir_ + "/etc/rw", "");
  spec_.binds = {{base_ + "/share", "/srv", true}, {base_ + "/rw", "/etc/rw", false}};
  run_in_child([&] {
    return in_guest(spec_, [&] {
      Checks c;
      c.expect(slurp("/srv/file") == "data", "/srv/file is not the host's");
      c.expect_errno(open_errno("/srv/new", O_WRONLY | O_CREAT), EROFS, "create in ro bind");
      c.expect((vfs_flags("/srv") & (ST_RDONLY | ST_NODEV)) == (ST_RDONLY | ST_NODEV),
               "/srv is not ro,nodev");
      std::ofstream("/etc/rw", std::ios::trunc) << "new";
      c.expect(slurp("/etc/rw") == "new", "rw bind not writable");
      return c.result();
    });
  });
  EXPECT_EQ(slurp(base_ + "/rw"), "new");
}

TEST_F(GuestRoot, ExtraBindOntoASymlinkIsRefused) {
  fs::create_directory(base_ + "/share");
  fs::create_symlink("/etc", vdir_ + "/srv/link");
  spec_.binds = {{base_ + "/share", "/srv/link", true}};
  run_in_child([&] { return in_guest(spec_, {}, refusal(vdir_ + "/srv/link", "is a symlink")); });
  spec_.binds = {{base_ + "/share", "/srv/link/x", true}};
  run_in_child([&] {
    return in_guest(spec_, {}, refusal(vdir_ + "/srv/link/x", "a symlink is on its path"));
  });
  EXPECT_TRUE(list_dir(vdir_ + "/etc").empty());
}

TEST_F(GuestRoot, GuestMountsRunBeneathTheRootBeforeProc) {
  int calls = 0;
  spec_.guest_mounts = [&](int root_fd) -> Result<void> {
    ++calls;
    auto target = open_beneath(root_fd, "tmp", O_PATH | O_DIRECTORY, 0, RESOLVE_NO_SYMLINKS);
    if (!target) return std::move(target).error();
    auto mnt = new_fs_mount("tmpfs", {{"size", "1m"}}, MOUNT_ATTR_NOSUID, "/tmp");
    if (!mnt) return std::move(mnt).error();
    return attach_mount(mnt->get(), target->get(), "/tmp");
  };
  run_in_child([&] {
    return in_guest(spec_, [&] {
      Checks c;
      c.expect(calls == 1, "guest_mounts ran " + std::to_string(calls) + " times");
      c.expect(fs_type("/tmp") == TMPFS_MAGIC, "/tmp is not the hook's tmpfs");
      c.expect(fs_type("/proc") == PROC_SUPER_MAGIC, "/proc missing after the hook");
      return c.result();
    });
  });
  spec_.guest_mounts = [](int) -> Result<void> {
    return make_error(ErrorKind::kFailed, "mount", "/x", "refused by the hook");
  };
  run_in_child([&] {
    return in_guest(spec_, {}, [](const Error& e) -> std::string {
      return e.message() == "guest mounts: mount `/x`: refused by the hook" ? "" : e.message();
    });
  });
}

TEST_F(GuestRoot, ConsoleIsTheGivenPty) {
  int master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  ASSERT_GE(master, 0) << err(errno);
  char name[64] = {};
  ASSERT_EQ(::ptsname_r(master, name, sizeof name), 0);
  ASSERT_EQ(::unlockpt(master), 0);
  struct stat pty {};
  ASSERT_EQ(::stat(name, &pty), 0);
  spec_.console = name;
  run_in_child([&] {
    return in_guest(spec_, [&] {
      Checks c;
      struct stat st {};
      c.expect(::stat("/dev/console", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == pty.st_rdev,
               "/dev/console is not the given pty");
      return c.result();
    });
  });
  ::close(master);
  spec_.console = victim_;  // not a pty: refused by name before anything is bound
  run_in_child([&] { return in_guest(spec_, {}, refusal(victim_, "is not a pty slave")); });
}

}  // namespace
}  // namespace vs::test
