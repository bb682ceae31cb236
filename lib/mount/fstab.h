// A guest's fstab (DESIGN.md "Guest configuration"): fstab(5) lines read on the host before
// the start, mounted inside the guest root by the start's child (SECURITY.md E14). Parsed here,
// not with libmount: Debian 12 ships libmount as a shared library only, and `vserver` is linked
// statically (every start and exec would pay ~2 ms of dynamic loading); the format is five
// blank-separated fields with octal escapes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lib/base/result.h"

namespace vs {

struct FstabEntry {
  std::string source;   ///< a host path for bind mounts; the fs source ("none") otherwise
  std::string target;   ///< absolute, inside the guest
  std::string fstype;   ///< "none" or "bind" for a bind mount
  bool bind = false;     ///< bind or rbind in the options, or fstype "bind"
  bool recursive = false;  ///< rbind
  uint64_t attrs = 0;    ///< MOUNT_ATTR_* from ro, nosuid, nodev, noexec, noatime, ...
  std::vector<std::pair<std::string, std::string>> fs_options;  ///< the rest: key[=value]
  std::string origin;    ///< "FILE:LINE" for messages
};

/// Parses an fstab file (fstab(5): `\040` escapes, `#` comments). A malformed line is a kUsage error "FILE:LINE: ...";
/// a relative target, a target with `..`, or a bind whose source is not absolute likewise.
/// Comments and blank lines are skipped; `noauto` entries are left out.
Result<std::vector<FstabEntry>> parse_fstab(const std::string& path);

/// Mounts the entries inside the guest root open at `root_fd` (the root of the guest's root
/// mount, before pivot_root). Every target is resolved beneath root_fd without following any
/// symlink (a guest-made `/var/www -> /etc` is refused, E14) and the mount is attached onto the
/// resolved fd, never by path. Every mount is nodev. Errors name the entry's origin.
Result<void> mount_fstab(int root_fd, const std::vector<FstabEntry>& entries);

}  // namespace vs
