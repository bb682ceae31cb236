#include "lib/base/flock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base/eintr.h"

namespace vs {

Result<FileLock> FileLock::acquire(const std::string& path, bool wait) {
  for (;;) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) return sys_error("open", path);
    int r = retry_eintr([&] { return ::flock(fd.get(), LOCK_EX | (wait ? 0 : LOCK_NB)); });
    if (r < 0) return sys_error("flock", path);
    // The previous holder may have unlinked the file before we got the lock.
    struct stat held {}, now {};
    if (::fstat(fd.get(), &held) < 0) return sys_error("fstat", path);
    if (::stat(path.c_str(), &now) < 0) {
      if (errno == ENOENT) continue;  // unlinked by the previous holder: take the new one
      return sys_error("stat", path);
    }
    if (now.st_ino == held.st_ino && now.st_dev == held.st_dev) {
      FileLock lock;
      lock.fd_ = std::move(fd);
      lock.path_ = path;
      return lock;
    }
  }
}

Result<void> FileLock::unlink_and_release() {
  if (!fd_) return ok();
  if (::unlink(path_.c_str()) < 0 && errno != ENOENT) return sys_error("unlink", path_);
  fd_.reset();
  return ok();
}

}  // namespace vs
