// Skips are loud: a listener that prints every skip with its reason at the end of the run.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

namespace vs::test {

class SkipListener : public ::testing::EmptyTestEventListener {
 public:
  void OnTestEnd(const ::testing::TestInfo& info) override {
    const auto* result = info.result();
    if (!result->Skipped()) {
      ++ran_;
      return;
    }
    std::string why;
    for (int i = 0; i < result->total_part_count(); ++i) {
      const auto& part = result->GetTestPartResult(i);
      if (part.skipped() && part.message()) why = part.message();
    }
    skips_.push_back(std::string(info.test_suite_name()) + "." + info.name() + " — " + why);
  }
  void OnTestProgramEnd(const ::testing::UnitTest&) override {
    for (const auto& s : skips_) std::fprintf(stderr, "SKIPPED: %s\n", s.c_str());
  }
  /// True when tests ran and every one of them skipped (the run reports 77 then).
  [[nodiscard]] bool all_skipped() const { return ran_ == 0 && !skips_.empty(); }

 private:
  int ran_ = 0;
  std::vector<std::string> skips_;
};

}  // namespace vs::test
