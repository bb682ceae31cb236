// The seccomp profile without loading it (kernel-shim/seccomp_profile.cc, seccomp.cc): what
// the built filters decide, and the blob and splice of the two programs. The exported BPF of
// both filters runs in a small classic-BPF interpreter here, combined as the kernel combines
// stacked filters, so each expectation about the profile is checked against the program the
// kernel would get. Change lists, names and attributes are in seccomp_spec_test.cc.
#include "kernel-shim/seccomp.h"

#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "kernel-shim/caps.h"

namespace vs::shim {
namespace {

// ---- the filters ----------------------------------------------------------------------

struct Call {
  int nr;
  uint64_t args[6] = {};
  uint32_t arch = AUDIT_ARCH_X86_64;
};

// A classic-BPF interpreter for the opcodes libseccomp emits; an unknown one fails the test.
uint32_t run_bpf(const std::string& prog, const Call& call) {
  struct seccomp_data d {};
  d.nr = call.nr;
  d.arch = call.arch;
  std::memcpy(d.args, call.args, sizeof d.args);
  unsigned char raw[sizeof d];
  std::memcpy(raw, &d, sizeof d);
  const auto* ins = reinterpret_cast<const sock_filter*>(prog.data());
  const size_t n = prog.size() / sizeof(sock_filter);
  uint32_t a = 0;
  for (size_t pc = 0; pc < n; ++pc) {
    const sock_filter& i = ins[pc];
    switch (i.code) {
      case BPF_LD | BPF_W | BPF_ABS:
        if (i.k + 4 > sizeof raw) {
          ADD_FAILURE() << "load outside seccomp_data at " << pc;
          return 0;
        }
        std::memcpy(&a, raw + i.k, 4);
        break;
      case BPF_ALU | BPF_AND | BPF_K:
        a &= i.k;
        break;
      case BPF_ALU | BPF_OR | BPF_K:
        a |= i.k;
        break;
      case BPF_JMP | BPF_JA:
        pc += i.k;
        break;
      case BPF_JMP | BPF_JEQ | BPF_K:
        pc += (a == i.k) ? i.jt : i.jf;
        break;
      case BPF_JMP | BPF_JGT | BPF_K:
        pc += (a > i.k) ? i.jt : i.jf;
        break;
      case BPF_JMP | BPF_JGE | BPF_K:
        pc += (a >= i.k) ? i.jt : i.jf;
        break;
      case BPF_JMP | BPF_JSET | BPF_K:
        pc += (a & i.k) ? i.jt : i.jf;
        break;
      case BPF_RET | BPF_K:
        return i.k;
      default:
        ADD_FAILURE() << "opcode " << i.code << " at " << pc << " not interpreted";
        return 0;
    }
  }
  ADD_FAILURE() << "program ran off its end";
  return 0;
}

// The exported programs of a guest's two filters.
struct Programs {
  std::string args;
  std::string profile;
};

Programs export_both(const GuestFilter& f) {
  auto args = export_bpf(f.args);
  auto profile = profile_program(f);  // the stub in front, as it is loaded
  EXPECT_TRUE(args) << args.error().message();
  EXPECT_TRUE(profile) << profile.error().message();
  if (!args || !profile) return {};
  return {std::move(*args), std::move(*profile)};
}

std::vector<sock_filter> insns_of(const std::string& prog) {
  std::vector<sock_filter> v(prog.size() / sizeof(sock_filter));
  std::memcpy(v.data(), prog.data(), v.size() * sizeof(sock_filter));
  return v;
}

std::string prog_of(const std::vector<sock_filter>& insns) {
  return std::string(reinterpret_cast<const char*>(insns.data()),
                     insns.size() * sizeof(sock_filter));
}

// As the kernel's seccomp_run_filters(): newest filter (the profile) first, the strongest
// action wins, and on a tie the newest filter's data. Every verdict is also checked against
// the one program load_guest_programs() loads instead (splice_programs()).
uint32_t decide(const Programs& p, const Call& call) {
  if (p.profile.empty() || p.args.empty()) return 0;
  uint32_t ret = SECCOMP_RET_ALLOW;
  for (const std::string* prog : {&p.profile, &p.args}) {
    uint32_t cur = run_bpf(*prog, call);
    if (static_cast<int32_t>(cur & SECCOMP_RET_ACTION_FULL) <
        static_cast<int32_t>(ret & SECCOMP_RET_ACTION_FULL)) {
      ret = cur;
    }
  }
  auto one = splice_programs(insns_of(p.args), insns_of(p.profile));
  EXPECT_TRUE(one) << "the guest's programs splice";
  if (one) {
    EXPECT_EQ(run_bpf(prog_of(*one), call), ret)
        << "the spliced program decides syscall " << call.nr << " otherwise";
  }
  return ret;
}

constexpr uint32_t kAllow = SECCOMP_RET_ALLOW;
constexpr uint32_t kKill = SECCOMP_RET_KILL_PROCESS;
constexpr uint32_t errno_ret(int e) { return SECCOMP_RET_ERRNO | static_cast<uint32_t>(e); }
constexpr uint64_t bit(int cap) { return uint64_t{1} << cap; }

int nr_of(const char* name) {
  auto nr = resolve_syscall(name);
  EXPECT_TRUE(nr) << name;
  return nr.value_or(-1);
}

class SeccompFilter : public ::testing::Test {
 protected:
  void SetUp() override {
#if !defined(__x86_64__)
    GTEST_SKIP() << "the expectations use x86_64 numbers";
#endif
  }
  static Programs build(uint64_t bcaps, const SeccompSpec& spec = {}) {
    auto f = build_guest_filter(bcaps, spec);
    EXPECT_TRUE(f) << f.error().message();
    return f ? export_both(*f) : Programs{};
  }
  static uint32_t call(const Programs& f, const char* name, std::vector<uint64_t> args = {}) {
    Call c{nr_of(name)};
    for (size_t i = 0; i < args.size() && i < 6; ++i) c.args[i] = args[i];
    return decide(f, c);
  }
};

TEST_F(SeccompFilter, BuildsAndExportsForDefaultAndChanges) {
  SeccompSpec changes;
  changes.allow = {"keyctl"};
  changes.deny = {"getcwd"};
  for (uint64_t bcaps : {uint64_t{0}, ~uint64_t{0}}) {
    for (const auto& spec : {SeccompSpec{}, changes}) {
      auto f = build_guest_filter(bcaps, spec);
      ASSERT_TRUE(f) << f.error().message();
      for (const ScmpFilter* one : {&f->args, &f->profile}) {
        auto bpf = export_bpf(*one);
        ASSERT_TRUE(bpf) << bpf.error().message();
        EXPECT_GT(bpf->size(), 0u);
        EXPECT_EQ(bpf->size() % sizeof(sock_filter), 0u);
        EXPECT_LE(bpf->size() / sizeof(sock_filter), size_t{BPF_MAXINSNS});
      }
    }
  }
}

TEST_F(SeccompFilter, BadNameIsAUsageError) {
  SeccompSpec s;
  s.deny = {"fooo"};
  auto f = build_guest_filter(0, s);
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().kind, ErrorKind::kUsage);
  EXPECT_NE(f.error().message().find("fooo"), std::string::npos) << f.error().message();
}

TEST_F(SeccompFilter, OrdinarySyscallsAreAllowed) {
  auto f = build(0);
  for (const char* name :
       {"read",       "write",        "openat",  "close",      "newfstatat", "mmap",
        "execve",     "wait4",        "fork",    "vfork",      "chown",      "fchownat",
        "bind",       "listen",       "accept4", "setuid",     "setgroups",  "capset",
        "arch_prctl", "rt_sigreturn", "futex",   "epoll_wait", "prctl",      "seccomp",
        "fchmodat2",  "mseal",        "statx",   "getrandom",  "exit_group", "pidfd_open"}) {
    EXPECT_EQ(call(f, name), kAllow) << name;
  }
}

TEST_F(SeccompFilter, NeverAllowedWhateverTheCaps) {
  for (uint64_t bcaps : {uint64_t{0}, ~uint64_t{0}}) {
    auto f = build(bcaps);
    for (const char* name :
         {"keyctl",          "add_key",         "request_key",       "userfaultfd",
          "io_uring_setup",  "io_uring_enter",  "io_uring_register", "kexec_load",
          "kexec_file_load", "swapon",          "swapoff",           "uselib",
          "ustat",           "sysfs",           "_sysctl",           "nfsservctl",
          "create_module",   "get_kernel_syms", "query_module",      "move_pages"}) {
      EXPECT_EQ(call(f, name), errno_ret(EPERM)) << name << " bcaps=" << bcaps;
    }
  }
}

TEST_F(SeccompFilter, CapabilityGroups) {
  struct Group {
    int cap;
    std::vector<const char*> names;
  };
  const Group groups[] = {
      {CAP_SYS_ADMIN,
       {"mount", "umount2", "setns", "fsopen", "fsconfig", "fsmount", "fspick", "open_tree",
        "move_mount", "mount_setattr", "quotactl", "sethostname", "setdomainname", "pivot_root",
        "lookup_dcookie", "fanotify_init"}},
      {CAP_SYS_PTRACE,
       {"ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
        "process_madvise"}},
      {CAP_SYS_BOOT, {"reboot"}},
      {CAP_SYS_CHROOT, {"chroot"}},
      {CAP_SYS_MODULE, {"init_module", "finit_module", "delete_module"}},
      {CAP_SYS_TIME, {"settimeofday", "clock_settime"}},
      {CAP_DAC_READ_SEARCH, {"open_by_handle_at"}},
      {CAP_SYS_PACCT, {"acct"}},
      {CAP_SYS_RAWIO, {"iopl", "ioperm"}},
      {CAP_SYS_NICE, {"mbind", "set_mempolicy", "get_mempolicy"}},
      {CAP_SYS_TTY_CONFIG, {"vhangup"}},
      {CAP_SYSLOG, {"syslog"}},
      {CAP_BPF, {"bpf"}},
      {CAP_PERFMON, {"perf_event_open"}},
  };
  for (const auto& g : groups) {
    auto without = build(~bit(g.cap) & ~bit(CAP_SYS_ADMIN));
    auto with = build(bit(g.cap));
    for (const char* name : g.names) {
      EXPECT_EQ(call(without, name), errno_ret(EPERM)) << name << " without cap " << g.cap;
      EXPECT_EQ(call(with, name), kAllow) << name << " with cap " << g.cap;
    }
  }
}

TEST_F(SeccompFilter, Clone3IsEnosysAlways) {
  for (uint64_t bcaps : {uint64_t{0}, ~uint64_t{0}}) {
    EXPECT_EQ(call(build(bcaps), "clone3"), errno_ret(ENOSYS)) << bcaps;
  }
}

TEST_F(SeccompFilter, CloneAndUnshareNamespaceFlags) {
  const uint64_t fork_flags = CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD;
  const uint64_t thread_flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                                CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID |
                                CLONE_CHILD_CLEARTID;
  auto plain = build(0);
  EXPECT_EQ(call(plain, "clone", {fork_flags}), kAllow);
  EXPECT_EQ(call(plain, "clone", {thread_flags}), kAllow);
  for (uint64_t ns : {CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
                      CLONE_NEWNET, CLONE_NEWCGROUP}) {
    EXPECT_EQ(call(plain, "clone", {fork_flags | ns}), errno_ret(EPERM)) << ns;
    EXPECT_EQ(call(plain, "unshare", {ns}), errno_ret(EPERM)) << ns;
  }
  auto admin = build(bit(CAP_SYS_ADMIN));
  EXPECT_EQ(call(admin, "clone", {fork_flags | CLONE_NEWNS | CLONE_NEWNET}), kAllow);
  EXPECT_EQ(call(admin, "unshare", {CLONE_NEWNS | CLONE_NEWUTS}), kAllow);
  EXPECT_EQ(call(admin, "clone", {fork_flags | CLONE_NEWUSER}), errno_ret(EPERM));
  EXPECT_EQ(call(admin, "unshare", {CLONE_NEWUSER}), errno_ret(EPERM));
  EXPECT_EQ(call(admin, "unshare", {CLONE_NEWUSER | CLONE_NEWNS}), errno_ret(EPERM));
}

TEST_F(SeccompFilter, PersonalityValues) {
  auto f = build(~uint64_t{0});
  for (uint64_t p : {0x0ull, 0x8ull, 0x20000ull, 0x20008ull, 0xffffffffull}) {
    EXPECT_EQ(call(f, "personality", {p}), kAllow) << std::hex << p;
  }
  for (uint64_t p : {0x0400000ull, 0x0040000ull, 0x1ull, 0x20001ull}) {
    EXPECT_EQ(call(f, "personality", {p}), errno_ret(EPERM)) << std::hex << p;
  }
}

TEST_F(SeccompFilter, SocketFamilies) {
  auto f = build(~uint64_t{0});
  const uint64_t high = uint64_t{1} << 32;
  EXPECT_EQ(call(f, "socket", {AF_INET, SOCK_STREAM, 0}), kAllow);
  EXPECT_EQ(call(f, "socket", {AF_INET6, SOCK_DGRAM, 0}), kAllow);
  EXPECT_EQ(call(f, "socket", {AF_UNIX, SOCK_STREAM, 0}), kAllow);
  EXPECT_EQ(call(f, "socket", {39, SOCK_STREAM, 0}), kAllow);
  EXPECT_EQ(call(f, "socket", {41, SOCK_STREAM, 0}), kAllow);
  EXPECT_EQ(call(f, "socket", {AF_NETLINK, SOCK_RAW, 0}), kAllow);
  EXPECT_EQ(call(f, "socket", {38, SOCK_SEQPACKET, 0}), errno_ret(EPERM));
  EXPECT_EQ(call(f, "socket", {40, SOCK_STREAM, 0}), errno_ret(EPERM));
  EXPECT_EQ(call(f, "socket", {high | 38, SOCK_SEQPACKET, 0}), errno_ret(EPERM));
  EXPECT_EQ(call(f, "socket", {high | 40, SOCK_STREAM, 0}), errno_ret(EPERM));
  EXPECT_EQ(call(f, "socket", {AF_NETLINK, SOCK_RAW, 9}), errno_ret(EAFNOSUPPORT));
}

TEST_F(SeccompFilter, IoctlTiocstiOnLow32Bits) {
  auto f = build(~uint64_t{0});
  const uint64_t high = uint64_t{1} << 32;
  EXPECT_EQ(call(f, "ioctl", {0, TCGETS}), kAllow);
  EXPECT_EQ(call(f, "ioctl", {0, 0xffffffffc0045401ull}), kAllow) << "sign-extended cmd";
  EXPECT_EQ(call(f, "ioctl", {0, TIOCSTI}), errno_ret(EPERM));
  EXPECT_EQ(call(f, "ioctl", {0, high | TIOCSTI}), errno_ret(EPERM));
  EXPECT_EQ(call(f, "ioctl", {0, TIOCLINUX}), errno_ret(EPERM));
  EXPECT_EQ(call(f, "ioctl", {0, high | TIOCLINUX}), errno_ret(EPERM));
}

TEST_F(SeccompFilter, OtherArchitecturesAreKilled) {
  auto f = build(~uint64_t{0});
  Call i386{20};  // getpid on i386
  i386.arch = AUDIT_ARCH_I386;
  EXPECT_EQ(decide(f, i386), kKill);
  Call x32{39 | 0x40000000};  // getpid with the x32 bit
  EXPECT_EQ(decide(f, x32), kKill);
  Call x32_read{0x40000000};
  EXPECT_EQ(decide(f, x32_read), kKill);
}

TEST_F(SeccompFilter, EnosysStubAboveTheHighestNamedSyscall) {
  auto f = build(0);
  EXPECT_EQ(decide(f, Call{468}), errno_ret(ENOSYS)) << "file_getattr is not in the profile";
  EXPECT_EQ(decide(f, Call{600}), errno_ret(ENOSYS));
  EXPECT_EQ(decide(f, Call{1023}), errno_ret(ENOSYS));
  EXPECT_EQ(decide(f, Call{1024}), errno_ret(EPERM)) << "past the stub: the default";
  EXPECT_EQ(call(f, "open_tree_attr"), errno_ret(EPERM)) << "named: denied, not ENOSYS";
}

TEST_F(SeccompFilter, PerGuestChanges) {
  SeccompSpec s;
  s.allow = {"keyctl", "mount"};
  s.deny = {"getcwd", "socket", "chown"};
  auto f = build(0, s);
  EXPECT_EQ(call(f, "keyctl"), kAllow);
  EXPECT_EQ(call(f, "mount"), kAllow) << "allow lifts the capability condition";
  EXPECT_EQ(call(f, "getcwd"), errno_ret(EPERM));
  EXPECT_EQ(call(f, "chown"), errno_ret(EPERM));
  EXPECT_EQ(call(f, "socket", {AF_INET, SOCK_STREAM, 0}), errno_ret(EPERM));
  EXPECT_EQ(call(f, "read"), kAllow) << "the rest is unchanged";
  EXPECT_EQ(call(f, "add_key"), errno_ret(EPERM));
}

}  // namespace
}  // namespace vs::shim

namespace vs::shim {
namespace {

// The blob an entrant loads instead of compiling: both programs, whole instructions only.
TEST(SeccompPrograms, BlobHoldsBothProgramsAndMalformedOnesAreRefused) {
  SeccompSpec spec;
  auto blob = compile_guest_programs(default_guest_bcaps(), spec);
  ASSERT_TRUE(blob) << blob.error().message();
  uint32_t n = 0;
  ASSERT_GT(blob->size(), sizeof n);
  std::memcpy(&n, blob->data(), sizeof n);
  EXPECT_GT(n, 0u);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ((blob->size() - sizeof n - n) % 8, 0u);
  EXPECT_GT(blob->size() - sizeof n - n, 0u) << "the profile follows the argument filter";
  // Nothing is loaded for a malformed blob (these return before any seccomp(2) call).
  for (std::string bad : {std::string(), std::string("abc"), blob->substr(0, blob->size() - 3),
                          std::string("\0\0\0\0", 4) + blob->substr(4)}) {
    auto r = load_guest_programs(bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, EINVAL);
  }
}

// Only what keeps the two filters' verdicts splices: a return of the accumulator or an
// action other than allow, errno and kill (a trap, a log, a trace) keeps them apart.
TEST(SeccompPrograms, SpliceRefusesWhatCouldChangeAVerdict) {
  const std::vector<sock_filter> allow = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
  const std::vector<sock_filter> deny = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 39, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
  auto one = splice_programs(deny, deny);
  ASSERT_TRUE(one);
  ASSERT_EQ(one->size(), 8u);
  EXPECT_EQ(one->at(3).code, BPF_JMP | BPF_JA) << "the profile's allow goes on";
  EXPECT_EQ(one->at(3).k, 0u) << "to the argument filter, right after it";
  EXPECT_EQ(one->at(7).k, SECCOMP_RET_ALLOW) << "the argument filter's allow stays";
  EXPECT_EQ(run_bpf(prog_of(*one), Call{39}), SECCOMP_RET_ERRNO | EPERM);
  EXPECT_EQ(run_bpf(prog_of(*one), Call{40}), SECCOMP_RET_ALLOW);
  EXPECT_FALSE(splice_programs({}, allow));
  EXPECT_FALSE(splice_programs(allow, {}));
  for (uint32_t action : {SECCOMP_RET_TRAP, SECCOMP_RET_LOG, SECCOMP_RET_TRACE,
                          SECCOMP_RET_USER_NOTIF}) {
    const std::vector<sock_filter> odd = {BPF_STMT(BPF_RET | BPF_K, action)};
    EXPECT_FALSE(splice_programs(allow, odd)) << std::hex << action;
    EXPECT_FALSE(splice_programs(odd, allow)) << std::hex << action;
  }
  const std::vector<sock_filter> ret_a = {BPF_STMT(BPF_RET | BPF_A, 0)};
  EXPECT_FALSE(splice_programs(allow, ret_a));
  EXPECT_FALSE(splice_programs(std::vector<sock_filter>(BPF_MAXINSNS, allow[0]), allow))
      << "over the kernel's length limit";
}

}  // namespace
}  // namespace vs::shim
