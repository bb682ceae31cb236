// Pieces of the guest lifecycle that need no root: boot waves, the guest's users read as data,
// fstab parsing.
#include <gtest/gtest.h>
#include <linux/mount.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "lib/guest/boot.h"
#include "lib/guest/passwd.h"
#include "lib/mount/fstab.h"

namespace vs {
namespace {

GuestConfig guest(std::string name, std::string mark, std::vector<std::string> deps = {}) {
  GuestConfig g;
  g.name = std::move(name);
  g.mark = std::move(mark);
  g.depends = std::move(deps);
  return g;
}

TEST(BootWaves, DependenciesFirstAndPulledIn) {
  std::vector<GuestConfig> all = {guest("web", "default", {"db"}), guest("db", "", {"dns"}),
                                  guest("dns", "default"), guest("mail", "default"),
                                  guest("other", "late")};
  auto w = boot_waves(all, "default");
  ASSERT_TRUE(w) << w.error().message();
  ASSERT_EQ(w->size(), 3u);
  EXPECT_EQ((*w)[0], (std::vector<std::string>{"dns", "mail"}));
  EXPECT_EQ((*w)[1], (std::vector<std::string>{"db"}));
  EXPECT_EQ((*w)[2], (std::vector<std::string>{"web"}));
  auto late = boot_waves(all, "late");
  ASSERT_TRUE(late);
  EXPECT_EQ(*late, (std::vector<std::vector<std::string>>{{"other"}}));
  auto none = boot_waves(all, "nothing");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(BootWaves, CyclesAndUnknownGuestsRefused) {
  auto cycle = boot_waves({guest("a", "default", {"b"}), guest("b", "", {"a"})}, "default");
  ASSERT_FALSE(cycle);
  EXPECT_EQ(cycle.error().kind, ErrorKind::kUsage);
  EXPECT_NE(cycle.error().message().find("cycle among a, b"), std::string::npos);
  auto unknown = boot_waves({guest("a", "default", {"ghost"})}, "default");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message().find("a depends on ghost, which is not configured"),
            std::string::npos)
      << unknown.error().message();
}

// Issue 20 item 8: one guest's bad dependency holds back that guest and its dependents only.
TEST(BootOrder, StartLeavesOutADanglingDependencyAndItsDependentsOnly) {
  std::vector<GuestConfig> all = {
      guest("web", "default", {"db"}),   guest("db", "default", {"gone"}),
      guest("mail", "default", {"dns"}), guest("dns", ""),
      guest("x", "default", {"y"}),      guest("y", "", {"x"})};
  BootOrder o = boot_order(all, "default", false, {{"gone", "context 5 clashes"}});
  EXPECT_EQ(o.waves, (std::vector<std::vector<std::string>>{{"dns"}, {"mail"}}));
  ASSERT_EQ(o.left_out.size(), 4u);
  EXPECT_EQ(o.left_out[0].first, "db");
  EXPECT_EQ(o.left_out[0].second, "db depends on gone, which is broken: context 5 clashes");
  EXPECT_EQ(o.left_out[1].first, "web");
  EXPECT_EQ(o.left_out[1].second, "web depends on db, which is not started");
  EXPECT_EQ(o.left_out[2].first, "x");
  EXPECT_EQ(o.left_out[2].second, "a dependency cycle among x, y");
  EXPECT_EQ(o.left_out[3].first, "y");
  EXPECT_TRUE(o.problems.empty());
}

// Issue 20 item 9: stop is best effort: every guest concerned is in a wave, in reverse
// dependency order where it is known; what could not be honoured is said.
TEST(BootOrder, StopKeepsEveryGuestAndSaysWhatItIgnored) {
  std::vector<GuestConfig> all = {guest("web", "m", {"db"}), guest("db", "m", {"gone"}),
                                  guest("x", "m", {"y"}), guest("y", "", {"x"})};
  BootOrder o = boot_order(all, "m", true);
  EXPECT_TRUE(o.left_out.empty());
  EXPECT_EQ(o.waves, (std::vector<std::vector<std::string>>{{"db"}, {"web"}, {"x", "y"}}));
  ASSERT_EQ(o.problems.size(), 2u);
  EXPECT_EQ(o.problems[0], "db depends on gone, which is not configured (ignored to stop)");
  EXPECT_EQ(o.problems[1], "a dependency cycle among x, y (stopped in one wave)");
}

constexpr const char* kPasswd =
    "root:x:0:0:root:/root:/bin/sh\n"
    "# a comment\n"
    "broken line\n"
    "www:x:33:33:www:/var/www:/bin/false\n"
    "alice:x:1000:1000::/home/alice:\n";
constexpr const char* kGroup = "root:x:0:\nwww:x:33:\nstaff:x:50:alice,bob\nadm:x:4:bob,alice\n";

TEST(GuestUser, ByNameAndUidWithGroups) {
  auto a = find_guest_user(kPasswd, kGroup, "alice", "P");
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->uid, 1000u);
  EXPECT_EQ(a->gid, 1000u);
  EXPECT_EQ(a->home, "/home/alice");
  EXPECT_EQ(a->shell, "/bin/sh") << "an empty shell field means /bin/sh";
  EXPECT_EQ(a->groups, (std::vector<gid_t>{50, 4}));
  auto w = find_guest_user(kPasswd, kGroup, "33", "P");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->name, "www");
  EXPECT_EQ(w->shell, "/bin/false");
  // A uid without an entry works as su does: uid = gid = the number.
  auto n = find_guest_user(kPasswd, kGroup, "4242", "P");
  ASSERT_TRUE(n);
  EXPECT_EQ(n->uid, 4242u);
  EXPECT_EQ(n->gid, 4242u);
  auto missing = find_guest_user(kPasswd, kGroup, "mallory", "P");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound);
  // A name that is a prefix of another, or a field of the broken line, is no match.
  EXPECT_FALSE(find_guest_user(kPasswd, kGroup, "broken line", "P"));
  EXPECT_FALSE(find_guest_user(kPasswd, kGroup, "alic", "P"));
}

class FstabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vs-fstab-XXXXXX";
    ASSERT_NE(::mkstemp(tmpl), -1);
    path_ = tmpl;
  }
  void TearDown() override { ::unlink(path_.c_str()); }
  Result<std::vector<FstabEntry>> parse(const std::string& text) {
    std::ofstream(path_, std::ios::trunc) << text;
    return parse_fstab(path_);
  }
  std::string path_;
};

TEST_F(FstabTest, ParsesBindsAndFilesystems) {
  auto e = parse("# guest mounts\n\n"
                 "/srv/my\\040data /srv/data none bind,ro,nosuid 0 0\n"
                 "tmpfs /tmp tmpfs size=16m,mode=1777,noexec\n"
                 "/x /y none rbind\n"
                 "tmpfs /never tmpfs noauto\n");
  ASSERT_TRUE(e) << e.error().message();
  ASSERT_EQ(e->size(), 3u);
  EXPECT_EQ((*e)[0].source, "/srv/my data");
  EXPECT_EQ((*e)[0].target, "/srv/data");
  EXPECT_TRUE((*e)[0].bind);
  EXPECT_FALSE((*e)[0].recursive);
  EXPECT_EQ((*e)[0].attrs, static_cast<uint64_t>(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID));
  EXPECT_EQ((*e)[0].origin, path_ + ":3");
  EXPECT_EQ((*e)[1].fstype, "tmpfs");
  EXPECT_FALSE((*e)[1].bind);
  EXPECT_EQ((*e)[1].attrs, static_cast<uint64_t>(MOUNT_ATTR_NOEXEC));
  ASSERT_EQ((*e)[1].fs_options.size(), 2u);
  EXPECT_EQ((*e)[1].fs_options[0], (std::pair<std::string, std::string>{"size", "16m"}));
  EXPECT_EQ((*e)[1].fs_options[1], (std::pair<std::string, std::string>{"mode", "1777"}));
  EXPECT_TRUE((*e)[2].recursive);
}

TEST_F(FstabTest, BadLinesNameFileAndLine) {
  struct Case {
    const char* text;
    const char* why;
  };
  for (const Case& c : {Case{"tmpfs /tmp\n", "not an fstab line"},
                        Case{"tmpfs tmp tmpfs defaults\n", "absolute path"},
                        Case{"tmpfs /a/../../etc tmpfs defaults\n", "without '..'"},
                        Case{"data /srv none bind\n", "absolute host path"},
                        Case{"/d /srv none bind,size=1m\n", "does not apply to a bind"}}) {
    auto e = parse(std::string("# first\n") + c.text);
    ASSERT_FALSE(e) << c.text;
    EXPECT_EQ(e.error().kind, ErrorKind::kUsage);
    EXPECT_NE(e.error().message().find(path_ + ":2"), std::string::npos) << e.error().message();
    EXPECT_NE(e.error().message().find(c.why), std::string::npos) << e.error().message();
  }
}

}  // namespace
}  // namespace vs
