#include "lib/base/dir_stream.h"

#include <errno.h>
#include <fcntl.h>

namespace vs {

Result<DirStream> DirStream::open(int dir_fd, const std::string& subject) {
  return open_at(dir_fd, ".", subject);
}

Result<DirStream> DirStream::open_at(int dir_fd, const std::string& rel, const std::string& subject,
                                     int flags) {
  UniqueFd fd(::openat(dir_fd, rel.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | flags));
  if (!fd) return sys_error("open", subject);
  return adopt(std::move(fd), subject);
}

Result<DirStream> DirStream::adopt(UniqueFd fd, const std::string& subject) {
  DIR* d = ::fdopendir(fd.get());
  if (d == nullptr) return sys_error("opendir", subject);
  (void)fd.release();  // closedir() closes it now
  return DirStream(d, subject);
}

DirStream& DirStream::operator=(DirStream&& o) noexcept {
  if (this != &o) {
    if (dir_ != nullptr) ::closedir(dir_);
    dir_ = std::exchange(o.dir_, nullptr);
    subject_ = std::move(o.subject_);
  }
  return *this;
}

DirStream::~DirStream() {
  if (dir_ != nullptr) {
    int saved = errno;
    ::closedir(dir_);
    errno = saved;
  }
}

Result<std::optional<DirEntry>> DirStream::next() {
  for (;;) {
    // readdir() tells the end from an error only through errno.
    errno = 0;
    const struct dirent* e = ::readdir(dir_);
    if (e == nullptr) {
      if (errno != 0) return sys_error("readdir", subject_);
      return std::optional<DirEntry>();
    }
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    return std::optional<DirEntry>(DirEntry{name, e->d_type});
  }
}

Result<std::vector<std::string>> DirStream::names() {
  std::vector<std::string> out;
  for (;;) {
    auto e = next();
    if (!e) return std::move(e).error();
    if (!*e) return out;
    out.emplace_back((*e)->name);
  }
}

void DirStream::rewind() { ::rewinddir(dir_); }

int DirStream::fd() const { return ::dirfd(dir_); }

}  // namespace vs
