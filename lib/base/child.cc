#include "lib/base/child.h"

#include <errno.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/base/eintr.h"
#include "lib/base/scope_exit.h"
#include "lib/base/syscall.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace vs {

Child::Child(Child&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), pidfd_(std::move(other.pidfd_)) {}

Child& Child::operator=(Child&& other) noexcept {
  if (this != &other) {
    kill_and_reap();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::move(other.pidfd_);
  }
  return *this;
}

Child::~Child() { kill_and_reap(); }

void Child::kill_and_reap() {
  if (pid_ <= 0) return;
  int saved = errno;
  siginfo_t info{};
  if (pidfd_) {
    sys::pidfd_send_signal(pidfd_.get(), SIGKILL, nullptr, 0);
    (void)retry_eintr([&] {
      return ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_.get()), &info,
                      WEXITED);
    });
  } else {
    // Adopted without a pidfd: our unreaped child, so its pid cannot have been reused.
    ::kill(pid_, SIGKILL);
    (void)retry_eintr([&] { return ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED); });
  }
  pid_ = -1;
  pidfd_.reset();
  errno = saved;
}

Result<Child> Child::spawn(const CloneSpec& spec, const std::function<int()>& body) {
  auto child = fork(spec);
  if (!child) return std::move(child).error();
  if (!*child) {
    // Child: never return into the caller's stack frames, never run atexit handlers.
    int code = body();
    ::_exit(code);
  }
  return std::move(**child);
}

Result<std::optional<Child>> Child::fork(const CloneSpec& spec) {
  int pidfd = -1;
  struct clone_args args = {};
  args.flags = spec.flags | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = static_cast<uint64_t>(spec.exit_signal);
  if (spec.cgroup_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(spec.cgroup_fd);
  }
  long pid = sys::clone3(&args);
  if (pid < 0) return sys_error("clone3", "");
  if (pid == 0) return std::optional<Child>();
  return std::optional<Child>(Child(static_cast<pid_t>(pid), UniqueFd(pidfd)));
}

Result<ExitStatus> Child::wait() {
  siginfo_t info{};
  if (retry_eintr([&] {
        return ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd_.get()), &info,
                        WEXITED);
      }) < 0) {
    return sys_error("waitid", std::to_string(pid_));
  }
  pid_ = -1;
  pidfd_.reset();
  ExitStatus st;
  if (info.si_code == CLD_EXITED) {
    st.value = info.si_status;
  } else {
    st.signaled = true;
    st.value = info.si_status;
  }
  return st;
}

Result<void> Child::signal(int sig) const {
  if (sys::pidfd_send_signal(pidfd_.get(), sig, nullptr, 0) < 0) {
    return sys_error("pidfd_send_signal", std::to_string(pid_));
  }
  return ok();
}

void Child::release() {
  pid_ = -1;
  pidfd_.reset();
}

Result<ExitStatus> wait_forwarding(Child& child) {
  sigset_t set, old;
  ::sigemptyset(&set);
  for (int s : {SIGHUP, SIGINT, SIGQUIT, SIGTERM}) ::sigaddset(&set, s);
  ::sigprocmask(SIG_BLOCK, &set, &old);
  ScopeExit restore([&] { ::sigprocmask(SIG_SETMASK, &old, nullptr); });
  UniqueFd sfd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sfd) return sys_error("signalfd", "");
  for (;;) {
    struct pollfd fds[2] = {{child.pidfd(), POLLIN, 0}, {sfd.get(), POLLIN, 0}};
    if (retry_eintr([&] { return ::poll(fds, 2, -1); }) < 0) return sys_error("poll", "");
    if (fds[1].revents & POLLIN) {
      struct signalfd_siginfo si {};
      while (::read(sfd.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        (void)child.signal(static_cast<int>(si.ssi_signo));
      }
    }
    if (fds[0].revents & POLLIN) return child.wait();
  }
}

}  // namespace vs
