#include "lib/monitor/stat.h"

#include <unistd.h>

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

Result<ContextStat> collect_stat(const shim::ContextTable& table, shim::Xid xid, int64_t now,
                                 const std::string& proc_root) {
  auto state = table.read_state(xid);
  if (!state) return std::move(state).error();
  auto cg = shim::ContextCgroup::open(table.layout(), table.config().cgroup, xid);
  if (!cg) return std::move(cg).error();
  ContextStat s;
  s.xid = xid;
  s.name = state->name;
  s.created = state->created;
  if (state->created > 0 && now > state->created) s.uptime_s = now - state->created;
  auto pids = cg->pids();
  if (!pids) return std::move(pids).error();
  s.processes = pids->size();
  s.vsz_bytes = sum_vsz(*pids, proc_root);
  auto usage = shim::read_cgroup_usage(shim::LimitDirs::resolve(table.layout(), *cg));
  if (!usage) return std::move(usage).error().wrap("context " + xid.str());
  s.usage = std::move(*usage);
  return s;
}

Result<std::vector<ContextStat>> collect_stats(const shim::ContextTable& table, int64_t now,
                                               const std::string& proc_root) {
  auto xids = table.list();
  if (!xids) return std::move(xids).error();
  std::vector<ContextStat> out;
  out.reserve(xids->size());
  for (shim::Xid xid : *xids) {
    auto s = collect_stat(table, xid, now, proc_root);
    if (!s) {
      // Reaped or removed between list() and here: it is no longer running.
      if (s.error().kind == ErrorKind::kNotFound || s.error().code == ENOENT) continue;
      return std::move(s).error();
    }
    out.push_back(std::move(*s));
  }
  return out;
}

}  // namespace vs::monitor
