// The fixture of the shared-stack tests (netbind_*_test.cc). The "host stack" of the guests is a network namespace H
// the suite makes (addresses 10.77.0.1 = guest A, .2 = guest B, .254 = a host address, and
// fd00:77::1, ::2, ::fe the same in IPv6) on a veth whose peer is in the client namespace C
// (10.77.0.100, fd00:77::64). Contexts are created inside H
// (nsenter --net, no other namespace changes) so they share its stack. Each test uses its own
// static xids (412xx); everything made here is removed at the end.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/bg_process.h"
#include "tests/support/root_env.h"
#include "tests/support/run_cmd.h"

namespace vs::test::netbind {


inline constexpr const char* kPython = "/usr/bin/python3";
inline constexpr const char* kNs = "mnt,pid,uts,ipc";

// The socket helper run in the guests and the client namespaces. Prints one line per result:
// "OK <getsockname>" / "ERR <errno>" / "PEER <addr>", the probes "STEP OK" / "STEP ERR
// <errno>", the sniffer one "PKT SRC DST PROTO PORT" per packet it sees arrive.
inline constexpr const char* kHelper = R"PY(
import os, socket, struct, sys, time
mode = sys.argv[1]
def fam(a): return socket.AF_INET6 if ':' in a else socket.AF_INET
def res(tag, fn):
    try:
        r = fn(); print(tag, 'OK' if r is None else 'OK %s' % r)
    except OSError as e: print(tag, 'ERR', e.errno)
def pktinfo(src):
    if ':' in src:
        return (socket.IPPROTO_IPV6, 50, socket.inet_pton(socket.AF_INET6, src) + struct.pack('=I', 0))
    return (socket.IPPROTO_IP, 8, struct.pack('=I4s4s', 0, socket.inet_aton(src), bytes(4)))
if mode == 'connect':
    s = socket.socket(fam(sys.argv[2])); s.settimeout(2)
    try:
        s.connect((sys.argv[2], int(sys.argv[3])))
        print('OK', s.getsockname()[0]); print(s.makefile().readline().strip())
    except OSError as e: print('ERR', e.errno)
    except socket.timeout: print('ERR timeout')
elif mode == 'connect-from':
    # connect-from SRC DST PORT: a connection from a socket bound to SRC
    s = socket.socket(fam(sys.argv[3])); s.settimeout(2)
    try:
        s.bind((sys.argv[2], 0)); s.connect((sys.argv[3], int(sys.argv[4])))
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
    # selfloop PORT [ADDR]: a listener on ADDR (default 127.0.0.1) and a connect to it
    addr = sys.argv[3] if len(sys.argv) > 3 else '127.0.0.1'
    s = socket.socket(fam(addr)); s.bind((addr, int(sys.argv[2]))); s.listen(1)
    c = socket.socket(fam(addr)); c.settimeout(2)
    try:
        c.connect((addr, int(sys.argv[2]))); print('OK', s.getsockname()[0])
    except OSError as e: print('ERR', e.errno)
elif mode == 'sniff':
    # Every IP packet that arrives on IFACE: "PKT SRC DST PROTO PORT" (PORT: the UDP/TCP
    # destination port, the ICMP type).
    iface, ready, stop = sys.argv[2:5]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(3))
    s.bind((iface, 3)); s.settimeout(0.1)
    open(ready, 'w').close()
    end = time.time() + 60
    while time.time() < end and not os.path.exists(stop):
        try: data, sa = s.recvfrom(65535)
        except socket.timeout: continue
        if sa[2] == socket.PACKET_OUTGOING: continue
        if sa[1] == 0x0800 and len(data) >= 20:
            f, src, dst, proto, l4 = socket.AF_INET, data[12:16], data[16:20], data[9], data[(data[0] & 15) * 4:]
        elif sa[1] == 0x86dd and len(data) >= 40:
            f, src, dst, proto, l4 = socket.AF_INET6, data[8:24], data[24:40], data[6], data[40:]
        else: continue
        port = struct.unpack('!H', l4[2:4])[0] if proto in (6, 17) and len(l4) >= 4 else (l4[0] if l4 else -1)
        print('PKT', socket.inet_ntop(f, src), socket.inet_ntop(f, dst), proto, port, flush=True)
elif mode == 'loop':
    # loop LISTEN TARGET PORT [udp]: a listener (a bound UDP socket) on LISTEN:PORT, and a
    # connection (a datagram) to TARGET:PORT from the same context: "OK <listener's
    # address>" if it arrived, else "ERR <errno>" / "BIND ERR <errno>"
    lst, tgt, port, udp = sys.argv[2], sys.argv[3], int(sys.argv[4]), 'udp' in sys.argv[5:]
    kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
    s = socket.socket(fam(lst), kind)
    try: s.bind((lst, port))
    except OSError as e: print('BIND ERR', e.errno); sys.exit(0)
    if not udp: s.listen(1)
    s.settimeout(2)
    c = socket.socket(fam(tgt), kind); c.settimeout(2)
    try:
        if udp:
            c.sendto(b'probe', (tgt, port)); s.recvfrom(16)
        else:
            c.connect((tgt, port)); s.accept()
        print('OK', s.getsockname()[0])
    except OSError as e: print('ERR', e.errno)
    except socket.timeout: print('ERR timeout')
elif mode == 'bind':
    # bind ADDR [udp] [freebind] [v6only]
    s = socket.socket(fam(sys.argv[2]), socket.SOCK_DGRAM if 'udp' in sys.argv[3:] else socket.SOCK_STREAM)
    if 'v6only' in sys.argv[3:]: s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    if 'freebind' in sys.argv[3:]:
        if fam(sys.argv[2]) == socket.AF_INET: s.setsockopt(socket.IPPROTO_IP, 15, 1)
        else: s.setsockopt(socket.IPPROTO_IPV6, 78, 1)
    try:
        s.bind((sys.argv[2], 0)); print('OK', s.getsockname()[0])
    except OSError as e: print('ERR', e.errno)
elif mode == 'udp':
    # udp DST PORT [pktinfo SRC] [connected]: one datagram, its result
    dst, port, rest = sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    s = socket.socket(fam(dst), socket.SOCK_DGRAM)
    anc = [pktinfo(rest[rest.index('pktinfo') + 1])] if 'pktinfo' in rest else []
    if 'connected' in rest:
        res('CONNECT', lambda: s.connect((dst, port)))
        res('SEND', lambda: s.sendmsg([b'probe'], anc) and None)
    else:
        res('SEND', lambda: s.sendmsg([b'probe'], anc, 0, (dst, port)) and None)
elif mode == 'udp6-mapped':
    # udp6-mapped V4DST PORT FOREIGN: an AF_INET6 socket connected to ::ffff:V4DST, then
    # sends to the v4-mapped destination: plain, with a name, with a foreign IPV6_PKTINFO.
    dst, port, foreign = '::ffff:' + sys.argv[2], int(sys.argv[3]), '::ffff:' + sys.argv[4]
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    res('CONNECT', lambda: s.connect((dst, port)))
    res('LOCAL', lambda: s.getsockname()[0])
    res('SEND', lambda: s.send(b'probe') and None)
    # C's port unreachable would fail the next send (ECONNREFUSED): collect it first.
    time.sleep(0.1); s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    res('SENDTO', lambda: s.sendto(b'probe', (dst, port)) and None)
    time.sleep(0.1); s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
    res('PKTINFO', lambda: s.sendmsg([b'probe'], [pktinfo(foreign)], 0, (dst, port)) and None)
elif mode == 'ping':
    # ping SRC|- DST: an unprivileged ICMP socket (as nobody), bound to SRC, one echo request
    src, dst = sys.argv[2], sys.argv[3]
    os.setgroups([]); os.setgid(65534); os.setuid(65534)
    v6 = ':' in dst
    s = socket.socket(fam(dst), socket.SOCK_DGRAM, socket.IPPROTO_ICMPV6 if v6 else socket.IPPROTO_ICMP)
    if src != '-': res('BIND', lambda: s.bind((src, 0)))
    echo = struct.pack('!BBHHH', 128 if v6 else 8, 0, 0, 0, 1) + b'probe'
    res('SEND', lambda: s.sendto(echo, (dst, 0)) and None)
elif mode == 'raw':
    # raw SRC DST PORT: a UDP datagram with source SRC written by hand (IP_HDRINCL)
    src, dst, port = sys.argv[2], sys.argv[3], int(sys.argv[4])
    udp = struct.pack('!HHHH', 40000, port, 13, 0) + b'probe'
    f = fam(dst)
    if f == socket.AF_INET:
        hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                          socket.inet_aton(src), socket.inet_aton(dst))
    else:
        hdr = struct.pack('!IHBB16s16s', 6 << 28, len(udp), 17, 64,
                          socket.inet_pton(f, src), socket.inet_pton(f, dst))
    s = socket.socket(f, socket.SOCK_RAW, socket.IPPROTO_RAW)
    res('SEND', lambda: s.sendto(hdr + udp, (dst, 0)) and None)
elif mode == 'raw-bound':
    # raw-bound SRC DST: a raw socket (protocol 253) bound to SRC sends one packet
    src, dst = sys.argv[2], sys.argv[3]
    s = socket.socket(fam(dst), socket.SOCK_RAW, 253)
    res('BIND', lambda: s.bind((src, 0)))
    res('SEND', lambda: s.sendto(b'probe', (dst, 0)) and None)
)PY";

inline std::string suffix() { return std::to_string(::getpid() % 100000); }
inline std::string ns_h() { return "vsH" + suffix(); }
inline std::string ns_c() { return "vsC" + suffix(); }

inline bool sh(const std::string& cmd) { return run_cmd({"/bin/sh", "-c", cmd}).status == 0; }

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool wait_for_file(const std::string& path, int ms = 10000) {
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
                " addr add 10.77.0.100/24 dev " + vc +
                // The same in IPv6 (nodad: usable at once): A ::1, B ::2, the host ::fe, C ::64.
                " && ip -n " + h + " addr add fd00:77::1/64 dev " + vh + " nodad && ip -n " + h +
                " addr add fd00:77::2/64 dev " + vh + " nodad && ip -n " + h +
                " addr add fd00:77::fe/64 dev " + vh + " nodad && ip -n " + c +
                " addr add fd00:77::64/64 dev " + vc + " nodad && ip -n " + h + " link set " + vh +
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

}  // namespace vs::test::netbind
