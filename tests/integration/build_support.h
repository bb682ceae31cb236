// Helpers of the build tests (build_test.cc, template_test.cc): a per-test directory with a
// root-only vdir base, tarballs written with libarchive, host victims compared by content and
// mtime.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <locale.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "lib/build/build.h"
#include "tests/support/root_env.h"

namespace vs::test {

inline std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

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

struct TarEntry {
  TarEntry(std::string n, int t = AE_IFREG, std::string d = "", std::string l = "",
           std::string h = "", mode_t m = 0644, dev_t r = 0)
      : name(std::move(n)), type(t), data(std::move(d)), link(std::move(l)),
        hardlink(std::move(h)), mode(m), rdev(r) {}
  std::string name;
  int type = AE_IFREG;
  std::string data;     // file content
  std::string link;     // symlink target
  std::string hardlink;
  mode_t mode = 0644;
  dev_t rdev = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;  // name, value
};

/// A gzipped pax tarball (pax headers only where an entry needs one). With `utf8` it is
/// written in the C.UTF-8 locale (this thread only), so that a non-ASCII name is recorded as
/// a UTF-8 pax `path` (as tar does on a UTF-8 system) rather than as binary.
inline void write_tar(const std::string& path, const std::vector<TarEntry>& entries,
                      bool utf8 = false) {
  locale_t loc = nullptr, old = nullptr;
  if (utf8) {
    loc = ::newlocale(LC_ALL_MASK, "C.UTF-8", nullptr);
    ASSERT_NE(loc, nullptr) << "the C.UTF-8 locale";
    old = ::uselocale(loc);
  }
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_add_filter_gzip(a);
  bool opened = archive_write_open_filename(a, path.c_str()) == ARCHIVE_OK;
  EXPECT_TRUE(opened) << archive_error_string(a);
  for (const auto& e : entries) {
    if (!opened) break;
    struct archive_entry* ent = archive_entry_new();
    archive_entry_set_pathname(ent, e.name.c_str());
    archive_entry_set_filetype(ent, static_cast<unsigned>(e.type));
    archive_entry_set_perm(ent, e.mode);
    archive_entry_set_uid(ent, e.uid);
    archive_entry_set_gid(ent, e.gid);
    archive_entry_set_mtime(ent, 1600000000, 0);
    if (!e.link.empty()) archive_entry_set_symlink(ent, e.link.c_str());
    if (!e.hardlink.empty()) archive_entry_set_hardlink(ent, e.hardlink.c_str());
    if (e.rdev) archive_entry_set_rdev(ent, e.rdev);
    for (const auto& [n, v] : e.xattrs) {
      archive_entry_xattr_add_entry(ent, n.c_str(), v.data(), v.size());
    }
    if (e.type == AE_IFREG && e.hardlink.empty()) archive_entry_set_size(ent, e.data.size());
    EXPECT_EQ(archive_write_header(a, ent), ARCHIVE_OK) << e.name << ": "
                                                        << archive_error_string(a);
    if (!e.data.empty()) archive_write_data(a, e.data.data(), e.data.size());
    archive_entry_free(ent);
  }
  archive_write_close(a);
  archive_write_free(a);
  if (utf8) {
    ::uselocale(old);
    ::freelocale(loc);
  }
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
