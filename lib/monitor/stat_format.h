// vserver-stat's three renderings of ContextStat rows: the classic table, JSON and the
// Prometheus text exposition format. Every guest-controlled string (the name) is escaped
// here (lib/base/escape.h); the numbers are ours.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lib/monitor/stat.h"

namespace vs::monitor {

/// A size as util-vserver's vserver-stat showed it: bytes below 1 KiB ("512"), else one
/// decimal and a binary unit ("1.5K", "64.0M", "2.0G", "1.0T").
std::string human_size(uint64_t bytes);

/// A duration in the style of util-vserver's vserver-stat, always 7+ characters:
/// under an hour "MmSSsCC" (minutes, seconds, hundredths: "0m05s25"), under a day
/// "HhMMmSS" ("3h04m05"), else "DdHHhMM" ("2d03h12").
std::string human_duration_usec(uint64_t usec);

/// The name column: the guest name escaped for a terminal and capped, "-" for none.
std::string display_name(const std::string& name);

/// The table: a header line "CTX PROC VSZ RSS userTIME sysTIME UPTIME NAME" and one line
/// per context; `fail_counters` inserts OOM MEMFAIL PIDFAIL THROTTLED before NAME. A value
/// the kernel does not offer is "-".
std::string format_stat_table(const std::vector<ContextStat>& rows, bool fail_counters);

/// {"contexts":[{...}, ...]}: one object per context with the keys xid (number), name
/// (string or null), processes, tasks, vsz_bytes, rss_bytes, memory_bytes, cpu_user_usec,
/// cpu_system_usec, cpu_usec, created, uptime_seconds, oom_kills, memory_limit_hits,
/// pids_limit_hits, cpu_periods, cpu_throttled_periods, cpu_throttled_usec (numbers, null
/// where the kernel does not offer them). Always valid JSON; ends with a newline.
std::string format_stat_json(const std::vector<ContextStat>& rows);

/// The Prometheus text format (0.0.4): for each metric a HELP and a TYPE line, then one
/// sample per context labelled {xid="N",name="NAME"}; samples the kernel does not offer are
/// left out. Metrics: vserver_contexts, vserver_context_{processes,tasks,vsz_bytes,
/// rss_bytes,memory_usage_bytes,uptime_seconds} (gauges), vserver_context_cpu_{user,system}
/// _seconds_total, vserver_context_{oom_kills,memory_limit_hits,pids_limit_hits,
/// cpu_throttled_periods}_total (counters).
std::string format_stat_prometheus(const std::vector<ContextStat>& rows);

}  // namespace vs::monitor
