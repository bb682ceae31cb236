// vs::Child: a process owned through a pidfd (STYLE.md R10).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>

#include "lib/base/result.h"
#include "lib/base/unique_fd.h"

namespace vs {

/// How a process ended.
struct ExitStatus {
  bool signaled = false;
  int value = 0;  ///< exit code, or the signal number if signaled
  /// The shell convention: the exit code, or 128 + signal.
  [[nodiscard]] int as_exit_code() const { return signaled ? 128 + value : value; }
};

struct CloneSpec {
  uint64_t flags = 0;     ///< CLONE_NEW* flags (CLONE_PIDFD is always added)
  int cgroup_fd = -1;     ///< v2 cgroup dir fd: the child is born there (CLONE_INTO_CGROUP)
  int exit_signal = 17;   ///< SIGCHLD
};

class Child {
 public:
  Child() = default;
  /// Adopts a child of ours. Without a pidfd, `pid` must be an unreaped child of the caller.
  Child(pid_t pid, UniqueFd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}
  Child(Child&& other) noexcept;
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  /// SIGKILLs and reaps a child that was neither waited for nor released.
  ~Child();

  /// clone3(CLONE_PIDFD | spec.flags); the child runs `body` and _exit()s with its result.
  static Result<Child> spawn(const CloneSpec& spec, const std::function<int()>& body);
  /// clone3(CLONE_PIDFD | spec.flags), returning in both processes: the parent gets the
  /// owned child, the child std::nullopt, and goes on in the caller's code (to an exec, or
  /// _exit()). For a process that must carry on as the caller in a new pid namespace.
  static Result<std::optional<Child>> fork(const CloneSpec& spec);

  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] int pidfd() const { return pidfd_.get(); }
  [[nodiscard]] bool owned() const { return pid_ > 0; }

  /// Waits for the child to end (retrying EINTR) and reaps it.
  Result<ExitStatus> wait();
  /// Signals through the pidfd.
  Result<void> signal(int sig) const;
  /// Gives up ownership: the process keeps running and is not reaped by us.
  void release();

 private:
  void kill_and_reap();

  pid_t pid_ = -1;
  UniqueFd pidfd_;
};

/// Waits for `child` while passing SIGHUP, SIGINT, SIGQUIT and SIGTERM of the caller on to it.
Result<ExitStatus> wait_forwarding(Child& child);

}  // namespace vs
