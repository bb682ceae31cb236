// The scratch root of a confined build step (SECURITY.md E41, E42): a directory the host makes
// next to the vdir, which becomes `/` of a sealed context (enter_guest_root()). It holds
// nothing of the host's but mount points: read-only binds of the host's /usr, of its top-level
// lib directories (a merged-/usr symlink such as `lib -> usr/lib` is made as the same
// symlink) and of the /etc files the step names; and the staging tree, bound read-write at
// /target. So the programs a step runs there, and whatever glibc loads for them later (gconv
// modules, locales, NSS modules), come from the host, read-only, never from the tree the step
// works on. Used by -m debootstrap (its first stage) and -m template (the extraction).
#pragma once

#include <span>
#include <string>

#include "lib/base/result.h"
#include "lib/mount/guest_root.h"

namespace vs::build {

class ScratchRoot {
 public:
  /// Makes the directory `prefix`XXXXXX (mkdtemp, 0700) holding proc and sys (0555), dev,
  /// etc, usr, root and target (0755), tmp (01777) and the host's lib dirs, and the spec that
  /// makes it a root: binds of /usr and of each lib dir that is a directory on the host, then
  /// one of each /etc/NAME of `host_etc` that the host has as a directory or a regular file
  /// (a symlink there is bound as what it points to; anything else is left out), then
  /// `target` read-write at /target. Errors name the path; nothing is left behind.
  static Result<ScratchRoot> make(const std::string& prefix, const std::string& target,
                                  std::span<const char* const> host_etc = {});

  ScratchRoot(ScratchRoot&& other) noexcept;
  ScratchRoot& operator=(ScratchRoot&&) = delete;
  ScratchRoot(const ScratchRoot&) = delete;
  ScratchRoot& operator=(const ScratchRoot&) = delete;
  /// Removes the directory with delete_tree() (best effort, R16). By then it holds only
  /// mount points (the binds lived in the dead context's mount namespace) and what the step
  /// wrote there; delete_tree() never follows a link.
  ~ScratchRoot();

  [[nodiscard]] const std::string& path() const { return root_.vdir; }
  /// What enter_guest_root() makes of the directory.
  [[nodiscard]] const GuestRootSpec& root() const { return root_; }

 private:
  ScratchRoot() = default;
  GuestRootSpec root_;
};

}  // namespace vs::build
