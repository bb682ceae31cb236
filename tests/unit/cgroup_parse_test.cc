// The pure parts of kernel-shim/cgroup*.cc: mountinfo -> CgroupLayout, /proc/PID/cgroup ->
// Xid, and the cgroupfs file formats (cgroup.events, cgroup.procs). Fixture texts only.
#include <errno.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "kernel-shim/cgroup.h"
#include "kernel-shim/cgroup_backend.h"
#include "tests/support/temp_tree.h"

namespace vs::shim {
namespace {

// The build machine: one tmpfs with a v1 hierarchy per controller, a named systemd
// hierarchy and a controller-less cgroup2 at /sys/fs/cgroup/unified.
constexpr const char* kHybrid =
    "22 1 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
    "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
    "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "35 30 0:32 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
    "36 30 0:33 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "37 30 0:34 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

// A systemd distribution in its default (unified) mode.
constexpr const char* kPureV2 =
    "25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
    "26 25 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:8 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n"
    "27 30 0:25 / /proc rw,nosuid,nodev,noexec,relatime shared:13 - proc proc rw\n";

// A systemd distribution in legacy mode: co-mounted controllers and extra options.
constexpr const char* kLegacyCoMounted =
    "24 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
    "25 24 0:23 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 "
    "cgroup2 rw,nsdelegate\n"
    "26 24 0:24 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:11 - cgroup "
    "cgroup rw,xattr,name=systemd\n"
    "29 24 0:27 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:14 - cgroup "
    "cgroup rw,cpu,cpuacct\n"
    "30 24 0:28 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:15 - "
    "cgroup cgroup rw,net_cls,net_prio\n"
    "31 24 0:29 / /sys/fs/cgroup/cpuset rw,nosuid,nodev,noexec,relatime shared:16 - cgroup "
    "cgroup rw,cpuset,clone_children\n"
    "32 24 0:30 / /sys/fs/cgroup/freezer rw,nosuid,nodev,noexec,relatime shared:17 - cgroup "
    "cgroup rw,freezer,release_agent=/sbin/agent\n";

TEST(CgroupLayoutParse, HybridMachine) {
  auto layout = CgroupLayout::parse_mountinfo(kHybrid);
  ASSERT_TRUE(layout) << layout.error().message();
  EXPECT_EQ(layout->v2_root, "/sys/fs/cgroup/unified");
  ASSERT_EQ(layout->v1.size(), 8u);
  for (const char* c :
       {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids"}) {
    const auto* h = layout->v1_for(c);
    ASSERT_NE(h, nullptr) << c;
    EXPECT_EQ(h->mount_point, std::string("/sys/fs/cgroup/") + c);
    EXPECT_EQ(h->controllers, std::vector<std::string>{c});
  }
}

TEST(CgroupLayoutParse, NamedHierarchyWithoutControllerIsIgnored) {
  auto layout = CgroupLayout::parse_mountinfo(kHybrid);
  ASSERT_TRUE(layout) << layout.error().message();
  EXPECT_EQ(layout->v1_for("name=systemd"), nullptr);
  EXPECT_EQ(layout->v1_for("systemd"), nullptr);
  for (const auto& h : layout->v1) EXPECT_NE(h.mount_point, "/sys/fs/cgroup/systemd");
}

TEST(CgroupLayoutParse, UnboundControllerIsNull) {
  auto layout = CgroupLayout::parse_mountinfo(kHybrid);
  ASSERT_TRUE(layout) << layout.error().message();
  EXPECT_EQ(layout->v1_for("hugetlb"), nullptr);
  EXPECT_EQ(layout->v1_for(""), nullptr);
}

TEST(CgroupLayoutParse, PureV2HasNoV1) {
  auto layout = CgroupLayout::parse_mountinfo(kPureV2);
  ASSERT_TRUE(layout) << layout.error().message();
  EXPECT_EQ(layout->v2_root, "/sys/fs/cgroup");
  EXPECT_TRUE(layout->v1.empty());
  EXPECT_EQ(layout->v1_for("memory"), nullptr);
}

TEST(CgroupLayoutParse, CoMountedControllersAreOneHierarchy) {
  auto layout = CgroupLayout::parse_mountinfo(kLegacyCoMounted);
  ASSERT_TRUE(layout) << layout.error().message();
  EXPECT_EQ(layout->v2_root, "/sys/fs/cgroup/unified");
  ASSERT_EQ(layout->v1.size(), 4u);  // cpu,cpuacct  net_cls,net_prio  cpuset  freezer
  const auto* cpu = layout->v1_for("cpu");
  ASSERT_NE(cpu, nullptr);
  EXPECT_EQ(cpu, layout->v1_for("cpuacct"));
  EXPECT_EQ(cpu->mount_point, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(cpu->controllers, (std::vector<std::string>{"cpu", "cpuacct"}));
  EXPECT_EQ(layout->v1_for("net_cls"), layout->v1_for("net_prio"));
}

TEST(CgroupLayoutParse, MountOptionsAreNotControllers) {
  auto layout = CgroupLayout::parse_mountinfo(kLegacyCoMounted);
  ASSERT_TRUE(layout) << layout.error().message();
  const auto* cpuset = layout->v1_for("cpuset");
  ASSERT_NE(cpuset, nullptr);
  EXPECT_EQ(cpuset->controllers, std::vector<std::string>{"cpuset"});
  const auto* freezer = layout->v1_for("freezer");
  ASSERT_NE(freezer, nullptr);
  EXPECT_EQ(freezer->controllers, std::vector<std::string>{"freezer"});
  for (const char* opt : {"rw", "xattr", "clone_children", "release_agent=/sbin/agent"}) {
    EXPECT_EQ(layout->v1_for(opt), nullptr) << opt;
  }
}

TEST(CgroupLayoutParse, EscapedMountPoint) {
  auto layout = CgroupLayout::parse_mountinfo(
      "40 30 0:37 / /mnt/my\\040cgroups rw,relatime - cgroup2 cgroup2 rw\n"
      "41 30 0:38 / /mnt/mem\\134x rw,relatime - cgroup cgroup rw,memory\n");
  ASSERT_TRUE(layout) << layout.error().message();
  EXPECT_EQ(layout->v2_root, "/mnt/my cgroups");
  ASSERT_NE(layout->v1_for("memory"), nullptr);
  EXPECT_EQ(layout->v1_for("memory")->mount_point, "/mnt/mem\\x");
}

TEST(CgroupLayoutParse, FirstMountOfAHierarchyWinsUnlessALaterOneShowsItsRoot) {
  auto layout = CgroupLayout::parse_mountinfo(
      "50 30 0:31 /sub /a/memory rw - cgroup cgroup rw,memory\n"
      "51 30 0:31 / /b/memory rw - cgroup cgroup rw,memory\n"
      "52 30 0:31 / /c/memory rw - cgroup cgroup rw,memory\n"
      "53 30 0:37 / /a/unified rw - cgroup2 cgroup2 rw\n"
      "54 30 0:37 / /b/unified rw - cgroup2 cgroup2 rw\n");
  ASSERT_TRUE(layout) << layout.error().message();
  ASSERT_EQ(layout->v1.size(), 1u);
  EXPECT_EQ(layout->v1[0].mount_point, "/b/memory");
  EXPECT_EQ(layout->v2_root, "/a/unified");
}

TEST(CgroupLayoutParse, NoCgroupsAtAll) {
  auto layout = CgroupLayout::parse_mountinfo(
      "27 30 0:25 / /proc rw,nosuid,nodev,noexec,relatime shared:13 - proc proc rw\n");
  ASSERT_TRUE(layout) << layout.error().message();
  EXPECT_TRUE(layout->v2_root.empty());
  EXPECT_TRUE(layout->v1.empty());
  EXPECT_TRUE(layout->v2_controllers().empty());
}

TEST(CgroupLayoutParse, MalformedLineIsAnErrorNamingTheLine) {
  auto layout = CgroupLayout::parse_mountinfo(
      "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
      "41 30 0:38 / /x rw,relatime cgroup cgroup rw,memory\n");
  ASSERT_FALSE(layout);
  EXPECT_EQ(layout.error().op, "parse");
  EXPECT_EQ(layout.error().subject, "mountinfo line 2");
  EXPECT_EQ(layout.error().code, EINVAL);
}

TEST(CgroupLayoutParse, TruncatedLineIsAnError) {
  auto layout = CgroupLayout::parse_mountinfo("41 30 0:38 / /x rw - cgroup\n");
  ASSERT_FALSE(layout);
  EXPECT_EQ(layout.error().subject, "mountinfo line 1");
}

TEST(CgroupLayoutDiscover, ReadsTheFileItIsGiven) {
  test::ScopedTempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  const std::string file = tmp.path() + "/mountinfo";
  std::ofstream(file) << kPureV2;
  auto layout = CgroupLayout::discover(file);
  ASSERT_TRUE(layout) << layout.error().message();
  EXPECT_EQ(layout->v2_root, "/sys/fs/cgroup");
}

TEST(CgroupLayoutDiscover, MissingFileIsAnError) {
  test::ScopedTempDir tmp;
  auto layout = CgroupLayout::discover(tmp.path() + "/nope");
  ASSERT_FALSE(layout);
  EXPECT_EQ(layout.error().code, ENOENT);
}

TEST(CgroupLayout, V2ControllersReadsSubtreeControl) {
  test::ScopedTempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  std::ofstream(tmp.path() + "/cgroup.subtree_control") << "cpu memory pids\n";
  CgroupLayout layout;
  layout.v2_root = tmp.path();
  EXPECT_EQ(layout.v2_controllers(), (std::vector<std::string>{"cpu", "memory", "pids"}));
  std::ofstream(tmp.path() + "/cgroup.subtree_control") << "\n";
  EXPECT_TRUE(layout.v2_controllers().empty());
}

TEST(DefaultV1Controllers, AreTheDocumentedSet) {
  EXPECT_EQ(default_v1_controllers(),
            (std::vector<std::string>{"cpu", "cpuacct", "cpuset", "memory", "pids", "freezer"}));
  EXPECT_EQ(CgroupSpec{}.parent, "vservers");
  EXPECT_EQ(CgroupSpec{}.v1_controllers, default_v1_controllers());
}

// ---- xid_from_cgroup_file ----

std::string with_v1_lines(const std::string& v2_line) {
  return "9:name=systemd:/\n8:pids:/vservers/42\n4:memory:/process_api/abc\n" + v2_line + "\n";
}

Xid xid_of(const std::string& text, const std::string& parent = "vservers") {
  auto x = xid_from_cgroup_file(text, parent);
  EXPECT_TRUE(x) << x.error().message();
  return x ? *x : Xid(9999);
}

TEST(XidFromCgroupFile, ContextDirectory) {
  EXPECT_EQ(xid_of("0::/vservers/42\n"), Xid(42));
  EXPECT_EQ(xid_of(with_v1_lines("0::/vservers/42")), Xid(42));
  EXPECT_EQ(xid_of("0::/vservers/49152\n"), Xid(49152));
  EXPECT_EQ(xid_of("0::/vservers/65535"), Xid(65535));
  EXPECT_EQ(xid_of("0::/vservers/2\n"), Xid(2));
}

TEST(XidFromCgroupFile, SubCgroupOfAContext) {
  EXPECT_EQ(xid_of("0::/vservers/42/sub\n"), Xid(42));
  EXPECT_EQ(xid_of("0::/vservers/42/init.scope/x\n"), Xid(42));
}

TEST(XidFromCgroupFile, HostProcesses) {
  EXPECT_EQ(xid_of("0::/\n"), Xid(0));
  EXPECT_EQ(xid_of(with_v1_lines("0::/")), Xid(0));
  EXPECT_EQ(xid_of("0::/other/42\n"), Xid(0));
  EXPECT_EQ(xid_of("0::/vservers\n"), Xid(0));
  EXPECT_EQ(xid_of("0::/vservers/\n"), Xid(0));
  EXPECT_EQ(xid_of("0::/vservers42/7\n"), Xid(0));
  EXPECT_EQ(xid_of("0::/system.slice/vservers/42\n"), Xid(0));
}

// Names create() never makes are not contexts, whatever made them: the host (Xid 0).
TEST(XidFromCgroupFile, NamesThatAreNotContextsAreHost) {
  EXPECT_EQ(xid_of("0::/vservers/abc\n"), Xid(0));
  EXPECT_EQ(xid_of("0::/vservers/042\n"), Xid(0));
  EXPECT_EQ(xid_of("0::/vservers/+42\n"), Xid(0));
  EXPECT_EQ(xid_of("0::/vservers/42x\n"), Xid(0));
  EXPECT_EQ(xid_of("0::/vservers/65536\n"), Xid(0));
  EXPECT_EQ(xid_of("0::/vservers/99999999999999999999\n"), Xid(0));
  // 0 and 1 are reserved (host, watch): a directory with such a name is no context.
  EXPECT_EQ(xid_of("0::/vservers/1\n"), Xid(0));
  EXPECT_EQ(xid_of("0::/vservers/0\n"), Xid(0));
}

TEST(XidFromCgroupFile, OnlyTheV2LineCounts) {
  // A v1 hierarchy saying "context 42" does not make a host process a context member.
  EXPECT_EQ(xid_of("8:pids:/vservers/42\n0::/\n"), Xid(0));
  EXPECT_EQ(xid_of("0::/vservers/7\n8:pids:/vservers/42\n"), Xid(7));
}

TEST(XidFromCgroupFile, NestedParent) {
  EXPECT_EQ(xid_of("0::/a/b/42\n", "a/b"), Xid(42));
  EXPECT_EQ(xid_of("0::/a/42\n", "a/b"), Xid(0));
  EXPECT_EQ(xid_of("0::/vserver-test-123/40001\n", "vserver-test-123"), Xid(40001));
}

TEST(XidFromCgroupFile, NoV2LineIsAnError) {
  auto x = xid_from_cgroup_file("8:pids:/vservers/42\n4:memory:/\n", "vservers");
  ASSERT_FALSE(x);
  EXPECT_EQ(x.error().op, "parse");
  EXPECT_EQ(x.error().code, EINVAL);
  EXPECT_FALSE(xid_from_cgroup_file("", "vservers"));
}

TEST(XidFromCgroupFile, BadParentIsAUsageError) {
  for (const char* parent : {"", "/vservers", "a//b", "../x", "a/./b", "a/"}) {
    auto x = xid_from_cgroup_file("0::/vservers/42\n", parent);
    ASSERT_FALSE(x) << parent;
    EXPECT_EQ(x.error().kind, ErrorKind::kUsage) << parent;
  }
}

TEST(XidOfPid, ReadsProcRootPidCgroup) {
  test::ScopedTempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  ASSERT_EQ(::mkdir((tmp.path() + "/123").c_str(), 0755), 0);
  std::ofstream(tmp.path() + "/123/cgroup") << with_v1_lines("0::/vservers/42/x");
  auto x = xid_of_pid(123, "vservers", tmp.path());
  ASSERT_TRUE(x) << x.error().message();
  EXPECT_EQ(*x, Xid(42));
  auto other = xid_of_pid(123, "other", tmp.path());
  ASSERT_TRUE(other) << other.error().message();
  EXPECT_EQ(*other, Xid(0));
}

TEST(XidOfPid, MissingPidIsNotFound) {
  test::ScopedTempDir tmp;
  auto x = xid_of_pid(123, "vservers", tmp.path());
  ASSERT_FALSE(x);
  EXPECT_EQ(x.error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(x.error().code, ESRCH);
  EXPECT_EQ(x.error().subject, "pid 123");
}

TEST(XidOfPid, BadPidIsAUsageError) {
  auto x = xid_of_pid(0, "vservers", "/nonexistent");
  ASSERT_FALSE(x);
  EXPECT_EQ(x.error().kind, ErrorKind::kUsage);
  EXPECT_FALSE(xid_of_pid(-5, "vservers", "/nonexistent"));
}

TEST(XidOfPid, GarbageFileIsAnErrorNamingTheFile) {
  test::ScopedTempDir tmp;
  ASSERT_EQ(::mkdir((tmp.path() + "/7").c_str(), 0755), 0);
  std::ofstream(tmp.path() + "/7/cgroup") << "garbage\n";
  auto x = xid_of_pid(7, "vservers", tmp.path());
  ASSERT_FALSE(x);
  EXPECT_EQ(x.error().subject, tmp.path() + "/7/cgroup");
  EXPECT_EQ(x.error().code, EINVAL);
}

// ---- cgroupfs file formats ----

TEST(CgroupEvents, ValueOfAKey) {
  const std::string text = "populated 1\nfrozen 0\n";
  EXPECT_EQ(cgroup_detail::events_value(text, "populated"), "1");
  EXPECT_EQ(cgroup_detail::events_value(text, "frozen"), "0");
  EXPECT_EQ(cgroup_detail::events_value(text, "popul"), std::nullopt);
  EXPECT_EQ(cgroup_detail::events_value(text, "missing"), std::nullopt);
  EXPECT_EQ(cgroup_detail::events_value("", "populated"), std::nullopt);
  EXPECT_EQ(cgroup_detail::events_value("frozen 1", "frozen"), "1");
}

TEST(CgroupProcs, ParsesOnePidPerLine) {
  auto pids = cgroup_detail::parse_procs("12\n345\n6789\n", "f");
  ASSERT_TRUE(pids) << pids.error().message();
  EXPECT_EQ(*pids, (std::vector<pid_t>{12, 345, 6789}));
  auto empty = cgroup_detail::parse_procs("", "f");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(CgroupProcs, RejectsJunk) {
  for (const char* text : {"12\nabc\n", "-1\n", "0\n", " 12\n", "12 \n", "99999999999\n"}) {
    auto pids = cgroup_detail::parse_procs(text, "/x/cgroup.procs");
    ASSERT_FALSE(pids) << text;
    EXPECT_EQ(pids.error().subject, "/x/cgroup.procs");
  }
}

}  // namespace
}  // namespace vs::shim
