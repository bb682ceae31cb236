#include "kernel-shim/ns_enter.h"

#include <sched.h>

#include "kernel-shim/context.h"

namespace vs::shim {

Result<std::optional<int>> enter_context_namespaces(const ContextTable& table, Xid xid,
                                                    NsSet which) {
  auto state = table.lookup(xid);
  if (!state) return std::move(state).error();
  if (which == 0) which = state->namespaces;
  if (auto r = enter_namespaces(table, xid, which); !r) return std::move(r).error();
  if (!(which & CLONE_NEWPID)) return std::optional<int>();
  return fork_into_pid_namespace(false);
}

Result<void> repin_context_namespaces(const ContextTable& table, Xid xid, NsSet which) {
  auto state = table.lookup(xid);
  if (!state) return std::move(state).error();
  if (which == 0) which = state->namespaces & ~static_cast<NsSet>(CLONE_NEWNS);
  return set_namespaces(table, xid, which);
}

}  // namespace vs::shim
