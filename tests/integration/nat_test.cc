// kernel-shim/nat: nft rules tagged per context, in a network namespace the test makes.
#include "kernel-shim/nat.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "lib/base/unique_fd.h"
#include "tests/support/run_cmd.h"

namespace vs::test {
namespace {

bool sh(const std::string& cmd) { return run_cmd({"/bin/sh", "-c", cmd}).status == 0; }

TEST(Nat, RulesAreTaggedPerContextAndTheTableGoesWithTheLast) {
  std::string ns = "vsnat" + std::to_string(::getpid());
  if (!shim::nft_path()) GTEST_SKIP() << "no nft binary (package nftables)";
  ASSERT_TRUE(sh("ip netns add " + ns));
  if (!sh("ip netns exec " + ns + " nft list ruleset >/dev/null 2>&1")) {
    sh("ip netns del " + ns);
    GTEST_SKIP() << "nft cannot list a ruleset here (kernel without nf_tables?)";
  }
  UniqueFd fd(::open(("/run/netns/" + ns).c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(fd);
  auto bind = [](const char* a) {
    return *shim::make_net_bind({*shim::parse_net_address(a)});
  };
  // Xids 4 and 41: the tag of one must not match the other's ("vserver xid 4" is a prefix).
  ASSERT_TRUE(shim::add_nat_rules(fd.get(), shim::Xid(41), bind("10.55.0.41/24"), "br0"));
  auto r = shim::add_nat_rules(fd.get(), shim::Xid(4), bind("10.55.0.4/24"), "br0");
  ASSERT_TRUE(r) << r.error().message();
  auto h4 = shim::nat_rule_handles(fd.get(), shim::Xid(4));
  auto h41 = shim::nat_rule_handles(fd.get(), shim::Xid(41));
  ASSERT_TRUE(h4 && h41);
  EXPECT_EQ(h4->size(), 1u);
  EXPECT_EQ(h41->size(), 1u);
  EXPECT_EQ(run_cmd({"ip", "netns", "exec", ns, "cat", "/proc/sys/net/ipv4/ip_forward"}).out,
            "1\n");

  ASSERT_TRUE(shim::remove_nat_rules(fd.get(), shim::Xid(4)));
  auto rules = run_cmd({"ip", "netns", "exec", ns, "nft", "list", "ruleset"}).out;
  EXPECT_EQ(rules.find("10.55.0.4 "), std::string::npos) << rules;
  EXPECT_NE(rules.find("10.55.0.41 "), std::string::npos) << rules;
  ASSERT_TRUE(shim::remove_nat_rules(fd.get(), shim::Xid(41)));
  rules = run_cmd({"ip", "netns", "exec", ns, "nft", "list", "ruleset"}).out;
  EXPECT_EQ(rules.find("vserver"), std::string::npos) << "the table goes with its last rule";
  // Nothing to remove is not an error.
  EXPECT_TRUE(shim::remove_nat_rules(fd.get(), shim::Xid(41)));
  sh("ip netns del " + ns);
}

}  // namespace
}  // namespace vs::test
