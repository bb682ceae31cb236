#include "lib/build/scratch_root.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <utility>

#include "lib/base/fs_at.h"
#include "lib/build/build.h"

namespace vs::build {
namespace {

// Top-level directories of the host that are usually merged-/usr symlinks.
constexpr const char* kHostLibDirs[] = {"bin", "sbin", "lib", "lib32", "lib64", "libx32"};

Result<void> make_dir(int dir_fd, const std::string& rel, mode_t mode) {
  if (::mkdirat(dir_fd, rel.c_str(), 0700) < 0) return sys_error("mkdir", rel);
  if (::fchmodat(dir_fd, rel.c_str(), mode, 0) < 0) return sys_error("chmod", rel);
  return ok();
}

// The layout and the binds beneath `root_fd` (the fresh directory `spec.vdir`).
Result<void> populate(int root_fd, const std::string& target,
                      std::span<const char* const> host_etc, GuestRootSpec& spec) {
  for (const char* d : {"proc", "sys"}) {
    if (auto r = make_dir(root_fd, d, 0555); !r) return r;
  }
  for (const char* d : {"dev", "etc", "usr", "root", "target"}) {
    if (auto r = make_dir(root_fd, d, 0755); !r) return r;
  }
  if (auto r = make_dir(root_fd, "tmp", 01777); !r) return r;
  spec.binds.push_back({"/usr", "/usr", true});
  for (const char* d : kHostLibDirs) {
    std::string host = std::string("/") + d;
    struct stat st {};
    if (::lstat(host.c_str(), &st) < 0) continue;
    if (S_ISLNK(st.st_mode)) {
      char link[256];
      ssize_t n = ::readlink(host.c_str(), link, sizeof link - 1);
      if (n < 0) return sys_error("readlink", host);
      link[n] = '\0';
      if (::symlinkat(link, root_fd, d) < 0) return sys_error("symlink", d);
    } else if (S_ISDIR(st.st_mode)) {
      if (auto r = make_dir(root_fd, d, 0755); !r) return r;
      spec.binds.push_back({host, host, true});
    }
  }
  for (const char* e : host_etc) {
    std::string host = std::string("/etc/") + e, rel = std::string("etc/") + e;
    struct stat st {};
    // stat, not lstat: a host symlink (/etc/localtime) is bound as what it points to.
    if (::stat(host.c_str(), &st) < 0) continue;
    if (S_ISDIR(st.st_mode)) {
      if (auto r = make_dir(root_fd, rel, 0755); !r) return r;
    } else if (S_ISREG(st.st_mode)) {
      UniqueFd f(::openat(root_fd, rel.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
      if (!f) return sys_error("create", rel);
    } else {
      continue;
    }
    char real[PATH_MAX];
    if (!::realpath(host.c_str(), real)) return sys_error("realpath", host);
    spec.binds.push_back({real, "/" + rel, true});
  }
  spec.binds.push_back({target, "/target", false});
  return ok();
}

}  // namespace

Result<ScratchRoot> ScratchRoot::make(const std::string& prefix, const std::string& target,
                                      std::span<const char* const> host_etc) {
  const std::string tmpl = prefix + "XXXXXX";
  std::string path = tmpl;
  if (!::mkdtemp(path.data())) return sys_error("mkdtemp", tmpl);
  ScratchRoot scratch;
  scratch.root_.vdir = path;  // from here on the destructor removes it
  auto root = open_path(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
  if (!root) return std::move(root).error();
  if (auto r = populate(root->get(), target, host_etc, scratch.root_); !r) {
    return std::move(r).error();
  }
  return scratch;
}

ScratchRoot::ScratchRoot(ScratchRoot&& other) noexcept : root_(std::move(other.root_)) {
  other.root_.vdir.clear();
}

ScratchRoot::~ScratchRoot() {
  if (!root_.vdir.empty()) (void)delete_tree(root_.vdir);
}

}  // namespace vs::build
