// kernel-shim/limits_cgroup.cc, limits_v1.cc and limits_v2.cc without root: the
// shares/weight scale, validation, and both cgroup backends against a fake cgroupfs of real
// files in a temp dir.
#include <errno.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "kernel-shim/limits.h"
#include "tests/support/temp_tree.h"

namespace vs::shim {
namespace {

// ---- cgroup values ----

TEST(CgroupValues, SharesAndWeightFollowSystemdsLinearScale) {
  EXPECT_EQ(cpu_shares_to_weight(1024), 100u);
  EXPECT_EQ(cpu_shares_to_weight(2), 1u);
  EXPECT_EQ(cpu_shares_to_weight(512), 50u);
  EXPECT_EQ(cpu_shares_to_weight(262144), 10000u);
  EXPECT_EQ(cpu_weight_to_shares(100), 1024u);
  EXPECT_EQ(cpu_weight_to_shares(1), 10u);
  EXPECT_EQ(cpu_weight_to_shares(10000), 102400u);
  for (uint64_t w = 1; w <= 10000; ++w) {
    ASSERT_EQ(cpu_shares_to_weight(cpu_weight_to_shares(w)), w) << w;
  }
}

TEST(CgroupValues, SizesAndMax) {
  auto v = parse_size_or_max("64M", "--memory");
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, 64u << 20);
  for (const char* m : {"max", "inf", "unlimited"}) {
    auto r = parse_size_or_max(m, "--memory");
    ASSERT_TRUE(r) << m;
    EXPECT_EQ(*r, kNoLimit);
  }
  for (const char* bad : {"", "64MB", "-1", "1.5G", "max ", "MAX", "18446744073709551615"}) {
    auto r = parse_size_or_max(bad, "--memory");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::kUsage);
    EXPECT_EQ(r.error().subject, "--memory");
  }
}

TEST(CgroupValues, ValidationNamesTheLimitAndWhatIsAllowed) {
  struct Case {
    CgroupLimits l;
    const char* subject;
  };
  auto with = [](auto set) {
    CgroupLimits l;
    set(l);
    return l;
  };
  const Case cases[] = {
      {with([](CgroupLimits& l) { l.memory = 0; }), "memory"},
      {with([](CgroupLimits& l) {
         l.memory = 64 << 20;
         l.memsw = 32 << 20;
       }),
       "memsw"},
      {with([](CgroupLimits& l) { l.pids = 4194305; }), "pids"},
      {with([](CgroupLimits& l) { l.cpu_shares = 1; }), "cpu shares"},
      {with([](CgroupLimits& l) { l.cpu_shares = 262145; }), "cpu shares"},
      {with([](CgroupLimits& l) { l.cpu_quota_us = 999; }), "cpu quota"},
      {with([](CgroupLimits& l) { l.cpu_period_us = 999; }), "cpu period"},
      {with([](CgroupLimits& l) { l.cpu_period_us = 1000001; }), "cpu period"},
  };
  for (const auto& c : cases) {
    auto r = validate_cgroup_limits(c.l);
    ASSERT_FALSE(r) << c.subject;
    EXPECT_EQ(r.error().kind, ErrorKind::kUsage);
    EXPECT_EQ(r.error().subject, c.subject);
  }
  for (const char* good : {"0", "0-3", "0,2-3", "1,3,5-7"}) {
    CgroupLimits l;
    l.cpuset_cpus = good;
    l.cpuset_mems = good;
    EXPECT_TRUE(validate_cgroup_limits(l)) << good;
  }
  for (const char* bad : {"", "3-1", "0,", ",0", "a", "0-", "-1", "01", "0 1", "0-1-2"}) {
    CgroupLimits l;
    l.cpuset_cpus = bad;
    auto r = validate_cgroup_limits(l);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().subject, "cpuset cpus");
    EXPECT_NE(r.error().detail.find("0-3"), std::string::npos);
  }
  CgroupLimits fine;
  fine.memory = 64 << 20;
  fine.memsw = kNoLimit;
  fine.pids = 0;
  fine.cpu_quota_us = kNoLimit;
  EXPECT_TRUE(validate_cgroup_limits(fine));
}

// ---- a fake cgroupfs ----

void put(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// A v2 context directory: cgroup.controllers lists `controllers`; every knob a write test
// looks at starts empty (cgroupfs replaces a file's value on write; a regular file does not).
class FakeV2 : public ::testing::Test {
 protected:
  void make(const std::string& controllers) {
    dir_ = tmp_.path() + "/vservers/42";
    ASSERT_EQ(::mkdir((tmp_.path() + "/vservers").c_str(), 0755), 0);
    ASSERT_EQ(::mkdir(dir_.c_str(), 0755), 0);
    put(tmp_.path() + "/cgroup.subtree_control", controllers + "\n");
    put(dir_ + "/cgroup.controllers", controllers + "\n");
    for (const char* f : {"memory.max", "memory.swap.max", "pids.max", "cpu.weight", "cpu.max",
                          "cpuset.cpus", "cpuset.mems"}) {
      put(dir_ + "/" + f, "");
    }
    layout_.v2_root = tmp_.path();
  }
  LimitDirs dirs() const { return LimitDirs::resolve(layout_, dir_, {}); }

  test::ScopedTempDir tmp_;
  std::string dir_;
  CgroupLayout layout_;
};

TEST_F(FakeV2, ResolveUsesV2ForTheControllersItHas) {
  make("cpuset cpu io memory pids");
  auto d = dirs();
  for (const auto* one : {&d.memory, &d.pids, &d.cpu, &d.cpuset, &d.cpuacct}) {
    ASSERT_TRUE(one->has_value());
    EXPECT_EQ((*one)->version, CgroupVersion::kV2);
    EXPECT_EQ((*one)->path, dir_);
  }
}

TEST_F(FakeV2, ResolveFallsBackToTheV1HierarchyWhereTheControllerIsBound) {
  make("cpu");
  const std::string v1mem = tmp_.path() + "/v1mem";
  ASSERT_EQ(::mkdir(v1mem.c_str(), 0755), 0);
  layout_.v1.push_back({v1mem, {"memory"}});
  layout_.v1.push_back({tmp_.path() + "/v1pids", {"pids"}});
  const std::string mine = v1mem + "/vservers/42";
  auto d = LimitDirs::resolve(layout_, dir_, {mine});
  ASSERT_TRUE(d.memory);
  EXPECT_EQ(d.memory->version, CgroupVersion::kV1);
  EXPECT_EQ(d.memory->path, mine);
  ASSERT_TRUE(d.cpu);
  EXPECT_EQ(d.cpu->version, CgroupVersion::kV2);
  // Bound in v1, but the context has no directory there: not served.
  EXPECT_FALSE(d.pids);
  EXPECT_FALSE(d.cpuset);
  ASSERT_TRUE(d.cpuacct);  // v2's cpu.stat usage_usec needs no controller
  EXPECT_EQ(d.cpuacct->path, dir_);
}

TEST_F(FakeV2, SetWritesTheRightFilesWithTheRightStrings) {
  make("cpuset cpu memory pids");
  CgroupLimits l;
  l.memory = 64 << 20;
  l.memsw = 96 << 20;
  l.pids = 16;
  l.cpu_shares = 512;
  l.cpu_quota_us = 20000;
  l.cpu_period_us = 100000;
  l.cpuset_cpus = "0-1";
  l.cpuset_mems = "0";
  auto r = set_cgroup_limits(dirs(), l);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(slurp(dir_ + "/memory.max"), "67108864");
  EXPECT_EQ(slurp(dir_ + "/memory.swap.max"), "33554432");  // swap alone: memsw - memory
  EXPECT_EQ(slurp(dir_ + "/pids.max"), "16");
  EXPECT_EQ(slurp(dir_ + "/cpu.weight"), "50");
  EXPECT_EQ(slurp(dir_ + "/cpu.max"), "20000 100000");
  EXPECT_EQ(slurp(dir_ + "/cpuset.cpus"), "0-1");
  EXPECT_EQ(slurp(dir_ + "/cpuset.mems"), "0");
}

TEST_F(FakeV2, NoLimitIsMaxAndAQuotaAloneKeepsThePeriod) {
  make("cpu memory pids");
  CgroupLimits l;
  l.memory = kNoLimit;
  l.memsw = kNoLimit;
  l.pids = kNoLimit;
  l.cpu_quota_us = 30000;
  ASSERT_TRUE(set_cgroup_limits(dirs(), l));
  EXPECT_EQ(slurp(dir_ + "/memory.max"), "max");
  EXPECT_EQ(slurp(dir_ + "/memory.swap.max"), "max");
  EXPECT_EQ(slurp(dir_ + "/pids.max"), "max");
  EXPECT_EQ(slurp(dir_ + "/cpu.max"), "30000");

  // A period alone keeps the quota in force.
  put(dir_ + "/cpu.max", "25000 100000\n");
  CgroupLimits p;
  p.cpu_period_us = 50000;
  auto r = set_cgroup_limits(dirs(), p);
  ASSERT_TRUE(r) << r.error().message();
  // The fake file is not replaced on write: the new value is written over the start.
  EXPECT_EQ(slurp(dir_ + "/cpu.max").substr(0, 11), "25000 50000");
}

TEST_F(FakeV2, MemswIsMeasuredAgainstTheMemoryLimitInForce) {
  make("memory");
  put(dir_ + "/memory.max", "67108864\n");
  CgroupLimits l;
  l.memsw = 80 << 20;
  put(dir_ + "/memory.swap.max", "");
  ASSERT_TRUE(set_cgroup_limits(dirs(), l));
  EXPECT_EQ(slurp(dir_ + "/memory.swap.max"), "16777216");

  // Below the memory limit in force, or with no memory limit: refused, nothing written.
  put(dir_ + "/memory.swap.max", "");
  l.memsw = 32 << 20;
  auto below = set_cgroup_limits(dirs(), l);
  ASSERT_FALSE(below);
  EXPECT_EQ(below.error().kind, ErrorKind::kUsage);
  EXPECT_EQ(below.error().subject, "memsw");
  put(dir_ + "/memory.max", "max\n");
  auto unlimited = set_cgroup_limits(dirs(), l);
  ASSERT_FALSE(unlimited);
  EXPECT_EQ(unlimited.error().kind, ErrorKind::kUsage);
  EXPECT_NE(unlimited.error().detail.find("needs a memory limit"), std::string::npos);
  EXPECT_EQ(slurp(dir_ + "/memory.swap.max"), "");
}

TEST_F(FakeV2, MissingControllerIsAnErrorAndNothingIsWritten) {
  make("pids");
  CgroupLimits l;
  l.pids = 5;
  l.memory = 1 << 20;
  auto r = set_cgroup_limits(dirs(), l);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENOTSUP);
  EXPECT_EQ(r.error().subject, "memory");
  EXPECT_EQ(r.error().detail,
            "memory limits need the memory controller (neither cgroup v2 nor v1 has it here)");
  EXPECT_EQ(slurp(dir_ + "/pids.max"), "") << "pids was written before the check failed";
  EXPECT_EQ(slurp(dir_ + "/memory.max"), "");
  for (auto [what, set] : {std::pair{"cpu", +[](CgroupLimits& x) { x.cpu_shares = 100; }},
                           std::pair{"cpuset", +[](CgroupLimits& x) { x.cpuset_cpus = "0"; }}}) {
    CgroupLimits one;
    set(one);
    auto e = set_cgroup_limits(dirs(), one);
    ASSERT_FALSE(e) << what;
    EXPECT_EQ(e.error().subject, what);
    EXPECT_EQ(e.error().code, ENOTSUP);
  }
}

TEST_F(FakeV2, MemswWithoutSwapAccountingIsENOTSUP) {
  make("memory");
  ASSERT_EQ(::unlink((dir_ + "/memory.swap.max").c_str()), 0);
  CgroupLimits l;
  l.memory = 64 << 20;
  l.memsw = 128 << 20;
  auto r = set_cgroup_limits(dirs(), l);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENOTSUP);
  EXPECT_EQ(r.error().subject, dir_ + "/memory.swap.max");
  EXPECT_EQ(slurp(dir_ + "/memory.max"), "") << "memory was set although memsw could not be";
}

TEST_F(FakeV2, ReadsLimitsAndCountersFromTheFiles) {
  make("cpuset cpu memory pids");
  put(dir_ + "/memory.max", "67108864\n");
  put(dir_ + "/memory.swap.max", "33554432\n");
  put(dir_ + "/pids.max", "max\n");
  put(dir_ + "/cpu.weight", "50\n");
  put(dir_ + "/cpu.max", "20000 100000\n");
  put(dir_ + "/cpuset.cpus", "\n");
  put(dir_ + "/cpuset.cpus.effective", "0-1\n");
  put(dir_ + "/cpuset.mems", "0\n");
  put(dir_ + "/memory.current", "4096000\n");
  // No memory.peak: kernels before 5.19 do not have it.
  put(dir_ + "/memory.events", "low 0\nhigh 0\nmax 7\noom 2\noom_kill 1\noom_group_kill 0\n");
  put(dir_ + "/pids.current", "3\n");
  put(dir_ + "/pids.events", "max 9\n");
  put(dir_ + "/cpu.stat",
      "usage_usec 5000\nuser_usec 4000\nsystem_usec 1000\nnr_periods 10\nnr_throttled 4\n"
      "throttled_usec 1234\nnr_bursts 0\nburst_usec 0\n");
  auto l = read_cgroup_limits(dirs());
  ASSERT_TRUE(l) << l.error().message();
  EXPECT_EQ(l->memory, uint64_t{64} << 20);
  EXPECT_EQ(l->memsw, uint64_t{96} << 20);
  EXPECT_EQ(l->pids, kNoLimit);
  EXPECT_EQ(l->cpu_shares, 512u);
  EXPECT_EQ(l->cpu_quota_us, 20000u);
  EXPECT_EQ(l->cpu_period_us, 100000u);
  EXPECT_EQ(l->cpuset_cpus, "0-1");
  EXPECT_EQ(l->cpuset_mems, "0");
  auto u = read_cgroup_usage(dirs());
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_EQ(u->memory_current, 4096000u);
  EXPECT_FALSE(u->memory_peak.has_value());
  EXPECT_EQ(u->memory_failcnt, 7u);
  EXPECT_EQ(u->memory_oom_kill, 1u);
  EXPECT_EQ(u->pids_current, 3u);
  EXPECT_EQ(u->pids_max_hits, 9u);
  EXPECT_EQ(u->cpu_nr_periods, 10u);
  EXPECT_EQ(u->cpu_nr_throttled, 4u);
  EXPECT_EQ(u->cpu_throttled_usec, 1234u);
  EXPECT_EQ(u->cpu_usage_usec, 5000u);

  auto fields = describe_limits({{RLIMIT_NOFILE, {100, 100}}}, *l, *u);
  ASSERT_GE(fields.size(), 3u);
  EXPECT_EQ(fields[0].name, "rlimit.nofile");
  EXPECT_EQ(fields[0].value, "100:100");
  EXPECT_FALSE(fields[0].numeric);
  EXPECT_EQ(fields[1].name, "memory.limit");
  EXPECT_EQ(fields[1].value, "67108864");
  EXPECT_TRUE(fields[1].numeric);
  bool saw_pids = false;
  for (const auto& f : fields) {
    if (f.name == "pids.limit") {
      saw_pids = true;
      EXPECT_EQ(f.value, "max");
      EXPECT_FALSE(f.numeric);
    }
    EXPECT_NE(f.name, "memory.peak") << "an absent counter was shown";
  }
  EXPECT_TRUE(saw_pids);
}

TEST_F(FakeV2, ACorruptCounterIsAnErrorNamingTheFile) {
  make("memory");
  put(dir_ + "/memory.current", "lots\n");
  auto u = read_cgroup_usage(dirs());
  ASSERT_FALSE(u);
  EXPECT_EQ(u.error().subject, dir_ + "/memory.current");
  EXPECT_EQ(u.error().code, EINVAL);
}

// The v1 file formats (the v1 backend meets the real kernel in tests/integration).
TEST_F(FakeV2, V1FilesTakeMinusOneForNoLimitAndReadTheV1Counters) {
  make("");
  const std::string mount = tmp_.path() + "/v1";
  const std::string v1 = mount + "/ctx";
  ASSERT_EQ(::mkdir(mount.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(v1.c_str(), 0755), 0);
  layout_.v1.push_back({mount, {"cpu", "cpuacct", "memory", "pids"}});
  for (const char* f : {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "cpu.shares",
                        "cpu.cfs_quota_us", "cpu.cfs_period_us", "pids.max"}) {
    put(v1 + "/" + f, "");
  }
  put(v1 + "/memory.memsw.limit_in_bytes", "9223372036854771712\n");
  auto d = LimitDirs::resolve(layout_, dir_, {v1});
  ASSERT_TRUE(d.memory);
  EXPECT_EQ(d.memory->version, CgroupVersion::kV1);
  ASSERT_TRUE(d.cpuacct);
  EXPECT_EQ(d.cpuacct->version, CgroupVersion::kV1);
  CgroupLimits l;
  l.memory = 64 << 20;
  l.memsw = 128 << 20;
  l.cpu_shares = 512;
  l.cpu_quota_us = kNoLimit;
  l.cpu_period_us = 50000;
  l.pids = 16;
  auto r = set_cgroup_limits(d, l);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(slurp(v1 + "/memory.limit_in_bytes"), "67108864");
  EXPECT_EQ(slurp(v1 + "/memory.memsw.limit_in_bytes").substr(0, 9), "134217728");
  EXPECT_EQ(slurp(v1 + "/cpu.shares"), "512");
  EXPECT_EQ(slurp(v1 + "/cpu.cfs_quota_us"), "-1");
  EXPECT_EQ(slurp(v1 + "/cpu.cfs_period_us"), "50000");
  EXPECT_EQ(slurp(v1 + "/pids.max"), "16");

  put(v1 + "/memory.limit_in_bytes", "9223372036854771712\n");
  put(v1 + "/memory.memsw.limit_in_bytes", "9223372036854771712\n");
  put(v1 + "/cpu.cfs_quota_us", "-1\n");
  put(v1 + "/cpu.shares", "512\n");
  put(v1 + "/cpu.cfs_period_us", "100000\n");
  put(v1 + "/pids.max", "max\n");
  put(v1 + "/memory.usage_in_bytes", "8192\n");
  put(v1 + "/memory.max_usage_in_bytes", "16384\n");
  put(v1 + "/memory.failcnt", "12\n");
  put(v1 + "/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  put(v1 + "/pids.current", "1\n");
  put(v1 + "/cpu.stat", "nr_periods 5\nnr_throttled 3\nthrottled_time 7000000\n");
  put(v1 + "/cpuacct.usage", "9000000\n");
  auto lim = read_cgroup_limits(d);
  ASSERT_TRUE(lim) << lim.error().message();
  EXPECT_EQ(lim->memory, kNoLimit);
  EXPECT_EQ(lim->memsw, kNoLimit);
  EXPECT_EQ(lim->cpu_quota_us, kNoLimit);
  EXPECT_EQ(lim->cpu_shares, 512u);
  EXPECT_EQ(lim->pids, kNoLimit);
  auto u = read_cgroup_usage(d);
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_EQ(u->memory_current, 8192u);
  EXPECT_EQ(u->memory_peak, 16384u);
  EXPECT_EQ(u->memory_failcnt, 12u);
  EXPECT_EQ(u->memory_oom_kill, 2u);
  EXPECT_EQ(u->pids_current, 1u);
  EXPECT_FALSE(u->pids_max_hits.has_value());  // no pids.events in this fixture
  EXPECT_EQ(u->cpu_nr_throttled, 3u);
  EXPECT_EQ(u->cpu_throttled_usec, 7000u);
  EXPECT_EQ(u->cpu_usage_usec, 9000u);
}

TEST_F(FakeV2, V1MemswMissingIsENOTSUPBeforeAnythingIsWritten) {
  make("");
  const std::string mount = tmp_.path() + "/v1";
  const std::string v1 = mount + "/ctx";
  ASSERT_EQ(::mkdir(mount.c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(v1.c_str(), 0755), 0);
  layout_.v1.push_back({mount, {"memory"}});
  put(v1 + "/memory.limit_in_bytes", "");
  auto d = LimitDirs::resolve(layout_, dir_, {v1});
  CgroupLimits l;
  l.memory = 64 << 20;
  l.memsw = 128 << 20;
  auto r = set_cgroup_limits(d, l);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENOTSUP);
  EXPECT_EQ(r.error().subject, v1 + "/memory.memsw.limit_in_bytes");
  EXPECT_NE(r.error().detail.find("swapaccount=1"), std::string::npos);
  EXPECT_EQ(slurp(v1 + "/memory.limit_in_bytes"), "");
  EXPECT_FALSE(exists(v1 + "/memory.memsw.limit_in_bytes"));
}

}  // namespace
}  // namespace vs::shim
