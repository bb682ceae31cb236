// The scratch root of a confined build step (lib/build/scratch_root.h): its layout, the binds
// it asks enter_guest_root() for (host /usr and lib dirs and the named /etc files read-only,
// the target read-write, last), and its removal. Made in a temp tree; no mount is made here
// (the binds are mounted by the root integration tests of debootstrap and template).
#include "lib/build/scratch_root.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/temp_tree.h"

namespace vs::build {
namespace {

namespace fs = std::filesystem;
using test::ScopedTempDir;

mode_t mode_of(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) < 0) return 0;
  return st.st_mode;
}

const ExtraBind* find_bind(const GuestRootSpec& spec, const std::string& target) {
  for (const auto& b : spec.binds) {
    if (b.target == target) return &b;
  }
  return nullptr;
}

TEST(ScratchRoot, LayoutAndHostBinds) {
  ScopedTempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  const std::string target = tmp.path() + "/staging";
  ASSERT_EQ(::mkdir(target.c_str(), 0700), 0);
  auto s = ScratchRoot::make(tmp.path() + "/g.x-", target);
  ASSERT_TRUE(s) << s.error().message();
  const std::string& p = s->path();
  EXPECT_EQ(p.rfind(tmp.path() + "/g.x-", 0), 0u) << p;
  EXPECT_EQ(s->root().vdir, p);
  EXPECT_EQ(mode_of(p) & 07777, 0700u);
  EXPECT_EQ(mode_of(p + "/proc") & 07777, 0555u);
  EXPECT_EQ(mode_of(p + "/sys") & 07777, 0555u);
  for (const char* d : {"dev", "etc", "usr", "root", "target"}) {
    EXPECT_TRUE(S_ISDIR(mode_of(p + "/" + d))) << d;
    EXPECT_EQ(mode_of(p + "/" + d) & 07777, 0755u) << d;
  }
  EXPECT_EQ(mode_of(p + "/tmp") & 07777, 01777u);
  // No host /etc file unless asked for: the directory is empty.
  EXPECT_TRUE(fs::is_empty(p + "/etc"));

  const auto& binds = s->root().binds;
  ASSERT_GE(binds.size(), 2u);
  EXPECT_EQ(binds.front().source, "/usr");
  EXPECT_EQ(binds.front().target, "/usr");
  EXPECT_TRUE(binds.front().read_only);
  // The target last, read-write: the only writable thing of the host's in the root.
  EXPECT_EQ(binds.back().source, target);
  EXPECT_EQ(binds.back().target, "/target");
  EXPECT_FALSE(binds.back().read_only);
  for (size_t i = 0; i + 1 < binds.size(); ++i) {
    EXPECT_TRUE(binds[i].read_only) << binds[i].target;
  }
  // Each host lib dir: the same symlink (merged /usr), or a read-only bind of it.
  for (const char* d : {"bin", "sbin", "lib", "lib32", "lib64", "libx32"}) {
    std::string host = std::string("/") + d;
    mode_t hm = mode_of(host);
    if (S_ISLNK(hm)) {
      EXPECT_EQ(fs::read_symlink(p + host), fs::read_symlink(host)) << d;
      EXPECT_EQ(find_bind(s->root(), host), nullptr) << d;
    } else if (S_ISDIR(hm)) {
      EXPECT_TRUE(S_ISDIR(mode_of(p + host))) << d;
      const ExtraBind* b = find_bind(s->root(), host);
      ASSERT_NE(b, nullptr) << d;
      EXPECT_EQ(b->source, host);
      EXPECT_TRUE(b->read_only);
    } else {
      EXPECT_EQ(mode_of(p + host), 0u) << d << " made though the host has none";
    }
  }
}

TEST(ScratchRoot, HostEtcFilesAsked) {
  ScopedTempDir tmp;
  const std::string target = tmp.path() + "/staging";
  ASSERT_EQ(::mkdir(target.c_str(), 0700), 0);
  // passwd: a file every host has; no-such: skipped; a directory of the host's /etc.
  const char* names[] = {"passwd", "vs-no-such-file", "ld.so.conf.d"};
  auto s = ScratchRoot::make(tmp.path() + "/g.x-", target, names);
  ASSERT_TRUE(s) << s.error().message();
  const std::string& p = s->path();
  EXPECT_TRUE(S_ISREG(mode_of(p + "/etc/passwd")));
  EXPECT_EQ(fs::file_size(p + "/etc/passwd"), 0u) << "a mount point, not a copy";
  const ExtraBind* b = find_bind(s->root(), "/etc/passwd");
  ASSERT_NE(b, nullptr);
  char real[PATH_MAX];
  ASSERT_NE(::realpath("/etc/passwd", real), nullptr);
  EXPECT_EQ(b->source, real);
  EXPECT_TRUE(b->read_only);
  EXPECT_EQ(mode_of(p + "/etc/vs-no-such-file"), 0u);
  EXPECT_EQ(find_bind(s->root(), "/etc/vs-no-such-file"), nullptr);
  if (S_ISDIR(mode_of("/etc/ld.so.conf.d"))) {
    EXPECT_TRUE(S_ISDIR(mode_of(p + "/etc/ld.so.conf.d")));
    EXPECT_NE(find_bind(s->root(), "/etc/ld.so.conf.d"), nullptr);
  }
  EXPECT_EQ(s->root().binds.back().target, "/target");
}

TEST(ScratchRoot, RemovedWithItsContentAndMovable) {
  ScopedTempDir tmp;
  const std::string target = tmp.path() + "/staging";
  ASSERT_EQ(::mkdir(target.c_str(), 0700), 0);
  ASSERT_EQ(::mkdir((target + "/keep").c_str(), 0700), 0);
  std::string path;
  {
    auto s = ScratchRoot::make(tmp.path() + "/g.x-", target);
    ASSERT_TRUE(s) << s.error().message();
    ScratchRoot moved = std::move(*s);
    path = moved.path();
    EXPECT_TRUE(s->path().empty());
    // What a step leaves there (debootstrap's first stage writes in /tmp).
    ASSERT_EQ(::mkdir((path + "/tmp/left").c_str(), 0700), 0);
    fs::create_symlink(target, path + "/tmp/left/link");
  }
  EXPECT_FALSE(fs::exists(fs::symlink_status(path))) << path << " left behind";
  EXPECT_TRUE(fs::is_directory(target + "/keep")) << "a link in the scratch root was followed";
}

TEST(ScratchRoot, MissingParentNamed) {
  ScopedTempDir tmp;
  auto s = ScratchRoot::make(tmp.path() + "/no-such-dir/g.x-", tmp.path());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().op, "mkdtemp");
  EXPECT_EQ(s.error().subject, tmp.path() + "/no-such-dir/g.x-XXXXXX");
  EXPECT_EQ(s.error().code, ENOENT);
}

}  // namespace
}  // namespace vs::build
