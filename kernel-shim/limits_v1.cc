// cgroup v1 limits: memory.limit_in_bytes and memory.memsw.*, pids.max, cpu.shares and the
// CFS bandwidth files, cpuset.cpus/mems, and the v1 counters.
#include <errno.h>

#include <string>

#include "kernel-shim/limits_backend.h"

namespace vs::shim::limits_detail {

namespace {

constexpr std::string_view kMemLimit = "memory.limit_in_bytes";
constexpr std::string_view kMemswLimit = "memory.memsw.limit_in_bytes";

// v1 shows "no limit" as the largest page-aligned long (9223372036854771712 with 4 KiB
// pages); no real limit comes near 2^62.
constexpr uint64_t kV1Unlimited = uint64_t{1} << 62;

std::string v1_value(uint64_t v) { return v == kNoLimit ? std::string("-1") : std::to_string(v); }

Result<uint64_t> read_v1_limit(const std::string& dir, std::string_view file) {
  auto text = read_knob_required(dir, file);
  if (!text) return std::move(text).error();
  auto v = parse_counter(*text, dir + "/" + std::string(file));
  if (!v) return std::move(v).error();
  return *v >= kV1Unlimited ? kNoLimit : *v;
}

// cfs_quota_us is signed: -1 is no quota.
Result<uint64_t> read_quota(const std::string& dir) {
  auto text = read_knob_required(dir, "cpu.cfs_quota_us");
  if (!text) return std::move(text).error();
  if (trim(*text) == "-1") return kNoLimit;
  return parse_counter(*text, dir + "/cpu.cfs_quota_us");
}

// The kernel's refusals of a memory limit, said in terms of the limits.
Error explain_memory_write(Error e, bool memsw, uint64_t value) {
  if (e.code == EBUSY && !memsw) {
    e.detail = "the context uses more than " + std::to_string(value) +
               " bytes and the kernel could not reclaim enough";
  } else if (e.code == EINVAL && !memsw) {
    e.detail = std::to_string(value) + " is above the memory+swap limit (" +
               std::string(kMemswLimit) + "): raise memsw too";
  } else if (e.code == EINVAL && memsw) {
    e.detail = v1_value(value) + " is below the memory limit (" + std::string(kMemLimit) +
               "): memsw counts memory and swap together";
  } else if (e.code == EBUSY && memsw) {
    e.detail = "the context uses more than " + std::to_string(value) +
               " bytes of memory+swap and the kernel could not reclaim enough";
  }
  return e;
}

Result<void> write_memory(const std::string& dir, bool memsw, uint64_t value) {
  auto r = write_knob(dir, memsw ? kMemswLimit : kMemLimit, v1_value(value));
  if (!r) return explain_memory_write(std::move(r).error(), memsw, value);
  return ok();
}

class V1Backend final : public Backend {
 public:
  Result<void> check(Controller c, const std::string& dir, const CgroupLimits& l) const override {
    if (c == Controller::kMemory && l.memsw && !has_knob(dir, kMemswLimit)) {
      return make_error(ErrorKind::kFailed, "limit", dir + "/" + std::string(kMemswLimit),
                        "memsw needs swap accounting, which this kernel does not do (boot "
                        "with swapaccount=1, or set memory alone)",
                        ENOTSUP);
    }
    return ok();
  }

  Result<void> set(Controller c, const std::string& dir, const CgroupLimits& l) const override {
    switch (c) {
      case Controller::kMemory:
        return set_memory(dir, l);
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
        auto mem = read_v1_limit(dir, kMemLimit);
        if (!mem) return std::move(mem).error();
        out.memory = *mem;
        if (!has_knob(dir, kMemswLimit)) return ok();
        auto sw = read_v1_limit(dir, kMemswLimit);
        if (!sw) return std::move(sw).error();
        out.memsw = *sw;
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
        auto shares = read_knob_required(dir, "cpu.shares");
        if (!shares) return std::move(shares).error();
        auto s = parse_counter(*shares, dir + "/cpu.shares");
        if (!s) return std::move(s).error();
        out.cpu_shares = *s;
        if (!has_knob(dir, "cpu.cfs_quota_us")) return ok();  // kernel without CFS bandwidth
        auto quota = read_quota(dir);
        if (!quota) return std::move(quota).error();
        out.cpu_quota_us = *quota;
        auto period = read_knob_required(dir, "cpu.cfs_period_us");
        if (!period) return std::move(period).error();
        auto p = parse_counter(*period, dir + "/cpu.cfs_period_us");
        if (!p) return std::move(p).error();
        out.cpu_period_us = *p;
        return ok();
      }
      case Controller::kCpuset: {
        auto cpus = read_knob_required(dir, "cpuset.cpus");
        if (!cpus) return std::move(cpus).error();
        auto mems = read_knob_required(dir, "cpuset.mems");
        if (!mems) return std::move(mems).error();
        out.cpuset_cpus = std::string(trim(*cpus));
        out.cpuset_mems = std::string(trim(*mems));
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
        if (auto r = read_counter_into(dir, "memory.usage_in_bytes", out.memory_current); !r)
          return r;
        if (auto r = read_counter_into(dir, "memory.max_usage_in_bytes", out.memory_peak); !r)
          return r;
        if (auto r = read_counter_into(dir, "memory.failcnt", out.memory_failcnt); !r) return r;
        if (auto r = read_keyed_sum_into(dir, "memory.stat", {"total_rss", "total_mapped_file"},
                                         out.memory_rss);
            !r) {
          return r;
        }
        return read_keyed_into(dir, "memory.oom_control", "oom_kill", out.memory_oom_kill, 1);
      }
      case Controller::kPids: {
        if (auto r = read_counter_into(dir, "pids.current", out.pids_current); !r) return r;
        return read_keyed_into(dir, "pids.events", "max", out.pids_max_hits, 1);
      }
      case Controller::kCpu: {
        if (auto r = read_keyed_into(dir, "cpu.stat", "nr_periods", out.cpu_nr_periods, 1); !r)
          return r;
        if (auto r = read_keyed_into(dir, "cpu.stat", "nr_throttled", out.cpu_nr_throttled, 1);
            !r) {
          return r;
        }
        return read_keyed_into(dir, "cpu.stat", "throttled_time", out.cpu_throttled_usec, 1000);
      }
      case Controller::kCpuacct: {
        std::optional<uint64_t> ns;
        if (auto r = read_counter_into(dir, "cpuacct.usage", ns); !r) return r;
        if (ns) out.cpu_usage_usec = *ns / 1000;
        std::optional<uint64_t> user_ns, sys_ns;
        if (auto r = read_counter_into(dir, "cpuacct.usage_user", user_ns); !r) return r;
        if (auto r = read_counter_into(dir, "cpuacct.usage_sys", sys_ns); !r) return r;
        if (user_ns) out.cpu_user_usec = *user_ns / 1000;
        if (sys_ns) out.cpu_system_usec = *sys_ns / 1000;
        return ok();
      }
      case Controller::kCpuset:
        return ok();
    }
    return ok();
  }

 private:
  static Result<void> set_memory(const std::string& dir, const CgroupLimits& l) {
    if (l.memory && l.memsw) {
      // The kernel keeps memsw >= memory at every moment: when the new memory limit is above
      // the memsw limit in force, memsw has to be raised first.
      auto cur_sw = read_v1_limit(dir, kMemswLimit);
      if (!cur_sw) return std::move(cur_sw).error();
      if (*l.memory > *cur_sw) {
        if (auto r = write_memory(dir, true, *l.memsw); !r) return r;
        return write_memory(dir, false, *l.memory);
      }
      if (auto r = write_memory(dir, false, *l.memory); !r) return r;
      return write_memory(dir, true, *l.memsw);
    }
    if (l.memory) return write_memory(dir, false, *l.memory);
    return write_memory(dir, true, *l.memsw);
  }

  static Result<void> set_cpu(const std::string& dir, const CgroupLimits& l) {
    if (l.cpu_shares) {
      if (auto r = write_knob(dir, "cpu.shares", std::to_string(*l.cpu_shares)); !r) return r;
    }
    if (l.cpu_period_us) {
      if (auto r = write_knob(dir, "cpu.cfs_period_us", std::to_string(*l.cpu_period_us)); !r) {
        return r;
      }
    }
    if (l.cpu_quota_us) return write_knob(dir, "cpu.cfs_quota_us", v1_value(*l.cpu_quota_us));
    return ok();
  }
};

}  // namespace

const Backend& v1_backend() {
  static const V1Backend kBackend;
  return kBackend;
}

}  // namespace vs::shim::limits_detail
