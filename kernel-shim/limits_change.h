// Changing a context's limits as one step under its lock (vlimit, vsched), and the calling
// process's own rlimits (vlimit on the host): the access rule, the merge into what is
// recorded, the cgroup first, the state after, and reading back what is in force.
#pragma once

#include <sys/resource.h>

#include <optional>
#include <string>
#include <vector>

#include "kernel-shim/context_table.h"
#include "kernel-shim/limits.h"
#include "lib/base/result.h"

namespace vs::shim {

/// One rlimit value to set (as the soft, the hard or both limits: LimitsChange::scope).
struct RlimitChange {
  int resource = 0;  ///< RLIMIT_*
  rlim_t value = RLIM_INFINITY;
  std::string what;  ///< names it in errors, e.g. "--nofile"
};

/// A cpu quota in percent of one CPU of the period in force.
struct CpuQuotaPercent {
  std::optional<uint64_t> percent;  ///< 1..; none: no quota (max)
  std::string what = "cpu quota";   ///< names it in errors, e.g. "--quota"
};

/// A change to a context's limits; what is left empty is not touched.
struct LimitsChange {
  std::vector<RlimitChange> rlimits;
  RlimitScope scope = RlimitScope::kBoth;
  CgroupLimits cgroup;
  /// Instead of cgroup.cpu_quota_us: the quota as a share of the period, cgroup.cpu_period_us
  /// when given, else the context's now (100000 us if it has none).
  std::optional<CpuQuotaPercent> cpu_quota_percent;

  [[nodiscard]] bool changes_cgroup() const;
  [[nodiscard]] bool empty() const { return rlimits.empty() && !changes_cgroup(); }
};

/// A context's limits and counters.
struct ContextLimits {
  RlimitSet rlimits;    ///< recorded in its state (what every entrant gets)
  CgroupLimits cgroup;  ///< in force in its cgroups
  CgroupUsage usage;
};

/// Applies `change` to the live context `xid` and, with `read_back`, returns its limits and
/// counters afterwards. The calling process may as check_limits_access() says (the host any
/// context; a context its own, and change it only before the seal; a refusal tells nothing
/// of whether another context exists). Under the context's lock: every value is checked and
/// merged into what is recorded first (merge_rlimit with change.scope; a kUsage error names
/// the value's `what`); then the cgroup limits are written, which the kernel may refuse
/// (EBUSY: then nothing is recorded); then the rlimits are recorded in its state. A quota
/// percent below 1000 us of the period is a kUsage error. No context: kNotFound.
Result<std::optional<ContextLimits>> change_context_limits(const ContextTable& table, Xid xid,
                                                           const LimitsChange& change,
                                                           bool read_back);

/// Sets the calling process's own rlimits (the host, where limits go to the command run
/// next): each change merged into the current limit with `scope`, then applied
/// (apply_rlimits). Returns every rlimit now in force (current_rlimits).
Result<RlimitSet> change_own_rlimits(const std::vector<RlimitChange>& changes, RlimitScope scope);

}  // namespace vs::shim
