// A guest's seccomp settings by name (kernel-shim/seccomp_spec.cc): change lists, syscall
// names and their errors, validation, and the context attributes.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "kernel-shim/seccomp.h"

namespace vs::shim {
namespace {

// ---- change lists --------------------------------------------------------------------

TEST(ParseSeccompChanges, AllowAndDenyPrefixes) {
  auto r = parse_seccomp_changes("keyctl,+add_key,-ptrace,~getcwd,!chroot");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->enabled);
  EXPECT_EQ(r->allow, (std::vector<std::string>{"keyctl", "add_key"}));
  EXPECT_EQ(r->deny, (std::vector<std::string>{"ptrace", "getcwd", "chroot"}));
}

TEST(ParseSeccompChanges, EmptyListIsNoChange) {
  auto r = parse_seccomp_changes("");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, SeccompSpec{});
}

TEST(ParseSeccompChanges, UnknownNameIsAUsageErrorNamingTheWord) {
  for (const char* list : {"fooo", "keyctl,fooo", "-fooo", "+fooo"}) {
    auto r = parse_seccomp_changes(list);
    ASSERT_FALSE(r) << "accepted `" << list << "`";
    EXPECT_EQ(r.error().kind, ErrorKind::kUsage) << list;
    std::string m = r.error().message();
    EXPECT_NE(m.find("unknown syscall `fooo`"), std::string::npos) << m;
    EXPECT_NE(m.find("syscalls(2)"), std::string::npos) << "says what is allowed: " << m;
  }
}

TEST(ParseSeccompChanges, OtherArchitecturesSyscallIsNamed) {
#if defined(__x86_64__)
  auto r = parse_seccomp_changes("chown32");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kUsage);
  EXPECT_NE(r.error().message().find("`chown32` does not exist on x86_64"), std::string::npos)
      << r.error().message();
#else
  GTEST_SKIP() << "x86_64 only";
#endif
}

TEST(ParseSeccompChanges, MalformedListsAreErrors) {
  for (const char* list :
       {",", "keyctl,", ",keyctl", "keyctl,,getcwd", "-", "+", "~", "!", " keyctl", "keyctl ",
        "key ctl", "keyctl;getcwd", "--keyctl", "SYS_keyctl", "250"}) {
    auto r = parse_seccomp_changes(list);
    EXPECT_FALSE(r) << "accepted `" << list << "`";
    if (!r) {
      EXPECT_EQ(r.error().kind, ErrorKind::kUsage) << list;
    }
  }
}

TEST(ParseSeccompChanges, NameGivenTwiceIsAnError) {
  for (const char* list : {"keyctl,keyctl", "keyctl,-keyctl", "-getcwd,~getcwd"}) {
    auto r = parse_seccomp_changes(list);
    ASSERT_FALSE(r) << "accepted `" << list << "`";
    EXPECT_EQ(r.error().kind, ErrorKind::kUsage);
    EXPECT_NE(r.error().message().find("given twice"), std::string::npos) << r.error().message();
  }
}

TEST(FormatSeccompChanges, RoundTrips) {
  for (const char* list : {"", "keyctl", "-getcwd", "keyctl,add_key,-getcwd,-chroot"}) {
    auto r = parse_seccomp_changes(list);
    ASSERT_TRUE(r) << list << ": " << r.error().message();
    EXPECT_EQ(format_seccomp_changes(*r), list);
  }
}

TEST(ValidateSeccomp, BothAllowedAndDeniedIsAnError) {
  SeccompSpec s;
  s.allow = {"keyctl"};
  s.deny = {"getcwd", "keyctl"};
  auto r = validate(s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kUsage);
  EXPECT_NE(r.error().message().find("`keyctl` is both allowed and denied"), std::string::npos)
      << r.error().message();
}

TEST(ResolveSyscall, LibseccompNamesAndNewerOnes) {
#if defined(__x86_64__)
  // Numbers from arch/x86/entry/syscalls/syscall_64.tbl.
  const std::map<std::string, int> known{
      {"read", 0},        {"keyctl", 250}, {"clone3", 435},        {"fchmodat2", 452},
      {"statmount", 457}, {"mseal", 462},  {"removexattrat", 466}, {"open_tree_attr", 467},
      {"uretprobe", 335}};
  for (const auto& [name, nr] : known) {
    auto got = resolve_syscall(name);
    ASSERT_TRUE(got) << name;
    EXPECT_EQ(*got, nr) << name;
  }
  for (const char* bad : {"", "fooo", "chown32", "READ", "read "}) {
    EXPECT_FALSE(resolve_syscall(bad)) << "`" << bad << "`";
  }
#else
  GTEST_SKIP() << "x86_64 only";
#endif
}

// ---- attributes -----------------------------------------------------------------------

TEST(SeccompAttrs, RoundTrip) {
  std::vector<SeccompSpec> specs(4);
  specs[1].enabled = false;
  specs[2].allow = {"keyctl", "add_key"};
  specs[3].allow = {"keyctl"};
  specs[3].deny = {"getcwd", "chroot"};
  for (const auto& spec : specs) {
    std::map<std::string, std::string> attrs{{"caps.bounding", "x"}};
    spec.to_attrs(attrs);
    EXPECT_EQ(attrs.at("caps.bounding"), "x") << "other modules' keys are left alone";
    EXPECT_EQ(attrs.at("seccomp"), spec.enabled ? "default" : "none");
    auto back = SeccompSpec::from_attrs(attrs);
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(*back, spec) << format_seccomp_changes(spec);
  }
}

TEST(SeccompAttrs, Keys) {
  SeccompSpec s;
  s.allow = {"keyctl", "add_key"};
  s.deny = {"getcwd"};
  std::map<std::string, std::string> attrs;
  s.to_attrs(attrs);
  EXPECT_EQ(attrs, (std::map<std::string, std::string>{{"seccomp", "default"},
                                                       {"seccomp.allow", "keyctl,add_key"},
                                                       {"seccomp.deny", "getcwd"}}));
  SeccompSpec{}.to_attrs(attrs);
  EXPECT_EQ(attrs, (std::map<std::string, std::string>{{"seccomp", "default"}}))
      << "stale change lists are removed";
}

TEST(SeccompAttrs, MissingMeansDefault) {
  auto r = SeccompSpec::from_attrs({{"caps.bounding", "x"}, {"seccompx", "?"}});
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, SeccompSpec{});
}

TEST(SeccompAttrs, BadValuesNameKeyAndWord) {
  struct Case {
    std::map<std::string, std::string> attrs;
    const char* key;
    const char* word;
  };
  const Case cases[] = {
      {{{"seccomp", "off"}}, "seccomp", "off"},
      {{{"seccomp.allow", "keyctl,fooo"}}, "seccomp.allow", "fooo"},
      {{{"seccomp.deny", "-getcwd"}}, "seccomp.deny", "-getcwd"},
      {{{"seccomp.allow", "keyctl,,add_key"}}, "seccomp.allow", "empty"},
      {{{"seccomp.foo", "bar"}}, "seccomp.foo", "unknown seccomp attribute"},
      {{{"seccomp.allow", "keyctl"}, {"seccomp.deny", "keyctl"}}, "seccomp", "keyctl"},
  };
  for (const auto& c : cases) {
    auto r = SeccompSpec::from_attrs(c.attrs);
    ASSERT_FALSE(r) << "accepted " << c.key;
    EXPECT_EQ(r.error().kind, ErrorKind::kUsage);
    std::string m = r.error().message();
    EXPECT_NE(m.find(std::string("`") + c.key + "`"), std::string::npos) << m;
    EXPECT_NE(m.find(c.word), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace vs::shim
