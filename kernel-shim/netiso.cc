#include "kernel-shim/netiso.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "kernel-shim/context_table.h"
#include "kernel-shim/nat.h"
#include "kernel-shim/netshared.h"
#include "kernel-shim/rtnl.h"
#include "lib/base/fs_at.h"
#include "lib/base/scope_exit.h"
#include "lib/base/unique_fd.h"

namespace vs::shim {
namespace {

std::string hostns_dir(const ContextTable& table, Xid xid) { return host_netns_dir(table, xid); }

bool valid_ifname(const std::string& n) {
  // IFNAMSIZ - 1, no '/', ':' or whitespace, not "." or ".." (dev_valid_name()).
  if (n.empty() || n.size() > 15 || n == "." || n == "..") return false;
  return std::none_of(n.begin(), n.end(), [](char c) {
    return c == '/' || c == ':' || c == '"' || c <= ' ' || c > '~';
  });
}

// accept_ra=0: a guest's router advertisements must not configure the host (E28). A host
// without IPv6 has no such file: nothing to protect then.
Result<void> no_accept_ra(const std::string& ifname) {
  auto r = write_file("/proc/sys/net/ipv6/conf/" + ifname + "/accept_ra", "0");
  if (!r && r.error().code == ENOENT) return ok();
  return r;
}

// The bridge's first IPv4 address with the guest's prefix: the default gateway.
std::optional<NetAddress> first_v4(const std::vector<NetAddress>& v) {
  for (const auto& a : v) {
    if (a.family == AF_INET) return a;
  }
  return std::nullopt;
}

// Host side of a veth setup: the bridge (made if missing) and the host end on it.
Result<void> host_side_veth(Rtnl& host, Xid xid, const IsolatedNetSpec& spec, int guest_ns,
                            std::vector<NetAddress>* gateways) {
  const std::string& br = spec.device;
  auto bridge = host.link(br);
  bool made = false;
  if (!bridge && bridge.error().kind == ErrorKind::kNotFound) {
    if (auto r = host.add_bridge(br, kBridgeAlias); !r) return r;
    made = true;
    bridge = host.link(br);
  }
  if (!bridge) return std::move(bridge).error();
  if (bridge->kind != "bridge") {
    return usage_error("--bridge", "`" + br + "` exists and is not a bridge (it is a " +
                                       (bridge->kind.empty() ? "plain" : bridge->kind) +
                                       " interface)");
  }
  if (auto r = no_accept_ra(br); !r) return r;
  // A bridge we made gets the gateways, each with the prefix of the guest's first address
  // of its family (a bridge the administrator made has the addresses they gave it).
  for (const auto& gw : *gateways) {
    const auto& mine = gw.family == AF_INET ? spec.addrs.v4 : spec.addrs.v6;
    if (!made || mine.empty()) continue;
    NetAddress on_bridge = gw;
    on_bridge.prefix = mine.front().prefix;
    if (auto r = host.add_address(bridge->index, on_bridge, br); !r) return r;
  }
  auto gw4 = std::find_if(gateways->begin(), gateways->end(),
                          [](const NetAddress& a) { return a.family == AF_INET; });
  if (gw4 == gateways->end() && !spec.addrs.v4.empty()) {
    auto have = host.addresses(bridge->index);
    if (!have) return std::move(have).error();
    if (auto a = first_v4(*have)) gateways->push_back(*a);
  }
  if (!bridge->up) {
    if (auto r = host.set_up(bridge->index, br); !r) return r;
  }
  std::string hv = host_veth_name(xid);
  if (auto r = host.add_veth(hv, spec.ifname, guest_ns); !r) return r;
  auto end = host.link(hv);
  if (!end) return std::move(end).error();
  if (auto r = no_accept_ra(hv); !r) return r;
  if (auto r = host.set_master(end->index, bridge->index, hv + " -> " + br); !r) return r;
  return host.set_up(end->index, hv);
}

// Inside: the interface up, its addresses, the default routes.
Result<void> guest_side(Rtnl& guest, const IsolatedNetSpec& spec,
                        const std::vector<NetAddress>& gateways) {
  auto eth = guest.link(spec.ifname);
  if (!eth) return std::move(eth).error();
  if (auto r = guest.set_up(eth->index, spec.ifname); !r) return r;
  for (const auto& a : spec.addrs.all()) {
    if (auto r = guest.add_address(eth->index, a, spec.ifname); !r) return r;
  }
  for (const auto& gw : gateways) {
    bool has_family = gw.family == AF_INET ? !spec.addrs.v4.empty() : !spec.addrs.v6.empty();
    if (!has_family) continue;
    if (auto r = guest.add_default_route(gw, eth->index, spec.ifname); !r) return r;
  }
  return ok();
}

// The host namespace pin, or the caller's own namespace when there is none.
UniqueFd open_hostns(const ContextTable& table, Xid xid) {
  return UniqueFd(::open((hostns_dir(table, xid) + "/net").c_str(), O_RDONLY | O_CLOEXEC));
}

Result<void> teardown_locked(const ContextTable& table, Xid xid, const NetState& net);

}  // namespace

std::string host_veth_name(Xid xid) { return "vsv" + xid.str(); }
std::string host_netns_dir(const ContextTable& table, Xid xid) {
  return table.entry_dir(xid) + "/hostns";
}
std::string nat_comment(Xid xid) { return "vserver xid " + xid.str(); }

NetInfo net_info(const NetState& net, bool has_netns) {
  NetInfo info;
  info.addrs = net.addrs.all();
  if (const auto& iso = net.isolated) {
    info.mode = "isolated";
    info.link = iso->link == IsoLink::kVeth ? "veth" : "macvlan";
    info.ifname = iso->ifname;
    info.host_if = iso->host_veth;
    info.device = iso->device;
    info.nat = iso->nat;
    info.gateways = iso->gateways;
  } else if (!info.addrs.empty()) {
    info.mode = "shared";
  } else {
    info.mode = has_netns ? "private" : "host";
  }
  return info;
}

Result<FileLock> net_lock(const ContextTable& table) {
  auto l = FileLock::acquire(table.config().rundir + "/net.lock", true);
  if (!l) return std::move(l).error().wrap("lock the network table");
  return l;
}

Result<void> check_isolated_net_spec(const IsolatedNetSpec& spec) {
  const char* dev_opt = spec.link == IsoLink::kVeth ? "--bridge" : "--macvlan";
  if (!valid_ifname(spec.device)) {
    return usage_error(dev_opt, "`" + spec.device + "` is not an interface name (1..15 "
                                                    "characters, no '/', ':' or spaces)");
  }
  if (!valid_ifname(spec.ifname)) {
    return usage_error("interface", "`" + spec.ifname + "` is not an interface name");
  }
  if (spec.addrs.empty()) return usage_error("--ip", "at least one address is needed");
  bool v4 = false, v6 = false;
  for (const auto& g : spec.gateways) {
    bool& seen = g.family == AF_INET ? v4 : v6;
    if (seen) return usage_error("--gateway", "at most one gateway per address family");
    seen = true;
  }
  if (spec.nat && spec.addrs.v4.empty()) {
    return usage_error("--nat", "NAT is for IPv4: the context has no IPv4 address");
  }
  if (spec.nat && spec.link == IsoLink::kMacvlan) {
    return usage_error("--nat", "NAT needs a bridge (a macvlan guest is on the parent's "
                                "network itself)");
  }
  return ok();
}

Result<void> setup_isolated_net(const ContextTable& table, Xid xid, const IsolatedNetSpec& spec,
                                bool lock_held) {
  const std::string what = "isolated network for context " + xid.str();
  if (auto r = check_isolated_net_spec(spec); !r) return r;
  FileLock ctx_lock;
  if (!lock_held) {
    auto lk = table.lock(xid, true);
    if (!lk) return std::move(lk).error().wrap(what);
    ctx_lock = std::move(*lk);
  }
  auto st = table.read_state(xid);
  if (!st) return std::move(st).error().wrap(what);
  if (!(st->namespaces & CLONE_NEWNET)) {
    return make_error(ErrorKind::kWrongState, "isolated network", "context " + xid.str(),
                      "it shares the host's network stack (no net namespace of its own: "
                      "create it with --namespaces ...,net, or use chbind --ip for shared "
                      "mode)",
                      EINVAL);
  }
  if (st->net.any()) {
    return make_error(ErrorKind::kWrongState, "isolated network", "context " + xid.str(),
                      "its network is set up already", EEXIST);
  }
  UniqueFd guest_ns(::open((table.ns_dir(xid) + "/net").c_str(), O_RDONLY | O_CLOEXEC));
  if (!guest_ns) return sys_error("open", table.ns_dir(xid) + "/net").wrap(what);
  // The caller's namespace becomes the host side: from inside the context it would be the
  // context's own. (Inside, the pin is not even a pin: the context's mount namespace is
  // older than its pins.)
  auto ino = st->ns_inodes.find("net");
  struct stat pin {}, mine {};
  if (ino == st->ns_inodes.end() || ::fstat(guest_ns.get(), &pin) < 0 ||
      pin.st_ino != ino->second || ::stat("/proc/thread-self/ns/net", &mine) < 0 ||
      mine.st_ino == ino->second) {
    return make_error(ErrorKind::kWrongState, "isolated network", "context " + xid.str(),
                      "run from the host, not from inside the context", EINVAL);
  }
  auto nl = net_lock(table);
  if (!nl) return std::move(nl).error().wrap(what);
  if (auto r = refuse_taken_addresses(table, xid, spec.addrs); !r) return r;

  auto host = Rtnl::open();
  if (!host) return std::move(host).error().wrap(what);
  // Teardown deletes the host end by name: it must be ours, not a leftover of someone else.
  if (spec.link == IsoLink::kVeth) {
    auto clash = host->link(host_veth_name(xid));
    if (clash) {
      return make_error(ErrorKind::kWrongState, "create veth pair", host_veth_name(xid),
                        "a host interface of that name exists already (not made for this "
                        "context; delete it first)",
                        EEXIST);
    }
    if (clash.error().kind != ErrorKind::kNotFound) return std::move(clash).error().wrap(what);
  }

  // Record first, then make: whatever exists at a crash is in the state for the reaper.
  Transaction undo;
  undo.on_rollback([&] {
    (void)teardown_locked(table, xid, st->net);
    st->net = NetState{};
    (void)table.write_state(*st);
  });
  if (auto r = pin_namespaces(table.config().proc_root, ::getpid(), CLONE_NEWNET,
                              hostns_dir(table, xid));
      !r) {
    return std::move(r).error().wrap(what);
  }
  IsolatedNet& iso = st->net.isolated.emplace();
  iso.link = spec.link;
  iso.ifname = spec.ifname;
  iso.device = spec.device;
  if (spec.link == IsoLink::kVeth) iso.host_veth = host_veth_name(xid);
  iso.nat = spec.nat;
  st->net.addrs = spec.addrs;
  if (auto r = table.write_state(*st); !r) return std::move(r).error().wrap(what);

  std::vector<NetAddress> gateways = spec.gateways;
  if (spec.link == IsoLink::kVeth) {
    if (auto r = host_side_veth(*host, xid, spec, guest_ns.get(), &gateways); !r) {
      return std::move(r).error().wrap(what);
    }
  } else {
    auto parent = host->link(spec.device);
    if (!parent) return std::move(parent).error().wrap(what);
    if (auto r = host->add_macvlan(spec.ifname, parent->index, guest_ns.get()); !r) {
      return std::move(r).error().wrap(what);
    }
  }
  auto guest = Rtnl::open_in(guest_ns.get(), "context " + xid.str());
  if (!guest) return std::move(guest).error().wrap(what);
  if (auto r = guest_side(*guest, spec, gateways); !r) return std::move(r).error().wrap(what);
  if (spec.nat) {
    if (auto r = add_nat_rules(-1, xid, spec.addrs, spec.device); !r) {
      return std::move(r).error().wrap(what);
    }
  }
  if (!gateways.empty()) {
    st->net.isolated->gateways = gateways;
    if (auto r = table.write_state(*st); !r) return std::move(r).error().wrap(what);
  }
  undo.commit();
  return ok();
}

namespace {

// teardown_isolated_net() for a caller that holds the network lock.
Result<void> teardown_locked(const ContextTable& table, Xid xid, const NetState& net) {
  std::optional<Error> first;
  auto note = [&](Result<void> r) {
    if (!r && r.error().kind != ErrorKind::kNotFound && !first) first = std::move(r).error();
  };
  // Without a record (a state that could not be read): only the host namespace pin.
  const IsolatedNet iso = net.isolated.value_or(IsolatedNet{});
  UniqueFd hostns = open_hostns(table, xid);
  Result<Rtnl> host = hostns ? Rtnl::open_in(hostns.get(), "host of context " + xid.str())
                             : Rtnl::open();
  if (host) {
    // The host end first: its peer (the guest's eth0) goes with it at once.
    if (const std::string& hv = iso.host_veth; !hv.empty()) {
      auto l = host->link(hv);
      if (l) note(host->del_link(l->index, hv));
    }
    note(remove_host_addresses(*host, net.host_addrs));
  } else {
    note(std::move(host).error());
  }
  // A macvlan lives in the context's namespace only: deleted there (a rolled-back setup
  // may be retried; a reaped context's namespace would take it along anyway).
  if (const std::string& itf = iso.ifname; iso.link == IsoLink::kMacvlan && !itf.empty()) {
    UniqueFd guest_ns(::open((table.ns_dir(xid) + "/net").c_str(), O_RDONLY | O_CLOEXEC));
    if (guest_ns) {
      auto guest = Rtnl::open_in(guest_ns.get(), "context " + xid.str());
      if (guest) {
        auto l = guest->link(itf);
        if (l) note(guest->del_link(l->index, itf));
      }
    }
  }
  if (iso.nat || net.shared_nat) note(remove_nat_rules(hostns ? hostns.get() : -1, xid));
  const std::string& br = iso.device;
  if (host && net.isolated && iso.link == IsoLink::kVeth && !br.empty()) {
    // Only a bridge we made, and only when no guest (or anyone) uses it any more.
    auto all = host->links();
    if (all) {
      auto b = std::find_if(all->begin(), all->end(),
                            [&](const LinkInfo& l) { return l.name == br; });
      bool ours = b != all->end() && b->kind == "bridge" && b->alias == kBridgeAlias;
      bool ports = ours && std::any_of(all->begin(), all->end(), [&](const LinkInfo& l) {
                     return l.master == b->index;
                   });
      if (ours && !ports) note(host->del_link(b->index, br));
    } else {
      note(std::move(all).error());
    }
  }
  hostns.reset();
  note(unpin_namespaces(hostns_dir(table, xid)));
  if (first) return std::move(*first).wrap("tear down network of context " + xid.str());
  return ok();
}

}  // namespace

Result<void> teardown_isolated_net(const ContextTable& table, Xid xid, const NetState& net) {
  auto nl = net_lock(table);
  if (!nl) return std::move(nl).error();
  return teardown_locked(table, xid, net);
}

}  // namespace vs::shim
