// Escapes of issue 18, classes 1 and 7 (the catalogue: guest_escape_fixture.h): a host binary
// reachable from a guest through a `#!/proc/self/exe` script (CVE-2019-5736), and the guest's
// init being the host's vserver. Each with its weak setup (GuestEscapeWeak.*).
#include <gtest/gtest.h>
#include <sys/types.h>

#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "tests/integration/guest_escape_fixture.h"
#include "tests/support/files.h"
#include "tests/support/host_watch.h"
#include "tests/support/root_env.h"
#include "tests/support/run_cmd.h"
#include "tests/support/spawned.h"

namespace vs::test {
namespace {

namespace fs = std::filesystem;

// The files whose hash differs between two sha256_of() results, one a line.
std::string changed(const std::map<std::string, std::string>& before,
                    const std::map<std::string, std::string>& after) {
  std::string out;
  for (const auto& [path, hash] : before) {
    auto it = after.find(path);
    if (it == after.end() || it->second != hash || hash.empty()) {
      out += path + ": " + hash + " -> " + (it == after.end() ? "?" : it->second) + "\n";
    }
  }
  return out;
}

// ==== 1. A host binary reachable from a guest (CVE-2019-5736) ============================

// Where a host tool execs a guest file.
enum class Path {
  kExecShell,    // vserver exec /bin/sh -c ...: the guest's /bin/sh
  kExecCommand,  // vserver exec CMD: a command found through the guest's PATH
  kEnter,        // vserver enter: root's login shell from the guest's passwd
  kStartMinit,   // start: init.command under the built-in init
  kStartPlain,   // start: the guest's own /sbin/init
  kStartSysv,    // start: /etc/init.d/rc 3
  kStopSysv,     // stop: /etc/init.d/rc 0
  kRestart,      // restart: init.command, swapped by the guest while it ran
  kBoot,         // vserver-boot start --mark: init.command
};

const char* path_name(Path p) {
  switch (p) {
    case Path::kExecShell:
      return "exec_sh";
    case Path::kExecCommand:
      return "exec_cmd";
    case Path::kEnter:
      return "enter";
    case Path::kStartMinit:
      return "start_minit";
    case Path::kStartPlain:
      return "start_plain";
    case Path::kStartSysv:
      return "start_sysv";
    case Path::kStopSysv:
      return "stop_sysv";
    case Path::kRestart:
      return "restart";
    case Path::kBoot:
      return "boot";
  }
  return "?";
}

constexpr const char* kSysvRc = "#!/bin/sh\n[ \"$1\" = 3 ] && { sleep 1000 & }\nexit 0\n";

class GuestEscapeHostBinary : public GuestEscapeBase,
                              public ::testing::WithParamInterface<std::tuple<Kind, Path>> {};

// The guest makes a file a host tool will exec a `#!/proc/self/exe` script. For exec and
// enter the guest's own init (pid 1, the plain style) is vsattack hunting for the host
// binary that the kernel then runs inside the guest; a full pipe as the entrant's stderr
// keeps whatever runs there from ending before the host looked (the host tool's usage
// message blocks on it). Afterwards: no process of a guest ever exec'd a copy of a tool
// (fanotify) or runs one now, every copy is byte-identical, and for exec and enter the
// script's exit status is the memfd helper's refusal, 126.
TEST_P(GuestEscapeHostBinary, ShebangToProcSelfExeReachesNoHostBinary) {
  const auto [kind, path] = GetParam();
  const std::set<FileId> copies = tools_->ids();
  const auto hashes_before = tools_->hashes();
  ExecMonitor monitor(tools_->files(), root_env().cgroup_parent);
  ASSERT_EQ(monitor.error(), "");

  const bool entrant =
      path == Path::kExecShell || path == Path::kExecCommand || path == Path::kEnter;
  Guest g;
  if (entrant) {
    g = guest("hb", kind, "plain",
              {"/vsattack", "hunt", "-i", "30", "/tmp/hunt.log", tools_->ids_arg()});
  } else if (path == Path::kStartPlain) {
    g = guest("hb", kind, "plain");
  } else if (path == Path::kStartSysv || path == Path::kStopSysv) {
    g = guest("hb", kind, "sysv");
  } else if (path == Path::kRestart) {
    g = guest("hb", kind, "minit", {"/usr/local/bin/vs-cmd"});
  } else {
    g = guest("hb", kind, "minit", {"/usr/local/bin/vs-evil"});
  }
  if (path == Path::kBoot) g.mark = "ge-" + g.name;
  ASSERT_TRUE(build(g));
  const std::string hunt_log = vdir(g) + "/tmp/hunt.log";
  std::vector<std::string> running;  // host scans: context processes running a copy
  auto scan = [&] {
    for (auto& line : processes_running(copies)) running.push_back(line);
  };
  int status = -2;
  std::string err;

  switch (path) {
    case Path::kExecShell:
    case Path::kExecCommand:
    case Path::kEnter: {
      auto r = vs(g, {"start"});
      ASSERT_EQ(r.status, 0) << r.err;
      ASSERT_TRUE(wait_for([&] { return contains(slurp(hunt_log), "START"); }, 5000))
          << "the guest's hunter did not start: " << slurp(hunt_log);
      std::vector<std::string> args;
      if (path == Path::kExecShell) {
        shebang_self(g, "bin/sh");
        args = {"exec", "/bin/sh", "-c", "true"};
      } else if (path == Path::kExecCommand) {
        shebang_self(g, "usr/local/bin/vs-evil");
        args = {"exec", "vs-evil", "--version"};
      } else {
        shebang_self(g, "bin/vs-evilsh");
        set_root_shell(g, "/bin/vs-evilsh");
        args = {"enter"};
      }
      Pipe out, errp;
      errp.fill();
      Spawned p(SpawnSpec{vs_argv(g, args), -1, out.wr, errp.wr, {}, -1});
      out.close_write();
      errp.close_write();
      for (int i = 0; i < 150 && !p.exited(); ++i) Spawned::sleep_ms(10);
      scan();
      err = errp.drain();
      (void)out.drain();
      status = p.wait(30000);
      // What the hunter found it may still be rewriting (the host tool just ended).
      if (contains(slurp(hunt_log), "FOUND")) {
        wait_for([&] { return contains(slurp(hunt_log), "WROTE"); }, 3000);
      }
      break;
    }
    case Path::kStartMinit:
    case Path::kStartPlain:
    case Path::kStartSysv:
    case Path::kBoot: {
      shebang_self(g, path == Path::kStartPlain  ? "sbin/init"
                      : path == Path::kStartSysv ? "etc/init.d/rc"
                                                 : "usr/local/bin/vs-evil");
      auto r = path == Path::kBoot ? boot(kind, "start", g.mark) : vs(g, {"start"});
      status = r.status;
      err = r.err;
      Spawned::sleep_ms(300);
      scan();
      if (path == Path::kBoot) (void)boot(kind, "stop", g.mark);
      break;
    }
    case Path::kStopSysv: {
      put(vdir(g) + "/etc/init.d/rc", kSysvRc, 0755);
      auto r = vs(g, {"start"});
      ASSERT_EQ(r.status, 0) << r.err;
      Spawned::sleep_ms(300);
      scan();
      shebang_self(g, "etc/init.d/rc");
      r = vs(g, {"stop", "--timeout", "3"});
      status = r.status;
      err = r.err;
      break;
    }
    case Path::kRestart: {
      put(vdir(g) + "/usr/local/bin/vs-cmd", "#!/bin/sh\nexec sleep 1000\n", 0755);
      auto r = vs(g, {"start"});
      ASSERT_EQ(r.status, 0) << r.err;
      shebang_self(g, "usr/local/bin/vs-cmd");
      r = vs(g, {"restart"});
      status = r.status;
      err = r.err;
      Spawned::sleep_ms(300);
      scan();
      break;
    }
  }
  (void)vs(g, {"stop", "--kill"});
  SCOPED_TRACE(std::string("exit status ") + std::to_string(status) + ", stderr: " + err);

  EXPECT_GT(monitor.events(), 0) << "the exec monitor saw no exec of the copies at all";
  EXPECT_TRUE(monitor.violations().empty()) << "a guest process executed a host tool:\n"
                                            << joined(monitor.violations());
  EXPECT_TRUE(running.empty()) << "context processes running a host tool:\n" << joined(running);
  EXPECT_EQ(changed(hashes_before, tools_->hashes()), "") << "copies of tools were rewritten";
  if (entrant) {
    EXPECT_EQ(status, 126) << "the script's interpreter must be the memfd helper's refusal";
    const std::string hunt = slurp(hunt_log);
    EXPECT_FALSE(contains(hunt, "WROTE")) << hunt;
    EXPECT_TRUE(contains(hunt, "START")) << "the hunter never ran: " << hunt;
  }
}

INSTANTIATE_TEST_SUITE_P(
    GuestEscape, GuestEscapeHostBinary,
    ::testing::Combine(kAllKinds,
                       ::testing::Values(Path::kExecShell, Path::kExecCommand, Path::kEnter,
                                         Path::kStartMinit, Path::kStartPlain, Path::kStartSysv,
                                         Path::kStopSysv, Path::kRestart, Path::kBoot)),
    [](const ::testing::TestParamInfo<std::tuple<Kind, Path>>& pi) {
      return std::string(kind_name(std::get<0>(pi.param))) + "_" + path_name(std::get<1>(pi.param));
    });

// Class 1 against a plain chroot(8) (a copy of it, the "host tool" here) with a /proc: the
// same script and hunter, and the copy is rewritten from inside.
TEST_F(GuestEscapeWeak, ChrootHostBinaryIsRewrittenFromInside) {
  Guest g = guest("weak-hb", Kind::kDefault);
  ASSERT_TRUE(build(g));
  const std::string victim = weak_copy("/usr/sbin/chroot");
  const FileId id = file_id(victim);
  const std::string before = sha256_of({victim})[victim];
  ExecMonitor monitor({victim}, root_env().cgroup_parent);
  ASSERT_EQ(monitor.error(), "");
  ASSERT_TRUE(mount_proc(vdir(g) + "/proc"));
  const std::string allow = std::to_string(id.first) + "." + std::to_string(id.second);
  const std::string hunt_log = vdir(g) + "/tmp/hunt.log";
  Spawned hunter(
      SpawnSpec{{"/usr/sbin/chroot", vdir(g), "/vsattack", "hunt", "20", "/tmp/hunt.log", allow},
                -1,
                -1,
                -1,
                {},
                -1});
  ASSERT_TRUE(wait_for([&] { return contains(slurp(hunt_log), "START"); }, 5000));
  shebang_self(g, "bin/sh");
  Pipe errp;
  errp.fill();
  Spawned p(SpawnSpec{{victim, vdir(g), "/bin/sh", "-c", "true"}, -1, -1, errp.wr, {}, -1});
  errp.close_write();
  EXPECT_TRUE(wait_for(
      [&] { return contains(slurp(hunt_log), "FOUND pid=" + std::to_string(p.pid())); }, 5000))
      << slurp(hunt_log);
  const auto running = [&] {
    std::vector<std::string> out;
    if (file_id("/proc/" + std::to_string(p.pid()) + "/exe") == id) out.push_back("victim");
    return out;
  }();
  (void)errp.drain();
  (void)p.wait(10000);
  EXPECT_TRUE(wait_for([&] { return contains(slurp(hunt_log), "WROTE"); }, 5000))
      << slurp(hunt_log);
  EXPECT_FALSE(monitor.violations().empty()) << "the monitor must see the chroot's re-exec";
  EXPECT_FALSE(running.empty()) << "the host binary ran inside the chroot";
  EXPECT_NE(sha256_of({victim})[victim], before)
      << "the weak setup's host binary was not rewritten";
}

// ==== 7. The guest's init is the host's vserver ==========================================

// "PID1 key=value" lines of `vsattack pid1`.
std::map<std::string, std::string> pid1_view(const std::string& out) {
  std::map<std::string, std::string> m;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("PID1 ", 0) != 0) continue;
    size_t eq = line.find('=');
    if (eq != std::string::npos) m[line.substr(5, eq - 5)] = line.substr(eq + 1);
  }
  return m;
}

class GuestEscapeInit : public GuestEscapeBase,
                        public ::testing::WithParamInterface<std::tuple<Kind, std::string>> {
 protected:
  // What a guest process (`who`) sees of its init: no host path in its command line, its
  // executable neither readable nor openable (unless it is the memfd helper), its memory
  // closed (the init is not dumpable).
  void expect_opaque_init(const std::string& who, const std::string& out) {
    SCOPED_TRACE(who + ":\n" + out);
    auto v = pid1_view(out);
    ASSERT_TRUE(v.count("cmdline") && v.count("exe-open") && v.count("mem-open"))
        << "the probe did not report";
    EXPECT_FALSE(contains(v["cmdline"], root_env().tmp)) << "a host path in /proc/1/cmdline";
    EXPECT_FALSE(contains(v["cmdline"], tools_->dir()));
    EXPECT_FALSE(contains(v["exe-link"], root_env().tmp)) << "/proc/1/exe names a host path";
    if (v["exe-link"].rfind("/memfd:", 0) != 0) {
      EXPECT_NE(v["exe-open"], "ok") << "guest root opened its init's executable";
      EXPECT_NE(v["exe-path"], "ok") << "guest root got an O_PATH fd of its init's executable";
    }
    EXPECT_NE(v["mem-open"], "ok") << "guest root opened its init's memory";
  }
};

// The built-in init (minit, and sysv's) seen from a guest process started by that init
// (its own Landlock domain, where there is one) and from an entrant, and from the host.
TEST_P(GuestEscapeInit, InitIsNoHostBinaryAndOpaqueToTheGuest) {
  const auto& [kind, style] = GetParam();
  const std::set<FileId> copies = tools_->ids();
  Guest g = style == "minit" ? guest("init", kind, "minit",
                                     {"/bin/sh", "-c",
                                      "/vsattack pid1 > /tmp/pid1.tmp 2>&1; "
                                      "mv /tmp/pid1.tmp /tmp/pid1; exec sleep 1000"})
                             : guest("init", kind, "sysv");
  ASSERT_TRUE(build(g));
  put(vdir(g) + "/etc/init.d/rc",
      "#!/bin/sh\nif [ \"$1\" = 3 ]; then /vsattack pid1 > /tmp/pid1.tmp 2>&1; "
      "mv /tmp/pid1.tmp /tmp/pid1; sleep 1000 & fi\nexit 0\n",
      0755);
  auto r = vs(g, {"start"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string inside = vdir(g) + "/tmp/pid1";
  ASSERT_TRUE(wait_for([&] { return fs::exists(inside); }, 5000))
      << "the init's command did not run";
  const pid_t init = init_pid(g);
  ASSERT_GT(init, 0);
  // From the host: the init's executable and command line.
  const std::string proc = "/proc/" + std::to_string(init);
  EXPECT_EQ(copies.count(file_id(proc + "/exe")), 0u)
      << "the guest's init runs a host binary: " << fs::read_symlink(proc + "/exe").string();
  std::string cmdline = slurp(proc + "/cmdline");
  for (char& c : cmdline) {
    if (c == '\0') c = ' ';
  }
  EXPECT_FALSE(contains(cmdline, root_env().tmp)) << "init's command line: " << cmdline;
  EXPECT_TRUE(processes_running(copies).empty()) << joined(processes_running(copies));
  // From inside.
  expect_opaque_init("a process of the init", slurp(inside));
  r = vs(g, {"exec", "/vsattack", "pid1"});
  EXPECT_EQ(r.status, 0) << r.err;
  expect_opaque_init("an entrant", r.out);
}

INSTANTIATE_TEST_SUITE_P(GuestEscape, GuestEscapeInit,
                         ::testing::Combine(kAllKinds, ::testing::Values(std::string("minit"),
                                                                         std::string("sysv"))),
                         [](const ::testing::TestParamInfo<std::tuple<Kind, std::string>>& pi) {
                           return std::string(kind_name(std::get<0>(pi.param))) + "_" +
                                  std::get<1>(pi.param);
                         });

// Class 7 against unshare(1) with a host supervisor (a copy of timeout(1)) as the pid
// namespace's init: its command line names the host path, guest root opens its executable.
TEST_F(GuestEscapeWeak, HostSupervisorAsInitIsOpenToTheGuest) {
  Guest g = guest("weak-init", Kind::kDefault);
  ASSERT_TRUE(build(g));
  const std::string sup = weak_copy("/usr/bin/timeout");
  auto r = run_cmd({"unshare", "--pid", "--fork", "--mount-proc=" + vdir(g) + "/proc", sup, "20",
                    "/usr/sbin/chroot", vdir(g), "/vsattack", "pid1"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto v = pid1_view(r.out);
  EXPECT_TRUE(contains(v["cmdline"], sup)) << r.out;
  EXPECT_EQ(v["exe-open"], "ok") << r.out;
  EXPECT_EQ(file_id(v["exe-link"]), file_id(sup)) << r.out;
}

}  // namespace
}  // namespace vs::test
