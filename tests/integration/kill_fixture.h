// What the kill tests (kill_test.cc, kill_method_test.cc) share: the kill methods and what
// each needs, children that handle SIGTERM as told, checks that a context is empty, thawed
// and gone, and the fixture that cleans up after a failed test.
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
#include "tests/support/files.h"
#include "tests/support/patience.h"

namespace vs::test {

using Method = shim::ContextCgroup::KillMethod;

// Every hierarchy, not only those of `s`'s controllers, has no directory of the context.
inline void expect_gone_everywhere(const shim::CgroupSpec& s, shim::Xid xid) {
  std::vector<std::string> roots{layout().v2_root};
  for (const auto& h : layout().v1) roots.push_back(h.mount_point);
  for (const auto& r : roots) {
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

enum class OnTerm { kDie, kExit42, kIgnore };

// A child that sleeps in pause() (or, with an echo pipe pair, answers each byte) and
// handles SIGTERM as told. It has set up its signal disposition when this returns.
inline Child sleeper(OnTerm on_term, int echo_in = -1, int echo_out = -1) {
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
inline std::optional<ExitStatus> wait_exit(Child& c, std::chrono::milliseconds limit = kPatience) {
  struct pollfd p = {c.pidfd(), POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(limit.count())) != 1) return std::nullopt;
  auto st = c.wait();
  if (!st) {
    ADD_FAILURE() << st.error().message();
    return std::nullopt;
  }
  return *st;
}

inline bool still_running(const Child& c) {
  struct pollfd p = {c.pidfd(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
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
