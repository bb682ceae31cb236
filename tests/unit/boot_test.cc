// run_boot() (lib/guest/boot.h) with real short-lived processes, as ninja tests its
// SubprocessSet: each guest's "command" is a small sh script that logs its start and end to a
// shared file, so the order, the overlap and the bound can be read back. No root needed.
#include "lib/guest/boot.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "lib/base/exit_code.h"
#include "tests/support/temp_tree.h"

namespace vs {
namespace {

using Outcome = BootEvent::Outcome;

class BootRunner : public ::testing::Test {
 protected:
  // Every guest logs "start NAME", runs `body` (default: a short sleep), logs "end NAME" and
  // exits with `exit[NAME]` (default 0).
  BootPlan plan(std::vector<std::vector<std::string>> waves, size_t jobs = 8) {
    BootPlan p;
    p.waves = std::move(waves);
    p.jobs = jobs;
    p.command = [this](const std::string& name) {
      auto it = exit_.find(name);
      const int code = it == exit_.end() ? 0 : it->second;
      const std::string script = "echo \"start $1\" >> '" + log() + "'; " + body_ +
                                 "; echo \"end $1\" >> '" + log() + "'; exit " +
                                 std::to_string(code);
      return std::vector<std::string>{"/bin/sh", "-c", script, "sh", name};
    };
    return p;
  }

  Result<BootSummary> run(const BootPlan& p) {
    return run_boot(p, [this](const BootEvent& ev) { events_.push_back(ev); });
  }

  std::string log() const { return tmp_.path() + "/log"; }
  std::vector<std::string> log_lines() const {
    std::ifstream in(log());
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
  const BootEvent* event(const std::string& name) const {
    for (const auto& ev : events_) {
      if (ev.name == name) return &ev;
    }
    return nullptr;
  }
  // Most commands that ran at once, from the log (a start after another's end did not
  // overlap it).
  size_t most_at_once() const {
    size_t now = 0, most = 0;
    for (const auto& l : log_lines()) {
      if (l.rfind("start ", 0) == 0) most = std::max(most, ++now);
      if (l.rfind("end ", 0) == 0) --now;
    }
    return most;
  }

  test::ScopedTempDir tmp_;
  std::string body_ = "sleep 0.05";
  std::map<std::string, int> exit_;
  std::vector<BootEvent> events_;
};

TEST_F(BootRunner, EveryGuestOfEveryWaveRunsWaveAfterWave) {
  auto sum = run(plan({{"a", "b", "c"}, {"d", "e"}}));
  ASSERT_TRUE(sum) << sum.error().message();
  EXPECT_EQ(sum->done, 5u);
  EXPECT_EQ(sum->failed, 0u);
  EXPECT_EQ(sum->skipped, 0u);
  ASSERT_EQ(events_.size(), 5u);
  for (const auto& ev : events_) {
    EXPECT_EQ(ev.outcome, Outcome::kDone) << ev.name;
    EXPECT_EQ(ev.exit_code, 0) << ev.name;
  }
  // The second wave starts once the first ended.
  auto lines = log_lines();
  ASSERT_EQ(lines.size(), 10u);
  std::set<std::string> first(lines.begin(), lines.begin() + 6);
  for (const char* n : {"a", "b", "c"}) {
    EXPECT_TRUE(first.count(std::string("start ") + n) && first.count(std::string("end ") + n))
        << n << " did not run within the first wave";
  }
}

TEST_F(BootRunner, OneFailureIsReportedAndTheOthersRun) {
  exit_["b"] = 1;
  exit_["c"] = kExitWrongState;  // already running / not running: fine
  auto sum = run(plan({{"a", "b", "c"}}));
  ASSERT_TRUE(sum) << sum.error().message();
  EXPECT_EQ(sum->done, 2u);
  EXPECT_EQ(sum->failed, 1u);
  ASSERT_NE(event("b"), nullptr);
  EXPECT_EQ(event("b")->outcome, Outcome::kFailed);
  EXPECT_EQ(event("b")->exit_code, 1);
  ASSERT_NE(event("c"), nullptr);
  EXPECT_EQ(event("c")->outcome, Outcome::kDone);
  EXPECT_EQ(event("c")->exit_code, kExitWrongState);
}

TEST_F(BootRunner, AKilledCommandFailsWith128PlusTheSignal) {
  body_ = "kill -KILL $$";
  auto sum = run(plan({{"a"}}));
  ASSERT_TRUE(sum) << sum.error().message();
  ASSERT_NE(event("a"), nullptr);
  EXPECT_EQ(event("a")->outcome, Outcome::kFailed);
  EXPECT_EQ(event("a")->exit_code, 128 + 9);
}

TEST_F(BootRunner, AFailedDependencySkipsItsDependentsTransitively) {
  exit_["db"] = 3;
  BootPlan p = plan({{"db", "cache"}, {"web", "worker"}, {"proxy"}});
  p.depends = {{"web", {"db"}}, {"worker", {"cache"}}, {"proxy", {"web"}}};
  auto sum = run(p);
  ASSERT_TRUE(sum) << sum.error().message();
  EXPECT_EQ(sum->done, 2u);  // cache, worker
  EXPECT_EQ(sum->failed, 1u);
  EXPECT_EQ(sum->skipped, 2u);
  for (const char* n : {"web", "proxy"}) {
    ASSERT_NE(event(n), nullptr) << n;
    EXPECT_EQ(event(n)->outcome, Outcome::kSkipped) << n;
  }
  for (const auto& l : log_lines()) {
    EXPECT_EQ(l.find("web"), std::string::npos) << "a skipped guest ran: " << l;
    EXPECT_EQ(l.find("proxy"), std::string::npos) << "a skipped guest ran: " << l;
  }
  // Without dependencies (stopping) every guest runs whatever happened.
  events_.clear();
  auto all = run(plan({{"db", "cache"}, {"web", "worker"}, {"proxy"}}));
  ASSERT_TRUE(all) << all.error().message();
  EXPECT_EQ(all->done, 4u);
  EXPECT_EQ(all->skipped, 0u);
}

TEST_F(BootRunner, NeverMoreThanJobsAtOnce) {
  body_ = "sleep 0.5";
  auto sum = run(plan({{"a", "b", "c", "d", "e", "f", "g"}}, 2));
  ASSERT_TRUE(sum) << sum.error().message();
  EXPECT_EQ(sum->done, 7u);
  EXPECT_LE(most_at_once(), 2u);
  // And the bound is used: two ran side by side.
  EXPECT_EQ(most_at_once(), 2u);
  std::remove(log().c_str());
  events_.clear();
  auto one = run(plan({{"a", "b", "c"}}, 1));
  ASSERT_TRUE(one) << one.error().message();
  EXPECT_EQ(most_at_once(), 1u);
}

TEST_F(BootRunner, ACommandThatCannotRunIsNotRunAndSkipsItsDependents) {
  BootPlan p = plan({{"a", "b"}, {"c"}});
  auto script = p.command;
  p.command = [script](const std::string& name) {
    if (name == "a") return std::vector<std::string>{"/nonexistent/vserver", name, "start"};
    return script(name);
  };
  p.depends = {{"c", {"a"}}};
  auto sum = run(p);
  ASSERT_TRUE(sum) << sum.error().message();
  ASSERT_NE(event("a"), nullptr);
  EXPECT_EQ(event("a")->outcome, Outcome::kNotRun);
  EXPECT_EQ(event("a")->error.code, ENOENT) << event("a")->error.message();
  EXPECT_NE(event("a")->error.message().find("/nonexistent/vserver"), std::string::npos)
      << event("a")->error.message();
  ASSERT_NE(event("c"), nullptr);
  EXPECT_EQ(event("c")->outcome, Outcome::kSkipped);
  EXPECT_EQ(sum->done, 1u);
  EXPECT_EQ(sum->failed, 1u);
  EXPECT_EQ(sum->skipped, 1u);
}

}  // namespace
}  // namespace vs
