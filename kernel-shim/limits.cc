// rlimits: the name table, strict value parsing, the "SOFT:HARD" pairs a context's state
// records (context_state.h), and setrlimit on the calling process. The cgroup limits are in
// limits_cgroup.cc.
#include "kernel-shim/limits.h"

#include <errno.h>

#include <algorithm>

#include "kernel-shim/context_state.h"
#include "kernel-shim/limits_backend.h"
#include "lib/base/parse.h"

namespace vs::shim {

namespace ld = limits_detail;

namespace {

constexpr rlim_t kAny = RLIM_INFINITY - 1;
constexpr std::string_view kAttrPrefix = "rlimit.";

const RlimitInfo* find_by_resource(int resource) {
  for (const auto& r : rlimit_table()) {
    if (r.resource == resource) return &r;
  }
  return nullptr;
}

bool is_infinity_word(std::string_view text) { return text == "inf" || text == "unlimited"; }

}  // namespace

const std::vector<RlimitInfo>& rlimit_table() {
  // RLIMIT_NICE is a ceiling of 20 - nice (0..40), RLIMIT_RTPRIO a realtime priority (0..99).
  static const std::vector<RlimitInfo> kTable{
      {"as", RLIMIT_AS, true, kAny},           {"core", RLIMIT_CORE, true, kAny},
      {"cpu", RLIMIT_CPU, false, kAny},        {"data", RLIMIT_DATA, true, kAny},
      {"fsize", RLIMIT_FSIZE, true, kAny},     {"locks", RLIMIT_LOCKS, false, kAny},
      {"memlock", RLIMIT_MEMLOCK, true, kAny}, {"msgqueue", RLIMIT_MSGQUEUE, true, kAny},
      {"nice", RLIMIT_NICE, false, 40},        {"nofile", RLIMIT_NOFILE, false, kAny},
      {"nproc", RLIMIT_NPROC, false, kAny},    {"rss", RLIMIT_RSS, true, kAny},
      {"rtprio", RLIMIT_RTPRIO, false, 99},    {"sigpending", RLIMIT_SIGPENDING, false, kAny},
      {"stack", RLIMIT_STACK, true, kAny},
  };
  return kTable;
}

std::string rlimit_names() {
  std::string out;
  for (const auto& r : rlimit_table()) {
    if (!out.empty()) out += ", ";
    out += r.name;
  }
  return out;
}

Result<int> parse_rlimit_name(std::string_view name) {
  for (const auto& r : rlimit_table()) {
    if (r.name == name) return r.resource;
  }
  return usage_error(std::string(name), "unknown rlimit (expected one of " + rlimit_names() + ")");
}

std::string rlimit_name(int resource) {
  const RlimitInfo* info = find_by_resource(resource);
  return info ? std::string(info->name) : std::to_string(resource);
}

Result<rlim_t> parse_rlimit_value(int resource, std::string_view text) {
  const RlimitInfo* info = find_by_resource(resource);
  if (!info) {
    return usage_error("rlimit " + std::to_string(resource),
                       "unknown resource (expected one of " + rlimit_names() + ")");
  }
  if (is_infinity_word(text)) return RLIM_INFINITY;
  const std::string name(info->name);
  if (info->is_size) {
    auto v = ld::parse_size(text, kAny, name, "inf");
    if (!v) return std::move(v).error();
    return static_cast<rlim_t>(*v);
  }
  auto v = parse_uint(text, 0, info->max_value, name);
  if (!v) {
    const std::string range =
        info->max_value == kAny ? "" : " 0.." + std::to_string(info->max_value);
    return usage_error(name, "`" + std::string(text) + "` is not a valid limit (expected a " +
                                 "decimal number" + range + ", or inf)");
  }
  return static_cast<rlim_t>(*v);
}

std::string format_rlimit_value(rlim_t value) {
  return value == RLIM_INFINITY ? std::string("inf") : std::to_string(value);
}

Result<Rlimit> merge_rlimit(int resource, Rlimit base, rlim_t value, RlimitScope scope) {
  Rlimit out = base;
  switch (scope) {
    case RlimitScope::kBoth:
      out = {value, value};
      break;
    case RlimitScope::kSoft:
      out.soft = value;
      break;
    case RlimitScope::kHard:
      out.hard = value;
      // A soft limit that is unset (infinite) follows a lowered ceiling; a chosen one stays
      // and must fit under it.
      if (base.soft == RLIM_INFINITY && out.soft > out.hard) out.soft = out.hard;
      break;
  }
  if (out.soft > out.hard) {
    return usage_error(rlimit_name(resource), "soft limit " + format_rlimit_value(out.soft) +
                                                  " is above the hard limit " +
                                                  format_rlimit_value(out.hard));
  }
  return out;
}

std::string rlimit_attr_key(int resource) {
  return std::string(kAttrPrefix) + rlimit_name(resource);
}

Result<Rlimit> parse_rlimit_pair(int resource, std::string_view text) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) {
    return usage_error(rlimit_name(resource),
                       "`" + std::string(text) + "` is not SOFT:HARD (e.g. 1024:4096, inf:inf)");
  }
  auto soft = parse_rlimit_value(resource, text.substr(0, colon));
  if (!soft) return std::move(soft).error();
  auto hard = parse_rlimit_value(resource, text.substr(colon + 1));
  if (!hard) return std::move(hard).error();
  return merge_rlimit(resource, Rlimit{*hard, *hard}, *soft, RlimitScope::kSoft);
}

std::string format_rlimit_pair(const Rlimit& limit) {
  return format_rlimit_value(limit.soft) + ":" + format_rlimit_value(limit.hard);
}

Result<void> apply_rlimits(const RlimitSet& set) {
  // Check every entry first: a bad one must not leave the process half-limited.
  for (const auto& [resource, limit] : set) {
    if (!find_by_resource(resource)) {
      return usage_error("rlimit " + std::to_string(resource),
                         "unknown resource (expected one of " + rlimit_names() + ")");
    }
    if (limit.soft > limit.hard) {
      return usage_error(rlimit_name(resource), "soft limit " + format_rlimit_value(limit.soft) +
                                                    " is above the hard limit " +
                                                    format_rlimit_value(limit.hard));
    }
  }
  for (const auto& [resource, limit] : set) {
    struct rlimit rl = {limit.soft, limit.hard};
    if (::setrlimit(resource, &rl) < 0) {
      return sys_error("setrlimit", rlimit_name(resource) + " " + format_rlimit_pair(limit));
    }
  }
  return ok();
}

Result<RlimitSet> current_rlimits() {
  RlimitSet out;
  for (const auto& r : rlimit_table()) {
    struct rlimit rl {};
    if (::getrlimit(r.resource, &rl) < 0) {
      return sys_error("getrlimit", std::string(r.name));
    }
    out[r.resource] = Rlimit{rl.rlim_cur, rl.rlim_max};
  }
  return out;
}

Result<void> check_limits_access(Xid caller, const ContextState& target, bool change) {
  if (caller == Xid(Xid::kHost)) return ok();
  if (caller != target.xid) {
    return make_error(ErrorKind::kWrongState, "limits", "context " + target.xid.str(),
                      "only the host may see or change the limits of another context (this "
                      "process is in context " +
                          caller.str() + ")",
                      EPERM);
  }
  if (change && target.stage != ContextStage::kSetup) {
    return make_error(ErrorKind::kWrongState, "limits", "context " + target.xid.str(),
                      "the context is sealed: its limits can only be changed from the host", EPERM);
  }
  return ok();
}

std::vector<LimitField> describe_limits(const RlimitSet& rlimits, const CgroupLimits& limits,
                                        const CgroupUsage& usage) {
  std::vector<LimitField> out;
  for (const auto& [resource, limit] : rlimits) {
    out.push_back({rlimit_attr_key(resource), format_rlimit_pair(limit), false});
  }
  auto number = [&](const char* name, const std::optional<uint64_t>& v) {
    if (v) out.push_back({name, ld::format_max(*v), *v != kNoLimit});
  };
  auto text = [&](const char* name, const std::optional<std::string>& v) {
    if (v) out.push_back({name, *v, false});
  };
  number("memory.limit", limits.memory);
  number("memsw.limit", limits.memsw);
  number("pids.limit", limits.pids);
  number("cpu.shares", limits.cpu_shares);
  if (limits.cpu_shares) number("cpu.weight", cpu_shares_to_weight(*limits.cpu_shares));
  number("cpu.quota_us", limits.cpu_quota_us);
  number("cpu.period_us", limits.cpu_period_us);
  text("cpuset.cpus", limits.cpuset_cpus);
  text("cpuset.mems", limits.cpuset_mems);
  number("memory.current", usage.memory_current);
  number("memory.peak", usage.memory_peak);
  number("memory.failcnt", usage.memory_failcnt);
  number("memory.oom_kill", usage.memory_oom_kill);
  number("pids.current", usage.pids_current);
  number("pids.max_hits", usage.pids_max_hits);
  number("cpu.nr_periods", usage.cpu_nr_periods);
  number("cpu.nr_throttled", usage.cpu_nr_throttled);
  number("cpu.throttled_usec", usage.cpu_throttled_usec);
  number("cpu.usage_usec", usage.cpu_usage_usec);
  return out;
}

}  // namespace vs::shim
