// vsched: the CPU share and quota of a context (util-vserver's vsched, on cgroup cpu.shares /
// cpu.weight and the CFS bandwidth limits).
#include <cstdio>
#include <optional>
#include <string>

#include "kernel-shim/context_table.h"
#include "kernel-shim/limits.h"
#include "kernel-shim/limits_change.h"
#include "lib/base/parse.h"
#include "tools/common/cli.h"
#include "tools/common/show.h"

namespace {

using vs::Result;
using vs::shim::CgroupLimits;

constexpr const char* kTool = "vsched";
constexpr uint64_t kMaxPercent = 100000;  // 1000 CPUs

struct Args {
  vs::tool::CommonOptions common;
  std::string xid;
  std::string shares, weight, quota, quota_us, period_us;
  CLI::Option* shares_opt = nullptr;
  CLI::Option* weight_opt = nullptr;
  CLI::Option* quota_opt = nullptr;
  CLI::Option* quota_us_opt = nullptr;
  CLI::Option* period_opt = nullptr;
  bool show = false;
  bool json = false;
};

Args arg_;

bool is_max(const std::string& s) { return s == "max" || s == "inf" || s == "unlimited"; }

// "20%" or "20": percent of one CPU; max/inf/unlimited for no quota.
Result<std::optional<uint64_t>> parse_percent(std::string text) {
  if (is_max(text)) return std::optional<uint64_t>();
  if (!text.empty() && text.back() == '%') text.pop_back();
  auto v = vs::parse_uint(text, 1, kMaxPercent, "--quota");
  if (!v) {
    return vs::usage_error("--quota", "`" + arg_.quota +
                                          "` is not a percentage of one CPU (expected 1%.." +
                                          std::to_string(kMaxPercent) + "%, or max)");
  }
  return std::optional<uint64_t>(*v);
}

// Everything but a --quota percentage, which needs the period in force.
Result<CgroupLimits> parse_limits() {
  CgroupLimits l;
  if (arg_.shares_opt->count() > 0) {
    auto v = vs::parse_uint(arg_.shares, 2, 262144, "--cpu-shares");
    if (!v) return std::move(v).error();
    l.cpu_shares = *v;
  }
  if (arg_.weight_opt->count() > 0) {
    auto v = vs::parse_uint(arg_.weight, 1, 10000, "--weight");
    if (!v) return std::move(v).error();
    l.cpu_shares = vs::shim::cpu_weight_to_shares(*v);
  }
  if (arg_.quota_us_opt->count() > 0) {
    if (is_max(arg_.quota_us)) {
      l.cpu_quota_us = vs::shim::kNoLimit;
    } else {
      auto v = vs::parse_uint(arg_.quota_us, 1000, UINT64_MAX - 1, "--quota-us");
      if (!v) return std::move(v).error();
      l.cpu_quota_us = *v;
    }
  }
  if (arg_.period_opt->count() > 0) {
    auto v = vs::parse_uint(arg_.period_us, 1000, 1000000, "--period-us");
    if (!v) return std::move(v).error();
    l.cpu_period_us = *v;
  }
  return l;
}

// Prints the cpu part of the limits and counters.
void show(const vs::shim::ContextLimits& l) {
  CgroupLimits cpu;
  cpu.cpu_shares = l.cgroup.cpu_shares;
  cpu.cpu_quota_us = l.cgroup.cpu_quota_us;
  cpu.cpu_period_us = l.cgroup.cpu_period_us;
  vs::shim::CgroupUsage cpu_usage;
  cpu_usage.cpu_nr_periods = l.usage.cpu_nr_periods;
  cpu_usage.cpu_nr_throttled = l.usage.cpu_nr_throttled;
  cpu_usage.cpu_throttled_usec = l.usage.cpu_throttled_usec;
  cpu_usage.cpu_usage_usec = l.usage.cpu_usage_usec;
  vs::tool::print_fields(vs::shim::describe_limits({}, cpu, cpu_usage), arg_.json);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Set the CPU share and quota of a context.", kTool};
  app.set_version_flag("--version", "vserver 0.1.0");
  app.add_option("-c,--xid", arg_.xid, "the context (2..65535)")->required()->type_name("XID");
  arg_.shares_opt =
      app.add_option("--cpu-shares", arg_.shares, "relative CPU share, 2..262144 (default 1024)")
          ->type_name("N");
  arg_.weight_opt = app.add_option("--weight", arg_.weight,
                                   "relative CPU weight, 1..10000 (default 100; = shares / 10.24)")
                        ->type_name("N")
                        ->excludes(arg_.shares_opt);
  arg_.quota_opt = app.add_option("--quota", arg_.quota,
                                  "CPU time per period in percent of one CPU (20%), or max")
                       ->type_name("PCT%");
  arg_.quota_us_opt = app.add_option("--quota-us", arg_.quota_us,
                                     "CPU time per period in microseconds (>= 1000), or max")
                          ->type_name("N")
                          ->excludes(arg_.quota_opt);
  arg_.period_opt = app.add_option("--period-us", arg_.period_us,
                                   "length of the period, 1000..1000000 us (default 100000)")
                        ->type_name("N");
  app.add_flag("--show", arg_.show, "print the CPU limits and counters");
  app.add_flag("--json", arg_.json, "with --show: one JSON object");
  vs::tool::add_common_options(app, arg_.common);
  int rc = 0;
  if (!vs::tool::parse_args(app, argc, argv, &rc)) return rc;

  auto xid = vs::tool::parse_xid_arg(arg_.xid);
  if (!xid) return vs::tool::report(kTool, xid.error());
  auto limits = parse_limits();
  if (!limits) return vs::tool::report(kTool, limits.error());
  vs::shim::LimitsChange change;
  change.cgroup = *limits;
  if (arg_.quota_opt->count() > 0) {
    auto p = parse_percent(arg_.quota);
    if (!p) return vs::tool::report(kTool, p.error());
    change.cpu_quota_percent = vs::shim::CpuQuotaPercent{*p, "--quota"};
  }
  if (change.empty() && !arg_.show) {
    return vs::tool::report(kTool, vs::usage_error("arguments",
                                                   "nothing to do (give --cpu-shares, --weight, "
                                                   "--quota, --quota-us, --period-us or --show)"));
  }
  vs::shim::ContextTable table(vs::tool::shim_config(arg_.common));
  if (auto r = table.prepare(); !r) return vs::tool::report(kTool, r.error());
  auto now = vs::shim::change_context_limits(table, *xid, change, arg_.show);
  if (!now) return vs::tool::report(kTool, now.error());
  if (arg_.show) show(**now);
  return vs::kExitOk;
}
