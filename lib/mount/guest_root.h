// The guest's root tree as its processes see it: the vdir bound nodev onto itself, a fresh
// /proc with masked and read-only paths, a read-only /sys, a minimal /dev on tmpfs, then
// pivot_root (DESIGN.md "start", SECURITY.md 1.4 and probes E01, E09-E13, E15).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.h"

namespace vs {

/// How a masked path is hidden: a file is covered by an empty file on a read-only tmpfs
/// (reads return nothing, writes EROFS), a directory by an empty read-only tmpfs.
enum class MaskKind { kFile, kDir };

struct MaskedPath {
  std::string_view path;  ///< absolute, as the guest sees it ("/proc/kcore")
  MaskKind kind;          ///< what the kernel has there; the mask follows the real type
};

/// The masked paths (SECURITY.md 1.4), the one list for the setup and the probes (E09).
/// Entries the running kernel lacks are skipped at setup.
std::span<const MaskedPath> masked_paths();

/// The paths under /proc made read-only by a bind onto themselves (E10). Absent ones are
/// skipped.
std::span<const std::string_view> read_only_paths();

/// A character device that /dev of every guest offers: the host's node is bound there after
/// its st_rdev was checked against major:minor.
struct DeviceNode {
  std::string_view name;  ///< under /dev
  unsigned major;
  unsigned minor;
};

/// null 1:3, zero 1:5, full 1:7, random 1:8, urandom 1:9, tty 5:0.
std::span<const DeviceNode> device_nodes();

/// A host path bound into the guest (for `-m host` guests and fstab-like extras).
struct ExtraBind {
  std::string source;     ///< absolute host path (host-owned; its final symlink is not followed)
  std::string target;     ///< path inside the guest, resolved without symlinks; must exist
                          ///< and be of the source's kind (directory or not)
  bool read_only = true;  ///< recursively read-only; every extra bind is nodev
};

struct GuestRootSpec {
  std::string vdir;                 ///< host path of the guest root directory
  uint64_t shm_size = 64ull << 20;  ///< bytes of the /dev/shm tmpfs
  std::string console;              ///< host path of a pty slave bound as /dev/console;
                                    ///< empty: no /dev/console
  bool cgroup_read_only = false;    ///< a read-only cgroup2 at /sys/fs/cgroup (meant for a
                                    ///< guest in its own cgroup namespace); else absent
  std::vector<ExtraBind> binds;     ///< mounted after the root bind, before /proc
  /// Optional: called after the extra binds, before /proc, with the fd of the guest's root
  /// mount (fstab mounts go here). It must resolve every target beneath that fd
  /// (open_beneath + RESOLVE_NO_SYMLINKS) and mount onto the resolved fd (mount_fd.h).
  std::function<Result<void>(int root_fd)> guest_mounts;
};

/// "a directory", "a symlink", "a regular file", ... for refusal messages.
std::string_view file_type_name(mode_t mode);

/// Host-side pre-flight before anything is created for a start: refuses a guest tree whose
/// proc, sys or dev (beneath `root_fd`, an fd of the vdir) is not a real directory (a symlink,
/// a file, missing). The error's subject is `vdir`/NAME, its detail "must be a directory (is a
/// symlink)"; nothing is changed.
Result<void> check_guest_tree(int root_fd, const std::string& vdir);

/// Makes spec.vdir the root of the calling process. Call it in a single-threaded child that is
/// alone in a fresh mount namespace (and normally a fresh pid namespace: /proc shows the pids
/// of the caller's pid namespace), as host root with full capabilities, before capabilities
/// are dropped and seccomp is loaded. The steps, in order:
///   1. "/" recursively slave; 2. the vdir bound onto itself (non-recursive, nodev);
///   3. extra binds, then guest_mounts; 4. fresh /proc nosuid,noexec,nodev, its masks and
///   read-only paths; 5. /sys read-only (fresh sysfs, else a non-recursive read-only bind of
///   the host's), its masks, the optional read-only cgroup2; 6. /dev tmpfs with the
///   device_nodes(), devpts, shm, symlinks, optional console; 7. pivot_root, old root
///   detached, cwd "/".
/// Every guest path is resolved beneath the root without following symlinks. Errors name
/// the step (context) and the host path (subject): "mount /proc: open `V/proc`: must be a
/// directory (is a symlink)". On error the mount namespace is left half set up: the caller
/// must exit (the namespace dies with it); nothing outside it was touched.
Result<void> enter_guest_root(const GuestRootSpec& spec);

}  // namespace vs
