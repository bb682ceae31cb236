// enter_guest_root on hostile guest trees (E13), as root: /dev, /proc and /sys replaced by
// symlinks to host directories, files or nothing, and hostile entries in /dev. Each must be
// refused by name, or be harmless, with nothing mounted outside the vdir and the host's files
// unchanged.
#include <errno.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>

#include "lib/mount/guest_root.h"
#include "tests/integration/guest_root_fixture.h"
#include "tests/support/run_in_child.h"

namespace vs::test {
namespace {

namespace fs = std::filesystem;

TEST_F(GuestRoot, DevSymlinkedToAHostDirIsRefused) {
  fs::create_directory(base_ + "/hostdev");
  put(base_ + "/hostdev/file", "host");
  replace_with_symlink("/dev", base_ + "/hostdev");
  const std::string why = "must be a directory (is a symlink)";
  int root = ::open(vdir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(root, 0);
  auto pre = check_guest_tree(root, vdir_);
  ::close(root);
  ASSERT_FALSE(pre);
  EXPECT_EQ(pre.error().subject, vdir_ + "/dev");
  EXPECT_NE(pre.error().message().find(why), std::string::npos) << pre.error().message();
  run_in_child([&] { return in_guest(spec_, {}, refusal(vdir_ + "/dev", why)); });
  EXPECT_EQ(list_dir(base_ + "/hostdev"), std::set<std::string>{"file"});
  EXPECT_EQ(slurp(base_ + "/hostdev/file"), "host");
}

TEST_F(GuestRoot, ProcSymlinkIsRefused) {
  fs::create_directory(base_ + "/hostproc");
  replace_with_symlink("/proc", base_ + "/hostproc");
  run_in_child([&] {
    return in_guest(spec_, {}, refusal(vdir_ + "/proc", "must be a directory (is a symlink)"));
  });
  EXPECT_TRUE(list_dir(base_ + "/hostproc").empty());
}

TEST_F(GuestRoot, SysAsARegularFileIsRefused) {
  fs::remove(vdir_ + "/sys");
  put(vdir_ + "/sys", "");
  run_in_child([&] {
    return in_guest(spec_, {}, refusal(vdir_ + "/sys", "must be a directory (is a regular file)"));
  });
}

TEST_F(GuestRoot, MissingDevIsRefused) {
  fs::remove(vdir_ + "/dev");
  run_in_child([&] {
    return in_guest(spec_, {}, refusal(vdir_ + "/dev", "must be a directory (is missing)"));
  });
}

TEST_F(GuestRoot, HostileDevEntriesAreCoveredByTheFreshDev) {
  fs::create_symlink(victim_, vdir_ + "/dev/null");
  fs::create_symlink(victim2_, vdir_ + "/dev/console");
  put(vdir_ + "/dev/ptmx", "not a device");
  run_in_child([&] {
    return in_guest(spec_, [&] {
      Checks c;
      struct stat st {};
      c.expect(
          ::lstat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == ::makedev(1, 3),
          "/dev/null is not 1:3");
      std::ofstream("/dev/null") << "evil";
      c.expect_errno(rc_of(::lstat("/dev/console", &st)), ENOENT, "/dev/console without a pty");
      c.expect(::lstat("/dev/ptmx", &st) == 0 && S_ISLNK(st.st_mode), "/dev/ptmx not a link");
      return c.result();
    });
  });
  // The guest's own entries are untouched below the tmpfs, and still what the guest made.
  EXPECT_TRUE(fs::is_symlink(vdir_ + "/dev/null"));
  EXPECT_EQ(slurp(vdir_ + "/dev/ptmx"), "not a device");
}

}  // namespace
}  // namespace vs::test
