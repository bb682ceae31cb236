// What the Cgroup* tests (cgroup_test.cc, cgroup_attach_test.cc) share: the directories a
// context must have, computed from the layout here (not taken from the object under test),
// the processes in one, and the fixture that removes what a failed test left.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "kernel-shim/cgroup.h"
#include "lib/base/child.h"
#include "tests/support/cgroup_env.h"
#include "tests/support/children.h"
#include "tests/support/files.h"

namespace vs::test {

inline bool is_dir(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

inline std::vector<pid_t> procs_of(const std::string& dir) {
  std::vector<pid_t> out;
  std::ifstream in(dir + "/cgroup.procs");
  pid_t p;
  while (in >> p) out.push_back(p);
  return out;
}

inline bool contains(const std::vector<pid_t>& v, pid_t p) {
  return std::find(v.begin(), v.end(), p) != v.end();
}

inline std::vector<std::string> v1_roots(const shim::CgroupSpec& s) {
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
inline std::vector<std::string> expected_dirs(const shim::CgroupSpec& s, shim::Xid xid) {
  std::vector<std::string> out{layout().v2_root + "/" + s.parent + "/" + xid.str()};
  for (const auto& root : v1_roots(s)) out.push_back(root + "/" + s.parent + "/" + xid.str());
  return out;
}

inline void expect_all_gone(const shim::CgroupSpec& s, shim::Xid xid) {
  for (const auto& d : expected_dirs(s, xid)) EXPECT_FALSE(exists(d)) << d << " is left";
}

// Kills a child of ours and reaps it (SIGKILL cannot be blocked: the wait is short).
inline void kill_and_reap(Child& c) {
  ASSERT_TRUE(c.signal(SIGKILL));
  auto st = c.wait();
  ASSERT_TRUE(st) << st.error().message();
}

// Removes `dir` and every directory below it, deepest first (best effort).
inline void rmdir_tree(const std::filesystem::path& dir) {
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
    std::error_code ec;
    for (const auto& r : hierarchy_roots()) {
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

}  // namespace vs::test

// The Cgroup* tests are in vs::shim and use these names unqualified.
namespace vs::shim {
using test::CgroupTest;
using test::contains;
using test::exists;
using test::expect_all_gone;
using test::expected_dirs;
using test::is_dir;
using test::kill_and_reap;
using test::procs_of;
using test::sleeper;
using test::slurp;
using test::v1_roots;
}  // namespace vs::shim
