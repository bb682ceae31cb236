#include <sys/stat.h>

#include "lib/build/guest_build.h"
#include "lib/build/leftovers.h"
#include "lib/guest/guest.h"

namespace vs {

namespace {

bool exists_path(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace

Result<DeleteStats> delete_guest(const ConfigRoots& roots, const std::string& name,
                                 const std::string& vdir) {
  if (auto r = validate_guest_name(name); !r) return std::move(r).error();
  DeleteStats total;
  const std::string confdir = roots.guest_confdir(name);
  auto swept = sweep_build_leftovers(vdir, roots.confdir, name);
  total.swept = std::move(swept.removed);
  total.warnings = std::move(swept.failed);
  // Both are checked for mounts before either is touched.
  bool have_tree = exists_path(vdir);
  if (have_tree) {
    if (auto r = check_deletable(vdir); !r) return std::move(r).error().wrap("delete " + name);
  }
  if (have_tree) {
    auto d = delete_tree(vdir);
    if (!d) return std::move(d).error().wrap("delete " + name);
    total.removed += d->removed;
  }
  if (exists_path(confdir)) {
    auto d = delete_tree(confdir);
    if (!d) return std::move(d).error().wrap("delete " + name);
    total.removed += d->removed;
  }
  return total;
}

}  // namespace vs
