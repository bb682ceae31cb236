#include "lib/guest/lifecycle.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>

#include "kernel-shim/caps.h"
#include "kernel-shim/confine.h"
#include "kernel-shim/limits.h"
#include "kernel-shim/netbind.h"
#include "kernel-shim/netiso.h"
#include "kernel-shim/netshared.h"
#include "kernel-shim/run_cache.h"
#include "kernel-shim/seccomp.h"
#include "lib/base/eintr.h"
#include "lib/base/fs_at.h"
#include "lib/base/parse.h"
#include "lib/base/stdio_relay.h"
#include "lib/base/syscall.h"
#include "lib/guest/passwd.h"
#include "lib/mount/fstab.h"
#include "lib/mount/guest_root.h"
#include "lib/net/isolated.h"
#include "lib/net/shared.h"

namespace vs {

namespace {

using shim::ContextState;
using shim::ContextTable;
using shim::Xid;

using Clock = std::chrono::steady_clock;

// What confines the guest's processes, from its configuration.
shim::Confinement guest_confinement(const GuestConfig& g) {
  shim::Confinement c;
  c.bcaps = g.bcaps;
  c.ccaps = g.ccaps;
  c.flags = g.flags;
  c.seccomp = g.seccomp;
  c.rlimits = g.rlimits;
  return c;
}

// The v1 hierarchies a guest needs: accounting and the usual limits (cpu, cpuacct, memory,
// pids); cpuset only for a cpuset limit; the v1 freezer only where the v2 hierarchy has no
// freezer of its own (before Linux 5.2). Each one left out saves a mkdir, an attach and an
// rmdir per start and stop.
std::vector<std::string> guest_v1_controllers(const ContextTable& table, const GuestConfig& g) {
  std::vector<std::string> c{"cpu", "cpuacct", "memory", "pids"};
  if (g.limits.cpuset_cpus || g.limits.cpuset_mems) c.emplace_back("cpuset");
  const std::string parent_freeze =
      table.layout().v2_root + "/" + table.config().cgroup.parent + "/cgroup.freeze";
  if (::access(parent_freeze.c_str(), F_OK) < 0) c.emplace_back("freezer");
  return c;
}

// The shared-stack addresses of the guest.
Result<shim::NetBind> shared_addresses(const GuestConfig& g) {
  std::vector<shim::NetAddress> addrs;
  for (size_t i = 0; i < g.interfaces.size(); ++i) {
    const Interface& itf = g.interfaces[i];
    if (itf.mode != NetMode::kShared) continue;
    auto a = shim::parse_net_address(itf.address + "/" + std::to_string(itf.prefix));
    if (!a) return std::move(a).error().wrap("interfaces." + std::to_string(i));
    addrs.push_back(*a);
  }
  return shim::make_net_bind(addrs);
}

// The host directories a `-m host` guest gets bound read-only: those that are directories on
// the host and empty mount points in the guest (a merged-usr symlink was copied instead).
std::vector<ExtraBind> host_binds(const GuestConfig& g, int root_fd) {
  std::vector<ExtraBind> out;
  if (g.build_method != "host") return out;
  for (const char* dir : {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"}) {
    struct stat host {}, guest {};
    std::string path = std::string("/") + dir;
    if (::lstat(path.c_str(), &host) < 0 || !S_ISDIR(host.st_mode)) continue;
    if (::fstatat(root_fd, dir, &guest, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(guest.st_mode)) {
      continue;
    }
    out.push_back(ExtraBind{path, path, true});
  }
  return out;
}

// How long a host-side script may run before it is killed: it runs under the guest's lock,
// which every other start, stop and delete of the guest waits for.
constexpr std::chrono::seconds kScriptDeadline{120};

// Waits until the pidfd is readable (the process ended) or the deadline passed.
bool wait_pidfd(int pidfd, Clock::time_point deadline);

// Runs a host-side script of the guest (scripts.ACTION) as `SCRIPT ACTION NAME`, with
// VSERVER_NAME, VSERVER_XID, VSERVER_VDIR and VSERVER_CONFDIR set, as a Child with a
// deadline (kScriptDeadline: then it is killed). A failure is an error.
Result<void> run_script(const GuestConfig& g, const ConfigRoots& roots, const char* action,
                        std::optional<Xid> xid) {
  auto it = g.scripts.find(action);
  if (it == g.scripts.end()) return ok();
  const std::string& path = it->second;
  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e) {
    std::string_view kv = *e;
    if (kv.substr(0, 8) == "VSERVER_") continue;
    env_store.emplace_back(kv);
  }
  env_store.push_back("VSERVER_NAME=" + g.name);
  env_store.push_back("VSERVER_VDIR=" + g.vdir);
  env_store.push_back("VSERVER_CONFDIR=" + roots.guest_confdir(g.name));
  if (xid) env_store.push_back("VSERVER_XID=" + xid->str());
  std::vector<char*> envp;
  for (auto& s : env_store) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string act = action;
  std::string name = g.name;
  char* argv[] = {const_cast<char*>(path.c_str()), act.data(), name.data(), nullptr};
  pid_t pid = -1;
  int err = ::posix_spawn(&pid, path.c_str(), nullptr, nullptr, argv, envp.data());
  if (err != 0) return sys_error("run " + act + " script", path, err);
  // Our unreaped child: its pid names it until we wait for it.
  Child child(pid, UniqueFd(sys::pidfd_open(pid, 0)));
  if (child.pidfd() >= 0 && !wait_pidfd(child.pidfd(), Clock::now() + kScriptDeadline)) {
    (void)child.signal(SIGKILL);
    (void)child.wait();
    return make_error(ErrorKind::kFailed, act + " script", path,
                      "did not end within " + std::to_string(kScriptDeadline.count()) +
                          " s and was killed",
                      ETIMEDOUT);
  }
  auto status = child.wait();
  if (!status) return std::move(status).error();
  if (status->as_exit_code() == 0) return ok();
  std::string how = !status->signaled ? "exited with " + std::to_string(status->value)
                                      : "was killed by " + signal_name(status->value);
  return make_error(ErrorKind::kFailed, act + " script", path, how, ECANCELED);
}

// Waits until the pidfd is readable (the process ended) or the deadline passed.
bool wait_pidfd(int pidfd, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() < 0) left = std::chrono::milliseconds(0);
    struct pollfd p = {pidfd, POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;  // not retry_eintr: the timeout is recomputed above
  }
}

// Waits until the context's cgroup has no process, or the deadline passed. A populated file
// that cannot be read counts as "not empty": stop then kills.
bool wait_empty(const shim::ContextCgroup& cg, Clock::time_point deadline) {
  for (;;) {
    auto pop = cg.populated();
    if (pop && !*pop) return true;
    if (Clock::now() >= deadline) return false;
    struct timespec ts {0, 2'000'000};
    ::nanosleep(&ts, nullptr);
  }
}


}  // namespace

Result<FileLock> lock_guest(const ContextTable& table, std::string_view name) {
  if (auto r = validate_guest_name(name); !r) return std::move(r).error();
  auto lk = FileLock::acquire(table.config().rundir + "/guest-" + std::string(name) + ".lock",
                              true);
  if (!lk) return std::move(lk).error().wrap("lock guest " + std::string(name));
  return lk;
}

namespace {

// RUNDIR/guest-NAME.xid: the xid a guest got at its start, static or dynamic. Written as soon
// as the xid is taken, before anything of the context exists, so every running guest has it
// and finding one is a single read, never a scan of the table (at 1000 guests, 1000 state
// files per start); a start killed half-way leaves an index to what the next start reaps.
// A running guest is found by its name through it, never by its configured context: an
// administrator who edits `context` of a running guest still sees it running, and a second
// start is refused. The state's name is always checked: a stale index means "not running".
std::string index_path(const ContextTable& table, const std::string& name) {
  return table.config().rundir + "/guest-" + name + ".xid";
}

Result<void> write_index(const ContextTable& table, const std::string& name, Xid xid) {
  UniqueFd dir(::open(table.config().rundir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return sys_error("open", table.config().rundir);
  auto r = atomic_write_at(dir.get(), "guest-" + name + ".xid", xid.str() + "\n", 0600);
  if (!r) {
    Error e = std::move(r).error();
    e.subject = index_path(table, name);  // the full path: which run dir is full or read-only
    return e;
  }
  return ok();
}

}  // namespace

Result<std::optional<shim::ContextHandle>> find_guest_context(const ContextTable& table,
                                                              const GuestConfig& config) {
  auto matches = [&](Xid x) -> std::optional<shim::ContextHandle> {
    auto ctx = shim::open_context(table, x);
    if (ctx && ctx->state.name == config.name) return std::move(*ctx);
    return std::nullopt;
  };
  auto text = read_file(index_path(table, config.name), 64);
  if (!text) {
    if (text.error().code != ENOENT) return std::move(text).error();
    // No index: a static guest started by a version that wrote none is still found (by
    // the name in the state of its configured context).
    if (config.xid) return matches(*config.xid);
    return std::optional<shim::ContextHandle>();
  }
  auto x = Xid::parse(std::string_view(*text).substr(0, text->find('\n')));
  if (!x) return std::optional<shim::ContextHandle>();
  return matches(*x);
}

std::vector<std::string> guest_init_env() {
  std::vector<std::string> env = shim::default_env();
  env.push_back("container=vserver");
  return env;
}

Result<Xid> start_guest(const ContextTable& table, const ConfigRoots& roots,
                        const GuestConfig& g, const StartHooks& hooks) {
  const std::string what = "start " + g.name;
  auto step = [&](const char* name) {
    if (hooks.at_step) hooks.at_step(name);
  };
  constexpr shim::NsSet kNeeded = CLONE_NEWNS | CLONE_NEWPID;
  if ((g.namespaces & kNeeded) != kNeeded) {
    return make_error(ErrorKind::kUsage, "start", g.name,
                      "a guest needs its own mnt and pid namespaces (namespaces = " +
                          shim::format_ns_list(g.namespaces) + ")",
                      EINVAL);
  }
  auto bind = shared_addresses(g);
  if (!bind) return std::move(bind).error().wrap(what);
  // Checked against the host now, before anything exists: a configuration error names
  // FILE:LINE and the key.
  std::vector<std::string> net_warnings;
  auto host_side = shared_host_spec(g, &net_warnings);
  if (!host_side) return std::move(host_side).error();
  auto isolated = isolated_net_spec(g);
  if (!isolated) return std::move(isolated).error().wrap(what);
  std::vector<FstabEntry> fstab;
  if (g.fstab) {
    auto parsed = parse_fstab(*g.fstab);
    if (!parsed) return std::move(parsed).error();
    fstab = std::move(*parsed);
  }

  auto lk = lock_guest(table, g.name);
  if (!lk) return std::move(lk).error();
  step("guest-locked");
  // Host addresses of guests that died (or whose state was lost) go first.
  (void)shim::sweep_host_addresses(table);
  auto running = find_guest_context(table, g);
  if (!running) return std::move(running).error().wrap(what);
  if (*running) {
    return make_error(ErrorKind::kWrongState, "start", g.name,
                      "already running (context " + (*running)->state.xid.str() + ")",
                      EALREADY);
  }
  // The root tree: refused before anything is created if it is missing or hostile (E13).
  auto root = open_path(g.vdir, O_PATH | O_DIRECTORY | O_NOFOLLOW);
  if (!root) {
    if (root.error().code == ENOENT) {
      return make_error(ErrorKind::kNotFound, "start", g.name,
                        "its root tree " + g.vdir +
                            " does not exist (build it: vserver " + g.name + " build -m METHOD)",
                        ENOENT);
    }
    return std::move(root).error().wrap(what);
  }
  if (auto r = check_guest_tree(root->get(), g.vdir); !r) return std::move(r).error().wrap(what);
  if (hooks.warn) {
    for (const auto& w : net_warnings) hooks.warn(w);
  }
  if (auto r = run_script(g, roots, "pre-start", std::nullopt); !r) return std::move(r).error();

  GuestRootSpec rootspec;
  rootspec.vdir = g.vdir;
  rootspec.binds = host_binds(g, root->get());
  if (!fstab.empty()) {
    rootspec.guest_mounts = [&fstab](int root_fd) { return mount_fstab(root_fd, fstab); };
  }
  root->reset();

  shim::CreateSpec spec;
  spec.xid = g.xid;
  spec.namespaces = g.namespaces | (*isolated ? CLONE_NEWNET : 0);
  spec.persistent = false;
  spec.endsetup = true;
  spec.builtin_init = g.init_style != InitStyle::kPlain;
  spec.init_stays = true;
  spec.argv = effective_init_command(g);
  spec.env = guest_init_env();
  spec.init_title = "vserver-init: " + g.name;
  spec.confinement = guest_confinement(g);
  spec.v1_controllers = guest_v1_controllers(table, g);
  spec.setup_early = !rootspec.cgroup_read_only;  // the guest root needs no cgroup namespace
  // Entrants join through the init's pidfd, so a guest needs no pins; the isolated network
  // setup and teardown work through the pin of its network namespace.
  spec.pin = *isolated ? shim::NsSet{CLONE_NEWNET} : shim::NsSet{0};
  spec.name = g.name;
  spec.detach = true;
  spec.at_step = hooks.at_step;
  // A protection the kernel cannot give is the same for every guest until the next boot: said
  // by the first start after boot only, not by each of a thousand (vserver-info - SYSINFO
  // reports it any time). Keyed by the reason (after the first ": "), not the context.
  if (hooks.warn) {
    spec.warn = [&](const std::string& w) {
      const size_t colon = w.find(": ");
      const std::string reason = colon == std::string::npos ? w : w.substr(colon);
      if (shim::RunCache(table.config().rundir).first_time(
              shim::RunCache::hashed_name("warned", reason, ""))) {
        hooks.warn(w + " (said once per boot)");
      }
    };
  }
  spec.child_setup = [&]() -> Result<void> {
    if (g.namespaces & CLONE_NEWUTS) {
      const std::string& host = g.nodename ? *g.nodename : g.name;
      if (::sethostname(host.data(), host.size()) < 0) return sys_error("sethostname", host);
      if (g.domainname && ::setdomainname(g.domainname->data(), g.domainname->size()) < 0) {
        return sys_error("setdomainname", *g.domainname);
      }
    }
    if (auto r = enter_guest_root(rootspec); !r) return r;
    // The guest's init gets none of the administrator's terminal (no TIOCSTI into it).
    UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC | O_NOFOLLOW));
    if (!null) return sys_error("open", g.vdir + "/dev/null");
    for (int fd = 0; fd < 3; ++fd) {
      if (::dup2(null.get(), fd) < 0) return sys_error("dup2", "/dev/null");
    }
    return ok();
  };
  spec.on_xid = [&](Xid xid) { return write_index(table, g.name, xid); };
  spec.host_setup = [&](Xid xid, const shim::ContextCgroup& cg, pid_t) -> Result<void> {
    auto dirs = shim::LimitDirs::resolve(table.layout(), cg);
    if (auto r = shim::set_cgroup_limits(dirs, g.limits); !r) return std::move(r).error().wrap(what);
    if (!bind->empty()) {
      // Checked and recorded under the table-wide network lock: of two guests with one
      // address, one starts and the other is refused.
      if (auto r = shim::apply_net_bind_locked(table, xid, *bind, &cg); !r) {
        if (r.error().code == EADDRINUSE) {
          return make_error(ErrorKind::kWrongState, "start", g.name, r.error().detail, EADDRINUSE);
        }
        return std::move(r).error().wrap(what);
      }
      // The host side under the network lock: addresses a guest whose state was lost left
      // behind go first (one may be this guest's), then this guest's go on their devices.
      auto nl = shim::net_lock(table);
      if (!nl) return std::move(nl).error().wrap(what);
      (void)shim::sweep_host_addresses_locked(table);
      if (auto r = shim::setup_shared_host(table, xid, *host_side); !r) {
        return std::move(r).error().wrap(what);
      }
    }
    if (*isolated) {
      if (auto r = shim::setup_isolated_net(table, xid, **isolated, true); !r) {
        return std::move(r).error().wrap(what);
      }
    }
    return ok();
  };
  Xid made(0);
  auto rc = shim::create_and_run(table, spec, [&made](Xid x) { made = x; });
  if (!rc) {
    Error e = std::move(rc).error();
    // The guest's init is not there (or not runnable): say which style wants which file.
    if (e.op == "exec" && !spec.argv.empty() && e.subject == spec.argv.front() &&
        e.code != ECHILD && e.code != EPROTO) {
      std::string hint = init_exec_hint(g, e.code, roots.guest_confdir(g.name) + "/vserver.toml");
      if (!hint.empty()) return make_error(ErrorKind::kFailed, "start", g.name, hint, 0);
    }
    return std::move(e).wrap(what);
  }
  if (auto r = run_script(g, roots, "post-start", made); !r) {
    return std::move(r).error().wrap("the guest runs (context " + made.str() + ") but");
  }
  return made;
}

Result<StopResult> stop_guest(const ContextTable& table, const ConfigRoots& roots,
                              const GuestConfig& g, const StopOptions& opts) {
  const std::string what = "stop " + g.name;
  auto lk = lock_guest(table, g.name);
  if (!lk) return std::move(lk).error();
  auto found = find_guest_context(table, g);
  if (!found) return std::move(found).error().wrap(what);
  if (!*found) {
    return make_error(ErrorKind::kWrongState, "stop", g.name, "is not running", ESRCH);
  }
  const shim::ContextHandle ctx = std::move(**found);
  const ContextState& st = ctx.state;
  if (opts.at_step) opts.at_step("stop-resolved");
  // The entry's lock from here to the reap: nobody reaps the entry or takes its xid
  // meanwhile, so what is found by xid below is this guest's. Checked once more under it:
  // an init that ended on its own may have been reaped and its xid taken by another guest.
  auto entry_lock = table.lock(st.xid, true);
  if (!entry_lock) return std::move(entry_lock).error().wrap(what);
  auto now = table.read_state(st.xid);
  if (!now || now->name != g.name || now->init_pid != st.init_pid ||
      now->init_start != st.init_start) {
    return make_error(ErrorKind::kWrongState, "stop", g.name,
                      "is not running (its context " + st.xid.str() + " ended meanwhile)", ESRCH);
  }
  StopResult result;
  result.xid = st.xid;
  if (auto r = run_script(g, roots, "pre-stop", st.xid); !r) return std::move(r).error();
  auto cg = shim::ContextCgroup::open(table.layout(), table.config().cgroup, st.xid);
  if (!cg) return std::move(cg).error().wrap(what);
  auto deadline = Clock::now() + std::chrono::seconds(opts.timeout.value_or(g.stop_timeout));
  bool ended = false;
  if (!opts.kill) {
    if (g.init_style == InitStyle::kSysv) {
      // The guest's own shutdown sequence first: `rc 0` inside, bounded by the timeout.
      auto cmd = effective_init_command(g);
      std::vector<std::string> argv = {cmd.front(), "0"};
      // Its output reaches ours through pipes, its stdin is empty: nothing of the caller's
      // (terminal, redirected file) is handed to the guest's shutdown scripts.
      auto relay = StdioRelay::pipes({-1, STDOUT_FILENO, STDERR_FILENO});
      if (!relay) return std::move(relay).error().wrap(what);
      shim::RunOptions run;
      run.env = guest_init_env();
      run.stdio = relay->child_fds();
      auto child = shim::spawn_in_context(table, ctx, argv, run);
      relay->close_child_ends();
      if (!child) {
        result.warnings.push_back("`" + argv[0] + " 0` did not run: " + child.error().message());
      } else {
        auto status = relay->run(*child, deadline);
        if (status && status->signaled && status->value == SIGKILL) {
          result.warnings.push_back("`" + argv[0] + " 0` was killed after the timeout");
        } else if (status && status->as_exit_code() != 0) {
          result.warnings.push_back("`" + argv[0] + " 0` exited with " +
                                    std::to_string(status->as_exit_code()));
        }
      }
    }
    if (ctx.init) {
      int sig = effective_stop_signal(g);
      if (sys::pidfd_send_signal(ctx.init.get(), sig, nullptr, 0) == 0) {
        ended = wait_pidfd(ctx.init.get(), deadline);
      }
    }
  }
  // Once init ended the kernel kills the rest of its pid namespace; whatever is left after
  // the timeout (or with --kill) is killed at once, atomically.
  if (!ended || !wait_empty(*cg, Clock::now() + std::chrono::seconds(1))) {
    result.killed = true;
    if (auto r = cg->kill(SIGKILL); !r) return std::move(r).error().wrap(what);
  }
  auto populated = cg->populated();
  if (!populated || *populated) {
    return make_error(ErrorKind::kWrongState, "stop", g.name,
                      populated ? "processes of context " + st.xid.str() +
                                      " are left after the kill; it stays registered"
                                : "cannot tell whether context " + st.xid.str() +
                                      " is empty: " + populated.error().message(),
                      EBUSY);
  }
  auto reaped = table.reap_locked(st.xid, std::move(*entry_lock), true);
  if (!reaped) return std::move(reaped).error().wrap(what);
  (void)shim::sweep_host_addresses(table);
  ::unlink(index_path(table, g.name).c_str());
  if (auto r = run_script(g, roots, "post-stop", st.xid); !r) {
    return std::move(r).error().wrap("the guest stopped but");
  }
  return result;
}

Result<void> wait_guest(const ContextTable& table, const GuestConfig& g) {
  auto found = find_guest_context(table, g);
  if (!found) return std::move(found).error().wrap("wait for " + g.name);
  if (!*found) return make_error(ErrorKind::kWrongState, "wait", g.name, "is not running", ESRCH);
  const shim::ContextHandle& ctx = **found;
  if (!ctx.init) {
    return make_error(ErrorKind::kFailed, "wait", g.name,
                      "cannot watch the init of context " + ctx.state.xid.str(), ESRCH);
  }
  // The pidfd becomes readable when init ends.
  struct pollfd p = {ctx.init.get(), POLLIN, 0};
  if (retry_eintr([&] { return ::poll(&p, 1, -1); }) < 0) {
    return sys_error("poll", "init of " + g.name);
  }
  return ok();
}

}  // namespace vs
