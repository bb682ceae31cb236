// ContextCgroup against the real kernel (root): directories in every hierarchy, attach,
// pids, populated, stale and busy directories, rollback, remove, xid_of_pid.
// Each test uses its own xid (40101..40199) under this run's cgroup parent and removes
// every cgroup it made; the expected directories are computed from the layout here, not
// taken from the object under test.
#include "kernel-shim/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "lib/base/child.h"
#include "tests/support/root_env.h"

namespace vs::shim {
namespace {

const CgroupLayout& layout() {
  static const CgroupLayout l = [] {
    auto d = CgroupLayout::discover();
    if (!d) {
      ADD_FAILURE() << d.error().message();
      return CgroupLayout{};
    }
    return *d;
  }();
  return l;
}

CgroupSpec spec() { return test::shim_config().cgroup; }

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<pid_t> procs_of(const std::string& dir) {
  std::vector<pid_t> out;
  std::ifstream in(dir + "/cgroup.procs");
  pid_t p;
  while (in >> p) out.push_back(p);
  return out;
}

bool contains(const std::vector<pid_t>& v, pid_t p) {
  return std::find(v.begin(), v.end(), p) != v.end();
}

std::vector<std::string> v1_roots(const CgroupSpec& s) {
  std::vector<std::string> out;
  for (const auto& h : layout().v1) {
    for (const auto& c : h.controllers) {
      if (std::find(s.v1_controllers.begin(), s.v1_controllers.end(), c) !=
          s.v1_controllers.end()) {
        out.push_back(h.mount_point);
        break;
      }
    }
  }
  return out;
}

// Every directory a context with `s` and `xid` must have.
std::vector<std::string> expected_dirs(const CgroupSpec& s, Xid xid) {
  std::vector<std::string> out{layout().v2_root + "/" + s.parent + "/" + xid.str()};
  for (const auto& root : v1_roots(s)) out.push_back(root + "/" + s.parent + "/" + xid.str());
  return out;
}

void expect_all_gone(const CgroupSpec& s, Xid xid) {
  for (const auto& d : expected_dirs(s, xid)) EXPECT_FALSE(exists(d)) << d << " is left";
}

std::string v1_dir(const char* controller, const CgroupSpec& s, Xid xid) {
  const auto* h = layout().v1_for(controller);
  return h ? h->mount_point + "/" + s.parent + "/" + xid.str() : std::string();
}

// A child that waits for signals forever; it tells when it is running.
Child sleeper() {
  int ready[2];
  EXPECT_EQ(::pipe2(ready, O_CLOEXEC), 0);
  auto c = Child::spawn(CloneSpec{}, [&] {
    (void)!::write(ready[1], "r", 1);
    for (;;) ::pause();
    return 0;
  });
  ::close(ready[1]);
  char b;
  EXPECT_EQ(::read(ready[0], &b, 1), 1);
  ::close(ready[0]);
  if (!c) {
    ADD_FAILURE() << c.error().message();
    return Child();
  }
  return std::move(*c);
}

// Kills a child of ours and reaps it (SIGKILL cannot be blocked: the wait is short).
void kill_and_reap(Child& c) {
  ASSERT_TRUE(c.signal(SIGKILL));
  auto st = c.wait();
  ASSERT_TRUE(st) << st.error().message();
}

// Removes `dir` and every directory below it, deepest first (best effort).
void rmdir_tree(const std::filesystem::path& dir) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.is_directory(ec) && !e.is_symlink(ec)) rmdir_tree(e.path());
  }
  ::rmdir(dir.c_str());
}

class CgroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (layout().v2_root.empty()) GTEST_SKIP() << "needs a cgroup2 hierarchy";
  }

  // After a failed assertion a test may leave its contexts (with sub-cgroups the test main
  // does not remove): take away every 401xx directory of this run, in every hierarchy. The
  // children of the test are gone by now (their Child destructors ran).
  void TearDown() override {
    std::vector<std::string> roots{layout().v2_root};
    for (const auto& h : layout().v1) roots.push_back(h.mount_point);
    std::error_code ec;
    for (const auto& r : roots) {
      const std::filesystem::path parent = r + "/" + spec().parent;
      for (const auto& e : std::filesystem::directory_iterator(parent, ec)) {
        const std::string name = e.path().filename();
        if (name.size() == 5 && name.rfind("401", 0) == 0 && e.is_directory(ec)) {
          rmdir_tree(e.path());
        }
      }
    }
  }
};

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
