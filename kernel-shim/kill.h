// Signalling a context (vkill): every process at once (ContextCgroup::kill, the atomic kill),
// or processes named by their pid inside the context (guest_pid.h).
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <string_view>
#include <vector>

#include "kernel-shim/cgroup.h"
#include "kernel-shim/context_table.h"
#include "lib/base/result.h"

namespace vs::shim {

/// A method's name ("auto", "cgroup-kill", "freeze", "freeze-v1") <-> ContextCgroup::KillMethod.
/// An unknown name is a kUsage error whose subject is "kill method" and whose detail lists
/// the names.
Result<ContextCgroup::KillMethod> parse_kill_method(std::string_view name);

struct KillRequest {
  int sig = SIGTERM;
  /// Pids as seen inside the context (for a context without a pid namespace: host pids, and
  /// 1 is its first process). Empty, or 0 among them: every process of the context.
  std::vector<pid_t> pids;
  ContextCgroup::KillMethod method = ContextCgroup::KillMethod::kAuto;  ///< for every process
};

/// Signals processes of a live context under its lock (a concurrent reap cannot remove the
/// cgroup under the kill). Every pid is resolved before any is signalled, so one that is not
/// in the context signals nothing: a kNotFound error naming it (exit 3). The named pids are
/// signalled through pidfds first, then, if asked, every process atomically
/// (ContextCgroup::kill, whose errors it returns). No context: kNotFound.
Result<void> kill_context(const ContextTable& table, Xid xid, const KillRequest& req);

}  // namespace vs::shim
