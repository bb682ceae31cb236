// The host side of a context on the host's network stack (shared mode, netbind.h): its
// addresses on host devices and, optionally, NAT for its IPv4 addresses.
//
// An address vserver adds is marked with the address protocol kHostAddrProto (IFA_PROTO,
// Linux 6.1; older kernels ignore it) and, IPv4 only (IPv6 addresses have no label), labelled
// "DEV:vs-OWNER" (or "DEV:NAME" with the interface's util-vserver name) cut to 15 characters,
// so `ip addr` shows whose it is; on older kernels a "DEV:vs-" label is the mark. What was added is recorded, before it is added, in the state attribute
//
//   net.hostaddr=IFINDEX@ADDR/P,...   (with net.nat=1 when NAT rules were added)
//
// and the caller's network namespace is pinned as RUNDIR/<xid>/hostns/net (as for isolated
// mode, netiso.h), so the context's reaper, wherever it runs, deletes the addresses and the
// rules in the right namespace (teardown_isolated_net() does both). sweep_host_addresses()
// deletes the marked addresses that no live context records: those of a dead context not
// reaped yet, and those of a context whose state was lost with its run directory.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kernel-shim/context_state.h"
#include "kernel-shim/netbind.h"
#include "kernel-shim/rtnl.h"
#include "kernel-shim/xid.h"
#include "lib/base/result.h"

namespace vs::shim {

class ContextTable;

/// IFA_PROTO of the addresses vserver adds ('v'; the kernel's own values are 0..3).
inline constexpr uint8_t kHostAddrProto = 0x76;

/// One address to put on a host device.
struct HostAddr {
  std::string dev;   ///< the device's name
  NetAddress addr;   ///< with its prefix
  std::string name;  ///< the label's part after "DEV:" (util-vserver's name); empty: "vs-OWNER"
};

struct SharedHostSpec {
  std::vector<HostAddr> addrs;  ///< put on their devices
  NetBind nat;                  ///< IPv4 addresses to masquerade (nat.v6 must be empty)
  std::string owner;            ///< names the owner in labels ("web1")
};

/// "DEV:NAME" (NAME empty: "vs-OWNER"), cut to IFNAMSIZ - 1 characters (only "DEV" if not
/// even three characters after the colon fit).
std::string host_addr_label(const std::string& dev, const std::string& owner,
                            const std::string& name = {});

/// True if the address is one vserver added (protocol, or an IPv4 label with ":vs-").
bool is_vserver_address(const AddrInfo& a);

/// Sets up the host side of live context `xid` in the caller's network namespace. The
/// caller holds the context's lock and the network lock (net_lock()). Errors: a device that
/// does not exist (kNotFound, naming it), an address that is already on the host (kWrongState,
/// naming the device it is on), the netlink or nft step. On error what was made is left
/// recorded for the reaper (teardown_isolated_net()).
Result<void> setup_shared_host(const ContextTable& table, Xid xid, const SharedHostSpec& spec);

/// Deletes the addresses `recorded` (NetState::host_addrs) that are still marked as
/// vserver's. Best effort; the first error.
Result<void> remove_host_addresses(Rtnl& host, const std::vector<HostAddrRecord>& recorded);

/// Deletes, in the caller's network namespace, every address marked as vserver's that no
/// live context records. The caller holds the network lock. Returns what it deleted
/// ("10.0.0.1/24 on eth0").
Result<std::vector<std::string>> sweep_host_addresses_locked(const ContextTable& table);
/// The same, under the network lock (taken only if there is a marked address).
Result<std::vector<std::string>> sweep_host_addresses(const ContextTable& table);

}  // namespace vs::shim
