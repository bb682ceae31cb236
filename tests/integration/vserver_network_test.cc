// `vserver` guests and the network, as root: a guest on the host's stack cannot reach the
// host's abstract unix sockets (E27); isolated guests on a bridge, with gateways and NAT,
// in test-made network namespaces. Each test uses its own guest names.
#include <errno.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "kernel-shim/unixscope.h"
#include "lib/base/unique_fd.h"
#include "tests/integration/vserver_cli.h"
#include "tests/support/bg_process.h"
#include "tests/support/files.h"
#include "tests/support/root_env.h"
#include "tests/support/run_cmd.h"

namespace vs::test {
namespace {

namespace fs = std::filesystem;

// E27: a guest on the host's network stack cannot reach the host's abstract unix sockets,
// neither the processes its init starts nor an entrant (vserver exec). vsprobe tries a
// stream connect and a datagram to two abstract listeners of the test process.
TEST(Vserver, SharedStackGuestCannotReachTheHostsAbstractSockets) {
  const std::string name = "e27-guest";
  const std::string abstract = "/vstest-" + std::to_string(::getpid()) + "-e27";
  auto listen_on = [&](int type, const std::string& n) {
    int fd = ::socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path + 1, n.data(), n.size());
    auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + n.size());
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), len), 0) << std::strerror(errno);
    if (type == SOCK_STREAM) {
      EXPECT_EQ(::listen(fd, 8), 0);
    }
    return UniqueFd(fd);
  };
  UniqueFd stream = listen_on(SOCK_STREAM, abstract + "-s");
  UniqueFd dgram = listen_on(SOCK_DGRAM, abstract + "-d");
  ASSERT_TRUE(stream && dgram);
  build(name);
  fs::copy_file(root_env().build_root + "/tests/probe/vsprobe", vdir(name) + "/vsprobe");
  fs::permissions(vdir(name) + "/vsprobe", fs::perms(0755));
  std::string toml = slurp(confdir(name) + "/vserver.toml");
  ASSERT_NE(toml.find("style = \"minit\""), std::string::npos) << toml;
  toml.insert(toml.find("style = \"minit\"") + 15,
              "\ncommand = [\"/bin/sh\", \"-c\", \"/vsprobe abstract-unix " + abstract +
                  " > /tmp/probe.tmp 2>&1; mv /tmp/probe.tmp /tmp/probe; exec sleep 1000\"]");
  write(confdir(name) + "/vserver.toml", toml);
  auto r = vserver({name, "start"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string status = vserver({name, "status"}).out;
  const size_t at = status.find("context ");
  ASSERT_NE(at, std::string::npos) << status;
  const std::string xid = trim(status.substr(at + 8, 5));
  const std::string state = slurp(root_env().rundir + "/" + xid + "/state");
  if (state.find("\nunix_scope=") == std::string::npos) {
    remove_guest(name);
    ASSERT_LT(vs::shim::landlock_abi(), vs::shim::kLandlockScopeAbi) << state;
    GTEST_SKIP() << "needs the BPF LSM or Landlock ABI 6: this kernel has neither";
  }
  // The init's command, run at boot.
  std::string boot;
  for (int i = 0; i < 200 && boot.empty(); ++i) {
    boot = slurp(vdir(name) + "/tmp/probe");
    if (boot.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(boot, "PROBE abstract-unix ok connect(abstract stream) " + abstract +
                      "-s -> EPERM\nPROBE abstract-unix ok sendto(abstract dgram) " + abstract +
                      "-d -> EPERM\n");
  // An entrant.
  r = vserver({name, "exec", "/vsprobe", "abstract-unix", abstract});
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_EQ(r.out, boot);
  // Nothing reached the host's sockets; the host itself still does (the probe's control).
  EXPECT_LT(::accept4(stream.get(), nullptr, nullptr, SOCK_CLOEXEC), 0);
  char byte;
  EXPECT_LT(::recv(dgram.get(), &byte, 1, MSG_DONTWAIT), 0);
  r = run_cmd({root_env().build_root + "/tests/probe/vsprobe", "abstract-unix", abstract});
  EXPECT_NE(r.out.find("escaped"), std::string::npos) << "unconfined, the probe gets through: "
                                                      << r.out;
  remove_guest(name);
}

// An isolated guest (its own network namespace, eth0 on a host bridge): started from a
// test-made "host" network namespace, reached from there; stop removes the veth and the
// bridge it made. The real host's network is never touched.
TEST(Vserver, IsolatedGuestOnABridge) {
  const std::string name = "iso-guest";
  const std::string ns = "vst-iso-" + std::to_string(::getpid());
  ASSERT_EQ(run_cmd({"ip", "netns", "add", ns}).status, 0);
  struct NsGone {
    std::string ns;
    ~NsGone() { (void)run_cmd({"ip", "netns", "del", ns}); }
  } gone{ns};
  build(name, "[[interfaces]]\naddress = \"10.77.0.2/24\"\nmode = \"isolated\"\n"
              "dev = \"vstbr0\"\n");
  auto in_ns = [&](std::vector<std::string> argv) {
    // nsenter, not `ip netns exec`: that one remounts /sys, hiding the cgroup hierarchies.
    argv.insert(argv.begin(), {"nsenter", "--net=/run/netns/" + ns, "--"});
    return run_cmd(argv);
  };
  auto r = in_ns({tool_path("vserver"), name, "start"});
  ASSERT_EQ(r.status, 0) << r.err;
  r = vserver({name, "exec", "ip", "-4", "-o", "addr", "show", "dev", "eth0"});
  EXPECT_NE(r.out.find("10.77.0.2/24"), std::string::npos) << r.out << r.err;
  // The host side: the bridge vserver made, with the host end of the veth on it.
  r = in_ns({"ip", "-o", "link", "show", "master", "vstbr0"});
  EXPECT_NE(r.out.find("vsv"), std::string::npos) << r.out;
  ASSERT_EQ(in_ns({"ip", "addr", "add", "10.77.0.1/24", "dev", "vstbr0"}).status, 0);
  r = in_ns({"busybox", "ping", "-c", "1", "-W", "5", "10.77.0.2"});
  EXPECT_EQ(r.status, 0) << "the guest answers on its own address: " << r.out << r.err;
  // Not on the real host's stack.
  r = run_cmd({"ip", "-o", "addr"});
  EXPECT_EQ(r.out.find("10.77.0.2"), std::string::npos) << r.out;
  r = vserver({name, "stop"});
  EXPECT_EQ(r.status, 0) << r.err;
  r = in_ns({"ip", "-o", "link"});
  EXPECT_EQ(r.out.find("vsv"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("vstbr0"), std::string::npos) << "the bridge vserver made is gone: " << r.out;
  EXPECT_TRUE(rundir_entries().empty());
  remove_guest(name);
}

// The isolated-mode keys `gateway` and `nat` of vserver.toml through `vserver start`: the
// default routes (v4 and v6) via the gateways, which go onto the bridge vserver made; the
// guest reaches a "world" namespace W behind the test-made host H masqueraded as H's uplink
// address (W has no route back to the guest's subnet); stop removes the NAT rule and table.
TEST(Vserver, IsolatedGuestWithGatewayAndNatFromItsConfig) {
  const std::string name = "iso-nat";
  const std::string pid = std::to_string(::getpid());
  const std::string h = "vst-nat-" + pid, w = "vst-natw-" + pid;
  struct NsGone {
    std::vector<std::string> ns;
    ~NsGone() {
      for (const auto& n : ns) (void)run_cmd({"ip", "netns", "del", n});
    }
  } gone{{h, w}};
  auto sh = [](const std::string& cmd) { return run_cmd({"/bin/sh", "-c", cmd}); };
  ASSERT_EQ(sh("ip netns add " + h + " && ip netns add " + w + " && ip -n " + h +
               " link add vstu" + pid + " type veth peer name vstw" + pid + " netns " + w +
               " && ip -n " + h + " addr add 192.168.78.1/24 dev vstu" + pid + " && ip -n " +
               w + " addr add 192.168.78.2/24 dev vstw" + pid + " && ip -n " + h +
               " link set vstu" + pid + " up && ip -n " + w + " link set vstw" + pid +
               " up && ip -n " + w + " link set lo up")
                .status,
            0);
  if (sh("nsenter --net=/run/netns/" + h + " nft list ruleset").status != 0) {
    GTEST_SKIP() << "nft cannot list a ruleset here (kernel without nf_tables?)";
  }
  build(name, "[[interfaces]]\naddress = \"10.78.0.2/24\"\nmode = \"isolated\"\n"
              "dev = \"vstbr1\"\ngateway = \"10.78.0.1\"\nnat = true\n"
              "[[interfaces]]\naddress = \"fd00:78::2/64\"\nmode = \"isolated\"\n"
              "dev = \"vstbr1\"\ngateway = \"fd00:78::1\"\n");
  auto in_h = [&](std::vector<std::string> argv) {
    argv.insert(argv.begin(), {"nsenter", "--net=/run/netns/" + h, "--"});
    return run_cmd(argv);
  };
  auto r = in_h({tool_path("vserver"), name, "start"});
  ASSERT_EQ(r.status, 0) << r.err;
  r = vserver({name, "exec", "ip", "-4", "route", "show", "default"});
  EXPECT_NE(r.out.find("default via 10.78.0.1 dev eth0"), std::string::npos) << r.out << r.err;
  r = vserver({name, "exec", "ip", "-6", "route", "show", "default"});
  EXPECT_NE(r.out.find("default via fd00:78::1 dev eth0"), std::string::npos) << r.out << r.err;
  r = in_h({"ip", "-o", "addr", "show", "dev", "vstbr1"});
  EXPECT_NE(r.out.find("10.78.0.1/24"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("fd00:78::1/64"), std::string::npos) << r.out;
  r = in_h({"nft", "list", "table", "inet", "vserver"});
  EXPECT_NE(r.out.find("ip saddr 10.78.0.2 oifname != \"vstbr1\" masquerade"), std::string::npos)
      << r.out << r.err;

  // W records the peer of the first connection.
  const std::string peer = root_env().tmp + "/nat-peer", ready = peer + ".ready";
  ::unlink(peer.c_str());
  ::unlink(ready.c_str());
  BgProcess srv({"nsenter", "--net=/run/netns/" + w, "python3", "-c",
                 "import socket, sys\n"
                 "s = socket.socket(); s.bind(('192.168.78.2', 9595)); s.listen(1)\n"
                 "open(sys.argv[2], 'w').close(); s.settimeout(20)\n"
                 "c, p = s.accept(); open(sys.argv[1], 'w').write(p[0]); c.close()\n",
                 peer, ready},
                root_env().tmp + "/nat-srv.log");
  for (int i = 0; i < 200 && ::access(ready.c_str(), F_OK) != 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(::access(ready.c_str(), F_OK), 0) << slurp(root_env().tmp + "/nat-srv.log");
  (void)vserver({name, "exec", "nc", "-w", "5", "192.168.78.2", "9595"});
  EXPECT_EQ(srv.wait(), 0) << slurp(root_env().tmp + "/nat-srv.log");
  EXPECT_EQ(slurp(peer), "192.168.78.1") << "masqueraded as H's uplink address";

  r = vserver({name, "stop"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(in_h({"nft", "list", "table", "inet", "vserver"}).status, 0) << "no NAT table left";
  r = in_h({"ip", "-o", "link"});
  EXPECT_EQ(r.out.find("vstbr1"), std::string::npos) << "the bridge vserver made is gone: " << r.out;
  EXPECT_TRUE(rundir_entries().empty());
  remove_guest(name);
}

}  // namespace
}  // namespace vs::test
