// IP binding of a context on the host's network stack (DESIGN.md "Network", shared mode):
// hand-assembled cgroup-BPF programs on the context's v2 cgroup.
//
//   bind4/bind6        0.0.0.0 and `::ffff:0.0.0.0` -> the first v4 address, `::` -> the first
//                      v6 address (no v6 address: `::ffff:` the first v4 one, so a dual-stack
//                      wildcard serves IPv4; a v6-only socket then gets EINVAL from the
//                      kernel); 127/8 and ::1 -> the private loopback 127.X.Y.1 (X.Y from the
//                      xid; ::1 as ::ffff:127.X.Y.1); own addresses allowed; anything else
//                      EPERM. A wildcard bind to port P records P in the context's lback map
//                      of its family (a loopback bind to P clears the v4 one).
//   connect4/connect6  127/8 and ::1 (util-vserver's lback): to the first address of the
//                      family if P is recorded (the wildcard listener is there), else to the
//                      private loopback; a v4 target is refused (EPERM) if the socket
//                      that would take it (sk_lookup) is not bound to exactly that address,
//                      e.g. the host's wildcard listener (a v6 one, the first v6 address,
//                      is the context's own address, which it may reach anyway). An unbound socket is bound (bpf_bind, port 0) to the
//                      first address of the family it talks, so the source is the context's
//                      own; a family without an address is EPERM.
//   sendmsg4/sendmsg6  (unconnected UDP) destination as connect4 (::1 is EPERM); a wildcard
//                      source becomes the first address, a foreign one is EPERM.
//   ingress (skb)      packets to any address but the context's own are dropped: closes the
//                      listen()-without-bind hole (autobind lands on the wildcard).
//   egress (skb)       packets from any address but the context's own are dropped: raw and
//                      ping sockets, IP_PKTINFO and other paths the sock_addr hooks miss. It
//                      runs after POSTROUTING: an IPv4 packet a source NAT rewrote passes if
//                      its TCP or UDP socket chose an own source (skb_filter in netbind.cc).
//                      From the private loopback only to it and the own addresses.
// The programs are attached without flags (so no sub-cgroup of the context may attach its
// own), which also makes a new attach replace the old program; they go with the cgroup.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kernel-shim/xid.h"
#include "lib/base/result.h"

namespace vs::shim {

class ContextCgroup;
class ContextTable;

/// One address of a context with its prefix length (the prefix is recorded, not enforced).
struct NetAddress {
  int family = 0;                  ///< AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes{};  ///< network byte order; the first 4 for AF_INET
  int prefix = 0;

  friend bool operator==(const NetAddress& a, const NetAddress& b) {
    return a.family == b.family && a.bytes == b.bytes;
  }
};

/// Parses ADDR[/PREFIX] strictly (inet_pton; prefix 0..32 or 0..128, default the full
/// length). Unspecified, loopback, multicast and v4-mapped addresses are usage errors.
Result<NetAddress> parse_net_address(std::string_view text);
/// "10.0.0.1/24", "2001:db8::1/64".
std::string format_net_address(const NetAddress& a);

/// The addresses of a context: the first v4 and the first v6 are the primary ones.
struct NetBind {
  std::vector<NetAddress> v4, v6;
  [[nodiscard]] bool empty() const { return v4.empty() && v6.empty(); }
  /// All addresses, v4 first, in order.
  [[nodiscard]] std::vector<NetAddress> all() const;
};

/// Splits parsed addresses by family; a repeated address is a usage error.
Result<NetBind> make_net_bind(const std::vector<NetAddress>& addrs);

/// The context's private loopback address 127.(xid>>8).(xid&255).1, network byte order.
std::array<uint8_t, 4> loopback_v4(Xid xid);
std::string loopback_str(Xid xid);

/// Builds, loads and attaches the eight programs to the cgroup v2 directory `cgroup_fd`.
/// Errors: the bpf(2) call that failed (with the verifier log's last line, if any).
Result<void> attach_net_bind(int cgroup_fd, Xid xid, const NetBind& bind);

/// Refuses (usage error naming the other context, code EADDRINUSE) an address of `bind` that
/// another live context has, in either network mode. The caller holds the network lock
/// (netiso.h net_lock()) until it has recorded the addresses, so two starts cannot both pass.
Result<void> refuse_taken_addresses(const ContextTable& table, Xid xid, const NetBind& bind);

/// Gives context `xid` the addresses `bind`: under the context's lock, refuses (usage error,
/// EADDRINUSE) an address another live context has (under the network lock), attaches the
/// programs and records the addresses in its state (NetState::addrs, replacing any). A
/// context in isolated mode is a wrong-state error.
Result<void> apply_net_bind(const ContextTable& table, Xid xid, const NetBind& bind);

/// apply_net_bind() by a caller that holds the context's lock already; `cg`, if given, is the
/// context's cgroup (a creator's host_setup, context.h), else it is opened.
Result<void> apply_net_bind_locked(const ContextTable& table, Xid xid, const NetBind& bind,
                                   const ContextCgroup* cg = nullptr);

}  // namespace vs::shim
