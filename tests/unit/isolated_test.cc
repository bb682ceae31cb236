// lib/net/isolated: a guest's isolated network from its interfaces (no kernel state).
#include "lib/net/isolated.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

namespace vs {
namespace {

Interface itf(const char* addr, int family, unsigned prefix, const char* dev, NetMode mode) {
  Interface i;
  i.address = addr;
  i.family = family;
  i.prefix = prefix;
  i.dev = dev;
  i.mode = mode;
  return i;
}

TEST(IsolatedNetSpec, CollectsTheIsolatedAddressesOnOneBridge) {
  GuestConfig g;
  g.interfaces = {itf("10.1.0.2", AF_INET, 24, "br0", NetMode::kIsolated),
                  itf("fd00::2", AF_INET6, 64, "br0", NetMode::kIsolated)};
  auto s = isolated_net_spec(g);
  ASSERT_TRUE(s) << s.error().message();
  ASSERT_TRUE(s->has_value());
  EXPECT_EQ((*s)->device, "br0");
  EXPECT_EQ((*s)->link, shim::IsoLink::kVeth);
  ASSERT_EQ((*s)->addrs.all().size(), 2u);
  EXPECT_EQ(shim::format_net_address((*s)->addrs.v4[0]), "10.1.0.2/24");
  EXPECT_EQ(shim::format_net_address((*s)->addrs.v6[0]), "fd00::2/64");
  EXPECT_FALSE((*s)->nat);
}

TEST(IsolatedNetSpec, GatewaysAndNatComeFromTheInterfaces) {
  GuestConfig g;
  g.interfaces = {itf("10.1.0.2", AF_INET, 24, "br0", NetMode::kIsolated),
                  itf("10.1.0.3", AF_INET, 24, "br0", NetMode::kIsolated),
                  itf("fd00::2", AF_INET6, 64, "br0", NetMode::kIsolated)};
  g.interfaces[0].gateway = "10.1.0.1";
  g.interfaces[0].nat = true;
  g.interfaces[1].gateway = "10.1.0.1";  // the same again: fine
  g.interfaces[2].gateway = "fd00::1";
  auto s = isolated_net_spec(g);
  ASSERT_TRUE(s) << s.error().message();
  ASSERT_TRUE(s->has_value());
  ASSERT_EQ((*s)->gateways.size(), 2u);
  EXPECT_EQ(shim::format_net_address((*s)->gateways[0]), "10.1.0.1/32");
  EXPECT_EQ(shim::format_net_address((*s)->gateways[1]), "fd00::1/128");
  EXPECT_TRUE((*s)->nat);
}

TEST(IsolatedNetSpec, GatewayAndNatConflictsNameTheKey) {
  GuestConfig g;
  g.interfaces = {itf("10.1.0.2", AF_INET, 24, "br0", NetMode::kIsolated),
                  itf("10.1.0.3", AF_INET, 24, "br0", NetMode::kIsolated)};
  g.interfaces[0].gateway = "10.1.0.1";
  g.interfaces[1].gateway = "10.1.0.254";
  auto s = isolated_net_spec(g);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().subject, "interfaces.1.gateway");
  EXPECT_NE(s.error().detail.find("`10.1.0.1` before"), std::string::npos) << s.error().detail;

  g.interfaces[1].gateway.clear();
  g.interfaces[0].nat = true;
  g.interfaces[1].nat = false;
  s = isolated_net_spec(g);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().subject, "interfaces.1.nat");
  EXPECT_EQ(s.error().kind, ErrorKind::kUsage);
}

TEST(IsolatedNetSpec, NoneForASharedGuest) {
  GuestConfig g;
  g.interfaces = {itf("10.1.0.2", AF_INET, 32, "eth0", NetMode::kShared)};
  auto s = isolated_net_spec(g);
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->has_value());
}

TEST(IsolatedNetSpec, ErrorsNameTheKey) {
  GuestConfig g;
  g.interfaces = {itf("10.1.0.2", AF_INET, 24, "", NetMode::kIsolated)};
  auto s = isolated_net_spec(g);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().subject, "interfaces.0.dev");

  g.interfaces = {itf("10.1.0.2", AF_INET, 24, "br0", NetMode::kIsolated),
                  itf("10.1.0.3", AF_INET, 24, "br1", NetMode::kIsolated)};
  s = isolated_net_spec(g);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().subject, "interfaces.1.dev");

  g.interfaces = {itf("10.1.0.2", AF_INET, 24, "br0", NetMode::kIsolated),
                  itf("10.1.0.3", AF_INET, 32, "eth0", NetMode::kShared)};
  s = isolated_net_spec(g);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().subject, "interfaces");
  EXPECT_EQ(s.error().kind, ErrorKind::kUsage);
}

}  // namespace
}  // namespace vs
