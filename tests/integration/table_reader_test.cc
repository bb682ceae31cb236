// What monitoring reads through the shim (vps): TableReader (kernel-shim/table_reader.h),
// scan_context_pids with PidScan::kOwn and kTree, and CgroupLayout::discover_v2, as root
// against a real context. Xids 41441..41449.
#include "kernel-shim/table_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "kernel-shim/cgroup.h"
#include "lib/base/child.h"
#include "lib/base/fs_at.h"
#include "tests/support/root_env.h"
#include "tests/support/sleeper_context.h"

namespace vs::test {
namespace {

using shim::ContextTable;
using shim::PidScan;
using shim::Xid;

const shim::ContextPids* find(const std::vector<shim::ContextPids>& all, Xid xid) {
  for (const auto& c : all) {
    if (c.xid == xid) return &c;
  }
  return nullptr;
}

bool has(const std::vector<pid_t>& pids, pid_t pid) {
  return std::find(pids.begin(), pids.end(), pid) != pids.end();
}

TEST(TableReader, StatesAndXidsOfProcesses) {
  ContextTable table(shim_config());
  ASSERT_TRUE(table.prepare());
  SleeperContext ctx(table, Xid(41441), shim::default_namespaces(), "reader-guest");
  ASSERT_TRUE(ctx.running());
  shim::TableReader reader(shim_config());
  auto st = reader.state(Xid(41441));
  ASSERT_TRUE(st) << st.error().message();
  EXPECT_EQ(st->xid, Xid(41441));
  EXPECT_EQ(st->name, "reader-guest");
  EXPECT_EQ(st->init_pid, ctx.first());
  auto none = reader.state(Xid(41449));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().kind, ErrorKind::kNotFound) << none.error().message();

  auto in = reader.xid_of(ctx.first());
  ASSERT_TRUE(in) << in.error().message();
  EXPECT_EQ(*in, Xid(41441));
  auto host = reader.xid_of(::getpid());
  ASSERT_TRUE(host) << host.error().message();
  EXPECT_EQ(*host, Xid(Xid::kHost));
  auto gone = reader.xid_of(4000000);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().kind, ErrorKind::kNotFound) << gone.error().message();
  // The same answers as the one-at-a-time reads.
  auto direct = table.read_state(Xid(41441));
  ASSERT_TRUE(direct) << direct.error().message();
  EXPECT_EQ(direct->serialize(), st->serialize());
}

TEST(TableReader, OwnScanLeavesSubCgroupsToTheTreeScan) {
  ContextTable table(shim_config());
  ASSERT_TRUE(table.prepare());
  SleeperContext ctx(table, Xid(41442));
  ASSERT_TRUE(ctx.running());
  auto cg = shim::ContextCgroup::open(table.layout(), table.config().cgroup, Xid(41442));
  ASSERT_TRUE(cg) << cg.error().message();
  const std::string sub = cg->v2_path() + "/sub";
  ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0) << sub;
  auto child = Child::spawn({}, []() -> int {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (;;) ::pause();
  });
  ASSERT_TRUE(child) << child.error().message();
  ASSERT_TRUE(write_file(sub + "/cgroup.procs", std::to_string(child->pid())));

  const std::string& parent = table.config().cgroup.parent;
  auto own = shim::scan_context_pids(table.layout(), parent, PidScan::kOwn);
  ASSERT_TRUE(own) << own.error().message();
  auto tree = shim::scan_context_pids(table.layout(), parent, PidScan::kTree);
  ASSERT_TRUE(tree) << tree.error().message();
  const auto* o = find(*own, Xid(41442));
  const auto* t = find(*tree, Xid(41442));
  ASSERT_NE(o, nullptr);
  ASSERT_NE(t, nullptr);
  EXPECT_TRUE(has(o->pids, ctx.first()));
  EXPECT_TRUE(has(t->pids, ctx.first()));
  EXPECT_FALSE(has(o->pids, child->pid())) << "kOwn read below the context's directory";
  EXPECT_TRUE(has(t->pids, child->pid())) << "kTree missed the sub-cgroup";
  EXPECT_TRUE(std::is_sorted(o->pids.begin(), o->pids.end()));
  // Whoever the own scan misses, xid_of finds.
  shim::TableReader reader(shim_config());
  auto x = reader.xid_of(child->pid());
  ASSERT_TRUE(x) << x.error().message();
  EXPECT_EQ(*x, Xid(41442));

  (void)child->signal(SIGKILL);
  (void)child->wait();
  ::rmdir(sub.c_str());
}

TEST(TableReader, DiscoverV2FindsTheSameHierarchy) {
  auto all = shim::CgroupLayout::discover();
  ASSERT_TRUE(all) << all.error().message();
  auto v2 = shim::CgroupLayout::discover_v2();
  if (all->v2_root.empty()) {
    ASSERT_FALSE(v2);
    EXPECT_EQ(v2.error().code, ENOENT);
    return;
  }
  ASSERT_TRUE(v2) << v2.error().message();
  struct stat a {};
  struct stat b {};
  ASSERT_EQ(::stat(all->v2_root.c_str(), &a), 0);
  ASSERT_EQ(::stat(v2->v2_root.c_str(), &b), 0);
  EXPECT_EQ(a.st_dev, b.st_dev) << all->v2_root << " vs " << v2->v2_root;
  EXPECT_TRUE(v2->v1.empty());
}

}  // namespace
}  // namespace vs::test
