// The programs of netbind.h, assembled (netbind.h says what each does).
#include "kernel-shim/netbind_progs.h"

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstring>

#include "kernel-shim/bpf_prog.h"

namespace vs::shim {
namespace {


using Asm = BpfAsm;

// The verdict blocks, each only if a jump goes there (the verifier rejects dead code).
void tail(Asm& a, int allow, int deny) {
  if (a.used(allow)) {
    a.bind(allow);
    a.ret(1);
  }
  if (a.used(deny)) {
    a.bind(deny);
    a.ret(0);
  }
}

// The four 32-bit words of an address as a load from memory gives them.
using Words = std::array<uint32_t, 4>;
Words words_of(const NetAddress& a) {
  Words w{};
  std::memcpy(w.data(), a.bytes.data(), a.family == AF_INET ? 4 : 16);
  return w;
}
uint32_t word(const std::array<uint8_t, 4>& b) {
  uint32_t w;
  std::memcpy(&w, b.data(), 4);
  return w;
}
uint32_t be32(uint32_t host) { return htonl(host); }

constexpr uint8_t R0 = BPF_REG_0, R1 = BPF_REG_1, R2 = BPF_REG_2, R3 = BPF_REG_3,
                  R4 = BPF_REG_4, R5 = BPF_REG_5, R6 = BPF_REG_6, R7 = BPF_REG_7,
                  R8 = BPF_REG_8, R10 = BPF_REG_10;

#define SA_OFF(field) static_cast<int16_t>(offsetof(struct bpf_sock_addr, field))
#define SKB_OFF(field) static_cast<int16_t>(offsetof(struct __sk_buff, field))

struct Plan {
  std::vector<uint32_t> own4;  // words; the first is primary
  std::vector<Words> own6;
  uint32_t lback = 0;
  // The ports whose wildcard listener was bound to the first v4 / v6 address: loopback
  // connections to such a port go to that address (hash maps, port -> 1).
  int lb4_fd = -1, lb6_fd = -1;
};

Plan plan_of(Xid xid, const NetBind& b) {
  Plan p;
  for (const auto& a : b.v4) p.own4.push_back(words_of(a)[0]);
  for (const auto& a : b.v6) p.own6.push_back(words_of(a));
  p.lback = word(loopback_v4(xid));
  return p;
}

// Jumps to `yes` if `reg` holds one of the v4 words (own addresses and the loopback).
void match4(Asm& a, uint8_t reg, const Plan& p, int yes) {
  for (uint32_t w : p.own4) a.jeq(reg, w, yes);
  a.jeq(reg, p.lback, yes);
}
// Jumps to `yes` if R2..R5 hold one of the own v6 addresses.
void match6(Asm& a, const Plan& p, int yes) {
  for (const Words& w : p.own6) {
    int next = a.label();
    a.jne(R2, w[0], next);
    a.jne(R3, w[1], next);
    a.jne(R4, w[2], next);
    a.jne(R5, w[3], next);
    a.ja(yes);
    a.bind(next);
  }
}
// Jumps to `yes` if the v4 word in `reg` is in 127/8 (the first octet is the low byte).
void if_loopback4(Asm& a, uint8_t reg, uint8_t scratch, int yes) {
  a.mov(scratch, reg);
  a.and32_imm(scratch, 0xff);
  a.jeq(scratch, 127, yes);
}
void store_ip6(Asm& a, int16_t off, const Words& w) {
  for (int i = 0; i < 4; ++i) {
    a.mov32_imm(R2, w[i]);
    a.stx_w(R6, static_cast<int16_t>(off + 4 * i), R2);
  }
}
Words mapped(uint32_t v4) { return {0, 0, be32(0xffff), v4}; }
void load_ip6(Asm& a, int16_t off) {
  a.ldx_w(R2, R6, off);
  a.ldx_w(R3, R6, static_cast<int16_t>(off + 4));
  a.ldx_w(R4, R6, static_cast<int16_t>(off + 8));
  a.ldx_w(R5, R6, static_cast<int16_t>(off + 12));
}
// Jumps to `yes` if R2..R4 are the ::ffff:0:0/96 prefix.
void if_mapped(Asm& a, int yes) {
  int no = a.label();
  a.jne(R2, 0, no);
  a.jne(R3, 0, no);
  a.jeq(R4, be32(0xffff), yes);
  a.bind(no);
}
void if_ip6(Asm& a, const Words& w, int yes) {
  int no = a.label();
  a.jne(R2, w[0], no);
  a.jne(R3, w[1], no);
  a.jne(R4, w[2], no);
  a.jeq(R5, w[3], yes);
  a.bind(no);
}

// Stack slots: the map key (the port) and value, and a socket tuple; bpf_bind's sockaddr
// takes -32..-1.
constexpr int16_t kKeySlot = -40, kValueSlot = -48, kTupleSlot = -64;

// The port of the ctx (user_port: network order in the low 16 bits) as the map key.
void port_key(Asm& a) {
  a.ldx_w(R2, R6, SA_OFF(user_port));
  a.stx_w(R10, kKeySlot, R2);
}
// Records (map_fd lb4/lb6) that the port's wildcard listener went to the first address.
// Port 0 (the kernel picks one later) is not recorded. Clobbers R0-R5.
void mark_port(Asm& a, int map_fd) {
  int skip = a.label();
  a.ldx_w(R2, R6, SA_OFF(user_port));
  a.jeq(R2, 0, skip);
  a.stx_w(R10, kKeySlot, R2);
  a.st_w(R10, kValueSlot, 1);
  a.ld_map_fd(R1, map_fd);
  a.mov(R2, R10);
  a.add_imm(R2, kKeySlot);
  a.mov(R3, R10);
  a.add_imm(R3, kValueSlot);
  a.mov_imm(R4, BPF_ANY);
  a.call(BPF_FUNC_map_update_elem);
  a.bind(skip);
}
// A loopback listener on the port: loopback connections go to it again. Clobbers R0-R5.
void unmark_port(Asm& a, int map_fd) {
  port_key(a);
  a.ld_map_fd(R1, map_fd);
  a.mov(R2, R10);
  a.add_imm(R2, kKeySlot);
  a.call(BPF_FUNC_map_delete_elem);
}
// Jumps to `yes` if the ctx's port is recorded in `map_fd`. Clobbers R0-R5.
void if_marked(Asm& a, int map_fd, int yes) {
  port_key(a);
  a.ld_map_fd(R1, map_fd);
  a.mov(R2, R10);
  a.add_imm(R2, kKeySlot);
  a.call(BPF_FUNC_map_lookup_elem);
  a.jne_imm(R0, 0, yes);
}
// A loopback connection (or datagram) the programs send to `target` (the private loopback
// or the first v4 address) must reach a socket bound to exactly that address: one of the
// context's own. A socket on the wildcard there is the host's (or, on the first address's
// port, nobody's own listener any more): jumps to `deny`. No socket: the kernel refuses.
// Clobbers R0-R5 and R7.
void guard4(Asm& a, uint32_t target, int deny) {
  int pass = a.label();
  a.st_w(R10, kTupleSlot, 0);                                  // saddr
  a.st_w(R10, static_cast<int16_t>(kTupleSlot + 4), target);   // daddr
  a.ldx_w(R2, R6, SA_OFF(user_port));
  a.stx_w(R10, static_cast<int16_t>(kTupleSlot + 8), R2);      // sport (0), dport
  a.st_h(R10, static_cast<int16_t>(kTupleSlot + 8), 0);
  a.stx_h(R10, static_cast<int16_t>(kTupleSlot + 10), R2);
  a.ldx_w(R7, R6, SA_OFF(type));
  a.mov(R1, R6);
  a.mov(R2, R10);
  a.add_imm(R2, kTupleSlot);
  a.mov32_imm(R3, 12);  // sizeof bpf_sock_tuple.ipv4
  a.mov_imm(R4, -1);    // BPF_F_CURRENT_NETNS
  a.mov_imm(R5, 0);
  int udp = a.label(), looked = a.label();
  a.jne(R7, SOCK_STREAM, udp);
  a.call(BPF_FUNC_sk_lookup_tcp);
  a.ja(looked);
  a.bind(udp);
  a.call(BPF_FUNC_sk_lookup_udp);
  a.bind(looked);
  a.jeq_imm(R0, 0, pass);
  a.ldx_w(R7, R0, static_cast<int16_t>(offsetof(struct bpf_sock, src_ip4)));
  a.mov(R1, R0);
  a.call(BPF_FUNC_sk_release);
  a.jne(R7, target, deny);
  a.bind(pass);
}
// The destination of a loopback connection or datagram in the v4 word at ctx+off: the first
// v4 address if the port's wildcard listener went there (lb4), else the private loopback;
// either guarded (guard4). Then jumps to `done`.
void loopback_target4(Asm& a, const Plan& p, int16_t off, int done, int deny) {
  if (!p.own4.empty()) {
    int lback = a.label();
    if_marked(a, p.lb4_fd, lback);
    a.mov32_imm(R2, p.lback);
    a.stx_w(R6, off, R2);
    guard4(a, p.lback, deny);
    a.ja(done);
    a.bind(lback);
    a.mov32_imm(R2, p.own4[0]);
    a.stx_w(R6, off, R2);
    guard4(a, p.own4[0], deny);
    a.ja(done);
  } else {
    a.mov32_imm(R2, p.lback);
    a.stx_w(R6, off, R2);
    guard4(a, p.lback, deny);
    a.ja(done);
  }
}

// bind4 and the v4 part of the others: the v4 word at ctx+off.
void v4_bind_rules(Asm& a, const Plan& p, int16_t off, int allow, int deny) {
  int wildcard = a.label(), lback = a.label();
  a.ldx_w(R2, R6, off);
  a.jeq(R2, 0, wildcard);
  match4(a, R2, p, allow);
  if_loopback4(a, R2, R3, lback);
  a.ja(deny);
  a.bind(wildcard);
  if (p.own4.empty()) {
    a.ja(deny);
  } else {
    a.mov32_imm(R2, p.own4[0]);
    a.stx_w(R6, off, R2);
    mark_port(a, p.lb4_fd);
    a.ja(allow);
  }
  a.bind(lback);
  a.mov32_imm(R2, p.lback);
  a.stx_w(R6, off, R2);
  unmark_port(a, p.lb4_fd);
  a.ja(allow);
}

std::vector<bpf_insn> bind4(const Plan& p) {
  Asm a;
  int allow = a.label(), deny = a.label();
  a.mov(R6, R1);
  v4_bind_rules(a, p, SA_OFF(user_ip4), allow, deny);
  tail(a, allow, deny);
  return a.finish();
}

std::vector<bpf_insn> bind6(const Plan& p) {
  Asm a;
  int allow = a.label(), deny = a.label(), is_mapped = a.label(), is_lo = a.label();
  a.mov(R6, R1);
  load_ip6(a, SA_OFF(user_ip6));
  if_mapped(a, is_mapped);
  if_ip6(a, {0, 0, 0, be32(1)}, is_lo);
  match6(a, p, allow);
  int not_any = a.label();
  a.jne(R2, 0, not_any);
  a.jne(R3, 0, not_any);
  a.jne(R4, 0, not_any);
  a.jne(R5, 0, not_any);
  if (!p.own6.empty()) {
    store_ip6(a, SA_OFF(user_ip6), p.own6[0]);
    mark_port(a, p.lb6_fd);
    a.ja(allow);
  } else if (!p.own4.empty()) {
    // No v6 address: a dual-stack wildcard serves the first v4 address, as `::` serves
    // only IPv4 on a host without IPv6 addresses. A v6-only socket cannot take a v4-mapped
    // address: the kernel refuses the bind with EINVAL.
    store_ip6(a, SA_OFF(user_ip6), mapped(p.own4[0]));
    mark_port(a, p.lb4_fd);
    a.ja(allow);
  } else {
    a.ja(deny);
  }
  a.bind(not_any);
  a.ja(deny);
  a.bind(is_lo);
  store_ip6(a, SA_OFF(user_ip6), mapped(p.lback));
  unmark_port(a, p.lb4_fd);
  a.ja(allow);
  a.bind(is_mapped);
  v4_bind_rules(a, p, static_cast<int16_t>(SA_OFF(user_ip6) + 12), allow, deny);
  tail(a, allow, deny);
  return a.finish();
}

// bpf_bind(ctx, sockaddr on the stack, len): binds a socket that is not bound yet to `addr`
// with port 0 (the kernel picks the port at connect). On a bound socket it fails: ignored.
void bpf_bind_v4(Asm& a, uint32_t addr) {
  a.st_dw(R10, -16, 0);
  a.st_dw(R10, -8, 0);
  a.st_h(R10, -16, AF_INET);
  a.st_w(R10, -12, addr);
  a.mov(R1, R6);
  a.mov(R2, R10);
  a.add_imm(R2, -16);
  a.mov32_imm(R3, sizeof(sockaddr_in));
  a.call(BPF_FUNC_bind);
}
void bpf_bind_v6(Asm& a, const Words& addr) {
  for (int16_t o = -32; o < 0; o += 8) a.st_dw(R10, o, 0);
  a.st_h(R10, -32, AF_INET6);
  for (int i = 0; i < 4; ++i) a.st_w(R10, static_cast<int16_t>(-24 + 4 * i), addr[i]);
  a.mov(R1, R6);
  a.mov(R2, R10);
  a.add_imm(R2, -32);
  a.mov32_imm(R3, sizeof(sockaddr_in6));
  a.call(BPF_FUNC_bind);
}

std::vector<bpf_insn> connect4(const Plan& p) {
  Asm a;
  int go = a.label(), lback = a.label(), deny = a.label();
  a.mov(R6, R1);
  if (p.own4.empty()) {
    a.ret(0);
    return a.finish();
  }
  a.ldx_w(R2, R6, SA_OFF(user_ip4));
  if_loopback4(a, R2, R3, lback);
  a.ja(go);
  a.bind(lback);
  loopback_target4(a, p, SA_OFF(user_ip4), go, deny);
  a.bind(go);
  bpf_bind_v4(a, p.own4[0]);
  a.ret(1);
  a.bind(deny);
  a.ret(0);
  return a.finish();
}

std::vector<bpf_insn> connect6(const Plan& p) {
  Asm a;
  int v4 = a.label(), is_lo = a.label(), deny = a.label(), lback4 = a.label(), bind4m = a.label();
  const int16_t v4_word = static_cast<int16_t>(SA_OFF(user_ip6) + 12);
  a.mov(R6, R1);
  load_ip6(a, SA_OFF(user_ip6));
  if_mapped(a, v4);
  if_ip6(a, {0, 0, 0, be32(1)}, is_lo);
  if (p.own6.empty()) {
    a.ja(deny);
  } else {
    bpf_bind_v6(a, p.own6[0]);
    a.ret(1);
  }
  a.bind(is_lo);
  if (!p.own6.empty()) {
    // ::1 to a port whose wildcard listener went to the first v6 address: there.
    int to_own6 = a.label();
    if_marked(a, p.lb6_fd, to_own6);
    int v4_side = a.label();
    a.ja(v4_side);
    a.bind(to_own6);
    store_ip6(a, SA_OFF(user_ip6), p.own6[0]);
    bpf_bind_v6(a, p.own6[0]);
    a.ret(1);
    a.bind(v4_side);
  }
  // Else the v4 side, as ::ffff:127.0.0.1.
  store_ip6(a, SA_OFF(user_ip6), {0, 0, be32(0xffff), 0});
  a.ja(lback4);
  a.bind(v4);
  if_loopback4(a, R5, R3, lback4);
  a.ja(bind4m);
  a.bind(lback4);
  loopback_target4(a, p, v4_word, bind4m, deny);
  a.bind(bind4m);
  if (p.own4.empty()) {
    a.ja(deny);
  } else {
    bpf_bind_v6(a, mapped(p.own4[0]));
    a.ret(1);
  }
  a.bind(deny);
  a.ret(0);
  return a.finish();
}

// The source of an unconnected UDP send: wildcard -> primary, own -> as is, else EPERM.
void src_rules4(Asm& a, const Plan& p, int allow, int deny) {
  int wildcard = a.label();
  a.ldx_w(R2, R6, SA_OFF(msg_src_ip4));
  a.jeq(R2, 0, wildcard);
  match4(a, R2, p, allow);
  a.ja(deny);
  a.bind(wildcard);
  if (p.own4.empty()) {
    a.ja(deny);
  } else {
    a.mov32_imm(R2, p.own4[0]);
    a.stx_w(R6, SA_OFF(msg_src_ip4), R2);
    a.ja(allow);
  }
}

std::vector<bpf_insn> sendmsg4(const Plan& p) {
  Asm a;
  int allow = a.label(), deny = a.label(), src = a.label(), lback = a.label();
  a.mov(R6, R1);
  a.ldx_w(R2, R6, SA_OFF(user_ip4));
  if_loopback4(a, R2, R3, lback);
  a.ja(src);
  a.bind(lback);
  loopback_target4(a, p, SA_OFF(user_ip4), src, deny);
  a.bind(src);
  src_rules4(a, p, allow, deny);
  tail(a, allow, deny);
  return a.finish();
}

std::vector<bpf_insn> sendmsg6(const Plan& p) {
  Asm a;
  int allow = a.label(), deny = a.label();
  a.mov(R6, R1);
  // v4-mapped destinations take the v4 path (udp_sendmsg runs sendmsg4); ::1 cannot be
  // remapped here (the v6 path is already chosen): EPERM.
  load_ip6(a, SA_OFF(user_ip6));
  if_ip6(a, {0, 0, 0, be32(1)}, deny);
  if (p.own6.empty()) {
    a.ja(deny);
  } else {
    load_ip6(a, SA_OFF(msg_src_ip6));
    match6(a, p, allow);
    int not_any = a.label();
    a.jne(R2, 0, not_any);
    a.jne(R3, 0, not_any);
    a.jne(R4, 0, not_any);
    a.jne(R5, 0, not_any);
    store_ip6(a, SA_OFF(msg_src_ip6), p.own6[0]);
    a.ja(allow);
    a.bind(not_any);
    a.ja(deny);
  }
  tail(a, allow, deny);
  return a.finish();
}

// cgroup_skb: the packet starts at the IP header. `v4_off`/`v6_off` select the destination
// (ingress) or the source (egress) address. 1 passes, 0 drops.
//
// Egress runs after POSTROUTING: a source NAT (the host's `masquerade` for a guest's private
// address) has rewritten the source by then. So an IPv4 packet whose source is not the
// context's is judged by the source its socket chose instead, where the socket alone decides
// it: a TCP socket (the header's source is the socket's address, which bind4 and connect4
// made one of the context's), or a UDP socket bound to one of them or unbound (the source of
// each datagram of an unbound or unconnected one, IP_PKTINFO included, is what sendmsg4
// allowed). Raw and ping sockets and IPv6 are judged by the header only. A packet from the
// private loopback may only go to it or to the context's own addresses.
std::vector<bpf_insn> skb_filter(const Plan& p, int16_t v4_off, int16_t v6_off, bool egress) {
  Asm a;
  int pass = a.label(), drop = a.label(), v4 = a.label(), v6 = a.label();
  a.mov(R6, R1);
  a.ldx_w(R7, R6, SKB_OFF(data));
  a.ldx_w(R8, R6, SKB_OFF(data_end));
  a.ldx_w(R2, R6, SKB_OFF(protocol));
  a.jeq(R2, htons(0x0800), v4);
  a.jeq(R2, htons(0x86dd), v6);
  a.ja(pass);
  a.bind(v4);
  a.mov(R3, R7);
  a.add_imm(R3, 20);
  a.jgt_reg(R3, R8, drop);
  a.ldx_w(R2, R7, v4_off);
  if (egress) {
    // From the private loopback only to the private loopback and the context's own
    // addresses: a socket bound to 127.0.0.1 must not show a loopback source to the host's
    // services on its other local addresses.
    int not_lo = a.label();
    a.jne(R2, p.lback, not_lo);
    a.ldx_w(R3, R7, 16);
    match4(a, R3, p, pass);
    a.ja(drop);
    a.bind(not_lo);
  }
  match4(a, R2, p, pass);
  if (egress) {
    int tcp = a.label();
    a.ldx(BPF_DW, R1, R6, static_cast<uint32_t>(SKB_OFF(sk)));
    a.jeq_imm(R1, 0, drop);
    a.call(BPF_FUNC_sk_fullsock);
    a.jeq_imm(R0, 0, drop);
    a.ldx_w(R2, R0, static_cast<int16_t>(offsetof(struct bpf_sock, protocol)));
    a.ldx_w(R3, R0, static_cast<int16_t>(offsetof(struct bpf_sock, src_ip4)));
    a.jeq(R2, IPPROTO_TCP, tcp);
    a.jne(R2, IPPROTO_UDP, drop);
    a.jeq(R3, 0, pass);
    a.bind(tcp);
    for (uint32_t w : p.own4) a.jeq(R3, w, pass);
  }
  a.ja(drop);
  a.bind(v6);
  a.mov(R3, R7);
  a.add_imm(R3, 40);
  a.jgt_reg(R3, R8, drop);
  a.ldx_w(R2, R7, v6_off);
  a.ldx_w(R3, R7, static_cast<int16_t>(v6_off + 4));
  a.ldx_w(R4, R7, static_cast<int16_t>(v6_off + 8));
  a.ldx_w(R5, R7, static_cast<int16_t>(v6_off + 12));
  match6(a, p, pass);
  a.ja(drop);
  tail(a, pass, drop);
  return a.finish();
}

}  // namespace

NetBindPrograms build_net_bind_programs(Xid xid, const NetBind& bind, int lb4_fd, int lb6_fd) {
  Plan p = plan_of(xid, bind);
  p.lb4_fd = lb4_fd;
  p.lb6_fd = lb6_fd;
  return {bind4(p),    bind6(p),    connect4(p),
          connect6(p), sendmsg4(p), sendmsg6(p),
          skb_filter(p, 16, 24, false), skb_filter(p, 12, 8, true)};
}

}  // namespace vs::shim
