// Guest tree build methods (issue 5): each writes a NEW root tree for a guest (its vdir).
//
// Every method builds into `<vdir>.build-XXXXXX` next to the vdir and renames it into place
// only at the end, so a failure leaves nothing behind. An existing vdir is refused unless
// `force`, in which case the old tree is removed with delete_tree() (never following a link,
// never crossing a mount) after the new one is in place.
//
// Setuid/setgid bits and file capabilities are kept (a guest's su and ping need them). The
// directory holding the vdirs (/vservers) must therefore be 0700 root, so that no host user
// can reach a guest's setuid binaries; a build into a parent that others can enter succeeds
// with a warning in BuildResult::warnings.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kernel-shim/context_table.h"
#include "lib/base/result.h"

namespace vs {

/// Progress of a long step (clone, template): cumulative counts.
struct BuildProgress {
  uint64_t files = 0;
  uint64_t bytes = 0;
};
using ProgressFn = std::function<void(const BuildProgress&)>;

struct BuildOptions {
  std::string vdir;             ///< the guest's root tree to create (absolute path)
  bool force = false;           ///< replace an existing vdir
  std::string hostname = "vserver";  ///< written to etc/hostname and etc/hosts (skeleton);
                                     ///< etc/hostname (debootstrap)
  ProgressFn progress;          ///< optional; called every few hundred files and at the end
  bool keep_devices = false;    ///< clone/template: recreate device nodes instead of skipping
  uint64_t max_files = 2'000'000;         ///< E41 count cap (clone, template)
  uint64_t max_bytes = 256ULL << 30;      ///< E41 size cap in bytes (clone, template)
  /// debootstrap: called with one line each time debootstrap moves to another stage
  /// ("debootstrap: Retrieving packages ..."), and with each warning or error line it prints
  /// (debootstrap.h StageLines). Its whole output is kept in memory either way; the last
  /// lines go into the Error of a failed build. Unset: no progress.
  std::function<void(const std::string&)> stage;
  /// debootstrap: the [init] style asked for (plain, sysv, minit): its packages are added to
  /// --include and the build fails if the tree does not support it then. Empty: the style
  /// the finished tree supports (BuildResult::init_style).
  std::string init_style;
  /// debootstrap, template: the context table (run dir, cgroup parent) their confined
  /// contexts (debootstrap's stages, the extraction) are made in.
  shim::ShimConfig shim;
};

struct BuildResult {
  std::string vdir;
  uint64_t files = 0;            ///< entries written
  uint64_t bytes = 0;            ///< file data written (clone, template)
  uint64_t skipped_devices = 0;  ///< device nodes not recreated (the host populates /dev)
  uint64_t skipped_other = 0;    ///< sockets; clone: mount points left empty
  std::vector<std::string> host_binds;  ///< host: host dirs to bind read-only at start
  std::vector<std::string> warnings;    ///< for the tool to print once
  /// build_guest(): the leftovers of an interrupted earlier build it removed (leftovers.h)
  std::vector<std::string> swept;
  /// debootstrap: the init style the tree supports, for the guest's vserver.toml (empty:
  /// initial_config()'s choice by method)
  std::string init_style;
};

/// The directory layout and a minimal /etc (hostname, hosts, passwd, group, shadow, fstab,
/// resolv.conf). Errors: the vdir exists (kWrongState, without force), its parent is missing,
/// or a syscall failed (op and path named).
Result<BuildResult> build_skeleton(const BuildOptions& opts);

/// Skeleton + the host's static busybox (`busybox`, default /bin/busybox; refused unless a
/// static ELF without PT_INTERP) with one symlink per applet of `busybox --list`.
Result<BuildResult> build_busybox(const BuildOptions& opts,
                                  const std::string& busybox = "/bin/busybox");

/// A copy of the tree `source`: reflinks where the filesystem allows, else copy_file_range;
/// symlinks copied as symlinks (never followed); hardlinks within the tree kept; owners,
/// modes, times and xattrs kept; device nodes and sockets skipped (counted) unless
/// keep_devices; directories on another mount are created empty and not descended into.
Result<BuildResult> build_clone(const BuildOptions& opts, const std::string& source);

/// Extracts `tarball` (tar, optionally gz/xz/zst/bz2) with libarchive's secure flags in a
/// sealed context of its own (new mount, pid, uts, ipc, network and cgroup namespaces; only
/// CHOWN, DAC_OVERRIDE, FOWNER, FSETID, SETFCAP, and MKNOD with keep_devices; the default
/// seccomp profile) whose root holds read-only binds of the host's /usr and lib dirs and the
/// new tree at /target: no library, gconv module or locale of the template is ever loaded
/// (SECURITY.md E41, issue 18). Owners, modes (setuid bits), times, ACLs and extended
/// attributes (file capabilities) are restored; trusted.* attributes, which need
/// CAP_SYS_ADMIN, are not, and metadata libarchive could not restore is counted: both in a
/// warning. An entry with a `..` component, an absolute path, a path through a symlink of
/// the archive, or a hardlink target like that is refused: the Error's subject is the
/// entry's name. Device nodes are skipped (counted) unless keep_devices.
Result<BuildResult> build_template(const BuildOptions& opts, const std::string& tarball);

/// A light service guest: its own /etc, /var, /tmp (skeleton) and, in host_binds, the host
/// directories (/usr, /bin, /sbin, /lib*) to bind read-only at start; where the host has a
/// merged-usr symlink (/bin -> usr/bin) the guest gets the same symlink instead of a bind.
Result<BuildResult> build_host(const BuildOptions& opts, const std::string& host_root = "/");

/// A Debian (or derivative) tree made by the host's /usr/sbin/debootstrap. `args` are the
/// method args after `--`: `-d SUITE` (required), `--mirror URL` (default
/// http://deb.debian.org/debian), `--variant minbase|buildd|-` (default minbase), `--include
/// PKG,PKG`; anything else is a usage error naming the argument (lib/build/debootstrap.h).
/// debootstrap never runs as unconfined host root (SECURITY.md E42): both of its stages run
/// in a sealed context with the default guest capability bounds (no SYS_ADMIN, MKNOD,
/// NET_RAW) and seccomp profile; the second one, which runs the package maintainer scripts,
/// is rooted in the new tree like a guest (masked /proc, read-only /sys, minimal /dev, no
/// network). Errors: debootstrap missing (kFailed, "apt-get install debootstrap"), a stage
/// that fails (kFailed, subject "first stage"/"second stage", detail with its exit status and,
/// when quiet, its last lines). A failure leaves no staging tree and no mount.
Result<BuildResult> build_debootstrap(const BuildOptions& opts,
                                      const std::vector<std::string>& args);

struct DeleteStats {
  uint64_t removed = 0;
  /// delete_guest(): the leftovers of an interrupted build it removed (leftovers.h)
  std::vector<std::string> swept;
  std::vector<std::string> warnings;  ///< leftovers it could not remove, for the tool to print
};

/// Removes the tree `path` fd-relative: unlinkat without following any symlink. Refuses
/// (kWrongState, nothing removed, subject = the mount point's path) when a mount is found
/// inside the tree, and stops with an error if one appears while removing. A missing `path`
/// is kNotFound.
Result<DeleteStats> delete_tree(const std::string& path);

/// Walks `path` like delete_tree() but removes nothing: the mount-point check alone.
Result<void> check_deletable(const std::string& path);

}  // namespace vs
