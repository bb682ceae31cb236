// The shared stack as a guest's daemons use it (issue 20): localhost reaches the context's
// own listeners only (util-vserver's lback), a dual-stack wildcard in a context without IPv6
// serves its IPv4 address, and a private address behind the host's masquerade reaches the
// world. The namespaces H and C of netbind_fixture.h; static xids 4123x.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "kernel-shim/netbind.h"
#include "kernel-shim/xid.h"
#include "tests/integration/netbind_fixture.h"

namespace vs::test {
namespace {

using namespace netbind;  // NOLINT: the fixture's helpers

std::string lo_of(const char* xid) {
  return vs::shim::loopback_str(vs::shim::Xid(static_cast<uint32_t>(std::stoul(xid))));
}

// 127.0.0.1, ::1 and the private loopback reach the context's own listener on the port,
// on the wildcard (rewritten to its first address) or on loopback, for TCP and UDP.
TEST_F(Netbind, LocalhostReachesTheContextsOwnListener) {
  auto loop = [&](const std::vector<std::string>& ips, std::vector<std::string> args) {
    args.insert(args.begin(), "loop");
    auto r = run_cmd(in_guest("41230", ips, args));
    EXPECT_EQ(r.status, 0) << r.err;
    return r.out;
  };
  const std::vector<std::string> v4{"10.77.0.1/24"};
  const std::vector<std::string> dual{"10.77.0.1/24", "fd00:77::1/64"};
  const std::string lo = lo_of("41230");
  EXPECT_EQ(loop(v4, {"0.0.0.0", "127.0.0.1", "7101"}), "OK 10.77.0.1\n");
  EXPECT_EQ(loop(v4, {"0.0.0.0", "127.0.0.1", "7101", "udp"}), "OK 10.77.0.1\n");
  EXPECT_EQ(loop(v4, {"0.0.0.0", "127.1.2.3", "7102"}), "OK 10.77.0.1\n");
  EXPECT_EQ(loop(v4, {"0.0.0.0", "::1", "7103"}), "OK 10.77.0.1\n");
  EXPECT_EQ(loop(v4, {"127.0.0.1", "127.0.0.1", "7104"}), "OK " + lo + "\n");
  EXPECT_EQ(loop(v4, {"127.0.0.1", "::1", "7105"}), "OK " + lo + "\n");
  EXPECT_EQ(loop(v4, {"::", "127.0.0.1", "7106"}), "OK ::ffff:10.77.0.1\n");
  EXPECT_EQ(loop(dual, {"::", "::1", "7107"}), "OK fd00:77::1\n");
  EXPECT_EQ(loop(dual, {"0.0.0.0", "::1", "7108"}), "OK 10.77.0.1\n");
  EXPECT_EQ(loop(dual, {"0.0.0.0", "127.0.0.1", "7109"}), "OK 10.77.0.1\n");
}

// Never the host's listeners (on its loopback or on the wildcard, which would take the
// private loopback's traffic too) nor another context's.
TEST_F(Netbind, LocalhostNeverReachesTheHostOrAnotherContext) {
  const std::vector<std::string> a_ips{"10.77.0.1/24"};
  Server any4(in_ns(ns_h(), {"serve", "0.0.0.0", "7111", "READY", "STOP"}), "hl1");
  Server any6(in_ns(ns_h(), {"serve", "::", "7112", "READY", "STOP"}), "hl2");
  Server lo4(in_ns(ns_h(), {"serve", "127.0.0.1", "7113", "READY", "STOP"}), "hl3");
  Server b(in_guest("41232", {"10.77.0.2/24"}, {"serve", "0.0.0.0", "7114", "READY", "STOP"}),
           "bl4");
  for (const Server* s : {&any4, &any6, &lo4, &b}) {
    ASSERT_TRUE(wait_for_file(s->ready)) << s->ready;
  }
  auto control = run_cmd(in_ns(ns_h(), {"connect", "127.0.0.1", "7111"}));
  ASSERT_NE(control.out.find("PEER"), std::string::npos) << "control: " << control.out;
  for (const char* port : {"7111", "7112", "7113", "7114"}) {
    for (const std::string& target : {std::string("127.0.0.1"), std::string("::1"),
                                      lo_of("41231")}) {
      auto r = run_cmd(in_guest("41231", a_ips, {"connect", target, port}));
      EXPECT_EQ(r.out.find("PEER"), std::string::npos) << target << ":" << port << " " << r.out;
      EXPECT_NE(r.out.find("ERR"), std::string::npos) << target << ":" << port << " " << r.out;
    }
  }
}

// A socket bound to 127.0.0.1 (the private loopback) reaches the context's own addresses but
// shows no loopback source to the host's services on its other local addresses.
TEST_F(Netbind, PrivateLoopbackSourceStaysInsideTheContext) {
  const std::string lo = lo_of("41235");
  Server h(in_ns(ns_h(), {"serve", "0.0.0.0", "7121", "READY", "STOP"}), "pl1");
  ASSERT_TRUE(wait_for_file(h.ready)) << read_file(tmp("pl1.log"));
  auto r = run_cmd(in_guest("41235", {"10.77.0.1/24"},
                            {"connect-from", "127.0.0.1", "10.77.0.254", "7121"}));
  EXPECT_EQ(r.out.find("PEER"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ERR"), std::string::npos) << r.out << r.err;
  auto own = run_cmd(in_guest("41235", {"10.77.0.1/24"},
                              {"loop", "0.0.0.0", "127.0.0.1", "7122"}));
  EXPECT_EQ(own.out, "OK 10.77.0.1\n") << own.err;
}

// A context without IPv6: `::` (dual-stack, as nginx's `listen [::]:80 ipv6only=off` and
// busybox httpd) serves its IPv4 address; a v6-only socket cannot, and gets EINVAL.
TEST_F(Netbind, DualStackWildcardServesTheIpv4AddressOfAV4OnlyContext) {
  auto bind = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "bind");
    auto r = run_cmd(in_guest("41233", {"10.77.0.1/24"}, args));
    EXPECT_EQ(r.status, 0) << r.err;
    return r.out;
  };
  EXPECT_EQ(bind({"::"}), "OK ::ffff:10.77.0.1\n");
  EXPECT_EQ(bind({"::", "udp"}), "OK ::ffff:10.77.0.1\n");
  EXPECT_EQ(bind({"::", "v6only"}), "ERR 22\n");
  EXPECT_EQ(bind({"::", "udp", "v6only"}), "ERR 22\n");
  Server a(in_guest("41233", {"10.77.0.1/24"}, {"serve", "::", "8101", "READY", "STOP"}),
           "ds1");
  ASSERT_TRUE(wait_for_file(a.ready)) << read_file(tmp("ds1.log"));
  EXPECT_EQ(a.address(), "::ffff:10.77.0.1 8101");
  auto ok = run_cmd(in_ns(ns_c(), {"connect", "10.77.0.1", "8101"}));
  EXPECT_NE(ok.out.find("PEER ::ffff:10.77.0.100"), std::string::npos) << ok.out << ok.err;
  for (const char* other : {"10.77.0.2", "10.77.0.254", "fd00:77::fe"}) {
    auto no = run_cmd(in_ns(ns_c(), {"connect", other, "8101"}));
    EXPECT_NE(no.out.find("ERR"), std::string::npos) << other << ": " << no.out;
  }
}

// A private address (on H's lo) behind H's own masquerade rule: TCP and UDP
// leave with H's address (the egress filter judges the source the socket chose, before
// NAT); a raw socket's packet with a foreign source still never leaves (raw and ping sockets
// are judged by the packet's source: theirs do not pass the masquerade).
TEST_F(Netbind, PrivateAddressReachesTheWorldThroughTheHostsMasquerade) {
  const std::string h = ns_h(), vh = "vsh" + suffix();
  auto in_h = [&](const std::string& cmd) {
    return sh("nsenter --net=/run/netns/" + h + " sh -c '" + cmd + "'");
  };
  ASSERT_TRUE(in_h("ip addr add 198.18.9.1/32 dev lo"));
  struct Undo {
    std::function<bool(const std::string&)> in_h;
    ~Undo() { in_h("nft delete table ip vstnat; ip addr del 198.18.9.1/32 dev lo"); }
  } undo{in_h};
  if (!in_h("nft add table ip vstnat && nft add chain ip vstnat post "
            "\"{ type nat hook postrouting priority srcnat; }\" && "
            "nft add rule ip vstnat post ip saddr 198.18.9.1 oifname " + vh + " masquerade")) {
    GTEST_SKIP() << "nft cannot add a masquerade rule here";
  }
  Server c(in_ns(ns_c(), {"serve", "10.77.0.100", "9101", "READY", "STOP"}), "nat1");
  ASSERT_TRUE(wait_for_file(c.ready)) << read_file(tmp("nat1.log"));
  auto r = run_cmd(in_guest("41234", {"198.18.9.1/32"}, {"connect", "10.77.0.100", "9101"}));
  EXPECT_EQ(r.out, "OK 198.18.9.1\nPEER 10.77.0.1\n") << r.err;

  auto sniff = std::make_unique<Server>(
      in_ns(ns_c(), {"sniff", "vsc" + suffix(), "READY", "STOP"}), "nat2");
  ASSERT_TRUE(wait_for_file(sniff->ready));
  r = run_cmd(in_guest("41234", {"198.18.9.1/32"}, {"udp", "10.77.0.100", "9102"}));
  EXPECT_EQ(r.out, "SEND OK\n") << r.err;
  r = run_cmd(in_guest("41234", {"198.18.9.1/32"},
                       {"udp", "10.77.0.100", "9103", "connected"}));
  EXPECT_EQ(r.out, "CONNECT OK\nSEND OK\n") << r.err;
  r = run_cmd(in_guest("41234", {"198.18.9.1/32"}, {"raw", "10.77.0.254", "10.77.0.100", "9104"}));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  sniff.reset();  // stopped and reaped: its log is complete
  const std::string seen = read_file(tmp("nat2.log"));
  EXPECT_NE(seen.find("PKT 10.77.0.1 10.77.0.100 17 9102"), std::string::npos) << seen;
  EXPECT_NE(seen.find("PKT 10.77.0.1 10.77.0.100 17 9103"), std::string::npos) << seen;
  EXPECT_EQ(seen.find(" 9104"), std::string::npos) << "a foreign raw source left: " << seen;
}

}  // namespace
}  // namespace vs::test
