// delete_tree(): fd-relative recursive removal (SECURITY.md E35). Every directory is opened
// with O_NOFOLLOW|O_DIRECTORY beneath its parent's fd, so a guest-made symlink is unlinked
// as a link and never followed; every directory's device and mount id is compared with the
// root's, so nothing on another mount (a bind mount inside the tree) is touched.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <string>

#include "lib/base/dir_stream.h"
#include "lib/base/fs_at.h"
#include "lib/base/unique_fd.h"
#include "lib/build/build.h"

namespace vs {
namespace {

// Deep enough for any real tree; bounded so a hostile tree cannot exhaust our fds.
constexpr int kMaxDepth = 400;

struct MountId {
  dev_t dev = 0;
  uint64_t mnt = 0;
  bool operator==(const MountId&) const = default;
};

Result<MountId> mount_id_of(int fd, const std::string& name) {
  struct statx stx {};
  if (::statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) < 0) {
    return sys_error("statx", name);
  }
  MountId id;
  id.dev = ::makedev(stx.stx_dev_major, stx.stx_dev_minor);
  id.mnt = (stx.stx_mask & STATX_MNT_ID) ? stx.stx_mnt_id : 0;
  return id;
}

class Remover {
 public:
  Remover(MountId root, bool remove) : root_(root), remove_(remove) {}

  // Empties the directory `dir_fd` (named `rel` in messages).
  Result<void> empty_dir(int dir_fd, const std::string& rel, int depth) {
    if (depth > kMaxDepth) {
      return make_error(ErrorKind::kFailed, "delete", rel, "deeper than 400 levels", ELOOP);
    }
    auto stream = DirStream::open(dir_fd, rel);
    if (!stream) return std::move(stream).error();
    // Removing while reading may make readdir skip entries: repeat until a pass finds none.
    for (bool again = true; again;) {
      again = false;
      for (;;) {
        auto ent = stream->next();
        if (!ent) return std::move(ent).error();
        if (!*ent) break;
        std::string name((*ent)->name);
        again = remove_;
        std::string child = rel;
        if (!child.empty()) child += '/';
        child += name;
        struct stat st {};
        if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
          if (errno == ENOENT) continue;
          return sys_error("stat", child);
        }
        if (S_ISDIR(st.st_mode)) {
          auto r = remove_dir(dir_fd, name, child, depth + 1);
          if (!r) return r;
        } else if (remove_) {
          if (::unlinkat(dir_fd, name.c_str(), 0) < 0 && errno != ENOENT) {
            return sys_error("unlink", child);
          }
          ++removed_;
        }
      }
      if (again) stream->rewind();
    }
    return ok();
  }

  Result<void> remove_dir(int parent_fd, const std::string& name, const std::string& rel,
                          int depth) {
    UniqueFd fd(::openat(parent_fd, name.c_str(),
                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (!fd) return sys_error("open", rel);
    auto id = mount_id_of(fd.get(), rel);
    if (!id) return std::move(id).error();
    if (!(*id == root_)) {
      return make_error(ErrorKind::kWrongState, "delete", rel,
                        "is a mount point inside the tree; unmount it first", EBUSY);
    }
    auto r = empty_dir(fd.get(), rel, depth);
    if (!r) return r;
    if (remove_) {
      if (::unlinkat(parent_fd, name.c_str(), AT_REMOVEDIR) < 0) {
        return sys_error("rmdir", rel);
      }
      ++removed_;
    }
    return ok();
  }

  [[nodiscard]] uint64_t removed() const { return removed_; }

 private:
  MountId root_;
  bool remove_;
  uint64_t removed_ = 0;
};

Result<DeleteStats> walk_tree(const std::string& path, bool remove) {
  std::string trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  auto slash = trimmed.rfind('/');
  std::string parent = ".";
  std::string base = trimmed;
  if (slash != std::string::npos) {
    parent.assign(trimmed, 0, slash);
    if (parent.empty()) parent = "/";
    base.erase(0, slash + 1);
  }
  if (base.empty() || base == "." || base == "..") {
    return usage_error(path, "not a directory that can be deleted");
  }
  UniqueFd parent_fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!parent_fd) return sys_error("open", parent);
  UniqueFd root(::openat(parent_fd.get(), base.c_str(),
                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!root) {
    Error e = sys_error("open", path);
    if (e.code == ENOENT) e.kind = ErrorKind::kNotFound;
    return e;
  }
  auto id = mount_id_of(root.get(), path);
  if (!id) return std::move(id).error();
  auto parent_id = mount_id_of(parent_fd.get(), parent);
  if (!parent_id) return std::move(parent_id).error();
  if (!(*id == *parent_id)) {
    return make_error(ErrorKind::kWrongState, "delete", path,
                      "is itself a mount point; unmount it first", EBUSY);
  }
  Remover remover(*id, remove);
  root.reset();
  auto r = remover.remove_dir(parent_fd.get(), base, "", 0);
  if (!r) {
    Error e = std::move(r).error();
    if (e.subject.empty() || e.subject[0] != '/') {
      std::string full = trimmed;
      if (!e.subject.empty()) {
        full += '/';
        full += e.subject;
      }
      e.subject = std::move(full);
    }
    return e;
  }
  DeleteStats stats;
  stats.removed = remover.removed();
  return stats;
}

}  // namespace

Result<DeleteStats> delete_tree(const std::string& path) {
  // Scan first, so a refusal removes nothing; the removal pass checks again (races).
  auto scan = walk_tree(path, false);
  if (!scan) return std::move(scan).error().wrap("delete `" + path + "`");
  auto r = walk_tree(path, true);
  if (!r) return std::move(r).error().wrap("delete `" + path + "`");
  return r;
}

Result<void> check_deletable(const std::string& path) {
  auto scan = walk_tree(path, false);
  if (!scan) return std::move(scan).error();
  return ok();
}

}  // namespace vs
