// ContextCgroup against the real kernel (root): directories in every hierarchy, made,
// opened, found stale or busy, rolled back, removed; the layout. Attaching processes is in
// cgroup_attach_test.cc. Each test uses its own xid (40101..40199) under this run's cgroup
// parent and removes every cgroup it made; the expected directories are computed from the
// layout here, not taken from the object under test.
#include "kernel-shim/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "tests/integration/cgroup_fixture.h"

namespace vs::shim {
namespace {

TEST_F(CgroupTest, CreateMakesOneDirectoryPerHierarchyAndRemoveTakesThemAway) {
  const Xid xid(40101);
  auto cg = ContextCgroup::create(layout(), spec(), xid);
  ASSERT_TRUE(cg) << cg.error().message();
  auto want = expected_dirs(spec(), xid);
  for (const auto& d : want) EXPECT_TRUE(is_dir(d)) << d;
  EXPECT_EQ(cg->xid(), xid);
  EXPECT_EQ(cg->v2_path(), want[0]);
  EXPECT_EQ(cg->v1_paths(), std::vector<std::string>(want.begin() + 1, want.end()));
  // One directory per hierarchy, never two in the same one.
  auto sorted = cg->v1_paths();
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end());

  // The fd is the v2 directory itself (CLONE_INTO_CGROUP and BPF attach use it).
  ASSERT_GE(cg->v2_fd(), 0);
  struct stat by_fd {};
  struct stat by_path {};
  ASSERT_EQ(::fstat(cg->v2_fd(), &by_fd), 0);
  ASSERT_EQ(::stat(cg->v2_path().c_str(), &by_path), 0);
  EXPECT_EQ(by_fd.st_ino, by_path.st_ino);
  EXPECT_EQ(by_fd.st_dev, by_path.st_dev);
  EXPECT_EQ(::fcntl(cg->v2_fd(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);

  ASSERT_TRUE(cg->remove()) << "remove";
  expect_all_gone(spec(), xid);
  // The parent is shared by every context: it stays.
  EXPECT_TRUE(is_dir(layout().v2_root + "/" + spec().parent));
  // Removing what is gone already is no error (reaping after a partial cleanup).
  auto again = cg->remove();
  EXPECT_TRUE(again) << again.error().message();
}

TEST_F(CgroupTest, NewCpusetDirectoriesGetCpusAndMemsSoTasksCanJoin) {
  const Xid xid(40102);
  const std::string dir = v1_dir("cpuset", spec(), xid);
  if (dir.empty()) GTEST_SKIP() << "needs the v1 cpuset controller";
  auto cg = ContextCgroup::create(layout(), spec(), xid);
  ASSERT_TRUE(cg) << cg.error().message();
  const std::string parent = dir.substr(0, dir.rfind('/'));
  for (const char* knob : {"/cpuset.cpus", "/cpuset.mems"}) {
    EXPECT_NE(slurp(dir + knob), "\n") << dir << knob;
    EXPECT_FALSE(slurp(dir + knob).empty()) << dir << knob;
    EXPECT_EQ(slurp(dir + knob), slurp(parent + knob)) << knob;
  }
  // The proof: a task can join.
  Child c = sleeper();
  auto r = cg->attach(c.pid());
  EXPECT_TRUE(r) << r.error().message();
  EXPECT_TRUE(contains(procs_of(dir), c.pid()));
  kill_and_reap(c);
  ASSERT_TRUE(cg->remove());
  expect_all_gone(spec(), xid);
}

TEST_F(CgroupTest, OpenFindsTheDirectoriesOfAnExistingContext) {
  const Xid xid(40107);
  auto made = ContextCgroup::create(layout(), spec(), xid);
  ASSERT_TRUE(made) << made.error().message();
  auto opened = ContextCgroup::open(layout(), spec(), xid);
  ASSERT_TRUE(opened) << opened.error().message();
  EXPECT_EQ(opened->xid(), xid);
  EXPECT_EQ(opened->v2_path(), made->v2_path());
  EXPECT_EQ(opened->v1_paths(), made->v1_paths());
  ASSERT_GE(opened->v2_fd(), 0);
  Child c = sleeper();
  ASSERT_TRUE(opened->attach(c.pid()));
  auto pids = made->pids();
  ASSERT_TRUE(pids);
  EXPECT_EQ(*pids, std::vector<pid_t>{c.pid()});
  kill_and_reap(c);
  ASSERT_TRUE(opened->remove());
  expect_all_gone(spec(), xid);
}

TEST_F(CgroupTest, OpenOfAMissingContextIsNotFound) {
  const Xid xid(40108);
  auto cg = ContextCgroup::open(layout(), spec(), xid);
  ASSERT_FALSE(cg);
  EXPECT_EQ(cg.error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(cg.error().code, ENOENT);
  EXPECT_EQ(cg.error().op, "lookup");
  EXPECT_EQ(cg.error().subject, "context 40108");
  expect_all_gone(spec(), xid);
}

TEST_F(CgroupTest, CreateOverALiveContextIsBusyAndTouchesNothing) {
  const Xid xid(40109);
  auto cg = ContextCgroup::create(layout(), spec(), xid);
  ASSERT_TRUE(cg) << cg.error().message();
  Child c = sleeper();
  ASSERT_TRUE(cg->attach(c.pid()));
  auto again = ContextCgroup::create(layout(), spec(), xid);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, ErrorKind::kWrongState);
  EXPECT_EQ(again.error().code, EBUSY);
  EXPECT_EQ(again.error().subject, cg->v2_path());
  for (const auto& d : expected_dirs(spec(), xid)) EXPECT_TRUE(is_dir(d)) << d;
  auto pids = cg->pids();
  ASSERT_TRUE(pids);
  EXPECT_EQ(*pids, std::vector<pid_t>{c.pid()});
  for (const auto& d : cg->v1_paths()) EXPECT_TRUE(contains(procs_of(d), c.pid())) << d;
  kill_and_reap(c);
  ASSERT_TRUE(cg->remove());
  expect_all_gone(spec(), xid);
}

TEST_F(CgroupTest, CreateOverAProcessOnlyInV1IsBusyToo) {
  const Xid xid(40110);
  auto cg = ContextCgroup::create(layout(), spec(), xid);
  ASSERT_TRUE(cg) << cg.error().message();
  if (cg->v1_paths().empty()) GTEST_SKIP() << "needs a v1 hierarchy with a wanted controller";
  Child c = sleeper();
  ASSERT_TRUE(cg->attach_v1(c.pid()));
  auto again = ContextCgroup::create(layout(), spec(), xid);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, ErrorKind::kWrongState);
  EXPECT_EQ(again.error().code, EBUSY);
  EXPECT_EQ(again.error().subject, cg->v1_paths().front());
  for (const auto& d : expected_dirs(spec(), xid)) EXPECT_TRUE(is_dir(d)) << d;
  kill_and_reap(c);
  ASSERT_TRUE(cg->remove());
  expect_all_gone(spec(), xid);
}

TEST_F(CgroupTest, CreateOverAStaleEmptyContextMakesItFresh) {
  const Xid xid(40111);
  const std::string pids_dir = v1_dir("pids", spec(), xid);
  {
    auto stale = ContextCgroup::create(layout(), spec(), xid);
    ASSERT_TRUE(stale) << stale.error().message();
    // Leftovers a dead context may leave: a limit, and sub-cgroups made from inside.
    if (!pids_dir.empty()) {
      std::ofstream(pids_dir + "/pids.max") << "7";
      ASSERT_EQ(slurp(pids_dir + "/pids.max"), "7\n");
      ASSERT_EQ(::mkdir((pids_dir + "/sub").c_str(), 0755), 0);
    }
    ASSERT_EQ(::mkdir((stale->v2_path() + "/sub").c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((stale->v2_path() + "/sub/deeper").c_str(), 0755), 0);
    // The object goes away without remove(): the directories stay, as after a crash.
  }
  auto fresh = ContextCgroup::create(layout(), spec(), xid);
  ASSERT_TRUE(fresh) << fresh.error().message();
  for (const auto& d : expected_dirs(spec(), xid)) EXPECT_TRUE(is_dir(d)) << d;
  EXPECT_FALSE(exists(fresh->v2_path() + "/sub"));
  if (!pids_dir.empty()) {
    EXPECT_EQ(slurp(pids_dir + "/pids.max"), "max\n");
    EXPECT_FALSE(exists(pids_dir + "/sub"));
  }
  ASSERT_TRUE(fresh->remove());
  expect_all_gone(spec(), xid);
}

TEST_F(CgroupTest, RemoveOfALiveContextIsBusyAndKeepsIt) {
  const Xid xid(40112);
  auto cg = ContextCgroup::create(layout(), spec(), xid);
  ASSERT_TRUE(cg) << cg.error().message();
  Child c = sleeper();
  ASSERT_TRUE(cg->attach(c.pid()));
  auto r = cg->remove();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kWrongState);
  EXPECT_EQ(r.error().code, EBUSY);
  EXPECT_TRUE(is_dir(cg->v2_path()));
  auto pids = cg->pids();
  ASSERT_TRUE(pids);
  EXPECT_EQ(*pids, std::vector<pid_t>{c.pid()});
  kill_and_reap(c);
  auto r2 = cg->remove();
  ASSERT_TRUE(r2) << r2.error().message();
  expect_all_gone(spec(), xid);
}

TEST_F(CgroupTest, CreateUnderARegularFileFailsAndLeavesNothing) {
  // Another context makes sure the parent exists in every hierarchy.
  auto other = ContextCgroup::create(layout(), spec(), Xid(40114));
  ASSERT_TRUE(other) << other.error().message();
  CgroupSpec s = spec();
  s.parent += "/cgroup.procs";  // a file in the v2 parent
  auto cg = ContextCgroup::create(layout(), s, Xid(40115));
  ASSERT_FALSE(cg);
  EXPECT_EQ(cg.error().code, ENOTDIR);
  EXPECT_EQ(cg.error().subject, layout().v2_root + "/" + s.parent);
  for (const auto& root : v1_roots(s)) {
    EXPECT_FALSE(is_dir(root + "/" + s.parent)) << root;
  }
  ASSERT_TRUE(other->remove());
  expect_all_gone(spec(), Xid(40114));
}

// The v1 freezer has freezer.state in every non-root directory; no other hierarchy has it.
// A parent path through it fails in the freezer hierarchy after the v2 directory and the
// earlier v1 ones were made: all of those must be rolled back.
TEST_F(CgroupTest, FailureHalfWayRollsBackEveryDirectoryMade) {
  const std::string freezer = v1_dir("freezer", spec(), Xid(40116));
  if (freezer.empty()) GTEST_SKIP() << "needs the v1 freezer to make a half-way failure";
  auto base = ContextCgroup::create(layout(), spec(), Xid(40116));
  ASSERT_TRUE(base) << base.error().message();
  CgroupSpec s = spec();
  s.parent += "/40116/freezer.state";
  auto cg = ContextCgroup::create(layout(), s, Xid(40117));
  ASSERT_FALSE(cg);
  EXPECT_EQ(cg.error().code, ENOTDIR);
  EXPECT_EQ(cg.error().subject, freezer + "/freezer.state");
  EXPECT_EQ(cg.error().op, "mkdir");
  EXPECT_FALSE(is_dir(layout().v2_root + "/" + s.parent)) << "v2 not rolled back";
  for (const auto& root : v1_roots(s)) {
    EXPECT_FALSE(is_dir(root + "/" + s.parent)) << root << " not rolled back";
  }
  EXPECT_TRUE(exists(freezer + "/freezer.state"));
  ASSERT_TRUE(base->remove());
  expect_all_gone(spec(), Xid(40116));
}

TEST_F(CgroupTest, WithoutV1ControllersOnlyV2IsUsed) {
  const Xid xid(40118);
  CgroupSpec s = spec();
  s.v1_controllers.clear();
  auto cg = ContextCgroup::create(layout(), s, xid);
  ASSERT_TRUE(cg) << cg.error().message();
  EXPECT_TRUE(cg->v1_paths().empty());
  EXPECT_TRUE(is_dir(cg->v2_path()));
  for (const auto& h : layout().v1) {
    EXPECT_FALSE(exists(h.mount_point + "/" + s.parent + "/" + xid.str())) << h.mount_point;
  }
  Child c = sleeper();
  ASSERT_TRUE(cg->attach(c.pid()));
  auto pids = cg->pids();
  ASSERT_TRUE(pids);
  EXPECT_EQ(*pids, std::vector<pid_t>{c.pid()});
  kill_and_reap(c);
  ASSERT_TRUE(cg->remove());
  expect_all_gone(spec(), xid);
}

TEST_F(CgroupTest, BadArgumentsAreUsageErrorsAndMakeNothing) {
  for (uint16_t reserved : {0, 1}) {
    auto cg = ContextCgroup::create(layout(), spec(), Xid(reserved));
    ASSERT_FALSE(cg) << reserved;
    EXPECT_EQ(cg.error().kind, ErrorKind::kUsage) << reserved;
    EXPECT_FALSE(exists(layout().v2_root + "/" + spec().parent + "/" + std::to_string(reserved)));
  }
  for (const char* parent : {"", "/abs", "../escape", "a/../b", "a//b"}) {
    CgroupSpec s = spec();
    s.parent = parent;
    auto cg = ContextCgroup::create(layout(), s, Xid(40119));
    ASSERT_FALSE(cg) << parent;
    EXPECT_EQ(cg.error().kind, ErrorKind::kUsage) << parent;
    auto op = ContextCgroup::open(layout(), s, Xid(40119));
    ASSERT_FALSE(op) << parent;
    EXPECT_EQ(op.error().kind, ErrorKind::kUsage) << parent;
  }
  EXPECT_FALSE(exists(layout().v2_root + "/escape"));
  expect_all_gone(spec(), Xid(40119));

  auto cg = ContextCgroup::create(layout(), spec(), Xid(40119));
  ASSERT_TRUE(cg) << cg.error().message();
  for (pid_t bad : {0, -1}) {
    auto r = cg->attach(bad);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, ErrorKind::kUsage);
    auto r1 = cg->attach_v1(bad);
    ASSERT_FALSE(r1);
    EXPECT_EQ(r1.error().kind, ErrorKind::kUsage);
  }
  ASSERT_TRUE(cg->remove());
  expect_all_gone(spec(), Xid(40119));
}

TEST_F(CgroupTest, LayoutOfThisMachineHasV2AndTheV1Controllers) {
  // The layout is what the kernel says: each v1 hierarchy in /proc/self/cgroup is found.
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    auto first = line.find(':');
    auto second = line.find(':', first + 1);
    std::string ctrls = line.substr(first + 1, second - first - 1);
    if (ctrls.empty() || ctrls.rfind("name=", 0) == 0) continue;
    std::string one = ctrls.substr(0, ctrls.find(','));
    EXPECT_NE(layout().v1_for(one), nullptr) << one;
  }
  EXPECT_TRUE(exists(layout().v2_root + "/cgroup.procs"));
}

}  // namespace
}  // namespace vs::shim
