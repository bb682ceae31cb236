// The calling process and a context's namespaces (vnamespace --enter and --set): which kinds
// by default, and the fork a pid namespace needs. Built on enter_namespaces() and
// set_namespaces() (context.h).
#pragma once

#include <optional>

#include "kernel-shim/context_table.h"
#include "kernel-shim/ns.h"
#include "lib/base/result.h"

namespace vs::shim {

/// Joins the namespaces `which` (0: every one the context has) of the live context `xid`,
/// without its cgroups. With its pid namespace, which takes children only, forks as
/// fork_into_pid_namespace() does: the child gets std::nullopt and goes on inside, the parent
/// the child's exit code. Without a fork the caller gets std::nullopt. No context: kNotFound;
/// a kind the context lacks: kUsage.
Result<std::optional<int>> enter_context_namespaces(const ContextTable& table, Xid xid,
                                                    NsSet which);

/// Makes the calling process's namespaces of the kinds `which` the context's (re-pins them).
/// 0: every kind the context has but mnt (a mount namespace cannot be re-pinned; asking for
/// it is a kUsage error). No context: kNotFound.
Result<void> repin_context_namespaces(const ContextTable& table, Xid xid, NsSet which);

}  // namespace vs::shim
