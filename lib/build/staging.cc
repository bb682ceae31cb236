// The staging tree every build method writes into, and build_skeleton().
//
// The skeleton loads or runs nothing of the tree with host privileges (issue 18): the host
// process writes constant text fd-relative (O_EXCL, O_NOFOLLOW) into a tree that starts
// empty, and reads nothing of it.
#include "lib/build/staging.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base/eintr.h"
#include "lib/build/entry_check.h"

namespace vs::build {

Result<Staging> Staging::begin(const BuildOptions& opts, BuildResult& result) {
  std::string vdir = opts.vdir;
  while (vdir.size() > 1 && vdir.back() == '/') vdir.pop_back();
  if (vdir.empty() || vdir[0] != '/' || vdir == "/") {
    return usage_error(opts.vdir, "the vdir must be an absolute path other than `/`");
  }
  struct stat st {};
  if (::lstat(vdir.c_str(), &st) == 0) {
    if (!opts.force) {
      return make_error(ErrorKind::kWrongState, "build", vdir,
                        "exists (force replaces it)", EEXIST);
    }
    if (!S_ISDIR(st.st_mode)) {
      return make_error(ErrorKind::kWrongState, "build", vdir,
                        "exists and is not a directory", ENOTDIR);
    }
    auto c = check_deletable(vdir);
    if (!c) return std::move(c).error().wrap("replace `" + vdir + "`");
  } else if (errno != ENOENT) {
    return sys_error("stat", vdir);
  }
  std::string parent = vdir.substr(0, vdir.rfind('/'));
  if (parent.empty()) parent = "/";
  struct stat pst {};
  if (::stat(parent.c_str(), &pst) < 0) return sys_error("stat", parent);
  if (pst.st_mode & 0077) {
    char mode[8];
    ::snprintf(mode, sizeof mode, "%04o", pst.st_mode & 07777);
    result.warnings.push_back("`" + parent + "` is mode " + mode +
                              ": make it 0700 so host users cannot reach the guest's "
                              "setuid files");
  }

  Staging s;
  s.vdir_ = vdir;
  s.force_ = opts.force;
  std::string tmpl = vdir + ".build-XXXXXX";
  if (!::mkdtemp(tmpl.data())) return sys_error("mkdtemp", tmpl);
  s.path_ = tmpl;
  s.root_ = UniqueFd(::open(tmpl.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!s.root_) {
    Error e = sys_error("open", tmpl);
    ::rmdir(tmpl.c_str());
    s.done_ = true;
    return e;
  }
  result.vdir = vdir;
  return s;
}

Staging::Staging(Staging&& other) noexcept
    : vdir_(std::move(other.vdir_)),
      path_(std::move(other.path_)),
      root_(std::move(other.root_)),
      force_(other.force_),
      done_(std::exchange(other.done_, true)) {}

Staging::~Staging() {
  if (done_ || path_.empty()) return;
  root_.reset();
  (void)delete_tree(path_);
}

Result<void> Staging::commit(mode_t root_mode) {
  if (::fchmod(root_.get(), root_mode) < 0) return sys_error("chmod", path_);
  if (::syncfs(root_.get()) < 0) return sys_error("syncfs", path_);
  if (::renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, vdir_.c_str(), RENAME_NOREPLACE) == 0) {
    done_ = true;
    return ok();
  }
  if (errno != EEXIST || !force_) {
    Error e = sys_error("rename", vdir_);
    if (e.code == EEXIST) e.kind = ErrorKind::kWrongState;
    return e;
  }
  // Forced: swap atomically so the vdir is never missing, then delete the old tree, which
  // now sits at the staging path.
  if (::renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, vdir_.c_str(), RENAME_EXCHANGE) < 0) {
    return sys_error("rename (exchange)", vdir_);
  }
  done_ = true;
  auto d = delete_tree(path_);
  if (!d) {
    return std::move(d).error().wrap("the new tree is in place; the old one is left at `" +
                                     path_ + "`");
  }
  return ok();
}

namespace {

struct DirSpec {
  const char* path;
  mode_t mode;
  bool system;
};

constexpr DirSpec kDirs[] = {
    {"bin", 0755, true},      {"sbin", 0755, true},     {"lib", 0755, true},
    {"usr", 0755, true},      {"usr/bin", 0755, true},  {"usr/sbin", 0755, true},
    {"usr/lib", 0755, true},  {"dev", 0755, false},     {"etc", 0755, false},
    {"home", 0755, false},    {"mnt", 0755, false},     {"opt", 0755, false},
    {"proc", 0555, false},    {"root", 0700, false},    {"run", 0755, false},
    {"run/lock", 01777, false}, {"srv", 0755, false},   {"sys", 0555, false},
    {"tmp", 01777, false},    {"var", 0755, false},     {"var/cache", 0755, false},
    {"var/lib", 0755, false}, {"var/log", 0755, false}, {"var/spool", 0755, false},
    {"var/tmp", 01777, false},
};

struct FileSpec {
  const char* path;
  mode_t mode;
  const char* content;
};

constexpr FileSpec kFiles[] = {
    {"etc/passwd", 0644,
     "root:x:0:0:root:/root:/bin/sh\n"
     "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"},
    {"etc/group", 0644, "root:x:0:\nnogroup:x:65534:\n"},
    {"etc/shadow", 0640, "root:*:19000:0:99999:7:::\nnobody:*:19000:0:99999:7:::\n"},
    {"etc/fstab", 0644,
     "# <file system> <mount point> <type> <options> <dump> <pass>\n"
     "# The host mounts /proc, /sys and /dev; see /etc/vservers/NAME/fstab.\n"},
    {"etc/resolv.conf", 0644, ""},
    {"etc/shells", 0644, "/bin/sh\n"},
};

Result<void> write_file_beneath(int root_fd, const char* rel, mode_t mode,
                                const std::string& content) {
  UniqueFd fd(::openat(root_fd, rel, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                       mode));
  if (!fd) return sys_error("create", rel);
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = retry_eintr(
        [&] { return ::write(fd.get(), content.data() + done, content.size() - done); });
    if (n < 0) return sys_error("write", rel);
    done += static_cast<size_t>(n);
  }
  if (::fchmod(fd.get(), mode) < 0) return sys_error("chmod", rel);
  return ok();
}

}  // namespace

Result<void> write_skeleton(int root_fd, const std::string& hostname, bool with_system_dirs) {
  if (!valid_hostname(hostname)) {
    return usage_error(hostname, "not a hostname (DNS labels of letters, digits and `-`)");
  }
  for (const auto& d : kDirs) {
    if (d.system && !with_system_dirs) continue;
    if (::mkdirat(root_fd, d.path, 0700) < 0) return sys_error("mkdir", d.path);
    // mkdir applies the umask and never sets the sticky bit: chmod explicitly.
    if (::fchmodat(root_fd, d.path, d.mode, 0) < 0) return sys_error("chmod", d.path);
  }
  if (::symlinkat("../run", root_fd, "var/run") < 0) return sys_error("symlink", "var/run");
  if (::symlinkat("../run/lock", root_fd, "var/lock") < 0) {
    return sys_error("symlink", "var/lock");
  }
  for (const auto& f : kFiles) {
    auto r = write_file_beneath(root_fd, f.path, f.mode, f.content);
    if (!r) return r;
  }
  auto r = write_file_beneath(root_fd, "etc/hostname", 0644, hostname + "\n");
  if (!r) return r;
  return write_file_beneath(root_fd, "etc/hosts", 0644,
                            "127.0.0.1\tlocalhost\n127.0.1.1\t" + hostname +
                                "\n::1\tlocalhost ip6-localhost ip6-loopback\n");
}

}  // namespace vs::build

namespace vs {

Result<BuildResult> build_skeleton(const BuildOptions& opts) {
  BuildResult result;
  auto staging = build::Staging::begin(opts, result);
  if (!staging) return std::move(staging).error().wrap("build skeleton");
  auto r = build::write_skeleton(staging->root_fd(), opts.hostname, true);
  if (!r) return std::move(r).error().wrap("build skeleton `" + opts.vdir + "`");
  auto c = staging->commit();
  if (!c) return std::move(c).error().wrap("build skeleton `" + opts.vdir + "`");
  return result;
}

}  // namespace vs
