// The built tools vkill, vnamespace and vuname against real contexts made by vcontext.
// Each test uses its own static xid (410xx) and kills and reaps every context it made.
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <charconv>
#include <string>
#include <string_view>
#include <vector>

#include "kernel-shim/cgroup.h"
#include "tests/support/root_env.h"
#include "tests/support/run_cmd.h"

namespace vs::test {
namespace {

using vs::shim::ContextCgroup;
using vs::shim::Xid;

void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
  ::nanosleep(&ts, nullptr);
}

std::string host_name() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

std::string comm_of(pid_t pid) {
  std::string out;
  int fd = ::open(("/proc/" + std::to_string(pid) + "/comm").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[64];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n > 0) out.assign(buf, static_cast<size_t>(n));
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

// Host pids of the processes of context `xid` (empty if it has no cgroup).
std::vector<pid_t> context_pids(uint16_t xid) {
  auto layout = vs::shim::CgroupLayout::discover();
  if (!layout) return {};
  auto cg = ContextCgroup::open(*layout, shim_config().cgroup, Xid(xid));
  if (!cg) return {};
  auto pids = cg->pids();
  return pids ? *pids : std::vector<pid_t>{};
}

// Every process on the system that /proc says is in context `xid` (not just its cgroup.procs).
std::vector<pid_t> processes_in(uint16_t xid) {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (struct dirent* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    pid_t pid = 0;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), pid);
    if (ec != std::errc() || end != name.data() + name.size() || pid <= 0) continue;
    auto x = vs::shim::xid_of_pid(pid, shim_config().cgroup.parent);
    if (x && *x == Xid(xid)) out.push_back(pid);
  }
  ::closedir(d);
  return out;
}

bool listed(uint16_t xid) {
  auto r = run_cmd({tool_path("vcontext"), "--list"});
  return ("\n" + r.out).find("\n" + std::to_string(xid) + "\n") != std::string::npos;
}

// `vcontext --create --xid XID EXTRA... -- CMD...` running in the background; killed with
// vkill and waited for at scope exit if the test did not wait for it.
class BgContext {
 public:
  BgContext(uint16_t xid, const std::vector<std::string>& extra,
            const std::vector<std::string>& cmd)
      : xid_(xid) {
    std::vector<std::string> argv = {tool_path("vcontext"), "--create", "--silent", "--xid",
                                     std::to_string(xid)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back("--");
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  BgContext(const BgContext&) = delete;
  BgContext& operator=(const BgContext&) = delete;
  ~BgContext() {
    if (pid_ <= 0) return;
    run_cmd({tool_path("vkill"), "--xid", std::to_string(xid_), "-s", "KILL"});
    if (wait(30) == -1) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  /// Waits (at most 20 s) until `count` processes named `comm` run in the context.
  bool wait_for(const std::string& comm, size_t count = 1) {
    for (int i = 0; i < 1000; ++i) {
      size_t n = 0;
      for (pid_t p : context_pids(xid_)) n += comm_of(p) == comm ? 1 : 0;
      if (n >= count) return true;
      if (reap(WNOHANG)) return false;  // vcontext died early
      sleep_ms(20);
    }
    return false;
  }

  /// Waits (at most timeout_s) for vcontext to end: its exit code, 128 + signal, or -1.
  int wait(int timeout_s = 30) {
    for (int i = 0; i < timeout_s * 50 && !reap(WNOHANG); ++i) sleep_ms(20);
    return pid_ > 0 ? -1 : status_;
  }

 private:
  // Reaps vcontext if it ended; true once it has been reaped.
  bool reap(int flags) {
    int status = 0;
    if (pid_ <= 0) return true;
    if (::waitpid(pid_, &status, flags) != pid_) return false;
    pid_ = -1;
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return true;
  }

  uint16_t xid_;
  pid_t pid_ = -1;
  int status_ = -1;
};

// Polls (at most 20 s) until the context is no longer listed.
bool reaped(uint16_t xid) {
  for (int i = 0; i < 200; ++i) {
    if (!listed(xid)) return true;
    sleep_ms(100);
  }
  return false;
}

CmdResult vkill(std::vector<std::string> args) {
  args.insert(args.begin(), tool_path("vkill"));
  return run_cmd(args);
}
CmdResult vnamespace(std::vector<std::string> args) {
  args.insert(args.begin(), tool_path("vnamespace"));
  return run_cmd(args);
}
CmdResult vuname(std::vector<std::string> args) {
  args.insert(args.begin(), tool_path("vuname"));
  return run_cmd(args);
}

TEST(ToolsVkill, NoPidKillsEveryProcess) {
  BgContext ctx(41001, {}, {"sleep", "1000"});
  ASSERT_TRUE(ctx.wait_for("sleep"));
  ASSERT_TRUE(listed(41001));
  auto r = vkill({"--xid", "41001", "-s", "KILL"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(ctx.wait(), 128 + SIGKILL);
  EXPECT_TRUE(reaped(41001));
}

TEST(ToolsVkill, PidOneInsideIsTheContextsInit) {
  BgContext ctx(41002, {}, {"sleep", "1000"});
  ASSERT_TRUE(ctx.wait_for("sleep"));
  auto none = vkill({"--xid", "41002", "-s", "TERM", "4000000"});
  EXPECT_EQ(none.status, 3) << none.err;
  EXPECT_NE(none.err.find("4000000"), std::string::npos) << none.err;
  // The built-in init (pid 1 inside) forwards TERM to sleep and exits like it.
  auto r = vkill({"--xid", "41002", "--signal", "TERM", "1"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(ctx.wait(), 128 + SIGTERM);
  EXPECT_TRUE(reaped(41002));
}

TEST(ToolsVkill, HostPidOfAContextWithoutPidNamespace) {
  BgContext ctx(41003, {"--namespaces", "mnt,uts,ipc"}, {"sleep", "1000"});
  ASSERT_TRUE(ctx.wait_for("sleep"));
  auto pids = context_pids(41003);
  ASSERT_EQ(pids.size(), 1u);
  // Our own pid is not in the context: refused, nothing signalled.
  auto outside = vkill({"--xid", "41003", std::to_string(::getpid())});
  EXPECT_EQ(outside.status, 3) << outside.err;
  // As with util-vserver, pid 1 of a context without a pid namespace is its first process.
  auto probe = vkill({"--xid", "41003", "-s", "0", "1"});
  EXPECT_EQ(probe.status, 0) << probe.err;
  auto r = vkill({"--xid", "41003", std::to_string(pids[0])});  // default signal: TERM
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(ctx.wait(), 128 + SIGTERM);
  EXPECT_TRUE(reaped(41003));
}

TEST(ToolsVkill, TermToEveryProcessThroughTheFreezer) {
  BgContext ctx(41004, {"--namespaces", "mnt,uts,ipc"}, {"sleep", "1000"});
  ASSERT_TRUE(ctx.wait_for("sleep"));
  auto r = vkill({"--xid", "41004", "-s", "SIGTERM"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(ctx.wait(), 128 + SIGTERM);
  EXPECT_TRUE(reaped(41004));
}

TEST(ToolsVkill, ForkLoopIsDeadAfterOneKill) {
  // No pid namespace: nothing but the atomic kill stops the loop (no init to take it down).
  BgContext ctx(
      41005, {"--namespaces", "mnt,uts,ipc"},
      {"/bin/sh", "-c", "i=0; while [ $i -lt 3000 ]; do sleep 1000 & i=$((i+1)); done; wait"});
  ASSERT_TRUE(ctx.wait_for("sleep", 20));
  auto r = vkill({"--xid", "41005", "-s", "KILL"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(ctx.wait(), 128 + SIGKILL);
  std::vector<pid_t> left = processes_in(41005);
  for (int i = 0; i < 200 && !left.empty(); ++i) {  // SIGKILLed processes take a moment to exit
    sleep_ms(100);
    left = processes_in(41005);
  }
  EXPECT_TRUE(left.empty()) << left.size() << " processes survived, e.g. " << left[0];
  EXPECT_TRUE(reaped(41005));
}

TEST(ToolsVkill, BadArgumentsAreUsageErrorsNamingTheWord) {
  auto nosuch = vkill({"--xid", "41999"});
  EXPECT_EQ(nosuch.status, 3) << nosuch.err;
  EXPECT_NE(nosuch.err.find("41999"), std::string::npos) << nosuch.err;
  auto badsig = vkill({"--xid", "41999", "-s", "NOPE"});
  EXPECT_EQ(badsig.status, 2);
  EXPECT_NE(badsig.err.find("NOPE"), std::string::npos) << badsig.err;
  for (const char* bad : {"0", "65536", "abc"}) {
    auto r = vkill({"--xid", bad});
    EXPECT_EQ(r.status, 2) << bad;
    EXPECT_NE(r.err.find(std::string("`") + bad + "`"), std::string::npos) << r.err;
  }
  auto badpid = vkill({"--xid", "41999", "12x"});
  EXPECT_EQ(badpid.status, 2);
  EXPECT_NE(badpid.err.find("12x"), std::string::npos) << badpid.err;
  auto badmethod = vkill({"--xid", "41999", "--method", "nuke"});
  EXPECT_EQ(badmethod.status, 2);
  EXPECT_NE(badmethod.err.find("nuke"), std::string::npos) << badmethod.err;
  EXPECT_EQ(vkill({}).status, 2);  // --xid is required
}

TEST(ToolsVnamespace, NewUtsLeavesTheHostNameAlone) {
  std::string before = host_name();
  auto r =
      vnamespace({"--new", "--uts", "--", "/bin/sh", "-c", "hostname vs-tools-test; hostname"});
  std::string after = host_name();
  if (after != before) ::sethostname(before.data(), before.size());
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "vs-tools-test\n");
  EXPECT_EQ(after, before);
}

TEST(ToolsVnamespace, NewPidMakesTheCommandPidOne) {
  auto r = vnamespace({"--new", "--pid", "--", "/bin/sh", "-c", "echo $$"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "1\n");
  // With a mount namespace too, /proc is the new pid namespace's.
  auto p = vnamespace({"--new", "--mount", "--pid", "--", "cat", "/proc/self/stat"});
  EXPECT_EQ(p.status, 0) << p.err;
  EXPECT_EQ(p.out.rfind("1 (cat)", 0), 0u) << p.out;
  // The exit status is the command's, 128 + signal if it was killed.
  EXPECT_EQ(vnamespace({"--new", "--pid", "--", "/bin/sh", "-c", "exit 7"}).status, 7);
  EXPECT_EQ(vnamespace({"--new", "--", "/bin/sh", "-c", "kill -KILL $$"}).status, 128 + SIGKILL);
  EXPECT_EQ(vnamespace({"--new", "--", "/nonexistent/cmd"}).status, 127);
}

TEST(ToolsVnamespace, ModeErrors) {
  auto none = vnamespace({"--", "true"});
  EXPECT_EQ(none.status, 2);
  EXPECT_NE(none.err.find("no operation"), std::string::npos) << none.err;
  auto two = vnamespace({"--new", "--enter", "41999", "--", "true"});
  EXPECT_EQ(two.status, 2);
  EXPECT_NE(two.err.find("more than one"), std::string::npos) << two.err;
  EXPECT_EQ(vnamespace({"--new"}).status, 2);
  EXPECT_EQ(vnamespace({"--cleanup"}).status, 2);
  EXPECT_EQ(vnamespace({"--new", "--bogus", "--", "true"}).status, 2);
  auto badxid = vnamespace({"--enter", "abc", "--", "true"});
  EXPECT_EQ(badxid.status, 2);
  EXPECT_NE(badxid.err.find("abc"), std::string::npos) << badxid.err;
  EXPECT_EQ(vnamespace({"--enter", "41999", "--", "true"}).status, 3);
}

TEST(ToolsVuname, SetAndGetNodenameInsideTheContextOnly) {
  std::string host = host_name();
  BgContext ctx(41006, {}, {"sleep", "1000"});
  ASSERT_TRUE(ctx.wait_for("sleep"));
  auto set =
      vuname({"--xid", "41006", "--set", "-t", "nodename=guest1", "-t", "domainname=example.test"});
  EXPECT_EQ(set.status, 0) << set.err;
  auto get = vuname({"--xid", "41006", "--get", "-t", "nodename"});
  EXPECT_EQ(get.status, 0) << get.err;
  EXPECT_EQ(get.out, "guest1\n");
  EXPECT_EQ(host_name(), host);

  auto all = vuname({"-x", "41006"});
  EXPECT_EQ(all.status, 0) << all.err;
  EXPECT_EQ(all.out.rfind("context=41006\nsysname=", 0), 0u) << all.out;
  EXPECT_NE(all.out.find("\nnodename=guest1\n"), std::string::npos) << all.out;
  EXPECT_NE(all.out.find("\ndomainname=example.test\n"), std::string::npos) << all.out;

  // vnamespace --enter sees it too: through every namespace (a fork for pid) or uts alone.
  auto enter = vnamespace({"--enter", "41006", "--", "hostname"});
  EXPECT_EQ(enter.status, 0) << enter.err;
  EXPECT_EQ(enter.out, "guest1\n");
  auto uts = vnamespace({"--enter", "41006", "--uts", "--", "hostname"});
  EXPECT_EQ(uts.status, 0) << uts.err;
  EXPECT_EQ(uts.out, "guest1\n");
  EXPECT_EQ(host_name(), host);
}

TEST(ToolsVuname, RefusesWhatAStockKernelCannotDoAndHostileValues) {
  BgContext ctx(41007, {}, {"sleep", "1000"});
  ASSERT_TRUE(ctx.wait_for("sleep"));
  auto release = vuname({"--xid", "41007", "--set", "-t", "release=x"});
  EXPECT_EQ(release.status, 2);
  EXPECT_NE(release.err.find("stock kernel"), std::string::npos) << release.err;
  for (const char* bad : {"nodename=a\nb", "nodename=-lead", "nodename=a b",
                          "nodename=", "domainname=a\tb", "bogus=1"}) {
    auto r = vuname({"--xid", "41007", "--set", "-t", bad});
    EXPECT_EQ(r.status, 2) << bad << ": " << r.err;
  }
  auto toolong = vuname({"--xid", "41007", "--set", "-t", "nodename=" + std::string(65, 'a')});
  EXPECT_EQ(toolong.status, 2) << toolong.err;
  EXPECT_EQ(vuname({"--xid", "41007", "--set", "-t", "nodename=" + std::string(64, 'a')}).status,
            0);
  EXPECT_EQ(vuname({"--xid", "41007", "--get", "-t", "nodename=x"}).status, 2);
  EXPECT_EQ(vuname({"--xid", "41007", "--get", "--set", "-t", "nodename=x"}).status, 2);
  EXPECT_EQ(vuname({"--xid", "41999", "--get"}).status, 3);
  EXPECT_EQ(vuname({"--xid", "1", "--get"}).status, 2);
}

TEST(ToolsVuname, ASealedContextRefusesChangesFromInside) {
  // Without a mount namespace the context still sees the table; the seal must hold anyway.
  // (A sealed context's commands get a clean environment: the table's roots are named.)
  BgContext ctx(41008, {"--namespaces", "uts,ipc", "--endsetup"}, {"sleep", "1000"});
  ASSERT_TRUE(ctx.wait_for("sleep"));
  auto inside = run_cmd({tool_path("vcontext"), "--migrate", "--xid", "41008", "--",
                         tool_path("vuname"), "--rundir", root_env().rundir, "--cgroup-parent",
                         root_env().cgroup_parent, "--xid", "41008", "--set", "-t",
                         "nodename=x"});
  EXPECT_EQ(inside.status, 4) << inside.err;
  EXPECT_NE(inside.err.find("context 41008 is sealed"), std::string::npos) << inside.err;
  // From the host the administrator still may.
  auto host = vuname({"--xid", "41008", "--set", "-t", "nodename=sealed1"});
  EXPECT_EQ(host.status, 0) << host.err;
  EXPECT_EQ(vuname({"--xid", "41008", "-t", "nodename"}).out, "sealed1\n");
}

TEST(ToolsVuname, ASealedContextWithItsOwnMountsCannotReachTheTable) {
  BgContext ctx(41009, {"--endsetup"}, {"sleep", "1000"});
  ASSERT_TRUE(ctx.wait_for("sleep"));
  ASSERT_EQ(vuname({"--xid", "41009", "--set", "-t", "nodename=before"}).status, 0);
  auto inside = run_cmd({tool_path("vcontext"), "--migrate", "--xid", "41009", "--",
                         tool_path("vuname"), "--xid", "41009", "--set", "-t", "nodename=x"});
  EXPECT_NE(inside.status, 0) << inside.err;
  EXPECT_EQ(vuname({"--xid", "41009", "-t", "nodename"}).out, "before\n");
}

TEST(ToolsVnamespace, SetRepinsTheCallersNamespacesAsTheContexts) {
  BgContext ctx(41010, {}, {"sleep", "1000"});
  ASSERT_TRUE(ctx.wait_for("sleep"));
  ASSERT_EQ(vuname({"--xid", "41010", "--set", "-t", "nodename=old"}).status, 0);
  auto set =
      vnamespace({"--new", "--uts", "--", "/bin/sh", "-c",
                  "hostname repinned && exec " + tool_path("vnamespace") + " --set 41010 --uts"});
  EXPECT_EQ(set.status, 0) << set.err;
  EXPECT_EQ(vuname({"--xid", "41010", "-t", "nodename"}).out, "repinned\n");
  auto enter = vnamespace({"--enter", "41010", "--uts", "--", "hostname"});
  EXPECT_EQ(enter.out, "repinned\n") << enter.err;
  // A mount namespace cannot be re-pinned: a usage error, nothing changed.
  EXPECT_EQ(vnamespace({"--set", "41010", "--mount"}).status, 2);
}

}  // namespace
}  // namespace vs::test
