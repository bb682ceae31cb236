// Capability and flag names and change lists (no root, no kernel state).
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sched.h>

#include "kernel-shim/caps.h"
#include "kernel-shim/flags.h"
#include "lib/base/parse.h"

namespace vs::shim {
namespace {

constexpr CapMask bit(int cap) { return CapMask{1} << cap; }

TEST(Caps, NamesAsInCapabilities7WithOrWithoutPrefixAnyCase) {
  EXPECT_EQ(cap_from_name("CAP_CHOWN"), CAP_CHOWN);
  EXPECT_EQ(cap_from_name("chown"), CAP_CHOWN);
  EXPECT_EQ(cap_from_name("Net_Admin"), CAP_NET_ADMIN);
  EXPECT_EQ(cap_from_name("CAP_"), std::nullopt);
  EXPECT_EQ(cap_from_name("CAP_CHOWNX"), std::nullopt);
  EXPECT_EQ(cap_name(CAP_SYS_ADMIN), "CAP_SYS_ADMIN");
}

TEST(Caps, ChangeListAddsRemovesAndResets) {
  auto m = apply_cap_changes(bit(CAP_KILL), "CAP_CHOWN, ~KILL !chown ^12");
  ASSERT_TRUE(m) << m.error().message();
  EXPECT_EQ(*m, bit(CAP_NET_ADMIN));
  EXPECT_EQ(*apply_cap_changes(bit(CAP_KILL), "none"), 0u);
  EXPECT_EQ(*apply_cap_changes(0, "all"), all_caps());
  EXPECT_EQ(*apply_cap_changes(all_caps(), "~^0"), all_caps() & ~bit(0));
}

TEST(Caps, BadWordsAreUsageErrorsNamingThem) {
  for (const char* bad : {"CAP_FLY", "~nosuch", "^99", "^", "^1x", "^-1"}) {
    auto m = apply_cap_changes(0, bad);
    ASSERT_FALSE(m) << bad;
    EXPECT_EQ(m.error().kind, ErrorKind::kUsage);
    EXPECT_NE(m.error().message().find(bad), std::string::npos) << m.error().message();
  }
}

TEST(Caps, FormatParsesBack) {
  CapMask m = default_guest_bcaps();
  EXPECT_EQ(*apply_cap_changes(0, format_caps(m)), m);
  EXPECT_EQ(format_caps(0), "");
}

TEST(Caps, DefaultIsDockersSetWithoutNetRawAndMknod) {
  CapMask m = default_guest_bcaps();
  EXPECT_EQ(__builtin_popcountll(m), 12);
  EXPECT_EQ(m & (bit(CAP_NET_RAW) | bit(CAP_MKNOD) | bit(CAP_SYS_ADMIN)), 0u);
  EXPECT_NE(m & bit(CAP_NET_BIND_SERVICE), 0u);
  EXPECT_NE(m & bit(CAP_CHOWN), 0u);
}

TEST(Ccaps, SupportedRefusedAndUnknown) {
  EXPECT_EQ(*normalize_ccaps("", "SET_RLIMIT"), "set_rlimit");
  EXPECT_EQ(*normalize_ccaps("set_rlimit", "~set_rlimit"), "");
  auto refused = normalize_ccaps("", "secure_mount");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message().find("not supported on stock kernels"), std::string::npos);
  auto unknown = normalize_ccaps("", "frob");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message().find("`frob`"), std::string::npos);
  EXPECT_NE(unknown.error().message().find("set_rlimit"), std::string::npos);
}

TEST(Flags, RecordedImpliedAndRefused) {
  NsSet ns = CLONE_NEWNS | CLONE_NEWPID;
  auto f = apply_flag_changes("", "private,persistent,fakeinit,namespace", ns);
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(*f, "persistent,private");  // implied ones hold without being recorded
  EXPECT_EQ(*apply_flag_changes(*f, "~private", ns), "persistent");
  EXPECT_TRUE(has_flag("persistent,private", "private"));
  EXPECT_FALSE(has_flag("persistent,private", "priv"));
}

TEST(Flags, ErrorsNameTheFlagAndTheReason) {
  struct Case {
    const char* list;
    const char* says;
    ErrorKind kind;
  };
  for (const auto& c : {Case{"virt_mem", "lxcfs", ErrorKind::kUsage},
                        Case{"hide_netif", "net namespace", ErrorKind::kUsage},
                        Case{"fakeinit", "pid namespace", ErrorKind::kUsage},
                        Case{"nosuch", "`nosuch`", ErrorKind::kUsage},
                        Case{"state_setup", "cannot return to setup", ErrorKind::kWrongState},
                        Case{"~lock", "final", ErrorKind::kWrongState}}) {
    auto f = apply_flag_changes("", c.list, CLONE_NEWNS);
    ASSERT_FALSE(f) << c.list;
    EXPECT_EQ(f.error().kind, c.kind) << c.list;
    EXPECT_NE(f.error().message().find(c.says), std::string::npos) << f.error().message();
  }
}

TEST(Flags, EveryUtilVserverNameIsKnown) {
  for (const char* name : {"lock", "sched", "nproc", "private", "fakeinit", "hideinfo", "ulimit",
                           "namespace", "virt_uptime", "hide_mount", "state_setup",
                           "persistent"}) {
    EXPECT_NE(find_flag(name), nullptr) << name;
  }
}

TEST(SplitList, CommasAndBlanks) {
  auto w = split_list(" a,,b  c,~d ");
  ASSERT_EQ(w.size(), 4u);
  EXPECT_EQ(w[3], "~d");
  std::string_view x = w[3];
  EXPECT_TRUE(strip_removal(&x));
  EXPECT_EQ(x, "d");
}

}  // namespace
}  // namespace vs::shim
