// cgroup limits against the real kernel (root). On the build machine every limit controller
// is a v1 hierarchy, so these tests meet the v1 backend; where a controller is on v2 the same
// assertions read the v2 files. SECURITY.md E29 (fork bomb), E30 (memory hog), E34 (cpu
// quota). vlimit and vsched end to end are in limit_tools_test.cc.
// Each test uses its own xid (447xx) and removes every cgroup and context it made.
#include "kernel-shim/limits.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kernel-shim/cgroup.h"
#include "lib/base/child.h"
#include "tests/support/cgroup_env.h"
#include "tests/support/files.h"

namespace vs::shim {
namespace {

using test::exists;
using test::slurp;

// A pipe the parent writes one byte to when the child may start (after it was attached to
// the v1 hierarchies: CLONE_INTO_CGROUP places it in v2 only).
struct Gate {
  int fds[2] = {-1, -1};
  Gate() { EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0); }
  ~Gate() {
    for (int fd : fds) {
      if (fd >= 0) ::close(fd);
    }
  }
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;
  void wait_in_child() const {
    char b;
    (void)!::read(fds[0], &b, 1);
  }
  void open() const { EXPECT_EQ(::write(fds[1], "g", 1), 1); }
};

// Spawns `body` born in the context's v2 cgroup, attaches it to the v1 ones, then lets it go.
Child start_in(const ContextCgroup& cg, const std::function<int(const Gate&)>& body) {
  auto gate = std::make_shared<Gate>();
  CloneSpec cs;
  cs.cgroup_fd = cg.v2_fd();
  auto c = Child::spawn(cs, [&] {
    gate->wait_in_child();
    return body(*gate);
  });
  if (!c) {
    ADD_FAILURE() << c.error().message();
    return Child();
  }
  auto r = cg.attach_v1(c->pid());
  EXPECT_TRUE(r) << r.error().message();
  gate->open();
  return std::move(*c);
}

// A host process outside every context, to show the host is unharmed.
Child host_sentinel() {
  auto c = Child::spawn(CloneSpec{}, [] {
    for (;;) ::pause();
    return 0;
  });
  if (!c) {
    ADD_FAILURE() << c.error().message();
    return Child();
  }
  return std::move(*c);
}

// True while `pid` (a child of ours) has not ended; it is not reaped.
bool running(pid_t pid) {
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) < 0) {
    return false;
  }
  return info.si_pid == 0;
}

class LimitsKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (layout().v2_root.empty()) GTEST_SKIP() << "needs a cgroup2 hierarchy";
  }
  void TearDown() override {
    for (const auto& r : hierarchy_roots()) {
      for (int x = 44700; x < 44710; ++x) {
        ::rmdir((r + "/" + spec().parent + "/" + std::to_string(x)).c_str());
      }
    }
  }

  // Creates the context cgroup and resolves its limit directories.
  void make(uint16_t xid, const CgroupSpec& s = spec()) {
    auto c = ContextCgroup::create(layout(), s, Xid(xid));
    ASSERT_TRUE(c) << c.error().message();
    cg_.emplace(std::move(*c));
    dirs_ = LimitDirs::resolve(layout(), *cg_);
  }
  void remove() {
    ASSERT_TRUE(cg_);
    auto r = cg_->remove();
    EXPECT_TRUE(r) << r.error().message();
    for (const auto& d : cg_->v1_paths()) EXPECT_FALSE(exists(d)) << d;
    EXPECT_FALSE(exists(cg_->v2_path()));
  }

  std::optional<ContextCgroup> cg_;
  LimitDirs dirs_;
};

// E30: a 64 MiB limit; a process touching 256 MiB is OOM-killed inside, the host lives on.
TEST_F(LimitsKernel, MemoryLimitOomKillsAHogAndTheCountersShowIt) {
  make(44701);
  if (!dirs_.memory) GTEST_SKIP() << "needs the memory controller (v1 or v2)";
  CgroupLimits l;
  l.memory = 64 << 20;
  auto r = set_cgroup_limits(dirs_, l);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(slurp(knob(*dirs_.memory, "memory.limit_in_bytes", "memory.max")), "67108864\n");
  auto before = read_cgroup_usage(dirs_);
  ASSERT_TRUE(before) << before.error().message();
  ASSERT_TRUE(before->memory_oom_kill.has_value());
  EXPECT_EQ(*before->memory_oom_kill, 0u);

  Child sentinel = host_sentinel();
  constexpr size_t kHog = size_t{256} << 20;
  Child hog = start_in(*cg_, [](const Gate&) {
    void* p = ::mmap(nullptr, kHog, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 2;
    auto* bytes = static_cast<volatile char*>(p);
    for (size_t i = 0; i < kHog; i += 4096) bytes[i] = 1;
    return 0;  // survived: the limit did not hold
  });
  auto st = hog.wait();
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_TRUE(st->signaled) << "the hog exited with " << st->value;
  EXPECT_EQ(st->value, SIGKILL);

  auto after = read_cgroup_usage(dirs_);
  ASSERT_TRUE(after) << after.error().message();
  ASSERT_TRUE(after->memory_failcnt.has_value());
  ASSERT_TRUE(after->memory_oom_kill.has_value());
  EXPECT_GT(*after->memory_failcnt, 0u);
  EXPECT_GE(*after->memory_oom_kill, 1u);
  ASSERT_TRUE(after->memory_peak.has_value());
  EXPECT_LE(*after->memory_peak, uint64_t{64} << 20);
  EXPECT_TRUE(running(sentinel.pid())) << "the host sentinel died";
  ASSERT_TRUE(sentinel.signal(SIGKILL));
  ASSERT_TRUE(sentinel.wait());
  remove();
}

// v1 refuses a limit below what it cannot reclaim; the error says so and names the file.
TEST_F(LimitsKernel, MemoryLimitBelowUsageIsEbusyNamingTheFile) {
  make(44702);
  if (!dirs_.memory || dirs_.memory->version != CgroupVersion::kV1) {
    GTEST_SKIP() << "needs the v1 memory controller (v2 OOM-kills instead of refusing)";
  }
  int ready[2];
  ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
  constexpr size_t kUse = size_t{32} << 20;
  Child user = start_in(*cg_, [&](const Gate&) {
    void* p = ::mmap(nullptr, kUse, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 2;
    std::memset(p, 1, kUse);
    (void)!::write(ready[1], "r", 1);
    for (;;) ::pause();
    return 0;
  });
  ::close(ready[1]);
  char b = 0;
  ASSERT_EQ(::read(ready[0], &b, 1), 1);
  ::close(ready[0]);
  CgroupLimits l;
  l.memory = 4 << 20;
  auto r = set_cgroup_limits(dirs_, l);
  ASSERT_FALSE(r) << "a limit below the usage was accepted";
  EXPECT_EQ(r.error().code, EBUSY);
  EXPECT_EQ(r.error().subject, dirs_.memory->path + "/memory.limit_in_bytes");
  EXPECT_NE(r.error().message().find("could not reclaim"), std::string::npos)
      << r.error().message();
  auto now = read_cgroup_limits(dirs_);
  ASSERT_TRUE(now);
  EXPECT_EQ(now->memory, kNoLimit);
  ASSERT_TRUE(user.signal(SIGKILL));
  ASSERT_TRUE(user.wait());
  remove();
}

// E29: pids 16; a fork loop inside stops with EAGAIN at 16 processes; the host still forks.
TEST_F(LimitsKernel, PidsLimitStopsAForkLoopWithEagain) {
  make(44703);
  if (!dirs_.pids) GTEST_SKIP() << "needs the pids controller (v1 or v2)";
  CgroupLimits l;
  l.pids = 16;
  ASSERT_TRUE(set_cgroup_limits(dirs_, l));
  EXPECT_EQ(slurp(dirs_.pids->path + "/pids.max"), "16\n");
  int report[2];
  ASSERT_EQ(::pipe2(report, O_CLOEXEC), 0);
  Child bomb = start_in(*cg_, [&](const Gate&) {
    int out[2] = {0, 0};  // {forks that worked, errno of the one that did not}
    while (out[0] < 1000) {
      pid_t p = ::fork();
      if (p == 0) {
        for (;;) ::pause();
      }
      if (p < 0) {
        out[1] = errno;
        break;
      }
      ++out[0];
    }
    (void)!::write(report[1], out, sizeof out);
    for (;;) ::pause();
    return 0;
  });
  ::close(report[1]);
  int got[2] = {-1, -1};
  ASSERT_EQ(::read(report[0], got, sizeof got), static_cast<ssize_t>(sizeof got));
  ::close(report[0]);
  EXPECT_EQ(got[1], EAGAIN) << "fork failed with " << got[1] << " after " << got[0];
  EXPECT_EQ(got[0], 15) << "forks that worked (16 minus the forker)";
  auto u = read_cgroup_usage(dirs_);
  ASSERT_TRUE(u) << u.error().message();
  ASSERT_TRUE(u->pids_current.has_value());
  EXPECT_LE(*u->pids_current, 16u);
  EXPECT_GE(*u->pids_current, 1u);
  ASSERT_TRUE(u->pids_max_hits.has_value());
  EXPECT_GE(*u->pids_max_hits, 1u);

  // The host is not limited.
  pid_t host = ::fork();
  ASSERT_GE(host, 0) << "the host could not fork";
  if (host == 0) ::_exit(0);
  int status = 0;
  ASSERT_EQ(::waitpid(host, &status, 0), host);

  auto k = cg_->kill(SIGKILL);
  ASSERT_TRUE(k) << k.error().message();
  ASSERT_TRUE(bomb.wait());
  remove();
}

// E34: a 20% quota throttles a busy loop; the throttling counter says so (no timing check).
TEST_F(LimitsKernel, CpuQuotaThrottlesABusyLoop) {
  make(44704);
  if (!dirs_.cpu) GTEST_SKIP() << "needs the cpu controller (v1 or v2)";
  CgroupLimits l;
  l.cpu_quota_us = 20000;
  l.cpu_period_us = 100000;
  auto r = set_cgroup_limits(dirs_, l);
  ASSERT_TRUE(r) << r.error().message();
  if (dirs_.cpu->version == CgroupVersion::kV1) {
    EXPECT_EQ(slurp(dirs_.cpu->path + "/cpu.cfs_quota_us"), "20000\n");
    EXPECT_EQ(slurp(dirs_.cpu->path + "/cpu.cfs_period_us"), "100000\n");
  } else {
    EXPECT_EQ(slurp(dirs_.cpu->path + "/cpu.max"), "20000 100000\n");
  }
  auto before = read_cgroup_usage(dirs_);
  ASSERT_TRUE(before);
  ASSERT_TRUE(before->cpu_nr_throttled.has_value());
  EXPECT_EQ(*before->cpu_nr_throttled, 0u);
  Child busy = start_in(*cg_, [](const Gate&) {
    struct timespec start {};
    struct timespec now {};
    ::clock_gettime(CLOCK_MONOTONIC, &start);
    do {
      ::clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) <
             500000000L);
    return 0;
  });
  auto st = busy.wait();
  ASSERT_TRUE(st);
  EXPECT_EQ(st->as_exit_code(), 0);
  auto after = read_cgroup_usage(dirs_);
  ASSERT_TRUE(after) << after.error().message();
  ASSERT_TRUE(after->cpu_nr_throttled.has_value());
  EXPECT_GT(*after->cpu_nr_throttled, 0u);
  ASSERT_TRUE(after->cpu_throttled_usec.has_value());
  EXPECT_GT(*after->cpu_throttled_usec, 0u);
  ASSERT_TRUE(after->cpu_usage_usec.has_value());
  EXPECT_GT(*after->cpu_usage_usec, 0u);
  remove();
}

TEST_F(LimitsKernel, CpusetSharesAndPidsAreWrittenAndReadBack) {
  make(44705);
  if (!dirs_.cpuset || !dirs_.cpu || !dirs_.pids) GTEST_SKIP() << "needs cpuset, cpu and pids";
  CgroupLimits l;
  l.cpuset_cpus = "0";
  l.cpuset_mems = "0";
  l.cpu_shares = 512;
  l.pids = 100;
  auto r = set_cgroup_limits(dirs_, l);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(slurp(dirs_.cpuset->path + "/cpuset.cpus"), "0\n");
  EXPECT_EQ(slurp(dirs_.cpuset->path + "/cpuset.mems"), "0\n");
  EXPECT_EQ(slurp(knob(*dirs_.cpu, "cpu.shares", "cpu.weight")),
            dirs_.cpu->version == CgroupVersion::kV1 ? "512\n" : "50\n");
  auto back = read_cgroup_limits(dirs_);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->cpuset_cpus, "0");
  EXPECT_EQ(back->cpuset_mems, "0");
  EXPECT_EQ(back->cpu_shares, 512u);
  EXPECT_EQ(back->pids, 100u);
  EXPECT_EQ(back->cpu_quota_us, kNoLimit);
  // A cpu the machine does not have is the kernel's refusal (ERANGE past nr_cpu_ids),
  // on the file.
  CgroupLimits bad;
  bad.cpuset_cpus = "4000";
  auto e = set_cgroup_limits(dirs_, bad);
  ASSERT_FALSE(e);
  EXPECT_TRUE(e.error().code == EINVAL || e.error().code == ERANGE) << e.error().message();
  EXPECT_EQ(e.error().subject, dirs_.cpuset->path + "/cpuset.cpus");
  EXPECT_EQ(slurp(dirs_.cpuset->path + "/cpuset.cpus"), "0\n");
  remove();
}

// memsw >= memory at every moment: raising both needs memsw first, lowering memory first.
TEST_F(LimitsKernel, MemswIsWrittenInTheOrderTheKernelAccepts) {
  make(44706);
  if (!dirs_.memory) GTEST_SKIP() << "needs the memory controller";
  const bool v1 = dirs_.memory->version == CgroupVersion::kV1;
  const std::string file = knob(*dirs_.memory, "memory.memsw.limit_in_bytes", "memory.swap.max");
  CgroupLimits l;
  l.memory = 64 << 20;
  l.memsw = 64 << 20;
  auto r = set_cgroup_limits(dirs_, l);
  if (!exists(file)) {
    // No swap accounting on this kernel: said so, and memory was not set either.
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ENOTSUP);
    EXPECT_EQ(r.error().subject, file);
    auto now = read_cgroup_limits(dirs_);
    ASSERT_TRUE(now);
    EXPECT_EQ(now->memory, kNoLimit);
    remove();
    return;
  }
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(slurp(file), v1 ? "67108864\n" : "0\n");
  l.memory = 128 << 20;
  l.memsw = 256 << 20;
  r = set_cgroup_limits(dirs_, l);
  ASSERT_TRUE(r) << r.error().message();
  l.memory = 32 << 20;
  l.memsw = 48 << 20;
  r = set_cgroup_limits(dirs_, l);
  ASSERT_TRUE(r) << r.error().message();
  auto back = read_cgroup_limits(dirs_);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->memory, uint64_t{32} << 20);
  EXPECT_EQ(back->memsw, uint64_t{48} << 20);
  if (v1) {
    // memsw alone below memory: the kernel's EINVAL, explained.
    CgroupLimits low;
    low.memsw = 16 << 20;
    auto e = set_cgroup_limits(dirs_, low);
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().code, EINVAL);
    EXPECT_EQ(e.error().subject, file);
    EXPECT_NE(e.error().detail.find("below the memory limit"), std::string::npos);
  }
  remove();
}

TEST_F(LimitsKernel, AControllerTheContextLacksIsTheMissingControllerError) {
  CgroupSpec s = spec();
  s.v1_controllers = {"freezer"};
  make(44707, s);
  if (dirs_.memory) GTEST_SKIP() << "memory is on cgroup v2 here: the context has it anyway";
  CgroupLimits l;
  l.memory = 64 << 20;
  auto r = set_cgroup_limits(dirs_, l);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENOTSUP);
  EXPECT_EQ(r.error().subject, "memory");
  EXPECT_EQ(r.error().detail,
            "memory limits need the memory controller (neither cgroup v2 nor v1 has it here)");
  remove();
}

}  // namespace
}  // namespace vs::shim
