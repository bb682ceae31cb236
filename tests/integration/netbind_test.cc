// chbind / netbind on a shared stack. The "host stack" of the guests is a network namespace H
// the suite makes (addresses 10.77.0.1 = guest A, .2 = guest B, .254 = a host address, and
// fd00:77::1, ::2, ::fe the same in IPv6) on a veth whose peer is in the client namespace C
// (10.77.0.100, fd00:77::64). Contexts are created inside H
// (nsenter --net, no other namespace changes) so they share its stack. Each test uses its own
// static xids (412xx); everything made here is removed at the end.
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "kernel-shim/cgroup.h"
#include "kernel-shim/netbind.h"
#include "kernel-shim/xid.h"
#include "tests/integration/netbind_fixture.h"

namespace vs::test {
namespace {

using namespace netbind;  // NOLINT: the fixture's helpers

TEST_F(Netbind, ServiceOnTheWildcardIsReachableAtTheGuestsAddressOnly) {
  Server a(in_guest("41201", {"10.77.0.1/24"}, {"serve", "0.0.0.0", "8080", "READY", "STOP"}),
           "a1");
  ASSERT_TRUE(wait_for_file(a.ready)) << read_file(tmp("a1.log"));
  EXPECT_EQ(a.address(), "10.77.0.1 8080");
  auto ok = run_cmd(in_ns(ns_c(), {"connect", "10.77.0.1", "8080"}));
  EXPECT_NE(ok.out.find("PEER 10.77.0.100"), std::string::npos) << ok.out << ok.err;
  for (const char* other : {"10.77.0.2", "10.77.0.254"}) {
    auto no = run_cmd(in_ns(ns_c(), {"connect", other, "8080"}));
    EXPECT_NE(no.out.find("ERR"), std::string::npos) << other << ": " << no.out;
  }
  auto show = run_cmd({tool_path("chbind"), "--show", "--xid", "41201"});
  EXPECT_EQ(show.out, "mode shared\nip 10.77.0.1/24\nloopback 127.160.241.1\n") << show.err;
}

TEST_F(Netbind, ListenWithoutBindServesNoForeignAddress) {
  Server a(in_guest("41202", {"10.77.0.1/24"}, {"listen", "0.0.0.0", "8081", "READY", "STOP"}),
           "a2");
  ASSERT_TRUE(wait_for_file(a.ready)) << read_file(tmp("a2.log"));
  // listen() autobinds a port on the wildcard: "0.0.0.0 PORT".
  std::string port = a.address().substr(a.address().find(' ') + 1);
  EXPECT_EQ(a.address(), "0.0.0.0 " + port);
  auto foreign = run_cmd(in_ns(ns_c(), {"connect", "10.77.0.254", port}));
  EXPECT_NE(foreign.out.find("ERR"), std::string::npos) << foreign.out;
  auto own = run_cmd(in_ns(ns_c(), {"connect", "10.77.0.1", port}));
  EXPECT_NE(own.out.find("PEER"), std::string::npos) << own.out;
}

TEST_F(Netbind, GuestCannotBindForeignAddresses) {
  auto bind = [&](const std::string& xid, const std::string& addr) {
    auto r = run_cmd(in_guest(xid, {"10.77.0.1/24"}, {"bind", addr}));
    EXPECT_EQ(r.status, 0) << r.err;
    return r.out;
  };
  EXPECT_EQ(bind("41203", "10.77.0.2"), "ERR 1\n");
  EXPECT_EQ(bind("41203", "10.77.0.254"), "ERR 1\n");
  EXPECT_EQ(bind("41203", "::ffff:10.77.0.2"), "ERR 1\n");
  EXPECT_EQ(bind("41203", "::"), "OK ::ffff:10.77.0.1\n");  // no v6 address: the v4 one
  EXPECT_EQ(bind("41203", "0.0.0.0"), "OK 10.77.0.1\n");
  EXPECT_EQ(bind("41203", "::ffff:0.0.0.0"), "OK ::ffff:10.77.0.1\n");
  EXPECT_EQ(bind("41203", "10.77.0.1"), "OK 10.77.0.1\n");
  EXPECT_EQ(bind("41203", "127.0.0.1"),
            "OK " + vs::shim::loopback_str(vs::shim::Xid(41203)) + "\n");
}

TEST_F(Netbind, OutgoingConnectionsCarryTheGuestsAddress) {
  Server c(in_ns(ns_c(), {"serve", "10.77.0.100", "9090", "READY", "STOP"}), "c1");
  ASSERT_TRUE(wait_for_file(c.ready)) << read_file(tmp("c1.log"));
  auto r = run_cmd(in_guest("41204", {"10.77.0.1/24"}, {"connect", "10.77.0.100", "9090"}));
  EXPECT_EQ(r.out, "OK 10.77.0.1\nPEER 10.77.0.1\n") << r.err;
}

TEST_F(Netbind, GuestCannotReachTheHostsLoopback) {
  Server h(in_ns(ns_h(), {"serve", "127.0.0.1", "7070", "READY", "STOP"}), "h1");
  ASSERT_TRUE(wait_for_file(h.ready)) << read_file(tmp("h1.log"));
  auto control = run_cmd(in_ns(ns_h(), {"connect", "127.0.0.1", "7070"}));
  ASSERT_NE(control.out.find("PEER"), std::string::npos) << "control: " << control.out;
  auto r = run_cmd(in_guest("41205", {"10.77.0.1/24"}, {"connect", "127.0.0.1", "7070"}));
  EXPECT_EQ(r.out.find("PEER"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ERR"), std::string::npos) << r.out << r.err;
}

TEST_F(Netbind, GuestsHaveSeparateLoopbacks) {
  auto self = run_cmd(in_guest("41206", {"10.77.0.1/24"}, {"selfloop", "7071"}));
  EXPECT_EQ(self.out, "OK " + vs::shim::loopback_str(vs::shim::Xid(41206)) + "\n") << self.err;
  Server a(in_guest("41206", {"10.77.0.1/24"}, {"serve", "127.0.0.1", "7072", "READY", "STOP"}),
           "a6");
  ASSERT_TRUE(wait_for_file(a.ready)) << read_file(tmp("a6.log"));
  const std::string a_lo = vs::shim::loopback_str(vs::shim::Xid(41206));
  EXPECT_EQ(a.address(), a_lo + " 7072");
  for (const std::string& target : {std::string("127.0.0.1"), a_lo}) {
    auto b = run_cmd(in_guest("41207", {"10.77.0.2/24"}, {"connect", target, "7072"}));
    EXPECT_EQ(b.out.find("PEER"), std::string::npos) << target << ": " << b.out;
  }
}

TEST_F(Netbind, DuplicateAddressIsRefusedNamingTheOtherContext) {
  Server a(in_guest("41208", {"10.77.0.1/24"}, {"serve", "0.0.0.0", "8082", "READY", "STOP"}),
           "a8");
  ASSERT_TRUE(wait_for_file(a.ready)) << read_file(tmp("a8.log"));
  auto b = run_cmd(in_guest("41209", {"10.77.0.2/24", "10.77.0.1"}, {"bind", "0.0.0.0"}));
  EXPECT_EQ(b.status, 2) << b.out << b.err;
  EXPECT_NE(b.err.find("context 41208"), std::string::npos) << b.err;
  EXPECT_EQ(b.out, "");
}

TEST_F(Netbind, NothingIsLeftAfterTheContextIsGone) {
  auto r = run_cmd(in_guest("41210", {"10.77.0.1/24"}, {"bind", "0.0.0.0"}));
  ASSERT_EQ(r.status, 0) << r.err;
  auto layout = vs::shim::CgroupLayout::discover();
  ASSERT_TRUE(layout);
  // list() reaps the dead entry; then the cgroup (and the programs with it) is gone.
  run_cmd({tool_path("vattribute"), "--get", "--xid", "41210"});
  struct stat st {};
  std::string dir = layout->v2_root + "/" + root_env().cgroup_parent + "/41210";
  EXPECT_NE(::stat(dir.c_str(), &st), 0) << dir << " still exists";
}

// What arrives in C: a sniffer (AF_PACKET) on C's end of the veth, started and stopped
// around a set of probes. Every probe sends to C; what C receives is the proof, not what
// the sender's send() returned.
struct Sniffer {
  Server proc;
  explicit Sniffer(const std::vector<std::string>& argv) : proc(argv, "sniff") {}
  [[nodiscard]] std::string packets() const { return read_file(root_env().tmp + "/sniff.log"); }
  // Waits until `line` ("PKT SRC DST PROTO PORT") has arrived.
  [[nodiscard]] bool wait_for(const std::string& line) const {
    for (int i = 0; i < 100; ++i) {
      if (packets().find(line + "\n") != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  // The lines whose source is `src`.
  [[nodiscard]] std::vector<std::string> from(const std::string& src) const {
    std::vector<std::string> out;
    std::istringstream in(packets());
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("PKT " + src + " ", 0) == 0) out.push_back(line);
    }
    return out;
  }
};

// The addresses of H a guest bound to 10.77.0.1 / fd00:77::1 must never send from.
const std::vector<std::string> kForeign = {"10.77.0.2", "10.77.0.254", "fd00:77::2",
                                           "fd00:77::fe"};

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

// E25: a UDP source given with IP_PKTINFO / IPV6_PKTINFO (unconnected, or on a connected
// socket where the sendmsg hook sees no destination), and an AF_INET6 socket connected to a
// v4-mapped destination. Foreign sources are EPERM, and nothing arrives from them.
TEST_F(Netbind, SpoofedUdpSourcesNeverLeave) {
  Sniffer sniff(in_ns(ns_c(), {"sniff", "vsc" + suffix(), "READY", "STOP"}));
  ASSERT_TRUE(wait_for_file(sniff.proc.ready)) << sniff.packets();
  const std::vector<std::string> ips{"10.77.0.1/24", "fd00:77::1/64"};
  auto probe = [&](const std::vector<std::string>& args) {
    auto r = run_cmd(in_guest("41212", ips, args));
    EXPECT_EQ(r.status, 0) << r.err;
    return r.out;
  };
  EXPECT_EQ(probe({"udp", "10.77.0.100", "5102", "pktinfo", "10.77.0.2"}), "SEND ERR 1\n");
  EXPECT_EQ(probe({"udp", "10.77.0.100", "5103", "pktinfo", "10.77.0.254"}), "SEND ERR 1\n");
  EXPECT_EQ(probe({"udp", "10.77.0.100", "5104", "pktinfo", "10.77.0.2", "connected"}),
            "CONNECT OK\nSEND ERR 1\n");
  EXPECT_EQ(probe({"udp6-mapped", "10.77.0.100", "5105", "10.77.0.2"}),
            "CONNECT OK\nLOCAL OK ::ffff:10.77.0.1\nSEND OK\nSENDTO OK\nPKTINFO ERR 1\n");
  EXPECT_EQ(probe({"udp", "fd00:77::64", "5107", "pktinfo", "fd00:77::2"}), "SEND ERR 1\n");
  EXPECT_EQ(probe({"udp", "fd00:77::64", "5108", "pktinfo", "fd00:77::fe", "connected"}),
            "CONNECT OK\nSEND ERR 1\n");
  // Controls: no source given, and the own address given, leave with the guest's address.
  EXPECT_EQ(probe({"udp", "10.77.0.100", "5101"}), "SEND OK\n");
  EXPECT_EQ(probe({"udp", "10.77.0.100", "5109", "pktinfo", "10.77.0.1"}), "SEND OK\n");
  EXPECT_EQ(probe({"udp", "fd00:77::64", "5106"}), "SEND OK\n");
  EXPECT_TRUE(sniff.wait_for("PKT 10.77.0.1 10.77.0.100 17 5101")) << sniff.packets();
  EXPECT_TRUE(sniff.wait_for("PKT 10.77.0.1 10.77.0.100 17 5109")) << sniff.packets();
  EXPECT_TRUE(sniff.wait_for("PKT fd00:77::1 fd00:77::64 17 5106")) << sniff.packets();
  // The mapped sends (send and sendto) arrive from the guest's v4 address, twice.
  auto own = sniff.from("10.77.0.1");
  EXPECT_EQ(std::count(own.begin(), own.end(), "PKT 10.77.0.1 10.77.0.100 17 5105"), 2)
      << sniff.packets();
  for (const auto& f : kForeign) EXPECT_EQ(joined(sniff.from(f)), "") << "from " << f;
}

// net.ipv4.ping_group_range of H (per network namespace) for the ping probes, restored.
struct PingGroupRange {
  std::string old;
  PingGroupRange() {
    old = run_cmd({"ip", "netns", "exec", ns_h(), "sysctl", "-n", "net.ipv4.ping_group_range"})
              .out;
    while (!old.empty() && old.back() == '\n') old.pop_back();
    ok = run_cmd({"ip", "netns", "exec", ns_h(), "sysctl", "-qw",
                  "net.ipv4.ping_group_range=0 2147483647"})
             .status == 0;
  }
  ~PingGroupRange() {
    run_cmd({"ip", "netns", "exec", ns_h(), "sysctl", "-qw", "net.ipv4.ping_group_range=" + old});
  }
  bool ok = false;
};

// E25: raw sockets (IP_HDRINCL, or bound) and unprivileged ping sockets take their own bind
// path, which no bind hook sees: a bind to a foreign address succeeds there. The egress
// filter is what stops them: nothing arrives from a foreign address.
TEST_F(Netbind, RawAndPingSocketsCannotSendFromAForeignAddress) {
  PingGroupRange range;
  ASSERT_TRUE(range.ok) << "could not set net.ipv4.ping_group_range in " << ns_h();
  Sniffer sniff(in_ns(ns_c(), {"sniff", "vsc" + suffix(), "READY", "STOP"}));
  ASSERT_TRUE(wait_for_file(sniff.proc.ready)) << sniff.packets();
  const std::vector<std::string> ips{"10.77.0.1/24", "fd00:77::1/64"};
  auto probe = [&](const std::vector<std::string>& args) {
    auto r = run_cmd(in_guest("41213", ips, args));
    EXPECT_EQ(r.status, 0) << r.err;
    return r.out;
  };
  EXPECT_EQ(probe({"raw", "10.77.0.2", "10.77.0.100", "5201"}), "SEND ERR 1\n");
  EXPECT_EQ(probe({"raw", "fd00:77::fe", "fd00:77::64", "5202"}), "SEND ERR 1\n");
  EXPECT_EQ(probe({"raw-bound", "10.77.0.254", "10.77.0.100"}), "BIND OK\nSEND ERR 1\n");
  EXPECT_EQ(probe({"raw-bound", "fd00:77::2", "fd00:77::64"}), "BIND OK\nSEND ERR 1\n");
  EXPECT_EQ(probe({"ping", "10.77.0.2", "10.77.0.100"}), "BIND OK\nSEND ERR 1\n");
  // ping6 does not report the egress drop (the send "succeeds"): the sniffer decides.
  auto ping6 = probe({"ping", "fd00:77::2", "fd00:77::64"});
  EXPECT_EQ(ping6.rfind("BIND OK\nSEND ", 0), 0u) << ping6;
  // Controls from the guest's own addresses: these arrive.
  EXPECT_EQ(probe({"raw", "10.77.0.1", "10.77.0.100", "5203"}), "SEND OK\n");
  EXPECT_EQ(probe({"raw", "fd00:77::1", "fd00:77::64", "5204"}), "SEND OK\n");
  EXPECT_EQ(probe({"ping", "10.77.0.1", "10.77.0.100"}), "BIND OK\nSEND OK\n");
  EXPECT_EQ(probe({"ping", "fd00:77::1", "fd00:77::64"}), "BIND OK\nSEND OK\n");
  EXPECT_TRUE(sniff.wait_for("PKT 10.77.0.1 10.77.0.100 17 5203")) << sniff.packets();
  EXPECT_TRUE(sniff.wait_for("PKT fd00:77::1 fd00:77::64 17 5204")) << sniff.packets();
  EXPECT_TRUE(sniff.wait_for("PKT 10.77.0.1 10.77.0.100 1 8")) << sniff.packets();
  EXPECT_TRUE(sniff.wait_for("PKT fd00:77::1 fd00:77::64 58 128")) << sniff.packets();
  for (const auto& f : kForeign) EXPECT_EQ(joined(sniff.from(f)), "") << "from " << f;
}

// E24: the rest of the catalogue: UDP, IP_FREEBIND / IPV6_FREEBIND (also for an address no
// interface has), v4-mapped and loopback forms on AF_INET6 sockets.
TEST_F(Netbind, FreebindUdpAndMappedBindsAreCheckedToo) {
  const std::string lo = vs::shim::loopback_str(vs::shim::Xid(41214));
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
      {{"10.77.0.2", "udp"}, "ERR 1"},
      {{"10.77.0.254", "freebind"}, "ERR 1"},
      {{"10.77.0.2", "udp", "freebind"}, "ERR 1"},
      {{"192.0.2.1", "freebind"}, "ERR 1"},
      {{"::ffff:10.77.0.2", "freebind"}, "ERR 1"},
      {{"::ffff:10.77.0.254", "udp"}, "ERR 1"},
      {{"fd00:77::2", "freebind"}, "ERR 1"},
      {{"fd00:77::fe", "udp", "freebind"}, "ERR 1"},
      {{"2001:db8::1", "freebind"}, "ERR 1"},
      {{"0.0.0.0", "udp"}, "OK 10.77.0.1"},
      {{"10.77.0.1", "udp", "freebind"}, "OK 10.77.0.1"},
      {{"127.0.0.1", "udp"}, "OK " + lo},
      {{"127.0.0.5"}, "OK " + lo},
      {{"::ffff:127.0.0.1"}, "OK ::ffff:" + lo},
      {{"::1", "udp"}, "OK ::ffff:" + lo},
  };
  for (const auto& [args, want] : cases) {
    std::vector<std::string> argv{"bind"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_cmd(in_guest("41214", {"10.77.0.1/24", "fd00:77::1/64"}, argv));
    EXPECT_EQ(r.out, want + "\n") << args[0] << (args.size() > 1 ? " " + args[1] : "") << r.err;
  }
}

TEST_F(Netbind, Ipv6WildcardBecomesTheGuestsAddressAndForeignIsRefused) {
  auto bind = [&](const std::vector<std::string>& ips, const std::vector<std::string>& args) {
    std::vector<std::string> argv{"bind"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_cmd(in_guest("41215", ips, argv));
    EXPECT_EQ(r.status, 0) << r.err;
    return r.out;
  };
  const std::vector<std::string> dual{"10.77.0.1/24", "fd00:77::1/64"};
  EXPECT_EQ(bind(dual, {"::"}), "OK fd00:77::1\n");
  EXPECT_EQ(bind(dual, {"::", "udp"}), "OK fd00:77::1\n");
  EXPECT_EQ(bind(dual, {"fd00:77::1"}), "OK fd00:77::1\n");
  EXPECT_EQ(bind(dual, {"fd00:77::2"}), "ERR 1\n");
  EXPECT_EQ(bind(dual, {"fd00:77::fe", "udp"}), "ERR 1\n");
  // A v6-only guest: `::` is its v6 address, there is no v4 to rewrite 0.0.0.0 to.
  const std::vector<std::string> v6only{"fd00:77::1/64"};
  EXPECT_EQ(bind(v6only, {"::"}), "OK fd00:77::1\n");
  EXPECT_EQ(bind(v6only, {"0.0.0.0"}), "ERR 1\n");
  EXPECT_EQ(bind(v6only, {"10.77.0.1"}), "ERR 1\n");
}

TEST_F(Netbind, Ipv6ServiceOnTheWildcardIsReachableAtTheGuestsAddressOnly) {
  Server a(in_guest("41216", {"10.77.0.1/24", "fd00:77::1/64"},
                    {"serve", "::", "8083", "READY", "STOP"}),
           "a16");
  ASSERT_TRUE(wait_for_file(a.ready)) << read_file(tmp("a16.log"));
  EXPECT_EQ(a.address(), "fd00:77::1 8083");
  auto ok = run_cmd(in_ns(ns_c(), {"connect", "fd00:77::1", "8083"}));
  EXPECT_NE(ok.out.find("PEER fd00:77::64"), std::string::npos) << ok.out << ok.err;
  for (const char* other : {"fd00:77::2", "fd00:77::fe", "10.77.0.1"}) {
    auto no = run_cmd(in_ns(ns_c(), {"connect", other, "8083"}));
    EXPECT_NE(no.out.find("ERR"), std::string::npos) << other << ": " << no.out;
  }
}

TEST_F(Netbind, Ipv6OutgoingConnectionsCarryTheGuestsAddress) {
  Server c(in_ns(ns_c(), {"serve", "fd00:77::64", "9092", "READY", "STOP"}), "c17");
  ASSERT_TRUE(wait_for_file(c.ready)) << read_file(tmp("c17.log"));
  // Each guest connects from its own first v6 address, whatever H would choose.
  auto a = run_cmd(in_guest("41217", {"10.77.0.1/24", "fd00:77::1/64"},
                            {"connect", "fd00:77::64", "9092"}));
  EXPECT_EQ(a.out, "OK fd00:77::1\nPEER fd00:77::1\n") << a.err;
  auto b = run_cmd(in_guest("41218", {"fd00:77::2/64"}, {"connect", "fd00:77::64", "9092"}));
  EXPECT_EQ(b.out, "OK fd00:77::2\nPEER fd00:77::2\n") << b.err;
}

// ::1 inside is the guest's private loopback (as ::ffff:127.X.Y.1): its own services are
// reachable there, the host's [::1] services and other guests' are not (E26).
TEST_F(Netbind, Ipv6LoopbackIsTheGuestsPrivateLoopback) {
  const std::vector<std::string> ips{"10.77.0.1/24", "fd00:77::1/64"};
  const std::string lo = vs::shim::loopback_str(vs::shim::Xid(41219));
  auto self = run_cmd(in_guest("41219", ips, {"selfloop", "7075", "::1"}));
  EXPECT_EQ(self.out, "OK ::ffff:" + lo + "\n") << self.err;
  Server h(in_ns(ns_h(), {"serve", "::1", "7076", "READY", "STOP"}), "h19");
  ASSERT_TRUE(wait_for_file(h.ready)) << read_file(tmp("h19.log"));
  auto control = run_cmd(in_ns(ns_h(), {"connect", "::1", "7076"}));
  ASSERT_NE(control.out.find("PEER"), std::string::npos) << "control: " << control.out;
  auto r = run_cmd(in_guest("41219", ips, {"connect", "::1", "7076"}));
  EXPECT_EQ(r.out.find("PEER"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ERR"), std::string::npos) << r.out << r.err;
  Server a(in_guest("41219", ips, {"serve", "::1", "7077", "READY", "STOP"}), "a19");
  ASSERT_TRUE(wait_for_file(a.ready)) << read_file(tmp("a19.log"));
  EXPECT_EQ(a.address(), "::ffff:" + lo + " 7077");
  auto b = run_cmd(in_guest("41220", {"10.77.0.2/24", "fd00:77::2/64"},
                            {"connect", "::1", "7077"}));
  EXPECT_EQ(b.out.find("PEER"), std::string::npos) << b.out;
}

TEST(Chbind, RefusesBadAddressesAndTheHost) {
  for (const char* bad : {"10.0.0", "10.0.0.1/33", "10.0.0.1/", "0.0.0.0", "127.0.0.2",
                          "::1", "::ffff:1.2.3.4", "fe80::1/129", "10.0.0.01x", "224.0.0.1"}) {
    auto r = run_cmd({tool_path("chbind"), "--xid", "41211", "--ip", bad});
    EXPECT_EQ(r.status, 2) << bad << ": " << r.err;
  }
  auto host = run_cmd({tool_path("chbind"), "--ip", "10.0.0.1"});
  EXPECT_EQ(host.status, 2);
  EXPECT_NE(host.err.find("vcontext --create -- chbind"), std::string::npos) << host.err;
  auto none = run_cmd({tool_path("chbind"), "--show", "--xid", "41211"});
  EXPECT_EQ(none.status, 3) << none.err;
}

}  // namespace
}  // namespace vs::test
