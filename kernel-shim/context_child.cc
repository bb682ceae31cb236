#include "kernel-shim/context_child.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "kernel-shim/confine.h"
#include "kernel-shim/helper.h"
#include "kernel-shim/unixscope.h"

#ifndef NS_GET_MNTNS_ID
#define NS_GET_MNTNS_ID _IOR(0xb7, 0x5, uint64_t)
#endif

namespace vs::shim {

uint64_t own_mnt_ns_id() {
  UniqueFd fd(::open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC));
  uint64_t id = 0;
  if (!fd || ::ioctl(fd.get(), NS_GET_MNTNS_ID, &id) < 0) return 0;
  return id;
}

namespace {

Result<void> injected(const ChildPlan& p, const char* step) {
  if (p.spec->inject) return p.spec->inject(step);
  return ok();
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

// ---- The child's halves, in the order run_context_child() calls them. ----

// Creator's half: it sees the sync channel's EOF if we die.
Result<void> die_with_creator() {
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) return sys_error("prctl(PR_SET_PDEATHSIG)", "");
  return ok();
}

// net. Creator's half: host_setup (addresses, veth). A new network namespace starts with its
// loopback down; services expect it up.
Result<void> bring_up_loopback(const ChildPlan& p) {
  if (!(p.spec->namespaces & CLONE_NEWNET)) return ok();
  if (auto r = injected(p, "child-loopback"); !r) return r;
  UniqueFd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!fd) return sys_error("socket", "bring up lo");
  struct ifreq ifr {};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(fd.get(), SIOCGIFFLAGS, &ifr) < 0) return sys_error("SIOCGIFFLAGS", "lo");
  if (ifr.ifr_flags & IFF_UP) return ok();
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
  if (::ioctl(fd.get(), SIOCSIFFLAGS, &ifr) < 0) return sys_error("bring up lo", "");
  return ok();
}

// mnt. Creator's half: pins the namespace once we report #2. The mount namespace, its
// propagation, the run dir out of view, and /proc or the guest root (spec.child_setup).
Result<void> set_up_mounts(const ChildPlan& p) {
  const CreateSpec& spec = *p.spec;
  if (auto r = injected(p, "child-mounts"); !r) return r;
  const std::string& rundir = p.table->config().rundir;
  if (spec.namespaces & CLONE_NEWNS) {
    if (unshare_mnt_above(p.creator_mnt_id) < 0) return sys_error("unshare(CLONE_NEWNS)", "");
    // Propagation before any other mount (R8): nothing we do here reaches the host.
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) < 0) {
      return sys_error("mount / MS_REC|MS_SLAVE", "");
    }
    // Sealed from the start: the context table (state, locks) is none of the context's
    // business. Unsealed, the setup chain inside (vcontext --migrate-self --endsetup) still
    // needs it; seal() hides it then. A setup hook that enters a guest root (pivot_root, old
    // root detached) takes the run dir out of view with the rest of the host (checked below).
    if (spec.endsetup && !spec.child_setup) ::umount2(rundir.c_str(), MNT_DETACH);
    // A /proc that shows the context's own pid namespace (a guest root mounts its own).
    if ((spec.namespaces & CLONE_NEWPID) && !spec.child_setup &&
        ::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0) {
      return sys_error("mount /proc", "");
    }
  }
  if (!spec.child_setup) return ok();
  struct stat before {};
  const bool had_rundir = ::stat(rundir.c_str(), &before) == 0;
  if (auto r = spec.child_setup(); !r) return r;
  struct stat after {};
  if (spec.endsetup && had_rundir && ::stat(rundir.c_str(), &after) == 0 &&
      after.st_dev == before.st_dev && after.st_ino == before.st_ino &&
      ::umount2(rundir.c_str(), MNT_DETACH) < 0) {
    return sys_error("umount the run dir", rundir);
  }
  return ok();
}

// #1: the creator attached us to the v1 hierarchies and wrote the id maps.
Result<void> await_cgroups(const ChildPlan& p) {
  auto m = p.sync->expect(Step::kCgroupReady);
  if (!m) return std::move(m).error();
  return ok();
}

// user. Creator's half: it wrote our uid and gid maps before #1.
Result<void> become_userns_root(const ChildPlan& p) {
  if (!(p.spec->namespaces & CLONE_NEWUSER)) return ok();
  if (auto r = injected(p, "child-userns"); !r) return r;
  if (::setresgid(0, 0, 0) < 0 || ::setgroups(0, nullptr) < 0 || ::setresuid(0, 0, 0) < 0) {
    return sys_error("become root of the user namespace", "");
  }
  return ok();
}

// time (flag virt_uptime). No creator's half: a time namespace whose CLOCK_MONOTONIC and
// CLOCK_BOOTTIME start at about zero now, which the first process makes and moves itself
// into (unshare only takes children; setns to time_for_children takes us).
Result<void> enter_fresh_time_ns(const ChildPlan& p) {
  if (!(p.spec->namespaces & CLONE_NEWTIME)) return ok();
  if (auto r = injected(p, "child-timens"); !r) return r;
  struct timespec mono {}, boot {};
  if (::clock_gettime(CLOCK_MONOTONIC, &mono) < 0 || ::clock_gettime(CLOCK_BOOTTIME, &boot) < 0) {
    return sys_error("clock_gettime", "time namespace");
  }
  if (::unshare(CLONE_NEWTIME) < 0) return sys_error("unshare(CLONE_NEWTIME)", "");
  // Offsets may only be written before any process is in the namespace. A clock must not go
  // negative: keep one second.
  std::string offsets = "monotonic -" + std::to_string(mono.tv_sec > 1 ? mono.tv_sec - 1 : 0) +
                        " 0\nboottime -" +
                        std::to_string(boot.tv_sec > 1 ? boot.tv_sec - 1 : 0) + " 0\n";
  UniqueFd off(::open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC));
  if (!off) return sys_error("open", "/proc/self/timens_offsets");
  if (::write(off.get(), offsets.data(), offsets.size()) != static_cast<ssize_t>(offsets.size())) {
    return sys_error("write", "/proc/self/timens_offsets");
  }
  UniqueFd ns(::open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC));
  if (!ns) return sys_error("open", "/proc/self/ns/time_for_children");
  if (::setns(ns.get(), CLONE_NEWTIME) < 0) return sys_error("setns", "time namespace");
  return ok();
}

// cgroup. Creator's half: born in the v2 cgroup (CLONE_INTO_CGROUP), attached to the v1
// ones before #1; so the namespace's root is the context's cgroup in every hierarchy.
Result<void> enter_cgroup_ns(const ChildPlan& p) {
  if (!(p.spec->namespaces & CLONE_NEWCGROUP)) return ok();
  if (auto r = injected(p, "child-cgroupns"); !r) return r;
  if (::unshare(CLONE_NEWCGROUP) < 0) return sys_error("unshare(CLONE_NEWCGROUP)", "");
  return ok();
}

// From the go on, the context lives on its own, creator or not; a body (host code working
// for its creator) and a context that dies_with_creator (a build step) end with it. The
// setting survives the exec of the helper and the capability drop (the kernel clears it only
// on a uid/gid change or a gain of capabilities, neither of which happens here).
Result<void> outlive_creator(const ChildPlan& p) {
  if (p.spec->body || p.spec->dies_with_creator) return ok();
  if (::prctl(PR_SET_PDEATHSIG, 0) < 0) return sys_error("prctl(PR_SET_PDEATHSIG)", "");
  return ok();
}

// Abstract unix sockets (E27). Creator's half: it attached the BPF LSM programs, or chose
// Landlock: then the domain is made here, before anything of the context runs.
Result<void> scope_abstract_sockets(const ChildPlan& p) {
  if (!p.landlock_scope) return ok();
  if (auto r = injected(p, "child-unixscope"); !r) return r;
  return landlock_scope_abstract_unix();
}

// Capabilities, rlimits, seccomp. Creator's half: it compiled the filter while we set up,
// and sent it with the go.
Result<void> confine(const ChildPlan& p, std::string_view programs) {
  if (!p.spec->endsetup) return ok();
  if (auto r = injected(p, "child-confine"); !r) return r;
  return confine_to_context(p.spec->confinement, programs);
}

// stdio and the session: the command's fds as the creator chose them, and a session of its
// own, so nothing in the context has the caller's terminal as its controlling terminal
// (/dev/tty of a guest would otherwise open it).
Result<void> set_stdio(const ChildPlan& p) {
  if (auto r = injected(p, "child-stdio"); !r) return r;
  for (int fd = 0; fd < 3; ++fd) {
    int from = p.spec->stdio[static_cast<size_t>(fd)];
    if (from >= 0 && from != fd && ::dup2(from, fd) < 0) return sys_error("dup2", "stdio");
  }
  if (::setsid() < 0) return sys_error("setsid", "");
  if (p.spec->controlling_tty >= 0 && ::ioctl(p.spec->controlling_tty, TIOCSCTTY, 0) < 0) {
    return sys_error("ioctl(TIOCSCTTY)", "the first process's terminal");
  }
  return ok();
}

// The helper as init (a pid namespace of its own under the built-in init) or as a trampoline.
Error exec_first_command(const ChildPlan& p) {
  const CreateSpec& spec = *p.spec;
  if (auto r = injected(p, "child-exec"); !r) return std::move(r).error();
  std::vector<std::string> argv;
  if (spec.builtin_init && (spec.namespaces & CLONE_NEWPID)) {
    InitArgs init;
    init.argv = spec.argv;
    init.stays = spec.init_stays;
    init.kill_after_ms = spec.init_kill_after_ms;
    init.report_fd = p.report_fd;
    init.title = spec.init_title;
    argv = helper_init_argv(init);
  } else {
    argv = helper_exec_argv(spec.argv, p.report_fd);
  }
  exec_helper(p.helper_fd, p.report_fd, argv, spec.env.empty() ? default_env() : spec.env);
  return sys_error("execveat", "the helper (vserver-init)");
}

// Tells the creator what failed at `step` and ends the process.
int fail(const ChildPlan& p, Step step, const Error& e) {
  (void)p.sync->send_failure(step, e.code, e.message());
  return 1;
}

}  // namespace

int run_context_child(const ChildPlan& p) {
  const CreateSpec& spec = *p.spec;
  // The mounts and the setup hook run while the creator still attaches us to the v1
  // hierarchies when nothing in them depends on the cgroups (spec.setup_early).
  const bool early = spec.setup_early && !(spec.namespaces & CLONE_NEWUSER);
  Result<void> r = die_with_creator();
  if (r && early) r = bring_up_loopback(p);
  if (r && early) r = set_up_mounts(p);
  if (r) r = await_cgroups(p);                                                  /* #1 */
  if (r) r = become_userns_root(p);
  if (r) r = enter_fresh_time_ns(p);
  if (r && !early) r = bring_up_loopback(p);
  if (r) r = enter_cgroup_ns(p);
  if (r && !early) r = set_up_mounts(p);
  if (!r) return fail(p, Step::kNsReady, r.error());
  if (!p.sync->send(Step::kNsReady)) return 1;                                  /* #2 */
  auto go = p.sync->expect(Step::kGo);                                          /* #3 */
  if (!go) return 1;  // the creator is gone or gave up: nobody to tell
  r = outlive_creator(p);
  if (r) r = scope_abstract_sockets(p);
  if (r) r = confine(p, *go);
  if (r) r = set_stdio(p);
  if (!r) return fail(p, Step::kExec, r.error());
  if (spec.body) {
    p.sync->close();  // the creator takes the EOF for "running"                 /* #4 */
    return spec.body();
  }
  return fail(p, Step::kExec, exec_first_command(p));                          /* #4 */
}

}  // namespace vs::shim
