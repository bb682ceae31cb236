#include "kernel-shim/context_table.h"

#include <algorithm>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "kernel-shim/netiso.h"
#include "kernel-shim/run_cache.h"
#include "lib/base/dir_stream.h"
#include "lib/base/fs_at.h"

namespace vs::shim {

ShimConfig ShimConfig::from_env() {
  ShimConfig c;
  if (const char* v = ::getenv("VSERVER_RUNDIR"); v && *v) c.rundir = v;
  if (const char* v = ::getenv("VSERVER_CGROUP_PARENT"); v && *v) c.cgroup.parent = v;
  return c;
}

ContextTable::ContextTable(ShimConfig config) : config_(std::move(config)) {}

std::string ContextTable::entry_dir(Xid xid) const { return config_.rundir + "/" + xid.str(); }
std::string ContextTable::ns_dir(Xid xid) const { return entry_dir(xid) + "/ns"; }
std::string ContextTable::lock_path(Xid xid) const {
  return config_.rundir + "/" + xid.str() + ".lock";
}

namespace {

// True if `path` is the root of a tmpfs mount.
bool is_tmpfs_mount_point(const std::string& path) {
  struct statfs fs {};
  if (::statfs(path.c_str(), &fs) < 0 || fs.f_type != TMPFS_MAGIC) return false;
  struct stat self {}, parent {};
  if (::stat(path.c_str(), &self) < 0) return false;
  if (::stat((path + "/..").c_str(), &parent) < 0) return false;
  return self.st_dev != parent.st_dev || self.st_ino == parent.st_ino;
}

}  // namespace

Result<void> ContextTable::prepare() {
  auto layout = CgroupLayout::discover(config_.mountinfo);
  if (!layout) return std::move(layout).error().wrap("prepare context table");
  layout_ = std::move(*layout);
  if (layout_.v2_root.empty()) {
    return make_error(ErrorKind::kFailed, "prepare context table", "cgroup2",
                      "no cgroup2 hierarchy is mounted (needed for cgroup.kill, events and "
                      "CLONE_INTO_CGROUP)",
                      ENOENT);
  }
  const std::string& dir = config_.rundir;
  if (is_tmpfs_mount_point(dir)) return ok();
  if (auto r = ensure_dir(dir, 0700); !r) return std::move(r).error().wrap("prepare run dir");
  // Serialise concurrent first uses: whoever mounts holds a lock on the underlying dir; a
  // late comer re-checks after taking it and finds the tmpfs.
  UniqueFd under(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!under) return sys_error("open", dir);
  if (::flock(under.get(), LOCK_EX) < 0) return sys_error("flock", dir);
  if (is_tmpfs_mount_point(dir)) return ok();
  if (::mount("vservers", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "mode=0700,size=16m") < 0) {
    if (errno == EPERM) {
      // Not the host's administrator: most likely a process of a sealed context, from
      // which the table is hidden on purpose.
      return make_error(ErrorKind::kWrongState, "open the context table", dir,
                        "out of reach here (hidden inside a sealed context; setting it up "
                        "needs CAP_SYS_ADMIN)",
                        EPERM);
    }
    return sys_error("mount tmpfs", dir);
  }
  // Private: a pinned mount namespace must never propagate into itself (or a guest).
  if (::mount(nullptr, dir.c_str(), nullptr, MS_PRIVATE, nullptr) < 0) {
    Error e = sys_error("make private", dir);
    ::umount2(dir.c_str(), MNT_DETACH);
    return e;
  }
  return ok();
}

Result<FileLock> ContextTable::lock(Xid xid, bool wait) const {
  auto l = FileLock::acquire(lock_path(xid), wait);
  if (!l) return std::move(l).error().wrap("lock context " + xid.str());
  return l;
}

Result<ContextState> ContextTable::read_state(Xid xid) const {
  std::string file = entry_dir(xid) + "/state";
  auto text = read_file(file, 64 * 1024);
  if (!text) {
    if (text.error().code == ENOENT) {
      return make_error(ErrorKind::kNotFound, "lookup", "context " + xid.str(),
                        "no such context", ENOENT);
    }
    return std::move(text).error();
  }
  return ContextState::parse(*text, file);
}

Result<void> ContextTable::write_state(const ContextState& state) const {
  UniqueFd dir(::open(entry_dir(state.xid).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return sys_error("open", entry_dir(state.xid));
  auto r = atomic_write_at(dir.get(), "state", state.serialize(), 0600);
  if (!r) return std::move(r).error().wrap("write " + entry_dir(state.xid) + "/state");
  return ok();
}

Result<bool> ContextTable::alive(Xid xid) const {
  auto cg = ContextCgroup::open(layout_, config_.cgroup, xid);
  if (!cg) {
    if (cg.error().kind == ErrorKind::kNotFound) return false;
    return std::move(cg).error();
  }
  return cg->populated();
}

Result<bool> ContextTable::reap(Xid xid, bool force, bool wait) const {
  struct stat st {};
  if (::lstat(entry_dir(xid).c_str(), &st) < 0 && errno == ENOENT) {
    // No entry; a lock file without an entry is a leftover of a creator that died early.
    if (::access(lock_path(xid).c_str(), F_OK) != 0) return false;
  }
  auto lk = FileLock::acquire(lock_path(xid), wait);
  if (!lk) {
    if (lk.error().code == EWOULDBLOCK) return false;  // being created or changed
    return std::move(lk).error();
  }
  return reap_locked(xid, std::move(*lk), force);
}

Result<bool> ContextTable::reap_locked(Xid xid, FileLock lock, bool force) const {
  FileLock* lk = &lock;
  auto state = read_state(xid);
  if (state && state->persistent && !force) return false;
  auto live = alive(xid);
  if (!live) return std::move(live).error().wrap("reap context " + xid.str());
  if (*live) return false;

  std::optional<Error> first;
  // While the context's network namespace is still pinned: the host side of its network.
  struct stat hostns {};
  if ((state && state->net.isolated) ||
      ::lstat((entry_dir(xid) + "/hostns").c_str(), &hostns) == 0) {
    auto r = teardown_isolated_net(*this, xid, state ? state->net : NetState{});
    if (!r) first = std::move(r).error();
  }
  if (auto r = unpin_namespaces(ns_dir(xid)); !r && !first) first = std::move(r).error();
  RunCache(entry_dir(xid)).drop(kEntrySeccomp);
  std::string state_file = entry_dir(xid) + "/state";
  if (::unlink(state_file.c_str()) < 0 && errno != ENOENT && !first) {
    first = sys_error("unlink", state_file);
  }
  if (::rmdir(entry_dir(xid).c_str()) < 0 && errno != ENOENT && !first) {
    first = sys_error("rmdir", entry_dir(xid));
  }
  auto cg = ContextCgroup::open(layout_, config_.cgroup, xid);
  if (cg) {
    if (auto r = cg->remove(); !r && !first) first = std::move(r).error();
  } else if (cg.error().kind != ErrorKind::kNotFound && !first) {
    first = std::move(cg).error();
  }
  if (auto r = lk->unlink_and_release(); !r && !first) first = std::move(r).error();
  if (first) return std::move(*first).wrap("reap context " + xid.str());
  return true;
}

Result<std::vector<Xid>> ContextTable::entries() const {
  auto dir = DirStream::open_at(AT_FDCWD, config_.rundir, config_.rundir);
  if (!dir) {
    if (dir.error().code == ENOENT) return std::vector<Xid>{};
    return std::move(dir).error();
  }
  std::vector<Xid> seen;
  for (;;) {
    auto e = dir->next();
    if (!e) return std::move(e).error();
    if (!*e) break;
    std::string_view name = (*e)->name;
    if (name.size() > 5 && name.substr(name.size() - 5) == ".lock") {
      name.remove_suffix(5);
    }
    auto x = Xid::parse(name);
    if (!x || !x->is_context()) continue;
    if (std::find(seen.begin(), seen.end(), *x) == seen.end()) seen.push_back(*x);
  }
  std::sort(seen.begin(), seen.end());
  return seen;
}

Result<std::vector<Xid>> ContextTable::list() const {
  std::vector<Xid> out;
  auto seen = entries();
  if (!seen) return std::move(seen).error();
  for (Xid x : *seen) {
    auto reaped = reap(x);
    if (!reaped) return std::move(reaped).error();
    struct stat st {};
    if (!*reaped && ::stat(entry_dir(x).c_str(), &st) == 0) out.push_back(x);
  }
  return out;
}

Result<ContextState> ContextTable::lookup(Xid xid) const {
  auto reaped = reap(xid);
  if (!reaped) return std::move(reaped).error();
  return read_state(xid);
}

Result<Xid> ContextTable::xid_of(pid_t pid) const {
  return xid_of_pid(pid, config_.cgroup.parent, config_.proc_root);
}

Result<Xid> ContextTable::current_xid() const {
  auto x = xid_of(::getpid());
  if (!x || x->is_context()) return x;
  auto xids = list();
  if (!xids) return std::move(xids).error();
  for (Xid c : *xids) {
    auto st = read_state(c);
    if (!st || st->ns_inodes.empty()) continue;
    bool all = true;
    for (const auto& [name, ino] : st->ns_inodes) {
      struct stat mine {};
      if (::stat(("/proc/self/ns/" + name).c_str(), &mine) < 0 || mine.st_ino != ino) {
        all = false;
        break;
      }
    }
    if (all) return c;
  }
  return Xid(Xid::kHost);
}

}  // namespace vs::shim
