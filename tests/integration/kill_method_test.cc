// ContextCgroup::kill against the real kernel (root), for each KillMethod: on sleeping and
// stopped processes, on a fork loop, and (the freeze methods) with SIGTERM to every process,
// in sub-cgroups too, exit statuses checked through the pidfd, thawing always. Xids
// 40201..40239.
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "kernel-shim/cgroup.h"
#include "lib/base/child.h"
#include "lib/base/scope_exit.h"
#include "tests/integration/kill_fixture.h"

namespace vs::shim {
namespace {

void stop(Child& c) {
  ASSERT_TRUE(c.signal(SIGSTOP));
  siginfo_t info{};
  ASSERT_EQ(::waitid(static_cast<idtype_t>(3 /* P_PIDFD */), static_cast<id_t>(c.pidfd()), &info,
                     WSTOPPED | WNOWAIT),
            0);
  ASSERT_EQ(info.si_code, CLD_STOPPED);
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

}  // namespace
}  // namespace vs::shim
