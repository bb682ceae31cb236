// Plain reads of files and /proc entries for tests (not the code under test).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

namespace vs::test {

/// The whole content of `path` by plain read(2); "" if it cannot be opened. A /proc file of a
/// process that dies meanwhile is just "nothing" (libstdc++'s streams would throw on ESRCH).
inline std::string slurp(const std::string& path) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

/// True if `path` exists, whatever its type (a symlink is not followed).
inline bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace vs::test
