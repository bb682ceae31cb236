// How long a process in a test may take to do what it must (exit, answer, be reaped): a bound
// against hangs, never a measure of speed.
#pragma once

#include <chrono>

namespace vs::test {

using Clock = std::chrono::steady_clock;

inline constexpr std::chrono::seconds kPatience{10};

}  // namespace vs::test
