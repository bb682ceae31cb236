// lib/build/entry_check: archive entry names (E41), busybox applet lists, hostnames.
#include "lib/build/entry_check.h"

#include <gtest/gtest.h>

namespace vs::build {
namespace {

using Kind = EntryChecker::Kind;

TEST(EntryCheck, NormalizesRelativeNames) {
  EXPECT_EQ(*normalize_entry("./a//b/"), "a/b");
  EXPECT_EQ(*normalize_entry("./"), "");
  EXPECT_EQ(*normalize_entry("etc/..x"), "etc/..x");
}

TEST(EntryCheck, RefusesAbsoluteAndDotDot) {
  auto abs = normalize_entry("/etc/passwd");
  ASSERT_FALSE(abs);
  EXPECT_EQ(abs.error().subject, "/etc/passwd");
  EXPECT_EQ(abs.error().code, EPERM);
  EXPECT_FALSE(normalize_entry("../x"));
  EXPECT_FALSE(normalize_entry("a/../../x"));
  EXPECT_FALSE(normalize_entry("a/.."));
}

TEST(EntryCheck, RefusesPathThroughArchiveSymlink) {
  EntryChecker c;
  ASSERT_TRUE(c.check("a", Kind::kSymlink));
  auto r = c.check("./a/passwd", Kind::kFile);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().subject, "./a/passwd");
  auto h = c.check("x", Kind::kHardlink, "a/passwd");
  ASSERT_FALSE(h);
  EXPECT_EQ(h.error().subject, "x");
  // Replaced by a directory, `a` is no longer a symlink.
  ASSERT_TRUE(c.check("a/", Kind::kDir));
  EXPECT_TRUE(c.check("a/passwd", Kind::kFile));
}

TEST(EntryCheck, RefusesEscapingHardlinks) {
  EntryChecker c;
  EXPECT_FALSE(c.check("p", Kind::kHardlink, "/etc/passwd"));
  EXPECT_FALSE(c.check("p", Kind::kHardlink, "../etc/passwd"));
  EXPECT_FALSE(c.check("p", Kind::kHardlink, "."));
  EXPECT_TRUE(c.check("p", Kind::kHardlink, "etc/passwd"));
}

TEST(AppletList, ParsesOneNamePerLine) {
  auto r = parse_applet_list("[\n[[\nsh\nls\n\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (std::vector<std::string>{"[", "[[", "sh", "ls"}));
  EXPECT_FALSE(parse_applet_list(""));
  EXPECT_FALSE(parse_applet_list("sh\n../evil\n"));
  EXPECT_FALSE(parse_applet_list("sh\n..\n"));
  EXPECT_FALSE(parse_applet_list("a b\n"));
  EXPECT_TRUE(is_sbin_applet("init"));
  EXPECT_FALSE(is_sbin_applet("sh"));
}

TEST(Hostname, DnsLabelsOnly) {
  EXPECT_TRUE(valid_hostname("web1"));
  EXPECT_TRUE(valid_hostname("a-b.example.org"));
  EXPECT_FALSE(valid_hostname(""));
  EXPECT_FALSE(valid_hostname("a\nb"));
  EXPECT_FALSE(valid_hostname("-a"));
  EXPECT_FALSE(valid_hostname("a..b"));
  EXPECT_FALSE(valid_hostname(std::string(64, 'a')));
}

}  // namespace
}  // namespace vs::build
