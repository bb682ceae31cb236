#include "kernel-shim/context.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <grp.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "kernel-shim/confine.h"
#include "kernel-shim/flags.h"
#include "kernel-shim/init.h"
#include "kernel-shim/netiso.h"
#include "kernel-shim/caps.h"
#include "kernel-shim/seccomp.h"
#include "kernel-shim/unixscope.h"
#include "lib/base/child.h"
#include "lib/base/fs_at.h"
#include "lib/base/parse.h"
#include "lib/base/scope_exit.h"
#include "lib/base/syscall.h"

namespace vs::shim {

namespace {

// ---------------------------------------------------------------------------------------
// The parent/child exchange of create_and_run() (STYLE.md R9):
//
//   creator (vcontext)                        first process of the context
//   ------------------                        -----------------------------
//   lock entry, mkdir entry, cgroups
//   clone3(ns flags, INTO_CGROUP v2) ------>  PDEATHSIG=KILL, wait
//   v1 cgroups attach, uid/gid maps
//   #1 kCgroupReady ----------------------->  unshare(CGROUP); propagation; hide run dir;
//                                             fresh /proc, or spec.child_setup (guest root)
//                   <-----------------------  #2 kNsReady
//   pin namespaces, state file, on_created
//   #3 kGo -------------------------------->  PDEATHSIG off; Landlock unix scope (E27)
//   #3b sealed: "B" + compiled seccomp ---->  confine with it (compiled while #1..#2 ran)
//                                             exec CMD (or init forks CMD)
//                   <-----------------------  #4 EOF: exec happened (CLOEXEC) | errno
//   unlock; wait for the first process; reap
//
// Messages travel on a SOCK_SEQPACKET pair; a peer that dies early shows as EOF, which the
// creator reports as "context init died before step #N", never a hang.
// ---------------------------------------------------------------------------------------
enum class Step : uint32_t { kCgroupReady = 1, kNsReady = 2, kGo = 3, kExec = 4 };

struct SyncMsg {
  uint32_t step = 0;
  int32_t err = 0;       ///< errno of a failure, 0 for "done"
  char what[512] = {};    ///< the failing operation, for the creator's message
};

bool send_step(int fd, Step step, int err = 0, const char* what = "") {
  SyncMsg m;
  m.step = static_cast<uint32_t>(step);
  m.err = err;
  std::strncpy(m.what, what, sizeof m.what - 1);
  ssize_t n;
  do {
    n = ::send(fd, &m, sizeof m, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(sizeof m);
}

// Reads one message; false on EOF or error.
bool recv_step(int fd, SyncMsg* m) {
  ssize_t n;
  do {
    n = ::recv(fd, m, sizeof *m, 0);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(sizeof *m);
}

Result<void> expect_step(int fd, Step step) {
  SyncMsg m;
  if (!recv_step(fd, &m)) {
    return make_error(ErrorKind::kFailed, "create context", "",
                      "context init died before step #" +
                          std::to_string(static_cast<uint32_t>(step)),
                      ECHILD);
  }
  if (m.err != 0) return sys_error(m.what, "", m.err);
  if (m.step != static_cast<uint32_t>(step)) {
    return make_error(ErrorKind::kFailed, "create context", "",
                      "protocol error: got step #" + std::to_string(m.step), EPROTO);
  }
  return ok();
}

// Field 22 of /proc/PID/stat: the start time, which tells a pid's reuse apart.
Result<uint64_t> process_start_time(const std::string& proc_root, pid_t pid) {
  auto text = read_file(proc_root + "/" + std::to_string(pid) + "/stat", 4096);
  if (!text) return std::move(text).error();
  // comm may contain spaces and parens: fields start after the last ')'.
  size_t close = text->rfind(')');
  if (close == std::string::npos) {
    return make_error(ErrorKind::kFailed, "parse", "stat of pid " + std::to_string(pid),
                      "no comm", EINVAL);
  }
  std::string_view rest = std::string_view(*text).substr(close + 2);
  // rest starts at field 3 (state); start time is field 22.
  for (int field = 3; field < 22; ++field) {
    size_t sp = rest.find(' ');
    if (sp == std::string_view::npos) break;
    rest.remove_prefix(sp + 1);
  }
  auto v = parse_uint(rest.substr(0, rest.find(' ')), 0, UINT64_MAX, "starttime");
  if (!v) return std::move(v).error();
  return *v;
}

#ifndef NS_GET_MNTNS_ID
#define NS_GET_MNTNS_ID _IOR(0xb7, 0x5, uint64_t)
#endif

// The id of the caller's mount namespace, or 0 where the kernel has no such ioctl.
uint64_t own_mnt_ns_id() {
  UniqueFd fd(::open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC));
  uint64_t id = 0;
  if (!fd || ::ioctl(fd.get(), NS_GET_MNTNS_ID, &id) < 0) return 0;
  return id;
}

// unshare(CLONE_NEWNS) so that the new namespace's id is above `creator_id`. The kernel
// refuses to pin (bind-mount) a mount namespace whose id is not above the pinner's own (its
// loop check), and since 6.18 ids come from per-CPU batches: a namespace made on one CPU
// can have a lower id than an older one made on another. Making it on each allowed CPU in
// turn finds the batch of the creator's namespace or a newer one.
int unshare_mnt_above(uint64_t creator_id) {
  cpu_set_t allowed;
  if (creator_id == 0 || ::sched_getaffinity(0, sizeof allowed, &allowed) < 0) {
    return ::unshare(CLONE_NEWNS);
  }
  int rc = -1;
  bool moved = false;  // the affinity is restored only if it was changed
  for (int cpu = -1; cpu < CPU_SETSIZE; ++cpu) {
    if (cpu >= 0) {
      if (!CPU_ISSET(cpu, &allowed)) continue;
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(cpu, &one);
      if (::sched_setaffinity(0, sizeof one, &one) < 0) continue;
      moved = true;
    }
    rc = ::unshare(CLONE_NEWNS);
    if (rc < 0) break;
    uint64_t mine = own_mnt_ns_id();
    if (mine == 0 || mine > creator_id) break;
    rc = -1;
    errno = EAGAIN;
  }
  if (moved) {
    int err = errno;
    ::sched_setaffinity(0, sizeof allowed, &allowed);
    errno = err;
  }
  return rc;
}

// Sets the loopback interface of the calling process's network namespace up. -1 and errno.
int loopback_up() {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct ifreq ifr {};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  int rc = ::ioctl(fd, SIOCGIFFLAGS, &ifr);
  if (rc == 0 && !(ifr.ifr_flags & IFF_UP)) {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    rc = ::ioctl(fd, SIOCSIFFLAGS, &ifr);
  }
  int err = errno;
  ::close(fd);
  errno = err;
  return rc;
}

// Makes a time namespace in which CLOCK_MONOTONIC and CLOCK_BOOTTIME (uptime) start at
// about zero now, and moves the calling (single-threaded) process into it. -1 and errno.
int enter_fresh_time_ns() {
  struct timespec mono {}, boot {};
  if (::clock_gettime(CLOCK_MONOTONIC, &mono) < 0 || ::clock_gettime(CLOCK_BOOTTIME, &boot) < 0) {
    return -1;
  }
  if (::unshare(CLONE_NEWTIME) < 0) return -1;
  // Offsets may only be written before any process is in the namespace. A clock must not
  // go negative: keep one second.
  std::string offsets = "monotonic -" + std::to_string(mono.tv_sec > 1 ? mono.tv_sec - 1 : 0) +
                        " 0\nboottime -" +
                        std::to_string(boot.tv_sec > 1 ? boot.tv_sec - 1 : 0) + " 0\n";
  int fd = ::open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = ::write(fd, offsets.data(), offsets.size());
  int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(offsets.size())) {
    errno = n < 0 ? err : EIO;
    return -1;
  }
  fd = ::open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = ::setns(fd, CLONE_NEWTIME);
  err = errno;
  ::close(fd);
  errno = err;
  return rc;
}

// Child side of create_and_run: the checklist between clone3 and exec (R6). Runs in the
// first process of the context; returns the exit code for _exit.
int context_child(const ContextTable& table, const CreateSpec& spec, uint64_t creator_mnt_id,
                  bool landlock_scope, int sync) {
  // 1. Die with the creator while setting up; the socket tells us if it is already gone.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  SyncMsg m;
  auto fail = [&](const char* what) {
    send_step(sync, Step::kNsReady, errno, what);
    return 1;
  };
  auto cgroup_ready = [&] {
    return recv_step(sync, &m) && m.step == static_cast<uint32_t>(Step::kCgroupReady);
  };
  // The mounts and the setup hook: with spec.setup_early while the creator still attaches us
  // to the v1 hierarchies (nothing here depends on them), else once it has.
  auto mount_setup = [&]() -> int {
    if (spec.namespaces & CLONE_NEWNS) {
      if (unshare_mnt_above(creator_mnt_id) < 0) return fail("unshare(CLONE_NEWNS)");
      // 3. Propagation before any other mount (R8): nothing we do here reaches the host.
      if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) < 0) {
        return fail("mount / MS_REC|MS_SLAVE");
      }
      // 4. Sealed from the start: the context table (state, locks) is none of the context's
      // business. Unsealed, the setup chain inside (vcontext --migrate-self --endsetup) still
      // needs it; seal() hides it then. A setup hook that enters a guest root (pivot_root,
      // old root detached) takes the run dir out of view with the rest of the host: one
      // detach (and RCU grace period) less. Checked below, after the hook.
      if (spec.endsetup && !spec.child_setup) {
        ::umount2(table.config().rundir.c_str(), MNT_DETACH);
      }
      // 5. A /proc that shows the context's own pid namespace (the guest root has its own).
      if ((spec.namespaces & CLONE_NEWPID) && !spec.child_setup &&
          ::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0) {
        return fail("mount /proc");
      }
    }
    if (spec.child_setup) {
      struct stat run_before {};
      const bool had_rundir = ::stat(table.config().rundir.c_str(), &run_before) == 0;
      if (auto r = spec.child_setup(); !r) {
        send_step(sync, Step::kNsReady, r.error().code != 0 ? r.error().code : EINVAL,
                  r.error().message().c_str());
        return 1;
      }
      struct stat run_after {};
      if (spec.endsetup && had_rundir && ::stat(table.config().rundir.c_str(), &run_after) == 0 &&
          run_after.st_dev == run_before.st_dev && run_after.st_ino == run_before.st_ino &&
          ::umount2(table.config().rundir.c_str(), MNT_DETACH) < 0) {
        return fail("umount the run dir");
      }
    }
    return 0;
  };
  const bool early = spec.setup_early && !(spec.namespaces & CLONE_NEWUSER);
  if (early) {
    // A new network namespace starts with its loopback down: services expect it up.
    if ((spec.namespaces & CLONE_NEWNET) && loopback_up() < 0) return fail("bring up lo");
    if (int rc = mount_setup(); rc != 0) return rc;
  }
  if (!cgroup_ready()) return 1;
  // In a new user namespace the creator has written the maps: become its root.
  if ((spec.namespaces & CLONE_NEWUSER) &&
      (::setresgid(0, 0, 0) < 0 || ::setgroups(0, nullptr) < 0 || ::setresuid(0, 0, 0) < 0)) {
    return fail("become root of the user namespace");
  }
  // A time namespace whose clocks start now (flag virt_uptime): the first process makes it
  // and moves itself in (unshare only takes children; setns to time_for_children takes us).
  if ((spec.namespaces & CLONE_NEWTIME) && enter_fresh_time_ns() < 0) {
    return fail("time namespace");
  }
  if (!early && (spec.namespaces & CLONE_NEWNET) && loopback_up() < 0) return fail("bring up lo");
  // 2. The cgroup namespace now, so its root is the context's cgroup in every hierarchy.
  if ((spec.namespaces & CLONE_NEWCGROUP) && ::unshare(CLONE_NEWCGROUP) < 0) {
    return fail("unshare(CLONE_NEWCGROUP)");
  }
  if (!early) {
    if (int rc = mount_setup(); rc != 0) return rc;
  }
  if (!send_step(sync, Step::kNsReady)) return 1;
  // 6. Wait for the creator's go: pins and state are in place.
  if (!recv_step(sync, &m) || m.step != static_cast<uint32_t>(Step::kGo)) return 1;
  // 7. From now on the context lives on its own, creator or not.
  ::prctl(PR_SET_PDEATHSIG, 0);
  // 8. On the host's network stack without the BPF LSM: the Landlock domain that keeps the
  // context to its own abstract unix sockets (E27), before anything runs in it.
  if (landlock_scope) {
    if (auto r = landlock_scope_abstract_unix(); !r) {
      int err = r.error().code ? r.error().code : EPERM;
      (void)!::write(sync, &err, sizeof err);
      return 127;
    }
  }
  if (spec.endsetup) {
    // The filter the creator compiled while we set up (#3b): "B" and the blob, which may be
    // empty (no filter, or the creator could not compile it: then we compile it here).
    // Sized by a peek first (MSG_TRUNC gives the message's real length): a blind large
    // buffer would cost the child a page fault per page on this path.
    ssize_t got;
    do {
      got = ::recv(sync, nullptr, 0, MSG_PEEK | MSG_TRUNC);
    } while (got < 0 && errno == EINTR);
    if (got < 1 || got > (1 << 20)) return 1;
    std::string programs(static_cast<size_t>(got), '\0');
    do {
      got = ::recv(sync, programs.data(), programs.size(), 0);
    } while (got < 0 && errno == EINTR);
    if (got < 1 || programs[0] != 'B') return 1;
    programs.resize(static_cast<size_t>(got));
    programs.erase(0, 1);
    if (auto r = confine_to_context(spec.attrs, programs); !r) {
      errno = r.error().code;
      int err = errno ? errno : EPERM;
      (void)!::write(sync, &err, sizeof err);
      return 127;
    }
  }
  if (spec.body) {
    ::close(sync);  // the creator takes the EOF for "running"
    return spec.body();
  }
  if (spec.builtin_init && (spec.namespaces & CLONE_NEWPID)) {
    if (spec.init_stays) return run_guest_init(spec.argv, sync);
    return run_builtin_init(spec.argv, sync);
  }
  return exec_command(spec.argv, sync);
}

std::string uid_map_for(Xid xid) {
  // Each context's root maps to its own 65536-id block: xid << 16.
  uint64_t base = static_cast<uint64_t>(xid.value()) << 16;
  uint64_t count = xid.value() == Xid::kDynamicMax ? 65535 : 65536;
  return "0 " + std::to_string(base) + " " + std::to_string(count) + "\n";
}

Result<Xid> pick_xid(const ContextTable& table, const CreateSpec& spec, FileLock* lock) {
  auto try_take = [&](Xid x) -> Result<bool> {
    auto lk = table.lock(x, false);
    if (!lk) {
      if (lk.error().code == EWOULDBLOCK) return false;
      return std::move(lk).error();
    }
    struct stat st {};
    if (::lstat(table.entry_dir(x).c_str(), &st) == 0) {
      // An entry exists: dead ones are reaped (we hold the lock, so reap inline).
      auto live = table.alive(x);
      if (!live) return std::move(live).error();
      auto state = table.read_state(x);
      if (*live || (state && state->persistent)) return false;
      lk = FileLock();  // reap() takes the lock itself
      auto reaped = table.reap(x);
      if (!reaped) return std::move(reaped).error();
      if (!*reaped) return false;
      auto again = table.lock(x, false);
      if (!again) return again.error().code == EWOULDBLOCK ? Result<bool>(false)
                                                            : Result<bool>(std::move(again).error());
      if (::lstat(table.entry_dir(x).c_str(), &st) == 0) return false;
      *lock = std::move(*again);
      return true;
    }
    *lock = std::move(*lk);
    return true;
  };
  if (spec.xid) {
    auto took = try_take(*spec.xid);
    if (!took) return std::move(took).error();
    if (!*took) {
      return make_error(ErrorKind::kWrongState, "create context", spec.xid->str(),
                        "a context with this xid already exists", EEXIST);
    }
    return *spec.xid;
  }
  // First the xids without an entry, found by one listing of the table: no lock, stat and
  // state read per running context (at 1000 guests, thousands of system calls per start).
  // Two creators may pick the same one: the lock and the entry check in try_take decide.
  if (auto seen = table.entries()) {
    std::vector<bool> has_entry(Xid::kDynamicMax - Xid::kDynamicMin + 1, false);
    for (Xid x : *seen) {
      if (x.value() >= Xid::kDynamicMin) has_entry[x.value() - Xid::kDynamicMin] = true;
    }
    for (uint32_t v = Xid::kDynamicMin; v <= Xid::kDynamicMax; ++v) {
      if (has_entry[v - Xid::kDynamicMin]) continue;
      auto took = try_take(Xid(static_cast<uint16_t>(v)));
      if (!took) return std::move(took).error();
      if (*took) return Xid(static_cast<uint16_t>(v));
    }
  }
  // Every dynamic xid has an entry: dead ones are reaped on the way.
  for (uint32_t v = Xid::kDynamicMin; v <= Xid::kDynamicMax; ++v) {
    auto took = try_take(Xid(static_cast<uint16_t>(v)));
    if (!took) return std::move(took).error();
    if (*took) return Xid(static_cast<uint16_t>(v));
  }
  return make_error(ErrorKind::kFailed, "create context", "", "no free dynamic xid", EAGAIN);
}

// The compiled filter for a set of attributes, shared by every context created with the same
// ones (most guests): RUNDIR/seccomp-HASH.bpf, "KEY\n" and the blob, the key checked on
// every read (the run dir is root's). Compiled and written by the first creator. Empty when
// there is no filter or it cannot be compiled (the child then compiles its own).
std::string shared_seccomp(const ContextTable& table, const Attributes& attrs) {
  auto sc = SeccompSpec::from_attrs(attrs);
  auto bcaps = bcaps_from_attrs(attrs);
  if (!sc || !bcaps || !sc->enabled) return {};
  const std::string key = seccomp_cache_key(attrs);
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ULL;
  char name[48];
  std::snprintf(name, sizeof name, "seccomp-%016llx.bpf", static_cast<unsigned long long>(h));
  if (auto text = read_file(table.config().rundir + "/" + name, 1 << 20)) {
    size_t nl = text->find('\n');
    if (nl != std::string::npos && text->compare(0, nl, key) == 0) return text->substr(nl + 1);
  }
  auto blob = compile_guest_programs(*bcaps, *sc);
  if (!blob) return {};
  UniqueFd dir(::open(table.config().rundir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir) (void)atomic_write_at(dir.get(), name, key + "\n" + *blob, 0600);
  return *blob;
}

}  // namespace

Result<ExitStatus> wait_forwarding(Child& child) {
  sigset_t set, old;
  ::sigemptyset(&set);
  for (int s : {SIGHUP, SIGINT, SIGQUIT, SIGTERM}) ::sigaddset(&set, s);
  ::sigprocmask(SIG_BLOCK, &set, &old);
  ScopeExit restore([&] { ::sigprocmask(SIG_SETMASK, &old, nullptr); });
  UniqueFd sfd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sfd) return sys_error("signalfd", "");
  for (;;) {
    struct pollfd fds[2] = {{child.pidfd(), POLLIN, 0}, {sfd.get(), POLLIN, 0}};
    int n = ::poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return sys_error("poll", "");
    }
    if (fds[1].revents & POLLIN) {
      struct signalfd_siginfo si {};
      while (::read(sfd.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        (void)child.signal(static_cast<int>(si.ssi_signo));
      }
    }
    if (fds[0].revents & POLLIN) return child.wait();
  }
}

Result<int> create_and_run(const ContextTable& table, const CreateSpec& spec,
                           const OnCreated& on_created) {
  bool stays = spec.init_stays && spec.builtin_init && (spec.namespaces & CLONE_NEWPID);
  if (spec.argv.empty() && !stays && !spec.body) {
    return usage_error("command", "no command to run in the context");
  }
  if (auto r = check_attributes(spec.attrs); !r) return std::move(r).error();
  auto step = [&spec](const char* name) {
    if (spec.at_step) spec.at_step(name);
  };
  // Declared before the Transaction: its undo steps use them, so they must outlive it.
  FileLock lock;
  std::optional<ContextCgroup> cg;
  Transaction undo;
  auto xid = pick_xid(table, spec, &lock);
  if (!xid) return std::move(xid).error();
  std::string what = "create context " + xid->str();
  undo.on_rollback([&lock] { (void)lock.unlink_and_release(); });
  if (spec.on_xid) {
    if (auto r = spec.on_xid(*xid); !r) return std::move(r).error().wrap(what);
  }
  step("locked");

  if (::mkdir(table.entry_dir(*xid).c_str(), 0700) < 0) {
    return sys_error("mkdir", table.entry_dir(*xid)).wrap(what);
  }
  undo.on_rollback([&table, x = *xid] {
    // The host side of an isolated network a host_setup made (it records it in the state
    // before making it), while the context's namespaces are still pinned.
    auto st = table.read_state(x);
    struct stat hostns {};
    if ((st && is_isolated(st->attrs)) ||
        ::lstat((table.entry_dir(x) + "/hostns").c_str(), &hostns) == 0) {
      (void)teardown_isolated_net(table, x, st ? st->attrs : Attributes{});
    }
    (void)unpin_namespaces(table.ns_dir(x));
    ::unlink((table.entry_dir(x) + "/seccomp.bpf").c_str());
    ::unlink((table.entry_dir(x) + "/state").c_str());
    ::rmdir(table.entry_dir(x).c_str());
  });
  std::string unix_scope;  // ContextState::unix_scope
  CgroupSpec cgspec = table.config().cgroup;
  if (spec.v1_controllers) cgspec.v1_controllers = *spec.v1_controllers;
  auto made = ContextCgroup::create(table.layout(), cgspec, *xid);
  if (!made) return std::move(made).error().wrap(what);
  cg.emplace(std::move(*made));
  undo.on_rollback([&cg] {
    (void)cg->kill(SIGKILL);
    (void)cg->remove();
  });
  step("cgroup");
  if (!(spec.namespaces & CLONE_NEWNET)) {
    // Abstract unix sockets belong to the network namespace: on the host's, the context may
    // reach only its own (E27). Before the first process, so none runs unconfined.
    // What the kernel cannot do stays so until the next boot: the reason is kept in the run
    // dir (a tmpfs) and the probe (about 0.3 ms) is not made again at every start.
    const std::string cant = table.config().rundir + "/unixscope-unavailable";
    Result<UnixScope> scope = UnixScope{};
    if (auto why = read_file(cant, 4096); why && !why->empty()) {
      scope = UnixScope{false, *why};
    } else {
      scope = scope_abstract_unix(cg->v2_fd());
      if (scope && !scope->attached) {
        UniqueFd run(::open(table.config().rundir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (run) (void)atomic_write_at(run.get(), "unixscope-unavailable", scope->why_not, 0600);
      }
    }
    if (!scope) return std::move(scope).error().wrap(what);
    if (scope->attached) {
      unix_scope = "bpf-lsm";
    } else if (long abi = landlock_abi(); abi >= kLandlockScopeAbi) {
      // The first process makes the Landlock domain itself, after the go (context_child).
      unix_scope = "landlock";
    } else if (spec.warn) {
      spec.warn("context " + xid->str() + " shares the host's network stack and can reach " +
                "the host's abstract unix sockets: " + scope->why_not + "; " +
                (abi < 0 ? "no Landlock either" : "Landlock ABI " + std::to_string(abi) +
                 " has no abstract socket scope (ABI 6)"));
    }
    step("unixscope");
  }

  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
    return sys_error("socketpair", "").wrap(what);
  }
  UniqueFd parent_end(sp[0]), child_end(sp[1]);

  CloneSpec cs;
  // The child makes its cgroup and mount namespaces itself (see context_child).
  cs.flags = spec.namespaces & ~static_cast<uint64_t>(CLONE_NEWCGROUP | CLONE_NEWNS);
  cs.cgroup_fd = cg->v2_fd();
  uint64_t creator_mnt_id = own_mnt_ns_id();
  auto child = Child::spawn(cs, [&]() -> int {
    parent_end.reset();
    return context_child(table, spec, creator_mnt_id, unix_scope == "landlock",
                         child_end.get());
  });
  if (!child) return std::move(child).error().wrap(what);
  child_end.reset();

  if (auto r = cg->attach_v1(child->pid()); !r) return std::move(r).error().wrap(what);
  if (spec.namespaces & CLONE_NEWUSER) {
    std::string base = table.config().proc_root + "/" + std::to_string(child->pid());
    std::string map = uid_map_for(*xid);
    if (auto r = write_file(base + "/uid_map", map); !r) return std::move(r).error().wrap(what);
    if (auto r = write_file(base + "/gid_map", map); !r) return std::move(r).error().wrap(what);
  }
  send_step(parent_end.get(), Step::kCgroupReady);                              /* #1 */
  // The namespaces clone3 made are pinned while the child sets up; the child makes its
  // mount, cgroup and time namespaces itself, so those wait for its report.
  const NsSet pinned = spec.pin ? *spec.pin & spec.namespaces : spec.namespaces;
  const NsSet from_clone = cs.flags & spec.namespaces & ~static_cast<uint64_t>(CLONE_NEWTIME);
  if (auto r = pin_namespaces(table.config().proc_root, child->pid(), from_clone & pinned,
                              table.ns_dir(*xid));
      !r) {
    return std::move(r).error().wrap(what);
  }
  // A sealed context's seccomp filter, compiled here while the child sets up its mounts;
  // sent with the go (#3b) and kept for later entrants (spawn_in_context).
  std::string programs;
  if (spec.endsetup) programs = shared_seccomp(table, spec.attrs);
  if (auto r = expect_step(parent_end.get(), Step::kNsReady); !r) {            /* #2 */
    return std::move(r).error().wrap(what);
  }
  if (auto r = pin_namespaces(table.config().proc_root, child->pid(),
                              spec.namespaces & ~from_clone & pinned, table.ns_dir(*xid));
      !r) {
    return std::move(r).error().wrap(what);
  }
  step("namespaces");
  ContextState state;
  // Each namespace's identity, from the child (pinned or not, the same inode).
  const std::string child_ns =
      table.config().proc_root + "/" + std::to_string(child->pid()) + "/ns/";
  for (const auto& ns : kNamespaces) {
    if (!(spec.namespaces & ns.clone_flag)) continue;
    struct stat nsf {};
    if (::stat((child_ns + ns.name).c_str(), &nsf) == 0) state.ns_inodes[ns.name] = nsf.st_ino;
  }
  state.xid = *xid;
  state.stage = spec.endsetup ? ContextStage::kRunning : ContextStage::kSetup;
  state.namespaces = spec.namespaces;
  state.persistent = spec.persistent;
  state.init_pid = child->pid();
  auto start = process_start_time(table.config().proc_root, child->pid());
  if (!start) return std::move(start).error().wrap(what);
  state.init_start = *start;
  state.creator_pid = ::getpid();
  state.created = static_cast<int64_t>(::time(nullptr));
  state.attrs = spec.attrs;
  state.name = spec.name;
  state.unix_scope = unix_scope;
  if (auto r = table.write_state(state); !r) return std::move(r).error().wrap(what);
  step("state");
  if (spec.host_setup) {
    if (auto r = spec.host_setup(*xid, *cg, child->pid()); !r) return std::move(r).error();
  }
  if (!programs.empty()) {
    UniqueFd dir(::open(table.entry_dir(*xid).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir) {
      (void)atomic_write_at(dir.get(), "seccomp.bpf",
                            seccomp_cache_key(spec.attrs) + "\n" + programs, 0600);
    }
  }
  if (on_created) on_created(*xid);
  send_step(parent_end.get(), Step::kGo);                                       /* #3 */
  if (spec.endsetup) {
    std::string msg = "B" + programs;
    ssize_t sent;
    do {
      sent = ::send(parent_end.get(), msg.data(), msg.size(), MSG_NOSIGNAL);
    } while (sent < 0 && errno == EINTR);
  }
  step("go");

  // #4: EOF means the command was exec'd (the channel is close-on-exec); an int is errno.
  int exec_err = 0;
  ssize_t n;
  do {
    n = ::read(parent_end.get(), &exec_err, sizeof exec_err);
  } while (n < 0 && errno == EINTR);
  parent_end.reset();
  step("exec");
  if (n == static_cast<ssize_t>(sizeof exec_err) && exec_err != 0 && spec.detach) {
    // Nothing runs in the context: it is undone like any failed creation.
    (void)child->wait();
    return sys_error("exec", spec.argv.empty() ? "init" : spec.argv[0], exec_err)
        .wrap("run in context " + xid->str());
  }
  undo.commit();
  lock = FileLock();  // the context now lives without its creator's lock
  if (spec.detach) {
    child->release();  // its parent is gone with us: the host's init reaps it
    return 0;
  }

  auto status = wait_forwarding(*child);
  auto reaped = spec.persistent ? Result<bool>(false) : table.reap(*xid, false, true);
  if (n == static_cast<ssize_t>(sizeof exec_err) && exec_err != 0) {
    Error e = sys_error("exec", spec.argv[0], exec_err);
    return std::move(e).wrap("run in context " + xid->str());
  }
  if (!status) return std::move(status).error();
  if (!reaped) return std::move(reaped).error();
  return status->as_exit_code();
}

UniqueFd open_init(const ContextTable& table, const ContextState& st) {
  if (st.init_pid <= 0) return UniqueFd();
  UniqueFd fd(sys::pidfd_open(st.init_pid, 0));
  if (!fd) return fd;
  // Checked after the pidfd exists: if the pid was recycled before, the times differ.
  auto start = process_start_time(table.config().proc_root, st.init_pid);
  if (!start || *start != st.init_start) return UniqueFd();
  return fd;
}

namespace {

// Whether a process may enter the context at all (flag private).
Result<void> check_entry(const ContextState& st) {
  auto it = st.attrs.find("flags");
  if (it != st.attrs.end() && has_flag(it->second, "private")) {
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

}  // namespace

namespace {

// In the child of spawn_in_context, after confinement: the user, the directory, the terminal
// and the environment of the command. -1 and errno on failure.
int prepare_command(const RunOptions& opts, bool root_changed) {
  if (opts.tty_fd >= 0) {
    if (::setsid() < 0 || ::ioctl(opts.tty_fd, TIOCSCTTY, 0) < 0) return -1;
    for (int fd = 0; fd < 3; ++fd) {
      if (::dup2(opts.tty_fd, fd) < 0) return -1;
    }
  }
  if (opts.uid) {
    if (::setgroups(opts.groups.size(), opts.groups.data()) < 0 ||
        ::setresgid(opts.gid, opts.gid, opts.gid) < 0 ||
        ::setresuid(*opts.uid, *opts.uid, *opts.uid) < 0) {
      return -1;
    }
  }
  std::string cwd = opts.cwd.empty() && root_changed ? "/" : opts.cwd;
  if (!cwd.empty() && ::chdir(cwd.c_str()) < 0 && ::chdir("/") < 0) return -1;
  if (opts.env) {
    ::clearenv();
    for (const auto& kv : *opts.env) {
      size_t eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) continue;
      ::setenv(kv.substr(0, eq).c_str(), kv.c_str() + eq + 1, 1);
    }
  }
  return 0;
}

}  // namespace

namespace {

// The compiled filter of a sealed context, kept in its entry as `seccomp.bpf` ("KEY\n" and
// the blob, KEY the attributes it was compiled from): compiled by the first entrant, only
// loaded by the next ones. Empty when there is no filter (or on any trouble: the entrant then
// compiles its own).
std::string cached_seccomp(const ContextTable& table, const ContextState& st) {
  auto spec = SeccompSpec::from_attrs(st.attrs);
  auto bcaps = bcaps_from_attrs(st.attrs);
  if (!spec || !spec->enabled || !bcaps) return {};
  const std::string key = seccomp_cache_key(st.attrs);
  if (auto text = read_file(table.entry_dir(st.xid) + "/seccomp.bpf", 1 << 20)) {
    size_t nl = text->find('\n');
    if (nl != std::string::npos && text->compare(0, nl, key) == 0) return text->substr(nl + 1);
  }
  auto blob = compile_guest_programs(*bcaps, *spec);
  if (!blob) return {};
  UniqueFd dir(::open(table.entry_dir(st.xid).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir) (void)atomic_write_at(dir.get(), "seccomp.bpf", key + "\n" + *blob, 0600);
  return *blob;
}

}  // namespace

Result<Child> spawn_in_context(const ContextTable& table, Xid xid,
                               const std::vector<std::string>& argv, const RunOptions& opts) {
  if (argv.empty()) return usage_error("command", "no command to run in the context");
  std::string what = "migrate into context " + xid.str();
  auto st = table.lookup(xid);
  if (!st) return std::move(st).error().wrap(what);
  if (auto r = check_entry(*st); !r) return std::move(r).error().wrap(what);
  bool confine = st->stage == ContextStage::kRunning;
  const std::string programs = confine ? cached_seccomp(table, *st) : std::string();
  auto cg = ContextCgroup::open(table.layout(), table.config().cgroup, xid);
  if (!cg) return std::move(cg).error().wrap(what);
  UniqueFd init = open_init(table, *st);
  // The pid namespace first, in this process: it only applies to children, and the child
  // must be born into it. The child joins everything else itself, after it was attached to
  // the cgroups from here (a cgroup namespace would hide them from it).
  if (auto r = join(table, *st, init.get(), st->namespaces & CLONE_NEWPID); !r) {
    return std::move(r).error().wrap(what);
  }
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
    return sys_error("socketpair", "").wrap(what);
  }
  UniqueFd parent_end(sp[0]), child_end(sp[1]);
  CloneSpec cs;
  cs.cgroup_fd = cg->v2_fd();
  NsSet rest = st->namespaces & ~static_cast<uint64_t>(CLONE_NEWPID);
  auto child = Child::spawn(cs, [&]() -> int {
    parent_end.reset();
    SyncMsg m;
    if (!recv_step(child_end.get(), &m)) return 1;
    // Not dumpable until exec: a guest process of the same uid cannot ptrace us meanwhile.
    ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    auto r = join(table, *st, init.get(), rest);
    if (r && st->unix_scope == "landlock") r = landlock_scope_abstract_unix();
    if (r && confine) r = confine_to_context(st->attrs, programs);
    if (r && prepare_command(opts, (rest & CLONE_NEWNS) != 0) < 0) {
      r = sys_error("prepare command", argv[0]);
    }
    if (!r) {
      int err = r.error().code ? r.error().code : EINVAL;
      (void)!::write(child_end.get(), &err, sizeof err);
      return 127;
    }
    return exec_command(argv, child_end.get());
  });
  if (!child) return std::move(child).error().wrap(what);
  child_end.reset();
  init.reset();
  if (auto r = cg->attach_v1(child->pid()); !r) return std::move(r).error().wrap(what);
  send_step(parent_end.get(), Step::kGo);
  int err = 0;
  ssize_t n;
  do {
    n = ::read(parent_end.get(), &err, sizeof err);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof err) && err != 0) {
    (void)child->wait();
    return sys_error("exec", argv[0], err).wrap("run in context " + xid.str());
  }
  return std::move(*child);
}

Result<int> migrate_and_run(const ContextTable& table, Xid xid,
                            const std::vector<std::string>& argv) {
  auto child = spawn_in_context(table, xid, argv, RunOptions{});
  if (!child) return std::move(child).error();
  auto status = wait_forwarding(*child);
  if (!status) return std::move(status).error();
  return status->as_exit_code();
}

Result<std::optional<int>> migrate_self(const ContextTable& table, Xid xid, bool endsetup) {
  std::string what = "migrate into context " + xid.str();
  auto st = table.lookup(xid);
  if (!st) return std::move(st).error().wrap(what);
  if (endsetup && st->stage == ContextStage::kRunning) {
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
    if (endsetup || st->stage == ContextStage::kRunning) {
      if (auto r = confine_to_context(st->attrs); !r) return std::move(r).error().wrap(what);
    }
    return std::optional<int>();
  }
  if (auto r = check_entry(*st); !r) return std::move(r).error().wrap(what);
  bool confine = endsetup || st->stage == ContextStage::kRunning;
  auto cg = ContextCgroup::open(table.layout(), table.config().cgroup, xid);
  if (!cg) return std::move(cg).error().wrap(what);
  UniqueFd init = open_init(table, *st);
  // Cgroups before namespaces: from inside a cgroup namespace the target is out of reach.
  if (auto r = cg->attach(::getpid()); !r) return std::move(r).error().wrap(what);
  // Sealed while the table is still in view (joining the mount namespace hides it).
  if (endsetup) {
    if (auto r = seal(table, xid); !r) return std::move(r).error();
  }
  if (confine) ::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (auto r = join(table, *st, init.get(), st->namespaces); !r) {
    return std::move(r).error().wrap(what);
  }
  auto go_on = [&]() -> Result<std::optional<int>> {
    if (st->unix_scope == "landlock") {
      if (auto r = landlock_scope_abstract_unix(); !r) return std::move(r).error().wrap(what);
    }
    if (confine) {
      if (auto r = confine_to_context(st->attrs); !r) return std::move(r).error().wrap(what);
    }
    return std::optional<int>();
  };
  if (!(st->namespaces & CLONE_NEWPID)) return go_on();
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
  auto st = table.lookup(xid);
  if (!st) return std::move(st).error().wrap(what);
  if (auto r = check_subset(xid, st->namespaces, which); !r) return r;
  UniqueFd init = open_init(table, *st);
  if (auto r = join(table, *st, init.get(), which); !r) return std::move(r).error().wrap(what);
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
