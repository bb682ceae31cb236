#include "lib/base/pty.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#include <string>

#include "lib/base/fs_at.h"

namespace vs {

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
  return p;
}

Result<Pty> open_devpts_pty(int root_fd) {
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
  return p;
}

}  // namespace vs
