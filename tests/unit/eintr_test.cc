// vs::retry_eintr (lib/base/eintr.h): a blocking call interrupted by a signal whose handler
// has no SA_RESTART is called again; other failures come back at once.
#include "lib/base/eintr.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace vs {
namespace {

std::atomic<int> g_handled{0};
void on_signal(int) { g_handled.fetch_add(1); }

// Installs a SIGUSR1 handler without SA_RESTART (so a blocked read fails with EINTR) for the
// test's lifetime, and a pipe to block on.
class RetryEintrTest : public ::testing::Test {
 protected:
  void SetUp() override {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    ASSERT_EQ(::sigaction(SIGUSR1, &sa, &old_), 0);
    ASSERT_EQ(::pipe2(p_, O_CLOEXEC), 0);
    g_handled = 0;
  }
  void TearDown() override {
    ::sigaction(SIGUSR1, &old_, nullptr);
    ::close(p_[0]);
    ::close(p_[1]);
  }

  // Signals `reader` until `calls` reaches `until`, then writes one byte to the pipe.
  std::thread interrupter(pthread_t reader, std::atomic<int>& calls, int until) {
    return std::thread([this, reader, &calls, until] {
      while (calls.load() < until) {
        ::pthread_kill(reader, SIGUSR1);
        ::usleep(1000);
      }
      char c = 'x';
      EXPECT_EQ(::write(p_[1], &c, 1), 1);
    });
  }

  struct sigaction old_ {};
  int p_[2] = {-1, -1};
};

TEST_F(RetryEintrTest, ABareReadIsInterrupted) {
  // The control: without retry_eintr the same set-up makes read() fail with EINTR, so the
  // test below does exercise the retry.
  std::atomic<int> calls{1};
  std::thread t = interrupter(::pthread_self(), calls, 2);
  char c = 0;
  ssize_t n = ::read(p_[0], &c, 1);
  int err = errno;
  calls = 2;
  t.join();
  EXPECT_EQ(n, -1);
  EXPECT_EQ(err, EINTR);
  EXPECT_GE(g_handled.load(), 1);
}

TEST_F(RetryEintrTest, RetriesAReadInterruptedBySignals) {
  std::atomic<int> calls{0};
  // The byte is written only after three interrupted reads.
  std::thread t = interrupter(::pthread_self(), calls, 4);
  char c = 0;
  ssize_t n = retry_eintr([&] {
    calls.fetch_add(1);
    return ::read(p_[0], &c, 1);
  });
  t.join();
  EXPECT_EQ(n, 1);
  EXPECT_EQ(c, 'x');
  // At least: a signal sent just before the fourth call may interrupt it too.
  EXPECT_GE(calls.load(), 4) << "read must be called again after each EINTR";
  EXPECT_GE(g_handled.load(), 3);
}

TEST_F(RetryEintrTest, OtherErrorsReturnAtOnce) {
  int calls = 0;
  char c = 0;
  ssize_t n = retry_eintr([&] {
    ++calls;
    return ::read(-1, &c, 1);
  });
  EXPECT_EQ(n, -1);
  EXPECT_EQ(errno, EBADF);
  EXPECT_EQ(calls, 1);
}

TEST_F(RetryEintrTest, SuccessReturnsTheValue) {
  ASSERT_EQ(::write(p_[1], "ab", 2), 2);
  char buf[4] = {};
  int calls = 0;
  ssize_t n = retry_eintr([&] {
    ++calls;
    return ::read(p_[0], buf, sizeof buf);
  });
  EXPECT_EQ(n, 2);
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace vs
