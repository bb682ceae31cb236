// lib/mount/mount_fd on the real kernel (root): detached mounts get their attributes before
// they are attached onto an O_PATH target; errors name the call and the subject. Every test
// mounts in a child with its own mount namespace, so nothing outlives it.
#include "lib/mount/mount_fd.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/magic.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/support/root_env.h"
#include "tests/support/run_in_child.h"

namespace vs {
namespace {

namespace fs = std::filesystem;

class MountFd : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = test::root_env().tmp + "/mount-fd-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::create_directories(dir_ + "/target");
    std::ofstream(dir_ + "/src") << "source";
    std::ofstream(dir_ + "/file-target") << "covered";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static std::string in_mount_ns(const std::function<std::string()>& body) {
    if (::unshare(CLONE_NEWNS) < 0) return std::string("unshare: ") + strerror(errno);
    return body();
  }

  UniqueFd open_o_path(const std::string& p) {
    return UniqueFd(::open(p.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  }

  std::string dir_;
};

TEST_F(MountFd, NewFsMountAttachesWithItsAttributes) {
  test::run_in_child([&]() -> std::string {
    return in_mount_ns([&]() -> std::string {
      UniqueFd target = open_o_path(dir_ + "/target");
      auto mnt = new_fs_mount("tmpfs", {{"mode", "0700"}, {"size", "1m"}},
                              MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC, dir_ + "/target");
      if (!mnt) return mnt.error().message();
      if (auto r = attach_mount(mnt->get(), target.get(), dir_ + "/target"); !r) {
        return r.error().message();
      }
      UniqueFd now = open_o_path(dir_ + "/target");
      auto magic = fs_magic(now.get(), "target");
      auto flags = mount_flags(now.get(), "target");
      if (!magic || *magic != TMPFS_MAGIC) return "not tmpfs";
      if (!flags || (*flags & (ST_RDONLY | ST_NOEXEC)) != (ST_RDONLY | ST_NOEXEC)) {
        return "attributes missing";
      }
      return "";
    });
  });
}

TEST_F(MountFd, CloneOfAFileBindsItReadOnly) {
  test::run_in_child([&]() -> std::string {
    return in_mount_ns([&]() -> std::string {
      UniqueFd src = open_o_path(dir_ + "/src");
      UniqueFd target = open_o_path(dir_ + "/file-target");
      auto mnt = clone_mount(src.get(), false, "file-target");
      if (!mnt) return mnt.error().message();
      if (auto r = set_mount_attrs(mnt->get(), MOUNT_ATTR_RDONLY, 0, false, "x"); !r) {
        return r.error().message();
      }
      if (auto r = attach_mount(mnt->get(), target.get(), "file-target"); !r) {
        return r.error().message();
      }
      std::ifstream in(dir_ + "/file-target");
      std::string got;
      in >> got;
      if (got != "source") return "read `" + got + "` through the bind";
      int fd = ::open((dir_ + "/file-target").c_str(), O_WRONLY | O_CLOEXEC);
      if (fd >= 0 || errno != EROFS) return "bind is writable";
      return "";
    });
  });
}

TEST_F(MountFd, ErrorsNameTheCallAndTheSubject) {
  auto bad = new_fs_mount("no-such-fs", {}, 0, "/some/where");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().op, "fsopen no-such-fs");
  EXPECT_EQ(bad.error().subject, "/some/where");
  EXPECT_EQ(bad.error().code, ENODEV);
  auto opt = new_fs_mount("tmpfs", {{"no-such-option", "1"}}, 0, "/t");
  ASSERT_FALSE(opt);
  EXPECT_EQ(opt.error().op, "fsconfig no-such-option");
  EXPECT_EQ(opt.error().code, EINVAL);
}

}  // namespace
}  // namespace vs
