// The creator/first-process exchange (kernel-shim/context_sync.h): every step checked, a
// failure report carried whole, EOF never taken for success where a token is due.
#include "kernel-shim/context_sync.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <string>

namespace vs::shim {
namespace {

TEST(SyncChannel, StepsAndPayloadsArrive) {
  auto pair = SyncChannel::make();
  ASSERT_TRUE(pair);
  ASSERT_TRUE(pair->first.send(Step::kGo, "blob"));
  auto got = pair->second.expect(Step::kGo);
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(*got, "blob");
  ASSERT_TRUE(pair->first.send(Step::kCgroupReady));
  EXPECT_TRUE(pair->second.expect(Step::kCgroupReady));
}

TEST(SyncChannel, AFailureReportBecomesTheError) {
  auto pair = SyncChannel::make();
  ASSERT_TRUE(pair);
  ASSERT_TRUE(pair->second.send_failure(Step::kNsReady, EACCES, "mount `/proc`"));
  auto got = pair->first.expect(Step::kNsReady);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, EACCES);
  EXPECT_NE(got.error().message().find("mount `/proc`"), std::string::npos)
      << got.error().message();
}

TEST(SyncChannel, EofIsThePeerDyingWithTheStepItDidNotReach) {
  auto pair = SyncChannel::make();
  ASSERT_TRUE(pair);
  pair->second.close();
  auto got = pair->first.expect(Step::kNsReady);
  ASSERT_FALSE(got);
  EXPECT_NE(got.error().message().find("died before step #2"), std::string::npos)
      << got.error().message();
}

TEST(SyncChannel, AWrongStepIsAProtocolError) {
  auto pair = SyncChannel::make();
  ASSERT_TRUE(pair);
  ASSERT_TRUE(pair->second.send(Step::kExec));
  auto got = pair->first.expect(Step::kNsReady);
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, EPROTO);
}

TEST(SyncChannel, ExpectEofTakesOnlyEofForSuccess) {
  auto pair = SyncChannel::make();
  ASSERT_TRUE(pair);
  ASSERT_TRUE(pair->second.send(Step::kExec));
  EXPECT_FALSE(pair->first.expect_eof(Step::kExec));
  pair->second.close();
  EXPECT_TRUE(pair->first.expect_eof(Step::kExec));
}

// A child that exits right away with `code`, not reaped yet.
Child exited(int code) {
  auto c = Child::spawn(CloneSpec{}, [code] { return code; });
  EXPECT_TRUE(c);
  ::usleep(50000);
  return std::move(*c);
}

TEST(ExecReport, AnErrnoIsAnExecError) {
  auto pipe = make_report_pipe();
  ASSERT_TRUE(pipe);
  int err = ENOENT;
  ASSERT_EQ(::write(pipe->second.get(), &err, sizeof err), static_cast<ssize_t>(sizeof err));
  pipe->second.reset();
  Child c = exited(127);
  auto r = read_exec_report(pipe->first.get(), c, false, "/bin/nothere");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().op, "exec");
  EXPECT_EQ(r.error().code, ENOENT);
  (void)c.wait();
}

TEST(ExecReport, EofIsSuccessOnlyWithoutAToken) {
  for (bool token : {false, true}) {
    auto pipe = make_report_pipe();
    ASSERT_TRUE(pipe);
    pipe->second.reset();
    Child c = exited(1);
    auto r = read_exec_report(pipe->first.get(), c, token, "init");
    EXPECT_EQ(r.has_value(), !token) << "token " << token;
    if (token) {
      // How it ended is said, not guessed.
      EXPECT_NE(r.error().message().find("exited with 1"), std::string::npos)
          << r.error().message();
    }
    (void)c.wait();
  }
}

TEST(ExecReport, TheTokenIsSuccess) {
  auto pipe = make_report_pipe();
  ASSERT_TRUE(pipe);
  int zero = 0;
  ASSERT_EQ(::write(pipe->second.get(), &zero, sizeof zero), static_cast<ssize_t>(sizeof zero));
  pipe->second.reset();
  Child c = exited(0);
  EXPECT_TRUE(read_exec_report(pipe->first.get(), c, true, "init"));
  (void)c.wait();
}

TEST(ExecReport, GarbageIsAProtocolError) {
  auto pipe = make_report_pipe();
  ASSERT_TRUE(pipe);
  ASSERT_EQ(::write(pipe->second.get(), "ab", 2), 2);
  pipe->second.reset();
  Child c = exited(0);
  auto r = read_exec_report(pipe->first.get(), c, false, "x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EPROTO);
  (void)c.wait();
}

}  // namespace
}  // namespace vs::shim
