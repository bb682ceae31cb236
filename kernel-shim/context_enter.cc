// Running in, moving into, sealing and releasing a live context. An entrant is resolved once
// to a ContextHandle (state + a pidfd of the context's first process) and every later step
// works through that handle: the namespaces through the pidfd (setns fails once that process
// is gone), the cgroups checked to be the context's by the pidfd still being alive after they
// were opened (a context's cgroups go only after its first process did, and its xid is taken
// again only after that). So a context stopped and replaced under the same xid meanwhile is
// an error, never a command run in the next one.
//
//   entrant's parent (vserver exec)           entrant (born in the context's pid ns)
//   -------------------------------           ------------------------------------
//   open cgroups; first process alive?
//   setns(pid) for children; clone3 ------->  wait for the go
//   v1 cgroups attach
//   #3 kGo -------------------------------->  not dumpable; join the other namespaces;
//                                             unix scope; confine; stdio, session, user, cwd
//                                             exec the helper (trampoline)
//                   <-----------------------  #4 sync EOF (or a failure report); then the
//                                                helper's exec report
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kernel-shim/caps.h"
#include "kernel-shim/confine.h"
#include "kernel-shim/context.h"
#include "kernel-shim/context_sync.h"
#include "kernel-shim/flags.h"
#include "kernel-shim/helper.h"
#include "kernel-shim/run_cache.h"
#include "kernel-shim/seccomp.h"
#include "kernel-shim/unixscope.h"
#include "lib/base/fs_at.h"
#include "lib/base/proc_stat.h"
#include "lib/base/syscall.h"

namespace vs::shim {

UniqueFd open_init(const ContextTable& table, const ContextState& st) {
  if (st.init_pid <= 0) return UniqueFd();
  UniqueFd fd(sys::pidfd_open(st.init_pid, 0));
  if (!fd) return fd;
  // Checked after the pidfd exists: if the pid was recycled before, the times differ.
  auto start = process_start_time(table.config().proc_root, st.init_pid);
  if (!start || *start != st.init_start) return UniqueFd();
  return fd;
}

Result<ContextHandle> open_context(const ContextTable& table, Xid xid) {
  auto st = table.lookup(xid);
  if (!st) return std::move(st).error();
  ContextHandle h;
  h.init = open_init(table, *st);
  h.state = std::move(*st);
  return h;
}

namespace {

// Whether a process may enter the context at all (flag private).
Result<void> check_entry(const ContextState& st) {
  if (st.confinement.is_private()) {
    return make_error(ErrorKind::kWrongState, "enter", "context " + st.xid.str(),
                      "it is private (flag private): nobody may enter", EPERM);
  }
  return ok();
}

Result<void> check_subset(Xid xid, NsSet have, NsSet want) {
  if ((want & have) == want) return ok();
  return usage_error("namespaces", "context " + xid.str() + " has no " +
                                       format_ns_list(want & ~have) + " namespace (it has " +
                                       format_ns_list(have) + ")");
}

// The context is still the one the handle was opened on (call it after opening what is looked
// up by xid, the cgroups): its first process lives, or, without one, its state is unchanged.
Result<void> still_the_same(const ContextTable& table, const ContextHandle& ctx) {
  const ContextState& st = ctx.state;
  auto changed = [&](const std::string& why) {
    return make_error(ErrorKind::kWrongState, "enter",
                      st.name.empty() ? "context " + st.xid.str() : st.name,
                      "changed while it was being entered: " + why, ESRCH);
  };
  if (ctx.init) {
    // A pidfd is readable once its process exited (a zombie not reaped yet included).
    struct pollfd p = {ctx.init.get(), POLLIN, 0};
    if (::poll(&p, 1, 0) != 0) {
      return changed("its first process (pid " + std::to_string(st.init_pid) + ") ended");
    }
    return ok();
  }
  auto now = table.read_state(st.xid);
  if (!now || now->init_pid != st.init_pid || now->init_start != st.init_start ||
      now->created != st.created || now->name != st.name) {
    return changed("it is no longer the context of xid " + st.xid.str());
  }
  return ok();
}

// Joins `which` namespaces of the context: through the init's pidfd when it runs, else the
// pins. A pid namespace whose init ended cannot take new members (the kernel's rule).
Result<void> join(const ContextTable& table, const ContextState& st, int init_fd, NsSet which) {
  if (which == 0) return ok();
  if (init_fd >= 0) {
    // Kinds re-pinned since creation (vnamespace --set) are no longer the init's: those
    // come from the pins, the rest through the pidfd in one atomic setns.
    NsSet from_pins = 0;
    for (const auto& ns : kNamespaces) {
      auto it = st.ns_inodes.find(ns.name);
      if (!(which & ns.clone_flag) || it == st.ns_inodes.end()) continue;
      struct stat cur {};
      std::string path = table.config().proc_root + "/" + std::to_string(st.init_pid) +
                         "/ns/" + ns.name;
      if (::stat(path.c_str(), &cur) == 0 && cur.st_ino != it->second) {
        from_pins |= ns.clone_flag;
      }
    }
    if (from_pins != 0) {
      if (auto r = enter_pins(table.ns_dir(st.xid), from_pins); !r) return r;
    }
    NsSet rest = which & ~from_pins;
    if (rest != 0 && ::setns(init_fd, static_cast<int>(rest)) < 0) {
      if (errno == ESRCH) {
        return make_error(ErrorKind::kWrongState, "enter",
                          st.name.empty() ? "context " + st.xid.str() : st.name,
                          "its first process ended while it was being entered", ESRCH);
      }
      return sys_error("setns", "context " + st.xid.str());
    }
    return ok();
  }
  if (which & CLONE_NEWPID) {
    return make_error(ErrorKind::kWrongState, "enter", "context " + st.xid.str(),
                      "its pid namespace ended with its first process", ESRCH);
  }
  return enter_pins(table.ns_dir(st.xid), which);
}

// In the entrant, after confinement: its stdio and session, its user and its directory.
Result<void> prepare_command(const RunOptions& opts, bool root_changed) {
  for (int fd = 0; fd < 3; ++fd) {
    int from = opts.stdio[static_cast<size_t>(fd)];
    if (from >= 0 && from != fd && ::dup2(from, fd) < 0) return sys_error("dup2", "stdio");
  }
  // A session of its own: never the caller's, whose terminal would be its /dev/tty.
  if (::setsid() < 0) return sys_error("setsid", "");
  if (opts.controlling_tty >= 0 && ::ioctl(opts.controlling_tty, TIOCSCTTY, 0) < 0) {
    return sys_error("ioctl(TIOCSCTTY)", "the command's terminal");
  }
  if (opts.uid) {
    if (::setgroups(opts.groups.size(), opts.groups.data()) < 0 ||
        ::setresgid(opts.gid, opts.gid, opts.gid) < 0 ||
        ::setresuid(*opts.uid, *opts.uid, *opts.uid) < 0) {
      return sys_error("set user", std::to_string(*opts.uid));
    }
  }
  std::string cwd = opts.cwd.empty() && root_changed ? "/" : opts.cwd;
  if (!cwd.empty() && ::chdir(cwd.c_str()) < 0 && ::chdir("/") < 0) {
    return sys_error("chdir", cwd);
  }
  return ok();
}

// The compiled filter of a sealed context, kept in its entry's cache (kEntrySeccomp) by the
// creator or the first entrant, only loaded by the next ones. Empty when there is no filter
// (or on any trouble: the entrant then compiles its own).
std::string cached_seccomp(const ContextTable& table, const ContextState& st) {
  const Confinement& c = st.confinement;
  if (!c.seccomp.enabled) return {};
  const RunCache cache(table.entry_dir(st.xid));
  const std::string key = seccomp_cache_key(c);
  if (auto blob = cache.get(kEntrySeccomp, key)) return *blob;
  auto blob = compile_guest_programs(c.bounding(), c.seccomp);
  if (!blob) return {};
  cache.put(kEntrySeccomp, key, *blob);
  return *blob;
}

}  // namespace

Result<Child> spawn_in_context(const ContextTable& table, const ContextHandle& ctx,
                               const std::vector<std::string>& argv, const RunOptions& opts) {
  if (argv.empty()) return usage_error("command", "no command to run in the context");
  const ContextState& st = ctx.state;
  const std::string what = "migrate into context " + st.xid.str();
  if (auto r = check_entry(st); !r) return std::move(r).error().wrap(what);
  const bool confine = st.stage == ContextStage::kRunning;
  const std::string programs = confine ? cached_seccomp(table, st) : std::string();
  auto cg = ContextCgroup::open(table.layout(), table.config().cgroup, st.xid);
  if (!cg) return std::move(cg).error().wrap(what);
  if (auto r = still_the_same(table, ctx); !r) return std::move(r).error();
  // The pid namespace first, in this process: it only applies to children, and the child
  // must be born into it. The child joins everything else itself, after it was attached to
  // the cgroups from here (a cgroup namespace would hide them from it).
  if (auto r = join(table, st, ctx.init.get(), st.namespaces & CLONE_NEWPID); !r) {
    return std::move(r).error().wrap(what);
  }
  auto sync = SyncChannel::make();
  if (!sync) return std::move(sync).error().wrap(what);
  auto report = make_report_pipe();
  if (!report) return std::move(report).error().wrap(what);
  auto helper = open_helper();
  if (!helper) return std::move(helper).error().wrap(what);
  SyncChannel& parent_sync = sync->first;
  SyncChannel& child_sync = sync->second;
  UniqueFd& report_rd = report->first;
  UniqueFd& report_wr = report->second;
  const std::vector<std::string>& env = opts.env.empty() ? default_env() : opts.env;
  CloneSpec cs;
  cs.cgroup_fd = cg->v2_fd();
  const NsSet rest = st.namespaces & ~static_cast<uint64_t>(CLONE_NEWPID);
  auto child = Child::spawn(cs, [&]() -> int {
    parent_sync.close();
    report_rd.reset();
    if (!child_sync.expect(Step::kGo)) return 1;                           /* #3 */
    // Not dumpable until the exec: a guest process of the same uid cannot ptrace us or
    // open our /proc files while we still hold the host's capabilities and fds.
    Result<void> r = ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0
                         ? ok()
                         : Result<void>(sys_error("prctl(PR_SET_DUMPABLE)", ""));
    if (r) r = join(table, st, ctx.init.get(), rest);
    if (r && st.unix_scope == UnixScopeMode::kLandlock) r = landlock_scope_abstract_unix();
    if (r && confine) r = confine_to_context(st.confinement, programs);
    if (r) r = prepare_command(opts, (rest & CLONE_NEWNS) != 0);
    if (r) {
      // Raw numbers for the helper: report_wr must survive the exec, and the UniqueFds that
      // own both in this copy of the parent's fd table are never destroyed here (execveat
      // or _exit).
      exec_helper(helper->get(), report_wr.get(), helper_exec_argv(argv, report_wr.get()), env);
      r = sys_error("execveat", "the helper (vserver-exec)");
    }
    (void)child_sync.send_failure(Step::kExec, r.error().code, r.error().message());
    return 127;
  });
  if (!child) return std::move(child).error().wrap(what);
  child_sync.close();
  report_wr.reset();
  helper->reset();
  if (auto r = cg->attach_v1(child->pid()); !r) return std::move(r).error().wrap(what);
  if (auto r = parent_sync.send(Step::kGo); !r) return std::move(r).error().wrap(what);
  if (auto r = parent_sync.expect_eof(Step::kExec); !r) {                  /* #4 */
    (void)child->wait();
    return std::move(r).error().wrap(what);
  }
  if (auto r = read_exec_report(report_rd.get(), *child, false, argv[0]); !r) {
    (void)child->wait();
    return std::move(r).error().wrap("run in context " + st.xid.str());
  }
  return std::move(*child);
}

Result<int> migrate_and_run(const ContextTable& table, Xid xid,
                            const std::vector<std::string>& argv, const RunOptions& opts) {
  auto ctx = open_context(table, xid);
  if (!ctx) return std::move(ctx).error().wrap("migrate into context " + xid.str());
  auto child = spawn_in_context(table, *ctx, argv, opts);
  if (!child) return std::move(child).error();
  auto status = wait_forwarding(*child);
  if (!status) return std::move(status).error();
  return status->as_exit_code();
}

Result<std::optional<int>> migrate_self(const ContextTable& table, Xid xid, bool endsetup) {
  std::string what = "migrate into context " + xid.str();
  auto ctx = open_context(table, xid);
  if (!ctx) return std::move(ctx).error().wrap(what);
  const ContextState& st = ctx->state;
  if (endsetup && st.stage == ContextStage::kRunning) {
    return make_error(ErrorKind::kWrongState, "seal", "context " + xid.str(),
                      "already sealed (setup ended)", EALREADY);
  }
  auto mine = table.current_xid();
  if (!mine) return std::move(mine).error().wrap(what);
  if (*mine == xid) {
    // Already there (the classic chain): only the seal is left to do.
    if (endsetup) {
      if (auto r = seal(table, xid); !r) return std::move(r).error();
    }
    if (endsetup || st.stage == ContextStage::kRunning) {
      if (auto r = confine_to_context(st.confinement); !r) return std::move(r).error().wrap(what);
    }
    return std::optional<int>();
  }
  if (auto r = check_entry(st); !r) return std::move(r).error().wrap(what);
  const bool confine = endsetup || st.stage == ContextStage::kRunning;
  auto cg = ContextCgroup::open(table.layout(), table.config().cgroup, xid);
  if (!cg) return std::move(cg).error().wrap(what);
  if (auto r = still_the_same(table, *ctx); !r) return std::move(r).error();
  // Cgroups before namespaces: from inside a cgroup namespace the target is out of reach.
  if (auto r = cg->attach(::getpid()); !r) return std::move(r).error().wrap(what);
  // Sealed while the table is still in view (joining the mount namespace hides it).
  if (endsetup) {
    if (auto r = seal(table, xid); !r) return std::move(r).error();
  }
  if (confine) ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (auto r = join(table, st, ctx->init.get(), st.namespaces); !r) {
    return std::move(r).error().wrap(what);
  }
  auto go_on = [&]() -> Result<std::optional<int>> {
    if (st.unix_scope == UnixScopeMode::kLandlock) {
      if (auto r = landlock_scope_abstract_unix(); !r) return std::move(r).error().wrap(what);
    }
    if (confine) {
      if (auto r = confine_to_context(st.confinement); !r) return std::move(r).error().wrap(what);
    }
    return std::optional<int>();
  };
  if (!(st.namespaces & CLONE_NEWPID)) return go_on();
  // A pid namespace takes only children: the caller goes on in one, and we wait for it.
  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork", "").wrap(what);
  if (pid == 0) return go_on();
  // Our unreaped child: its pid cannot be reused before we wait for it.
  Child child(pid, UniqueFd(sys::pidfd_open(pid, 0)));
  auto status = wait_forwarding(child);
  if (!status) return std::move(status).error();
  return std::optional<int>(status->as_exit_code());
}

Error exec_in_context(int helper_fd, const std::vector<std::string>& argv,
                      const std::vector<std::string>& env) {
  if (argv.empty()) return usage_error("command", "no command to run in the context");
  exec_helper(helper_fd, -1, helper_exec_argv(argv, -1), env.empty() ? default_env() : env);
  return sys_error("execveat", "the helper (vserver-exec)");
}

Result<void> seal(const ContextTable& table, Xid xid) {
  auto lk = table.lock(xid, true);
  if (!lk) return std::move(lk).error();
  auto st = table.read_state(xid);
  if (!st) return std::move(st).error().wrap("seal context " + xid.str());
  if (st->stage == ContextStage::kRunning) {
    return make_error(ErrorKind::kWrongState, "seal", "context " + xid.str(),
                      "already sealed (setup ended)", EALREADY);
  }
  st->stage = ContextStage::kRunning;
  if (auto r = table.write_state(*st); !r) return std::move(r).error().wrap("seal");
  // Sealed from inside: the table leaves the context's mount namespace for good.
  struct stat mine {};
  auto it = st->ns_inodes.find("mnt");
  if (it != st->ns_inodes.end() && ::stat("/proc/self/ns/mnt", &mine) == 0 &&
      mine.st_ino == it->second) {
    lk = FileLock();
    ::umount2(table.config().rundir.c_str(), MNT_DETACH);
  }
  return ok();
}

Result<void> release(const ContextTable& table, Xid xid) {
  {
    auto lk = table.lock(xid, true);
    if (!lk) return std::move(lk).error();
    auto st = table.read_state(xid);
    if (!st) return std::move(st).error().wrap("release context " + xid.str());
    st->persistent = false;
    if (auto r = table.write_state(*st); !r) return std::move(r).error().wrap("release");
  }
  auto reaped = table.reap(xid);
  if (!reaped) return std::move(reaped).error();
  return ok();
}

Result<void> enter_namespaces(const ContextTable& table, Xid xid, NsSet which) {
  std::string what = "enter context " + xid.str();
  auto ctx = open_context(table, xid);
  if (!ctx) return std::move(ctx).error().wrap(what);
  if (auto r = check_subset(xid, ctx->state.namespaces, which); !r) return r;
  if (auto r = join(table, ctx->state, ctx->init.get(), which); !r) {
    return std::move(r).error().wrap(what);
  }
  return ok();
}

Result<void> set_namespaces(const ContextTable& table, Xid xid, NsSet which) {
  std::string what = "set namespaces of context " + xid.str();
  auto lk = table.lock(xid, true);
  if (!lk) return std::move(lk).error();
  auto st = table.read_state(xid);
  if (!st) return std::move(st).error().wrap(what);
  if (which & CLONE_NEWNS) {
    // A mount namespace cannot be pinned inside itself (the kernel refuses the loop), and
    // from another one the pin would land in that namespace's copy of the run dir.
    return usage_error("namespaces", "mnt cannot be re-pinned with --set");
  }
  for (const auto& ns : kNamespaces) {
    if (!(which & ns.clone_flag)) continue;
    std::string pin = table.ns_dir(xid) + "/" + ns.name;
    ::umount2(pin.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
    ::unlink(pin.c_str());
    if (auto r = pin_namespaces(table.config().proc_root, ::getpid(), ns.clone_flag,
                                table.ns_dir(xid));
        !r) {
      return std::move(r).error().wrap(what);
    }
    struct stat now {};
    if (::stat(pin.c_str(), &now) == 0) st->ns_inodes[ns.name] = now.st_ino;
  }
  st->namespaces |= which;
  if (auto r = table.write_state(*st); !r) return std::move(r).error().wrap(what);
  return ok();
}

}  // namespace vs::shim
