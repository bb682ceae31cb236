#include "tools/vserver/terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "lib/base/fs_at.h"
#include "lib/base/scope_exit.h"

namespace vs::tool {

namespace {

void copy_winsize(int from, int to) {
  struct winsize ws {};
  if (::ioctl(from, TIOCGWINSZ, &ws) == 0) ::ioctl(to, TIOCSWINSZ, &ws);
}

}  // namespace

Result<Pty> open_pty() {
  Pty p;
  p.master = UniqueFd(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!p.master) return sys_error("posix_openpt", "/dev/ptmx");
  if (::grantpt(p.master.get()) < 0 || ::unlockpt(p.master.get()) < 0) {
    return sys_error("unlockpt", "/dev/ptmx");
  }
  // TIOCGPTPEER opens the slave of this very master: no path lookup in /dev/pts.
  p.slave = UniqueFd(::ioctl(p.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!p.slave) return sys_error("ioctl(TIOCGPTPEER)", "/dev/ptmx");
  copy_winsize(STDIN_FILENO, p.slave.get());
  return p;
}

Result<Pty> open_guest_pty(int root_fd) {
  const std::string subject = "the guest's /dev/pts/ptmx";
  auto path = open_beneath(root_fd, "dev/pts/ptmx", O_PATH | O_NOFOLLOW, 0,
                           RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
  if (!path) return std::move(path).error();
  struct statfs fs {};
  struct stat st {};
  if (::fstatfs(path->get(), &fs) < 0 || ::fstat(path->get(), &st) < 0) {
    return sys_error("stat", subject);
  }
  if (fs.f_type != DEVPTS_SUPER_MAGIC || !S_ISCHR(st.st_mode) || st.st_rdev != ::makedev(5, 2)) {
    return make_error(ErrorKind::kFailed, "check", subject, "is not the ptmx of a devpts");
  }
  // Reopened through the checked O_PATH fd: no second lookup in the guest's tree.
  const std::string self = "/proc/self/fd/" + std::to_string(path->get());
  Pty p;
  p.master = UniqueFd(::open(self.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!p.master) return sys_error("open", subject);
  int unlock = 0;
  if (::ioctl(p.master.get(), TIOCSPTLCK, &unlock) < 0) return sys_error("unlockpt", subject);
  p.slave = UniqueFd(::ioctl(p.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!p.slave) return sys_error("ioctl(TIOCGPTPEER)", subject);
  copy_winsize(STDIN_FILENO, p.slave.get());
  return p;
}

Result<ExitStatus> proxy_pty(int master, Child& child) {
  struct termios saved {};
  bool raw = ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (raw) {
    struct termios t = saved;
    ::cfmakeraw(&t);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &t);
  }
  ScopeExit restore([&] {
    if (raw) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  });
  sigset_t set, old;
  ::sigemptyset(&set);
  ::sigaddset(&set, SIGWINCH);
  ::sigprocmask(SIG_BLOCK, &set, &old);
  ScopeExit unblock([&] { ::sigprocmask(SIG_SETMASK, &old, nullptr); });
  UniqueFd sfd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  bool stdin_open = true;
  char buf[8192];
  for (;;) {
    struct pollfd fds[4] = {{master, POLLIN, 0},
                            {stdin_open ? STDIN_FILENO : -1, POLLIN, 0},
                            {child.pidfd(), POLLIN, 0},
                            {sfd.get(), POLLIN, 0}};
    int n = ::poll(fds, 4, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("poll", "terminal");
    }
    if (fds[3].revents & POLLIN) {
      struct signalfd_siginfo si {};
      while (::read(sfd.get(), &si, sizeof si) > 0) {
      }
      copy_winsize(STDIN_FILENO, master);
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t r = ::read(master, buf, sizeof buf);
      if (r > 0) {
        if (!write_all(STDOUT_FILENO, std::string_view(buf, static_cast<size_t>(r)))) break;
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        break;  // EIO: every slave fd is closed
      }
    }
    if (fds[1].revents & (POLLIN | POLLHUP)) {
      ssize_t r = ::read(STDIN_FILENO, buf, sizeof buf);
      if (r > 0) {
        if (!write_all(master, std::string_view(buf, static_cast<size_t>(r)))) break;
      } else if (r == 0) {
        stdin_open = false;
        char eof = saved.c_cc[VEOF] ? static_cast<char>(saved.c_cc[VEOF]) : '\x04';
        (void)write_all(master, std::string_view(&eof, 1));
      }
    }
    if (fds[2].revents & POLLIN) {
      // Drain what the shell wrote last.
      int fl = ::fcntl(master, F_GETFL);
      ::fcntl(master, F_SETFL, fl | O_NONBLOCK);
      ssize_t r;
      while ((r = ::read(master, buf, sizeof buf)) > 0) {
        if (!write_all(STDOUT_FILENO, std::string_view(buf, static_cast<size_t>(r)))) break;
      }
      break;
    }
  }
  return child.wait();
}

}  // namespace vs::tool
