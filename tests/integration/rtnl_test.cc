// kernel-shim/rtnl: the rtnetlink client against a real kernel, in namespaces the test makes.
#include "kernel-shim/rtnl.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "lib/base/unique_fd.h"
#include "tests/support/run_cmd.h"

namespace vs::test {
namespace {

using shim::NetAddress;
using shim::Rtnl;

bool sh(const std::string& cmd) { return run_cmd({"/bin/sh", "-c", cmd}).status == 0; }

class RtnlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = "vsrA" + std::to_string(::getpid());
    b_ = "vsrB" + std::to_string(::getpid());
    if (!sh("ip netns add " + a_ + " && ip netns add " + b_)) GTEST_SKIP() << "no ip netns";
    fa_ = UniqueFd(::open(("/run/netns/" + a_).c_str(), O_RDONLY | O_CLOEXEC));
    fb_ = UniqueFd(::open(("/run/netns/" + b_).c_str(), O_RDONLY | O_CLOEXEC));
    ASSERT_TRUE(fa_ && fb_);
  }
  void TearDown() override { sh("ip netns del " + a_ + "; ip netns del " + b_); }
  static NetAddress addr(const char* text) { return *shim::parse_net_address(text); }

  std::string a_, b_;
  UniqueFd fa_, fb_;
};

TEST_F(RtnlTest, BridgeVethAddressRouteAndDelete) {
  auto host = Rtnl::open_in(fa_.get(), "A");
  ASSERT_TRUE(host) << host.error().message();
  ASSERT_TRUE(host->add_bridge("vsrbr", "vserver-managed"));
  auto br = host->link("vsrbr");
  ASSERT_TRUE(br) << br.error().message();
  EXPECT_EQ(br->kind, "bridge");
  EXPECT_EQ(br->alias, "vserver-managed");
  EXPECT_FALSE(br->up);
  auto again = host->add_bridge("vsrbr", "x");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, EEXIST);

  ASSERT_TRUE(host->add_veth("vsrh", "eth0", fb_.get()));
  auto end = host->link("vsrh");
  ASSERT_TRUE(end);
  EXPECT_EQ(end->kind, "veth");
  ASSERT_TRUE(host->set_master(end->index, br->index, "vsrh"));
  ASSERT_TRUE(host->set_up(end->index, "vsrh"));
  EXPECT_EQ(host->link("vsrh")->master, br->index);
  EXPECT_FALSE(host->link("eth0")) << "the peer is born in B, never in A";

  auto guest = Rtnl::open_in(fb_.get(), "B");
  ASSERT_TRUE(guest);
  auto eth = guest->link("eth0");
  ASSERT_TRUE(eth) << eth.error().message();
  ASSERT_TRUE(guest->set_up(eth->index, "eth0"));
  ASSERT_TRUE(guest->add_address(eth->index, addr("10.66.0.2/24"), "eth0"));
  ASSERT_TRUE(guest->add_address(eth->index, addr("fd00:66::2/64"), "eth0"));
  auto have = guest->addresses(eth->index);
  ASSERT_TRUE(have);
  std::string all;
  for (const auto& a : *have) all += shim::format_net_address(a) + " ";
  // The kernel may have added an fe80:: link-local address by now: look for ours.
  EXPECT_NE(all.find("10.66.0.2/24 "), std::string::npos) << all;
  EXPECT_NE(all.find("fd00:66::2/64 "), std::string::npos) << all;
  auto r = guest->add_default_route(addr("10.66.0.1"), eth->index, "eth0");
  ASSERT_TRUE(r) << r.error().message();
  auto routes = run_cmd({"ip", "-n", b_, "route", "show", "default"});
  EXPECT_NE(routes.out.find("default via 10.66.0.1 dev eth0"), std::string::npos) << routes.out;
  // A gateway off every subnet of the interface is refused with the kernel's errno.
  auto off = guest->add_default_route(addr("fd00:99::1"), eth->index, "eth0");
  ASSERT_FALSE(off);
  EXPECT_NE(off.error().message().find("add default route via fd00:99::1"), std::string::npos)
      << off.error().message();

  // Deleting the host end takes the peer with it, at once.
  ASSERT_TRUE(host->del_link(end->index, "vsrh"));
  EXPECT_FALSE(guest->link("eth0"));
  auto gone = host->del_link(end->index, "vsrh");
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().kind, ErrorKind::kNotFound);
}

// Why teardown may leave a veth alone if it must: the pair goes with the peer's namespace
// (asynchronously, once the namespace's last reference is gone).
TEST_F(RtnlTest, VethDiesWithItsPeersNamespace) {
  auto host = Rtnl::open_in(fa_.get(), "A");
  ASSERT_TRUE(host);
  ASSERT_TRUE(host->add_veth("vsrh", "eth0", fb_.get()));
  ASSERT_TRUE(host->link("vsrh"));
  fb_.reset();
  ASSERT_TRUE(sh("ip netns del " + b_));
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    gone = !host->link("vsrh");
    if (!gone) ::usleep(25000);
  }
  EXPECT_TRUE(gone) << "the host end outlived the peer's namespace by 5 s";
}

TEST_F(RtnlTest, MissingLinkIsNotFound) {
  auto host = Rtnl::open_in(fa_.get(), "A");
  ASSERT_TRUE(host);
  auto l = host->link("vsr-none");
  ASSERT_FALSE(l);
  EXPECT_EQ(l.error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(l.error().subject, "vsr-none");
}

}  // namespace
}  // namespace vs::test
