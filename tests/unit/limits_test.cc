// kernel-shim/limits.cc without root: rlimit names and values, setrlimit in a child, and the
// access rule. The cgroup limits are in limits_cgroup_test.cc; the state file's
// "attr.rlimit.NAME=SOFT:HARD" lines in context_state_test.cc.
#include "kernel-shim/limits.h"

#include <errno.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <string>
#include <vector>

#include "kernel-shim/context_state.h"
#include "tests/support/run_in_child.h"

namespace vs::shim {
namespace {

// ---- rlimit names ----

TEST(RlimitNames, EveryUtilVserverNameMapsToItsResource) {
  const std::vector<std::pair<std::string, int>> want{
      {"as", RLIMIT_AS},           {"core", RLIMIT_CORE},
      {"cpu", RLIMIT_CPU},         {"data", RLIMIT_DATA},
      {"fsize", RLIMIT_FSIZE},     {"locks", RLIMIT_LOCKS},
      {"memlock", RLIMIT_MEMLOCK}, {"msgqueue", RLIMIT_MSGQUEUE},
      {"nice", RLIMIT_NICE},       {"nofile", RLIMIT_NOFILE},
      {"nproc", RLIMIT_NPROC},     {"rss", RLIMIT_RSS},
      {"rtprio", RLIMIT_RTPRIO},   {"sigpending", RLIMIT_SIGPENDING},
      {"stack", RLIMIT_STACK},
  };
  ASSERT_EQ(rlimit_table().size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(rlimit_table()[i].name, want[i].first);
    auto r = parse_rlimit_name(want[i].first);
    ASSERT_TRUE(r) << want[i].first;
    EXPECT_EQ(*r, want[i].second) << want[i].first;
    EXPECT_EQ(rlimit_name(want[i].second), want[i].first);
    EXPECT_EQ(rlimit_attr_key(want[i].second), "rlimit." + want[i].first);
  }
}

TEST(RlimitNames, UnknownNameIsAUsageErrorNamingTheWordAndTheAllowedNames) {
  for (const char* bad : {"nofiles", "NOFILE", "", "rlimit.nofile", "RLIMIT_NOFILE", "vm"}) {
    auto r = parse_rlimit_name(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::kUsage) << bad;
    EXPECT_EQ(r.error().subject, bad);
    for (const auto& info : rlimit_table()) {
      EXPECT_NE(r.error().detail.find(std::string(info.name)), std::string::npos)
          << info.name << " missing from: " << r.error().detail;
    }
  }
}

// ---- rlimit values ----

rlim_t value_of(const char* name, const char* text) {
  auto res = parse_rlimit_name(name);
  EXPECT_TRUE(res);
  auto v = parse_rlimit_value(*res, text);
  EXPECT_TRUE(v) << name << " " << text << ": " << (v ? "" : v.error().message());
  return v ? *v : 0;
}

Error value_error(const char* name, const char* text) {
  auto res = parse_rlimit_name(name);
  EXPECT_TRUE(res);
  auto v = parse_rlimit_value(*res, text);
  EXPECT_FALSE(v) << name << " " << text << " was accepted as " << (v ? *v : 0);
  return v ? Error{} : v.error();
}

TEST(RlimitValues, NumbersSuffixesAndInfinity) {
  EXPECT_EQ(value_of("nofile", "0"), 0u);
  EXPECT_EQ(value_of("nofile", "1024"), 1024u);
  EXPECT_EQ(value_of("nofile", "inf"), RLIM_INFINITY);
  EXPECT_EQ(value_of("core", "unlimited"), RLIM_INFINITY);
  EXPECT_EQ(value_of("as", "64M"), 64u << 20);
  EXPECT_EQ(value_of("as", "64m"), 64u << 20);
  EXPECT_EQ(value_of("stack", "8K"), 8192u);
  EXPECT_EQ(value_of("data", "2G"), rlim_t{2} << 30);
  EXPECT_EQ(value_of("fsize", "3T"), rlim_t{3} << 40);
  EXPECT_EQ(value_of("memlock", "4096"), 4096u);
  EXPECT_EQ(value_of("nice", "40"), 40u);
  EXPECT_EQ(value_of("rtprio", "99"), 99u);
}

TEST(RlimitValues, StrictParsingRejectsEverythingElse) {
  for (const char* bad : {"", "-1", "+1", " 1", "1 ", "012", "0x10", "1.5", "1e3", "abc",
                          "infinity", "Inf", "99999999999999999999999"}) {
    Error e = value_error("nofile", bad);
    EXPECT_EQ(e.kind, ErrorKind::kUsage) << bad;
    EXPECT_EQ(e.subject, "nofile") << bad;
    EXPECT_NE(e.detail.find("inf"), std::string::npos) << e.detail;
  }
  // Suffixes only where the limit is a size.
  EXPECT_EQ(value_error("nofile", "1K").subject, "nofile");
  EXPECT_EQ(value_error("cpu", "10M").subject, "cpu");
  for (const char* bad : {"64MB", "64MiB", "1.5G", "G", "K1", "1KK", "-1K", "08M", "1 M",
                          "17179869184G", "16777216T"}) {
    Error e = value_error("as", bad);
    EXPECT_EQ(e.kind, ErrorKind::kUsage) << bad;
    EXPECT_EQ(e.subject, "as") << bad;
    EXPECT_NE(e.detail.find("64K"), std::string::npos) << e.detail;
  }
  // Ranges of the priority-like limits.
  EXPECT_NE(value_error("nice", "41").detail.find("0..40"), std::string::npos);
  EXPECT_NE(value_error("rtprio", "100").detail.find("0..99"), std::string::npos);
  EXPECT_EQ(format_rlimit_value(RLIM_INFINITY), "inf");
  EXPECT_EQ(format_rlimit_value(0), "0");
}

TEST(RlimitValues, SoftAboveHardIsAUsageErrorWhateverSetsIt) {
  const int nofile = RLIMIT_NOFILE;
  auto both = merge_rlimit(nofile, Rlimit{10, 20}, 100, RlimitScope::kBoth);
  ASSERT_TRUE(both);
  EXPECT_EQ(*both, (Rlimit{100, 100}));
  auto soft = merge_rlimit(nofile, Rlimit{10, 20}, 15, RlimitScope::kSoft);
  ASSERT_TRUE(soft);
  EXPECT_EQ(*soft, (Rlimit{15, 20}));
  auto too_soft = merge_rlimit(nofile, Rlimit{10, 20}, 21, RlimitScope::kSoft);
  ASSERT_FALSE(too_soft);
  EXPECT_EQ(too_soft.error().kind, ErrorKind::kUsage);
  EXPECT_EQ(too_soft.error().subject, "nofile");
  EXPECT_NE(too_soft.error().detail.find("above the hard limit 20"), std::string::npos);
  auto hard = merge_rlimit(nofile, Rlimit{10, 20}, 30, RlimitScope::kHard);
  ASSERT_TRUE(hard);
  EXPECT_EQ(*hard, (Rlimit{10, 30}));
  // An unset (infinite) soft limit follows a lowered ceiling; a chosen one must fit.
  auto follows = merge_rlimit(nofile, Rlimit{}, 50, RlimitScope::kHard);
  ASSERT_TRUE(follows);
  EXPECT_EQ(*follows, (Rlimit{50, 50}));
  auto below = merge_rlimit(nofile, Rlimit{100, RLIM_INFINITY}, 50, RlimitScope::kHard);
  ASSERT_FALSE(below);
  EXPECT_EQ(below.error().kind, ErrorKind::kUsage);
  auto pair = parse_rlimit_pair(nofile, "200:100");
  ASSERT_FALSE(pair);
  EXPECT_EQ(pair.error().kind, ErrorKind::kUsage);
}

// ---- setrlimit (in a child: the test process keeps its limits) ----

TEST(ApplyRlimits, SetsEveryEntryOnTheCallingProcess) {
  test::run_in_child([]() -> std::string {
    auto r = apply_rlimits({{RLIMIT_NOFILE, {64, 128}}, {RLIMIT_CORE, {0, 0}}});
    if (!r) return r.error().message();
    struct rlimit nofile {};
    struct rlimit core {};
    ::getrlimit(RLIMIT_NOFILE, &nofile);
    ::getrlimit(RLIMIT_CORE, &core);
    if (nofile.rlim_cur != 64 || nofile.rlim_max != 128) return "nofile not 64:128";
    if (core.rlim_cur != 0 || core.rlim_max != 0) return "core not 0:0";
    auto all = current_rlimits();
    if (!all) return all.error().message();
    if (all->size() != rlimit_table().size()) return "current_rlimits misses names";
    if (all->at(RLIMIT_NOFILE) != (Rlimit{64, 128})) return "current_rlimits nofile";
    return "";
  });
}

TEST(ApplyRlimits, ABadEntryChangesNothing) {
  test::run_in_child([]() -> std::string {
    struct rlimit before {};
    ::getrlimit(RLIMIT_NOFILE, &before);
    // RLIMIT_NOFILE (7) is set before RLIMIT_RTPRIO (14): the bad entry must be caught
    // before the good one is applied.
    static_assert(RLIMIT_NOFILE < RLIMIT_RTPRIO);
    auto r = apply_rlimits({{RLIMIT_NOFILE, {32, 32}}, {RLIMIT_RTPRIO, {20, 10}}});
    if (r) return "soft > hard was accepted";
    if (r.error().kind != ErrorKind::kUsage || r.error().subject != "rtprio") {
      return "wrong error: " + r.error().message();
    }
    struct rlimit after {};
    ::getrlimit(RLIMIT_NOFILE, &after);
    if (after.rlim_cur != before.rlim_cur) return "nofile was changed";
    return "";
  });
}

TEST(ApplyRlimits, RaisingAHardLimitWithoutPrivilegeIsEPERMNamingTheLimit) {
  test::run_in_child([]() -> std::string {
    struct rlimit rl = {16, 16};
    if (::setrlimit(RLIMIT_NOFILE, &rl) < 0) return "setrlimit";
    if (::geteuid() == 0) {
      // Root may raise it; drop the capability the simple way: become nobody.
      if (::setresuid(65534, 65534, 65534) < 0) return "setresuid";
    }
    auto r = apply_rlimits({{RLIMIT_NOFILE, {32, 32}}});
    if (r) return "raising the hard limit was allowed";
    if (r.error().code != EPERM) return "not EPERM: " + r.error().message();
    if (r.error().op != "setrlimit" || r.error().subject != "nofile 32:32") {
      return "wrong op/subject: " + r.error().message();
    }
    return "";
  });
}

// ---- access ----

TEST(LimitsAccess, HostAlwaysContextsOnlyTheirOwnAndOnlyBeforeSealing) {
  ContextState st;
  st.xid = Xid(500);
  st.stage = ContextStage::kSetup;
  EXPECT_TRUE(check_limits_access(Xid(0), st, true));
  EXPECT_TRUE(check_limits_access(Xid(500), st, true));
  auto other = check_limits_access(Xid(501), st, false);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().kind, ErrorKind::kWrongState);
  EXPECT_EQ(other.error().code, EPERM);
  EXPECT_EQ(other.error().subject, "context 500");
  st.stage = ContextStage::kRunning;
  EXPECT_TRUE(check_limits_access(Xid(0), st, true));
  EXPECT_TRUE(check_limits_access(Xid(500), st, false));
  auto sealed = check_limits_access(Xid(500), st, true);
  ASSERT_FALSE(sealed);
  EXPECT_EQ(sealed.error().kind, ErrorKind::kWrongState);
  EXPECT_NE(sealed.error().detail.find("sealed"), std::string::npos);
}

}  // namespace
}  // namespace vs::shim
