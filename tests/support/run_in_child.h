// Irreversible state (setns, capset, seccomp, uid changes) runs in a forked child; its
// failures become gtest failures of the calling test.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <string>

namespace vs::test {

/// Runs `body` in a forked child and returns its failure: the message `body` returned, or
/// one saying how the child ended when it did not exit 0 without a message, or "" when all
/// went well.
inline std::string failure_in_child(const std::function<std::string()>& body) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return "pipe2 failed";
  pid_t pid = ::fork();
  if (pid < 0) return "fork failed";
  if (pid == 0) {
    ::close(fds[0]);
    std::string msg = body();
    if (!msg.empty()) (void)!::write(fds[1], msg.data(), msg.size());
    ::_exit(msg.empty() ? 0 : 1);
  }
  ::close(fds[1]);
  std::string msg;
  char buf[512];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof buf)) > 0) msg.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return "waitpid failed";
  if (msg.empty() && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
    return "child ended with status " + std::to_string(status) + " and no message";
  }
  return msg;
}

/// Runs `body` in a forked child. `body` returns an empty string on success or a failure
/// message; the message is reported as a test failure in the parent.
inline void run_in_child(const std::function<std::string()>& body) {
  const std::string failure = failure_in_child(body);
  EXPECT_TRUE(failure.empty()) << failure;
}

}  // namespace vs::test
