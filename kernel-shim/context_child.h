// The first process of a new context: its checklist between clone3 and the helper's exec
// (STYLE.md R6), one step per concern. Each step here is the child's half of a concern whose
// creator's half is named in its comment (context_create.cc); the numbers are the sync
// points of context_sync.h.
#pragma once

#include <cstdint>

#include "kernel-shim/context.h"
#include "kernel-shim/context_sync.h"

namespace vs::shim {

struct ChildPlan {
  const ContextTable* table = nullptr;
  const CreateSpec* spec = nullptr;
  /// The creator's mount namespace id: the child's new one must be above it to be pinnable.
  uint64_t creator_mnt_id = 0;
  /// Make a Landlock abstract-socket scope after the go (E27 without the BPF LSM).
  bool landlock_scope = false;
  SyncChannel* sync = nullptr;  ///< the child's end
  // Raw ints, borrowed: the creator's UniqueFds own them (Creation::report_wr_, helper_).
  // The child runs on a copy of the creator's memory and fd table and leaves only by
  // execveat or _exit, so its copies of those owners are never destroyed there; the helper
  // gets the numbers themselves (report_fd must survive the exec, exec_helper()).
  int report_fd = -1;  ///< the exec report's write end, kept for the helper
  int helper_fd = -1;  ///< the sealed helper (helper.h); -1 with spec.body
};

/// Runs the checklist in the context's first process; returns the exit code for _exit (it
/// returns only on failure, or with spec.body's result). A failure is reported to the
/// creator on the sync channel with what failed.
int run_context_child(const ChildPlan& plan);

/// The id of the caller's mount namespace, or 0 where the kernel has no such ioctl.
uint64_t own_mnt_ns_id();

}  // namespace vs::shim
