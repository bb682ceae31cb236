// ContextCgroup against the real kernel (root): processes attached (in v2, v1 or both, born
// in the cgroup, joining by themselves, in sub-cgroups), pids, populated, xid_of_pid. Each
// test uses its own xid (40101..40199, shared with cgroup_test.cc) under this run's cgroup
// parent and removes every cgroup it made.
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "kernel-shim/cgroup.h"
#include "lib/base/child.h"
#include "tests/integration/cgroup_fixture.h"

namespace vs::shim {
namespace {

TEST_F(CgroupTest, AttachPidsPopulatedAndXidOfPid) {
  const Xid xid(40103);
  auto cg = ContextCgroup::create(layout(), spec(), xid);
  ASSERT_TRUE(cg) << cg.error().message();
  auto empty = cg->populated();
  ASSERT_TRUE(empty) << empty.error().message();
  EXPECT_FALSE(*empty);
  auto none = cg->pids();
  ASSERT_TRUE(none) << none.error().message();
  EXPECT_TRUE(none->empty());

  Child c = sleeper();
  auto before = xid_of_pid(c.pid(), spec().parent);
  ASSERT_TRUE(before) << before.error().message();
  EXPECT_EQ(*before, Xid(0));

  auto r = cg->attach(c.pid());
  ASSERT_TRUE(r) << r.error().message();
  auto pids = cg->pids();
  ASSERT_TRUE(pids) << pids.error().message();
  EXPECT_EQ(*pids, std::vector<pid_t>{c.pid()});
  auto populated = cg->populated();
  ASSERT_TRUE(populated) << populated.error().message();
  EXPECT_TRUE(*populated);
  for (const auto& d : cg->v1_paths()) EXPECT_TRUE(contains(procs_of(d), c.pid())) << d;

  auto x = xid_of_pid(c.pid(), spec().parent);
  ASSERT_TRUE(x) << x.error().message();
  EXPECT_EQ(*x, xid);
  auto self = xid_of_pid(::getpid(), spec().parent);
  ASSERT_TRUE(self) << self.error().message();
  EXPECT_EQ(*self, Xid(0));

  const pid_t pid = c.pid();
  kill_and_reap(c);
  auto after = cg->populated();
  ASSERT_TRUE(after) << after.error().message();
  EXPECT_FALSE(*after);
  auto gone = xid_of_pid(pid, spec().parent);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(gone.error().code, ESRCH);

  ASSERT_TRUE(cg->remove());
  expect_all_gone(spec(), xid);
}

TEST_F(CgroupTest, ChildIsBornInTheV2DirectoryThroughV2Fd) {
  const Xid xid(40104);
  auto cg = ContextCgroup::create(layout(), spec(), xid);
  ASSERT_TRUE(cg) << cg.error().message();
  CloneSpec cs;
  cs.cgroup_fd = cg->v2_fd();
  auto c = Child::spawn(cs, [] {
    for (;;) ::pause();
    return 0;
  });
  ASSERT_TRUE(c) << c.error().message();
  auto pids = cg->pids();
  ASSERT_TRUE(pids) << pids.error().message();
  EXPECT_EQ(*pids, std::vector<pid_t>{c->pid()});
  // v1 knows nothing of it until attach_v1.
  for (const auto& d : cg->v1_paths()) EXPECT_FALSE(contains(procs_of(d), c->pid())) << d;
  auto r = cg->attach_v1(c->pid());
  ASSERT_TRUE(r) << r.error().message();
  for (const auto& d : cg->v1_paths()) EXPECT_TRUE(contains(procs_of(d), c->pid())) << d;
  kill_and_reap(*c);
  ASSERT_TRUE(cg->remove());
  expect_all_gone(spec(), xid);
}

TEST_F(CgroupTest, AttachV1LeavesTheV2CgroupAlone) {
  const Xid xid(40105);
  auto cg = ContextCgroup::create(layout(), spec(), xid);
  ASSERT_TRUE(cg) << cg.error().message();
  if (cg->v1_paths().empty()) GTEST_SKIP() << "needs a v1 hierarchy with a wanted controller";
  Child c = sleeper();
  auto r = cg->attach_v1(c.pid());
  ASSERT_TRUE(r) << r.error().message();
  for (const auto& d : cg->v1_paths()) EXPECT_TRUE(contains(procs_of(d), c.pid())) << d;
  auto pids = cg->pids();
  ASSERT_TRUE(pids) << pids.error().message();
  EXPECT_TRUE(pids->empty());
  auto populated = cg->populated();
  ASSERT_TRUE(populated);
  EXPECT_FALSE(*populated);
  // The v2 cgroup decides a process's context.
  auto x = xid_of_pid(c.pid(), spec().parent);
  ASSERT_TRUE(x) << x.error().message();
  EXPECT_EQ(*x, Xid(0));
  kill_and_reap(c);
  ASSERT_TRUE(cg->remove());
  expect_all_gone(spec(), xid);
}

TEST_F(CgroupTest, OpenProcsFilesLetAProcessJoinByItself) {
  const Xid xid(40106);
  auto cg = ContextCgroup::create(layout(), spec(), xid);
  ASSERT_TRUE(cg) << cg.error().message();
  auto fds = cg->open_procs_files();
  ASSERT_TRUE(fds) << fds.error().message();
  ASSERT_EQ(fds->size(), 1 + cg->v1_paths().size());
  for (const auto& fd : *fds) {
    EXPECT_EQ(::fcntl(fd.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    EXPECT_EQ(::fcntl(fd.get(), F_GETFL) & O_ACCMODE, O_WRONLY);
  }
  int ready[2];
  ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
  auto c = Child::spawn(CloneSpec{}, [&] {
    std::string me = std::to_string(::getpid());
    char status = 'j';
    for (const auto& fd : *fds) {
      if (::write(fd.get(), me.data(), me.size()) != static_cast<ssize_t>(me.size())) status = 'e';
    }
    (void)!::write(ready[1], &status, 1);
    for (;;) ::pause();
    return 0;
  });
  ::close(ready[1]);
  ASSERT_TRUE(c) << c.error().message();
  char status = 0;
  EXPECT_EQ(::read(ready[0], &status, 1), 1);
  ::close(ready[0]);
  EXPECT_EQ(status, 'j') << "the child could not write its pid to every cgroup.procs";
  auto pids = cg->pids();
  ASSERT_TRUE(pids) << pids.error().message();
  EXPECT_EQ(*pids, std::vector<pid_t>{c->pid()});
  for (const auto& d : cg->v1_paths()) EXPECT_TRUE(contains(procs_of(d), c->pid())) << d;
  kill_and_reap(*c);
  ASSERT_TRUE(cg->remove());
  expect_all_gone(spec(), xid);
}

TEST_F(CgroupTest, PidsListsProcessesInSubCgroupsToo) {
  const Xid xid(40113);
  auto cg = ContextCgroup::create(layout(), spec(), xid);
  ASSERT_TRUE(cg) << cg.error().message();
  const std::string sub = cg->v2_path() + "/inner";
  ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0);
  Child top = sleeper();
  Child inner = sleeper();
  ASSERT_TRUE(cg->attach(top.pid()));
  std::ofstream(sub + "/cgroup.procs") << inner.pid();
  ASSERT_TRUE(contains(procs_of(sub), inner.pid()));
  auto pids = cg->pids();
  ASSERT_TRUE(pids) << pids.error().message();
  auto want = std::vector<pid_t>{top.pid(), inner.pid()};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*pids, want);
  auto x = xid_of_pid(inner.pid(), spec().parent);
  ASSERT_TRUE(x);
  EXPECT_EQ(*x, xid);
  kill_and_reap(top);
  kill_and_reap(inner);
  ASSERT_TRUE(cg->remove());  // removes `inner` first
  expect_all_gone(spec(), xid);
}

TEST_F(CgroupTest, AttachOfAGoneProcessIsESRCH) {
  const Xid xid(40120);
  auto cg = ContextCgroup::create(layout(), spec(), xid);
  ASSERT_TRUE(cg) << cg.error().message();
  Child c = sleeper();
  pid_t pid = c.pid();
  kill_and_reap(c);
  auto r = cg->attach(pid);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ESRCH);
  EXPECT_EQ(r.error().subject, cg->v2_path() + "/cgroup.procs");
  ASSERT_TRUE(cg->remove());
  expect_all_gone(spec(), xid);
}

}  // namespace
}  // namespace vs::shim
