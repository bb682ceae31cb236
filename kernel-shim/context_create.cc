// create_and_run(): the creator's checklist (STYLE.md R6), one named step per line in
// Creation::run(). The exchange with the first process (R9):
//
//   creator                                   first process of the context
//   -------                                   ----------------------------
//   xid + its lock, entry, cgroups,
//   unix scope, channels, helper memfd
//   clone3(ns flags, INTO_CGROUP v2) ------>  PDEATHSIG=KILL; [early: lo, mounts]
//   v1 cgroups attach, uid/gid maps
//   #1 kCgroupReady ----------------------->  userns root, time ns, [lo], cgroup ns, [mounts]
//   pin what clone3 made; compile seccomp
//                   <-----------------------  #2 kNsReady (or a failure report)
//   pin the rest, state file, host_setup
//   #3 kGo + the seccomp blob ------------->  PDEATHSIG off, unix scope, confine, stdio,
//                                             exec the helper (init or trampoline)
//                   <-----------------------  #4 sync EOF (or a failure report); then the
//                                                helper's exec report on the report pipe
//   unlock; detach, or wait and reap
//
// Every step's undo is registered as it succeeds; an error anywhere rolls back in reverse
// (the first process killed, cgroups and pins removed, entry and lock gone).
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <optional>

#include "kernel-shim/caps.h"
#include "kernel-shim/confine.h"
#include "kernel-shim/context.h"
#include "kernel-shim/context_child.h"
#include "kernel-shim/context_sync.h"
#include "kernel-shim/helper.h"
#include "kernel-shim/netiso.h"
#include "kernel-shim/run_cache.h"
#include "kernel-shim/seccomp.h"
#include "kernel-shim/unixscope.h"
#include "lib/base/fs_at.h"
#include "lib/base/proc_stat.h"
#include "lib/base/scope_exit.h"

namespace vs::shim {

namespace {

std::string uid_map_for(Xid xid) {
  // Each context's root maps to its own 65536-id block: xid << 16.
  uint64_t base = static_cast<uint64_t>(xid.value()) << 16;
  uint64_t count = xid.value() == Xid::kDynamicMax ? 65535 : 65536;
  return "0 " + std::to_string(base) + " " + std::to_string(count) + "\n";
}

// Takes xid `x` for a new context: its lock held in `*lock` and no entry (a dead one is
// reaped on the way). False if it is taken.
Result<bool> try_take(const ContextTable& table, Xid x, FileLock* lock) {
  auto lk = table.lock(x, false);
  if (!lk) {
    if (lk.error().code == EWOULDBLOCK) return false;
    return std::move(lk).error();
  }
  struct stat st {};
  if (::lstat(table.entry_dir(x).c_str(), &st) < 0) {
    *lock = std::move(*lk);
    return true;
  }
  // An entry exists: a dead one is reaped (reap() takes the lock itself).
  auto live = table.alive(x);
  if (!live) return std::move(live).error();
  auto state = table.read_state(x);
  if (*live || (state && state->persistent)) return false;
  lk = FileLock();
  auto reaped = table.reap(x);
  if (!reaped) return std::move(reaped).error();
  if (!*reaped) return false;
  auto again = table.lock(x, false);
  if (!again) {
    if (again.error().code == EWOULDBLOCK) return false;
    return std::move(again).error();
  }
  if (::lstat(table.entry_dir(x).c_str(), &st) == 0) return false;
  *lock = std::move(*again);
  return true;
}

Result<Xid> pick_xid(const ContextTable& table, std::optional<Xid> wanted, FileLock* lock) {
  if (wanted) {
    auto took = try_take(table, *wanted, lock);
    if (!took) return std::move(took).error();
    if (!*took) {
      return make_error(ErrorKind::kWrongState, "create context", wanted->str(),
                        "a context with this xid already exists", EEXIST);
    }
    return *wanted;
  }
  // First the xids without an entry, found by one listing of the table: no lock, stat and
  // state read per running context. Two creators may pick the same one: the lock and the
  // entry check in try_take decide.
  if (auto seen = table.entries()) {
    std::vector<bool> has_entry(Xid::kDynamicMax - Xid::kDynamicMin + 1, false);
    for (Xid x : *seen) {
      if (x.value() >= Xid::kDynamicMin) has_entry[x.value() - Xid::kDynamicMin] = true;
    }
    for (uint32_t v = Xid::kDynamicMin; v <= Xid::kDynamicMax; ++v) {
      if (has_entry[v - Xid::kDynamicMin]) continue;
      auto took = try_take(table, Xid(static_cast<uint16_t>(v)), lock);
      if (!took) return std::move(took).error();
      if (*took) return Xid(static_cast<uint16_t>(v));
    }
  }
  // Every dynamic xid has an entry: dead ones are reaped on the way.
  for (uint32_t v = Xid::kDynamicMin; v <= Xid::kDynamicMax; ++v) {
    auto took = try_take(table, Xid(static_cast<uint16_t>(v)), lock);
    if (!took) return std::move(took).error();
    if (*took) return Xid(static_cast<uint16_t>(v));
  }
  return make_error(ErrorKind::kFailed, "create context", "", "no free dynamic xid", EAGAIN);
}

// The compiled filter for a confinement, shared by every context created with the same
// bounding set and seccomp spec (most guests), in the run dir's cache under a hash of them.
// Compiled and stored by the first creator. Empty when there is no filter or it cannot be
// compiled (the child then compiles its own).
std::string shared_seccomp(const ContextTable& table, const Confinement& c) {
  if (!c.seccomp.enabled) return {};
  const RunCache cache(table.config().rundir);
  const std::string key = seccomp_cache_key(c);
  const std::string name = RunCache::hashed_name("seccomp", key, ".bpf");
  if (auto blob = cache.get(name, key)) return *blob;
  auto blob = compile_guest_programs(c.bounding(), c.seccomp);
  if (!blob) return {};
  cache.put(name, key, *blob);
  return *blob;
}

class Creation {
 public:
  Creation(const ContextTable& table, const CreateSpec& spec) : table_(table), spec_(spec) {}

  Result<int> run(const OnCreated& on_created) {
    Result<void> r = check_spec();
    if (r) r = take_xid();
    if (r) r = make_entry();
    if (r) r = make_cgroup();
    if (r) r = choose_unix_scope();
    if (r) r = open_channels();
    if (r) r = clone_first_process();
    if (r) r = attach_and_map_ids();
    if (r) r = pin_namespaces_of_clone();                                  /* after #1 */
    if (r) r = await_namespaces();                                         /* #2 */
    if (r) r = write_state();
    if (r) r = run_host_setup();
    if (r && on_created) on_created(*xid_);
    if (r) r = send_go();                                                  /* #3 */
    if (r) r = await_exec();                                               /* #4 */
    if (!r) {
      // A step of ours that failed because the first process gave up first (a pin of a
      // namespace that died with it, a broken pipe): its report is the real reason.
      if (child_ && sync_.fd() >= 0) {
        if (auto why = sync_.reported_failure()) return wrapped(std::move(*why));
      }
      return wrapped(std::move(r).error());
    }
    return finish();
  }

 private:
  Result<void> step(const char* name) {
    if (spec_.inject) return spec_.inject(name);
    return ok();
  }
  void reached(const char* name) const {
    if (spec_.at_step) spec_.at_step(name);
  }
  Error wrapped(Error e) const {
    if (xid_ && !e.context.empty() && e.context.back() == what_) return e;
    if (xid_) return std::move(e).wrap(what_);
    return e;
  }

  Result<void> check_spec() {
    const bool stays = spec_.init_stays && spec_.builtin_init && (spec_.namespaces & CLONE_NEWPID);
    if (spec_.argv.empty() && !stays && !spec_.body) {
      return usage_error("command", "no command to run in the context");
    }
    return check_confinement(spec_.confinement);
  }

  // The xid, its lock held until the context runs; the guest's index (on_xid) right away.
  Result<void> take_xid() {
    if (auto r = step("xid"); !r) return r;
    auto xid = pick_xid(table_, spec_.xid, &lock_);
    if (!xid) return std::move(xid).error();
    xid_ = *xid;
    what_ = "create context " + xid_->str();
    undo_.on_rollback([this] { (void)lock_.unlink_and_release(); });
    if (spec_.on_xid) {
      if (auto r = spec_.on_xid(*xid_); !r) return r;
    }
    reached("locked");
    return ok();
  }

  Result<void> make_entry() {
    if (auto r = step("entry"); !r) return r;
    const std::string dir = table_.entry_dir(*xid_);
    if (::mkdir(dir.c_str(), 0700) < 0) return sys_error("mkdir", dir);
    undo_.on_rollback([this] {
      const Xid x = *xid_;
      // The host side of an isolated network a host_setup made (it records it in the state
      // before making it), while the context's namespaces are still pinned.
      auto st = table_.read_state(x);
      struct stat hostns {};
      if ((st && st->net.isolated) ||
          ::lstat((table_.entry_dir(x) + "/hostns").c_str(), &hostns) == 0) {
        (void)teardown_isolated_net(table_, x, st ? st->net : NetState{});
      }
      (void)unpin_namespaces(table_.ns_dir(x));
      RunCache(table_.entry_dir(x)).drop(kEntrySeccomp);
      ::unlink((table_.entry_dir(x) + "/state").c_str());
      ::rmdir(table_.entry_dir(x).c_str());
    });
    return ok();
  }

  Result<void> make_cgroup() {
    if (auto r = step("cgroup"); !r) return r;
    CgroupSpec cgspec = table_.config().cgroup;
    if (spec_.v1_controllers) cgspec.v1_controllers = *spec_.v1_controllers;
    auto made = ContextCgroup::create(table_.layout(), cgspec, *xid_);
    if (!made) return std::move(made).error();
    cg_.emplace(std::move(*made));
    undo_.on_rollback([this] {
      (void)cg_->kill(SIGKILL);
      (void)cg_->remove();
    });
    reached("cgroup");
    return ok();
  }

  // Abstract unix sockets belong to the network namespace: on the host's, the context may
  // reach only its own (E27). Decided before the first process, so none runs unconfined.
  // What the kernel cannot do stays so until the next boot: the reason is kept in the run
  // dir (a tmpfs) and the probe is not made again at every start.
  Result<void> choose_unix_scope() {
    if (spec_.namespaces & CLONE_NEWNET) return ok();
    if (auto r = step("unixscope"); !r) return r;
    const RunCache cache(table_.config().rundir);
    Result<UnixScope> scope = UnixScope{};
    if (auto why = cache.get("unixscope-unavailable", "why"); why && !why->empty()) {
      scope = UnixScope{false, *why};
    } else {
      scope = scope_abstract_unix(cg_->v2_fd());
      if (scope && !scope->attached) cache.put("unixscope-unavailable", "why", scope->why_not);
    }
    if (!scope) return std::move(scope).error();
    if (scope->attached) {
      unix_scope_ = UnixScopeMode::kBpfLsm;
    } else if (long abi = landlock_abi(); abi >= kLandlockScopeAbi) {
      // The first process makes the domain (context_child.cc).
      unix_scope_ = UnixScopeMode::kLandlock;
    } else if (spec_.warn) {
      spec_.warn("context " + xid_->str() + " shares the host's network stack and can reach " +
                 "the host's abstract unix sockets: " + scope->why_not + "; " +
                 (abi < 0 ? "no Landlock either"
                          : "Landlock ABI " + std::to_string(abi) +
                                " has no abstract socket scope (ABI 6)"));
    }
    reached("unixscope");
    return ok();
  }

  Result<void> open_channels() {
    if (auto r = step("channels"); !r) return r;
    auto sync = SyncChannel::make();
    if (!sync) return std::move(sync).error();
    sync_ = std::move(sync->first);
    child_sync_ = std::move(sync->second);
    auto report = make_report_pipe();
    if (!report) return std::move(report).error();
    report_rd_ = std::move(report->first);
    report_wr_ = std::move(report->second);
    if (!spec_.body) {
      auto helper = open_helper();
      if (!helper) return std::move(helper).error();
      helper_ = std::move(*helper);
    }
    return ok();
  }

  Result<void> clone_first_process() {
    if (auto r = step("clone"); !r) return r;
    CloneSpec cs;
    // The child makes its cgroup and mount namespaces itself (context_child.cc).
    cs.flags = spec_.namespaces & ~static_cast<uint64_t>(CLONE_NEWCGROUP | CLONE_NEWNS);
    cs.cgroup_fd = cg_->v2_fd();
    clone_flags_ = cs.flags;
    ChildPlan plan;
    plan.table = &table_;
    plan.spec = &spec_;
    plan.creator_mnt_id = own_mnt_ns_id();
    plan.landlock_scope = unix_scope_ == UnixScopeMode::kLandlock;
    plan.sync = &child_sync_;
    // Borrowed across the clone (ChildPlan): the child closes the creator's ends in its copy
    // of the fd table, the creator the child's once it runs.
    plan.report_fd = report_wr_.get();
    plan.helper_fd = helper_.get();
    auto child = Child::spawn(cs, [&]() -> int {
      sync_.close();
      report_rd_.reset();
      return run_context_child(plan);
    });
    if (!child) return std::move(child).error();
    child_.emplace(std::move(*child));
    child_sync_.close();
    report_wr_.reset();
    helper_.reset();
    return ok();
  }

  // cgroups and user: the creator's halves, then #1.
  Result<void> attach_and_map_ids() {
    if (auto r = step("attach"); !r) return r;
    if (auto r = cg_->attach_v1(child_->pid()); !r) return r;
    if (spec_.namespaces & CLONE_NEWUSER) {
      std::string base = table_.config().proc_root + "/" + std::to_string(child_->pid());
      std::string map = uid_map_for(*xid_);
      if (auto r = write_file(base + "/uid_map", map); !r) return r;
      if (auto r = write_file(base + "/gid_map", map); !r) return r;
    }
    return sync_.send(Step::kCgroupReady);                                 /* #1 */
  }

  // The namespaces clone3 made are pinned while the child sets up; the child makes its mount,
  // cgroup and time namespaces itself, so those wait for its report. The seccomp filter of a
  // sealed context is compiled meanwhile too.
  Result<void> pin_namespaces_of_clone() {
    if (auto r = step("pins"); !r) return r;
    pinned_ = spec_.pin ? *spec_.pin & spec_.namespaces : spec_.namespaces;
    const NsSet from_clone = clone_flags_ & spec_.namespaces & ~static_cast<uint64_t>(CLONE_NEWTIME);
    if (auto r = pin_namespaces(table_.config().proc_root, child_->pid(), from_clone & pinned_,
                                table_.ns_dir(*xid_));
        !r) {
      return r;
    }
    pinned_ &= ~from_clone;
    if (spec_.endsetup && !spec_.body) programs_ = shared_seccomp(table_, spec_.confinement);
    return ok();
  }

  Result<void> await_namespaces() {
    auto ready = sync_.expect(Step::kNsReady, &*child_);                  /* #2 */
    if (!ready) return std::move(ready).error();
    if (auto r = pin_namespaces(table_.config().proc_root, child_->pid(), pinned_,
                                table_.ns_dir(*xid_));
        !r) {
      return r;
    }
    reached("namespaces");
    return ok();
  }

  Result<void> write_state() {
    if (auto r = step("state"); !r) return r;
    ContextState state;
    // Each namespace's identity, from the child (pinned or not, the same inode).
    const std::string child_ns =
        table_.config().proc_root + "/" + std::to_string(child_->pid()) + "/ns/";
    for (const auto& ns : kNamespaces) {
      if (!(spec_.namespaces & ns.clone_flag)) continue;
      struct stat nsf {};
      if (::stat((child_ns + ns.name).c_str(), &nsf) == 0) state.ns_inodes[ns.name] = nsf.st_ino;
    }
    state.xid = *xid_;
    state.stage = spec_.endsetup ? ContextStage::kRunning : ContextStage::kSetup;
    state.namespaces = spec_.namespaces;
    state.persistent = spec_.persistent;
    state.init_pid = child_->pid();
    auto start = process_start_time(table_.config().proc_root, child_->pid());
    if (!start) return std::move(start).error();
    state.init_start = *start;
    state.creator_pid = ::getpid();
    state.created = static_cast<int64_t>(::time(nullptr));
    state.confinement = spec_.confinement;
    state.name = spec_.name;
    state.unix_scope = unix_scope_;
    if (auto r = table_.write_state(state); !r) return r;
    // Kept for later entrants (context_enter.cc), who load it instead of compiling their own.
    if (!programs_.empty()) {
      RunCache(table_.entry_dir(*xid_))
          .put(kEntrySeccomp, seccomp_cache_key(spec_.confinement), programs_);
    }
    reached("state");
    return ok();
  }

  Result<void> run_host_setup() {
    if (!spec_.host_setup) return ok();
    if (auto r = step("host-setup"); !r) return r;
    return spec_.host_setup(*xid_, *cg_, child_->pid());
  }

  Result<void> send_go() {
    if (auto r = step("go"); !r) return r;
    if (auto r = sync_.send(Step::kGo, programs_); !r) return r;           /* #3 */
    reached("go");
    return ok();
  }

  // #4: the child's end of the sync channel closes when it execs the helper (or runs the
  // body); then the helper says whether the command itself runs. A detached start is
  // checked once more: an init that ended already is no running context.
  Result<void> await_exec() {
    if (auto r = step("exec"); !r) return r;
    if (auto r = sync_.expect_eof(Step::kExec); !r) return r;
    const bool token = spec_.builtin_init && (spec_.namespaces & CLONE_NEWPID) && !spec_.body;
    const std::string what = spec_.argv.empty() ? "init" : spec_.argv[0];
    auto report = read_exec_report(report_rd_.get(), *child_, token, what);
    report_rd_.reset();
    reached("exec");
    if (!report) {
      exec_failed_ = std::move(report).error();
      // Nothing runs in a detached context: undone like any failed creation. Attached, the
      // caller gets the exec error once the first process ended (below).
      if (spec_.detach) return std::move(*exec_failed_);
      return ok();
    }
    if (spec_.detach) {
      std::string how = how_it_ended(*child_);
      if (!how.empty()) {
        return make_error(ErrorKind::kFailed, "start", what,
                          "the context's first process " + how + " right away", ECHILD);
      }
    }
    return ok();
  }

  Result<int> finish() {
    undo_.commit();
    lock_ = FileLock();  // the context now lives without its creator's lock
    if (spec_.detach) {
      child_->release();  // its parent is gone with us: the host's init reaps it
      return 0;
    }
    auto status = spec_.wait ? spec_.wait(*child_) : wait_forwarding(*child_);
    child_.reset();
    auto reaped = spec_.persistent ? Result<bool>(false) : table_.reap(*xid_, false, true);
    if (exec_failed_) return wrapped(std::move(*exec_failed_).wrap("run in context " + xid_->str()));
    if (!status) return std::move(status).error();
    if (!reaped) return std::move(reaped).error();
    return status->as_exit_code();
  }

  const ContextTable& table_;
  const CreateSpec& spec_;
  std::string what_;
  // Declared before undo_: its steps use them, so they must outlive it.
  FileLock lock_;
  std::optional<Xid> xid_;
  std::optional<ContextCgroup> cg_;
  Transaction undo_;
  // After undo_: a child left by a failure is killed and reaped before the rollback.
  SyncChannel sync_, child_sync_;
  UniqueFd report_rd_, report_wr_, helper_;
  std::optional<Child> child_;
  UnixScopeMode unix_scope_ = UnixScopeMode::kNone;
  std::string programs_;    // the compiled seccomp filter sent with the go
  uint64_t clone_flags_ = 0;
  NsSet pinned_ = 0;        // the kinds still to pin after #2
  std::optional<Error> exec_failed_;
};

}  // namespace

std::vector<std::string> default_env() {
  return {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"};
}

Result<int> create_and_run(const ContextTable& table, const CreateSpec& spec,
                           const OnCreated& on_created) {
  Creation creation(table, spec);
  return creation.run(on_created);
}

}  // namespace vs::shim
