// change_context_limits() and change_own_rlimits() (kernel-shim/limits_change.h, what vlimit
// and vsched call) at the API, as root against real contexts: rlimits recorded, cgroup limits
// written and read back, a refused merge or quota that changes nothing, no such context, and
// the caller's own rlimits (in a child). Xids 41431..41439.
#include "kernel-shim/limits_change.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <string>

#include "tests/support/root_env.h"
#include "tests/support/run_cmd.h"
#include "tests/support/run_in_child.h"
#include "tests/support/sleeper_context.h"

namespace vs::test {
namespace {

using shim::ContextTable;
using shim::LimitsChange;
using shim::Xid;

std::string state_of(const ContextTable& table, Xid xid) {
  return run_cmd({"cat", table.entry_dir(xid) + "/state"}).out;
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(LimitsChange, RlimitsAreRecordedCgroupLimitsWrittenAndBothReadBack) {
  ContextTable table(shim_config());
  ASSERT_TRUE(table.prepare());
  SleeperContext ctx(table, Xid(41431));
  ASSERT_TRUE(ctx.running());
  LimitsChange change;
  change.rlimits = {{RLIMIT_NOFILE, 100, "--nofile"}};
  change.cgroup.pids = 50;
  auto r = shim::change_context_limits(table, Xid(41431), change, true);
  if (!r && r.error().code == ENOTSUP) GTEST_SKIP() << r.error().message();
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_TRUE(r->has_value());
  const shim::ContextLimits& l = **r;
  ASSERT_EQ(l.rlimits.count(RLIMIT_NOFILE), 1u);
  EXPECT_EQ(l.rlimits.at(RLIMIT_NOFILE), (shim::Rlimit{100, 100}));
  EXPECT_EQ(l.cgroup.pids, 50u);
  EXPECT_TRUE(l.usage.pids_current.has_value());
  EXPECT_TRUE(has_line(state_of(table, Xid(41431)), "attr.rlimit.nofile=100:100"))
      << state_of(table, Xid(41431));

  // One half only; without read_back nothing is returned.
  LimitsChange soft;
  soft.rlimits = {{RLIMIT_NOFILE, 50, "--nofile"}};
  soft.scope = shim::RlimitScope::kSoft;
  auto s = shim::change_context_limits(table, Xid(41431), soft, false);
  ASSERT_TRUE(s) << s.error().message();
  EXPECT_FALSE(s->has_value());
  EXPECT_TRUE(has_line(state_of(table, Xid(41431)), "attr.rlimit.nofile=50:100"));
}

TEST(LimitsChange, ARefusedValueChangesNothing) {
  ContextTable table(shim_config());
  ASSERT_TRUE(table.prepare());
  SleeperContext ctx(table, Xid(41432));
  ASSERT_TRUE(ctx.running());
  LimitsChange first;
  first.rlimits = {{RLIMIT_NOFILE, 50, "--nofile"}};
  ASSERT_TRUE(shim::change_context_limits(table, Xid(41432), first, false));
  const std::string before = state_of(table, Xid(41432));

  // A hard limit below the soft one, named by its `what`.
  LimitsChange hard;
  hard.rlimits = {{RLIMIT_NOFILE, 40, "--nofile"}};
  hard.scope = shim::RlimitScope::kHard;
  hard.cgroup.pids = 7;  // valid, but nothing may be written when the rlimit is refused
  auto r = shim::change_context_limits(table, Xid(41432), hard, false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kUsage) << r.error().message();
  EXPECT_NE(r.error().message().find("--nofile"), std::string::npos) << r.error().message();
  // A quota percentage below 1000 us of the period.
  LimitsChange quota;
  quota.cgroup.cpu_period_us = 50000;
  quota.cpu_quota_percent = shim::CpuQuotaPercent{1, "--quota"};
  auto q = shim::change_context_limits(table, Xid(41432), quota, false);
  ASSERT_FALSE(q);
  EXPECT_EQ(q.error().kind, ErrorKind::kUsage) << q.error().message();
  EXPECT_NE(q.error().message().find("--quota"), std::string::npos) << q.error().message();
  EXPECT_EQ(state_of(table, Xid(41432)), before);
  auto now = shim::change_context_limits(table, Xid(41432), LimitsChange{}, true);
  ASSERT_TRUE(now) << now.error().message();
  EXPECT_NE((*now)->cgroup.pids, 7u);
  if ((*now)->cgroup.cpu_period_us) {
    EXPECT_NE((*now)->cgroup.cpu_period_us, 50000u);
  }
}

TEST(LimitsChange, AQuotaPercentIsOfThePeriodInForce) {
  ContextTable table(shim_config());
  ASSERT_TRUE(table.prepare());
  SleeperContext ctx(table, Xid(41433));
  ASSERT_TRUE(ctx.running());
  LimitsChange change;
  change.cgroup.cpu_period_us = 50000;
  change.cpu_quota_percent = shim::CpuQuotaPercent{20, "--quota"};
  auto r = shim::change_context_limits(table, Xid(41433), change, true);
  if (!r && r.error().code == ENOTSUP) GTEST_SKIP() << r.error().message();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ((**r).cgroup.cpu_quota_us, 10000u);
  // The period now in force (50000 us), when none is given.
  LimitsChange half;
  half.cpu_quota_percent = shim::CpuQuotaPercent{50, "--quota"};
  auto h = shim::change_context_limits(table, Xid(41433), half, true);
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ((**h).cgroup.cpu_quota_us, 25000u);
  LimitsChange none;
  none.cpu_quota_percent = shim::CpuQuotaPercent{std::nullopt, "--quota"};
  auto n = shim::change_context_limits(table, Xid(41433), none, true);
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ((**n).cgroup.cpu_quota_us, shim::kNoLimit);
}

TEST(LimitsChange, NoSuchContextIsNotFound) {
  ContextTable table(shim_config());
  ASSERT_TRUE(table.prepare());
  auto r = shim::change_context_limits(table, Xid(41439), LimitsChange{}, true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kNotFound) << r.error().message();
}

TEST(LimitsChange, OwnRlimitsAreMergedIntoTheCurrentOnes) {
  run_in_child([]() -> std::string {
    struct rlimit before {};
    ::getrlimit(RLIMIT_NOFILE, &before);
    auto now =
        shim::change_own_rlimits({{RLIMIT_NOFILE, 33, "--nofile"}}, shim::RlimitScope::kSoft);
    if (!now) return now.error().message();
    struct rlimit after {};
    ::getrlimit(RLIMIT_NOFILE, &after);
    if (after.rlim_cur != 33 || after.rlim_max != before.rlim_max) return "not the soft limit";
    if (now->at(RLIMIT_NOFILE) != (shim::Rlimit{33, before.rlim_max})) return "not returned";
    auto bad =
        shim::change_own_rlimits({{RLIMIT_NOFILE, 10, "--nofile"}}, shim::RlimitScope::kHard);
    if (bad || bad.error().message().find("--nofile") == std::string::npos) {
      return "a hard limit below the soft one was not refused by name";
    }
    return "";
  });
}

}  // namespace
}  // namespace vs::test
