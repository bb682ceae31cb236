// vs::FileLock (lib/base/flock.h): an exclusive flock on a file that its holder may unlink;
// a waiter that gets the lock after the unlink must end up holding the file the path names now.
#include "lib/base/flock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include "tests/support/run_in_child.h"
#include "tests/support/temp_tree.h"

namespace vs {
namespace {

using test::run_in_child;
using test::ScopedTempDir;

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// In a forked child: a non-blocking acquire must fail with EWOULDBLOCK.
std::string expect_busy(const std::string& path) {
  auto l = FileLock::acquire(path, false);
  if (l) return "second acquire of `" + path + "` succeeded while the lock was held";
  if (l.error().code != EWOULDBLOCK) {
    return "expected EWOULDBLOCK, got: " + l.error().message();
  }
  if (l.error().subject != path) return "error does not name the path: " + l.error().message();
  return "";
}

// In a forked child: a non-blocking acquire must succeed.
std::string expect_free(const std::string& path) {
  auto l = FileLock::acquire(path, false);
  if (!l) return "acquire failed although nobody holds the lock: " + l.error().message();
  if (!l->held()) return "acquire returned a lock that is not held";
  return "";
}

// True once /proc/locks shows `pid` blocked waiting for a flock ("->" entries are waiters).
bool is_blocked_in_flock(pid_t pid) {
  std::ifstream in("/proc/locks");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string w;
    bool arrow = false, flock = false, has_pid = false;
    while (words >> w) {
      if (w == "->") arrow = true;
      if (w == "FLOCK") flock = true;
      if (w == std::to_string(pid)) has_pid = true;
    }
    if (arrow && flock && has_pid) return true;
  }
  return false;
}

// A forked process that, when told to start, takes the lock with wait=true, reports the
// outcome ('Y' or 'N' + message) and then keeps holding the lock until finish(). It is forked
// before the test takes its own lock, so it never inherits the test's lock fd.
class BlockingAcquirer {
 public:
  explicit BlockingAcquirer(const std::string& path) {
    int start[2], report[2];
    if (::pipe2(start, O_CLOEXEC) < 0 || ::pipe2(report, O_CLOEXEC) < 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(start[1]);
      ::close(report[0]);
      char c;
      if (::read(start[0], &c, 1) != 1) ::_exit(2);
      auto l = FileLock::acquire(path, true);
      std::string msg = l ? "Y" : "N" + l.error().message();
      (void)!::write(report[1], msg.data(), msg.size());
      // Hold the lock until the parent closes the start pipe.
      while (::read(start[0], &c, 1) > 0) {
      }
      ::_exit(0);
    }
    ::close(start[0]);
    ::close(report[1]);
    start_w_ = start[1];
    report_r_ = report[0];
  }
  ~BlockingAcquirer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      finish();
    }
    if (report_r_ >= 0) ::close(report_r_);
  }
  BlockingAcquirer(const BlockingAcquirer&) = delete;
  BlockingAcquirer& operator=(const BlockingAcquirer&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] bool started() const { return pid_ > 0; }
  void start() { (void)!::write(start_w_, "s", 1); }

  /// Waits up to `ms` for the child to report; nullopt if it did not (still blocked).
  std::optional<std::string> result(int ms) {
    struct pollfd p = {report_r_, POLLIN, 0};
    if (::poll(&p, 1, ms) <= 0) return std::nullopt;
    char buf[512];
    ssize_t n = ::read(report_r_, buf, sizeof buf);
    if (n <= 0) return std::string("Nchild died without reporting");
    return std::string(buf, static_cast<size_t>(n));
  }

  /// Lets the child release the lock and exit; returns its exit status.
  int finish() {
    if (start_w_ >= 0) ::close(std::exchange(start_w_, -1));
    int status = -1;
    if (pid_ > 0) ::waitpid(std::exchange(pid_, -1), &status, 0);
    return status;
  }

 private:
  pid_t pid_ = -1;
  int start_w_ = -1;
  int report_r_ = -1;
};

bool wait_until_blocked(pid_t pid, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 5) {
    if (is_blocked_in_flock(pid)) return true;
    struct timespec ts = {0, 5 * 1000 * 1000};
    ::nanosleep(&ts, nullptr);
  }
  return false;
}

class FileLockTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(tmp_.path().empty()); }
  ScopedTempDir tmp_;
  std::string path_ = tmp_.path() + "/lock";
};

TEST_F(FileLockTest, DefaultIsNotHeld) {
  FileLock l;
  EXPECT_FALSE(l.held());
  EXPECT_TRUE(l.unlink_and_release()) << "releasing nothing is fine";
}

TEST_F(FileLockTest, AcquireCreatesTheFileAndHolds) {
  ASSERT_FALSE(exists(path_));
  auto l = FileLock::acquire(path_, false);
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_TRUE(l->held());
  EXPECT_TRUE(exists(path_));
}

TEST_F(FileLockTest, SecondNonBlockingAcquireInChildFailsWhileHeld) {
  auto l = FileLock::acquire(path_, false);
  ASSERT_TRUE(l) << l.error().message();
  run_in_child([&] { return expect_busy(path_); });
}

TEST_F(FileLockTest, SecondAcquireInSameProcessFailsWhileHeld) {
  auto l = FileLock::acquire(path_, false);
  ASSERT_TRUE(l) << l.error().message();
  auto again = FileLock::acquire(path_, false);
  ASSERT_FALSE(again) << "flock is per open file: a second open must not share the lock";
  EXPECT_EQ(again.error().code, EWOULDBLOCK);
}

TEST_F(FileLockTest, AcquireSucceedsAfterRelease) {
  {
    auto l = FileLock::acquire(path_, false);
    ASSERT_TRUE(l) << l.error().message();
    run_in_child([&] { return expect_busy(path_); });
  }
  run_in_child([&] { return expect_free(path_); });
}

TEST_F(FileLockTest, MovedLockStaysHeld) {
  auto l = FileLock::acquire(path_, false);
  ASSERT_TRUE(l) << l.error().message();
  FileLock moved = std::move(*l);
  EXPECT_TRUE(moved.held());
  run_in_child([&] { return expect_busy(path_); });
}

TEST_F(FileLockTest, AcquireInMissingDirectoryFails) {
  std::string bad = tmp_.path() + "/no/such/dir/lock";
  auto l = FileLock::acquire(bad, false);
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().code, ENOENT);
  EXPECT_EQ(l.error().subject, bad);
}

TEST_F(FileLockTest, LockFdIsCloseOnExec) {
  auto l = FileLock::acquire(path_, false);
  ASSERT_TRUE(l) << l.error().message();
  int found = 0;
  DIR* d = ::opendir("/proc/self/fd");
  ASSERT_NE(d, nullptr);
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::string link = std::string("/proc/self/fd/") + e->d_name;
    char target[4096];
    ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    if (n <= 0 || std::string(target, static_cast<size_t>(n)) != path_) continue;
    ++found;
    int flags = ::fcntl(std::stoi(e->d_name), F_GETFD);
    EXPECT_TRUE(flags >= 0 && (flags & FD_CLOEXEC)) << "R4: the lock fd must be O_CLOEXEC";
  }
  ::closedir(d);
  EXPECT_EQ(found, 1) << "expected exactly one fd open on the lock file";
}

TEST_F(FileLockTest, BlockingAcquireWaitsForRelease) {
  BlockingAcquirer waiter(path_);
  ASSERT_TRUE(waiter.started());
  std::optional<FileLock> held;
  {
    auto l = FileLock::acquire(path_, false);
    ASSERT_TRUE(l) << l.error().message();
    held.emplace(std::move(*l));
  }
  waiter.start();
  ASSERT_TRUE(wait_until_blocked(waiter.pid(), 10000)) << "the waiter never blocked in flock";
  EXPECT_FALSE(waiter.result(100).has_value()) << "the waiter got the lock while we held it";
  held.reset();
  auto r = waiter.result(10000);
  ASSERT_TRUE(r.has_value()) << "the waiter did not get the lock after release";
  EXPECT_EQ(*r, "Y");
  run_in_child([&] { return expect_busy(path_); });  // the waiter holds it now
  EXPECT_EQ(waiter.finish(), 0);
}

TEST_F(FileLockTest, UnlinkAndReleaseThenNewAcquireGetsANewFile) {
  auto l = FileLock::acquire(path_, false);
  ASSERT_TRUE(l) << l.error().message();
  // Keep the old inode alive (so its number cannot be reused) and comparable.
  int old_fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(old_fd, 0);
  auto u = l->unlink_and_release();
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_FALSE(l->held());
  EXPECT_FALSE(exists(path_)) << "unlink_and_release must remove the file";
  struct stat old_st {};
  ASSERT_EQ(::fstat(old_fd, &old_st), 0);
  EXPECT_EQ(old_st.st_nlink, 0u);

  auto again = FileLock::acquire(path_, false);
  ASSERT_TRUE(again) << again.error().message();
  EXPECT_TRUE(again->held());
  struct stat new_st {};
  ASSERT_EQ(::stat(path_.c_str(), &new_st), 0);
  EXPECT_NE(new_st.st_ino, old_st.st_ino) << "the new lock must be on a new file";
  run_in_child([&] { return expect_busy(path_); });
  ::close(old_fd);
}

TEST_F(FileLockTest, WaiterAfterUnlinkHoldsTheFileThePathNamesNow) {
  BlockingAcquirer waiter(path_);
  ASSERT_TRUE(waiter.started());
  auto l = FileLock::acquire(path_, false);
  ASSERT_TRUE(l) << l.error().message();
  waiter.start();
  // The waiter has opened the *old* file and waits for its lock.
  ASSERT_TRUE(wait_until_blocked(waiter.pid(), 10000)) << "the waiter never blocked in flock";
  auto u = l->unlink_and_release();
  ASSERT_TRUE(u) << u.error().message();
  auto r = waiter.result(10000);
  ASSERT_TRUE(r.has_value()) << "the waiter did not return after unlink_and_release";
  ASSERT_EQ(*r, "Y");
  EXPECT_TRUE(exists(path_)) << "the waiter must have re-created the lock file";
  // If the waiter held the lock on the unlinked file, the path's file would be free now.
  run_in_child([&] { return expect_busy(path_); });
  EXPECT_EQ(waiter.finish(), 0);
  run_in_child([&] { return expect_free(path_); });
}

}  // namespace
}  // namespace vs
