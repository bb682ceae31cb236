// What the kill tests (kill_test.cc, kill_method_test.cc) share: the kill methods and what
// each needs, checks that a child was killed and that a context is empty, thawed and gone,
// and the fixture that cleans up after a failed test.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "kernel-shim/cgroup.h"
#include "lib/base/child.h"
#include "tests/support/cgroup_env.h"
#include "tests/support/children.h"
#include "tests/support/files.h"
#include "tests/support/patience.h"

namespace vs::test {

using Method = shim::ContextCgroup::KillMethod;

// Every hierarchy, not only those of `s`'s controllers, has no directory of the context.
inline void expect_gone_everywhere(const shim::CgroupSpec& s, shim::Xid xid) {
  for (const auto& r : hierarchy_roots()) {
    const std::string d = r + "/" + s.parent + "/" + xid.str();
    EXPECT_FALSE(exists(d)) << d << " is left";
  }
}

inline const char* method_name(Method m) {
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
inline std::string missing_feature(Method m, const shim::ContextCgroup& cg) {
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

inline void expect_killed_by(Child& c, int sig) {
  auto st = wait_exit(c);
  ASSERT_TRUE(st) << "pid " << c.pid() << " still runs " << kPatience.count() << " s after kill";
  EXPECT_TRUE(st->signaled);
  EXPECT_EQ(st->value, sig);
}

inline void expect_empty(const shim::ContextCgroup& cg) {
  auto populated = cg.populated();
  ASSERT_TRUE(populated) << populated.error().message();
  EXPECT_FALSE(*populated);
  auto pids = cg.pids();
  ASSERT_TRUE(pids) << pids.error().message();
  EXPECT_TRUE(pids->empty()) << pids->size() << " processes left";
}

inline void expect_thawed(const shim::ContextCgroup& cg) {
  EXPECT_NE(slurp(cg.v2_path() + "/cgroup.events").find("frozen 0"), std::string::npos);
  const std::string freezer = v1_dir("freezer", cg.xid());
  if (!freezer.empty()) {
    EXPECT_EQ(slurp(freezer + "/freezer.state"), "THAWED\n");
  }
}

inline void remove_and_check(const shim::ContextCgroup& cg) {
  auto r = cg.remove();
  ASSERT_TRUE(r) << r.error().message();
  expect_gone_everywhere(spec(), cg.xid());
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
  shim::ContextCgroup* create(shim::Xid xid, const shim::CgroupSpec& s = spec()) {
    auto r = shim::ContextCgroup::create(layout(), s, xid);
    if (!r) {
      ADD_FAILURE() << r.error().message();
      return nullptr;
    }
    cg_.emplace(std::move(*r));
    return &*cg_;
  }

  // Keeps a child for TearDown; the reference stays valid (a deque does not move elements).
  Child& keep(Child c) { return kids_.emplace_back(std::move(c)); }

  std::optional<shim::ContextCgroup> cg_;
  std::deque<Child> kids_;
};

}  // namespace vs::test

// The kill tests are in vs::shim and use these names unqualified.
namespace vs::shim {
using test::Clock;
using test::exists;
using test::expect_empty;
using test::expect_gone_everywhere;
using test::expect_killed_by;
using test::expect_thawed;
using test::KillTest;
using test::kPatience;
using test::Method;
using test::method_name;
using test::missing_feature;
using test::OnTerm;
using test::remove_and_check;
using test::sleeper;
using test::slurp;
using test::still_running;
using test::wait_exit;
}  // namespace vs::shim
