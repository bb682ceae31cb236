#include "kernel-shim/limits_change.h"

#include <utility>

#include "kernel-shim/cgroup.h"

namespace vs::shim {

namespace {

constexpr uint64_t kDefaultPeriodUs = 100000;
constexpr uint64_t kMinQuotaUs = 1000;

// Applies `changes` to `set`, starting from `base` for a resource `set` lacks.
Result<void> merge_into(RlimitSet& set, const std::vector<RlimitChange>& changes, RlimitScope scope,
                        const RlimitSet& base) {
  for (const auto& c : changes) {
    Rlimit from;
    if (auto it = set.find(c.resource); it != set.end()) {
      from = it->second;
    } else if (auto b = base.find(c.resource); b != base.end()) {
      from = b->second;
    }
    auto merged = merge_rlimit(c.resource, from, c.value, scope);
    if (!merged) {
      Error e = std::move(merged).error();
      if (!c.what.empty()) e.subject = c.what;
      return e;
    }
    set[c.resource] = *merged;
  }
  return ok();
}

// The quota in microseconds for a percentage of the period in force.
Result<uint64_t> quota_of(const CpuQuotaPercent& q, const CgroupLimits& asked,
                          const LimitDirs& dirs) {
  if (!q.percent) return kNoLimit;
  uint64_t period = kDefaultPeriodUs;
  if (asked.cpu_period_us) {
    period = *asked.cpu_period_us;
  } else if (dirs.cpu) {
    auto now = read_cgroup_limits(dirs);
    if (!now) return std::move(now).error();
    if (now->cpu_period_us) period = *now->cpu_period_us;
  }
  const uint64_t quota = period * *q.percent / 100;
  if (quota < kMinQuotaUs) {
    return usage_error(q.what, std::to_string(*q.percent) + "% of a " + std::to_string(period) +
                                   " us period is below the 1000 us minimum quota (use a "
                                   "longer period)");
  }
  return quota;
}

}  // namespace

bool LimitsChange::changes_cgroup() const {
  return cgroup.memory || cgroup.memsw || cgroup.pids || cgroup.cpu_shares || cgroup.cpu_quota_us ||
         cgroup.cpu_period_us || cgroup.cpuset_cpus || cgroup.cpuset_mems ||
         cpu_quota_percent.has_value();
}

Result<std::optional<ContextLimits>> change_context_limits(const ContextTable& table, Xid xid,
                                                           const LimitsChange& change,
                                                           bool read_back) {
  auto caller = table.current_xid();
  if (!caller) return std::move(caller).error();
  // From inside a context, another context's existence is none of its business either.
  ContextState target;
  target.xid = xid;
  if (auto r = check_limits_access(*caller, target, false); !r) return std::move(r).error();
  auto found = table.lookup(xid);
  if (!found) return std::move(found).error();
  auto lock = table.lock(xid);
  if (!lock) return std::move(lock).error();
  auto state = table.read_state(xid);
  if (!state) return std::move(state).error();
  if (auto r = check_limits_access(*caller, *state, !change.empty()); !r) {
    return std::move(r).error();
  }
  RlimitSet* rlimits = &state->confinement.rlimits;
  if (auto r = merge_into(*rlimits, change.rlimits, change.scope, {}); !r) {
    return std::move(r).error();
  }

  std::optional<LimitDirs> dirs;
  if (change.changes_cgroup() || read_back) {
    auto cg = ContextCgroup::open(table.layout(), table.config().cgroup, xid);
    if (!cg) return std::move(cg).error();
    dirs = LimitDirs::resolve(table.layout(), *cg);
  }
  CgroupLimits cgroup = change.cgroup;
  if (change.cpu_quota_percent) {
    auto quota = quota_of(*change.cpu_quota_percent, cgroup, *dirs);
    if (!quota) return std::move(quota).error();
    cgroup.cpu_quota_us = *quota;
  }
  // The cgroup first: the kernel may refuse a limit (EBUSY), and then nothing is recorded.
  if (change.changes_cgroup()) {
    if (auto r = set_cgroup_limits(*dirs, cgroup); !r) {
      return std::move(r).error().wrap("context " + xid.str());
    }
  }
  if (!change.rlimits.empty()) {
    if (auto r = table.write_state(*state); !r) return std::move(r).error();
  }
  if (!read_back) return std::optional<ContextLimits>();
  ContextLimits out;
  out.rlimits = std::move(*rlimits);
  auto now = read_cgroup_limits(*dirs);
  if (!now) return std::move(now).error();
  out.cgroup = std::move(*now);
  auto usage = read_cgroup_usage(*dirs);
  if (!usage) return std::move(usage).error();
  out.usage = std::move(*usage);
  return std::optional<ContextLimits>(std::move(out));
}

Result<RlimitSet> change_own_rlimits(const std::vector<RlimitChange>& changes, RlimitScope scope) {
  auto current = current_rlimits();
  if (!current) return std::move(current).error();
  RlimitSet changed;
  if (auto r = merge_into(changed, changes, scope, *current); !r) return std::move(r).error();
  if (auto r = apply_rlimits(changed); !r) return std::move(r).error();
  return current_rlimits();
}

}  // namespace vs::shim
