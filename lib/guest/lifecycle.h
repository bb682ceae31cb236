// A guest's life (DESIGN.md "Guest lifecycle", issue 6): start, stop, exec and enter, and
// finding the context a running guest has. No daemon: start creates the guest's context and
// returns once its init runs; every later command finds the context again in the table by
// the guest's name.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "kernel-shim/context.h"
#include "kernel-shim/context_table.h"
#include "lib/base/flock.h"
#include "lib/base/result.h"
#include "lib/guest/guest.h"
#include "lib/guest/paths.h"

namespace vs {

/// Takes the guest's own lock (RUNDIR/guest-NAME.lock): one start, stop or delete of a guest at
/// a time, whatever its xid. The table must be prepared.
Result<FileLock> lock_guest(const shim::ContextTable& table, std::string_view name);

/// The live context of guest `name` (its state's name), if any: the static xid's entry, or a
/// scan of the table for a dynamic one. Dead entries are reaped on the way.
Result<std::optional<shim::ContextState>> find_guest_context(const shim::ContextTable& table,
                                                             const GuestConfig& config);

struct StartHooks {
  /// Test hook: called at each named step (see CreateSpec::at_step, plus "guest-locked").
  std::function<void(const char* step)> at_step;
  /// Told of a protection the kernel cannot give the guest (see CreateSpec::warn).
  std::function<void(const std::string& warning)> warn;
};

/// Starts a configured guest: lock; not running yet; the root tree checked (E13); pre-start;
/// a sealed context with its namespaces, cgroup limits, shared-stack addresses, hostname, the
/// guest root (lib/mount/guest_root.h) with fstab and host binds, rlimits, seccomp and
/// capability bounds; init per style; post-start. Returns the xid once init runs; nothing of
/// the host's keeps running for it. Errors leave nothing behind (the context is undone).
Result<shim::Xid> start_guest(const shim::ContextTable& table, const ConfigRoots& roots,
                              const GuestConfig& config, const StartHooks& hooks = {});

struct StopOptions {
  std::optional<unsigned> timeout;  ///< seconds; empty: the guest's init.stop_timeout
  bool kill = false;                ///< no polite request: kill at once
};

/// What stop did.
struct StopResult {
  shim::Xid xid{0};
  bool killed = false;  ///< processes were left after the timeout and were killed
};

/// Stops a running guest: pre-stop; sysv: `rc 0` inside; the stop signal to init; waits for the
/// context to empty up to the timeout, then kills it atomically; unpins, removes cgroups and
/// network pieces; post-stop. A guest that is not running is a kWrongState error (after any
/// half-started leftover of it was cleaned up).
Result<StopResult> stop_guest(const shim::ContextTable& table, const ConfigRoots& roots,
                              const GuestConfig& config, const StopOptions& opts = {});

struct ExecOptions {
  std::string user;  ///< NAME or UID from the guest's /etc/passwd; empty: root
  int tty_fd = -1;   ///< a pty slave for the command (enter); -1: the caller's stdio
  std::string term;  ///< TERM for the command; empty: none
};

/// Starts argv in the running guest like its own processes (namespaces, cgroups, confinement),
/// as `opts.user`, with a clean environment (PATH, HOME, USER, LOGNAME, SHELL, TERM). The
/// caller waits for the child.
Result<Child> spawn_in_guest(const shim::ContextTable& table, const GuestConfig& config,
                             const std::vector<std::string>& argv, const ExecOptions& opts);

/// The login shell of `user` in the guest (from its /etc/passwd), for enter.
Result<std::string> guest_shell(const GuestConfig& config, const std::string& user);

}  // namespace vs
