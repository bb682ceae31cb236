// The xid of a process (its /proc/PID/cgroup) and the processes of every context in one pass
// over the v2 hierarchy.
#include <errno.h>
#include <fcntl.h>

#include <algorithm>

#include "kernel-shim/cgroup.h"
#include "kernel-shim/cgroup_backend.h"
#include "lib/base/fs_at.h"

namespace vs::shim {

namespace cd = cgroup_detail;
using cd::check_parent;
using cd::split;
using cd::subdirs;

Result<Xid> xid_from_cgroup_file(std::string_view text, const std::string& parent) {
  if (auto r = check_parent(parent); !r) return std::move(r).error();
  const std::string prefix = "/" + parent + "/";
  for (auto line : split(text, '\n')) {
    if (line.substr(0, 3) != "0::") continue;
    std::string_view path = line.substr(3);
    if (path.substr(0, prefix.size()) != prefix) return Xid(Xid::kHost);
    std::string_view name = path.substr(prefix.size());
    name = name.substr(0, name.find('/'));
    // Only the names create() makes are contexts: a canonical decimal 2..65535. Anything
    // else under the parent ("042", "1", "abc") was not made by us and is not a context.
    auto xid = Xid::parse(name);
    if (!xid || !xid->is_context()) return Xid(Xid::kHost);
    return *xid;
  }
  return make_error(ErrorKind::kFailed, "parse", "cgroup file", "no cgroup v2 line (`0::PATH`)",
                    EINVAL);
}

Result<Xid> xid_of_pid(pid_t pid, const std::string& parent, const std::string& proc_root) {
  const std::string subject = "pid " + std::to_string(pid);
  if (pid <= 0) return usage_error("pid", "`" + std::to_string(pid) + "` is not a process id");
  const std::string file = proc_root + "/" + std::to_string(pid) + "/cgroup";
  auto text = read_file(file, 64 << 10);
  if (!text) {
    int code = text.error().code;
    if (code == ENOENT || code == ESRCH) {
      return make_error(ErrorKind::kNotFound, "lookup", subject, "no such process", ESRCH);
    }
    return std::move(text).error().wrap("xid of " + subject);
  }
  auto xid = xid_from_cgroup_file(*text, parent);
  if (!xid) {
    Error e = std::move(xid).error();
    if (e.op == "parse") e.subject = file;
    return std::move(e).wrap("xid of " + subject);
  }
  return xid;
}

Result<std::vector<ContextPids>> scan_context_pids(const CgroupLayout& layout,
                                                   const std::string& parent, PidScan depth) {
  if (auto r = check_parent(parent); !r) return std::move(r).error();
  std::vector<ContextPids> out;
  if (layout.v2_root.empty()) return out;
  const std::string top = layout.v2_root + "/" + parent;
  UniqueFd fd(::open(top.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return out;  // no context was ever made
    return sys_error("open", top);
  }
  auto names = subdirs(fd.get(), top);
  if (!names) return std::move(names).error();
  std::vector<char> buf;  // one buffer for every context's file (kOwn)
  for (const auto& name : *names) {
    auto xid = Xid::parse(name);
    if (!xid || !xid->is_context()) continue;
    if (depth == PidScan::kOwn) {
      auto len = read_into_at(fd.get(), name + "/cgroup.procs", buf, ReadEnd::kZero);
      if (!len) {
        // Removed meanwhile (ENOENT, or ENODEV while we read), or not a directory.
        int code = len.error().code;
        if (code == ENOENT || code == ENODEV || code == ENOTDIR) continue;
        Error e = std::move(len).error();
        e.subject = top + "/" + e.subject;
        return e;
      }
      auto pids =
          cd::parse_procs(std::string_view(buf.data(), *len), top + "/" + name + "/cgroup.procs");
      if (!pids) return std::move(pids).error();
      std::sort(pids->begin(), pids->end());
      out.push_back({*xid, std::move(*pids)});
      continue;
    }
    auto pids = cd::read_procs_tree(top + "/" + name);
    if (!pids) {
      if (pids.error().code == ENOENT) continue;  // reaped meanwhile
      return std::move(pids).error().wrap("processes of context " + name);
    }
    out.push_back({*xid, std::move(*pids)});
  }
  std::sort(out.begin(), out.end(),
            [](const ContextPids& a, const ContextPids& b) { return a.xid < b.xid; });
  return out;
}

}  // namespace vs::shim
