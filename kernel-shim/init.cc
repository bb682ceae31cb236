#include "kernel-shim/init.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <vector>

#include "lib/base/syscall.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace vs::shim {

namespace {

// What init passes on to the command. SIGCHLD is init's own business.
constexpr std::array<int, 8> kForwarded{SIGHUP, SIGINT,  SIGQUIT, SIGTERM,
                                        SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT};

void mark_fds_cloexec() {
  if (sys::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  // Kernels before 5.11: walk the table instead.
  for (int fd = 3; fd < 1024; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

}  // namespace

int exec_command(const std::vector<std::string>& argv, int report_fd) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  mark_fds_cloexec();
  ::execvp(args[0], args.data());
  int err = errno;
  if (report_fd >= 0) (void)!::write(report_fd, &err, sizeof err);
  return 127;
}

namespace {

// Blocks the forwarded signals and SIGCHLD (`set`), spawns argv with the old mask, reports the
// exec on `report_fd` (errno; 0 once it cannot fail any more), and closes every fd >= 3.
// Returns the command's pid, or -1.
pid_t spawn_command(const std::vector<std::string>& argv, int report_fd, sigset_t* set) {
  sigset_t old;
  ::sigemptyset(set);
  for (int s : kForwarded) ::sigaddset(set, s);
  ::sigaddset(set, SIGCHLD);
  ::sigaddset(set, SIGPWR);
  // Blocked signals are queued even for a pid-namespace init (which otherwise drops signals
  // it has no handler for); sigwaitinfo() then picks them up one by one.
  ::sigprocmask(SIG_BLOCK, set, &old);

  pid_t cmd = 0;
  if (!argv.empty()) {
    // vfork: the child borrows our memory until it execs, so it only restores the signal
    // mask and execs (posix_spawn would first query and reset all 64 signal handlers: 128
    // system calls on every start). That is safe here because no code of ours installs a
    // signal handler (init waits for signals with them blocked), so none can run on the
    // borrowed stack. Nothing beyond stdio reaches the command.
    mark_fds_cloexec();
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    volatile int exec_err = 0;  // written by the child before _exit, read after it
    cmd = ::vfork();
    if (cmd == 0) {
      ::sigprocmask(SIG_SETMASK, &old, nullptr);
      ::execvp(args[0], args.data());
      exec_err = errno;
      ::_exit(127);
    }
    int err = cmd < 0 ? errno : exec_err;
    if (err != 0) {
      if (cmd > 0) ::waitpid(cmd, nullptr, 0);
      (void)!::write(report_fd, &err, sizeof err);
      return -1;
    }
    // vfork gives our memory back once the command's exec is past its point of no return:
    // it runs now. Said at once (errno 0), the creator need not wait for the end of that
    // exec, when the command's copy of the channel closes (about 1 ms here).
    (void)!::write(report_fd, &err, sizeof err);
  }
  // Init keeps no fd beyond stdio: not the report channel, nothing the creator had open.
  sys::close_range(3, ~0U, 0);
  return cmd;
}

}  // namespace

int run_builtin_init(const std::vector<std::string>& argv, int exec_report_fd) {
  sigset_t set;
  pid_t cmd = spawn_command(argv, exec_report_fd, &set);
  if (cmd < 0) return 127;
  for (;;) {
    siginfo_t info{};
    int sig = ::sigwaitinfo(&set, &info);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      ::kill(cmd, sig);
      continue;
    }
    int status = 0;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      if (pid != cmd) continue;
      // The command ended: init exits with its status, and the kernel kills what is left
      // in the namespace.
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      return 128 + WTERMSIG(status);
    }
  }
}

int run_guest_init(const std::vector<std::string>& argv, int exec_report_fd, int kill_after_ms) {
  // What ps and vps show for the guest's pid 1 (else the creator's own name).
  ::prctl(PR_SET_NAME, "vserver-init", 0, 0, 0);
  sigset_t set;
  pid_t cmd = spawn_command(argv, exec_report_fd, &set);
  if (cmd < 0) return 127;
  bool stopping = false;
  bool killed = false;
  for (;;) {
    siginfo_t info{};
    int sig;
    if (stopping && !killed) {
      struct timespec ts {kill_after_ms / 1000, (kill_after_ms % 1000) * 1000000L};
      sig = ::sigtimedwait(&set, &info, &ts);
      if (sig < 0 && errno == EAGAIN) {
        ::kill(-1, SIGKILL);  // every process of the namespace but init itself
        killed = true;
        continue;
      }
    } else {
      sig = ::sigwaitinfo(&set, &info);
    }
    if (sig < 0) continue;
    if (sig == SIGTERM || sig == SIGINT || sig == SIGPWR) {
      if (!stopping) {
        stopping = true;
        ::kill(-1, SIGTERM);
      }
    } else if (sig != SIGCHLD) {
      if (cmd > 0) ::kill(cmd, sig);
      continue;
    }
    pid_t pid;
    int status = 0;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      if (pid == cmd) cmd = 0;
    }
    if (stopping && pid < 0 && errno == ECHILD) return 0;
  }
}

}  // namespace vs::shim
