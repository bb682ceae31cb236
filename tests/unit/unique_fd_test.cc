// vs::UniqueFd (lib/base/unique_fd.h, STYLE.md R1): move-only owner, release(), reset()
// that keeps errno intact.
#include "lib/base/unique_fd.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <type_traits>
#include <utility>

namespace vs {
namespace {

bool fd_is_open(int fd) { return ::fcntl(fd, F_GETFD) >= 0; }

// Two fresh descriptors (a pipe); the test owns them through UniqueFd from here on.
std::pair<int, int> make_pipe() {
  int fds[2] = {-1, -1};
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  return {fds[0], fds[1]};
}

static_assert(!std::is_copy_constructible_v<UniqueFd>);
static_assert(!std::is_copy_assignable_v<UniqueFd>);
static_assert(std::is_nothrow_move_constructible_v<UniqueFd>);
static_assert(std::is_nothrow_move_assignable_v<UniqueFd>);
static_assert(!std::is_convertible_v<UniqueFd, int>, "no implicit conversion to int (R1)");
static_assert(!std::is_convertible_v<UniqueFd, bool>, "operator bool is explicit (R1)");
static_assert(!std::is_convertible_v<int, UniqueFd>, "taking ownership is explicit");

TEST(UniqueFd, DefaultIsInvalid) {
  UniqueFd fd;
  EXPECT_FALSE(fd.valid());
  EXPECT_FALSE(static_cast<bool>(fd));
  EXPECT_EQ(fd.get(), -1);
}

TEST(UniqueFd, ClosesOnDestruction) {
  auto [r, w] = make_pipe();
  {
    UniqueFd a(r);
    UniqueFd b(w);
    EXPECT_TRUE(a.valid());
    EXPECT_TRUE(static_cast<bool>(b));
    EXPECT_EQ(a.get(), r);
    EXPECT_TRUE(fd_is_open(r));
  }
  EXPECT_FALSE(fd_is_open(r));
  EXPECT_FALSE(fd_is_open(w));
}

TEST(UniqueFd, ReleaseGivesUpOwnershipWithoutClosing) {
  auto [r, w] = make_pipe();
  UniqueFd keep_w(w);
  int raw = -1;
  {
    UniqueFd a(r);
    raw = a.release();
    EXPECT_EQ(raw, r);
    EXPECT_FALSE(a.valid());
    EXPECT_EQ(a.get(), -1);
  }
  EXPECT_TRUE(fd_is_open(raw));
  ::close(raw);
}

TEST(UniqueFd, MoveConstructionTransfersOwnership) {
  auto [r, w] = make_pipe();
  UniqueFd keep_w(w);
  UniqueFd a(r);
  UniqueFd b(std::move(a));
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): the moved-from state is the point
  EXPECT_EQ(b.get(), r);
  EXPECT_TRUE(fd_is_open(r));
}

TEST(UniqueFd, MoveAssignmentClosesThePreviousFd) {
  auto [r, w] = make_pipe();
  UniqueFd a(r);
  UniqueFd b(w);
  b = std::move(a);
  EXPECT_FALSE(fd_is_open(w)) << "the fd b held before the assignment must be closed";
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(b.get(), r);
  EXPECT_TRUE(fd_is_open(r));
}

TEST(UniqueFd, SelfMoveAssignmentKeepsTheFd) {
  auto [r, w] = make_pipe();
  UniqueFd keep_w(w);
  UniqueFd a(r);
  UniqueFd& alias = a;
  a = std::move(alias);
  EXPECT_EQ(a.get(), r);
  EXPECT_TRUE(fd_is_open(r));
}

TEST(UniqueFd, ResetClosesOldAndTakesNew) {
  auto [r, w] = make_pipe();
  UniqueFd a(r);
  a.reset(w);
  EXPECT_FALSE(fd_is_open(r));
  EXPECT_EQ(a.get(), w);
  EXPECT_TRUE(fd_is_open(w));
  a.reset();
  EXPECT_FALSE(a.valid());
  EXPECT_FALSE(fd_is_open(w));
}

TEST(UniqueFd, ResetKeepsErrnoWhenCloseSucceeds) {
  auto [r, w] = make_pipe();
  UniqueFd a(r);
  UniqueFd b(w);
  errno = EXDEV;
  a.reset();
  EXPECT_EQ(errno, EXDEV);
  EXPECT_FALSE(fd_is_open(r));
}

TEST(UniqueFd, ResetKeepsErrnoWhenCloseFails) {
  auto [r, w] = make_pipe();
  UniqueFd keep_w(w);
  UniqueFd a(r);
  ASSERT_EQ(::close(r), 0);  // now close() inside reset() fails with EBADF
  errno = ENOSPC;
  a.reset();
  EXPECT_EQ(errno, ENOSPC) << "close's EBADF must not leak into errno";
  EXPECT_FALSE(a.valid());
}

TEST(UniqueFd, DestructorKeepsErrno) {
  auto [r, w] = make_pipe();
  UniqueFd keep_w(w);
  {
    UniqueFd a(r);
    ASSERT_EQ(::close(r), 0);
    errno = ENOSPC;
  }
  EXPECT_EQ(errno, ENOSPC);
}

TEST(UniqueFd, ResetOnEmptyDoesNothing) {
  UniqueFd a;
  errno = EROFS;
  a.reset();
  EXPECT_EQ(errno, EROFS);
  EXPECT_FALSE(a.valid());
}

}  // namespace
}  // namespace vs
