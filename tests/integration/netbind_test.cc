// chbind / netbind on a shared stack. The "host stack" of the guests is a network namespace H
// the suite makes (addresses 10.77.0.1 = guest A, .2 = guest B, .254 = a host address) on a
// veth whose peer is in the client namespace C (10.77.0.100). Contexts are created inside H
// (nsenter --net, no other namespace changes) so they share its stack. Each test uses its own
// static xids (412xx); everything made here is removed at the end.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kernel-shim/cgroup.h"
#include "kernel-shim/netbind.h"
#include "kernel-shim/xid.h"
#include "tests/support/bg_process.h"
#include "tests/support/root_env.h"
#include "tests/support/run_cmd.h"

namespace vs::test {
namespace {

constexpr const char* kPython = "/usr/bin/python3";
constexpr const char* kNs = "mnt,pid,uts,ipc";

// The socket helper run in the guests and the client namespace. Prints one line per result:
// "OK <getsockname>" / "ERR <errno>" / "PEER <addr>".
constexpr const char* kHelper = R"PY(
import os, socket, sys, time
mode = sys.argv[1]
def fam(a): return socket.AF_INET6 if ':' in a else socket.AF_INET
if mode == 'bind':
    s = socket.socket(fam(sys.argv[2]))
    try:
        s.bind((sys.argv[2], 0)); print('OK', s.getsockname()[0])
    except OSError as e: print('ERR', e.errno)
elif mode == 'connect':
    s = socket.socket(fam(sys.argv[2])); s.settimeout(2)
    try:
        s.connect((sys.argv[2], int(sys.argv[3])))
        print('OK', s.getsockname()[0]); print(s.makefile().readline().strip())
    except OSError as e: print('ERR', e.errno)
    except socket.timeout: print('ERR timeout')
elif mode in ('serve', 'listen'):
    port, ready, stop = int(sys.argv[3]), sys.argv[4], sys.argv[5]
    s = socket.socket(fam(sys.argv[2]))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if mode == 'serve': s.bind((sys.argv[2], port))
    s.listen(8) if mode == 'serve' else s.listen(8)
    with open(ready + '.tmp', 'w') as f: f.write(s.getsockname()[0] + ' ' + str(s.getsockname()[1]))
    os.rename(ready + '.tmp', ready)
    s.settimeout(0.2); end = time.time() + 30
    while time.time() < end and not os.path.exists(stop):
        try:
            c, peer = s.accept(); c.sendall(('PEER %s\n' % peer[0]).encode()); c.close()
        except (socket.timeout, OSError): pass
elif mode == 'selfloop':
    s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[2]))); s.listen(1)
    c = socket.socket(); c.settimeout(2)
    try:
        c.connect(('127.0.0.1', int(sys.argv[2]))); print('OK', s.getsockname()[0])
    except OSError as e: print('ERR', e.errno)
)PY";

std::string suffix() { return std::to_string(::getpid() % 100000); }
std::string ns_h() { return "vsH" + suffix(); }
std::string ns_c() { return "vsC" + suffix(); }

bool sh(const std::string& cmd) { return run_cmd({"/bin/sh", "-c", cmd}).status == 0; }

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool wait_for_file(const std::string& path, int ms = 10000) {
  for (int i = 0; i < ms / 50; ++i) {
    if (::access(path.c_str(), F_OK) == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

class Netbind : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string h = ns_h(), c = ns_c(), vh = "vsh" + suffix(), vc = "vsc" + suffix();
    helper_ = root_env().tmp + "/nethelper.py";
    std::ofstream(helper_) << kHelper;
    ready_ = sh("ip netns add " + h + " && ip netns add " + c + " && ip link add " + vh +
                " type veth peer name " + vc + " && ip link set " + vh + " netns " + h +
                " && ip link set " + vc + " netns " + c + " && ip -n " + h +
                " addr add 10.77.0.1/24 dev " + vh + " && ip -n " + h +
                " addr add 10.77.0.2/24 dev " + vh + " && ip -n " + h +
                " addr add 10.77.0.254/24 dev " + vh + " && ip -n " + c +
                " addr add 10.77.0.100/24 dev " + vc + " && ip -n " + h + " link set " + vh +
                " up && ip -n " + c + " link set " + vc + " up && ip -n " + h +
                " link set lo up && ip -n " + c + " link set lo up");
  }
  static void TearDownTestSuite() {
    // Deleting the namespaces deletes the veth pair with them.
    sh("ip netns del " + ns_h() + " 2>/dev/null; ip netns del " + ns_c() + " 2>/dev/null");
  }
  void SetUp() override {
    if (!ready_) GTEST_SKIP() << "could not build the test network (ip netns / veth)";
  }

  // argv that runs `args` in a new context XID bound to `ips`, inside H.
  static std::vector<std::string> in_guest(const std::string& xid,
                                           const std::vector<std::string>& ips,
                                           const std::vector<std::string>& args) {
    std::vector<std::string> v{"nsenter", "--net=/run/netns/" + ns_h(), tool_path("vcontext"),
                               "--create", "--silent", "--xid", xid, "--namespaces", kNs, "--",
                               tool_path("chbind")};
    for (const auto& ip : ips) {
      v.push_back("--ip");
      v.push_back(ip);
    }
    v.push_back("--");
    v.push_back(kPython);
    v.push_back(helper_);
    v.insert(v.end(), args.begin(), args.end());
    return v;
  }
  static std::vector<std::string> in_ns(const std::string& ns, const std::vector<std::string>& args) {
    std::vector<std::string> v{"nsenter", "--net=/run/netns/" + ns, kPython, helper_};
    v.insert(v.end(), args.begin(), args.end());
    return v;
  }
  static std::string tmp(const std::string& name) { return root_env().tmp + "/" + name; }

  static inline std::string helper_;
  static inline bool ready_ = false;
};

// A server helper in the background; stopped (stop file) and reaped at scope exit.
struct Server {
  std::string ready, stop;
  BgProcess proc;
  Server(const std::vector<std::string>& argv, const std::string& name)
      : ready(root_env().tmp + "/" + name + ".ready"),
        stop(root_env().tmp + "/" + name + ".stop"),
        proc(with(argv), root_env().tmp + "/" + name + ".log") {}
  ~Server() {
    std::ofstream(stop) << "";
    proc.wait();
  }
  // The argv has "READY" and "STOP" placeholders.
  std::vector<std::string> with(std::vector<std::string> argv) const {
    for (auto& a : argv) {
      if (a == "READY") a = ready;
      if (a == "STOP") a = stop;
    }
    ::unlink(ready.c_str());
    ::unlink(stop.c_str());
    return argv;
  }
  [[nodiscard]] std::string address() const { return read_file(ready); }
};

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
  EXPECT_EQ(bind("41203", "::"), "ERR 1\n");  // no v6 address
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
