// build_host(): a light service guest that shares the host's programs. It gets its own /etc,
// /var and /tmp from the skeleton; /usr, /bin, /sbin and /lib* are empty mount points listed
// in BuildResult::host_binds for start to bind read-only. A host symlink such as the
// merged-usr `/bin -> usr/bin` is copied as the same symlink instead.
//
// Nothing of the tree is loaded or run with host privileges (issue 18): the host process
// writes the skeleton and the host's own symlinks fd-relative into a tree that starts empty,
// and reads nothing of it.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "lib/build/build.h"
#include "lib/build/staging.h"

namespace vs {
namespace {

constexpr const char* kHostDirs[] = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"};

Result<void> add_host_dirs(int root_fd, const std::string& host_root, BuildResult& result) {
  UniqueFd host(::open(host_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!host) return sys_error("open", host_root);
  for (const char* name : kHostDirs) {
    struct stat st {};
    if (::fstatat(host.get(), name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
      if (errno == ENOENT) continue;
      return sys_error("stat", "/" + std::string(name));
    }
    if (S_ISLNK(st.st_mode)) {
      char target[4096];
      ssize_t n = ::readlinkat(host.get(), name, target, sizeof target - 1);
      if (n < 0) return sys_error("readlink", "/" + std::string(name));
      target[n] = '\0';
      if (::symlinkat(target, root_fd, name) < 0) return sys_error("symlink", name);
    } else if (S_ISDIR(st.st_mode)) {
      if (::mkdirat(root_fd, name, 0755) < 0) return sys_error("mkdir", name);
      if (::fchmodat(root_fd, name, 0755, 0) < 0) return sys_error("chmod", name);
      result.host_binds.push_back("/" + std::string(name));
    }
    ++result.files;
  }
  return ok();
}

}  // namespace

Result<BuildResult> build_host(const BuildOptions& opts, const std::string& host_root) {
  BuildResult result;
  std::string what = "build host guest `" + opts.vdir + "`";
  auto staging = build::Staging::begin(opts, result);
  if (!staging) return std::move(staging).error().wrap(what);
  auto r = build::write_skeleton(staging->root_fd(), opts.hostname, false);
  if (!r) return std::move(r).error().wrap(what);
  r = add_host_dirs(staging->root_fd(), host_root, result);
  if (!r) return std::move(r).error().wrap(what);
  r = staging->commit();
  if (!r) return std::move(r).error().wrap(what);
  return result;
}

}  // namespace vs
