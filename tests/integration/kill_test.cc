// ContextCgroup::kill against the real kernel (root): every method on an empty context, the
// refusals (signals cgroup.kill cannot send, bad signal numbers, the v1 freezer method
// without a v1 freezer directory), and a context left frozen by a kill that died half-way.
// The methods on live processes are in kill_method_test.cc. Xids 40241..40299.
#include <errno.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "kernel-shim/cgroup.h"
#include "lib/base/child.h"
#include "tests/integration/kill_fixture.h"

namespace vs::shim {
namespace {

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
  expect_gone_everywhere(s, xid);
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
