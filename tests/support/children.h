// Children a test starts and waits for (vs::Child, owned through a pidfd): one that sleeps
// and handles SIGTERM as told, a bounded wait for one to end, whether one still runs.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <optional>

#include "lib/base/child.h"
#include "tests/support/patience.h"

namespace vs::test {

enum class OnTerm { kDie, kExit42, kIgnore };

// A child that sleeps in pause() (or, with an echo pipe pair, answers each byte) and
// handles SIGTERM as told. It has set up its signal disposition when this returns.
inline Child sleeper(OnTerm on_term = OnTerm::kDie, int echo_in = -1, int echo_out = -1) {
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

// True while `c` has not ended (it is not reaped).
inline bool still_running(const Child& c) {
  struct pollfd p = {c.pidfd(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

}  // namespace vs::test
