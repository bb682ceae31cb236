// The context table on the real kernel: run dir mount, locks, reaping, lookups.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "kernel-shim/context_table.h"
#include "tests/support/root_env.h"

namespace vs::test {
namespace {

using vs::shim::ContextTable;
using vs::shim::Xid;

int count_mounts_at(const std::string& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, dev, root, mp;
    f >> id >> parent >> dev >> root >> mp;
    if (mp == path) ++n;
  }
  return n;
}

TEST(ContextTable, PrepareMountsAPrivateTmpfsOnceWithMode0700) {
  ContextTable table(shim_config());
  ASSERT_TRUE(table.prepare());
  ASSERT_TRUE(table.prepare());
  EXPECT_EQ(count_mounts_at(root_env().rundir), 1);
  struct stat st {};
  ASSERT_EQ(::stat(root_env().rundir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  bool found = false;
  while (std::getline(in, line)) {
    if (line.find(" " + root_env().rundir + " ") == std::string::npos) continue;
    found = true;
    EXPECT_EQ(line.find("shared:"), std::string::npos) << line;
    EXPECT_NE(line.find(" tmpfs "), std::string::npos) << line;
  }
  EXPECT_TRUE(found);
}

TEST(ContextTable, LookupOfMissingContextIsNotFound) {
  ContextTable table(shim_config());
  ASSERT_TRUE(table.prepare());
  auto st = table.lookup(Xid(43001));
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().kind, ErrorKind::kNotFound);
  EXPECT_NE(st.error().message().find("43001"), std::string::npos);
}

TEST(ContextTable, ReapSkipsAnEntryWhoseLockIsHeld) {
  ContextTable table(shim_config());
  ASSERT_TRUE(table.prepare());
  Xid x(43002);
  ASSERT_EQ(::mkdir(table.entry_dir(x).c_str(), 0700), 0);
  {
    auto lk = table.lock(x, true);
    ASSERT_TRUE(lk);
    // Another process (the lock is per open file, so use a child) must not reap it.
    pid_t pid = ::fork();
    if (pid == 0) {
      auto r = table.reap(x);
      ::_exit(r && !*r ? 0 : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_TRUE(std::filesystem::exists(table.entry_dir(x)));
  }
  auto r = table.reap(x);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(*r);
  EXPECT_FALSE(std::filesystem::exists(table.entry_dir(x)));
  EXPECT_FALSE(std::filesystem::exists(table.lock_path(x)));
}

TEST(ContextTable, ListIgnoresForeignNamesAndReapsDeadEntries) {
  ContextTable table(shim_config());
  ASSERT_TRUE(table.prepare());
  for (const char* junk : {"notanxid", "0", "1", "042", "70000"}) {
    ASSERT_EQ(::mkdir((root_env().rundir + "/" + junk).c_str(), 0700), 0) << junk;
  }
  ASSERT_EQ(::mkdir(table.entry_dir(Xid(43003)).c_str(), 0700), 0);
  auto xids = table.list();
  ASSERT_TRUE(xids) << xids.error().message();
  for (Xid x : *xids) EXPECT_NE(x, Xid(43003));
  EXPECT_FALSE(std::filesystem::exists(table.entry_dir(Xid(43003))));
  for (const char* junk : {"notanxid", "0", "1", "042", "70000"}) {
    EXPECT_TRUE(std::filesystem::exists(root_env().rundir + "/" + junk)) << junk;
    ::rmdir((root_env().rundir + "/" + junk).c_str());
  }
}

TEST(ContextTable, XidOfTheTestProcessIsTheHost) {
  ContextTable table(shim_config());
  ASSERT_TRUE(table.prepare());
  auto x = table.xid_of(::getpid());
  ASSERT_TRUE(x) << x.error().message();
  EXPECT_EQ(*x, Xid(Xid::kHost));
  auto none = table.xid_of(4194304 + 1);
  EXPECT_FALSE(none);
}

}  // namespace
}  // namespace vs::test
