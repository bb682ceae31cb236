// The escape catalogue of SECURITY.md section 2, run as root inside sealed contexts with a
// busybox guest root: vsprobe (tests/probe) attempts each escape and prints one line per
// attempt; the test asserts every attempt was blocked AND that the host state it aimed at
// is unchanged. A probe that prints nothing fails (silence never passes).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/ipc.h>
#include <sys/mount.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <utility>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "kernel-shim/caps.h"
#include "tests/support/root_env.h"
#include "tests/support/run_cmd.h"

namespace vs::test {
namespace {

namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

struct ProbeRun {
  int status = -1;
  std::vector<std::string> ok, bad;  ///< "PROBE ..." lines: blocked, and escaped/error
  std::string out, err;
};

ProbeRun parse(const CmdResult& r) {
  ProbeRun p;
  p.status = r.status;
  p.out = r.out;
  p.err = r.err;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("PROBE ", 0) != 0) continue;
    std::istringstream words(line);
    std::string tag, name, verdict;
    words >> tag >> name >> verdict;
    (verdict == "ok" ? p.ok : p.bad).push_back(line);
  }
  return p;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

// $T/guest: a busybox tree with /vsprobe, plus $T/HOSTMARK, a file only the host sees.
class Escape : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = root_env().tmp + "/escape-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    guest_ = base_ + "/guest";
    for (const char* d : {"bin", "proc", "sys", "dev", "etc", "tmp", "mnt", "root"}) {
      fs::create_directories(guest_ + "/" + d);
    }
    fs::permissions(guest_ + "/tmp", fs::perms(01777));
    fs::copy_file("/bin/busybox", guest_ + "/bin/busybox");
    fs::create_symlink("busybox", guest_ + "/bin/sh");
    fs::create_symlink("busybox", guest_ + "/bin/sleep");
    std::string probe = root_env().build_root + "/tests/probe/vsprobe";
    ASSERT_TRUE(fs::exists(probe)) << probe << " was not built";
    fs::copy_file(probe, guest_ + "/vsprobe");
    fs::permissions(guest_ + "/vsprobe", fs::perms(0755));
    marker_ = base_ + "/HOSTMARK";
    spit(marker_, "host only\n");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  // Runs `/vsprobe ARGS` as the sealed first process of a new context rooted at the guest.
  ProbeRun probe(const std::string& xid, const std::vector<std::string>& args,
                 const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {tool_path("vcontext"), "--create", "--silent", "--xid",
                                     xid, "--root", guest_, "--endsetup"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("--");
    argv.push_back("/vsprobe");
    argv.insert(argv.end(), args.begin(), args.end());
    return parse(run_cmd(argv, 120));
  }

  std::string base_, guest_, marker_;
};

// Every attempt blocked: exit 0, at least `min_ok` blocked lines, none escaped or error.
void expect_all_blocked(const ProbeRun& p, size_t min_ok) {
  EXPECT_EQ(p.status, 0) << p.err << p.out;
  EXPECT_TRUE(p.bad.empty()) << joined(p.bad);
  EXPECT_GE(p.ok.size(), min_ok) << p.out << p.err;
}

TEST_F(Escape, EveryArgumentFreeProbeIsBlocked) {
  // E02 mount, E03 ns, E05 shocker, E06 fds, E09 masks, E10 /proc/sys, E11 sysfs, E12
  // cgroupfs, E15 devices, E20 syscalls, E21 sockets, E22 ABI bypass, E04 hostname.
  std::string core_pattern = slurp("/proc/sys/kernel/core_pattern");
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  auto p = probe("41201", {"all"});
  expect_all_blocked(p, 60);
  for (const char* name : {"mount", "ns", "shocker", "fds", "masks", "procsys", "sysfs",
                           "cgroupfs", "devices", "syscalls", "sockets", "abi", "hostname"}) {
    EXPECT_NE(p.out.find(std::string("PROBE ") + name), std::string::npos)
        << name << " did not report\n" << p.out;
  }
  // The host state those probes aimed at.
  EXPECT_EQ(slurp("/proc/sys/kernel/core_pattern"), core_pattern);
  char after[256] = {};
  ::gethostname(after, sizeof after - 1);
  EXPECT_STREQ(after, host);
}

TEST_F(Escape, AGuestAdministratorCanStillWork) {
  // Sealed guest root: chown and set-uid bits, a package install with a maintainer script
  // (busybox dpkg), and a service on port 80 of its own network namespace.
  auto applets = run_cmd({"/bin/busybox", "--list"});
  std::istringstream in(applets.out);
  for (std::string a; in >> a;) {
    std::error_code ec;
    fs::create_symlink("busybox", guest_ + "/bin/" + a, ec);
  }
  for (const char* d : {"var/lib/dpkg/info", "var/www", "usr/share"}) {
    fs::create_directories(guest_ + "/" + d);
  }
  spit(guest_ + "/var/lib/dpkg/status", "");
  std::string pkg = base_ + "/pkg";
  fs::create_directories(pkg + "/DEBIAN");
  fs::create_directories(pkg + "/usr/share/vstest");
  spit(pkg + "/DEBIAN/control",
       "Package: vstest\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\n"
       "Description: test package\n");
  spit(pkg + "/DEBIAN/postinst", "#!/bin/sh\nchown 1000:1000 /usr/share/vstest/hello\n");
  fs::permissions(pkg + "/DEBIAN/postinst", fs::perms(0755));
  spit(pkg + "/usr/share/vstest/hello", "hello from a package\n");
  auto built = run_cmd({"dpkg-deb", "-Zgzip", "--root-owner-group", "--build", pkg,
                        guest_ + "/vstest.deb"});
  ASSERT_EQ(built.status, 0) << built.err;

  const std::string script =
      "dpkg -i /vstest.deb >/dev/null && cat /usr/share/vstest/hello && "
      "stat -c owner=%u:%g /usr/share/vstest/hello && "
      "touch /tmp/f && chown 1000:1000 /tmp/f && chmod 4755 /tmp/f && stat -c mode=%a /tmp/f && "
      "ip link show lo | grep -q ',UP' && echo lo=up && "
      "httpd -p 80 -h /var/www && echo port80=bound";
  auto r = run_cmd({tool_path("vcontext"), "--create", "--silent", "--xid", "41206", "--root",
                    guest_, "--namespaces", "mnt,pid,uts,ipc,net", "--endsetup", "--", "/bin/sh",
                    "-c", script},
                   120);
  run_cmd({tool_path("vkill"), "--xid", "41206", "-s", "KILL"});  // the httpd it left
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out,
            "hello from a package\nowner=1000:1000\nmode=4755\nlo=up\nport80=bound\n")
      << r.err;
}

TEST_F(Escape, ChrootClimbCannotReachTheHost) {  // E01
  auto p = probe("41202", {"chroot-escape", marker_});
  expect_all_blocked(p, 1);
  EXPECT_EQ(slurp(marker_), "host only\n");
}

TEST_F(Escape, HostProcessesAndSysvIpcAreOutOfSight) {  // E04
  pid_t sentinel = ::fork();
  if (sentinel == 0) {
    ::execl("/bin/sleep", "sleep", "600", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ASSERT_GT(sentinel, 0);
  const key_t key = 0x56531204;
  int shm = ::shmget(key, 4096, IPC_CREAT | IPC_EXCL | 0600);
  ASSERT_GE(shm, 0) << "shmget on the host";
  char keyhex[32];
  std::snprintf(keyhex, sizeof keyhex, "0x%x", static_cast<unsigned>(key));
  auto kill_run = probe("41203", {"kill-host", std::to_string(sentinel)});
  auto shm_run = probe("41203", {"shm", keyhex});
  EXPECT_EQ(::kill(sentinel, 0), 0) << "the host sentinel died";
  ::kill(sentinel, SIGKILL);
  ::waitpid(sentinel, nullptr, 0);
  ::shmctl(shm, IPC_RMID, nullptr);
  expect_all_blocked(kill_run, 1);
  expect_all_blocked(shm_run, 1);
}

TEST_F(Escape, CapabilitySetsAreTheContextsBounds) {  // E19
  char mask[32];
  std::snprintf(mask, sizeof mask, "%llx",
                static_cast<unsigned long long>(vs::shim::default_guest_bcaps()));
  expect_all_blocked(probe("41204", {"caps", mask}), 1);
  // Control: a wrong mask must be reported, or the probe proves nothing.
  auto wrong = probe("41204", {"caps", "1"});
  EXPECT_NE(wrong.status, 0);
  EXPECT_FALSE(wrong.bad.empty()) << wrong.out;
}

TEST_F(Escape, AnUnsealedContextIsNotAJailControl) {
  // The same probes in the setup stage (administrator's capabilities, no seccomp) must
  // report escapes: the probes can fail.
  std::vector<std::string> argv = {tool_path("vcontext"), "--create", "--silent", "--xid",
                                   "41205", "--root", guest_, "--", "/vsprobe", "mount"};
  auto p = parse(run_cmd(argv, 120));
  EXPECT_NE(p.status, 0);
  EXPECT_FALSE(p.bad.empty()) << p.out;
}

// A sealed guest-rooted context whose first process sleeps, for the resource probes: they
// enter it with vcontext --migrate after its limits were set from the host.
class LimitedGuest {
 public:
  LimitedGuest(std::string xid, const std::string& root) : xid_(std::move(xid)) {
    pid_ = ::fork();
    if (pid_ == 0) {
      std::string vc = tool_path("vcontext");
      ::execl(vc.c_str(), vc.c_str(), "--create", "--silent", "--xid", xid_.c_str(), "--root",
              root.c_str(), "--endsetup", "--", "/bin/sleep", "600", static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  ~LimitedGuest() {
    run_cmd({tool_path("vkill"), "--xid", xid_, "-s", "KILL"});
    if (pid_ > 0) ::waitpid(pid_, nullptr, 0);
  }
  LimitedGuest(const LimitedGuest&) = delete;
  LimitedGuest& operator=(const LimitedGuest&) = delete;

  /// Waits (at most 20 s) until the context is listed and running.
  bool up() {
    for (int i = 0; i < 400; ++i) {
      auto st = run_cmd({tool_path("vattribute"), "--xid", xid_, "--get"});
      if (st.status == 0 && st.out.find("\nstage running\n") != std::string::npos) return true;
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      ::usleep(50000);
    }
    return false;
  }
  CmdResult tool(const std::string& name, std::vector<std::string> args) const {
    args.insert(args.begin(), {tool_path(name), "--xid", xid_});
    return run_cmd(args);
  }
  ProbeRun probe(const std::vector<std::string>& args) const {
    std::vector<std::string> argv = {tool_path("vcontext"), "--migrate", "--xid", xid_, "--",
                                     "/vsprobe"};
    argv.insert(argv.end(), args.begin(), args.end());
    return parse(run_cmd(argv, 120));
  }
  /// A counter from `TOOL --show` ("name value" lines); -1 if absent.
  long long counter(const std::string& tool_name, const std::string& key) const {
    auto r = tool(tool_name, {"--show"});
    std::istringstream in(r.out);
    for (std::string name, value; in >> name >> value;) {
      if (name == key) return std::stoll(value);
    }
    return -1;
  }

 private:
  std::string xid_;
  pid_t pid_ = -1;
};

TEST_F(Escape, ForkBombStopsAtThePidsLimit) {  // E29
  LimitedGuest g("41210", guest_);
  ASSERT_TRUE(g.up());
  ASSERT_EQ(g.tool("vlimit", {"--pids", "64"}).status, 0);
  auto p = g.probe({"forkbomb", "64"});
  expect_all_blocked(p, 1);
  EXPECT_GT(g.counter("vlimit", "pids.max_hits"), 0) << p.out;
  // The host can still fork.
  EXPECT_EQ(run_cmd({"/bin/true"}).status, 0);
}

TEST_F(Escape, MemoryHogIsKilledInsideTheGuestOnly) {  // E30
  LimitedGuest g("41211", guest_);
  ASSERT_TRUE(g.up());
  ASSERT_EQ(g.tool("vlimit", {"--memory", "64M"}).status, 0);
  auto p = g.probe({"memhog", "256"});
  expect_all_blocked(p, 1);
  long long failcnt = g.counter("vlimit", "memory.failcnt");
  long long oom = g.counter("vlimit", "memory.oom_kill");
  EXPECT_TRUE(failcnt > 0 || oom > 0) << "failcnt " << failcnt << " oom_kill " << oom;
  // The context's first process (the sleeper) survived the hog's OOM kill.
  auto st = g.tool("vattribute", {"--get"});
  EXPECT_EQ(st.status, 0) << st.err;
}

TEST_F(Escape, CpuBurnIsThrottledByTheQuota) {  // E34
  LimitedGuest g("41212", guest_);
  ASSERT_TRUE(g.up());
  ASSERT_EQ(g.tool("vsched", {"--quota", "20%"}).status, 0);
  auto p = g.probe({"cpuburn", "600"});
  expect_all_blocked(p, 1);
  EXPECT_GT(g.counter("vsched", "cpu.nr_throttled"), 0) << p.out;
}

TEST_F(Escape, InodeFillStopsAtThePerGuestFilesystemsLimit) {  // E32
  // The guest tree on its own filesystem with an inode limit (the administrator's choice
  // of vdir storage: a tmpfs here, a loop image or project quota elsewhere).
  std::string fsroot = base_ + "/small";
  fs::create_directories(fsroot);
  ASSERT_EQ(::mount("vstest", fsroot.c_str(), "tmpfs", 0, "nr_inodes=400,size=64m"), 0);
  std::string small = fsroot + "/guest";
  fs::copy(guest_, small, fs::copy_options::recursive | fs::copy_options::copy_symlinks);
  std::vector<std::string> argv = {tool_path("vcontext"), "--create", "--silent", "--xid", "41213",
                                   "--root", small, "--endsetup", "--", "/vsprobe", "inodes",
                                   "1000", "/tmp"};
  auto p = parse(run_cmd(argv, 120));
  ::umount2(fsroot.c_str(), MNT_DETACH);
  expect_all_blocked(p, 1);
  // The host can still create files next to it.
  spit(base_ + "/after", "x");
  EXPECT_EQ(slurp(base_ + "/after"), "x");
}

}  // namespace
}  // namespace vs::test
