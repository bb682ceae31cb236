// Processes named by their pid inside a context (vkill PID, later vps).
#pragma once

#include <sys/types.h>

#include "kernel-shim/cgroup.h"
#include "kernel-shim/context_table.h"
#include "lib/base/result.h"
#include "lib/base/unique_fd.h"

namespace vs::shim {

/// Finds the host process whose pid in the context's pid namespace is `guest` (for a context
/// without one: the host pid, and 1 means its first process, as util-vserver had it), opens
/// it as a pidfd and checks, after opening, that it is still that process and still in the
/// context. No such process: a kNotFound error (exit 3).
Result<UniqueFd> open_guest_pid(const ContextTable& table, const ContextState& state,
                                const ContextCgroup& cg, pid_t guest);

}  // namespace vs::shim
