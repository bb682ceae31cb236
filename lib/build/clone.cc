// build_clone(): a copy of a source tree, fd-relative (STYLE.md R5, SECURITY.md E41). Every
// source entry is examined with fstatat(AT_SYMLINK_NOFOLLOW) and opened with O_NOFOLLOW, and
// the opened fd is checked to be the inode that was examined, so a running source that flips
// symlinks makes the clone fail instead of copying a host file.
//
// Nothing of either tree is loaded or run with host privileges (issue 18): the copy is made
// by the host process itself, fd-relative, which never chroots, execs or looks up a name
// (owners are copied as numbers), so whatever glibc loads for it comes from the host's root.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "lib/base/dir_stream.h"
#include "lib/base/eintr.h"
#include "lib/base/fs_at.h"
#include "lib/base/unique_fd.h"
#include "lib/build/build.h"
#include "lib/build/staging.h"

namespace vs {
namespace {

constexpr int kMaxDepth = 400;

Result<void> copy_xattrs(int src, int dst, const std::string& rel) {
  std::vector<char> names(4096);
  ssize_t n = ::flistxattr(src, names.data(), names.size());
  if (n < 0 && errno == ERANGE) {
    ssize_t need = ::flistxattr(src, nullptr, 0);
    if (need < 0) return sys_error("listxattr", rel);
    names.resize(static_cast<size_t>(need));
    n = ::flistxattr(src, names.data(), names.size());
  }
  if (n < 0) {
    if (errno == ENOTSUP) return ok();
    return sys_error("listxattr", rel);
  }
  std::vector<char> value(65536);
  for (ssize_t off = 0; off < n;) {
    const char* name = names.data() + off;
    off += static_cast<ssize_t>(std::char_traits<char>::length(name)) + 1;
    ssize_t len = ::fgetxattr(src, name, value.data(), value.size());
    if (len < 0) {
      if (errno == ENODATA) continue;
      return sys_error("getxattr", rel + " " + name);
    }
    if (::fsetxattr(dst, name, value.data(), static_cast<size_t>(len), 0) < 0) {
      return sys_error("setxattr", rel + " " + name);
    }
  }
  return ok();
}

// Owner first: chown clears setuid bits and file capabilities, so mode and xattrs follow.
Result<void> copy_meta(int src, int dst, const struct stat& st, const std::string& rel) {
  if (::fchown(dst, st.st_uid, st.st_gid) < 0) return sys_error("chown", rel);
  if (::fchmod(dst, st.st_mode & 07777) < 0) return sys_error("chmod", rel);
  auto x = copy_xattrs(src, dst, rel);
  if (!x) return x;
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (::futimens(dst, times) < 0) return sys_error("utimens", rel);
  return ok();
}

class Cloner {
 public:
  Cloner(const BuildOptions& opts, BuildResult& result, dev_t dev)
      : opts_(opts), result_(result), dev_(dev) {}

  Result<void> copy_dir(int src_dir, int dst_dir, const std::string& rel, int depth) {
    if (depth > kMaxDepth) {
      return make_error(ErrorKind::kFailed, "clone", rel, "deeper than 400 levels", ELOOP);
    }
    auto stream = DirStream::open(src_dir, rel);
    if (!stream) return std::move(stream).error();
    for (;;) {
      auto ent = stream->next();
      if (!ent) return std::move(ent).error();
      if (!*ent) break;
      std::string name((*ent)->name);
      auto r = copy_entry(src_dir, dst_dir, name, rel.empty() ? name : rel + "/" + name, depth);
      if (!r) return r;
    }
    return ok();
  }

 private:
  Result<void> count(uint64_t bytes) {
    ++result_.files;
    result_.bytes += bytes;
    if (result_.files > opts_.max_files) {
      return make_error(ErrorKind::kFailed, "clone", opts_.vdir,
                        "more than " + std::to_string(opts_.max_files) + " entries", EFBIG);
    }
    if (result_.bytes > opts_.max_bytes) {
      return make_error(ErrorKind::kFailed, "clone", opts_.vdir,
                        "more than " + std::to_string(opts_.max_bytes) + " bytes", EFBIG);
    }
    if (opts_.progress && result_.files % 512 == 0) {
      opts_.progress(BuildProgress{result_.files, result_.bytes});
    }
    return ok();
  }

  Result<UniqueFd> open_same(int dir, const std::string& name, const std::string& rel,
                             int flags, const struct stat& st) {
    UniqueFd fd(::openat(dir, name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (!fd) return sys_error("open", rel);
    struct stat now {};
    if (::fstat(fd.get(), &now) < 0) return sys_error("fstat", rel);
    if (now.st_dev != st.st_dev || now.st_ino != st.st_ino) {
      return make_error(ErrorKind::kFailed, "clone", rel, "changed while being copied",
                        EAGAIN);
    }
    return fd;
  }

  Result<void> copy_entry(int src_dir, int dst_dir, const std::string& name,
                          const std::string& rel, int depth) {
    struct stat st {};
    if (::fstatat(src_dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
      return sys_error("stat", rel);
    }
    switch (st.st_mode & S_IFMT) {
      case S_IFDIR: return copy_subdir(src_dir, dst_dir, name, rel, st, depth);
      case S_IFREG: return copy_file(src_dir, dst_dir, name, rel, st);
      case S_IFLNK: return copy_symlink(src_dir, dst_dir, name, rel, st);
      case S_IFCHR:
      case S_IFBLK:
        if (!opts_.keep_devices) {
          ++result_.skipped_devices;
          return ok();
        }
        [[fallthrough]];
      case S_IFIFO: {
        if (::mknodat(dst_dir, name.c_str(), (st.st_mode & S_IFMT) | 0600, st.st_rdev) < 0) {
          return sys_error("mknod", rel);
        }
        if (::fchownat(dst_dir, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0 ||
            ::fchmodat(dst_dir, name.c_str(), st.st_mode & 07777, 0) < 0) {
          return sys_error("chown/chmod", rel);
        }
        return count(0);
      }
      default:
        ++result_.skipped_other;
        return ok();
    }
  }

  Result<void> copy_subdir(int src_dir, int dst_dir, const std::string& name,
                           const std::string& rel, const struct stat& st, int depth) {
    if (::mkdirat(dst_dir, name.c_str(), 0700) < 0) return sys_error("mkdir", rel);
    UniqueFd dst(::openat(dst_dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dst) return sys_error("open", rel);
    auto src = open_same(src_dir, name, rel, O_RDONLY | O_DIRECTORY, st);
    if (!src) return std::move(src).error();
    if (st.st_dev != dev_) {
      // Another filesystem is mounted here in the source: an empty mount point.
      ++result_.skipped_other;
    } else {
      auto r = copy_dir(src->get(), dst.get(), rel, depth + 1);
      if (!r) return r;
    }
    auto m = copy_meta(src->get(), dst.get(), st, rel);
    if (!m) return m;
    return count(0);
  }

  Result<void> copy_file(int src_dir, int dst_dir, const std::string& name,
                         const std::string& rel, const struct stat& st) {
    if (st.st_nlink > 1) {
      auto it = links_.find({st.st_dev, st.st_ino});
      if (it != links_.end()) {
        // Both paths are in the tree we are building, which only we write to.
        if (::linkat(staging_fd_, it->second.c_str(), dst_dir, name.c_str(), 0) < 0) {
          return sys_error("link", rel);
        }
        return count(0);
      }
    }
    auto src = open_same(src_dir, name, rel, O_RDONLY, st);
    if (!src) return std::move(src).error();
    UniqueFd dst(::openat(dst_dir, name.c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!dst) return sys_error("create", rel);
    if (::ioctl(dst.get(), FICLONE, src->get()) < 0) {
      auto c = copy_data(src->get(), dst.get(), rel, st.st_size);
      if (!c) return c;
    }
    auto m = copy_meta(src->get(), dst.get(), st, rel);
    if (!m) return m;
    if (st.st_nlink > 1) links_[{st.st_dev, st.st_ino}] = rel;
    return count(static_cast<uint64_t>(st.st_size));
  }

  static Result<void> copy_data(int src, int dst, const std::string& rel, off_t size) {
    loff_t in = 0;
    bool fallback = false;
    while (in < size && !fallback) {
      ssize_t n = retry_eintr([&] {
        return ::copy_file_range(src, &in, dst, nullptr, static_cast<size_t>(size - in), 0);
      });
      if (n < 0) {
        if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
          fallback = true;
          break;
        }
        return sys_error("copy_file_range", rel);
      }
      if (n == 0) break;  // the source shrank: copy what is there
    }
    if (!fallback) return ok();
    std::vector<char> buf(1 << 16);
    for (;;) {
      ssize_t n = retry_eintr([&] { return ::pread(src, buf.data(), buf.size(), in); });
      if (n < 0) return sys_error("read", rel);
      if (n == 0) break;
      for (ssize_t done = 0; done < n;) {
        ssize_t w = retry_eintr([&] {
          return ::pwrite(dst, buf.data() + done, static_cast<size_t>(n - done), in + done);
        });
        if (w < 0) return sys_error("write", rel);
        done += w;
      }
      in += n;
    }
    return ok();
  }

  Result<void> copy_symlink(int src_dir, int dst_dir, const std::string& name,
                            const std::string& rel, const struct stat& st) {
    std::vector<char> target(static_cast<size_t>(st.st_size > 0 ? st.st_size : 255) + 2);
    ssize_t n = ::readlinkat(src_dir, name.c_str(), target.data(), target.size());
    if (n < 0) return sys_error("readlink", rel);
    if (static_cast<size_t>(n) >= target.size()) {
      return make_error(ErrorKind::kFailed, "clone", rel, "changed while being copied", EAGAIN);
    }
    std::string t(target.data(), static_cast<size_t>(n));
    if (::symlinkat(t.c_str(), dst_dir, name.c_str()) < 0) return sys_error("symlink", rel);
    if (::fchownat(dst_dir, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0) {
      return sys_error("chown", rel);
    }
    const struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (::utimensat(dst_dir, name.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0) {
      return sys_error("utimens", rel);
    }
    return count(0);
  }

 public:
  int staging_fd_ = -1;

 private:
  const BuildOptions& opts_;
  BuildResult& result_;
  dev_t dev_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

}  // namespace

Result<BuildResult> build_clone(const BuildOptions& opts, const std::string& source) {
  BuildResult result;
  std::string what = "build clone of `" + source + "` into `" + opts.vdir + "`";
  UniqueFd src(::open(source.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!src) return sys_error("open", source).wrap(what);
  struct stat st {};
  if (::fstat(src.get(), &st) < 0) return sys_error("fstat", source).wrap(what);
  auto staging = build::Staging::begin(opts, result);
  if (!staging) return std::move(staging).error().wrap(what);
  Cloner cloner(opts, result, st.st_dev);
  cloner.staging_fd_ = staging->root_fd();
  auto r = cloner.copy_dir(src.get(), staging->root_fd(), "", 0);
  if (!r) return std::move(r).error().wrap(what);
  auto m = copy_meta(src.get(), staging->root_fd(), st, source);
  if (!m) return std::move(m).error().wrap(what);
  if (opts.progress) opts.progress(BuildProgress{result.files, result.bytes});
  r = staging->commit(st.st_mode & 07777);
  if (!r) return std::move(r).error().wrap(what);
  return result;
}

}  // namespace vs
