// The state file of a context (kernel-shim/context_state.cc): round trip of every record and
// strict parsing of malformed files.
#include "kernel-shim/context_state.h"

#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/resource.h>

#include <string>

namespace vs::shim {
namespace {

constexpr CapMask bit(int cap) { return CapMask{1} << cap; }

NetAddress addr(const char* text) {
  auto a = parse_net_address(text);
  EXPECT_TRUE(a) << text;
  return a ? *a : NetAddress{};
}

std::string formatted(const std::vector<NetAddress>& v) {
  std::string s;
  for (const auto& a : v) s += format_net_address(a) + " ";
  return s;
}

ContextState full_state() {
  ContextState st;
  st.xid = Xid(4242);
  st.stage = ContextStage::kRunning;
  st.namespaces = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWNET;
  st.persistent = true;
  st.init_pid = 1234;
  st.init_start = 987654321;
  st.creator_pid = 1200;
  st.created = 1700000000;
  st.name = "web1";
  st.unix_scope = UnixScopeMode::kLandlock;
  st.ns_inodes["mnt"] = 4026532001;
  st.ns_inodes["uts"] = 4026532002;
  Confinement& c = st.confinement;
  c.bcaps = bit(CAP_CHOWN) | bit(CAP_KILL);
  c.ccaps = "set_rlimit";
  c.flags = "private";
  c.seccomp.allow = {"keyctl", "add_key"};
  c.seccomp.deny = {"getcwd"};
  c.rlimits = {{RLIMIT_NOFILE, {1024, 4096}},
               {RLIMIT_CORE, {0, RLIM_INFINITY}},
               {RLIMIT_AS, {RLIM_INFINITY, RLIM_INFINITY}}};
  st.net.addrs.v4 = {addr("10.0.0.2/24"), addr("10.0.0.3/24")};
  st.net.addrs.v6 = {addr("2001:db8::2/64")};
  IsolatedNet& iso = st.net.isolated.emplace();
  iso.link = IsoLink::kVeth;
  iso.ifname = "eth0";
  iso.device = "vsbr0";
  iso.host_veth = "vsv4242";
  iso.gateways = {addr("10.0.0.1/24")};
  iso.nat = true;
  return st;
}

TEST(ContextState, RoundTrip) {
  const ContextState st = full_state();
  auto back = ContextState::parse(st.serialize(), "state");
  ASSERT_TRUE(back) << back.error().message() << "\n" << st.serialize();
  EXPECT_EQ(back->xid, Xid(4242));
  EXPECT_EQ(back->stage, ContextStage::kRunning);
  EXPECT_EQ(back->namespaces, st.namespaces);
  EXPECT_TRUE(back->persistent);
  EXPECT_EQ(back->init_pid, 1234);
  EXPECT_EQ(back->init_start, 987654321u);
  EXPECT_EQ(back->creator_pid, 1200);
  EXPECT_EQ(back->created, 1700000000);
  EXPECT_EQ(back->name, "web1");
  EXPECT_EQ(back->unix_scope, UnixScopeMode::kLandlock);
  EXPECT_EQ(back->ns_inodes, st.ns_inodes);
  EXPECT_EQ(back->confinement, st.confinement);
  EXPECT_EQ(formatted(back->net.addrs.all()), formatted(st.net.addrs.all()));
  ASSERT_TRUE(back->net.isolated);
  EXPECT_EQ(back->net.isolated->link, IsoLink::kVeth);
  EXPECT_EQ(back->net.isolated->ifname, "eth0");
  EXPECT_EQ(back->net.isolated->device, "vsbr0");
  EXPECT_EQ(back->net.isolated->host_veth, "vsv4242");
  EXPECT_EQ(formatted(back->net.isolated->gateways), "10.0.0.1/24 ");
  EXPECT_TRUE(back->net.isolated->nat);
  EXPECT_EQ(back->serialize(), st.serialize());
}

TEST(ContextState, RoundTripOfTheDefaultsAndOtherModes) {
  ContextState st;
  st.xid = Xid(2);
  auto back = ContextState::parse(st.serialize(), "state");
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->unix_scope, UnixScopeMode::kNone);
  EXPECT_EQ(back->confinement, Confinement{});
  EXPECT_FALSE(back->confinement.bcaps) << "no bounding set recorded: the guest default";
  EXPECT_FALSE(back->net.any());

  st.unix_scope = UnixScopeMode::kBpfLsm;
  st.confinement.bcaps = 0;  // recorded, and empty: not the default
  st.confinement.seccomp.enabled = false;
  st.net.addrs.v4 = {addr("192.0.2.7/32")};
  back = ContextState::parse(st.serialize(), "state");
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->unix_scope, UnixScopeMode::kBpfLsm);
  EXPECT_EQ(back->confinement.bcaps, std::optional<CapMask>(0));
  EXPECT_FALSE(back->confinement.seccomp.enabled);
  EXPECT_TRUE(back->net.is_shared());
  EXPECT_FALSE(back->net.shared_nat);

  // Shared mode's host side: addresses on host devices and masquerade rules.
  st.net.host_addrs = {{3, addr("192.0.2.7/24")}, {7, addr("2001:db8::7/64")}};
  st.net.shared_nat = true;
  back = ContextState::parse(st.serialize(), "state");
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->net.host_addrs, st.net.host_addrs);
  EXPECT_TRUE(back->net.shared_nat);
  st.net.host_addrs.clear();
  st.net.shared_nat = false;

  st.net.isolated.emplace();
  st.net.isolated->link = IsoLink::kMacvlan;
  st.net.isolated->ifname = "eth0";
  st.net.isolated->device = "enp1s0";
  back = ContextState::parse(st.serialize(), "state");
  ASSERT_TRUE(back) << back.error().message();
  ASSERT_TRUE(back->net.isolated);
  EXPECT_EQ(back->net.isolated->link, IsoLink::kMacvlan);
  EXPECT_TRUE(back->net.isolated->host_veth.empty());
  EXPECT_FALSE(back->net.isolated->nat);
}

// The lines other tools and the man pages (vlimit.8) name.
TEST(ContextState, KeysOnDisk) {
  const std::string text = full_state().serialize();
  for (const char* line :
       {"\nunix_scope=landlock\n", "\nattr.bcaps=CAP_CHOWN,CAP_KILL\n", "\nattr.ccaps=set_rlimit\n",
        "\nattr.flags=private\n", "\nattr.seccomp=default\n",
        "\nattr.seccomp.allow=keyctl,add_key\n", "\nattr.seccomp.deny=getcwd\n",
        "\nattr.rlimit.nofile=1024:4096\n", "\nattr.rlimit.core=0:inf\n",
        "\nattr.rlimit.as=inf:inf\n", "\nattr.net.ip=10.0.0.2/24,10.0.0.3/24,2001:db8::2/64\n",
        "\nattr.net.mode=isolated\n", "\nattr.net.link=veth\n", "\nattr.net.veth=vsv4242\n",
        "\nattr.net.gw=10.0.0.1/24\n", "\nattr.net.nat=1\n"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line << " not in\n" << text;
  }
}

TEST(Confinement, BoundingIsTheGuestDefaultOrTheRecordedSetWithTheCcapsGrants) {
  Confinement c;
  EXPECT_EQ(c.bounding(), default_guest_bcaps());
  c.bcaps = bit(CAP_KILL);
  c.ccaps = "set_rlimit";
  EXPECT_EQ(c.bounding(), bit(CAP_KILL) | bit(CAP_SYS_RESOURCE));
  EXPECT_FALSE(c.is_private());
  c.flags = "private";
  EXPECT_TRUE(c.is_private());
}

TEST(Confinement, CheckRefusesWhatTheStateFileCouldNotHold) {
  Confinement good;
  good.ccaps = "set_rlimit";
  good.flags = "private";
  EXPECT_TRUE(check_confinement(good));
  Confinement c = good;
  c.ccaps = "set_utsname";  // refused on stock kernels
  EXPECT_FALSE(check_confinement(c));
  c = good;
  c.flags = "lock";  // implied, never recorded
  EXPECT_FALSE(check_confinement(c));
  c = good;
  c.seccomp.allow = {"fooo"};
  EXPECT_FALSE(check_confinement(c));
  c = good;
  c.rlimits[RLIMIT_NOFILE] = {200, 100};
  EXPECT_FALSE(check_confinement(c));
}

TEST(ContextState, RejectsBadInput) {
  struct Case {
    const char* text;
    const char* why;
  };
  const Case cases[] = {
      {"", "no xid"},
      {"stage=setup\n", "no xid"},
      {"xid=42\nstage=bogus\n", "stage"},
      {"xid=42\npersistent=2\n", "persistent"},
      {"xid=042\n", "bad xid"},
      {"xid=42\ninit_pid=-1\n", "init_pid"},
      {"xid=42\nnoequals\n", "key=value"},
      {"xid=42\ncolour=blue\n", "unknown key"},
      {"xid=42\nnamespaces=mnt,foo\n", "namespaces"},
      {"xid=42\nns.foo=1\n", "unknown key"},
      {"xid=42\nunix_scope=apparmor\n", "unix_scope"},
      {"xid=42\nxid=43\n", "given twice"},
      {"xid=42\nattr.bcaps=CAP_KILL\nattr.bcaps=CAP_CHOWN\n", "given twice"},
      {"xid=42\nattr.colour=blue\n", "attr.colour"},
      {"xid=42\nattr.=x\n", "unknown key"},
      {"xid=42\nattr.bcaps=CAP_KILL,junk\n", "junk"},
      {"xid=42\nattr.ccaps=set_utsname\n", "set_utsname"},
      {"xid=42\nattr.ccaps=bogus\n", "bogus"},
      {"xid=42\nattr.flags=private,lock\n", "lock"},
      {"xid=42\nattr.seccomp=off\n", "attr.seccomp"},
      {"xid=42\nattr.seccomp.allow=keyctl,fooo\n", "fooo"},
      {"xid=42\nattr.seccomp.deny=keyctl,,getcwd\n", "empty"},
      {"xid=42\nattr.seccomp.foo=bar\n", "attr.seccomp.foo"},
      {"xid=42\nattr.seccomp.allow=keyctl\nattr.seccomp.deny=keyctl\n", "both allowed and denied"},
      {"xid=42\nattr.rlimit.bogus=1:1\n", "bogus"},
      {"xid=42\nattr.rlimit.=1:1\n", "attr.rlimit."},
      {"xid=42\nattr.rlimit.nofile=100\n", "SOFT:HARD"},
      {"xid=42\nattr.rlimit.nofile=200:100\n", "above the hard limit"},
      {"xid=42\nattr.rlimit.nofile=x:1\n", "attr.rlimit.nofile"},
      {"xid=42\nattr.rlimit.nofile=1:1:1\n", "attr.rlimit.nofile"},
      {"xid=42\nattr.net.ip=10.0.0.300\n", "attr.net.ip"},
      {"xid=42\nattr.net.ip=10.0.0.2,10.0.0.2\n", "given twice"},
      {"xid=42\nattr.net.mode=shared\n", "expected isolated"},
      {"xid=42\nattr.net.link=veth\n", "without attr.net.mode=isolated"},
      {"xid=42\nattr.net.nat=1\n", "without attr.net.mode=isolated"},
      {"xid=42\nattr.net.mode=isolated\nattr.net.if=eth0\nattr.net.bridge=br\n", "net.link"},
      {"xid=42\nattr.net.mode=isolated\nattr.net.link=veth\nattr.net.bridge=br\n", "net.if"},
      {"xid=42\nattr.net.mode=isolated\nattr.net.link=veth\nattr.net.if=eth0\n", "net.bridge"},
      {"xid=42\nattr.net.mode=isolated\nattr.net.link=veth\nattr.net.if=eth0\n"
       "attr.net.bridge=br\n",
       "attr.net.veth"},
      {"xid=42\nattr.net.mode=isolated\nattr.net.link=macvlan\nattr.net.if=eth0\n"
       "attr.net.bridge=enp1s0\nattr.net.veth=vsv42\n",
       "attr.net.veth"},
      {"xid=42\nattr.net.link=tun\n", "veth or macvlan"},
      {"xid=42\nattr.net.if=\n", "empty"},
      {"xid=42\nattr.net.gw=nope\n", "attr.net.gw"},
      {"xid=42\nattr.net.nat=yes\n", "attr.net.nat"},
      {"xid=42\nattr.net.nat=1\n", "attr.net.nat"},
      {"xid=42\nattr.net.hostaddr=3\n", "IFINDEX@ADDRESS"},
      {"xid=42\nattr.net.hostaddr=0@10.0.0.1/24\n", "net.hostaddr"},
      {"xid=42\nattr.net.hostaddr=3@10.0.0.300/24\n", "10.0.0.300"},
      {"xid=42\nattr.net.mode=isolated\nattr.net.link=veth\nattr.net.if=eth0\n"
       "attr.net.bridge=br0\nattr.net.veth=vsv42\nattr.net.hostaddr=3@10.0.0.1/24\n",
       "attr.net.hostaddr"},
      {"xid=42\nattr.net.colour=blue\n", "attr.net.colour"},
  };
  for (const auto& c : cases) {
    auto r = ContextState::parse(c.text, "/run/x/state");
    ASSERT_FALSE(r) << c.text;
    EXPECT_EQ(r.error().op, "parse") << c.text;
    EXPECT_NE(r.error().message().find(c.why), std::string::npos)
        << c.text << " -> " << r.error().message();
    EXPECT_NE(r.error().message().find("/run/x/state"), std::string::npos) << r.error().message();
  }
}

TEST(ContextState, LineNumberInError) {
  auto r = ContextState::parse("xid=42\nstage=setup\nstage=nope\n", "f");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("f:3"), std::string::npos) << r.error().message();
  r = ContextState::parse("xid=42\n\nattr.bcaps=CAP_KILL,junk\n", "f");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("f:3`: key `attr.bcaps`"), std::string::npos)
      << r.error().message();
}

}  // namespace
}  // namespace vs::shim
