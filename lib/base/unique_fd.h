// vs::UniqueFd: the one owner type for file descriptors (STYLE.md R1).
#pragma once

#include <errno.h>
#include <unistd.h>

#include <utility>

namespace vs {

/// Owns one file descriptor. Move-only; closes on destruction. reset() keeps errno intact
/// and never retries close (a retried close may close somebody else's fd).
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(other.release());
    return *this;
  }
  ~UniqueFd() { reset(); }

  [[nodiscard]] int get() const { return fd_; }
  [[nodiscard]] bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }

  [[nodiscard]] int release() { return std::exchange(fd_, -1); }

  void reset(int fd = -1) {
    int old = std::exchange(fd_, fd);
    if (old >= 0) {
      int saved = errno;
      ::close(old);
      errno = saved;
    }
  }

 private:
  int fd_ = -1;
};

}  // namespace vs
