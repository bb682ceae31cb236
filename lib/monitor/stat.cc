#include "lib/monitor/stat.h"

#include <unistd.h>

#include <algorithm>
#include <map>

#include "kernel-shim/cgroup.h"
#include "lib/base/fs_at.h"
#include "lib/base/parse.h"

namespace vs::monitor {

Result<uint64_t> parse_statm_pages(std::string_view text) {
  const size_t end = text.find_first_of(" \n");
  auto v = parse_uint(text.substr(0, end), 0, UINT64_MAX / 65536, "statm size");
  if (!v) return make_error(ErrorKind::kFailed, "parse", "statm", "no size field", EINVAL);
  return *v;
}

namespace {

// Summed virtual size of `pids`; a process that ended meanwhile counts for nothing.
uint64_t sum_vsz(const std::vector<pid_t>& pids, const std::string& proc_root) {
  static const uint64_t kPage = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  uint64_t pages = 0;
  for (pid_t pid : pids) {
    auto text = read_file(proc_root + "/" + std::to_string(pid) + "/statm", 256);
    if (!text) continue;
    auto p = parse_statm_pages(*text);
    if (p) pages += *p;
  }
  return pages * kPage;
}

}  // namespace

namespace {

Result<ContextStat> stat_of(const shim::ContextTable& table, shim::Xid xid, int64_t now,
                            const std::string& proc_root, const std::vector<pid_t>* known) {
  auto state = table.read_state(xid);
  if (!state) return std::move(state).error();
  auto cg = shim::ContextCgroup::open(table.layout(), table.config().cgroup, xid);
  if (!cg) return std::move(cg).error();
  ContextStat s;
  s.xid = xid;
  s.name = state->name;
  s.created = state->created;
  if (state->created > 0 && now > state->created) s.uptime_s = now - state->created;
  std::vector<pid_t> read;
  if (!known) {
    auto pids = cg->pids();
    if (!pids) return std::move(pids).error();
    read = std::move(*pids);
    known = &read;
  }
  s.processes = known->size();
  s.vsz_bytes = sum_vsz(*known, proc_root);
  auto usage = shim::read_cgroup_usage(shim::LimitDirs::resolve(table.layout(), *cg));
  if (!usage) return std::move(usage).error().wrap("context " + xid.str());
  s.usage = std::move(*usage);
  return s;
}

}  // namespace

Result<ContextStat> collect_stat(const shim::ContextTable& table, shim::Xid xid, int64_t now,
                                 const std::string& proc_root) {
  auto found = table.lookup(xid);
  if (!found) return std::move(found).error();
  return stat_of(table, xid, now, proc_root, nullptr);
}

Result<std::vector<ContextStat>> collect_stats(const shim::ContextTable& table, int64_t now,
                                               const std::string& proc_root) {
  // A context with a process is alive: no need to lock and reap it (ContextTable::list()
  // would, at a few files per context). Only entries without a process are reaped.
  auto scanned = shim::scan_context_pids(table.layout(), table.config().cgroup.parent);
  if (!scanned) return std::move(scanned).error();
  std::map<uint16_t, const std::vector<pid_t>*> live;
  for (const auto& c : *scanned) {
    if (!c.pids.empty()) live[c.xid.value()] = &c.pids;
  }
  auto xids = table.entries();
  if (!xids) return std::move(xids).error();
  std::vector<ContextStat> out;
  out.reserve(xids->size());
  for (shim::Xid xid : *xids) {
    auto it = live.find(xid.value());
    const std::vector<pid_t>* pids = it == live.end() ? nullptr : it->second;
    if (!pids) {
      auto reaped = table.reap(xid);
      if (!reaped) return std::move(reaped).error();
      if (*reaped) continue;
    }
    auto s = stat_of(table, xid, now, proc_root, pids);
    if (!s) {
      // Reaped, removed or not yet recorded meanwhile: not a running context now.
      if (s.error().kind == ErrorKind::kNotFound || s.error().code == ENOENT) continue;
      return std::move(s).error();
    }
    out.push_back(std::move(*s));
  }
  return out;
}

}  // namespace vs::monitor
