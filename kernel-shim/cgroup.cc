// The parts of ContextCgroup that are the same for both hierarchies, and the helpers the
// cgroup files share (cgroup_backend.h). The layout is in cgroup_layout.cc, the xid of a
// process and the scan of every context in cgroup_scan.cc, the v1 and v2 specifics in
// cgroup_v1.cc and cgroup_v2.cc.
#include "kernel-shim/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <memory>
#include <utility>

#include "kernel-shim/cgroup_backend.h"
#include "lib/base/dir_stream.h"
#include "lib/base/fs_at.h"
#include "lib/base/parse.h"
#include "lib/base/scope_exit.h"

namespace vs::shim {

namespace cd = cgroup_detail;
using cd::binds;
using cd::check_parent;
using cd::split;
using cd::subdirs;

namespace {

Result<void> check_context_xid(Xid xid) {
  if (xid.is_context()) return ok();
  return usage_error("xid", "`" + xid.str() +
                                "` is not a context (0 is the host, 1 the watch "
                                "context; neither has a cgroup)");
}

bool wants(const CgroupSpec& spec, const std::string& controller) {
  return std::find(spec.v1_controllers.begin(), spec.v1_controllers.end(), controller) !=
         spec.v1_controllers.end();
}

// Where the directories of one context are, before anything is made.
struct Plan {
  std::string v2;
  struct V1Dir {
    std::string root;
    std::string path;
    bool cpuset = false;   // the hierarchy binds cpuset: new dirs need cpus and mems
    bool freezer = false;  // the hierarchy binds the freezer and the spec wants it
  };
  std::vector<V1Dir> v1;
};

Result<Plan> plan_for(const CgroupLayout& layout, const CgroupSpec& spec, Xid xid) {
  if (auto r = check_context_xid(xid); !r) return std::move(r).error();
  if (auto r = check_parent(spec.parent); !r) return std::move(r).error();
  if (layout.v2_root.empty()) {
    return make_error(ErrorKind::kFailed, "lookup", "cgroup2", "no cgroup2 hierarchy is mounted",
                      ENOENT);
  }
  Plan plan;
  const std::string rel = "/" + spec.parent + "/" + xid.str();
  plan.v2 = layout.v2_root + rel;
  for (const auto& h : layout.v1) {
    bool wanted = std::any_of(h.controllers.begin(), h.controllers.end(),
                              [&](const std::string& c) { return wants(spec, c); });
    if (!wanted) continue;
    Plan::V1Dir d;
    d.root = h.mount_point;
    d.path = h.mount_point + rel;
    d.cpuset = binds(h, "cpuset");
    d.freezer = binds(h, "freezer") && wants(spec, "freezer");
    plan.v1.push_back(std::move(d));
  }
  return plan;
}

Error busy(const std::string& path) {
  return make_error(ErrorKind::kWrongState, "create", path,
                    "a process is still in this context's cgroup", EBUSY);
}

// A directory left by a context that ended uncleanly is removed, never reused, so no limit
// or BPF program of the old context carries over. One with a process in it is a live context.
Result<void> remove_stale(const Plan& plan) {
  if (cd::exists(plan.v2)) {
    auto populated = cd::v2_populated(plan.v2);
    if (!populated) return std::move(populated).error();
    if (*populated) return busy(plan.v2);
  }
  for (const auto& d : plan.v1) {
    if (!cd::exists(d.path)) continue;
    auto pids = cd::read_procs_tree(d.path);
    if (!pids) return std::move(pids).error();
    if (!pids->empty()) return busy(d.path);
  }
  for (const auto& d : plan.v1) {
    if (!cd::exists(d.path)) continue;
    if (auto r = cd::remove_tree(d.path); !r) return r;
  }
  if (!cd::exists(plan.v2)) return ok();
  return cd::remove_tree(plan.v2);
}

Result<void> signal_all(const std::vector<pid_t>& pids, int sig) {
  std::optional<Error> first;
  for (pid_t pid : pids) {
    if (::kill(pid, sig) == 0) continue;
    int err = errno;
    if (err == ESRCH) continue;  // killed by someone else and reaped meanwhile
    if (!first) first = sys_error("kill", "pid " + std::to_string(pid), err);
  }
  if (first) return std::move(*first);
  return ok();
}

enum class Freezer { kV1, kV2 };

// While the cgroup is frozen no process in it runs: none forks, none exits by itself, so
// every pid read from cgroup.procs still names a process of the context when it is signalled.
Result<void> freeze_signal_thaw(const std::string& dir, Freezer freezer, int sig) {
  auto frozen = freezer == Freezer::kV1 ? cd::v1_freeze(dir, cd::kFreezeTimeout)
                                        : cd::v2_freeze(dir, cd::kFreezeTimeout);
  std::optional<Error> first;
  if (!frozen) {
    first = std::move(frozen).error();
  } else {
    auto pids = cd::read_procs_tree(dir);
    if (!pids) {
      first = std::move(pids).error();
    } else if (auto sent = signal_all(*pids, sig); !sent) {
      first = std::move(sent).error();
    }
  }
  // Thaw in every case, also after a failed or half-done freeze: a context left frozen
  // would hang every later stop and the signals just sent are only handled once thawed.
  auto thawed = freezer == Freezer::kV1 ? cd::v1_thaw(dir) : cd::v2_thaw(dir);
  if (first) return std::move(*first);
  return thawed;
}

// True if the v1 freezer holds (or is freezing) the context; unknown counts as no.
bool v1_frozen(const std::string& dir) {
  auto state = cd::v1_freezer_state(dir);
  return state && *state != "THAWED";
}

Error unsupported(const std::string& subject, const std::string& why) {
  return make_error(ErrorKind::kFailed, "kill", subject, why, ENOTSUP);
}

Result<UniqueFd> open_subdir(int fd, const std::string& name, const std::string& path) {
  UniqueFd sub(::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!sub) return sys_error("open", path);
  return sub;
}

Result<void> collect_procs(int fd, const std::string& path, bool top, std::vector<pid_t>& out) {
  auto text = read_file_at(fd, "cgroup.procs");
  if (!text) {
    Error e = std::move(text).error();
    // A threaded cgroup below the context has no process list of its own (its processes
    // are listed by its domain cgroup above).
    if (!top && e.code == EOPNOTSUPP) return ok();
    e.subject = path + "/cgroup.procs";
    return e;
  }
  auto pids = cd::parse_procs(*text, path + "/cgroup.procs");
  if (!pids) return std::move(pids).error();
  out.insert(out.end(), pids->begin(), pids->end());
  // cgroupfs (kernfs) keeps a directory's link count at 2 + its subdirectories: a leaf
  // needs no readdir (one fstat instead of seven calls; vps and vserver-stat do this for
  // every context).
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && st.st_nlink == 2) return ok();
  auto names = subdirs(fd, path);
  if (!names) return std::move(names).error();
  for (const auto& name : *names) {
    std::string sub_path = path + "/" + name;
    auto sub = open_subdir(fd, name, sub_path);
    if (!sub) {
      if (sub.error().code == ENOENT) continue;  // removed meanwhile
      return std::move(sub).error();
    }
    if (auto r = collect_procs(sub->get(), sub_path, false, out); !r) return r;
  }
  return ok();
}

Error rmdir_error(const std::string& path, int err) {
  if (err == EBUSY) {
    return make_error(ErrorKind::kWrongState, "rmdir", path, "a process is still in it", EBUSY);
  }
  return sys_error("rmdir", path, err);
}

Result<void> remove_children(int fd, const std::string& path) {
  auto names = subdirs(fd, path);
  if (!names) return std::move(names).error();
  for (const auto& name : *names) {
    std::string sub_path = path + "/" + name;
    auto sub = open_subdir(fd, name, sub_path);
    if (!sub) {
      if (sub.error().code == ENOENT) continue;
      return std::move(sub).error();
    }
    if (auto r = remove_children(sub->get(), sub_path); !r) return r;
    sub->reset();
    if (::unlinkat(fd, name.c_str(), AT_REMOVEDIR) < 0 && errno != ENOENT) {
      return rmdir_error(sub_path, errno);
    }
  }
  return ok();
}

}  // namespace

// ---- shared helpers (cgroup_backend.h) ----

namespace cgroup_detail {

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t end = text.find(sep, start);
    if (end == std::string_view::npos) {
      out.push_back(text.substr(start));
      return out;
    }
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
}

Result<void> check_parent(const std::string& parent) {
  auto bad = [&](const char* why) {
    return usage_error("cgroup parent",
                       "`" + parent + "` " + why + " (expected a relative path like `vservers`)");
  };
  if (parent.empty()) return bad("is empty");
  if (parent.front() == '/') return bad("is absolute");
  for (auto part : split(parent, '/')) {
    if (part.empty()) return bad("has an empty component");
    if (part == "." || part == "..") return bad("has a `.` or `..` component");
  }
  return ok();
}

bool binds(const CgroupLayout::V1& h, std::string_view controller) {
  return std::find(h.controllers.begin(), h.controllers.end(), controller) != h.controllers.end();
}

Result<std::vector<std::string>> subdirs(int fd, const std::string& path) {
  auto dir = DirStream::open(fd, path);
  if (!dir) return std::move(dir).error();
  std::vector<std::string> out;
  for (;;) {
    auto e = dir->next();
    if (!e) return std::move(e).error();
    if (!*e) return out;
    bool is_dir = (*e)->type == DT_DIR;
    if ((*e)->type == DT_UNKNOWN) {
      std::string name((*e)->name);
      struct stat st {};
      is_dir = ::fstatat(fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    }
    if (is_dir) out.emplace_back((*e)->name);
  }
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

Result<std::vector<pid_t>> parse_procs(std::string_view text, const std::string& file) {
  std::vector<pid_t> out;
  for (auto line : split(text, '\n')) {
    if (line.empty()) continue;
    auto pid = parse_uint(line, 1, 0x7fffffff, "pid");
    if (!pid) {
      return make_error(ErrorKind::kFailed, "parse", file,
                        "bad line `" + std::string(line) + "` (expected one pid per line)", EINVAL);
    }
    out.push_back(static_cast<pid_t>(*pid));
  }
  return out;
}

Result<std::vector<pid_t>> read_procs_tree(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return sys_error("open", dir);
  std::vector<pid_t> out;
  if (auto r = collect_procs(fd.get(), dir, true, out); !r) return std::move(r).error();
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<void> write_pid(const std::string& dir, pid_t pid) {
  return write_file(dir + "/cgroup.procs", std::to_string(pid));
}

Result<void> remove_tree(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return ok();
    return sys_error("open", dir);
  }
  if (auto r = remove_children(fd.get(), dir); !r) return r;
  fd.reset();
  if (::rmdir(dir.c_str()) < 0 && errno != ENOENT) return rmdir_error(dir, errno);
  return ok();
}

Result<void> make_dirs(const std::string& root, const std::string& parent, const std::string& leaf,
                       Transaction& tx, LevelHook on_level) {
  std::vector<std::string_view> parts = split(parent, '/');
  parts.push_back(leaf);
  std::string path = root;
  for (size_t i = 0; i < parts.size(); ++i) {
    path += '/';
    path += parts[i];
    bool is_leaf = i + 1 == parts.size();
    if (::mkdir(path.c_str(), 0755) == 0) {
      tx.on_rollback([p = path] { ::rmdir(p.c_str()); });
    } else {
      int err = errno;
      if (err != EEXIST) return sys_error("mkdir", path, err);
      if (is_leaf) {
        return make_error(ErrorKind::kWrongState, "mkdir", path,
                          "exists already (a concurrent create?)", EEXIST);
      }
      struct stat st {};
      if (::lstat(path.c_str(), &st) < 0) return sys_error("stat", path);
      if (!S_ISDIR(st.st_mode)) {
        return make_error(ErrorKind::kFailed, "mkdir", path, "exists and is not a directory",
                          ENOTDIR);
      }
    }
    if (on_level) {
      if (auto r = on_level(path); !r) return r;
    }
  }
  return ok();
}

void pause_briefly(int attempt) {
  long ms = 1L << std::min(attempt, 5);
  if (ms > 20) ms = 20;
  struct timespec ts {};
  ts.tv_nsec = ms * 1000 * 1000;
  ::nanosleep(&ts, nullptr);
}

}  // namespace cgroup_detail

const std::vector<std::string>& default_v1_controllers() {
  // Only hierarchies with a job: each costs a mkdir, an attach and an rmdir per context
  // (about 0.2 ms each here). devices and blkio come back with device rules and io limits.
  static const std::vector<std::string> kDefault{"cpu",  "cpuacct", "cpuset",
                                                 "memory", "pids", "freezer"};
  return kDefault;
}

// ---- ContextCgroup ----

Result<ContextCgroup> ContextCgroup::create(const CgroupLayout& layout, const CgroupSpec& spec,
                                            Xid xid) {
  const std::string what = "create cgroups of context " + xid.str();
  auto plan = plan_for(layout, spec, xid);
  if (!plan) return std::move(plan).error().wrap(what);
  if (auto r = remove_stale(*plan); !r) return std::move(r).error().wrap(what);

  Transaction tx;
  ContextCgroup cg(xid);
  if (auto r = cd::make_dirs(layout.v2_root, spec.parent, xid.str(), tx, nullptr); !r) {
    return std::move(r).error().wrap(what);
  }
  cg.v2_path_ = plan->v2;
  auto fd = open_path(cg.v2_path_, O_RDONLY | O_DIRECTORY);
  if (!fd) return std::move(fd).error().wrap(what);
  cg.v2_fd_ = std::move(*fd);
  for (const auto& d : plan->v1) {
    cd::LevelHook hook = d.cpuset ? &cd::v1_inherit_cpuset : nullptr;
    if (auto r = cd::make_dirs(d.root, spec.parent, xid.str(), tx, hook); !r) {
      return std::move(r).error().wrap(what);
    }
    cg.v1_paths_.push_back(d.path);
    if (d.freezer) cg.freezer_path_ = d.path;
  }
  tx.commit();
  return cg;
}

Result<ContextCgroup> ContextCgroup::open(const CgroupLayout& layout, const CgroupSpec& spec,
                                          Xid xid) {
  const std::string what = "open cgroups of context " + xid.str();
  auto plan = plan_for(layout, spec, xid);
  if (!plan) return std::move(plan).error().wrap(what);
  ContextCgroup cg(xid);
  cg.v2_path_ = plan->v2;
  auto fd = open_path(cg.v2_path_, O_RDONLY | O_DIRECTORY);
  if (!fd) {
    if (fd.error().code == ENOENT) {
      return make_error(ErrorKind::kNotFound, "lookup", "context " + xid.str(), "no cgroup",
                        ENOENT);
    }
    return std::move(fd).error().wrap(what);
  }
  cg.v2_fd_ = std::move(*fd);
  for (const auto& d : plan->v1) {
    struct stat st {};
    if (::stat(d.path.c_str(), &st) < 0 || !S_ISDIR(st.st_mode)) continue;
    cg.v1_paths_.push_back(d.path);
    if (d.freezer) cg.freezer_path_ = d.path;
  }
  return cg;
}

Result<void> ContextCgroup::attach(pid_t pid) const {
  if (pid <= 0) return usage_error("pid", "`" + std::to_string(pid) + "` is not a process id");
  if (auto r = cd::write_pid(v2_path_, pid); !r) {
    return std::move(r).error().wrap("attach pid " + std::to_string(pid) + " to context " +
                                     xid_.str());
  }
  return attach_v1(pid);
}

Result<void> ContextCgroup::attach_v1(pid_t pid) const {
  if (pid <= 0) return usage_error("pid", "`" + std::to_string(pid) + "` is not a process id");
  for (const auto& dir : v1_paths_) {
    if (auto r = cd::write_pid(dir, pid); !r) {
      return std::move(r).error().wrap("attach pid " + std::to_string(pid) + " to context " +
                                       xid_.str());
    }
  }
  return ok();
}

Result<std::vector<UniqueFd>> ContextCgroup::open_procs_files() const {
  std::vector<UniqueFd> out;
  std::vector<const std::string*> dirs{&v2_path_};
  for (const auto& d : v1_paths_) dirs.push_back(&d);
  for (const auto* dir : dirs) {
    auto fd = open_path(*dir + "/cgroup.procs", O_WRONLY);
    if (!fd) return std::move(fd).error().wrap("open cgroups of context " + xid_.str());
    out.push_back(std::move(*fd));
  }
  return out;
}

Result<std::vector<pid_t>> ContextCgroup::pids() const {
  auto pids = cd::read_procs_tree(v2_path_);
  if (!pids) return std::move(pids).error().wrap("list processes of context " + xid_.str());
  return pids;
}

Result<bool> ContextCgroup::populated() const {
  auto p = cd::v2_populated(v2_path_);
  if (!p) return std::move(p).error().wrap("context " + xid_.str());
  return p;
}

Result<void> ContextCgroup::kill(int sig, KillMethod method) const {
  const std::string what = "kill context " + xid_.str();
  if (sig < 1 || sig >= NSIG) {
    return usage_error("signal", "`" + std::to_string(sig) + "` is not a signal number (1.." +
                                     std::to_string(NSIG - 1) + ")");
  }
  const bool can_kill = cd::exists(v2_path_ + "/cgroup.kill");
  const bool can_freeze_v2 = cd::exists(v2_path_ + "/cgroup.freeze");
  const bool can_freeze_v1 = !freezer_path_.empty() && cd::exists(freezer_path_ + "/freezer.state");
  if (method == KillMethod::kAuto) {
    if (sig == SIGKILL && can_kill) {
      method = KillMethod::kCgroupKill;
    } else if (can_freeze_v1 && v1_frozen(freezer_path_)) {
      // Tasks frozen by the v1 freezer never reach the v2 freezer's trap: a v2 freeze
      // would wait for them in vain. Use the freezer that holds them already.
      method = KillMethod::kFreezeV1;
    } else {
      method = can_freeze_v2 ? KillMethod::kFreezeV2 : KillMethod::kFreezeV1;
    }
  }
  Result<void> r;
  switch (method) {
    case KillMethod::kAuto:
    case KillMethod::kCgroupKill:
      if (sig != SIGKILL) {
        return usage_error("kill method", "cgroup.kill sends SIGKILL only, not SIG" +
                                              signal_name(sig) + " (use a freeze method)");
      }
      if (!can_kill) {
        return unsupported(v2_path_ + "/cgroup.kill", "the kernel has no cgroup.kill").wrap(what);
      }
      r = cd::v2_cgroup_kill(v2_path_);
      // A task frozen by the v1 freezer (a kill that crashed half-way) does not die before
      // it is thawed.
      if (r && can_freeze_v1 && v1_frozen(freezer_path_)) r = cd::v1_thaw(freezer_path_);
      break;
    case KillMethod::kFreezeV2:
      if (!can_freeze_v2) {
        return unsupported(v2_path_ + "/cgroup.freeze", "the kernel has no cgroup v2 freezer")
            .wrap(what);
      }
      r = freeze_signal_thaw(v2_path_, Freezer::kV2, sig);
      break;
    case KillMethod::kFreezeV1:
      if (!can_freeze_v1) {
        return unsupported("context " + xid_.str(),
                           "no v1 freezer directory (freezer not bound in v1 or not wanted)")
            .wrap(what);
      }
      r = freeze_signal_thaw(freezer_path_, Freezer::kV1, sig);
      break;
  }
  // After SIGKILL the caller may rmdir at once: wait until every process has exited.
  if (r && sig == SIGKILL) {
    r = cd::v2_wait_events(v2_path_, "populated", "0", cd::kEmptyTimeout,
                           "processes are still running after SIGKILL");
  }
  if (!r) return std::move(r).error().wrap(what);
  return ok();
}

Result<void> ContextCgroup::remove() const {
  std::optional<Error> first;
  for (const auto& dir : v1_paths_) {
    if (auto r = cd::remove_tree(dir); !r && !first) first = std::move(r).error();
  }
  if (!v2_path_.empty()) {
    if (auto r = cd::remove_tree(v2_path_); !r && !first) first = std::move(r).error();
  }
  if (first) return std::move(*first).wrap("remove cgroups of context " + xid_.str());
  return ok();
}

}  // namespace vs::shim
