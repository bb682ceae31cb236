// vs::DirStream (lib/base/dir_stream.h): the owner of a DIR*: listing without "." and "..",
// readdir errors as Result, and no fd left behind on any path.
#include "lib/base/dir_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <type_traits>
#include <vector>

#include "tests/support/temp_tree.h"

namespace vs {
namespace {

static_assert(!std::is_copy_constructible_v<DirStream>);
static_assert(!std::is_copy_assignable_v<DirStream>);
static_assert(std::is_nothrow_move_constructible_v<DirStream>);

// The fds this process holds, counted without a DirStream (the code under test).
int open_fd_count() {
  int count = 0;
  for (int fd = 0; fd < 4096; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0) ++count;
  }
  return count;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

class DirStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    dir_ = tmp_.path() + "/d";
    ASSERT_EQ(::mkdir(dir_.c_str(), 0700), 0);
    for (const char* f : {"a", "b", ".hidden"}) {
      int fd = ::open((dir_ + "/" + f).c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
      ASSERT_GE(fd, 0);
      ::close(fd);
    }
    ASSERT_EQ(::mkdir((dir_ + "/sub").c_str(), 0700), 0);
  }

  test::ScopedTempDir tmp_;
  std::string dir_;
};

TEST_F(DirStreamTest, ListsEntriesWithoutDotAndDotDot) {
  auto s = DirStream::open_at(AT_FDCWD, dir_, dir_);
  ASSERT_TRUE(s) << s.error().message();
  std::vector<std::string> names;
  bool sub_is_dir = false;
  for (;;) {
    auto e = s->next();
    ASSERT_TRUE(e) << e.error().message();
    if (!*e) break;
    names.emplace_back((*e)->name);
    if ((*e)->name == "sub") sub_is_dir = (*e)->type == DT_DIR || (*e)->type == DT_UNKNOWN;
  }
  EXPECT_EQ(sorted(names), (std::vector<std::string>{".hidden", "a", "b", "sub"}));
  EXPECT_TRUE(sub_is_dir);
  // At the end it stays at the end.
  auto again = s->next();
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
}

TEST_F(DirStreamTest, RewindStartsOver) {
  auto s = DirStream::open_at(AT_FDCWD, dir_, dir_);
  ASSERT_TRUE(s) << s.error().message();
  auto first = s->names();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->size(), 4U);
  auto empty = s->names();
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  s->rewind();
  auto second = s->names();
  ASSERT_TRUE(second);
  EXPECT_EQ(sorted(*first), sorted(*second));
}

TEST_F(DirStreamTest, OpenLeavesTheCallersFdAndOffsetAlone) {
  int fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  for (int round = 0; round < 2; ++round) {
    auto s = DirStream::open(fd, dir_);
    ASSERT_TRUE(s) << s.error().message();
    auto names = s->names();
    ASSERT_TRUE(names);
    EXPECT_EQ(names->size(), 4U) << "round " << round << " must see every entry again";
    EXPECT_NE(s->fd(), fd);
  }
  EXPECT_GE(::fcntl(fd, F_GETFD), 0) << "the caller's fd must stay open";
  ::close(fd);
}

TEST_F(DirStreamTest, OpenWorksOnAnOPathFd) {
  int fd = ::open(dir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  auto s = DirStream::open(fd, dir_);
  ::close(fd);
  ASSERT_TRUE(s) << s.error().message();
  auto names = s->names();
  ASSERT_TRUE(names);
  EXPECT_EQ(names->size(), 4U);
}

TEST_F(DirStreamTest, StreamFdIsCloseOnExec) {
  auto s = DirStream::open_at(AT_FDCWD, dir_, dir_);
  ASSERT_TRUE(s);
  int flags = ::fcntl(s->fd(), F_GETFD);
  ASSERT_GE(flags, 0);
  EXPECT_TRUE(flags & FD_CLOEXEC) << "R4";
}

TEST_F(DirStreamTest, OpeningARemovedDirectoryIsAnError) {
  std::string gone = tmp_.path() + "/gone";
  ASSERT_EQ(::mkdir(gone.c_str(), 0700), 0);
  int fd = ::open(gone.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::rmdir(gone.c_str()), 0);
  auto by_path = DirStream::open_at(AT_FDCWD, gone, gone);
  ASSERT_FALSE(by_path);
  EXPECT_EQ(by_path.error().code, ENOENT);
  EXPECT_EQ(by_path.error().op, "open");
  EXPECT_EQ(by_path.error().subject, gone);
  // Through an fd still open on it, a removed directory has no entries (not even "." and
  // "..": the kernel refuses to read a dead directory and glibc calls that its end).
  auto by_fd = DirStream::open(fd, gone);
  ::close(fd);
  ASSERT_TRUE(by_fd) << by_fd.error().message();
  auto names = by_fd->names();
  ASSERT_TRUE(names) << names.error().message();
  EXPECT_TRUE(names->empty());
}

TEST_F(DirStreamTest, ReadErrorsAreResults) {
  // An O_PATH fd passes fdopendir() but cannot be read: getdents fails with EBADF.
  int fd = ::open(dir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  auto s = DirStream::adopt(UniqueFd(fd), dir_);
  ASSERT_TRUE(s) << s.error().message();
  auto e = s->next();
  ASSERT_FALSE(e) << "an unreadable stream must not look like an empty directory";
  EXPECT_EQ(e.error().code, EBADF);
  EXPECT_EQ(e.error().op, "readdir");
  EXPECT_EQ(e.error().subject, dir_);
  auto names = s->names();
  ASSERT_FALSE(names);
  EXPECT_EQ(names.error().code, EBADF);
}

TEST_F(DirStreamTest, OpenErrorsNameTheSubject) {
  auto missing = DirStream::open_at(AT_FDCWD, dir_ + "/nope", "the missing one");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENOENT);
  EXPECT_EQ(missing.error().op, "open");
  EXPECT_EQ(missing.error().subject, "the missing one");
  auto file = DirStream::open_at(AT_FDCWD, dir_ + "/a", dir_ + "/a");
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().code, ENOTDIR);
  ASSERT_EQ(::symlink("sub", (dir_ + "/link").c_str()), 0);
  auto link = DirStream::open_at(AT_FDCWD, dir_ + "/link", "link", O_NOFOLLOW);
  ASSERT_FALSE(link) << "O_NOFOLLOW must refuse a final symlink";
  EXPECT_EQ(link.error().code, ENOTDIR);
}

TEST_F(DirStreamTest, AdoptRefusesAFileAndClosesIt) {
  int fd = ::open((dir_ + "/a").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  auto s = DirStream::adopt(UniqueFd(fd), "a");
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().op, "opendir");
  EXPECT_EQ(s.error().code, ENOTDIR);
  EXPECT_LT(::fcntl(fd, F_GETFD), 0) << "the refused fd must be closed, not leaked";
}

TEST_F(DirStreamTest, LeavesNoFdBehind) {
  const int before = open_fd_count();
  for (int i = 0; i < 50; ++i) {
    {
      auto s = DirStream::open_at(AT_FDCWD, dir_, dir_);
      ASSERT_TRUE(s);
      auto half = s->next();  // abandoned mid-listing
      ASSERT_TRUE(half);
    }
    {
      auto a = DirStream::open_at(AT_FDCWD, dir_, dir_);
      auto b = DirStream::open_at(AT_FDCWD, dir_ + "/sub", dir_ + "/sub");
      ASSERT_TRUE(a);
      ASSERT_TRUE(b);
      *a = std::move(*b);  // closes a's stream
      DirStream moved(std::move(*a));
      auto names = moved.names();
      ASSERT_TRUE(names);
      EXPECT_TRUE(names->empty());
    }
    EXPECT_FALSE(DirStream::open_at(AT_FDCWD, dir_ + "/nope", "nope"));
    EXPECT_FALSE(DirStream::open_at(AT_FDCWD, dir_ + "/a", "a"));
  }
  EXPECT_EQ(open_fd_count(), before);
}

}  // namespace
}  // namespace vs
