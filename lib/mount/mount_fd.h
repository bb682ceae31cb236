// fd-based mounting with the new mount API (STYLE.md R5): a mount is made detached, given its
// attributes, and only then attached onto a target that was resolved to an O_PATH fd. No
// path string is re-resolved between the check of a target and the mount onto it.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>

#include "lib/base/result.h"
#include "lib/base/unique_fd.h"

namespace vs {

/// One fsconfig(2) parameter: `value` nullptr sets a flag (FSCONFIG_SET_FLAG).
struct FsOption {
  const char* key;
  const char* value;
};

/// A new, detached superblock of `fstype` (fsopen + fsconfig + fsmount) with the mount
/// attributes `attrs` (MOUNT_ATTR_*). `subject` names the target in errors. Errors: op is the
/// failing call ("fsopen", "fsconfig KEY", "fsmount"), the errno is the kernel's.
Result<UniqueFd> new_fs_mount(const char* fstype, std::span<const FsOption> options,
                              uint64_t attrs, const std::string& subject);
inline Result<UniqueFd> new_fs_mount(const char* fstype, std::initializer_list<FsOption> options,
                                     uint64_t attrs, const std::string& subject) {
  return new_fs_mount(fstype, std::span<const FsOption>(options.begin(), options.size()), attrs,
                      subject);
}

/// A detached copy of the mount whose root is the file or directory `fd` (open_tree
/// OPEN_TREE_CLONE on the fd itself); `recursive` copies the submounts too (AT_RECURSIVE).
Result<UniqueFd> clone_mount(int fd, bool recursive, const std::string& subject);

/// mount_setattr(2) on the mount `mnt_fd` (and its submounts if `recursive`).
Result<void> set_mount_attrs(int mnt_fd, uint64_t set, uint64_t clear, bool recursive,
                             const std::string& subject);

/// Attaches the detached mount `mnt_fd` onto the file or directory `target_fd`
/// (move_mount with MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH).
Result<void> attach_mount(int mnt_fd, int target_fd, const std::string& subject);

/// statvfs(3) f_flag bits (ST_RDONLY, ST_NOSUID, ...) of the mount `fd` lies on.
Result<unsigned long> mount_flags(int fd, const std::string& subject);

/// statfs(2) f_type (PROC_SUPER_MAGIC, TMPFS_MAGIC, ...) of the filesystem `fd` lies on.
Result<long> fs_magic(int fd, const std::string& subject);

}  // namespace vs
