#include "lib/mount/mount_fd.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>

namespace vs {

Result<UniqueFd> new_fs_mount(const char* fstype, std::span<const FsOption> options,
                              uint64_t attrs, const std::string& subject) {
  UniqueFd fs(::fsopen(fstype, FSOPEN_CLOEXEC));
  if (!fs) return sys_error(std::string("fsopen ") + fstype, subject);
  for (const FsOption& o : options) {
    int rc = o.value ? ::fsconfig(fs.get(), FSCONFIG_SET_STRING, o.key, o.value, 0)
                     : ::fsconfig(fs.get(), FSCONFIG_SET_FLAG, o.key, nullptr, 0);
    if (rc < 0) return sys_error(std::string("fsconfig ") + o.key, subject);
  }
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) {
    return sys_error(std::string("create ") + fstype, subject);
  }
  UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, static_cast<unsigned>(attrs)));
  if (!mnt) return sys_error("fsmount", subject);
  return mnt;
}

Result<UniqueFd> clone_mount(int fd, bool recursive, const std::string& subject) {
  unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH;
  if (recursive) flags |= AT_RECURSIVE;
  UniqueFd mnt(::open_tree(fd, "", flags));
  if (!mnt) return sys_error("open_tree", subject);
  return mnt;
}

Result<void> set_mount_attrs(int mnt_fd, uint64_t set, uint64_t clear, bool recursive,
                             const std::string& subject) {
  struct mount_attr attr = {};
  attr.attr_set = set;
  attr.attr_clr = clear;
  unsigned flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
  if (::mount_setattr(mnt_fd, "", flags, &attr, sizeof attr) < 0) {
    return sys_error("mount_setattr", subject);
  }
  return ok();
}

Result<void> attach_mount(int mnt_fd, int target_fd, const std::string& subject) {
  if (::move_mount(mnt_fd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) <
      0) {
    return sys_error("move_mount", subject);
  }
  return ok();
}

Result<unsigned long> mount_flags(int fd, const std::string& subject) {
  struct statvfs st {};
  if (::fstatvfs(fd, &st) < 0) return sys_error("statvfs", subject);
  return st.f_flag;
}

Result<long> fs_magic(int fd, const std::string& subject) {
  struct statfs st {};
  if (::fstatfs(fd, &st) < 0) return sys_error("statfs", subject);
  return static_cast<long>(st.f_type);
}

}  // namespace vs
