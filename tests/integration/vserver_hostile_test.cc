// `vserver` against hostile input, as root: hostile trees and symlinks (SECURITY.md E13, E14,
// E16, E35, E40), fstab targets, bad names and configurations, a run dir it cannot write.
// Each test uses its own guest names.
#include <errno.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/integration/vserver_cli.h"
#include "tests/support/files.h"
#include "tests/support/root_env.h"
#include "tests/support/run_cmd.h"

namespace vs::test {
namespace {

namespace fs = std::filesystem;

// E13: a hostile tree is refused before anything is created.
TEST(Vserver, HostileTreeRefusedAtStart) {
  const std::string name = "hostile-tree";
  build(name);
  std::string t = root_env().tmp + "/e13";
  fs::create_directories(t + "/x");
  fs::remove_all(vdir(name) + "/proc");
  fs::create_symlink(t + "/x", vdir(name) + "/proc");
  auto r = vserver({name, "start"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("must be a directory"), std::string::npos) << r.err;
  EXPECT_TRUE(fs::is_empty(t + "/x"));
  EXPECT_TRUE(rundir_entries().empty());
  EXPECT_TRUE(context_cgroups().empty());

  // Links inside a real /dev: the guest gets a fresh /dev; the host victims stay as they were.
  fs::remove(vdir(name) + "/proc");
  fs::create_directory(vdir(name) + "/proc");
  write(t + "/victim", "victim");
  write(t + "/victim2", "victim2");
  fs::remove_all(vdir(name) + "/dev");
  fs::create_directory(vdir(name) + "/dev");
  fs::create_symlink(t + "/victim", vdir(name) + "/dev/null");
  fs::create_symlink(t + "/victim2", vdir(name) + "/dev/console");
  write(vdir(name) + "/dev/ptmx", "not a device");
  r = vserver({name, "start"});
  ASSERT_EQ(r.status, 0) << r.err;
  r = vserver({name, "exec", "sh", "-c", "echo x > /dev/null; [ -c /dev/null ] && [ -c /dev/ptmx ] && echo devices"});
  EXPECT_EQ(r.out, "devices\n") << r.err;
  EXPECT_EQ(slurp(t + "/victim"), "victim");
  EXPECT_EQ(slurp(t + "/victim2"), "victim2");
  EXPECT_EQ(vserver({name, "stop"}).status, 0);
  EXPECT_EQ(slurp(t + "/victim"), "victim");
  remove_guest(name);
}

// E35: symlinks a guest made towards host files; start, stop, restart and delete leave the
// host files byte-identical, and delete refuses while the guest runs.
TEST(Vserver, GuestSymlinksNeverFollowed) {
  const std::string name = "hostile-links";
  build(name);
  std::string t = root_env().tmp + "/e35";
  fs::create_directories(t + "/hostdir");
  write(t + "/hostdir/keep", "host file");
  write(t + "/victim", "victim");
  write(t + "/victim2", "victim2");
  fs::create_directories(vdir(name) + "/var/lock");
  fs::remove_all(vdir(name) + "/var/run");
  fs::create_symlink(t + "/hostdir", vdir(name) + "/var/lock/subsys");
  fs::create_symlink(t, vdir(name) + "/var/run");
  fs::remove(vdir(name) + "/etc/mtab");
  fs::create_symlink(t + "/victim2", vdir(name) + "/etc/mtab");
  ASSERT_EQ(vserver({name, "start"}).status, 0);
  auto r = vserver({name, "delete", "--yes"});
  EXPECT_EQ(r.status, 4) << r.err;
  EXPECT_TRUE(fs::exists(vdir(name) + "/bin/busybox"));
  EXPECT_EQ(vserver({name, "restart"}).status, 0);
  EXPECT_EQ(vserver({name, "stop"}).status, 0);
  r = vserver({name, "delete", "--yes"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(fs::exists(vdir(name)));
  EXPECT_FALSE(fs::exists(confdir(name)));
  EXPECT_EQ(slurp(t + "/hostdir/keep"), "host file");
  EXPECT_EQ(slurp(t + "/victim"), "victim");
  EXPECT_EQ(slurp(t + "/victim2"), "victim2");
}

// E40: the run dir is root's; nothing of it or of the configuration is in the guest's view.
TEST(Vserver, RunAndConfigDirsOutOfTheGuestsView) {
  const std::string name = "hidden-rundir";
  build(name);
  ASSERT_EQ(vserver({name, "start"}).status, 0);
  struct stat st {};
  ASSERT_EQ(::stat(root_env().rundir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(st.st_uid, 0u);
  auto r = vserver({name, "exec", "cat", "/proc/1/mountinfo"});
  ASSERT_EQ(r.status, 0);
  EXPECT_EQ(r.out.find(root_env().rundir), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(root_env().confdir), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("nsfs"), std::string::npos) << "no pin in the guest: " << r.out;
  // The guest root is a slave of the host's mounts, never shared with it (E14).
  EXPECT_EQ(r.out.find("shared:"), std::string::npos) << r.out;
  remove_guest(name);
}

// fstab: a tmpfs and a read-only bind inside the guest; E14: a target through a guest-made
// symlink is refused and nothing is mounted on the host.
TEST(Vserver, FstabMountsInsideTheGuestOnly) {
  const std::string name = "fstab-guest";
  build(name);
  std::string data = root_env().tmp + "/fstab-data";
  fs::create_directories(data);
  write(data + "/hello", "from the host");
  fs::create_directories(vdir(name) + "/srv/data");
  fs::create_directories(vdir(name) + "/mnt/scratch");
  write(confdir(name) + "/fstab",
        "# comment\n" + data + " /srv/data none bind,ro 0 0\n"
        "tmpfs /mnt/scratch tmpfs size=1m,mode=0700 0 0\n");
  // The classic layout's CONFDIR/NAME/fstab: read like util-vserver's.
  auto r = vserver({name, "start"});
  ASSERT_EQ(r.status, 0) << r.err;
  r = vserver({name, "exec", "cat", "/srv/data/hello"});
  EXPECT_EQ(r.out, "from the host");
  EXPECT_NE(vserver({name, "exec", "sh", "-c", "echo x > /srv/data/new"}).status, 0);
  EXPECT_FALSE(fs::exists(data + "/new"));
  r = vserver({name, "exec", "sh", "-c", "grep ' /mnt/scratch ' /proc/mounts"});
  EXPECT_NE(r.out.find("tmpfs"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("nodev"), std::string::npos) << r.out;
  ASSERT_EQ(vserver({name, "stop"}).status, 0);

  // E14 static: the guest turns the target into a link to its /etc: refused.
  fs::remove_all(vdir(name) + "/srv/data");
  fs::create_symlink("/etc", vdir(name) + "/srv/data");
  std::string host_mounts = slurp("/proc/self/mountinfo");
  r = vserver({name, "start"});
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("/srv/data"), std::string::npos) << r.err;
  EXPECT_EQ(slurp("/proc/self/mountinfo"), host_mounts);
  EXPECT_TRUE(context_cgroups().empty());

  // A malformed line: exit 2 with the file and line.
  fs::remove(vdir(name) + "/srv/data");
  write(confdir(name) + "/fstab", "only-two fields\n");
  r = vserver({name, "start"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find(confdir(name) + "/fstab:1"), std::string::npos) << r.err;
  remove_guest(name);
}

// E16: the base of the trees is made root-only; a host user cannot reach a guest's setuid
// file.
TEST(Vserver, VdirBaseIsRootOnly) {
  std::string base = root_env().tmp + "/vbase16";
  auto r = run_cmd({tool_path("vserver"), "--vdirbase", base, "e16", "build", "-m", "busybox",
                    "-q"});
  ASSERT_EQ(r.status, 0) << r.err;
  struct stat st {};
  ASSERT_EQ(::stat(base.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  write(base + "/e16/rootsh", "#!/bin/sh\n", 04755);
  pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgid(65534) < 0 || ::setuid(65534) < 0) ::_exit(2);
    struct stat s {};
    ::_exit(::stat((base + "/e16/rootsh").c_str(), &s) < 0 && errno == EACCES ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "uid 65534 reached rootsh";
  r = run_cmd({tool_path("vserver"), "--vdirbase", base, "e16", "delete", "--yes"});
  EXPECT_EQ(r.status, 0) << r.err;
}

TEST(Vserver, BadInputIsRefusedAndChangesNothing) {
  // Hostile names: usage errors, nothing created.
  for (const char* bad : {"..", "a/b", "-x", "bad\x01name", ".defaults"}) {
    auto r = vserver({bad, "build", "-m", "busybox"});
    EXPECT_EQ(r.status, 2) << bad << ": " << r.err;
  }
  EXPECT_EQ(vserver({"x1", "build", "-m", "nonsense"}).status, 2);
  EXPECT_EQ(vserver({"x1", "build", "-m", "clone"}).status, 2) << "clone needs --source";
  EXPECT_FALSE(fs::exists(confdir("x1")));
  EXPECT_FALSE(fs::exists(vdir("x1")));
  EXPECT_EQ(vserver({"x1", "frobnicate"}).status, 2);
  EXPECT_EQ(vserver({"no-such-guest", "start"}).status, 3);

  // An existing guest is not overwritten without --force.
  build("dup-guest");
  write(vdir("dup-guest") + "/etc/marker", "mine");
  auto r = vserver({"dup-guest", "build", "-m", "busybox"});
  EXPECT_EQ(r.status, 4);
  EXPECT_EQ(slurp(vdir("dup-guest") + "/etc/marker"), "mine");
  // --force replaces a stopped guest, never a running one.
  ASSERT_EQ(vserver({"dup-guest", "start"}).status, 0);
  EXPECT_EQ(vserver({"dup-guest", "build", "-m", "busybox", "--force", "-q"}).status, 4);
  EXPECT_EQ(slurp(vdir("dup-guest") + "/etc/marker"), "mine");
  ASSERT_EQ(vserver({"dup-guest", "stop"}).status, 0);
  EXPECT_EQ(vserver({"dup-guest", "build", "-m", "busybox", "--force", "-q"}).status, 0);
  EXPECT_FALSE(fs::exists(vdir("dup-guest") + "/etc/marker"));

  // A malformed configuration: exit 2 naming file, line and key; nothing started.
  std::string toml = slurp(confdir("dup-guest") + "/vserver.toml");
  write(confdir("dup-guest") + "/vserver.toml", toml + "\n[limits]\npids = \"lots\"\n");
  r = vserver({"dup-guest", "start"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("vserver.toml:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("limits.pids"), std::string::npos) << r.err;
  EXPECT_TRUE(rundir_entries().empty());

  // The same address in two guests: `config` names both files (exit 2); so does a start of
  // either (issue 20: the cross-guest checks run at start too), and it leaves nothing.
  write(confdir("dup-guest") + "/vserver.toml",
        toml + "\n[[interfaces]]\naddress = \"192.0.2.10\"\n");
  build("dup-guest2", "[[interfaces]]\naddress = \"192.0.2.10\"\n");
  r = vserver({"dup-guest", "config"});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("dup-guest2"), std::string::npos) << r.err;
  r = vserver({"dup-guest2", "start"});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("also an address of guest dup-guest "), std::string::npos) << r.err;
  // An address another running guest holds (the configuration changed since it started) is
  // refused at run time (exit 4) naming its context, and leaves nothing.
  write(confdir("dup-guest") + "/vserver.toml", toml);
  ASSERT_EQ(vserver({"dup-guest2", "start"}).status, 0);
  std::string t2 = slurp(confdir("dup-guest2") + "/vserver.toml");
  t2.replace(t2.find("192.0.2.10"), 10, "192.0.2.12");
  write(confdir("dup-guest2") + "/vserver.toml", t2);
  write(confdir("dup-guest") + "/vserver.toml",
        toml + "\n[[interfaces]]\naddress = \"192.0.2.10\"\n");
  auto entries = rundir_entries();
  r = vserver({"dup-guest", "start"});
  EXPECT_EQ(r.status, 4) << r.err;
  EXPECT_NE(r.err.find("belongs to context"), std::string::npos) << r.err;
  EXPECT_EQ(rundir_entries(), entries);
  EXPECT_EQ(vserver({"dup-guest", "running"}).status, 1);
  remove_guest("dup-guest");
  remove_guest("dup-guest2");
}

// A read-only or full run dir: a clear error naming it, and no half state (no context
// cgroup, no guest running).
TEST(Vserver, ReadOnlyOrFullRunDirRefusedCleanly) {
  const std::string name = "rundir-trouble";
  build(name);
  for (const char* how : {"ro", "full"}) {
    SCOPED_TRACE(how);
    std::string dir = root_env().tmp + "/rundir-" + how;
    fs::create_directories(dir);
    std::string opts = std::string(how) == "ro" ? "ro,mode=0700" : "size=4k,mode=0700";
    ASSERT_EQ(::mount("tmpfs", dir.c_str(), "tmpfs", 0, opts.c_str()), 0) << strerror(errno);
    if (std::string(how) == "full") {
      std::ofstream(dir + "/filler") << std::string(8192, 'x');
    }
    auto r = vserver({"--rundir", dir, name, "start"});
    EXPECT_NE(r.status, 0);
    EXPECT_NE(r.err.find(dir), std::string::npos) << r.err;
    EXPECT_TRUE(context_cgroups().empty());
    EXPECT_EQ(vserver({"--rundir", dir, name, "running"}).status == 0, false);
    ::umount2(dir.c_str(), MNT_DETACH);
  }
  EXPECT_EQ(vserver({name, "start"}).status, 0) << "the real run dir still works";
  remove_guest(name);
}

}  // namespace
}  // namespace vs::test
