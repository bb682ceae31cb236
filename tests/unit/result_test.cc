// vs::Error, vs::Result<T>, vs::Result<void> (lib/base/result.h) and the exit-code table
// (lib/base/exit_code.h). Expected texts come from the contracts in those headers and
// STYLE.md R2: "context: op `subject`: detail: strerror", outermost context first.
#include "lib/base/result.h"

#include <errno.h>
#include <gtest/gtest.h>
#include <string.h>

#include <memory>
#include <string>
#include <type_traits>

#include "lib/base/exit_code.h"

namespace vs {
namespace {

TEST(ErrorMessage, OpSubjectAndStrerror) {
  Error e = sys_error("mount", "/proc", EPERM);
  EXPECT_EQ(e.message(), "mount `/proc`: Operation not permitted");
}

TEST(ErrorMessage, ContextIsPrintedOutermostFirst) {
  Error e = sys_error("mkdir", "/sys/fs/cgroup/x", EEXIST);
  Error inner = std::move(e).wrap("create context 42");
  EXPECT_EQ(inner.message(), "create context 42: mkdir `/sys/fs/cgroup/x`: File exists");
  Error outer = std::move(inner).wrap("start web1");
  EXPECT_EQ(outer.message(),
            "start web1: create context 42: mkdir `/sys/fs/cgroup/x`: File exists");
}

TEST(ErrorMessage, WrapKeepsTheOriginalFields) {
  Error e = std::move(sys_error("openat2", "etc/hostname", ENOENT)).wrap("read hostname");
  EXPECT_EQ(e.code, ENOENT);
  EXPECT_EQ(e.op, "openat2");
  EXPECT_EQ(e.subject, "etc/hostname");
  EXPECT_EQ(e.kind, ErrorKind::kFailed);
  ASSERT_EQ(e.context.size(), 1u);
  EXPECT_EQ(e.context[0], "read hostname");
}

TEST(ErrorMessage, EmptySubjectHasNoQuotes) {
  Error e = sys_error("clone3", "", EAGAIN);
  EXPECT_EQ(e.message(), std::string("clone3: ") + ::strerror(EAGAIN));
}

TEST(ErrorMessage, NonSyscallErrorShowsDetailAndNoStrerror) {
  Error e = make_error(ErrorKind::kUsage, "parse", "xid", "must be 2..49151");
  std::string m = e.message();
  // Code 0 means "not a failed syscall": strerror(0) ("Success") must not appear.
  EXPECT_EQ(m.find(::strerror(0)), std::string::npos) << m;
  size_t op = m.find("parse");
  size_t subject = m.find("`xid`");
  size_t detail = m.find("must be 2..49151");
  ASSERT_NE(op, std::string::npos) << m;
  ASSERT_NE(subject, std::string::npos) << m;
  ASSERT_NE(detail, std::string::npos) << m;
  EXPECT_LT(op, subject) << m;
  EXPECT_LT(subject, detail) << m;
}

TEST(ErrorMessage, DetailAndErrnoBothShown) {
  Error e = make_error(ErrorKind::kFailed, "read", "big", "larger than 10 bytes", EFBIG);
  std::string m = e.message();
  EXPECT_NE(m.find("`big`"), std::string::npos) << m;
  EXPECT_NE(m.find("larger than 10 bytes"), std::string::npos) << m;
  std::string why = ::strerror(EFBIG);
  ASSERT_GE(m.size(), why.size());
  EXPECT_EQ(m.substr(m.size() - why.size()), why) << "strerror comes last: " << m;
}

TEST(ErrorConstruction, SysErrorCapturesErrnoByDefault) {
  errno = ENOTDIR;
  Error e = sys_error("open", "/x");
  EXPECT_EQ(e.code, ENOTDIR);
  EXPECT_EQ(e.kind, ErrorKind::kFailed);
  EXPECT_TRUE(e.context.empty());
}

TEST(ErrorConstruction, MakeErrorSetsEveryField) {
  Error e = make_error(ErrorKind::kWrongState, "start", "web1", "already running", EBUSY);
  EXPECT_EQ(e.kind, ErrorKind::kWrongState);
  EXPECT_EQ(e.op, "start");
  EXPECT_EQ(e.subject, "web1");
  EXPECT_EQ(e.detail, "already running");
  EXPECT_EQ(e.code, EBUSY);
}

TEST(ErrorConstruction, UsageErrorIsKindUsage) {
  Error e = usage_error("--xid", "must be a number");
  EXPECT_EQ(e.kind, ErrorKind::kUsage);
  EXPECT_EQ(e.subject, "--xid");
  EXPECT_EQ(e.detail, "must be a number");
  EXPECT_NE(e.message().find("must be a number"), std::string::npos);
}

TEST(ErrorMessage, UsageErrorOmitsStrerror) {
  // result.cc: "A usage error explains itself"; a failed syscall with the same errno does not.
  std::string einval = ::strerror(EINVAL);
  std::string usage = usage_error("--xid", "must be a number").message();
  EXPECT_EQ(usage.find(einval), std::string::npos) << usage;
  EXPECT_NE(usage.find("must be a number"), std::string::npos) << usage;
  std::string failed = make_error(ErrorKind::kFailed, "write", "/x", "", EINVAL).message();
  EXPECT_NE(failed.find(einval), std::string::npos) << failed;
}

TEST(ExitCode, TableMatchesStyleR3) {
  // STYLE.md R3: 0 ok, 1 failed, 2 usage/config, 3 no such guest/context, 4 wrong state.
  EXPECT_EQ(kExitOk, 0);
  EXPECT_EQ(exit_code_for(make_error(ErrorKind::kFailed, "x", "", "")), 1);
  EXPECT_EQ(exit_code_for(make_error(ErrorKind::kUsage, "x", "", "")), 2);
  EXPECT_EQ(exit_code_for(make_error(ErrorKind::kNotFound, "x", "", "")), 3);
  EXPECT_EQ(exit_code_for(make_error(ErrorKind::kWrongState, "x", "", "")), 4);
  EXPECT_EQ(exit_code_for(sys_error("mount", "/", EPERM)), 1);
}

Result<int> half(int v) {
  if (v % 2 != 0) return make_error(ErrorKind::kUsage, "half", std::to_string(v), "odd");
  return v / 2;
}

Result<int> quarter(int v) {
  auto h = half(v);
  if (!h) return std::move(h).error().wrap("quarter " + std::to_string(v));
  return half(*h);
}

TEST(ResultT, HoldsValue) {
  Result<int> r = half(8);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(static_cast<bool>(r));
  EXPECT_EQ(r.value(), 4);
  EXPECT_EQ(*r, 4);
}

TEST(ResultT, HoldsError) {
  Result<int> r = half(7);
  ASSERT_FALSE(r.has_value());
  EXPECT_FALSE(static_cast<bool>(r));
  EXPECT_EQ(r.error().op, "half");
  EXPECT_EQ(r.error().subject, "7");
  EXPECT_EQ(r.error().kind, ErrorKind::kUsage);
}

TEST(ResultT, PropagationAddsContext) {
  Result<int> ok8 = quarter(8);
  ASSERT_TRUE(ok8);
  EXPECT_EQ(*ok8, 2);
  Result<int> bad = quarter(5);
  ASSERT_FALSE(bad);
  ASSERT_EQ(bad.error().context.size(), 1u);
  EXPECT_EQ(bad.error().message(), "quarter 5: half `5`: odd");
  // The error of the second step (6 -> 3 -> odd) carries no context from quarter().
  Result<int> second = quarter(6);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().subject, "3");
  EXPECT_TRUE(second.error().context.empty());
}

TEST(ResultT, ArrowAndMutation) {
  Result<std::string> r(std::string("abc"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->size(), 3u);
  r->push_back('d');
  EXPECT_EQ(*r, "abcd");
}

TEST(ResultT, MovesOutMoveOnlyValue) {
  Result<std::unique_ptr<int>> r(std::make_unique<int>(42));
  ASSERT_TRUE(r);
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 42);
}

TEST(ResultT, MovesOutError) {
  Result<std::string> r(sys_error("open", "/nope", ENOENT));
  ASSERT_FALSE(r);
  Error e = std::move(r).error();
  EXPECT_EQ(e.code, ENOENT);
  EXPECT_EQ(e.subject, "/nope");
}

TEST(ResultT, MoveConstructedResultKeepsState) {
  Result<std::string> a(std::string("payload"));
  Result<std::string> b(std::move(a));
  ASSERT_TRUE(b);
  EXPECT_EQ(*b, "payload");
  Result<std::string> c(sys_error("x", "y", EIO));
  Result<std::string> d(std::move(c));
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code, EIO);
}

Result<void> check_positive(int v) {
  if (v <= 0) return usage_error(std::to_string(v), "must be positive");
  return ok();
}

TEST(ResultVoid, DefaultAndOkAreSuccess) {
  Result<void> a;
  EXPECT_TRUE(a.has_value());
  EXPECT_TRUE(static_cast<bool>(a));
  Result<void> b = ok();
  EXPECT_TRUE(b);
  EXPECT_TRUE(check_positive(3));
}

TEST(ResultVoid, HoldsAndMovesError) {
  Result<void> r = check_positive(-1);
  ASSERT_FALSE(r.has_value());
  EXPECT_FALSE(static_cast<bool>(r));
  EXPECT_EQ(r.error().subject, "-1");
  Error e = std::move(r).error().wrap("check");
  EXPECT_EQ(e.kind, ErrorKind::kUsage);
  ASSERT_EQ(e.context.size(), 1u);
  EXPECT_EQ(e.context[0], "check");
}

static_assert(!std::is_convertible_v<Result<int>, int>, "no implicit unwrap");
static_assert(std::is_constructible_v<Result<int>, Error>);
static_assert(std::is_constructible_v<Result<void>, Error>);

}  // namespace
}  // namespace vs
