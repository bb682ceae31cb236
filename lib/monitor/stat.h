// vserver-stat's data (DESIGN.md "monitoring"): one row per running context, from the cgroup
// accounting of the context, never by summing /proc over every process, except VSZ, which no
// cgroup counts (it is summed from PROC/PID/statm of the context's processes).
//
// Where each field comes from:
//   processes    lines of the v2 cgroup.procs of the context (and its sub-cgroups)
//   tasks        pids.current (threads included)
//   vsz          sum of PROC/PID/statm field 1 (pages) * page size over those processes
//   rss          v1 memory.stat total_rss + total_mapped_file; v2 memory.stat anon + file_mapped
//   memory       v1 memory.usage_in_bytes, v2 memory.current (page cache included)
//   user/system  v1 cpuacct.usage_user / usage_sys, v2 cpu.stat user_usec / system_usec
//   uptime       now - the context's creation time in its state file
//   oom_kills    v1 memory.oom_control oom_kill, v2 memory.events oom_kill
//   memory hits  v1 memory.failcnt, v2 memory.events max
//   pids hits    pids.events max
//   throttled    cpu.stat nr_throttled (and throttled time)
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernel-shim/context_table.h"
#include "kernel-shim/limits.h"
#include "kernel-shim/xid.h"
#include "lib/base/result.h"

namespace vs::monitor {

struct ContextStat {
  shim::Xid xid{0};
  std::string name;          ///< from the state file, raw (escape before printing); may be empty
  uint64_t processes = 0;    ///< processes (not threads) in the context
  uint64_t vsz_bytes = 0;    ///< summed virtual size of those processes
  int64_t created = 0;       ///< unix time the context was made (0: unknown)
  int64_t uptime_s = 0;      ///< now - created (0 if unknown)
  shim::CgroupUsage usage;   ///< counters; a field is empty where the kernel lacks it
};

/// The virtual size in pages: the first field of a /proc/PID/statm text.
Result<uint64_t> parse_statm_pages(std::string_view text);

/// The stats of every live context of `table` (after it reaped the dead ones), sorted by
/// xid. `now` is the unix time uptime is counted to. A context that ends while it is read
/// is left out. PROC/PID/statm is read under `proc_root`.
Result<std::vector<ContextStat>> collect_stats(const shim::ContextTable& table, int64_t now,
                                               const std::string& proc_root = "/proc");

/// One context's stats (exit-3 error if it does not exist).
Result<ContextStat> collect_stat(const shim::ContextTable& table, shim::Xid xid, int64_t now,
                                 const std::string& proc_root = "/proc");

}  // namespace vs::monitor
