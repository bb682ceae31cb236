// The guest helper (kernel-shim/helper.h, kernel-shim/vsinit/vsinit.c) in init mode, as
// pid 1 of a new pid namespace, run for real from its sealed memfd: report, exit status,
// reaping, stopping, forwarding, title, descriptors, signal state, dumpability, memory.
// Root: CLONE_NEWPID and uid changes. The commands are the host's.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kernel-shim/helper.h"
#include "tests/integration/helper_harness.h"
#include "tests/support/files.h"
#include "tests/support/run_in_child.h"

namespace vs::shim {
namespace {

using namespace std::chrono_literals;

std::string status_field(pid_t pid, const std::string& key) {
  std::istringstream in(slurp("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      std::string v = line.substr(key.size() + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  }
  return "";
}

struct Proc {
  pid_t pid;
  char state;
  std::string cmdline;  // NULs as spaces
};

// Every process whose parent is `ppid`, from /proc.
std::vector<Proc> children_of(pid_t ppid) {
  std::vector<Proc> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (struct dirent* e = ::readdir(d)) {
    pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    std::string ppid_s = status_field(pid, "PPid");
    if (ppid_s.empty() || std::atoi(ppid_s.c_str()) != ppid) continue;
    std::string state = status_field(pid, "State");
    std::string cmd = slurp("/proc/" + std::to_string(pid) + "/cmdline");
    std::replace(cmd.begin(), cmd.end(), '\0', ' ');
    out.push_back({pid, state.empty() ? '?' : state[0], cmd});
  }
  ::closedir(d);
  return out;
}

std::string describe(const std::vector<Proc>& procs) {
  std::string s;
  for (const auto& p : procs) {
    s += std::to_string(p.pid) + " " + p.state + " [" + p.cmdline + "]; ";
  }
  return s.empty() ? "none" : s;
}

template <typename F>
bool eventually(F pred) {
  auto deadline = Clock::now() + kPatience;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

InitArgs init_args(Argv cmd, bool stays = false, unsigned kill_after_ms = 5000) {
  InitArgs a;
  a.argv = std::move(cmd);
  a.stays = stays;
  a.kill_after_ms = kill_after_ms;
  return a;
}

TEST(HelperInit, ReportsZeroThenEofAndEndsWithTheCommandsExitCode) {
  Helper h = start_init(init_args({"sh", "-c", "exit 7"}));
  EXPECT_EQ(h.reports(), std::vector<int>{0});
  EXPECT_TRUE(exited(h.wait(), 7));
}

TEST(HelperInit, EndsWith128PlusTheSignalThatKilledTheCommand) {
  Helper h = start_init(init_args({"sh", "-c", "kill -USR2 $$"}));
  EXPECT_EQ(h.reports(), std::vector<int>{0});
  EXPECT_TRUE(exited(h.wait(), 128 + SIGUSR2));
}

TEST(HelperInit, ReportsExecErrorsAndExits127) {
  Helper h = start_init(init_args({"vs-no-such-command"}));
  EXPECT_EQ(h.reports(), std::vector<int>{ENOENT});
  EXPECT_TRUE(exited(h.wait(), 127));
  Helper stays = start_init(init_args({"vs-no-such-command"}, true));
  EXPECT_EQ(stays.reports(), std::vector<int>{ENOENT});
  EXPECT_TRUE(exited(stays.wait(), 127));
}

TEST(HelperInit, ReapsOrphans) {
  // The subshells exit at once: their children become init's.
  Helper h = start_init(
      init_args({"sh", "-c", "(sleep 0.3 &); (true &); (true &); echo forked; exec sleep 1000"}));
  EXPECT_EQ(h.reports(), std::vector<int>{0});
  ASSERT_TRUE(h.output.wait_for("forked")) << h.output.data();
  const pid_t init = h.child.pid();
  // Once exec'd, the orphan shows as itself.
  std::vector<Proc> kids;
  EXPECT_TRUE(eventually([&] {
    kids = children_of(init);
    return std::any_of(kids.begin(), kids.end(),
                       [](const Proc& p) { return p.cmdline == "sleep 0.3 "; });
  })) << "the orphan is no child of init: "
      << describe(kids);
  EXPECT_TRUE(eventually([&] {
    kids = children_of(init);
    return kids.size() == 1 && kids[0].cmdline == "sleep 1000 " && kids[0].state != 'Z';
  })) << "left besides the command: "
      << describe(kids);
  EXPECT_TRUE(h.alive());
}

TEST(HelperInit, ForwardsSignalsToTheCommand) {
  for (bool stays : {false, true}) {
    SCOPED_TRACE(stays ? "stays" : "ends with the command");
    Helper h = start_init(init_args(
        {"sh", "-c", "trap 'echo got-usr1; exit 5' USR1; echo ready; while :; do sleep 0.05; done"},
        stays));
    EXPECT_EQ(h.reports(), std::vector<int>{0});
    ASSERT_TRUE(h.output.wait_for("ready")) << h.output.data();
    ASSERT_TRUE(h.child.signal(SIGUSR1));
    ASSERT_TRUE(h.output.wait_for("got-usr1")) << h.output.data();
    if (!stays) {
      EXPECT_TRUE(exited(h.wait(), 5));
      continue;
    }
    // The command ended; a staying init goes on until told to stop.
    ASSERT_TRUE(eventually([&] { return children_of(h.child.pid()).empty(); }));
    std::this_thread::sleep_for(100ms);
    EXPECT_TRUE(h.alive());
    ASSERT_TRUE(h.child.signal(SIGTERM));
    EXPECT_TRUE(exited(h.wait(), 0));
  }
}

TEST(HelperInit, StaysWithoutACommandUntilSigtermSigintOrSigpwr) {
  for (int sig : {SIGTERM, SIGINT, SIGPWR}) {
    SCOPED_TRACE(strsignal(sig));
    Helper h = start_init(init_args({}, true));
    EXPECT_EQ(h.reports(), std::vector<int>{0});
    // Signals that stop nothing are taken and dropped.
    ASSERT_TRUE(h.child.signal(SIGHUP));
    ASSERT_TRUE(h.child.signal(SIGUSR1));
    std::this_thread::sleep_for(100ms);
    EXPECT_TRUE(h.alive());
    ASSERT_TRUE(h.child.signal(sig));
    EXPECT_TRUE(exited(h.wait(), 0));
  }
}

TEST(HelperInit, StopsWithSigtermThenSigkillsWhatIgnoresItAfterKillAfter) {
  constexpr unsigned kKillAfterMs = 300;
  Helper h = start_init(
      init_args({"sh", "-c",
                 "sh -c 'trap \"\" TERM; echo ignoring; exec sleep 1000' & "
                 "sh -c 'trap \"echo other-got-term; exit 0\" TERM; echo other; "
                 "while :; do sleep 0.05; done' & "
                 "trap 'echo got-term; exit 0' TERM; echo ready; while :; do sleep 0.05; done"},
                true, kKillAfterMs));
  EXPECT_EQ(h.reports(), std::vector<int>{0});
  ASSERT_TRUE(h.output.wait_for("ready")) << h.output.data();
  ASSERT_TRUE(h.output.wait_for("ignoring")) << h.output.data();
  ASSERT_TRUE(h.output.wait_for("other")) << h.output.data();
  auto t0 = Clock::now();
  ASSERT_TRUE(h.child.signal(SIGTERM));
  auto st = h.wait();
  auto elapsed = Clock::now() - t0;
  // 0 only once every other process is gone: the one that ignores SIGTERM had to be killed.
  EXPECT_TRUE(exited(st, 0));
  EXPECT_GE(elapsed, std::chrono::milliseconds(kKillAfterMs - 10))
      << "SIGKILL came before the kill-after time";
  EXPECT_TRUE(h.output.read_to_eof());
  EXPECT_NE(h.output.data().find("\ngot-term"), std::string::npos)
      << "the command got no SIGTERM: " << h.output.data();
  EXPECT_NE(h.output.data().find("other-got-term"), std::string::npos)
      << "another process got no SIGTERM: " << h.output.data();
}

TEST(HelperInit, KillAfterIsADeadlineThatOtherSignalsDoNotPostpone) {
  constexpr unsigned kKillAfterMs = 300;
  Helper h = start_init(
      init_args({"sh", "-c", "trap '' TERM; echo ready; exec sleep 1000"}, true, kKillAfterMs));
  EXPECT_EQ(h.reports(), std::vector<int>{0});
  ASSERT_TRUE(h.output.wait_for("ready")) << h.output.data();
  auto t0 = Clock::now();
  ASSERT_TRUE(h.child.signal(SIGTERM));
  // A signal every 50 ms, forwarded to the command (SIGWINCH: ignored by default). Were each
  // one to restart the wait, init would never get to SIGKILL.
  std::optional<ExitStatus> st;
  while (Clock::now() - t0 < 3s) {
    st = h.wait(50ms);
    if (st) break;
    (void)h.child.signal(SIGWINCH);
  }
  EXPECT_TRUE(exited(st, 0)) << "init did not stop within 3 s";
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(kKillAfterMs - 10));
}

TEST(HelperInit, ShowsItsTitleAndLeavesTheCommandsArgumentsAlone) {
  InitArgs args = init_args({"sleep", "1000"}, true);
  args.title = "vserver web1";
  Helper h = start_init(args);
  EXPECT_EQ(h.reports(), std::vector<int>{0});
  const std::string proc = "/proc/" + std::to_string(h.child.pid());
  EXPECT_EQ(slurp(proc + "/cmdline"), std::string("vserver web1\0", 13));
  EXPECT_EQ(slurp(proc + "/comm"), "vserver-init\n");
  auto kids = children_of(h.child.pid());
  ASSERT_EQ(kids.size(), 1U) << describe(kids);
  EXPECT_EQ(slurp("/proc/" + std::to_string(kids[0].pid) + "/cmdline"), std::string("sleep\0"
                                                                                    "1000\0",
                                                                                    11));

  Helper plain = start_init(init_args({}, true));
  EXPECT_EQ(plain.reports(), std::vector<int>{0});
  EXPECT_EQ(slurp("/proc/" + std::to_string(plain.child.pid()) + "/cmdline"),
            std::string("vserver-init\0", 13));
}

TEST(HelperInit, RunsFromTheMemfdAndKeepsOnlyStdio) {
  StartSpec spec;
  spec.before_exec = open_stray_fd;
  Helper h = start_init(init_args({"ls", "/proc/self/fd"}, true), spec);
  EXPECT_EQ(h.reports(), std::vector<int>{0});
  const std::string proc = "/proc/" + std::to_string(h.child.pid());
  char buf[256] = {};
  ASSERT_GT(::readlink((proc + "/exe").c_str(), buf, sizeof buf - 1), 0) << strerror(errno);
  EXPECT_EQ(std::string(buf).rfind("/memfd:vsinit", 0), 0U) << buf;
  // CVE-2019-5736: whoever reaches init's exe cannot change it, not even root. While it
  // runs, the kernel refuses to open it for writing (ETXTBSY); at any time the seals refuse
  // writes and size changes, on every open file of the memfd.
  UniqueFd exe_ro(::open((proc + "/exe").c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(exe_ro) << strerror(errno);
  EXPECT_EQ(::fcntl(exe_ro.get(), F_GET_SEALS),
            F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
  UniqueFd exe_rw(::open((proc + "/exe").c_str(), O_WRONLY | O_CLOEXEC));
  if (exe_rw) {
    errno = 0;
    EXPECT_EQ(::write(exe_rw.get(), "x", 1), -1) << "wrote into the running helper";
    EXPECT_EQ(errno, EPERM);
  } else {
    EXPECT_EQ(errno, ETXTBSY) << strerror(errno);
  }
  // Init's own descriptors: stdio only.
  std::set<std::string> fds;
  DIR* d = ::opendir((proc + "/fd").c_str());
  ASSERT_NE(d, nullptr);
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') fds.insert(e->d_name);
  }
  ::closedir(d);
  EXPECT_EQ(fds, (std::set<std::string>{"0", "1", "2"}));
  // The command's: stdio and ls's own directory.
  ASSERT_TRUE(h.output.wait_for("\n3\n")) << h.output.data();
  ASSERT_TRUE(eventually([&] { return children_of(h.child.pid()).empty(); }));
  EXPECT_EQ(lines(h.output.data()), (std::set<std::string>{"0", "1", "2", "3"})) << h.output.data();
}

TEST(HelperInit, StartsTheCommandWithDefaultSignalState) {
  StartSpec spec;
  spec.before_exec = spoil_signal_state;
  Helper h = start_init(init_args(kShowSignalState), spec);
  EXPECT_EQ(h.reports(), std::vector<int>{0});
  EXPECT_TRUE(exited(h.wait(), 0));
  EXPECT_TRUE(h.output.read_to_eof());
  EXPECT_EQ(h.output.data(), kCleanSignalState);
}

TEST(HelperInit, IsNotDumpable) {
  // Init and the prober share a uid without capabilities: only dumpability keeps the prober
  // out of init's /proc files, while the (dumpable) command stays open to it.
  constexpr uid_t kNobody = 65534;
  StartSpec spec;
  spec.uid = kNobody;
  Helper h = start_init(init_args({"sleep", "1000"}, true), spec);
  EXPECT_EQ(h.reports(), std::vector<int>{0});
  const pid_t init = h.child.pid();
  ASSERT_TRUE(eventually([&] { return children_of(init).size() == 1; }));
  const pid_t cmd = children_of(init)[0].pid;
  EXPECT_EQ(status_field(init, "Uid"), "65534\t65534\t65534\t65534");

  // The files in /proc/PID of a process that is not dumpable belong to root (the directory
  // itself keeps the owner, for ps).
  struct stat st {};
  ASSERT_EQ(::stat(("/proc/" + std::to_string(init) + "/status").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0U) << "init is dumpable";
  ASSERT_EQ(::stat(("/proc/" + std::to_string(cmd) + "/status").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, kNobody) << "control: the command should be dumpable";

  test::run_in_child([&]() -> std::string {
    if (::setgroups(0, nullptr) < 0 || ::setresgid(kNobody, kNobody, kNobody) < 0 ||
        ::setresuid(kNobody, kNobody, kNobody) < 0) {
      return std::string("drop to nobody: ") + strerror(errno);
    }
    char buf[256];
    std::string init_exe = "/proc/" + std::to_string(init) + "/exe";
    errno = 0;
    if (::readlink(init_exe.c_str(), buf, sizeof buf) >= 0 || errno != EACCES) {
      return "readlink " + init_exe + " was not refused with EACCES: " + strerror(errno);
    }
    int mem = ::open(("/proc/" + std::to_string(init) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
    if (mem >= 0) {
      ::close(mem);
      return "opened init's /proc/PID/mem";
    }
    if (::readlink(("/proc/" + std::to_string(cmd) + "/exe").c_str(), buf, sizeof buf) < 0) {
      return std::string("control: readlink of the command's exe failed: ") + strerror(errno);
    }
    return "";
  });
}

TEST(HelperInit, IdleCostsAtMostFourPagesOfMemory) {
  // The budget of an idle guest init: text, data and stack together (smaps_rollup Pss).
  Helper h = start_init(init_args({"sleep", "1000"}, true));
  EXPECT_EQ(h.reports(), std::vector<int>{0});
  std::istringstream in(slurp("/proc/" + std::to_string(h.child.pid()) + "/smaps_rollup"));
  std::string line;
  long pss_kib = -1;
  while (std::getline(in, line)) {
    if (line.rfind("Pss:", 0) == 0) pss_kib = std::atol(line.c_str() + 4);
  }
  ASSERT_GT(pss_kib, 0);
  ::testing::Test::RecordProperty("idle_init_pss_kib", static_cast<int>(pss_kib));
  std::printf("idle guest init: Pss %ld KiB\n", pss_kib);
  EXPECT_LE(pss_kib, 16);
}

}  // namespace
}  // namespace vs::shim
