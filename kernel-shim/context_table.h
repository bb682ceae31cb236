// The context table: RUNDIR/<xid>/ per context (pins, state file: context_state.h) and
// RUNDIR/<xid>.lock.
//
// RUNDIR (default /run/vservers) is mode 0700 and its own private tmpfs mount: private so a
// pinned mount namespace can never propagate into itself, tmpfs so the state file's fsync is
// cheap even where /run is on disk. There is no daemon: every tool that reads the table reaps
// dead entries (no process left, not persistent) under the entry's lock.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "kernel-shim/cgroup.h"
#include "kernel-shim/context_state.h"
#include "kernel-shim/ns.h"
#include "kernel-shim/xid.h"
#include "lib/base/flock.h"
#include "lib/base/result.h"

namespace vs::shim {

/// Roots of the shim: parameters, never globals (STYLE.md R15).
struct ShimConfig {
  std::string rundir = "/run/vservers";
  std::string proc_root = "/proc";
  std::string mountinfo = "/proc/self/mountinfo";
  CgroupSpec cgroup;

  /// Defaults overridden by VSERVER_RUNDIR and VSERVER_CGROUP_PARENT when set.
  static ShimConfig from_env();
};

class ContextTable {
 public:
  explicit ContextTable(ShimConfig config);

  [[nodiscard]] const ShimConfig& config() const { return config_; }
  [[nodiscard]] const CgroupLayout& layout() const { return layout_; }

  /// Discovers the cgroup layout and makes RUNDIR exist as a private tmpfs (idempotent).
  Result<void> prepare();

  [[nodiscard]] std::string entry_dir(Xid xid) const;
  [[nodiscard]] std::string ns_dir(Xid xid) const;
  [[nodiscard]] std::string lock_path(Xid xid) const;

  /// Takes the entry's lock (EWOULDBLOCK if !wait and held).
  Result<FileLock> lock(Xid xid, bool wait = true) const;

  /// Reads the state of a context; a "lookup" ENOENT error (exit 3) if there is none.
  Result<ContextState> read_state(Xid xid) const;
  /// Writes the state atomically. The caller holds the lock.
  Result<void> write_state(const ContextState& state) const;

  /// True if the entry's context still has a process (its v2 cgroup is populated).
  Result<bool> alive(Xid xid) const;

  /// Reaps the entry if it is dead and not persistent (or `force` for a persistent one):
  /// removes the host side of its isolated network (netiso.h), unpins, removes cgroups, the
  /// entry directory and the lock file. Returns whether it
  /// reaped. Skips (false) an entry whose lock is held by someone else (being created),
  /// unless `wait` (the creator, after its context's first process ended).
  Result<bool> reap(Xid xid, bool force = false, bool wait = false) const;
  /// reap() by a caller that holds the entry's lock already (lock()); it is released, and
  /// its file removed with the entry.
  Result<bool> reap_locked(Xid xid, FileLock lock, bool force = false) const;
  /// The xids that have an entry (dead or alive), without reaping or locking anything.
  Result<std::vector<Xid>> entries() const;
  /// The xids that have an entry, after reaping the dead ones.
  Result<std::vector<Xid>> list() const;

  /// Looks up a live context: reaps it if dead, then returns its state or exit-3 error.
  Result<ContextState> lookup(Xid xid) const;

  /// The xid of a process (0 for the host), from its cgroup.
  Result<Xid> xid_of(pid_t pid) const;
  /// The context of the calling process: from its cgroup, or, inside a cgroup namespace
  /// (where the path is hidden), the live context whose namespaces are the caller's.
  Result<Xid> current_xid() const;

 private:
  ShimConfig config_;
  CgroupLayout layout_;
};

}  // namespace vs::shim
