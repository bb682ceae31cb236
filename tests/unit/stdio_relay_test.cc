// StdioRelay (lib/base/stdio_relay.h): what a command in a context gets instead of the
// caller's stdin, stdout and stderr, and the copy loop. No root needed: the "command" is a
// forked child that uses the fds the relay made, as the shim's child does after dup2.
#include "lib/base/stdio_relay.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <string>

#include "lib/base/fs_at.h"
#include "lib/base/pty.h"
#include "tests/support/temp_tree.h"

namespace vs {
namespace {

// Runs `body` as the command of `relay`, with the relay's child fds as its 0, 1, 2, `keep`
// (if any) as its 3, and nothing else.
Result<ExitStatus> run_relayed(StdioRelay& relay, const std::function<int()>& body, int keep = -1) {
  std::array<int, 3> fds = relay.child_fds();
  auto child = Child::spawn(CloneSpec{}, [&]() -> int {
    for (int i = 0; i < 3; ++i) {
      if (fds[static_cast<size_t>(i)] != i) ::dup2(fds[static_cast<size_t>(i)], i);
    }
    if (keep >= 0) ::dup2(keep, 3);
    // Nothing of the relay's own ends (the command would hold its stdin open).
    ::close_range(keep >= 0 ? 4 : 3, ~0U, 0);
    return body();
  });
  relay.close_child_ends();
  if (!child) return std::move(child).error();
  return relay.run(*child);
}

std::string read_back(int fd) {
  std::string s;
  ::lseek(fd, 0, SEEK_SET);
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
  return s;
}

class Relay : public ::testing::Test {
 protected:
  void SetUp() override {
    for (auto* f : {&in_, &out_, &err_}) {
      *f = UniqueFd(::memfd_create("relay-test", MFD_CLOEXEC));
      ASSERT_TRUE(*f);
    }
  }
  StdioRelay::Ends ends() const { return {in_.get(), out_.get(), err_.get()}; }
  UniqueFd in_, out_, err_;
};

TEST_F(Relay, CopiesStdinToTheCommandAndItsOutputBack) {
  ASSERT_TRUE(write_all(in_.get(), "hello relay\n"));
  ::lseek(in_.get(), 0, SEEK_SET);
  auto relay = StdioRelay::pipes(ends());
  ASSERT_TRUE(relay) << relay.error().message();
  auto st = run_relayed(*relay, [] {
    char buf[64];
    ssize_t n = ::read(0, buf, sizeof buf);
    if (n > 0) (void)!::write(1, buf, static_cast<size_t>(n));
    (void)!::write(2, "to stderr\n", 10);
    return 3;
  });
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(st->as_exit_code(), 3);
  EXPECT_EQ(read_back(out_.get()), "hello relay\n");
  EXPECT_EQ(read_back(err_.get()), "to stderr\n");
}

TEST_F(Relay, TheCommandGetsPipesNeverTheCallersFiles) {
  auto relay = StdioRelay::pipes(ends());
  ASSERT_TRUE(relay);
  auto st = run_relayed(*relay, [] {
    for (int fd = 0; fd < 3; ++fd) {
      struct stat s {};
      if (::fstat(fd, &s) < 0 || !S_ISFIFO(s.st_mode)) return 10 + fd;
    }
    // What the guest did with a redirected host file: reopen its fd 0 for writing. With a
    // pipe that only reaches the pipe.
    int w = ::open("/proc/self/fd/0", O_WRONLY | O_CLOEXEC);
    if (w >= 0) (void)!::write(w, "pwned", 5);
    return 0;
  });
  ASSERT_TRUE(st);
  EXPECT_EQ(st->as_exit_code(), 0);
  EXPECT_EQ(read_back(in_.get()), "") << "the caller's stdin file was written through the relay";
}

TEST_F(Relay, ACommandThatDoesNotReadDoesNotStopTheRelay) {
  // More input than a pipe holds, and a command that never reads it: the relay must still
  // see the command end and return (a blocking copy of stdin would hang here).
  std::string big(1 << 20, 'x');
  ASSERT_TRUE(write_all(in_.get(), big));
  ::lseek(in_.get(), 0, SEEK_SET);
  auto relay = StdioRelay::pipes(ends());
  ASSERT_TRUE(relay);
  auto st = run_relayed(*relay, [] {
    (void)!::write(1, "done\n", 5);
    ::usleep(100000);
    return 0;
  });
  ASSERT_TRUE(st);
  EXPECT_EQ(read_back(out_.get()), "done\n");
}

TEST_F(Relay, LeftoverProcessesDoNotKeepTheRelayGoingNorReachTheCaller) {
  int sync[2];
  ASSERT_EQ(::pipe2(sync, O_CLOEXEC), 0);
  auto relay = StdioRelay::pipes(ends());
  ASSERT_TRUE(relay);
  auto st = run_relayed(
      *relay,
      [&] {
        // A grandchild keeps every end open and writes later, after the command returned.
        if (::fork() == 0) {
          ::prctl(PR_SET_PDEATHSIG, SIGKILL);
          char c;
          (void)!::read(3, &c, 1);
          (void)!::write(1, "late\n", 5);
          ::_exit(0);
        }
        (void)!::write(1, "early\n", 6);
        return 0;
      },
      sync[0]);
  ASSERT_TRUE(st);
  (void)!::write(sync[1], "x", 1);
  ::usleep(100000);
  EXPECT_EQ(read_back(out_.get()), "early\n");
  ::close(sync[0]);
  ::close(sync[1]);
}

TEST_F(Relay, AnEmptyStdinIsEofAtOnce) {
  auto relay = StdioRelay::pipes({-1, out_.get(), err_.get()});
  ASSERT_TRUE(relay);
  auto st = run_relayed(*relay, [] {
    char c;
    return ::read(0, &c, 1) == 0 ? 0 : 1;
  });
  ASSERT_TRUE(st);
  EXPECT_EQ(st->as_exit_code(), 0);
}

TEST(RelayPty, TheCommandGetsAFreshPtyAsItsTerminal) {
  auto pty = open_pty();
  ASSERT_TRUE(pty) << pty.error().message();
  auto relay = StdioRelay::pty(std::move(pty->master), std::move(pty->slave));
  ASSERT_TRUE(relay);
  EXPECT_GE(relay->controlling_tty(), 0);
  auto fds = relay->child_fds();
  EXPECT_TRUE(::isatty(fds[0]));
  EXPECT_TRUE(::isatty(fds[1]));
}

}  // namespace
}  // namespace vs
