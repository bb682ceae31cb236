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

/// The live context of the guest, if any, resolved once (its state, whose name is the
/// guest's, and a pidfd of its init), found by the guest's name: the context its index
/// (RUNDIR/guest-NAME.xid, written by every start) names, whatever `context` says now; with no
/// index, a static guest's configured context if its state bears the name. Dead entries are
/// reaped on the way. Whoever acts on the guest afterwards works through this handle
/// (shim::spawn_in_context, stop_guest), never through the xid again.
Result<std::optional<shim::ContextHandle>> find_guest_context(const shim::ContextTable& table,
                                                              const GuestConfig& config);

/// The environment of a guest's init (and of what it starts): PATH and container=vserver;
/// nothing of the caller's.
std::vector<std::string> guest_init_env();

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
  /// Test hook: called at "stop-resolved" (the context found, nothing done to it yet).
  std::function<void(const char* step)> at_step;
};

/// What stop did.
struct StopResult {
  shim::Xid xid{0};
  bool killed = false;  ///< processes were left after the timeout and were killed
  std::vector<std::string> warnings;  ///< what went wrong on the way (sysv `rc 0`), said once
};

/// Stops a running guest: pre-stop; sysv: `rc 0` inside; the stop signal to init; waits for the
/// context to empty up to the timeout, then kills it atomically; unpins, removes cgroups and
/// network pieces; post-stop. All of it under the guest's lock and its context's entry lock,
/// checked to be still the context that was found (a guest that ended meanwhile and whose
/// xid another guest took is "not running", and the other guest is left alone). A guest that
/// is not running is a kWrongState error (after any half-started leftover of it was cleaned
/// up); so is one whose processes outlive the kill (its entry and index then stay).
Result<StopResult> stop_guest(const shim::ContextTable& table, const ConfigRoots& roots,
                              const GuestConfig& config, const StopOptions& opts = {});

/// vserver NAME wait: blocks until the running guest's init has ended (the guest with it), as
/// a supervisor such as systemd needs a process whose life is the guest's (vserver@.service).
/// A guest that is not running is a kWrongState error.
Result<void> wait_guest(const shim::ContextTable& table, const GuestConfig& config);

/// Whether exec and enter give the command a pty.
enum class TtyMode {
  kAuto,    ///< when stdin and stdout are terminals
  kAlways,  ///< always (a pty of the guest's devpts, else the host's)
  kNever,   ///< never: pipes
};

struct ExecOptions {
  std::string user;  ///< NAME or UID from the guest's /etc/passwd; empty: root
  std::string term;  ///< TERM for the command; empty: none
  TtyMode tty = TtyMode::kAuto;
  /// Test hook: called at "exec-resolved" (the guest's context found, nothing spawned yet).
  std::function<void(const char* step)> at_step;
};

/// Starts argv in the running context `ctx` of the guest like its own processes (namespaces,
/// cgroups, confinement), as `opts.user`, with a clean environment (PATH, HOME, USER,
/// LOGNAME, SHELL, TERM) and `run`'s stdio. The caller waits for the child.
Result<Child> spawn_in_guest(const shim::ContextTable& table, const GuestConfig& config,
                             const shim::ContextHandle& ctx, const std::vector<std::string>& argv,
                             const ExecOptions& opts, shim::RunOptions run);

/// vserver NAME exec: runs argv in the running guest (spawn_in_guest) with its stdin, stdout
/// and stderr relayed (lib/base/stdio_relay.h: a pty of the guest's own devpts per opts.tty,
/// else pipes), and returns how it ended. The caller's own fds never reach the guest.
Result<ExitStatus> exec_in_guest(const shim::ContextTable& table, const GuestConfig& config,
                                 const std::vector<std::string>& argv, const ExecOptions& opts);

/// vserver NAME enter: the login shell of opts.user (from the guest's /etc/passwd) as
/// exec_in_guest() runs it, as `SHELL -l`, in the user's home.
Result<ExitStatus> enter_guest(const shim::ContextTable& table, const GuestConfig& config,
                               const ExecOptions& opts);

}  // namespace vs
