// chbind --isolated / netiso on a real kernel. The "host" of the guests is a network
// namespace H the suite makes (so no bridge, nft rule or ip_forward change reaches the real
// host): the tools that set the network up run in H (nsenter --net), the contexts have
// their own network namespaces. Clients are namespaces too: C (on the guests' bridge,
// 10.88.0.100) and W (the "world" behind H's uplink, 192.168.77.2; H is 192.168.77.1).
// Each test uses its own static xids (421xx) and bridge names; all is removed at the end.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <signal.h>

#include <chrono>
#include <functional>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/bg_process.h"
#include "tests/support/root_env.h"
#include "tests/support/run_cmd.h"

namespace vs::test {
namespace {

constexpr const char* kPython = "/usr/bin/python3";
constexpr const char* kNsWithNet = "mnt,pid,uts,ipc,net";

constexpr const char* kHelper = R"PY(
import os, socket, sys, time
mode = sys.argv[1]
def fam(a): return socket.AF_INET6 if ':' in a else socket.AF_INET
if mode == 'connect':
    s = socket.socket(fam(sys.argv[2])); s.settimeout(3)
    try:
        s.connect((sys.argv[2], int(sys.argv[3])))
        print('OK', s.getsockname()[0]); print(s.makefile().readline().strip())
    except OSError as e: print('ERR', e.errno)
elif mode == 'serve':
    addr, port, ready, stop = sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
    s = socket.socket(fam(addr)); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(8)
    open(ready, 'w').close()
    s.settimeout(0.2); end = time.time() + 60
    while time.time() < end and not os.path.exists(stop):
        try:
            c, peer = s.accept(); c.sendall(('PEER %s\n' % peer[0]).encode()); c.close()
        except (socket.timeout, OSError): pass
)PY";

std::string suffix() { return std::to_string(::getpid() % 100000); }
std::string ns_h() { return "vsiH" + suffix(); }
std::string ns_c() { return "vsiC" + suffix(); }
std::string ns_w() { return "vsiW" + suffix(); }
// Test-unique bridge names (IFNAMSIZ: at most 15 characters).
std::string bridge(const std::string& tag) { return "vst" + tag + suffix(); }

bool sh(const std::string& cmd) { return run_cmd({"/bin/sh", "-c", cmd}).status == 0; }
std::string sh_out(const std::string& cmd) { return run_cmd({"/bin/sh", "-c", cmd}).out; }

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool wait_until(const std::function<bool()>& cond, int ms = 10000) {
  for (int i = 0; i < ms / 50; ++i) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

std::string in_h(const std::string& cmd) { return "ip netns exec " + ns_h() + " " + cmd; }

class Netiso : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    helper_ = root_env().tmp + "/netiso_helper.py";
    std::ofstream(helper_) << kHelper;
    std::string h = ns_h(), c = ns_c(), w = ns_w(), s = suffix();
    ready_ = sh("ip netns add " + h + " && ip netns add " + c + " && ip netns add " + w +
                " && ip -n " + h + " link set lo up && ip -n " + c + " link set lo up && ip -n " +
                w + " link set lo up" +
                // H's uplink to W.
                " && ip -n " + h + " link add vsiu" + s + " type veth peer name vsiw" + s +
                " netns " + w + " && ip -n " + h + " addr add 192.168.77.1/24 dev vsiu" + s +
                " && ip -n " + w + " addr add 192.168.77.2/24 dev vsiw" + s + " && ip -n " + h +
                " link set vsiu" + s + " up && ip -n " + w + " link set vsiw" + s + " up");
    nft_ = sh(in_h("nft list ruleset >/dev/null 2>&1"));
  }
  static void TearDownTestSuite() {
    sh("ip netns del " + ns_h() + " 2>/dev/null; ip netns del " + ns_c() +
       " 2>/dev/null; ip netns del " + ns_w() + " 2>/dev/null");
  }
  void SetUp() override {
    if (!ready_) GTEST_SKIP() << "could not build the test network (ip netns / veth)";
  }

  // A context with its own network namespace, made by vcontext in H, running `sleep`.
  struct Guest {
    std::string xid;
    std::unique_ptr<BgProcess> proc;
    ~Guest() {
      if (proc) {
        run_cmd({tool_path("vkill"), "--xid", xid, "-s", "KILL"});
        proc->wait();
      }
    }
  };
  static std::unique_ptr<Guest> guest(const std::string& xid, bool sealed = false) {
    auto g = std::make_unique<Guest>();
    g->xid = xid;
    std::vector<std::string> argv{"nsenter", "--net=/run/netns/" + ns_h(),
                                  tool_path("vcontext"), "--create", "--silent", "--xid", xid,
                                  "--namespaces", kNsWithNet};
    if (sealed) argv.push_back("--endsetup");
    argv.insert(argv.end(), {"--", "sleep", "120"});
    g->proc = std::make_unique<BgProcess>(argv, root_env().tmp + "/guest" + xid + ".log");
    bool up = wait_until([&] {
      return ::access((root_env().rundir + "/" + xid + "/state").c_str(), F_OK) == 0 &&
             run_cmd({tool_path("vcontext"), "--migrate", "--xid", xid, "--", "true"}).status ==
                 0;
    });
    EXPECT_TRUE(up) << read_file(root_env().tmp + "/guest" + xid + ".log");
    return g;
  }
  static CmdResult chbind_in_h(const std::vector<std::string>& args) {
    std::vector<std::string> v{"nsenter", "--net=/run/netns/" + ns_h(), tool_path("chbind")};
    v.insert(v.end(), args.begin(), args.end());
    return run_cmd(v);
  }
  static CmdResult in_guest(const std::string& xid, const std::vector<std::string>& args) {
    std::vector<std::string> v{tool_path("vcontext"), "--migrate", "--xid", xid, "--"};
    v.insert(v.end(), args.begin(), args.end());
    return run_cmd(v);
  }
  // Attaches client namespace C to bridge `br` in H with `addr` (IPv6: usable at once).
  static bool attach_client(const std::string& br, const std::string& addr) {
    std::string s = suffix();
    std::string nodad = addr.find(':') != std::string::npos ? " nodad" : "";
    return sh("ip -n " + ns_h() + " link add vsic" + s + " type veth peer name vsid" + s +
              " netns " + ns_c() + " && ip -n " + ns_h() + " link set vsic" + s + " master " +
              br + " && ip -n " + ns_h() + " link set vsic" + s + " up && ip -n " + ns_c() +
              " addr add " + addr + " dev vsid" + s + nodad + " && ip -n " + ns_c() +
              " link set vsid" +
              s + " up");
  }
  static void detach_client() { sh("ip -n " + ns_h() + " link del vsic" + suffix() + " 2>/dev/null"); }

  static std::string links_h() { return sh_out("ip -n " + ns_h() + " -o link show"); }

  static inline std::string helper_;
  static inline bool ready_ = false;
  static inline bool nft_ = false;
};

// A server in a namespace, in the background; stopped and reaped at scope exit.
struct Server {
  std::string ready, stop;
  BgProcess proc;
  Server(const std::string& ns, const std::string& helper, const std::string& addr,
         const std::string& port, const std::string& name)
      : ready(root_env().tmp + "/" + name + ".ready"),
        stop(root_env().tmp + "/" + name + ".stop"),
        proc({"nsenter", "--net=/run/netns/" + ns, kPython, helper, "serve", addr, port,
              clear(ready), clear(stop)},
             root_env().tmp + "/" + name + ".log") {}
  ~Server() {
    std::ofstream(stop) << "";
    proc.wait();
  }
  static std::string clear(const std::string& p) {
    ::unlink(p.c_str());
    return p;
  }
  bool wait_ready() { return wait_until([&] { return ::access(ready.c_str(), F_OK) == 0; }); }
};

TEST_F(Netiso, GuestGetsEth0AndReachesAClientOnTheBridge) {
  std::string br = bridge("a");
  auto g = guest("42101");
  auto r = chbind_in_h({"--xid", "42101", "--isolated", "--bridge", br, "--gateway",
                        "10.88.0.254", "--ip", "10.88.0.1/24", "--ip", "fd00:88::1/64"});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(attach_client(br, "10.88.0.100/24"));

  auto addr = in_guest("42101", {"ip", "-o", "addr", "show", "dev", "eth0"});
  EXPECT_TRUE(contains(addr.out, "inet 10.88.0.1/24")) << addr.out << addr.err;
  EXPECT_TRUE(contains(addr.out, "inet6 fd00:88::1/64")) << addr.out;
  auto route = in_guest("42101", {"ip", "route", "show", "default"});
  EXPECT_TRUE(contains(route.out, "default via 10.88.0.254 dev eth0")) << route.out;
  // The bridge we made got the gateway address; bridge and host end have accept_ra=0 (E28).
  EXPECT_TRUE(contains(sh_out("ip -n " + ns_h() + " -o addr show dev " + br), "10.88.0.254/24"));
  for (const std::string& dev : {br, std::string("vsv42101")}) {
    auto ra = sh_out(in_h("cat /proc/sys/net/ipv6/conf/" + dev + "/accept_ra"));
    EXPECT_EQ(ra, "0\n") << dev;
  }
  EXPECT_TRUE(contains(links_h(), "vsv42101@")) << links_h();
  EXPECT_TRUE(contains(links_h(), "master " + br)) << links_h();

  Server srv(ns_c(), helper_, "10.88.0.100", "9090", "iso-c1");
  ASSERT_TRUE(srv.wait_ready()) << read_file(root_env().tmp + "/iso-c1.log");
  auto c = in_guest("42101", {kPython, helper_, "connect", "10.88.0.100", "9090"});
  EXPECT_TRUE(contains(c.out, "OK 10.88.0.1\nPEER 10.88.0.1")) << c.out << c.err;

  auto show = run_cmd({tool_path("chbind"), "--show", "--xid", "42101"});
  EXPECT_EQ(show.out,
            "mode isolated\ninterface eth0 veth vsv42101 bridge " + br +
                "\nip 10.88.0.1/24\nip fd00:88::1/64\ngateway 10.88.0.254\nnat off\n")
      << show.err;
  detach_client();
}

// IPv6 only: the address and the default route over rtnetlink, the gateway on the bridge
// we made; connections to the gateway and to a client on the bridge carry the address.
TEST_F(Netiso, Ipv6GuestReachesItsGatewayAndAClientOnTheBridge) {
  std::string br = bridge("6");
  auto g = guest("42118");
  auto r = chbind_in_h({"--xid", "42118", "--isolated", "--bridge", br, "--gateway",
                        "fd00:88:6::fe", "--ip", "fd00:88:6::1/64"});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(attach_client(br, "fd00:88:6::64/64"));
  auto addr = in_guest("42118", {"ip", "-o", "addr", "show", "dev", "eth0"});
  EXPECT_TRUE(contains(addr.out, "inet6 fd00:88:6::1/64")) << addr.out << addr.err;
  EXPECT_FALSE(contains(addr.out, "inet ")) << addr.out;
  auto route = in_guest("42118", {"ip", "-6", "route", "show", "default"});
  EXPECT_TRUE(contains(route.out, "default via fd00:88:6::fe dev eth0")) << route.out;
  EXPECT_TRUE(contains(sh_out("ip -n " + ns_h() + " -o addr show dev " + br), "fd00:88:6::fe/64"));

  Server gw(ns_h(), helper_, "fd00:88:6::fe", "9393", "iso-h6");
  ASSERT_TRUE(gw.wait_ready()) << read_file(root_env().tmp + "/iso-h6.log");
  auto c1 = in_guest("42118", {kPython, helper_, "connect", "fd00:88:6::fe", "9393"});
  EXPECT_TRUE(contains(c1.out, "OK fd00:88:6::1\nPEER fd00:88:6::1")) << c1.out << c1.err;
  Server cl(ns_c(), helper_, "fd00:88:6::64", "9394", "iso-c6");
  ASSERT_TRUE(cl.wait_ready()) << read_file(root_env().tmp + "/iso-c6.log");
  auto c2 = in_guest("42118", {kPython, helper_, "connect", "fd00:88:6::64", "9394"});
  EXPECT_TRUE(contains(c2.out, "OK fd00:88:6::1\nPEER fd00:88:6::1")) << c2.out << c2.err;

  auto show = run_cmd({tool_path("chbind"), "--show", "--xid", "42118"});
  EXPECT_EQ(show.out, "mode isolated\ninterface eth0 veth vsv42118 bridge " + br +
                          "\nip fd00:88:6::1/64\ngateway fd00:88:6::fe\nnat off\n")
      << show.err;
  detach_client();
}

TEST_F(Netiso, RefusesAContextWithoutItsOwnNetworkNamespace) {
  BgProcess bg({"nsenter", "--net=/run/netns/" + ns_h(), tool_path("vcontext"), "--create",
                "--silent", "--xid", "42102", "--namespaces", "mnt,pid,uts,ipc", "--", "sleep",
                "60"},
               root_env().tmp + "/g42102.log");
  ASSERT_TRUE(wait_until([] {
    return run_cmd({tool_path("vcontext"), "--migrate", "--xid", "42102", "--", "true"})
               .status == 0;
  }));
  auto r = chbind_in_h({"--xid", "42102", "--isolated", "--bridge", bridge("b"), "--ip",
                        "10.88.1.1/24"});
  EXPECT_EQ(r.status, 4) << r.err;
  EXPECT_TRUE(contains(r.err, "no net namespace of its own")) << r.err;
  EXPECT_FALSE(contains(links_h(), bridge("b"))) << "nothing is made for a refused context";
  // From inside a context with its own namespace, "host" would be the context itself.
  auto g = guest("42114");
  char abs[PATH_MAX];
  ASSERT_NE(::realpath(tool_path("chbind").c_str(), abs), nullptr);
  auto in = in_guest("42114", {abs, "--xid", "42114", "--isolated", "--bridge",
                               bridge("b"), "--ip", "10.88.1.2/24"});
  EXPECT_EQ(in.status, 4) << in.err;
  EXPECT_TRUE(contains(in.err, "run from the host")) << in.err;
  run_cmd({tool_path("vkill"), "--xid", "42102", "-s", "KILL"});
}

TEST_F(Netiso, DuplicateAddressesAreRefusedAcrossModes) {
  std::string br = bridge("d");
  auto a = guest("42103");
  auto b = guest("42104");
  ASSERT_EQ(chbind_in_h({"--xid", "42103", "--isolated", "--bridge", br, "--ip",
                         "10.88.2.1/24"}).status, 0);
  auto r = chbind_in_h({"--xid", "42104", "--isolated", "--bridge", br, "--ip", "10.88.2.1/24"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "`10.88.2.1` belongs to context 42103")) << r.err;
  EXPECT_FALSE(contains(links_h(), "vsv42104")) << "the refused context got no veth";
  // Shared mode sees the isolated context's address too.
  auto s = run_cmd({"nsenter", "--net=/run/netns/" + ns_h(), tool_path("vcontext"), "--create",
                    "--silent", "--xid", "42105", "--namespaces", "mnt,pid,uts,ipc", "--",
                    tool_path("chbind"), "--ip", "10.88.2.1/24", "--", "true"});
  EXPECT_EQ(s.status, 2);
  EXPECT_TRUE(contains(s.err, "belongs to context 42103")) << s.err;
}

TEST_F(Netiso, ConcurrentStartsWithOneAddressLetOnlyOneThrough) {
  std::string br = bridge("r");
  auto a = guest("42106");
  auto b = guest("42107");
  std::vector<std::unique_ptr<BgProcess>> runs;
  for (const char* x : {"42106", "42107"}) {
    runs.push_back(std::make_unique<BgProcess>(
        std::vector<std::string>{"nsenter", "--net=/run/netns/" + ns_h(), tool_path("chbind"),
                                 "--xid", x, "--isolated", "--bridge", br, "--ip",
                                 "10.88.3.1/24"},
        root_env().tmp + "/race" + x + ".log"));
  }
  int ok = 0;
  for (auto& p : runs) ok += p->wait() == 0;
  EXPECT_EQ(ok, 1) << read_file(root_env().tmp + "/race42106.log")
                   << read_file(root_env().tmp + "/race42107.log");
}

// What must be gone once a context is: its veth, its bridge port, the bridge we made, its
// NAT rule, the host namespace pin and its network namespace.
TEST_F(Netiso, NothingRemainsAfterTheContextDiedEvenIfItsToolWasKilled) {
  std::string br = bridge("g");
  auto g = guest("42108");
  std::vector<std::string> args{"--xid", "42108", "--isolated", "--bridge", br,
                                "--gateway", "10.88.4.254", "--ip", "10.88.4.1/24"};
  if (nft_) args.push_back("--nat");
  ASSERT_EQ(chbind_in_h(args).status, 0);
  struct stat netns {};
  ASSERT_EQ(::stat((root_env().rundir + "/42108/ns/net").c_str(), &netns), 0);
  EXPECT_TRUE(contains(links_h(), "vsv42108@"));
  EXPECT_TRUE(contains(links_h(), br + ":"));
  if (nft_) {
    EXPECT_TRUE(contains(sh_out(in_h("nft list ruleset")), "vserver xid 42108"));
  }
  // The creator dies first (kill -9: no cleanup of its own), then the context.
  ::kill(g->proc->pid(), SIGKILL);
  g->proc->wait();
  g->proc.reset();
  ASSERT_EQ(run_cmd({tool_path("vkill"), "--xid", "42108", "-s", "KILL"}).status, 0);
  // Any tool that reads the table reaps, from any network namespace (here the test's own).
  ASSERT_TRUE(wait_until([] {
    auto l = run_cmd({tool_path("vcontext"), "--list"});
    return !contains(l.out, "42108");
  })) << run_cmd({tool_path("vcontext"), "--list"}).err;
  EXPECT_FALSE(contains(links_h(), "vsv42108")) << links_h();
  EXPECT_FALSE(contains(links_h(), br)) << "the bridge we made, now without ports: " << links_h();
  EXPECT_FALSE(contains(sh_out(in_h("nft list ruleset")), "vserver")) << "no NAT rule or table";
  EXPECT_NE(::access((root_env().rundir + "/42108").c_str(), F_OK), 0);
  // No mount (pin) and no process holds the context's network namespace any more.
  std::string ino = "net:[" + std::to_string(netns.st_ino) + "]";
  EXPECT_FALSE(contains(read_file("/proc/self/mountinfo"), ino));
  DIR* d = ::opendir("/proc");
  ASSERT_NE(d, nullptr);
  while (struct dirent* e = ::readdir(d)) {
    char buf[64] = {};
    std::string link = std::string("/proc/") + e->d_name + "/ns/net";
    ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
    if (n > 0) {
      EXPECT_NE(std::string(buf, static_cast<size_t>(n)), ino) << "pid " << e->d_name;
    }
  }
  ::closedir(d);
}

TEST_F(Netiso, AForeignInterfaceWithTheHostEndsNameIsNeverDeleted) {
  ASSERT_TRUE(sh("ip -n " + ns_h() + " link add vsv42115 type veth peer name vsiz" + suffix()));
  auto g = guest("42115");
  auto r = chbind_in_h({"--xid", "42115", "--isolated", "--bridge", bridge("f"), "--ip",
                        "10.88.9.1/24"});
  EXPECT_EQ(r.status, 4) << r.err;
  EXPECT_TRUE(contains(r.err, "exists already")) << r.err;
  g.reset();
  ASSERT_TRUE(wait_until([] {
    return !contains(run_cmd({tool_path("vcontext"), "--list"}).out, "42115");
  }));
  EXPECT_TRUE(contains(links_h(), "vsv42115@")) << links_h();
  sh("ip -n " + ns_h() + " link del vsv42115");
}

TEST_F(Netiso, AFailedSetupLeavesNothing) {
  std::string br = bridge("x");
  auto g = guest("42116");
  // The gateway is on no subnet of eth0: the last netlink step (the route) fails.
  auto r = chbind_in_h({"--xid", "42116", "--isolated", "--bridge", br, "--gateway",
                        "10.99.0.1", "--ip", "10.88.10.1/24"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_TRUE(contains(r.err, "add default route via 10.99.0.1")) << r.err;
  EXPECT_FALSE(contains(links_h(), "vsv42116")) << links_h();
  EXPECT_FALSE(contains(links_h(), br)) << "the bridge made for it goes too: " << links_h();
  EXPECT_EQ(run_cmd({tool_path("chbind"), "--show", "--xid", "42116"}).out, "mode private\n");
  EXPECT_NE(::access((root_env().rundir + "/42116/hostns").c_str(), F_OK), 0);
  // And the context can be set up afterwards.
  EXPECT_EQ(chbind_in_h({"--xid", "42116", "--isolated", "--bridge", br, "--ip",
                         "10.88.10.1/24"}).status, 0);
}

TEST_F(Netiso, AnAdministratorsBridgeStays) {
  std::string br = bridge("k");
  ASSERT_TRUE(sh("ip -n " + ns_h() + " link add " + br + " type bridge"));
  {
    auto g = guest("42109");
    ASSERT_EQ(chbind_in_h({"--xid", "42109", "--isolated", "--bridge", br, "--ip",
                           "10.88.5.1/24"}).status, 0);
  }
  ASSERT_TRUE(wait_until([] {
    return !contains(run_cmd({tool_path("vcontext"), "--list"}).out, "42109");
  }));
  EXPECT_FALSE(contains(links_h(), "vsv42109"));
  EXPECT_TRUE(contains(links_h(), br + ":")) << "host configuration is not ours to delete";
  sh("ip -n " + ns_h() + " link del " + br);
}

// E28: in a sealed guest NET_ADMIN is gone: no address, link or route change, and the
// host's bridge is as it was.
TEST_F(Netiso, SealedGuestCannotChangeItsNetwork) {
  std::string br = bridge("e");
  auto g = guest("42110", /*sealed=*/true);
  ASSERT_EQ(chbind_in_h({"--xid", "42110", "--isolated", "--bridge", br, "--gateway",
                         "10.88.6.254", "--ip", "10.88.6.1/24"}).status, 0);
  // Flags, addresses, alias, ports and routes; not the -d timers, not the DAD state.
  auto host_state = [&] {
    std::string n = "ip -n " + ns_h();
    return sh_out(n + " -o link show " + br + "; " + n + " -o link show master " + br + "; " +
                  n + " -o -4 addr show; " + n + " -o -6 addr show | awk '{print $2, $4}'; " +
                  n + " -4 route show; " + n + " -6 route show");
  };
  std::string before = host_state();
  const std::vector<std::vector<std::string>> tries{
      {"ip", "addr", "add", "10.88.6.77/24", "dev", "eth0"},
      {"ip", "link", "set", "eth0", "down"},
      {"ip", "route", "add", "10.99.0.0/24", "dev", "eth0"},
      {"ip", "link", "set", "eth0", "address", "02:00:00:00:00:01"},
  };
  for (const auto& t : tries) {
    auto r = in_guest("42110", t);
    EXPECT_NE(r.status, 0) << t[1] << " " << t[2];
    EXPECT_TRUE(contains(r.err, "Operation not permitted")) << r.err;
  }
  auto addr = in_guest("42110", {"ip", "-o", "addr", "show", "dev", "eth0"});
  EXPECT_TRUE(contains(addr.out, "10.88.6.1/24")) << addr.out;
  EXPECT_FALSE(contains(addr.out, "10.88.6.77"));
  auto link = in_guest("42110", {"ip", "-o", "link", "show", "dev", "eth0"});
  EXPECT_TRUE(contains(link.out, ",UP")) << link.out;
  EXPECT_EQ(host_state(), before);
}

TEST_F(Netiso, NatMasqueradesTheGuestTowardsTheWorld) {
  if (!nft_) GTEST_SKIP() << "nft cannot list a ruleset here (kernel without nf_tables?)";
  std::string br = bridge("n");
  auto g = guest("42111");
  // Without NAT, W has no route back to 10.88.7.0/24: the connect would time out.
  ASSERT_EQ(chbind_in_h({"--xid", "42111", "--isolated", "--bridge", br, "--gateway",
                         "10.88.7.254", "--nat", "--ip", "10.88.7.1/24"}).status, 0);
  EXPECT_EQ(sh_out(in_h("cat /proc/sys/net/ipv4/ip_forward")), "1\n");
  auto rules = sh_out(in_h("nft list table inet vserver"));
  EXPECT_TRUE(contains(rules, "ip saddr 10.88.7.1 oifname != \"" + br +
                                  "\" masquerade comment \"vserver xid 42111\""))
      << rules;
  Server srv(ns_w(), helper_, "192.168.77.2", "9191", "iso-w1");
  ASSERT_TRUE(srv.wait_ready()) << read_file(root_env().tmp + "/iso-w1.log");
  auto c = in_guest("42111", {kPython, helper_, "connect", "192.168.77.2", "9191"});
  EXPECT_TRUE(contains(c.out, "OK 10.88.7.1\nPEER 192.168.77.1")) << c.out << c.err;
  auto show = run_cmd({tool_path("chbind"), "--show", "--xid", "42111"});
  EXPECT_TRUE(contains(show.out, "nat on\n")) << show.out;
}

TEST_F(Netiso, MacvlanOnAParent) {
  std::string s = suffix();
  std::string parent = "vsip" + s;
  if (!sh("ip -n " + ns_h() + " link add " + parent + " type veth peer name vsiq" + s)) {
    GTEST_SKIP() << "could not make a veth pair as the macvlan parent";
  }
  bool macvlan = sh("ip -n " + ns_h() + " link add vsim" + s + " link " + parent +
                    " type macvlan mode bridge 2>/dev/null && ip -n " + ns_h() + " link del vsim" +
                    s);
  if (!macvlan) {
    sh("ip -n " + ns_h() + " link del " + parent);
    GTEST_SKIP() << "this kernel has no macvlan driver (CONFIG_MACVLAN)";
  }
  auto g = guest("42112");
  auto r = chbind_in_h({"--xid", "42112", "--isolated", "--macvlan", parent, "--ip",
                        "10.88.8.1/24"});
  EXPECT_EQ(r.status, 0) << r.err;
  auto addr = in_guest("42112", {"ip", "-o", "addr", "show", "dev", "eth0"});
  EXPECT_TRUE(contains(addr.out, "10.88.8.1/24")) << addr.out;
  EXPECT_TRUE(contains(in_guest("42112", {"ip", "-d", "link", "show", "eth0"}).out, "macvlan"));
  // A failed setup deletes the macvlan inside (so it can be retried).
  auto g2 = guest("42117");
  auto bad = chbind_in_h({"--xid", "42117", "--isolated", "--macvlan", parent, "--gateway",
                          "10.99.0.1", "--ip", "10.88.8.2/24"});
  EXPECT_EQ(bad.status, 1) << bad.err;
  EXPECT_FALSE(contains(in_guest("42117", {"ip", "-o", "link"}).out, "eth0"));
  g2.reset();
  g.reset();
  sh("ip -n " + ns_h() + " link del " + parent);
}

TEST_F(Netiso, UsageErrorsNameTheArgument) {
  auto r = run_cmd({tool_path("chbind"), "--xid", "42113", "--isolated", "--ip", "10.1.1.1"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "exactly one of --bridge and --macvlan")) << r.err;
  r = run_cmd({tool_path("chbind"), "--xid", "42113", "--bridge", "br0", "--ip", "10.1.1.1"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "add --isolated")) << r.err;
  r = run_cmd({tool_path("chbind"), "--xid", "42113", "--isolated", "--bridge",
               "a-name-far-too-long", "--ip", "10.1.1.1"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "not an interface name")) << r.err;
  r = run_cmd({tool_path("chbind"), "--xid", "42113", "--isolated", "--bridge", "br0",
               "--nat", "--ip", "fd00::1/64"});
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(contains(r.err, "no IPv4 address")) << r.err;
  r = run_cmd({tool_path("chbind"), "--xid", "42199", "--isolated", "--bridge", "br0", "--ip",
               "10.1.1.1"});
  EXPECT_EQ(r.status, 3) << r.err;
}

}  // namespace
}  // namespace vs::test
