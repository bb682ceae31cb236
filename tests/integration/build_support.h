// Helpers of the build tests (build_test.cc, template_test.cc): a per-test directory with a
// root-only vdir base, host victims compared by content and mtime, and the tarball writer
// (tests/support/tar_writer.h).
#pragma once

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "lib/build/build.h"
#include "tests/support/files.h"
#include "tests/support/root_env.h"
#include "tests/support/tar_writer.h"

namespace vs::test {

struct Victim {
  std::string path, content;
  struct timespec mtime;
};

inline Victim victim(const std::string& path) {
  std::ofstream(path) << "host victim " << path;
  struct stat st {};
  ::stat(path.c_str(), &st);
  return {path, slurp(path), st.st_mtim};
}

inline void expect_untouched(const Victim& v) {
  struct stat st {};
  ASSERT_EQ(::lstat(v.path.c_str(), &st), 0) << v.path << " was removed";
  EXPECT_TRUE(S_ISREG(st.st_mode)) << v.path;
  EXPECT_EQ(slurp(v.path), v.content) << v.path;
  EXPECT_EQ(st.st_mtim.tv_sec, v.mtime.tv_sec) << v.path;
  EXPECT_EQ(st.st_mtim.tv_nsec, v.mtime.tv_nsec) << v.path;
}

/// Each test in its own directory: DIR/vservers (0700, the vdir base) and DIR/host (victims).
class BuildDirs : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = root_env().tmp + "/build-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::create_directories(dir_ + "/vservers");
    ::chmod((dir_ + "/vservers").c_str(), 0700);
    std::filesystem::create_directories(dir_ + "/host");
  }
  void TearDown() override {
    ::umount2((dir_ + "/vservers/g/mnt").c_str(), MNT_DETACH);
    ::umount2((dir_ + "/vservers").c_str(), MNT_DETACH);  // BusyboxOntoTmpfs, if it failed
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  BuildOptions opts(const std::string& name = "g") {
    BuildOptions o;
    o.vdir = dir_ + "/vservers/" + name;
    o.shim = shim_config();
    return o;
  }
  // Nothing of a failed build is left: no vdir, no staging dir, no scratch root.
  void expect_nothing_left() {
    std::vector<std::string> left;
    for (const auto& e : std::filesystem::directory_iterator(dir_ + "/vservers")) {
      left.push_back(e.path());
    }
    EXPECT_TRUE(left.empty()) << left.front();
  }
  std::string dir_;
};

}  // namespace vs::test
