// `vserver` guests on the shared stack end to end (issue 20): the address goes on its `dev`
// with a label naming the guest and comes off at stop, after a crash and when the state was
// lost; `nodev` and a missing `dev` are checked at start; `nat = true`; a daemon on the
// wildcard (and busybox httpd's dual-stack `::`) serves the guest's address and its
// localhost. Everything runs in a test-made "host" namespace H whose devices are a veth pair
// (vstd0/vstd1) made inside it; the real host's network is never touched.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <fcntl.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "kernel-shim/netshared.h"
#include "kernel-shim/rtnl.h"
#include "lib/base/unique_fd.h"
#include "tests/integration/vserver_cli.h"
#include "tests/support/bg_process.h"
#include "tests/support/files.h"
#include "tests/support/root_env.h"
#include "tests/support/run_cmd.h"

namespace vs::test {
namespace {

namespace fs = std::filesystem;

bool sh(const std::string& cmd) { return run_cmd({"/bin/sh", "-c", cmd}).status == 0; }

class VserverSharedNet : public ::testing::Test {
 protected:
  void SetUp() override {
    ns_ = "vst-sh-" + std::to_string(::getpid());
    ASSERT_TRUE(sh("ip netns add " + ns_ + " && ip -n " + ns_ +
                   " link add vstd0 type veth peer name vstd1 && ip -n " + ns_ +
                   " link set vstd0 up && ip -n " + ns_ + " link set vstd1 up && ip -n " + ns_ +
                   " link set lo up"));
  }
  void TearDown() override { sh("ip netns del " + ns_); }
  CmdResult in_h(std::vector<std::string> argv) const {
    // nsenter, not `ip netns exec`: that one remounts /sys, hiding the cgroup hierarchies.
    argv.insert(argv.begin(), {"nsenter", "--net=/run/netns/" + ns_, "--"});
    return run_cmd(argv);
  }
  CmdResult vs(std::vector<std::string> args) const {
    args.insert(args.begin(), tool_path("vserver"));
    return in_h(args);
  }
  std::string addrs() const { return in_h({"ip", "-o", "addr", "show", "dev", "vstd0"}).out; }
  // Polls `cmd` in H until its output has `want` (a daemon the guest starts needs a moment).
  bool eventually(const std::vector<std::string>& cmd, const std::string& want,
                  std::string* last) const {
    for (int i = 0; i < 100; ++i) {
      *last = in_h(cmd).out;
      if (last->find(want) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }
  std::string ns_;
};

// The address goes on vstd0 with its prefix (IPv4 with the label vstd0:vs-NAME), a daemon
// binds it and serves it, and also localhost inside; stop takes it off. After a kill -9 of
// the guest the next --list takes it off; so it does with marked addresses no state holds.
TEST_F(VserverSharedNet, AddressGoesOnItsDevAndComesOffAlsoAfterACrash) {
  const std::string name = "shnet1";
  build(name, "[[interfaces]]\naddress = \"198.18.5.2/24\"\ndev = \"vstd0\"\n"
              "[[interfaces]]\naddress = \"fd00:5::2/64\"\ndev = \"vstd0\"\n");
  fs::create_directories(vdir(name) + "/www");
  write(vdir(name) + "/www/index.html", "hello from shnet1\n");
  auto r = vs({name, "start"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string a = addrs();
  EXPECT_NE(a.find("inet 198.18.5.2/24"), std::string::npos) << a;
  EXPECT_NE(a.find("vstd0:vs-shnet1"), std::string::npos) << a;
  EXPECT_NE(a.find("inet6 fd00:5::2/64"), std::string::npos) << a;
  // In the foreground, as an entrant: what an entrant leaves behind dies with it.
  auto httpd = std::make_unique<BgProcess>(
      std::vector<std::string>{"nsenter", "--net=/run/netns/" + ns_, "--", tool_path("vserver"),
                               name, "exec", "busybox", "httpd", "-f", "-p", "0.0.0.0:8099",
                               "-h", "/www"},
      root_env().tmp + "/shnet1-httpd.log");
  std::string got;
  EXPECT_TRUE(eventually({"busybox", "wget", "-q", "-O", "-",
                          "http://198.18.5.2:8099/"},
                         "hello from shnet1", &got))
      << got << slurp(root_env().tmp + "/shnet1-httpd.log");
  r = vs({name, "exec", "busybox", "wget", "-q", "-O", "-", "http://127.0.0.1:8099/"});
  EXPECT_EQ(r.out, "hello from shnet1\n") << "localhost inside the guest: " << r.err;
  r = in_h({"busybox", "wget", "-q", "-O", "-", "http://127.0.0.1:8099/"});
  EXPECT_NE(r.status, 0) << "not on H's loopback: " << r.out;
  httpd.reset();
  r = vs({name, "stop"});
  EXPECT_EQ(r.status, 0) << r.err;
  a = addrs();
  EXPECT_EQ(a.find("198.18.5.2"), std::string::npos) << a;
  EXPECT_EQ(a.find("fd00:5::2"), std::string::npos) << a;

  // kill -9 of the guest's init: the next start (of another guest) or --list takes the
  // addresses off.
  auto crash = [&] {
    auto started = vs({name, "start"});
    ASSERT_EQ(started.status, 0) << started.err;
    std::string state;
    for (const auto& e : rundir_entries()) {
      if (e.find(".lock") == std::string::npos) {
        state = slurp(root_env().rundir + "/" + e + "/state");
      }
    }
    const size_t at = state.find("\ninit_pid=");
    ASSERT_NE(at, std::string::npos) << state;
    const pid_t init = static_cast<pid_t>(std::stol(state.substr(at + 10)));
    ASSERT_EQ(::kill(init, SIGKILL), 0);
    for (int i = 0; i < 50 && ::kill(init, 0) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_NE(addrs().find("198.18.5.2"), std::string::npos) << "still there after the crash";
  };
  crash();
  build("shnet1b");
  r = vs({"shnet1b", "start"});
  EXPECT_EQ(r.status, 0) << r.err;
  a = addrs();
  EXPECT_EQ(a.find("198.18.5.2"), std::string::npos) << a;
  EXPECT_EQ(a.find("fd00:5::2"), std::string::npos) << a;
  remove_guest("shnet1b");
  crash();
  r = vs({"--list"});
  EXPECT_EQ(r.status, 0) << r.err;
  a = addrs();
  EXPECT_EQ(a.find("198.18.5.2"), std::string::npos) << a;
  EXPECT_EQ(a.find("fd00:5::2"), std::string::npos) << a;
  EXPECT_TRUE(rundir_entries().empty());

  // Marked addresses that no state records (a lost run directory): --list removes them,
  // and leaves the administrator's alone.
  ASSERT_TRUE(sh("ip -n " + ns_ + " addr add 198.18.5.9/24 dev vstd0 label vstd0:vs-ghost && "
                 "ip -n " + ns_ + " addr add 198.18.6.100/24 dev vstd0"));
  {
    // An IPv6 address has no label: the address protocol marks it (iproute2 6.1 cannot
    // set one, the shim's client can).
    UniqueFd netns(::open(("/run/netns/" + ns_).c_str(), O_RDONLY | O_CLOEXEC));
    auto h = shim::Rtnl::open_in(netns.get(), "H");
    ASSERT_TRUE(h) << h.error().message();
    auto dev = h->link("vstd0");
    ASSERT_TRUE(dev);
    ASSERT_TRUE(h->add_address(dev->index, *shim::parse_net_address("fd00:5::9/64"), "vstd0",
                               "", shim::kHostAddrProto));
  }
  r = vs({"--list"});
  EXPECT_EQ(r.status, 0) << r.err;
  a = addrs();
  EXPECT_EQ(a.find("198.18.5.9"), std::string::npos) << a;
  EXPECT_EQ(a.find("fd00:5::9"), std::string::npos) << a;
  EXPECT_NE(a.find("198.18.6.100/24"), std::string::npos) << a;
  remove_guest(name);
}

// A v4-only guest: busybox httpd -p PORT listens on the dual-stack `::`, which serves the
// guest's IPv4 address (from H) and its localhost (inside). The interface's `name` is its
// label, as util-vserver made it.
TEST_F(VserverSharedNet, DualStackDaemonServesAV4OnlyGuest) {
  const std::string name = "shnet2";
  build(name, "[[interfaces]]\naddress = \"198.18.5.3/24\"\ndev = \"vstd0\"\nname = \"web\"\n");
  fs::create_directories(vdir(name) + "/www");
  write(vdir(name) + "/www/index.html", "hello from shnet2\n");
  auto r = vs({name, "start"});
  ASSERT_EQ(r.status, 0) << r.err;
  BgProcess httpd({"nsenter", "--net=/run/netns/" + ns_, "--", tool_path("vserver"), name,
                   "exec", "busybox", "httpd", "-f", "-p", "8098", "-h", "/www"},
                  root_env().tmp + "/shnet2-httpd.log");
  std::string got;
  EXPECT_TRUE(eventually({"busybox", "wget", "-q", "-O", "-",
                          "http://198.18.5.3:8098/"},
                         "hello from shnet2", &got))
      << got << slurp(root_env().tmp + "/shnet2-httpd.log");
  r = vs({name, "exec", "busybox", "wget", "-q", "-O", "-", "http://127.0.0.1:8098/"});
  EXPECT_EQ(r.out, "hello from shnet2\n") << r.err;
  EXPECT_NE(addrs().find("198.18.5.3/24 scope global vstd0:web"), std::string::npos)
      << "labelled with the interface's name: " << addrs();
  r = in_h({"ss", "-Hltn", "sport = :8098"});
  EXPECT_NE(r.out.find("198.18.5.3]:8098"), std::string::npos) << "bound to its address: " << r.out;
  EXPECT_EQ(r.out.find("*:8098"), std::string::npos) << r.out;
  remove_guest(name);
}

// Bad input: a `dev` that does not exist and a `nodev` address the host does not have are
// configuration errors naming FILE:LINE and the key (exit 2, nothing started); an address
// already on the host without nodev is refused (exit 4); a nodev address the host has works
// and stays after stop.
TEST_F(VserverSharedNet, MissingDevAndForeignNodevAreRefused) {
  const std::string name = "shnet3";
  build(name, "[[interfaces]]\naddress = \"198.18.5.4/24\"\ndev = \"vstnone0\"\n");
  auto r = vs({name, "start"});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("vserver.toml:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("key 'interfaces.0.dev'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("vstnone0"), std::string::npos) << r.err;
  EXPECT_TRUE(rundir_entries().empty());
  EXPECT_EQ(addrs().find("198.18.5.4"), std::string::npos);

  std::string toml = slurp(confdir(name) + "/vserver.toml");
  toml = toml.substr(0, toml.find("[[interfaces]]"));
  write(confdir(name) + "/vserver.toml",
        toml + "[[interfaces]]\naddress = \"198.18.5.5/24\"\nnodev = true\n");
  r = vs({name, "start"});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("key 'interfaces.0.nodev'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("198.18.5.5 is not an address of this host"), std::string::npos) << r.err;
  EXPECT_TRUE(rundir_entries().empty());

  ASSERT_TRUE(sh("ip -n " + ns_ + " addr add 198.18.5.5/24 dev vstd0"));
  r = vs({name, "start"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(vs({name, "stop"}).status, 0);
  EXPECT_NE(addrs().find("198.18.5.5/24"), std::string::npos) << "the administrator's stays";

  write(confdir(name) + "/vserver.toml",
        toml + "[[interfaces]]\naddress = \"198.18.5.5/24\"\ndev = \"vstd0\"\n");
  r = vs({name, "start"});
  EXPECT_EQ(r.status, 4) << r.err;
  EXPECT_NE(r.err.find("198.18.5.5"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("on vstd0 already"), std::string::npos) << r.err;
  EXPECT_TRUE(rundir_entries().empty());
  EXPECT_NE(addrs().find("198.18.5.5/24"), std::string::npos);
  remove_guest(name);
}

// nat = true on a shared address: vserver's masquerade rule in `inet vserver`; the guest's
// private address reaches a "world" namespace W (no route back to it) as H's uplink address;
// stop removes the rule, the table and the address.
TEST_F(VserverSharedNet, NatTrueMasqueradesAPrivateAddress) {
  const std::string name = "shnet4";
  const std::string w = "vst-shw-" + std::to_string(::getpid());
  struct Gone {
    std::string ns;
    ~Gone() { sh("ip netns del " + ns); }
  } gone{w};
  ASSERT_TRUE(sh("ip netns add " + w + " && ip -n " + ns_ +
                 " link add vstu0 type veth peer name vstw0 netns " + w + " && ip -n " + ns_ +
                 " addr add 198.19.0.1/24 dev vstu0 && ip -n " + w +
                 " addr add 198.19.0.2/24 dev vstw0 && ip -n " + ns_ +
                 " link set vstu0 up && ip -n " + w + " link set vstw0 up && ip -n " + w +
                 " link set lo up"));
  if (in_h({"nft", "list", "ruleset"}).status != 0) GTEST_SKIP() << "no nftables here";
  build(name, "[[interfaces]]\naddress = \"10.79.0.2/24\"\ndev = \"vstd0\"\nnat = true\n");
  auto r = vs({name, "start"});
  ASSERT_EQ(r.status, 0) << r.err;
  r = in_h({"nft", "list", "table", "inet", "vserver"});
  EXPECT_NE(r.out.find("ip saddr 10.79.0.2 ip daddr != 10.79.0.0/24 oifname != \"lo\" masquerade"),
            std::string::npos)
      << r.out << r.err;
  const std::string peer = root_env().tmp + "/shnat-peer", ready = peer + ".ready";
  ::unlink(peer.c_str());
  ::unlink(ready.c_str());
  BgProcess srv({"nsenter", "--net=/run/netns/" + w, "python3", "-c",
                 "import socket, sys\n"
                 "s = socket.socket(); s.bind(('198.19.0.2', 9596)); s.listen(1)\n"
                 "open(sys.argv[2], 'w').close(); s.settimeout(20)\n"
                 "c, p = s.accept(); open(sys.argv[1], 'w').write(p[0]); c.close()\n",
                 peer, ready},
                root_env().tmp + "/shnat-srv.log");
  for (int i = 0; i < 200 && ::access(ready.c_str(), F_OK) != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(::access(ready.c_str(), F_OK), 0) << slurp(root_env().tmp + "/shnat-srv.log");
  (void)vs({name, "exec", "nc", "-w", "5", "198.19.0.2", "9596"});
  EXPECT_EQ(srv.wait(), 0) << slurp(root_env().tmp + "/shnat-srv.log");
  EXPECT_EQ(slurp(peer), "198.19.0.1") << "masqueraded as H's uplink address";
  r = vs({name, "stop"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(in_h({"nft", "list", "table", "inet", "vserver"}).status, 0) << "no NAT table left";
  EXPECT_EQ(addrs().find("10.79.0.2"), std::string::npos);
  remove_guest(name);
}

}  // namespace
}  // namespace vs::test
