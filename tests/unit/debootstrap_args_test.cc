// lib/build/debootstrap: the method args of `build -m debootstrap -- ARGS` and the first
// stage's command line. (The build itself: tests/integration-debootstrap.)
#include <gtest/gtest.h>

#include "lib/build/debootstrap.h"

namespace vs::build {
namespace {

using Args = std::vector<std::string>;

TEST(DebootstrapArgs, SuiteAloneTakesTheDefaults) {
  auto a = parse_debootstrap_args({"-d", "bookworm"});
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->suite, "bookworm");
  EXPECT_EQ(a->mirror, "http://deb.debian.org/debian");
  EXPECT_EQ(a->variant, "minbase");
  EXPECT_TRUE(a->include.empty());
}

TEST(DebootstrapArgs, EveryOptionInBothForms) {
  auto a = parse_debootstrap_args({"--mirror", "http://ftp.de.debian.org/debian/", "-d", "stable",
                                   "--variant=buildd", "--include=less,vim-tiny"});
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(a->suite, "stable");
  EXPECT_EQ(a->mirror, "http://ftp.de.debian.org/debian/");
  EXPECT_EQ(a->variant, "buildd");
  EXPECT_EQ(a->include, (Args{"less", "vim-tiny"}));
  auto b = parse_debootstrap_args(
      {"-d", "trixie", "--mirror=file:///srv/mirror", "--variant", "-", "--include", "g++"});
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_EQ(b->mirror, "file:///srv/mirror");
  EXPECT_EQ(b->variant, "-");
  EXPECT_EQ(b->include, (Args{"g++"}));
}

// Each bad argument list is a usage error whose subject is the offending argument.
void expect_refused(const Args& args, const std::string& subject) {
  auto a = parse_debootstrap_args(args);
  ASSERT_FALSE(a) << "accepted: " << ::testing::PrintToString(args);
  EXPECT_EQ(a.error().kind, ErrorKind::kUsage);
  EXPECT_EQ(a.error().subject, subject) << a.error().message();
  EXPECT_NE(a.error().message().find("usage: -d SUITE"), std::string::npos) << a.error().message();
}

TEST(DebootstrapArgs, RefusesUnknownAndMissing) {
  expect_refused({}, "-d");
  expect_refused({"--mirror", "http://x/debian"}, "-d");
  expect_refused({"-d", "bookworm", "--arch", "i386"}, "--arch");
  expect_refused({"-d", "bookworm", "bookworm"}, "bookworm");
  expect_refused({"-d", "bookworm", "--keyring=/tmp/k"}, "--keyring=/tmp/k");
  expect_refused({"-d"}, "-d");
  expect_refused({"-d", "bookworm", "--mirror"}, "--mirror");
  expect_refused({"-d", "bookworm", "-d", "trixie"}, "-d");
  expect_refused({"-d", "bookworm", "--include=a", "--include", "b"}, "--include");
}

TEST(DebootstrapArgs, RefusesBadValues) {
  // Option injection and paths as a suite.
  expect_refused({"-d", "--foreign"}, "--foreign");
  expect_refused({"-d", "../../etc"}, "../../etc");
  expect_refused({"-d", "Bookworm"}, "Bookworm");
  expect_refused({"-d", ""}, "");
  expect_refused({"-d", "book worm"}, "book worm");
  // Mirrors: scheme, blanks, quotes.
  expect_refused({"-d", "bookworm", "--mirror", "ftp://x/debian"}, "ftp://x/debian");
  expect_refused({"-d", "bookworm", "--mirror", "/srv/mirror"}, "/srv/mirror");
  expect_refused({"-d", "bookworm", "--mirror", "http://x/ debian"}, "http://x/ debian");
  expect_refused({"-d", "bookworm", "--mirror=http://x/'$(id)'"}, "http://x/'$(id)'");
  expect_refused({"-d", "bookworm", "--variant", "fakechroot"}, "fakechroot");
  expect_refused({"-d", "bookworm", "--include", "a,,b"}, "a,,b");
  expect_refused({"-d", "bookworm", "--include", "less,-rf"}, "-rf");
  expect_refused({"-d", "bookworm", "--include", "Less"}, "Less");
}

TEST(DebootstrapArgs, FirstStageCommandLine) {
  auto a = parse_debootstrap_args({"-d", "bookworm", "--include", "less,vim-tiny"});
  ASSERT_TRUE(a);
  EXPECT_EQ(
      first_stage_argv(*a, "/target"),
      (Args{"/usr/sbin/debootstrap", "--foreign", "--variant=minbase", "--include=less,vim-tiny",
            "bookworm", "/target", "http://deb.debian.org/debian"}));
  a->variant = "-";
  a->include.clear();
  EXPECT_EQ(first_stage_argv(*a, "/t"), (Args{"/usr/sbin/debootstrap", "--foreign", "bookworm",
                                              "/t", "http://deb.debian.org/debian"}));
}

}  // namespace
}  // namespace vs::build
