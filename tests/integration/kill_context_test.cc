// kill_context() (kernel-shim/kill.h, what vkill calls) at the API, as root against real
// contexts made with create_and_run(): a pid inside the context, every process, a pid that is
// not there (nothing signalled), no such context, and the method names. Xids 41401..41409.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <string>
#include <vector>

#include "kernel-shim/kill.h"
#include "tests/support/root_env.h"
#include "tests/support/sleeper_context.h"

namespace vs::test {
namespace {

using shim::ContextCgroup;
using shim::ContextTable;
using shim::KillRequest;
using shim::Xid;

TEST(KillContext, PidOneInsideIsTheInitAndAMissingPidSignalsNothing) {
  ContextTable table(shim_config());
  ASSERT_TRUE(table.prepare());
  SleeperContext ctx(table, Xid(41401));
  ASSERT_TRUE(ctx.running());
  // 4000000 is no pid inside; 1 is resolved first but must not be signalled either.
  KillRequest none;
  none.sig = SIGKILL;
  none.pids = {1, 4000000};
  auto r = shim::kill_context(table, Xid(41401), none);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kNotFound) << r.error().message();
  EXPECT_NE(r.error().message().find("4000000"), std::string::npos) << r.error().message();
  EXPECT_TRUE(ctx.populated());
  // The built-in init ends the context on SIGTERM, cleanly (long before sleep 60 would).
  KillRequest term;
  term.pids = {1};
  const auto asked = std::chrono::steady_clock::now();
  auto t = shim::kill_context(table, Xid(41401), term);
  ASSERT_TRUE(t) << t.error().message();
  EXPECT_EQ(ctx.wait(), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - asked, std::chrono::seconds(30));
  EXPECT_FALSE(ctx.populated());
}

TEST(KillContext, NoPidOrZeroSignalsEveryProcess) {
  ContextTable table(shim_config());
  ASSERT_TRUE(table.prepare());
  for (auto pids : {std::vector<pid_t>{}, std::vector<pid_t>{0}}) {
    SleeperContext ctx(table, Xid(41402));
    ASSERT_TRUE(ctx.running());
    KillRequest req;
    req.sig = SIGKILL;
    req.pids = pids;
    auto r = shim::kill_context(table, Xid(41402), req);
    ASSERT_TRUE(r) << r.error().message();
    // SIGKILL returns once the context is empty.
    EXPECT_FALSE(ctx.populated());
    EXPECT_EQ(ctx.wait(), 128 + SIGKILL);
  }
}

TEST(KillContext, NoSuchContextIsNotFound) {
  ContextTable table(shim_config());
  ASSERT_TRUE(table.prepare());
  auto r = shim::kill_context(table, Xid(41409), KillRequest{});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kNotFound) << r.error().message();
  EXPECT_NE(r.error().message().find("41409"), std::string::npos) << r.error().message();
}

TEST(KillContext, MethodNames) {
  using Method = ContextCgroup::KillMethod;
  const std::vector<std::pair<const char*, Method>> names = {{"auto", Method::kAuto},
                                                             {"cgroup-kill", Method::kCgroupKill},
                                                             {"freeze", Method::kFreezeV2},
                                                             {"freeze-v1", Method::kFreezeV1}};
  for (const auto& [name, method] : names) {
    auto m = shim::parse_kill_method(name);
    ASSERT_TRUE(m) << name;
    EXPECT_EQ(*m, method) << name;
  }
  auto bad = shim::parse_kill_method("nuke");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, ErrorKind::kUsage);
  EXPECT_NE(bad.error().message().find("`nuke`"), std::string::npos) << bad.error().message();
}

}  // namespace
}  // namespace vs::test
