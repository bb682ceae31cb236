// A pseudo-terminal a test owns: the master it types into and reads, and the slave it hands a
// child as its terminal (the escape tests' "administrator's terminal").
#pragma once

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "tests/support/host_watch.h"

namespace vs::test {

struct Pty {
  int master = -1, slave = -1;
  FileId slave_id{0, 0};  ///< the slave's node in its devpts instance
  Pty() {
    master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || ::grantpt(master) < 0 || ::unlockpt(master) < 0) return;
    const char* name = ::ptsname(master);
    if (!name) return;
    slave = ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    struct stat st {};
    if (slave >= 0 && ::fstat(slave, &st) == 0) slave_id = {st.st_dev, st.st_ino};
  }
  ~Pty() {
    for (int fd : {master, slave}) {
      if (fd >= 0) ::close(fd);
    }
  }
  Pty(const Pty&) = delete;
  Pty& operator=(const Pty&) = delete;
  [[nodiscard]] bool ok() const { return master >= 0 && slave >= 0; }
  /// Types `text` at the terminal (it becomes the slave's input).
  void type(const std::string& text) const { (void)!::write(master, text.data(), text.size()); }
  /// Whatever is waiting on one end (non-blocking).
  static std::string available(int fd) {
    int fl = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
    ::fcntl(fd, F_SETFL, fl);
    return out;
  }
};

}  // namespace vs::test
