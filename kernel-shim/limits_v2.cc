// cgroup v2 limits: memory.max and memory.swap.max, pids.max, cpu.weight and cpu.max,
// cpuset.cpus/mems, and the v2 counters (memory.events, pids.events, cpu.stat).
#include <errno.h>

#include <string>

#include "kernel-shim/limits_backend.h"

namespace vs::shim::limits_detail {

namespace {

// The memory limit memsw is measured against: the new one, else the one in force.
Result<uint64_t> memory_base(const std::string& dir, const CgroupLimits& l) {
  if (l.memory) return *l.memory;
  auto text = read_knob_required(dir, "memory.max");
  if (!text) return std::move(text).error();
  return parse_max_or_number(*text, dir + "/memory.max");
}

// v2 limits swap alone (memory.swap.max); memsw, memory and swap together, is mapped to
// swap.max = memsw - memory.
Result<std::string> swap_max_for(const std::string& dir, const CgroupLimits& l) {
  if (*l.memsw == kNoLimit) return std::string("max");
  auto mem = memory_base(dir, l);
  if (!mem) return std::move(mem).error();
  if (*mem == kNoLimit) {
    return usage_error("memsw",
                       "cgroup v2 limits swap alone (memory.swap.max = memsw - memory): "
                       "a memsw limit needs a memory limit too");
  }
  if (*l.memsw < *mem) {
    return usage_error("memsw", "memory+swap " + std::to_string(*l.memsw) +
                                    " is below the memory limit " + std::to_string(*mem) +
                                    " (memsw counts memory and swap together)");
  }
  return std::to_string(*l.memsw - *mem);
}

// cpu.max is "QUOTA PERIOD" with QUOTA "max" for none.
struct CpuMax {
  uint64_t quota;
  uint64_t period;
};

Result<CpuMax> read_cpu_max(const std::string& dir) {
  const std::string path = dir + "/cpu.max";
  auto text = read_knob_required(dir, "cpu.max");
  if (!text) return std::move(text).error();
  std::string_view t = trim(*text);
  size_t space = t.find(' ');
  if (space == std::string_view::npos) {
    return make_error(ErrorKind::kFailed, "parse", path,
                      "`" + std::string(t) + "` is not `QUOTA PERIOD`", EINVAL);
  }
  auto quota = parse_max_or_number(t.substr(0, space), path);
  if (!quota) return std::move(quota).error();
  auto period = parse_counter(t.substr(space + 1), path);
  if (!period) return std::move(period).error();
  return CpuMax{*quota, *period};
}

class V2Backend final : public Backend {
 public:
  Result<void> check(Controller c, const std::string& dir, const CgroupLimits& l) const override {
    if (c != Controller::kMemory || !l.memsw) return ok();
    if (!has_knob(dir, "memory.swap.max")) {
      return make_error(ErrorKind::kFailed, "limit", dir + "/memory.swap.max",
                        "memsw needs swap accounting, which this kernel does not do (boot "
                        "with swapaccount=1, or set memory alone)",
                        ENOTSUP);
    }
    auto swap = swap_max_for(dir, l);
    if (!swap) return std::move(swap).error();
    return ok();
  }

  Result<void> set(Controller c, const std::string& dir, const CgroupLimits& l) const override {
    switch (c) {
      case Controller::kMemory:
        if (l.memory) {
          if (auto r = write_knob(dir, "memory.max", format_max(*l.memory)); !r) return r;
        }
        if (l.memsw) {
          auto swap = swap_max_for(dir, l);
          if (!swap) return std::move(swap).error();
          return write_knob(dir, "memory.swap.max", *swap);
        }
        return ok();
      case Controller::kPids:
        return write_knob(dir, "pids.max", format_max(*l.pids));
      case Controller::kCpu:
        return set_cpu(dir, l);
      case Controller::kCpuset:
        return set_cpuset(dir, l);
      case Controller::kCpuacct:
        return ok();
    }
    return ok();
  }

  Result<void> read_limits(Controller c, const std::string& dir, CgroupLimits& out) const override {
    switch (c) {
      case Controller::kMemory: {
        auto mem = read_knob_required(dir, "memory.max");
        if (!mem) return std::move(mem).error();
        auto m = parse_max_or_number(*mem, dir + "/memory.max");
        if (!m) return std::move(m).error();
        out.memory = *m;
        auto swap = read_knob(dir, "memory.swap.max");
        if (!swap) return std::move(swap).error();
        if (!*swap) return ok();
        auto s = parse_max_or_number(**swap, dir + "/memory.swap.max");
        if (!s) return std::move(s).error();
        out.memsw = (*m == kNoLimit || *s == kNoLimit) ? kNoLimit : *m + *s;
        return ok();
      }
      case Controller::kPids: {
        auto text = read_knob_required(dir, "pids.max");
        if (!text) return std::move(text).error();
        auto v = parse_max_or_number(*text, dir + "/pids.max");
        if (!v) return std::move(v).error();
        out.pids = *v;
        return ok();
      }
      case Controller::kCpu: {
        auto weight = read_knob_required(dir, "cpu.weight");
        if (!weight) return std::move(weight).error();
        auto w = parse_counter(*weight, dir + "/cpu.weight");
        if (!w) return std::move(w).error();
        out.cpu_shares = cpu_weight_to_shares(*w);
        auto max = read_cpu_max(dir);
        if (!max) return std::move(max).error();
        out.cpu_quota_us = max->quota;
        out.cpu_period_us = max->period;
        return ok();
      }
      case Controller::kCpuset: {
        // An empty v2 cpuset.cpus means "the parent's": show the effective list then.
        for (auto [file, field] : {std::pair{"cpuset.cpus", &out.cpuset_cpus},
                                   std::pair{"cpuset.mems", &out.cpuset_mems}}) {
          auto text = read_knob_required(dir, file);
          if (!text) return std::move(text).error();
          std::string value(trim(*text));
          if (value.empty()) {
            auto eff = read_knob(dir, std::string(file) + ".effective");
            if (!eff) return std::move(eff).error();
            if (*eff) value = std::string(trim(**eff));
          }
          *field = value;
        }
        return ok();
      }
      case Controller::kCpuacct:
        return ok();
    }
    return ok();
  }

  Result<void> read_usage(Controller c, const std::string& dir, CgroupUsage& out) const override {
    switch (c) {
      case Controller::kMemory: {
        if (auto r = read_counter_into(dir, "memory.current", out.memory_current); !r) return r;
        if (auto r = read_counter_into(dir, "memory.peak", out.memory_peak); !r) return r;
        if (auto r = read_keyed_sum_into(dir, "memory.stat", {"anon", "file_mapped"},
                                         out.memory_rss);
            !r) {
          return r;
        }
        if (auto r = read_keyed_into(dir, "memory.events", "max", out.memory_failcnt); !r) {
          return r;
        }
        return read_keyed_into(dir, "memory.events", "oom_kill", out.memory_oom_kill);
      }
      case Controller::kPids: {
        if (auto r = read_counter_into(dir, "pids.current", out.pids_current); !r) return r;
        return read_keyed_into(dir, "pids.events", "max", out.pids_max_hits);
      }
      case Controller::kCpu: {
        if (auto r = read_keyed_into(dir, "cpu.stat", "nr_periods", out.cpu_nr_periods); !r) {
          return r;
        }
        if (auto r = read_keyed_into(dir, "cpu.stat", "nr_throttled", out.cpu_nr_throttled); !r) {
          return r;
        }
        return read_keyed_into(dir, "cpu.stat", "throttled_usec", out.cpu_throttled_usec);
      }
      case Controller::kCpuacct:
        if (auto r = read_keyed_into(dir, "cpu.stat", "user_usec", out.cpu_user_usec); !r) {
          return r;
        }
        if (auto r = read_keyed_into(dir, "cpu.stat", "system_usec", out.cpu_system_usec); !r) {
          return r;
        }
        return read_keyed_into(dir, "cpu.stat", "usage_usec", out.cpu_usage_usec);
      case Controller::kCpuset:
        return ok();
    }
    return ok();
  }

 private:
  static Result<void> set_cpu(const std::string& dir, const CgroupLimits& l) {
    if (l.cpu_shares) {
      const std::string weight = std::to_string(cpu_shares_to_weight(*l.cpu_shares));
      if (auto r = write_knob(dir, "cpu.weight", weight); !r) return r;
    }
    if (!l.cpu_quota_us && !l.cpu_period_us) return ok();
    std::string value;
    if (l.cpu_quota_us && !l.cpu_period_us) {
      value = format_max(*l.cpu_quota_us);  // the kernel keeps the period
    } else {
      uint64_t quota = 0;
      if (l.cpu_quota_us) {
        quota = *l.cpu_quota_us;
      } else {
        auto cur = read_cpu_max(dir);
        if (!cur) return std::move(cur).error();
        quota = cur->quota;
      }
      value = format_max(quota) + " " + std::to_string(*l.cpu_period_us);
    }
    return write_knob(dir, "cpu.max", value);
  }
};

}  // namespace

const Backend& v2_backend() {
  static const V2Backend kBackend;
  return kBackend;
}

}  // namespace vs::shim::limits_detail
