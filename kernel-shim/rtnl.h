// A small rtnetlink client: links (bridge, veth, macvlan), addresses and routes in one
// network namespace, for isolated network contexts (netiso.h). No `ip` is run.
//
// The framing is ours (the kernel's uapi macros, ~100 lines) rather than libmnl's: Debian
// ships libmnl only as a shared library (no libmnl.a), and every tool links the shim
// statically (-static: nothing a guest tree could shadow; chbind runs inside guests).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kernel-shim/netbind.h"
#include "lib/base/result.h"
#include "lib/base/unique_fd.h"

struct nlmsghdr;

namespace vs::shim {

/// One network interface as RTM_GETLINK reports it.
struct LinkInfo {
  int index = 0;
  std::string name;
  std::string kind;   ///< IFLA_INFO_KIND: "bridge", "veth", "macvlan", "" for a plain one
  std::string alias;  ///< IFLA_IFALIAS
  int master = 0;     ///< ifindex of the bridge it is a port of, 0 if none
  bool up = false;
};

/// One address as RTM_GETADDR reports it.
struct AddrInfo {
  int index = 0;
  NetAddress addr;
  std::string label;  ///< IFA_LABEL (IPv4 only)
  uint8_t proto = 0;  ///< IFA_PROTO, 0 if none
};

class Rtnl {
 public:
  /// A route netlink socket in the caller's network namespace.
  static Result<Rtnl> open();
  /// A route netlink socket in the network namespace `netns_fd` (a pin, /proc/PID/ns/net);
  /// the calling thread goes there for the socket() call only. `what` names it in errors.
  static Result<Rtnl> open_in(int netns_fd, const std::string& what);


  /// Every link of the namespace.
  Result<std::vector<LinkInfo>> links();
  /// The link named `name`; a kNotFound error (ENODEV) if there is none.
  Result<LinkInfo> link(const std::string& name);

  /// Creates a bridge with an interface alias (how a bridge we made is recognised later).
  Result<void> add_bridge(const std::string& name, const std::string& alias);
  /// Creates a veth pair `host` (here) and `peer`, created directly in `peer_netns_fd`.
  Result<void> add_veth(const std::string& host, const std::string& peer, int peer_netns_fd);
  /// Creates macvlan (bridge mode) `name` on `parent_index`, directly in `netns_fd`.
  Result<void> add_macvlan(const std::string& name, int parent_index, int netns_fd);
  /// Makes `index` a port of bridge `master`.
  Result<void> set_master(int index, int master, const std::string& subject);
  Result<void> set_up(int index, const std::string& subject);
  /// Deletes a link (for a veth: both ends). ENODEV is a kNotFound error.
  Result<void> del_link(int index, const std::string& subject);

  /// Adds ADDR/PREFIX to a link (v6 with IFA_F_NODAD: the guest owns it, see DESIGN.md).
  /// `label` (IPv4 only, at most 15 characters) and `proto` (IFA_PROTO, Linux 6.1; 0: none)
  /// mark an address as someone's; older kernels ignore the protocol.
  Result<void> add_address(int index, const NetAddress& a, const std::string& subject,
                           const std::string& label = {}, uint8_t proto = 0);
  /// Deletes ADDR/PREFIX from a link; EADDRNOTAVAIL (not there) is a kNotFound error.
  Result<void> del_address(int index, const NetAddress& a, const std::string& subject);
  /// The addresses of a link (of every family).
  Result<std::vector<NetAddress>> addresses(int index);
  /// Every address of the namespace, with its link, label and protocol.
  Result<std::vector<AddrInfo>> all_addresses();
  /// Adds a default route of the gateway's family via `gw` (on-link on `index`).
  Result<void> add_default_route(const NetAddress& gw, int index, const std::string& subject);

 /// One request being built (rtnl.cc); public only so rtnl.cc's helpers can name it.
  class Msg;

 private:
  explicit Rtnl(UniqueFd fd) : fd_(std::move(fd)) {}
  static Result<Rtnl> bound(UniqueFd fd, const std::string& what);
  /// Sends one request and waits for its ack; errors carry `op` and `subject`.
  Result<void> request(Msg& m, const std::string& op, const std::string& subject);
  /// Sends a dump request and runs `fn` on every answer.
  Result<void> dump(Msg& m, const std::string& op, const std::function<void(const nlmsghdr*)>& fn);

  UniqueFd fd_;
  uint32_t seq_ = 0;
};

}  // namespace vs::shim
