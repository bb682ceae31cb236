// vs::Child (lib/base/child.h, STYLE.md R10): a process owned through a pidfd; the destructor
// SIGKILLs and reaps a child that was neither waited for nor released. No namespaces here
// (unit tests run without root): CloneSpec flags stay 0.
#include "lib/base/child.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/sched.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <utility>

#include "tests/support/temp_tree.h"

namespace vs {
namespace {

// A body that never returns on its own. It dies with the test process, so a Child that fails
// to kill it cannot leave it behind holding the test's stdout open.
int sleep_forever() {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  for (;;) ::pause();
}

bool process_exists(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

// True if `pid` is gone for good: not even a zombie (kill -> ESRCH) and not our child any more
// (waitpid -> ECHILD), i.e. somebody reaped it.
::testing::AssertionResult reaped(pid_t pid) {
  errno = 0;
  if (::kill(pid, 0) == 0) {
    return ::testing::AssertionFailure() << "pid " << pid << " still exists (alive or zombie)";
  }
  if (errno != ESRCH) {
    return ::testing::AssertionFailure() << "kill(" << pid << ", 0): " << strerror(errno);
  }
  int status = 0;
  pid_t w = ::waitpid(pid, &status, WNOHANG);
  if (w != -1 || errno != ECHILD) {
    return ::testing::AssertionFailure()
           << "waitpid(" << pid << ") = " << w << " (expected -1/ECHILD: not reaped)";
  }
  return ::testing::AssertionSuccess();
}

Child spawn_or_fail(const std::function<int()>& body) {
  auto c = Child::spawn(CloneSpec{}, body);
  EXPECT_TRUE(c) << (c ? "" : c.error().message());
  if (!c) return Child();
  return std::move(*c);
}

TEST(ExitStatus, AsExitCode) {
  EXPECT_EQ((ExitStatus{false, 0}).as_exit_code(), 0);
  EXPECT_EQ((ExitStatus{false, 3}).as_exit_code(), 3);
  EXPECT_EQ((ExitStatus{true, SIGKILL}).as_exit_code(), 128 + 9);
  EXPECT_EQ((ExitStatus{true, SIGTERM}).as_exit_code(), 128 + 15);
}

TEST(Child, DefaultOwnsNothing) {
  Child c;
  EXPECT_FALSE(c.owned());
}

TEST(Child, SpawnAndWaitGivesExitCode) {
  for (int code : {0, 3, 42, 127, 255}) {
    Child c = spawn_or_fail([code] { return code; });
    ASSERT_TRUE(c.owned());
    ASSERT_GT(c.pid(), 0);
    pid_t pid = c.pid();
    auto st = c.wait();
    ASSERT_TRUE(st) << st.error().message();
    EXPECT_FALSE(st->signaled) << code;
    EXPECT_EQ(st->value, code);
    EXPECT_EQ(st->as_exit_code(), code);
    EXPECT_FALSE(c.owned()) << "wait() ends ownership";
    EXPECT_TRUE(reaped(pid));
  }
}

TEST(Child, BodyRunsInAnotherProcess) {
  pid_t parent = ::getpid();
  Child c =
      spawn_or_fail([parent] { return ::getpid() != parent && ::getppid() == parent ? 0 : 1; });
  auto st = c.wait();
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(st->as_exit_code(), 0) << "the body must run in a child of this process";
}

TEST(Child, SpawnAndWaitGivesSignal) {
  Child c = spawn_or_fail([] {
    (void)::signal(SIGTERM, SIG_DFL);
    (void)::raise(SIGTERM);
    return 0;
  });
  auto st = c.wait();
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_TRUE(st->signaled);
  EXPECT_EQ(st->value, SIGTERM);
  EXPECT_EQ(st->as_exit_code(), 128 + SIGTERM);
}

TEST(Child, SignalGoesThroughThePidfd) {
  Child c = spawn_or_fail(sleep_forever);
  ASSERT_TRUE(c.owned());
  EXPECT_GE(c.pidfd(), 0);
  auto s = c.signal(SIGKILL);
  ASSERT_TRUE(s) << s.error().message();
  auto st = c.wait();
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_TRUE(st->signaled);
  EXPECT_EQ(st->value, SIGKILL);
  EXPECT_EQ(st->as_exit_code(), 137);
}

TEST(Child, PidfdIsCloseOnExec) {
  Child c = spawn_or_fail(sleep_forever);
  ASSERT_GE(c.pidfd(), 0);
  int flags = ::fcntl(c.pidfd(), F_GETFD);
  ASSERT_GE(flags, 0);
  EXPECT_TRUE(flags & FD_CLOEXEC);
}

TEST(Child, DestructorKillsAndReapsAnUnwaitedChild) {
  pid_t pid = -1;
  {
    Child c = spawn_or_fail(sleep_forever);
    pid = c.pid();
    ASSERT_GT(pid, 0);
    ASSERT_TRUE(process_exists(pid));
  }
  EXPECT_TRUE(reaped(pid));
}

TEST(Child, DestructorReapsAChildThatAlreadyExited) {
  pid_t pid = -1;
  {
    Child c = spawn_or_fail([] { return 0; });
    pid = c.pid();
    // Wait until it is a zombie, without reaping it.
    siginfo_t info{};
    ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT), 0);
  }
  EXPECT_TRUE(reaped(pid));
}

TEST(Child, DestructorKeepsErrno) {
  {
    Child c = spawn_or_fail(sleep_forever);
    errno = EROFS;
  }
  EXPECT_EQ(errno, EROFS);
  {
    // Reaped behind the Child's back: the destructor's signal and wait now fail (ESRCH,
    // ECHILD), and that must not show in errno.
    Child c = spawn_or_fail([] { return 0; });
    int status = 0;
    ASSERT_EQ(::waitpid(c.pid(), &status, 0), c.pid());
    errno = EROFS;
  }
  EXPECT_EQ(errno, EROFS);
}

TEST(Child, ReleaseLeavesTheProcessRunning) {
  pid_t pid = -1;
  {
    Child c = spawn_or_fail(sleep_forever);
    pid = c.pid();
    c.release();
    EXPECT_FALSE(c.owned());
  }
  ASSERT_GT(pid, 0);
  EXPECT_EQ(::kill(pid, 0), 0) << "a released child must not be killed";
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, WNOHANG), 0) << "a released child must not be reaped";
  ::kill(pid, SIGKILL);
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
}

TEST(Child, MoveConstructionTransfersOwnership) {
  Child a = spawn_or_fail([] { return 7; });
  pid_t pid = a.pid();
  Child b(std::move(a));
  EXPECT_FALSE(a.owned());  // NOLINT(bugprone-use-after-move): the moved-from state is the point
  EXPECT_EQ(b.pid(), pid);
  auto st = b.wait();
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(st->as_exit_code(), 7);
}

TEST(Child, MovedFromDestructorLeavesTheChildAlone) {
  std::optional<Child> a(spawn_or_fail(sleep_forever));
  pid_t pid = a->pid();
  Child b(std::move(*a));
  a.reset();
  EXPECT_EQ(::kill(pid, 0), 0) << "destroying the moved-from Child killed the process";
  ASSERT_TRUE(b.signal(SIGKILL));
  auto st = b.wait();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->value, SIGKILL);
}

TEST(Child, MoveAssignmentKillsAndReapsThePreviousChild) {
  Child c = spawn_or_fail(sleep_forever);
  pid_t first = c.pid();
  c = spawn_or_fail([] { return 5; });
  EXPECT_TRUE(reaped(first)) << "the child c owned before the assignment";
  auto st = c.wait();
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(st->as_exit_code(), 5);
}

TEST(Child, SpawnErrorCreatesNoChild) {
  // CLONE_THREAD without CLONE_SIGHAND|CLONE_VM is invalid for clone3.
  CloneSpec spec;
  spec.flags = CLONE_THREAD;
  auto c = Child::spawn(spec, [] { return 0; });
  ASSERT_FALSE(c) << "clone3 accepted CLONE_THREAD alone";
  EXPECT_EQ(c.error().code, EINVAL);
  EXPECT_EQ(c.error().op, "clone3");
  int status = 0;
  EXPECT_EQ(::waitpid(-1, &status, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD) << "a child was created despite the error";
}

TEST(Child, SpawnIntoANonCgroupDirFails) {
  test::ScopedTempDir tmp;
  int dir = ::open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(dir, 0);
  CloneSpec spec;
  spec.cgroup_fd = dir;
  auto c = Child::spawn(spec, [] { return 0; });
  ::close(dir);
  ASSERT_FALSE(c) << "CLONE_INTO_CGROUP accepted a plain directory";
  int status = 0;
  EXPECT_EQ(::waitpid(-1, &status, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

TEST(Child, ForkReturnsInBothProcesses) {
  const pid_t parent = ::getpid();
  auto c = Child::fork(CloneSpec{});
  ASSERT_TRUE(c) << c.error().message();
  if (!*c) {
    // The child: it goes on here, in the caller's code, and leaves with _exit().
    ::_exit(::getppid() == parent ? 9 : 1);
  }
  ASSERT_TRUE((*c)->owned());
  EXPECT_NE((*c)->pid(), parent);
  auto st = (*c)->wait();
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(st->as_exit_code(), 9);
}

TEST(Child, ForkedChildIsKilledAndReapedLikeASpawnedOne) {
  auto c = Child::fork(CloneSpec{});
  ASSERT_TRUE(c) << c.error().message();
  if (!*c) sleep_forever();
  const pid_t pid = (*c)->pid();
  c->reset();  // the destructor of the Child
  EXPECT_TRUE(reaped(pid));
}

TEST(Child, WaitOnEmptyChildFails) {
  Child c;
  auto st = c.wait();
  EXPECT_FALSE(st);
}

}  // namespace
}  // namespace vs
