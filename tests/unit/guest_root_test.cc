// The pure parts of lib/mount/guest_root: the mask, read-only and device tables, file type
// names, and the host-side pre-flight check_guest_tree on crafted trees (no root, no mounts).
#include "lib/mount/guest_root.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "tests/support/temp_tree.h"

namespace vs {
namespace {

namespace fs = std::filesystem;

TEST(GuestRootTable, MaskedPathsAreUniqueAbsoluteAndUnderProcOrSys) {
  std::set<std::string_view> seen;
  for (const MaskedPath& m : masked_paths()) {
    EXPECT_TRUE(seen.insert(m.path).second) << "duplicate " << m.path;
    EXPECT_TRUE(m.path.rfind("/proc/", 0) == 0 || m.path.rfind("/sys/", 0) == 0) << m.path;
    EXPECT_EQ(m.path.find(".."), std::string_view::npos) << m.path;
    EXPECT_NE(m.path.back(), '/') << m.path;
  }
  // The entries SECURITY.md 1.4 names must all be there.
  for (std::string_view want :
       {"/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
        "/proc/sched_debug", "/proc/interrupts", "/proc/acpi", "/proc/asound", "/proc/scsi",
        "/sys/firmware", "/sys/devices/virtual/powercap"}) {
    EXPECT_TRUE(seen.count(want)) << "missing " << want;
  }
}

TEST(GuestRootTable, ReadOnlyPathsAreUniqueUnderProcAndNotMasked) {
  std::set<std::string_view> masked;
  for (const MaskedPath& m : masked_paths()) masked.insert(m.path);
  std::set<std::string_view> seen;
  for (std::string_view p : read_only_paths()) {
    EXPECT_TRUE(seen.insert(p).second) << "duplicate " << p;
    EXPECT_EQ(p.rfind("/proc/", 0), 0u) << p;
    EXPECT_FALSE(masked.count(p)) << p << " is both masked and read-only";
  }
  for (std::string_view want :
       {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}) {
    EXPECT_TRUE(seen.count(want)) << "missing " << want;
  }
}

TEST(GuestRootTable, DeviceNodesStartWithDevNullAndAreUnique) {
  auto nodes = device_nodes();
  ASSERT_FALSE(nodes.empty());
  EXPECT_EQ(nodes[0].name, "null");
  EXPECT_EQ(nodes[0].major, 1u);
  EXPECT_EQ(nodes[0].minor, 3u);
  std::set<std::string_view> names;
  std::set<std::pair<unsigned, unsigned>> numbers;
  for (const DeviceNode& d : nodes) {
    EXPECT_TRUE(names.insert(d.name).second) << d.name;
    EXPECT_TRUE(numbers.insert({d.major, d.minor}).second) << d.name;
    EXPECT_EQ(d.name.find('/'), std::string_view::npos) << d.name;
  }
  EXPECT_EQ(names,
            (std::set<std::string_view>{"null", "zero", "full", "random", "urandom", "tty"}));
}

TEST(GuestRootTable, FileTypeNames) {
  EXPECT_EQ(file_type_name(S_IFDIR | 0755), "a directory");
  EXPECT_EQ(file_type_name(S_IFLNK | 0777), "a symlink");
  EXPECT_EQ(file_type_name(S_IFREG | 0644), "a regular file");
  EXPECT_EQ(file_type_name(S_IFCHR), "a character device");
  EXPECT_EQ(file_type_name(S_IFBLK), "a block device");
  EXPECT_EQ(file_type_name(S_IFIFO), "a FIFO");
  EXPECT_EQ(file_type_name(S_IFSOCK), "a socket");
}

class GuestRootCheck : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    vdir_ = tmp_.path() + "/guest";
    for (const char* d : {"", "/proc", "/sys", "/dev", "/etc"}) fs::create_directory(vdir_ + d);
    fs::create_directory(tmp_.path() + "/hostdir");
  }

  Result<void> check() {
    int fd = ::open(vdir_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    EXPECT_GE(fd, 0);
    auto r = check_guest_tree(fd, vdir_);
    ::close(fd);
    return r;
  }

  void expect_refused(const std::string& guest_path, const std::string& why) {
    auto r = check();
    ASSERT_FALSE(r) << guest_path;
    EXPECT_EQ(r.error().subject, vdir_ + guest_path);
    EXPECT_EQ(r.error().message(), "check guest tree: open `" + vdir_ + guest_path +
                                       "`: must be a directory (" + why + ")");
  }

  test::ScopedTempDir tmp_;
  std::string vdir_;
};

TEST_F(GuestRootCheck, AcceptsRealDirectories) {
  auto r = check();
  EXPECT_TRUE(r) << r.error().message();
}

TEST_F(GuestRootCheck, RefusesASymlinkedProcEvenIfItPointsAtADirectory) {
  fs::remove(vdir_ + "/proc");
  fs::create_symlink("etc", vdir_ + "/proc");
  expect_refused("/proc", "is a symlink");
}

TEST_F(GuestRootCheck, RefusesDevSymlinkedToAHostDirectory) {
  fs::remove(vdir_ + "/dev");
  fs::create_symlink(tmp_.path() + "/hostdir", vdir_ + "/dev");
  expect_refused("/dev", "is a symlink");
}

TEST_F(GuestRootCheck, RefusesSysAsARegularFile) {
  fs::remove(vdir_ + "/sys");
  std::ofstream(vdir_ + "/sys") << "x";
  expect_refused("/sys", "is a regular file");
}

TEST_F(GuestRootCheck, RefusesAMissingDev) {
  fs::remove(vdir_ + "/dev");
  expect_refused("/dev", "is missing");
}

TEST_F(GuestRootCheck, RefusesSysAsAFifo) {
  fs::remove(vdir_ + "/sys");
  ASSERT_EQ(::mkfifo((vdir_ + "/sys").c_str(), 0600), 0);
  expect_refused("/sys", "is a FIFO");
}

}  // namespace
}  // namespace vs
