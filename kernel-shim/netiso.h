// Isolated network mode (DESIGN.md "Network"): a context with its own network namespace gets
// an interface `eth0` there — one end of a veth pair whose host end is a port of a host
// bridge, or a macvlan on a host parent device — with its addresses and a default route,
// all over rtnetlink (rtnl.h); optionally NAT for its outgoing IPv4 traffic (nftables).
//
// "Host" is the network namespace of the process that sets the network up; it is pinned as
// RUNDIR/<xid>/hostns/net so the context's reaper, wherever it runs, cleans up in the right
// namespace. What was made is recorded in the context's state before it is made (NetState
// with its IsolatedNet, context_state.h): the link kind, the interface inside, the host end
// of a veth ("vsv<xid>"), the bridge or macvlan parent, the gateways, and whether there are
// NAT rules (tagged with the comment "vserver xid <xid>").
//
// ContextTable::reap() calls teardown_isolated_net(): it deletes the host end of the veth
// (its peer goes with it; it would also go with the namespace, asynchronously), deletes
// the context's NAT rules (and the `inet vserver` table once it has none), and deletes the
// bridge only if vserver made it (its alias is kBridgeAlias) and it has no port left. A
// bridge the administrator made is host configuration and stays. Every step is idempotent:
// a crash anywhere in setup leaves nothing that the reaper does not remove.
//
// Lock order everywhere: the context's lock, then the table-wide network lock
// RUNDIR/net.lock (net_lock()), which serialises the duplicate-address check with the
// recording of the addresses, and bridge creation with bridge removal.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kernel-shim/context_state.h"
#include "kernel-shim/netbind.h"
#include "kernel-shim/xid.h"
#include "lib/base/flock.h"
#include "lib/base/result.h"

namespace vs::shim {

class ContextTable;

struct IsolatedNetSpec {
  IsoLink link = IsoLink::kVeth;
  /// veth: the host bridge (created if missing, with accept_ra=0); macvlan: the parent.
  std::string device;
  NetBind addrs;                      ///< the guest's addresses, with their prefixes
  /// Default-route gateways, at most one per family. None given: the bridge's first IPv4
  /// address, if it has one (else no default route). With a bridge we create, the given
  /// gateways are also added to it (each with the prefix of the guest's first address of
  /// its family; IPv6 without duplicate address detection).
  std::vector<NetAddress> gateways;
  bool nat = false;                   ///< masquerade IPv4 from the guest; sets ip_forward=1
  std::string ifname = "eth0";        ///< the interface's name inside
};

/// The alias vserver gives a bridge it creates (how teardown knows it may delete it).
inline constexpr const char* kBridgeAlias = "vserver-managed";

/// RUNDIR/<xid>/hostns: the pin of the network namespace the context's host side is in.
std::string host_netns_dir(const ContextTable& table, Xid xid);
/// The host end's name for a context: "vsv<xid>".
std::string host_veth_name(Xid xid);
/// The nft comment that tags a context's NAT rules: "vserver xid <xid>".
std::string nat_comment(Xid xid);

/// Checks a spec without touching anything (usage errors: names, gateways, addresses).
Result<void> check_isolated_net_spec(const IsolatedNetSpec& spec);

/// Sets up isolated networking for live context `xid` from the caller's network namespace
/// (the host side). Errors: usage (bad spec; an address another live context has, naming
/// it), wrong state (the context has no network namespace of its own, or already has a
/// network setup), failed (the netlink or nft step, naming the interface). On error nothing
/// is left behind. Takes the context's lock unless `lock_held` (the caller holds it, e.g.
/// create_and_run's on_created callback).
Result<void> setup_isolated_net(const ContextTable& table, Xid xid, const IsolatedNetSpec& spec,
                                bool lock_held = false);

/// Removes the host-side pieces recorded in `net` (see above; and a shared-mode context's
/// host addresses and NAT rules, netshared.h) and the host namespace pin.
/// Best effort, idempotent; returns the first error. Called by ContextTable::reap() under
/// the context's lock, before the context's namespaces are unpinned.
Result<void> teardown_isolated_net(const ContextTable& table, Xid xid, const NetState& net);

/// What `chbind --show` prints: a context's network as recorded in its state.
struct NetInfo {
  /// "shared" (chbind --ip on the host stack), "isolated", "host" (the host's stack, not
  /// bound), "private" (an own network namespace without interface: loopback only).
  std::string mode;
  std::string link;     ///< isolated: "veth" or "macvlan"
  std::string ifname;   ///< isolated: the interface inside
  std::string host_if;  ///< veth: the host end
  std::string device;   ///< the bridge, or the macvlan parent
  std::vector<NetAddress> addrs, gateways;
  bool nat = false;
};
/// `has_netns`: the context has a network namespace of its own.
NetInfo net_info(const NetState& net, bool has_netns);

/// The table-wide network lock RUNDIR/net.lock (see above).
Result<FileLock> net_lock(const ContextTable& table);

}  // namespace vs::shim
