// flock(2) helper: a lock file that may be removed by its holder (reaping) safely.
#pragma once

#include <string>

#include "lib/base/result.h"
#include "lib/base/unique_fd.h"

namespace vs {

/// An exclusive flock on a file. Released when destroyed (the fd closes).
class FileLock {
 public:
  FileLock() = default;

  /// Opens (creating) `path` and takes LOCK_EX. With `wait` false, a held lock is an
  /// EWOULDBLOCK error. Retries if the file was unlinked and replaced while waiting, so
  /// holding the lock means holding the file that `path` names now.
  static Result<FileLock> acquire(const std::string& path, bool wait);

  [[nodiscard]] bool held() const { return fd_.valid(); }
  /// Unlinks the lock file while still holding it (for the one who removes the entry).
  Result<void> unlink_and_release();

 private:
  UniqueFd fd_;
  std::string path_;
};

}  // namespace vs
