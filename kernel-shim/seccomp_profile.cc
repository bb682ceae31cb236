// The profile of kernel-shim/seccomp.h, in one place: the tables (allowlist, capability
// groups, never-allowed names, personality values, namespace flags), then the two filters
// built from them with libseccomp.
#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>

#include "kernel-shim/seccomp.h"
#include "kernel-shim/seccomp_internal.h"

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef AF_ALG
#define AF_ALG 38
#endif

namespace vs::shim {

namespace {

using seccomp_internal::name_error;
using seccomp_internal::scmp_error;

// ---------------------------------------------------------------------------------------
// The profile, in one place. Names are those of syscalls(2) and libseccomp. Names that are
// not syscalls of the native architecture (chown32, _newselect, ...) are skipped: the lists
// follow moby's default profile, which covers every architecture.

// clang-format off
// Allowed whatever the capabilities (moby's unconditional list, minus ptrace and
// process_vm_*, which we keep behind CAP_SYS_PTRACE as older moby releases did).
constexpr const char* kAlwaysAllowed[] = {
    "accept", "accept4", "access", "adjtimex", "alarm", "arch_prctl", "bind", "brk",
    "cachestat", "capget", "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime",
    "clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime",
    "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range",
    "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create",
    "epoll_create1", "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait",
    "epoll_wait_old", "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group",
    "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark",
    "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl",
    "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr",
    "fsetxattr", "fstat", "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate",
    "ftruncate64", "futex", "futex_requeue", "futex_time64", "futex_wait", "futex_waitv",
    "futex_wake", "futimesat", "getcpu", "getcwd", "getdents", "getdents64", "getegid",
    "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32",
    "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority",
    "getrandom", "getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit",
    "get_robust_list", "getrusage", "getsid", "getsockname", "getsockopt", "get_thread_area",
    "gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "getxattrat",
    "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel",
    "ioctl", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
    "ioprio_get", "ioprio_set", "io_setup", "io_submit", "ipc", "kill", "landlock_add_rule",
    "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32", "lgetxattr",
    "link", "linkat", "listen", "listmount", "listxattr", "listxattrat", "llistxattr",
    "_llseek", "lremovexattr", "lseek", "lsetxattr", "lstat", "lstat64", "madvise",
    "map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir",
    "mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2",
    "modify_ldt", "mprotect", "mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive",
    "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap",
    "mseal", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap",
    "name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open", "openat", "openat2",
    "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free",
    "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl", "pread64", "preadv", "preadv2",
    "prlimit64", "process_mrelease", "pselect6", "pselect6_time64", "pwrite64", "pwritev",
    "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv", "recv", "recvfrom",
    "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr",
    "removexattrat", "rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq",
    "rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn",
    "rt_sigsuspend", "rt_sigtimedwait", "rt_sigtimedwait_time64", "rt_tgsigqueueinfo",
    "sched_getaffinity", "sched_getattr", "sched_getparam", "sched_get_priority_max",
    "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval",
    "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam",
    "sched_setscheduler", "sched_yield", "seccomp", "select", "semctl", "semget", "semop",
    "semtimedop", "semtimedop_time64", "send", "sendfile", "sendfile64", "sendmmsg", "sendmsg",
    "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32", "setgid", "setgid32",
    "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid",
    "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid",
    "setreuid32", "setrlimit", "set_robust_list", "setsid", "setsockopt", "set_thread_area",
    "set_tid_address", "setuid", "setuid32", "setxattr", "setxattrat", "shmat", "shmctl",
    "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd", "signalfd4", "sigprocmask",
    "sigreturn", "socket", "socketcall", "socketpair", "splice", "stat", "stat64", "statfs",
    "statfs64", "statmount", "statx", "symlink", "symlinkat", "sync", "sync_file_range",
    "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create", "timer_delete",
    "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime", "timer_settime64",
    "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
    "timerfd_settime64", "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask",
    "uname", "unlink", "unlinkat", "uretprobe", "utime", "utimensat", "utimensat_time64",
    "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write", "writev",
};

struct CapRule {
  int cap;  ///< allowed when this capability is in the bounding set
  const char* name;
};

// Allowed only with a capability. A name may be listed under several capabilities.
// clone and unshare are here too; their argument checks are in build_profile().
constexpr CapRule kCapRules[] = {
    {CAP_SYS_ADMIN, "bpf"},           {CAP_SYS_ADMIN, "clone"},
    {CAP_SYS_ADMIN, "fanotify_init"}, {CAP_SYS_ADMIN, "fsconfig"},
    {CAP_SYS_ADMIN, "fsmount"},       {CAP_SYS_ADMIN, "fsopen"},
    {CAP_SYS_ADMIN, "fspick"},        {CAP_SYS_ADMIN, "lookup_dcookie"},
    {CAP_SYS_ADMIN, "lsm_get_self_attr"}, {CAP_SYS_ADMIN, "lsm_list_modules"},
    {CAP_SYS_ADMIN, "lsm_set_self_attr"}, {CAP_SYS_ADMIN, "mount"},
    {CAP_SYS_ADMIN, "mount_setattr"}, {CAP_SYS_ADMIN, "move_mount"},
    {CAP_SYS_ADMIN, "open_tree"},     {CAP_SYS_ADMIN, "open_tree_attr"},
    {CAP_SYS_ADMIN, "perf_event_open"}, {CAP_SYS_ADMIN, "pivot_root"},
    {CAP_SYS_ADMIN, "quotactl"},      {CAP_SYS_ADMIN, "quotactl_fd"},
    {CAP_SYS_ADMIN, "setdomainname"}, {CAP_SYS_ADMIN, "sethostname"},
    {CAP_SYS_ADMIN, "setns"},         {CAP_SYS_ADMIN, "syslog"},
    {CAP_SYS_ADMIN, "umount"},        {CAP_SYS_ADMIN, "umount2"},
    {CAP_SYS_ADMIN, "unshare"},
    {CAP_SYS_PTRACE, "kcmp"},         {CAP_SYS_PTRACE, "pidfd_getfd"},
    {CAP_SYS_PTRACE, "process_madvise"}, {CAP_SYS_PTRACE, "process_vm_readv"},
    {CAP_SYS_PTRACE, "process_vm_writev"}, {CAP_SYS_PTRACE, "ptrace"},
    {CAP_SYS_BOOT, "reboot"},
    {CAP_SYS_CHROOT, "chroot"},
    {CAP_SYS_MODULE, "delete_module"}, {CAP_SYS_MODULE, "init_module"},
    {CAP_SYS_MODULE, "finit_module"},
    {CAP_SYS_PACCT, "acct"},
    {CAP_SYS_RAWIO, "iopl"},          {CAP_SYS_RAWIO, "ioperm"},
    {CAP_SYS_TIME, "settimeofday"},   {CAP_SYS_TIME, "stime"},
    {CAP_SYS_TIME, "clock_settime"},  {CAP_SYS_TIME, "clock_settime64"},
    {CAP_SYS_TTY_CONFIG, "vhangup"},
    {CAP_SYS_NICE, "get_mempolicy"},  {CAP_SYS_NICE, "mbind"},
    {CAP_SYS_NICE, "set_mempolicy"},  {CAP_SYS_NICE, "set_mempolicy_home_node"},
    {CAP_SYSLOG, "syslog"},
    {CAP_BPF, "bpf"},
    {CAP_PERFMON, "perf_event_open"},
    {CAP_DAC_READ_SEARCH, "open_by_handle_at"},
};

// Never allowed by the profile, whatever the capabilities (only a per-guest `allow`
// lifts them). Listed so that they count as named for the ENOSYS stub and so a test can
// check they appear nowhere above.
constexpr const char* kNeverAllowed[] = {
    "keyctl",        "add_key",         "request_key",       "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "kexec_load",
    "kexec_file_load", "swapon",        "swapoff",           "uselib",
    "ustat",         "sysfs",           "_sysctl",           "vm86",
    "vm86old",       "nfsservctl",      "create_module",     "get_kernel_syms",
    "query_module",  "move_pages",      "migrate_pages",
};

// personality(2) values moby allows: PER_LINUX, UNAME26, PER_LINUX32, PER_LINUX32|UNAME26,
// and 0xffffffff (query).
constexpr uint32_t kPersonalities[] = {0x0, 0x8, 0x20000, 0x20008, 0xffffffff};

// clone(2) flags that create namespaces (NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID,
// NEWNET): without CAP_SYS_ADMIN, clone is allowed only when none is set.
constexpr uint64_t kCloneNsFlags = 0x7E020000;
// clang-format on

// ---------------------------------------------------------------------------------------

bool has_cap(uint64_t bcaps, int cap) { return cap >= 0 && cap < 64 && ((bcaps >> cap) & 1u); }

// What the profile does with one syscall number.
enum class Verdict {
  kAllow,        // unconditionally
  kEnosys,       // ERRNO(ENOSYS)
  kDeny,         // ERRNO(EPERM), the default action: no rule
  kNoNsFlags,    // allow if arg0 has none of kCloneNsFlags
  kNoNewUser,    // allow if arg0 lacks CLONE_NEWUSER
  kPersonality,  // allow for kPersonalities
};

Result<ScmpFilter> new_filter(uint32_t default_action) {
  ScmpFilter f(seccomp_init(default_action));
  if (!f) return make_error(ErrorKind::kFailed, "seccomp_init", "", "out of memory", ENOMEM);
  struct Attr {
    scmp_filter_attr attr;
    uint32_t value;
    const char* name;
  };
  // NNP off: we load while CAP_SYS_ADMIN is held, so guest `su` keeps working (the caller
  // decides about no_new_privs). TSYNC: no thread keeps running unfiltered.
  const Attr attrs[] = {
      {SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS, "bad-arch action"},
      {SCMP_FLTATR_CTL_NNP, 0, "no_new_privs"},
      {SCMP_FLTATR_CTL_TSYNC, 1, "tsync"},
      {SCMP_FLTATR_CTL_OPTIMIZE, 2, "binary tree"},
  };
  for (const auto& a : attrs) {
    if (int rc = seccomp_attr_set(f.get(), a.attr, a.value); rc < 0) {
      return scmp_error("seccomp_attr_set", a.name, rc);
    }
  }
  return f;
}

Result<ScmpFilter> build_arg_filter() {
  auto f = new_filter(SCMP_ACT_ALLOW);
  if (!f) return f;
  const int sock = SCMP_SYS(socket);
  const int ioctl = SCMP_SYS(ioctl);
  const uint64_t low32 = 0xffffffff;
  struct Denial {
    int nr;
    const char* what;
    int err;
    unsigned argc;
    scmp_arg_cmp a;
    scmp_arg_cmp b;
  };
  const Denial denials[] = {
      {sock, "socket(AF_ALG)", EPERM, 1, SCMP_A0(SCMP_CMP_MASKED_EQ, low32, AF_ALG), {}},
      {sock, "socket(AF_VSOCK)", EPERM, 1, SCMP_A0(SCMP_CMP_MASKED_EQ, low32, AF_VSOCK), {}},
      {sock, "socket(AF_NETLINK, NETLINK_AUDIT)", EAFNOSUPPORT, 2,
       SCMP_A0(SCMP_CMP_MASKED_EQ, low32, AF_NETLINK), SCMP_A2(SCMP_CMP_MASKED_EQ, low32, 9)},
      {ioctl, "ioctl(TIOCSTI)", EPERM, 1, SCMP_A1(SCMP_CMP_MASKED_EQ, low32, TIOCSTI), {}},
      {ioctl, "ioctl(TIOCLINUX)", EPERM, 1, SCMP_A1(SCMP_CMP_MASKED_EQ, low32, TIOCLINUX), {}},
  };
  for (const auto& d : denials) {
    const scmp_arg_cmp cmps[2] = {d.a, d.b};
    if (int rc = seccomp_rule_add_array(f->get(), SCMP_ACT_ERRNO(static_cast<uint32_t>(d.err)),
                                        d.nr, d.argc, cmps);
        rc < 0) {
      return scmp_error("seccomp_rule_add", d.what, rc);
    }
  }
  return f;
}

Result<void> add_rule(const ScmpFilter& f, int nr, Verdict v) {
  const char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
  std::string subject = name ? name : std::to_string(nr);
  ::free(const_cast<char*>(name));
  auto add = [&](uint32_t action, unsigned argc, const scmp_arg_cmp* cmps) -> Result<void> {
    if (int rc = seccomp_rule_add_array(f.get(), action, nr, argc, cmps); rc < 0) {
      return scmp_error("seccomp_rule_add", subject, rc);
    }
    return ok();
  };
  switch (v) {
    case Verdict::kDeny:
      return ok();
    case Verdict::kAllow:
      return add(SCMP_ACT_ALLOW, 0, nullptr);
    case Verdict::kEnosys:
      return add(SCMP_ACT_ERRNO(ENOSYS), 0, nullptr);
    case Verdict::kNoNsFlags: {
      const scmp_arg_cmp c = SCMP_A0(SCMP_CMP_MASKED_EQ, kCloneNsFlags, 0);
      return add(SCMP_ACT_ALLOW, 1, &c);
    }
    case Verdict::kNoNewUser: {
      const scmp_arg_cmp c = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_NEWUSER, 0);
      return add(SCMP_ACT_ALLOW, 1, &c);
    }
    case Verdict::kPersonality:
      for (uint32_t p : kPersonalities) {
        // The kernel reads the persona as an unsigned int: compare the low 32 bits.
        const scmp_arg_cmp c = SCMP_A0(SCMP_CMP_MASKED_EQ, 0xffffffff, p);
        if (auto r = add(SCMP_ACT_ALLOW, 1, &c); !r) return r;
      }
      return ok();
  }
  return ok();
}

Result<ScmpFilter> build_profile(uint64_t bcaps, const SeccompSpec& spec, int* highest) {
  // Decide per syscall number first, then emit one rule set per number: libseccomp refuses
  // (or silently merges) rules with different actions for the same syscall.
  std::map<int, Verdict> verdicts;
  int highest_named = -1;
  auto named = [&](const char* name) -> std::optional<int> {
    auto nr = resolve_syscall(name);
    if (nr) highest_named = std::max(highest_named, *nr);
    return nr;
  };
  for (const char* name : kNeverAllowed) {
    if (auto nr = named(name)) verdicts[*nr] = Verdict::kDeny;
  }
  for (const char* name : kAlwaysAllowed) {
    if (auto nr = named(name)) verdicts[*nr] = Verdict::kAllow;
  }
  for (const auto& rule : kCapRules) {
    auto nr = named(rule.name);
    if (!nr) continue;
    if (has_cap(bcaps, rule.cap)) {
      verdicts[*nr] = Verdict::kAllow;
    } else if (!verdicts.count(*nr)) {
      verdicts[*nr] = Verdict::kDeny;
    }
  }
  const bool sys_admin = has_cap(bcaps, CAP_SYS_ADMIN);
  // Even with CAP_SYS_ADMIN a guest makes no user namespace: clone and unshare are checked
  // for CLONE_NEWUSER. Without it, clone may create no namespace at all (and unshare and
  // setns stay denied by kCapRules).
  verdicts[*named("clone")] = sys_admin ? Verdict::kNoNewUser : Verdict::kNoNsFlags;
  if (sys_admin) verdicts[*named("unshare")] = Verdict::kNoNewUser;
  // clone3 passes its flags in memory seccomp cannot read: ENOSYS makes glibc fall back
  // to clone, whose flags the rule above checks.
  verdicts[*named("clone3")] = Verdict::kEnosys;
  verdicts[*named("personality")] = Verdict::kPersonality;

  for (const auto& name : spec.allow) {
    auto nr = named(name.c_str());
    if (!nr) return name_error("seccomp.allow", name);
    verdicts[*nr] = Verdict::kAllow;
  }
  for (const auto& name : spec.deny) {
    auto nr = named(name.c_str());
    if (!nr) return name_error("seccomp.deny", name);
    verdicts[*nr] = Verdict::kDeny;
  }
  // Numbers above highest_named answer ENOSYS: the stub of profile_program().
  *highest = highest_named;

  auto f = new_filter(SCMP_ACT_ERRNO(EPERM));
  if (!f) return f;
  for (const auto& [nr, verdict] : verdicts) {
    if (auto r = add_rule(*f, nr, verdict); !r) return std::move(r).error();
  }
  return f;
}

}  // namespace

Result<GuestFilter> build_guest_filter(uint64_t bcaps, const SeccompSpec& spec) {
  if (auto r = validate(spec); !r) return std::move(r).error();
  auto args = build_arg_filter();
  if (!args) return std::move(args).error().wrap("build seccomp argument filter");
  int highest = -1;
  auto profile = build_profile(bcaps, spec, &highest);
  if (!profile) return std::move(profile).error().wrap("build seccomp profile");
  return GuestFilter{std::move(*args), std::move(*profile), highest};
}

}  // namespace vs::shim
