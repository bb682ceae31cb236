// A guest's seccomp settings by name (kernel-shim/seccomp_spec.cc): change lists, syscall
// names and their errors, validation, and the state file's syscall lists.
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

// ---- the state file's lists (context_state.h) ----------------------------------------

TEST(SyscallList, RoundTrip) {
  for (std::vector<std::string> names :
       {std::vector<std::string>{}, {"keyctl"}, {"keyctl", "add_key", "getcwd"}}) {
    auto back = parse_syscall_list(format_syscall_list(names), "seccomp.allow");
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(*back, names);
  }
}

TEST(SyscallList, BadWordsNameKeyAndWord) {
  const std::pair<const char*, const char*> cases[] = {{"keyctl,fooo", "fooo"},
                                                       {"-getcwd", "-getcwd"},
                                                       {"keyctl,,add_key", "empty"},
                                                       {",", "empty"}};
  for (const auto& [list, word] : cases) {
    auto r = parse_syscall_list(list, "seccomp.deny");
    ASSERT_FALSE(r) << "accepted " << list;
    EXPECT_EQ(r.error().kind, ErrorKind::kUsage);
    std::string m = r.error().message();
    EXPECT_NE(m.find("`seccomp.deny`"), std::string::npos) << m;
    EXPECT_NE(m.find(word), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace vs::shim
