// ContextCgroup::kill against the real kernel (root): every KillMethod, on sleeping and
// stopped processes, on a fork loop, with SIGKILL and with SIGTERM (exit statuses checked
// through the pidfd), thawing always, and the refusals. Xids 40201..40299.
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "kernel-shim/cgroup.h"
#include "lib/base/child.h"
#include "lib/base/scope_exit.h"
#include "tests/support/root_env.h"

namespace vs::shim {
namespace {

using Method = ContextCgroup::KillMethod;
using Clock = std::chrono::steady_clock;

// How long a process may take to do what it must (exit, answer): a bound against hangs,
// never a measure of speed.
constexpr std::chrono::seconds kPatience{10};

const CgroupLayout& layout() {
  static const CgroupLayout l = [] {
    auto d = CgroupLayout::discover();
    if (!d) {
      ADD_FAILURE() << d.error().message();
      return CgroupLayout{};
    }
    return *d;
  }();
  return l;
}

CgroupSpec spec() { return test::shim_config().cgroup; }

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// Plain read(2): a /proc file of a process that dies meanwhile fails with ESRCH, which
// libstdc++'s streams turn into an exception; here it is just "nothing".
std::string slurp(const std::string& path) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

void expect_all_gone(const CgroupSpec& s, Xid xid) {
  std::vector<std::string> roots{layout().v2_root};
  for (const auto& h : layout().v1) roots.push_back(h.mount_point);
  for (const auto& r : roots) {
    const std::string d = r + "/" + s.parent + "/" + xid.str();
    EXPECT_FALSE(exists(d)) << d << " is left";
  }
}

std::string v1_dir(const char* controller, Xid xid) {
  const auto* h = layout().v1_for(controller);
  return h ? h->mount_point + "/" + spec().parent + "/" + xid.str() : std::string();
}

const char* method_name(Method m) {
  switch (m) {
    case Method::kAuto:
      return "Auto";
    case Method::kCgroupKill:
      return "CgroupKill";
    case Method::kFreezeV2:
      return "FreezeV2";
    case Method::kFreezeV1:
      return "FreezeV1";
  }
  return "?";
}

// Why `m` cannot run on this machine, or empty.
std::string missing_feature(Method m, const ContextCgroup& cg) {
  if (m == Method::kCgroupKill && !exists(cg.v2_path() + "/cgroup.kill")) {
    return "needs cgroup.kill (Linux 5.14)";
  }
  if (m == Method::kFreezeV2 && !exists(cg.v2_path() + "/cgroup.freeze")) {
    return "needs cgroup.freeze (Linux 5.2)";
  }
  if (m == Method::kFreezeV1 && layout().v1_for("freezer") == nullptr) {
    return "needs the v1 freezer controller mounted";
  }
  return {};
}

enum class OnTerm { kDie, kExit42, kIgnore };

// A child that sleeps in pause() (or, with an echo pipe pair, answers each byte) and
// handles SIGTERM as told. It has set up its signal disposition when this returns.
Child sleeper(OnTerm on_term, int echo_in = -1, int echo_out = -1) {
  int ready[2];
  EXPECT_EQ(::pipe2(ready, O_CLOEXEC), 0);
  auto c = Child::spawn(CloneSpec{}, [&] {
    if (on_term == OnTerm::kExit42) {
      struct sigaction sa {};
      sa.sa_handler = [](int) { ::_exit(42); };
      ::sigaction(SIGTERM, &sa, nullptr);
    } else if (on_term == OnTerm::kIgnore) {
      (void)::signal(SIGTERM, SIG_IGN);
    }
    (void)!::write(ready[1], "r", 1);
    for (;;) {
      char b;
      if (echo_in < 0) {
        ::pause();
      } else if (::read(echo_in, &b, 1) == 1) {
        (void)!::write(echo_out, &b, 1);
      }
    }
    return 0;
  });
  ::close(ready[1]);
  char b;
  EXPECT_EQ(::read(ready[0], &b, 1), 1);
  ::close(ready[0]);
  if (!c) {
    ADD_FAILURE() << c.error().message();
    return Child();
  }
  return std::move(*c);
}

// Waits (bounded) for a child to end and reaps it; nullopt if it is still running.
std::optional<ExitStatus> wait_exit(Child& c, std::chrono::milliseconds limit = kPatience) {
  struct pollfd p = {c.pidfd(), POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(limit.count())) != 1) return std::nullopt;
  auto st = c.wait();
  if (!st) {
    ADD_FAILURE() << st.error().message();
    return std::nullopt;
  }
  return *st;
}

bool still_running(const Child& c) {
  struct pollfd p = {c.pidfd(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

void expect_killed_by(Child& c, int sig) {
  auto st = wait_exit(c);
  ASSERT_TRUE(st) << "pid " << c.pid() << " still runs " << kPatience.count() << " s after kill";
  EXPECT_TRUE(st->signaled);
  EXPECT_EQ(st->value, sig);
}

void stop(Child& c) {
  ASSERT_TRUE(c.signal(SIGSTOP));
  siginfo_t info{};
  ASSERT_EQ(::waitid(static_cast<idtype_t>(3 /* P_PIDFD */), static_cast<id_t>(c.pidfd()), &info,
                     WSTOPPED | WNOWAIT),
            0);
  ASSERT_EQ(info.si_code, CLD_STOPPED);
}

void expect_empty(const ContextCgroup& cg) {
  auto populated = cg.populated();
  ASSERT_TRUE(populated) << populated.error().message();
  EXPECT_FALSE(*populated);
  auto pids = cg.pids();
  ASSERT_TRUE(pids) << pids.error().message();
  EXPECT_TRUE(pids->empty()) << pids->size() << " processes left";
}

void expect_thawed(const ContextCgroup& cg) {
  EXPECT_NE(slurp(cg.v2_path() + "/cgroup.events").find("frozen 0"), std::string::npos);
  const std::string freezer = v1_dir("freezer", cg.xid());
  if (!freezer.empty()) {
    EXPECT_EQ(slurp(freezer + "/freezer.state"), "THAWED\n");
  }
}

void remove_and_check(const ContextCgroup& cg) {
  auto r = cg.remove();
  ASSERT_TRUE(r) << r.error().message();
  expect_all_gone(spec(), cg.xid());
}

// Processes named `comm` that are not zombies.
int count_alive(const std::string& comm) {
  int n = 0;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = slurp(e.path().string() + "/stat");
    auto open = stat.find('(');
    auto close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close + 2 >= stat.size()) {
      continue;
    }
    char state = stat[close + 2];
    if (stat.substr(open + 1, close - open - 1) == comm && state != 'Z' && state != 'X') ++n;
  }
  return n;
}

// The loop: the top process starts kSleepers sleeping processes, then kChains chains, and
// reaps. In a chain every process forks and exits at once, so its pid changes all the time;
// the sleepers come first in the pid list, so a kill that signals the list without a freeze
// leaves the chains ample time to fork children it does not know of. The v1 pids controller
// bounds it all in case of a bug.
constexpr int kSleepers = 200;
constexpr int kChains = 16;

int fork_loop(const char* comm, int go_fd) {
  char b;
  if (::read(go_fd, &b, 1) != 1) return 1;
  ::prctl(PR_SET_NAME, comm);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);  // the chains' orphans come back here to be reaped
  for (int i = 0; i < kSleepers; ++i) {
    pid_t p = ::fork();
    if (p == 0) {
      for (;;) ::pause();
    }
  }
  for (int started = 0;;) {
    if (started < kChains) {
      pid_t p = ::fork();
      if (p == 0) break;
      if (p > 0) ++started;
    }
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    ::sched_yield();
  }
  for (;;) {
    pid_t p = ::fork();
    if (p > 0) ::_exit(0);
    if (p < 0) ::sched_yield();
  }
}

class KillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (layout().v2_root.empty()) GTEST_SKIP() << "needs a cgroup2 hierarchy";
  }

  // Also after a failed assertion: thaw first (a frozen child is not reaped, so the Child
  // destructors would wait forever), then kill whatever is left (a fork loop), then reap.
  void TearDown() override {
    if (cg_) {
      std::ofstream(cg_->v2_path() + "/cgroup.freeze") << "0";
      const std::string freezer = v1_dir("freezer", cg_->xid());
      if (!freezer.empty() && exists(freezer)) {
        std::ofstream(freezer + "/freezer.state") << "THAWED";
      }
      (void)cg_->kill(SIGKILL);
    }
    kids_.clear();
    if (cg_) (void)cg_->remove();
  }

  // Creates the context of this test (owned by the fixture).
  ContextCgroup* create(Xid xid, const CgroupSpec& s = spec()) {
    auto r = ContextCgroup::create(layout(), s, xid);
    if (!r) {
      ADD_FAILURE() << r.error().message();
      return nullptr;
    }
    cg_.emplace(std::move(*r));
    return &*cg_;
  }

  // Keeps a child for TearDown; the reference stays valid (a deque does not move elements).
  Child& keep(Child c) { return kids_.emplace_back(std::move(c)); }

  std::optional<ContextCgroup> cg_;
  std::deque<Child> kids_;
};

class KillMethodTest : public KillTest, public ::testing::WithParamInterface<Method> {
 protected:
  uint16_t offset() const { return static_cast<uint16_t>(GetParam()); }

  // One round: start the loop in `cg`, wait until it runs hard, kill it, check that nothing
  // of it is left.
  void loop_and_kill(const ContextCgroup& cg, const std::string& comm, int round) {
    int go[2];
    ASSERT_EQ(::pipe2(go, O_CLOEXEC), 0);
    auto spawned = Child::spawn(CloneSpec{}, [&] { return fork_loop(comm.c_str(), go[0]); });
    ::close(go[0]);
    ASSERT_TRUE(spawned) << spawned.error().message();
    Child& top = keep(std::move(*spawned));
    ASSERT_TRUE(cg.attach(top.pid()));
    ASSERT_EQ(::write(go[1], "g", 1), 1);
    ::close(go[1]);

    // The loop is running hard before the kill.
    size_t seen = 0;
    const size_t want = kSleepers + kChains;
    for (auto until = Clock::now() + kPatience; Clock::now() < until && seen < want;) {
      auto pids = cg.pids();
      ASSERT_TRUE(pids) << pids.error().message();
      seen = pids->size();
      ::usleep(10 * 1000);
    }
    ASSERT_GE(seen, want) << "the fork loop did not get going";
    EXPECT_GT(count_alive(comm), 0);

    auto started = Clock::now();
    auto r = cg.kill(SIGKILL, GetParam());
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
    ASSERT_TRUE(r) << r.error().message();
    (void)std::fprintf(
        stderr, "[timing] round %d: kill(SIGKILL, %s) of a fork loop (%zu+ processes): %lld ms\n",
        round, method_name(GetParam()), seen, static_cast<long long>(took.count()));
    expect_empty(cg);
    expect_killed_by(top, SIGKILL);

    // No process of the loop lives on anywhere (zombies are reaped as they come to us).
    int alive = 0;
    for (auto until = Clock::now() + kPatience; Clock::now() < until;) {
      while (::waitpid(-1, nullptr, WNOHANG) > 0) {
      }
      alive = count_alive(comm);
      if (alive == 0) break;
      ::usleep(10 * 1000);
    }
    EXPECT_EQ(alive, 0) << "processes of the fork loop survived kill(SIGKILL)";
  }
};

std::string param_name(const ::testing::TestParamInfo<Method>& info) {
  return method_name(info.param);
}

TEST_P(KillMethodTest, SigkillEndsSleepingAndStoppedProcesses) {
  auto* cg = create(Xid(40201 + offset()));
  ASSERT_NE(cg, nullptr);
  if (auto why = missing_feature(GetParam(), *cg); !why.empty()) {
    remove_and_check(*cg);
    GTEST_SKIP() << why;
  }
  std::vector<Child*> kids;
  for (int i = 0; i < 3; ++i) kids.push_back(&keep(sleeper(OnTerm::kIgnore)));
  for (auto* k : kids) ASSERT_TRUE(cg->attach(k->pid()));
  stop(*kids[0]);

  auto r = cg->kill(SIGKILL, GetParam());
  ASSERT_TRUE(r) << r.error().message();
  // kill(SIGKILL) returns once the context is empty: no wait needed here.
  expect_empty(*cg);
  for (auto* k : kids) expect_killed_by(*k, SIGKILL);
  expect_thawed(*cg);
  remove_and_check(*cg);
}

TEST_P(KillMethodTest, SigkillEndsAForkLoop) {
  const Xid xid(40211 + offset());
  auto* cg = create(xid);
  ASSERT_NE(cg, nullptr);
  if (auto why = missing_feature(GetParam(), *cg); !why.empty()) {
    remove_and_check(*cg);
    GTEST_SKIP() << why;
  }
  const std::string pids_dir = v1_dir("pids", xid);
  if (pids_dir.empty() || !exists(pids_dir)) {
    remove_and_check(*cg);
    GTEST_SKIP() << "needs the v1 pids controller to bound the fork loop";
  }
  const std::string limit = std::to_string(2 * (kSleepers + kChains));
  std::ofstream(pids_dir + "/pids.max") << limit;
  ASSERT_EQ(slurp(pids_dir + "/pids.max"), limit + "\n");

  // Orphans of the loop come to us, so we can reap them and no zombie is left behind.
  ASSERT_EQ(::prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  ScopeExit reset_subreaper([] {
    ::prctl(PR_SET_CHILD_SUBREAPER, 0);
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
  });

  // Without a freeze, a kill loses the race against the chains only now and then: several
  // rounds make a non-atomic kill fail this test nearly always.
  const std::string comm = "vsloop-" + xid.str();
  for (int round = 1; round <= 3; ++round) {
    ASSERT_NO_FATAL_FAILURE(loop_and_kill(*cg, comm, round)) << "round " << round;
  }
  expect_thawed(*cg);
  remove_and_check(*cg);
}

INSTANTIATE_TEST_SUITE_P(Methods, KillMethodTest,
                         ::testing::Values(Method::kAuto, Method::kCgroupKill, Method::kFreezeV2,
                                           Method::kFreezeV1),
                         param_name);

class FreezeMethodTest : public KillMethodTest {};

TEST_P(FreezeMethodTest, SigtermReachesEveryProcessAndTheContextIsThawedAfter) {
  auto* cg = create(Xid(40221 + offset()));
  ASSERT_NE(cg, nullptr);
  if (auto why = missing_feature(GetParam(), *cg); !why.empty()) {
    remove_and_check(*cg);
    GTEST_SKIP() << why;
  }
  int to_child[2], from_child[2];
  ASSERT_EQ(::pipe2(to_child, O_CLOEXEC), 0);
  ASSERT_EQ(::pipe2(from_child, O_CLOEXEC), 0);
  Child& dies = keep(sleeper(OnTerm::kDie));
  Child& handles = keep(sleeper(OnTerm::kExit42));
  Child& ignores = keep(sleeper(OnTerm::kIgnore, to_child[0], from_child[1]));
  ::close(to_child[0]);
  ::close(from_child[1]);
  for (const Child* k : {&dies, &handles, &ignores}) ASSERT_TRUE(cg->attach(k->pid()));

  auto r = cg->kill(SIGTERM, GetParam());
  ASSERT_TRUE(r) << r.error().message();
  expect_killed_by(dies, SIGTERM);
  auto st = wait_exit(handles);
  ASSERT_TRUE(st) << "the SIGTERM handler did not run";
  EXPECT_FALSE(st->signaled);
  EXPECT_EQ(st->value, 42);

  // The one that ignores SIGTERM is alive and runs again: the context was thawed.
  EXPECT_TRUE(still_running(ignores));
  expect_thawed(*cg);
  ASSERT_EQ(::write(to_child[1], "p", 1), 1);
  struct pollfd p = {from_child[0], POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, static_cast<int>(kPatience.count() * 1000)), 1)
      << "the process that ignored SIGTERM does not run (left frozen?)";
  char b = 0;
  EXPECT_EQ(::read(from_child[0], &b, 1), 1);
  EXPECT_EQ(b, 'p');
  ::close(to_child[1]);
  ::close(from_child[0]);
  auto pids = cg->pids();
  ASSERT_TRUE(pids);
  EXPECT_EQ(*pids, std::vector<pid_t>{ignores.pid()});

  auto k = cg->kill(SIGKILL, GetParam());
  ASSERT_TRUE(k) << k.error().message();
  expect_killed_by(ignores, SIGKILL);
  expect_empty(*cg);
  remove_and_check(*cg);
}

// A guest may make sub-cgroups: the freeze methods read every cgroup below the context's.
TEST_P(FreezeMethodTest, SignalsReachProcessesInSubCgroups) {
  auto* cg = create(Xid(40231 + offset()));
  ASSERT_NE(cg, nullptr);
  if (auto why = missing_feature(GetParam(), *cg); !why.empty()) {
    remove_and_check(*cg);
    GTEST_SKIP() << why;
  }
  Child& inner = keep(sleeper(OnTerm::kDie));
  ASSERT_TRUE(cg->attach(inner.pid()));
  std::vector<std::string> dirs{cg->v2_path()};
  for (const auto& d : cg->v1_paths()) dirs.push_back(d);
  for (const auto& d : dirs) {
    ASSERT_EQ(::mkdir((d + "/inner").c_str(), 0755), 0) << d;
    if (d.find("/cpuset/") != std::string::npos) {
      std::ofstream(d + "/inner/cpuset.cpus") << slurp(d + "/cpuset.cpus");
      std::ofstream(d + "/inner/cpuset.mems") << slurp(d + "/cpuset.mems");
    }
    std::ofstream(d + "/inner/cgroup.procs") << inner.pid();
    ASSERT_NE(slurp(d + "/inner/cgroup.procs").find(std::to_string(inner.pid())), std::string::npos)
        << d;
  }
  auto r = cg->kill(SIGTERM, GetParam());
  ASSERT_TRUE(r) << r.error().message();
  expect_killed_by(inner, SIGTERM);
  expect_empty(*cg);
  remove_and_check(*cg);  // the sub-cgroups too
}

INSTANTIATE_TEST_SUITE_P(Methods, FreezeMethodTest,
                         ::testing::Values(Method::kAuto, Method::kFreezeV2, Method::kFreezeV1),
                         param_name);

TEST_F(KillTest, EveryMethodOnAnEmptyContextSucceeds) {
  auto* cg = create(Xid(40241));
  ASSERT_NE(cg, nullptr);
  for (Method m : {Method::kAuto, Method::kCgroupKill, Method::kFreezeV2, Method::kFreezeV1}) {
    if (!missing_feature(m, *cg).empty()) continue;
    auto r = cg->kill(SIGKILL, m);
    EXPECT_TRUE(r) << method_name(m) << ": " << r.error().message();
    if (m == Method::kCgroupKill) continue;
    auto t = cg->kill(SIGTERM, m);
    EXPECT_TRUE(t) << method_name(m) << ": " << t.error().message();
  }
  expect_thawed(*cg);
  remove_and_check(*cg);
}

TEST_F(KillTest, CgroupKillRefusesOtherSignalsAndSignalsNothing) {
  auto* cg = create(Xid(40242));
  ASSERT_NE(cg, nullptr);
  Child& c = keep(sleeper(OnTerm::kDie));
  ASSERT_TRUE(cg->attach(c.pid()));
  for (int sig : {SIGTERM, SIGHUP, SIGSTOP}) {
    auto r = cg->kill(sig, Method::kCgroupKill);
    ASSERT_FALSE(r) << sig;
    EXPECT_EQ(r.error().kind, ErrorKind::kUsage);
  }
  EXPECT_TRUE(still_running(c));
  ASSERT_TRUE(cg->kill(SIGKILL));
  expect_killed_by(c, SIGKILL);
  remove_and_check(*cg);
}

TEST_F(KillTest, BadSignalNumbersAreUsageErrors) {
  auto* cg = create(Xid(40243));
  ASSERT_NE(cg, nullptr);
  Child& c = keep(sleeper(OnTerm::kDie));
  ASSERT_TRUE(cg->attach(c.pid()));
  for (int sig : {0, -1, 65, 1000}) {
    auto r = cg->kill(sig);
    ASSERT_FALSE(r) << sig;
    EXPECT_EQ(r.error().kind, ErrorKind::kUsage) << sig;
  }
  EXPECT_TRUE(still_running(c));
  ASSERT_TRUE(cg->kill(SIGKILL));
  expect_killed_by(c, SIGKILL);
  remove_and_check(*cg);
}

TEST_F(KillTest, V1FreezerMethodWithoutAV1FreezerDirectoryIsUnsupported) {
  CgroupSpec s = spec();
  s.v1_controllers = {"memory"};
  const Xid xid(40244);
  auto* cg = create(xid, s);
  ASSERT_NE(cg, nullptr);
  Child& c = keep(sleeper(OnTerm::kDie));
  ASSERT_TRUE(cg->attach(c.pid()));
  for (int sig : {SIGTERM, SIGKILL}) {
    auto r = cg->kill(sig, Method::kFreezeV1);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ENOTSUP);
  }
  EXPECT_TRUE(still_running(c));
  // kAuto does not need it.
  auto r = cg->kill(SIGTERM);
  ASSERT_TRUE(r) << r.error().message();
  expect_killed_by(c, SIGTERM);
  auto rm = cg->remove();
  ASSERT_TRUE(rm) << rm.error().message();
  expect_all_gone(s, xid);
}

// A kill that died half-way may leave the v1 freezer FROZEN; kAuto still ends the context,
// with SIGKILL (cgroup.kill, then thaw) and with SIGTERM (the v1 freezer, then thaw).
class LeftFrozenTest : public KillTest, public ::testing::WithParamInterface<int> {};

TEST_P(LeftFrozenTest, AutoKillEndsAContextLeftFrozenInV1) {
  const int sig = GetParam();
  const Xid xid(static_cast<uint16_t>(40250 + sig));
  const std::string freezer = v1_dir("freezer", xid);
  if (freezer.empty()) GTEST_SKIP() << "needs the v1 freezer controller mounted";
  auto* cg = create(xid);
  ASSERT_NE(cg, nullptr);
  Child& c = keep(sleeper(OnTerm::kDie));
  ASSERT_TRUE(cg->attach(c.pid()));
  std::ofstream(freezer + "/freezer.state") << "FROZEN";
  std::string state;
  for (auto until = Clock::now() + kPatience; Clock::now() < until;) {
    state = slurp(freezer + "/freezer.state");
    if (state == "FROZEN\n") break;
    ::usleep(1000);
  }
  ASSERT_EQ(state, "FROZEN\n");
  auto r = cg->kill(sig);
  ASSERT_TRUE(r) << r.error().message();
  expect_killed_by(c, sig);
  expect_empty(*cg);
  expect_thawed(*cg);
  remove_and_check(*cg);
}

std::string signal_param_name(const ::testing::TestParamInfo<int>& param) {
  return param.param == SIGKILL ? "Sigkill" : "Sigterm";
}

INSTANTIATE_TEST_SUITE_P(Signals, LeftFrozenTest, ::testing::Values(SIGKILL, SIGTERM),
                         signal_param_name);

}  // namespace
}  // namespace vs::shim
