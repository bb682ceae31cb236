#include "lib/monitor/stat_format.h"

#include <cinttypes>
#include <cstdio>
#include <functional>
#include <optional>

#include "lib/base/escape.h"

namespace vs::monitor {
namespace {

// Longest name shown in the table: a guest name (a DNS label) is at most 63 bytes.
constexpr size_t kNameCap = 63;

std::string u64(uint64_t v) { return std::to_string(v); }

std::string opt_or_dash(const std::optional<uint64_t>& v) { return v ? u64(*v) : "-"; }

std::string json_opt(const std::optional<uint64_t>& v) { return v ? u64(*v) : "null"; }

void pad_left(std::string& out, const std::string& s, size_t width) {
  if (s.size() < width) out.append(width - s.size(), ' ');
  out += s;
}

}  // namespace

std::string human_size(uint64_t bytes) {
  if (bytes < 1024) return u64(bytes);
  static const char kUnits[] = "KMGTPE";
  double v = static_cast<double>(bytes) / 1024.0;
  size_t u = 0;
  while (v >= 1024.0 && u + 1 < sizeof kUnits - 1) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%c", v, kUnits[u]);
  return buf;
}

std::string human_duration_usec(uint64_t usec) {
  const uint64_t cs = usec / 10000;
  const uint64_t s = usec / 1000000;
  char buf[48];
  if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%" PRIu64 "m%02" PRIu64 "s%02" PRIu64, s / 60, s % 60,
                  cs % 100);
  } else if (s < 86400) {
    std::snprintf(buf, sizeof buf, "%" PRIu64 "h%02" PRIu64 "m%02" PRIu64, s / 3600,
                  (s / 60) % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%" PRIu64 "d%02" PRIu64 "h%02" PRIu64, s / 86400,
                  (s / 3600) % 24, (s / 60) % 60);
  }
  return buf;
}

std::string display_name(const std::string& name) {
  return name.empty() ? "-" : escape_terminal(name, kNameCap);
}

std::string format_stat_table(const std::vector<ContextStat>& rows, bool fail_counters) {
  std::string out = "CTX    PROC    VSZ    RSS  userTIME   sysTIME    UPTIME";
  if (fail_counters) out += "    OOM MEMFAIL PIDFAIL THROTTLED";
  out += " NAME\n";
  auto time_or_dash = [](const std::optional<uint64_t>& usec) {
    return usec ? human_duration_usec(*usec) : std::string("-");
  };
  for (const auto& r : rows) {
    std::string line = r.xid.str();
    line.append(line.size() < 5 ? 5 - line.size() : 0, ' ');
    pad_left(line, u64(r.processes), 6);
    pad_left(line, human_size(r.vsz_bytes), 7);
    pad_left(line, r.usage.memory_rss ? human_size(*r.usage.memory_rss) : "-", 7);
    pad_left(line, time_or_dash(r.usage.cpu_user_usec), 10);
    pad_left(line, time_or_dash(r.usage.cpu_system_usec), 10);
    pad_left(line, human_duration_usec(static_cast<uint64_t>(r.uptime_s) * 1000000), 10);
    if (fail_counters) {
      pad_left(line, opt_or_dash(r.usage.memory_oom_kill), 7);
      pad_left(line, opt_or_dash(r.usage.memory_failcnt), 8);
      pad_left(line, opt_or_dash(r.usage.pids_max_hits), 8);
      pad_left(line, opt_or_dash(r.usage.cpu_nr_throttled), 10);
    }
    line += ' ';
    line += display_name(r.name);
    out += line + "\n";
  }
  return out;
}

std::string format_stat_json(const std::vector<ContextStat>& rows) {
  std::string out = "{\"contexts\":[";
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    const auto& u = r.usage;
    if (i > 0) out += ",";
    out += "{\"xid\":" + r.xid.str();
    out += ",\"name\":" + (r.name.empty() ? std::string("null") : json_string(r.name));
    out += ",\"processes\":" + u64(r.processes);
    out += ",\"tasks\":" + json_opt(u.pids_current);
    out += ",\"vsz_bytes\":" + u64(r.vsz_bytes);
    out += ",\"rss_bytes\":" + json_opt(u.memory_rss);
    out += ",\"memory_bytes\":" + json_opt(u.memory_current);
    out += ",\"cpu_user_usec\":" + json_opt(u.cpu_user_usec);
    out += ",\"cpu_system_usec\":" + json_opt(u.cpu_system_usec);
    out += ",\"cpu_usec\":" + json_opt(u.cpu_usage_usec);
    out += ",\"created\":" + std::to_string(r.created);
    out += ",\"uptime_seconds\":" + std::to_string(r.uptime_s);
    out += ",\"oom_kills\":" + json_opt(u.memory_oom_kill);
    out += ",\"memory_limit_hits\":" + json_opt(u.memory_failcnt);
    out += ",\"pids_limit_hits\":" + json_opt(u.pids_max_hits);
    out += ",\"cpu_periods\":" + json_opt(u.cpu_nr_periods);
    out += ",\"cpu_throttled_periods\":" + json_opt(u.cpu_nr_throttled);
    out += ",\"cpu_throttled_usec\":" + json_opt(u.cpu_throttled_usec);
    out += "}";
  }
  return out + "]}\n";
}

std::string format_stat_prometheus(const std::vector<ContextStat>& rows) {
  std::string out;
  out += "# HELP vserver_contexts Running contexts.\n# TYPE vserver_contexts gauge\n";
  out += "vserver_contexts " + u64(rows.size()) + "\n";
  auto labels = [](const ContextStat& r) {
    return "{xid=\"" + r.xid.str() + "\",name=\"" + prometheus_label(r.name) + "\"}";
  };
  using Get = std::function<std::optional<std::string>(const ContextStat&)>;
  auto metric = [&](const char* name, const char* type, const char* help, const Get& get) {
    out += std::string("# HELP ") + name + " " + help + "\n";
    out += std::string("# TYPE ") + name + " " + type + "\n";
    for (const auto& r : rows) {
      if (auto v = get(r)) out += name + labels(r) + " " + *v + "\n";
    }
  };
  auto num = [](const std::optional<uint64_t>& v) -> std::optional<std::string> {
    if (!v) return std::nullopt;
    return u64(*v);
  };
  auto seconds = [](const std::optional<uint64_t>& usec) -> std::optional<std::string> {
    if (!usec) return std::nullopt;
    char buf[40];
    std::snprintf(buf, sizeof buf, "%" PRIu64 ".%06" PRIu64, *usec / 1000000, *usec % 1000000);
    return std::string(buf);
  };
  metric("vserver_context_processes", "gauge", "Processes in the context (cgroup.procs).",
         [](const ContextStat& r) { return std::optional<std::string>(u64(r.processes)); });
  metric("vserver_context_tasks", "gauge", "Tasks (threads) in the context (pids.current).",
         [&](const ContextStat& r) { return num(r.usage.pids_current); });
  metric("vserver_context_vsz_bytes", "gauge", "Summed virtual size of the processes.",
         [](const ContextStat& r) { return std::optional<std::string>(u64(r.vsz_bytes)); });
  metric("vserver_context_rss_bytes", "gauge",
         "Resident memory mapped by the processes (cgroup memory.stat).",
         [&](const ContextStat& r) { return num(r.usage.memory_rss); });
  metric("vserver_context_memory_usage_bytes", "gauge",
         "Memory charged to the context, page cache included.",
         [&](const ContextStat& r) { return num(r.usage.memory_current); });
  metric("vserver_context_uptime_seconds", "gauge", "Seconds since the context was created.",
         [](const ContextStat& r) {
           return std::optional<std::string>(std::to_string(r.uptime_s));
         });
  metric("vserver_context_cpu_user_seconds_total", "counter", "CPU time spent in user mode.",
         [&](const ContextStat& r) { return seconds(r.usage.cpu_user_usec); });
  metric("vserver_context_cpu_system_seconds_total", "counter",
         "CPU time spent in kernel mode.",
         [&](const ContextStat& r) { return seconds(r.usage.cpu_system_usec); });
  metric("vserver_context_oom_kills_total", "counter",
         "Processes killed by the OOM killer in the context.",
         [&](const ContextStat& r) { return num(r.usage.memory_oom_kill); });
  metric("vserver_context_memory_limit_hits_total", "counter",
         "Times the memory usage hit the limit.",
         [&](const ContextStat& r) { return num(r.usage.memory_failcnt); });
  metric("vserver_context_pids_limit_hits_total", "counter",
         "Forks refused because of the pids limit.",
         [&](const ContextStat& r) { return num(r.usage.pids_max_hits); });
  metric("vserver_context_cpu_throttled_periods_total", "counter",
         "CPU quota periods in which the context was throttled.",
         [&](const ContextStat& r) { return num(r.usage.cpu_nr_throttled); });
  return out;
}

}  // namespace vs::monitor
