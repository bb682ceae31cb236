#include "lib/base/fs_at.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base/eintr.h"
#include "lib/base/syscall.h"

namespace vs {

Result<UniqueFd> open_path(const std::string& path, int flags, mode_t mode) {
  UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC, mode));
  if (!fd) return sys_error("open", path);
  return fd;
}

Result<UniqueFd> open_beneath(int root_fd, std::string_view rel, int flags, mode_t mode,
                              uint64_t extra_resolve) {
  std::string path(rel);
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra_resolve;
  UniqueFd fd(sys::openat2(root_fd, path.c_str(), &how));
  if (!fd) return sys_error("openat2", path);
  return fd;
}

Result<std::string> read_all(UniqueFd fd, const std::string& name, size_t max_bytes) {
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) return sys_error("fstat", name);
  if (!S_ISREG(st.st_mode)) {
    return make_error(ErrorKind::kFailed, "read", name, "not a regular file", EINVAL);
  }
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = retry_eintr([&] { return ::read(fd.get(), buf, sizeof buf); });
    if (n < 0) return sys_error("read", name);
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      return make_error(ErrorKind::kFailed, "read", name,
                        "larger than " + std::to_string(max_bytes) + " bytes", EFBIG);
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}


bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = retry_eintr([&] { return ::write(fd, data.data(), data.size()); });
    if (n < 0) return false;
    if (n == 0) {
      errno = EIO;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

Result<std::string> read_file_at(int dir_fd, std::string_view rel, size_t max_bytes) {
  std::string name(rel);
  UniqueFd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd) return sys_error("open", name);
  return read_all(std::move(fd), name, max_bytes);
}

Result<size_t> read_into_at(int dir_fd, const std::string& rel, std::vector<char>& buf,
                            ReadEnd end) {
  UniqueFd fd(::openat(dir_fd, rel.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd) return sys_error("open", rel);
  if (buf.size() < 16384) buf.resize(16384);
  size_t len = 0;
  for (;;) {
    if (buf.size() - len < 4096) buf.resize(buf.size() * 2);
    const size_t want = buf.size() - len;
    ssize_t n = retry_eintr([&] { return ::read(fd.get(), buf.data() + len, want); });
    if (n < 0) return sys_error("read", rel);
    if (n == 0) break;
    len += static_cast<size_t>(n);
    if (end == ReadEnd::kShort && static_cast<size_t>(n) < want) break;
  }
  return len;
}

Result<std::string> read_file(const std::string& path, size_t max_bytes) {
  return read_file_at(AT_FDCWD, path, max_bytes);
}

Result<void> write_file_at(int dir_fd, std::string_view rel, std::string_view data) {
  std::string name(rel);
  UniqueFd fd(::openat(dir_fd, name.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return sys_error("open", name);
  ssize_t n = retry_eintr([&] { return ::write(fd.get(), data.data(), data.size()); });
  if (n < 0) return sys_error("write", name);
  if (static_cast<size_t>(n) != data.size()) {
    return make_error(ErrorKind::kFailed, "write", name, "short write", EIO);
  }
  return ok();
}

Result<void> write_file(const std::string& path, std::string_view data) {
  return write_file_at(AT_FDCWD, path, data);
}

Result<void> atomic_write_at(int dir_fd, std::string_view rel, std::string_view data,
                             mode_t mode) {
  std::string name(rel);
  std::string tmp = name + ".tmp." + std::to_string(::getpid());
  UniqueFd fd(::openat(dir_fd, tmp.c_str(),
                       O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd) return sys_error("open", tmp);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n =
        retry_eintr([&] { return ::write(fd.get(), data.data() + done, data.size() - done); });
    if (n < 0) {
      Error e = sys_error("write", tmp);
      ::unlinkat(dir_fd, tmp.c_str(), 0);
      return e;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) < 0) {
    Error e = sys_error("fsync", tmp);
    ::unlinkat(dir_fd, tmp.c_str(), 0);
    return e;
  }
  fd.reset();
  if (::renameat(dir_fd, tmp.c_str(), dir_fd, name.c_str()) < 0) {
    Error e = sys_error("rename", name);
    ::unlinkat(dir_fd, tmp.c_str(), 0);
    return e;
  }
  return ok();
}

Result<void> ensure_dir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) == 0) return ok();
  if (errno != EEXIST) return sys_error("mkdir", path);
  struct stat st {};
  if (::lstat(path.c_str(), &st) < 0) return sys_error("stat", path);
  if (!S_ISDIR(st.st_mode)) {
    return make_error(ErrorKind::kFailed, "mkdir", path, "exists and is not a directory",
                      ENOTDIR);
  }
  return ok();
}

}  // namespace vs
