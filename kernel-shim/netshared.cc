#include "kernel-shim/netshared.h"

#include <linux/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <utility>

#include "kernel-shim/context_table.h"
#include "kernel-shim/nat.h"
#include "kernel-shim/netiso.h"
#include "kernel-shim/ns.h"
#include "lib/base/parse.h"

namespace vs::shim {
namespace {

std::string addr_only(const NetAddress& a) {
  auto s = format_net_address(a);
  return s.substr(0, s.find('/'));
}

bool same(const AddrInfo& have, const HostAddrRecord& r) {
  return have.index == r.index && have.addr == r.addr && have.addr.prefix == r.addr.prefix;
}

}  // namespace

std::string host_addr_label(const std::string& dev, const std::string& owner,
                            const std::string& name) {
  std::string label = dev + ":" + (name.empty() ? "vs-" + owner : name);
  if (dev.size() + 4 >= IFNAMSIZ) return dev;  // not even three characters after ':' fit
  return label.substr(0, IFNAMSIZ - 1);
}

bool is_vserver_address(const AddrInfo& a) {
  return a.proto == kHostAddrProto ||
         (a.addr.family == AF_INET && a.label.find(":vs-") != std::string::npos);
}

Result<void> setup_shared_host(const ContextTable& table, Xid xid, const SharedHostSpec& spec) {
  const std::string what = "host network for context " + xid.str();
  if (spec.addrs.empty() && spec.nat.empty()) return ok();
  if (!spec.nat.v6.empty()) return usage_error("nat", "NAT is for IPv4 addresses");
  auto host = Rtnl::open();
  if (!host) return std::move(host).error().wrap(what);
  auto links = host->links();
  if (!links) return std::move(links).error().wrap(what);
  auto have = host->all_addresses();
  if (!have) return std::move(have).error().wrap(what);
  auto name_of = [&](int index) {
    for (const auto& l : *links) {
      if (l.index == index) return l.name;
    }
    return std::to_string(index);
  };
  std::vector<HostAddrRecord> plan;
  for (const auto& h : spec.addrs) {
    auto l = std::find_if(links->begin(), links->end(),
                          [&](const LinkInfo& li) { return li.name == h.dev; });
    if (l == links->end()) {
      return make_error(ErrorKind::kNotFound, "find interface", h.dev, "no such interface",
                        ENODEV);
    }
    for (const auto& a : *have) {
      if (!(a.addr == h.addr)) continue;
      return make_error(ErrorKind::kWrongState, "add address " + addr_only(h.addr), h.dev,
                        "it is on " + name_of(a.index) + " already" +
                            (is_vserver_address(a) ? " (put there for another guest)"
                                                   : " (set nodev = true if the administrator "
                                                     "manages it)"),
                        EEXIST);
    }
    plan.push_back({l->index, h.addr});
  }
  // Record first, then make: whatever exists at a crash is in the state for the reaper.
  auto st = table.read_state(xid);
  if (!st) return std::move(st).error().wrap(what);
  if (auto r = pin_namespaces(table.config().proc_root, ::getpid(), CLONE_NEWNET,
                              host_netns_dir(table, xid));
      !r) {
    return std::move(r).error().wrap(what);
  }
  st->net.host_addrs = plan;
  st->net.shared_nat = !spec.nat.empty();
  if (auto r = table.write_state(*st); !r) return std::move(r).error().wrap(what);
  for (size_t i = 0; i < plan.size(); ++i) {
    const auto& dev = spec.addrs[i].dev;
    if (auto r = host->add_address(plan[i].index, plan[i].addr, dev,
                                   host_addr_label(dev, spec.owner, spec.addrs[i].name),
                                   kHostAddrProto);
        !r) {
      return std::move(r).error().wrap(what);
    }
  }
  if (!spec.nat.empty()) {
    if (auto r = add_shared_nat_rules(-1, xid, spec.nat); !r) return std::move(r).error();
  }
  return ok();
}

Result<void> remove_host_addresses(Rtnl& host, const std::vector<HostAddrRecord>& want) {
  if (want.empty()) return ok();
  auto have = host.all_addresses();
  if (!have) return std::move(have).error();
  Result<void> first = ok();
  for (const auto& a : *have) {
    if (!is_vserver_address(a)) continue;  // one the administrator put there since
    for (const auto& w : want) {
      if (!same(a, w)) continue;
      auto r = host.del_address(a.index, a.addr, "interface " + std::to_string(a.index));
      if (!r && r.error().kind != ErrorKind::kNotFound && first) first = std::move(r);
    }
  }
  return first;
}

Result<std::vector<std::string>> sweep_host_addresses_locked(const ContextTable& table) {
  std::vector<std::string> gone;
  auto host = Rtnl::open();
  if (!host) return std::move(host).error();
  auto have = host->all_addresses();
  if (!have) return std::move(have).error();
  if (std::none_of(have->begin(), have->end(), is_vserver_address)) return gone;
  // What the live contexts hold. A context being set up is alive (its first process is in
  // its cgroup) and records before it adds, under the network lock the caller holds.
  std::vector<HostAddrRecord> held;
  auto xids = table.entries();
  if (!xids) return std::move(xids).error();
  for (Xid x : *xids) {
    auto st = table.read_state(x);
    if (!st) continue;
    if (st->net.host_addrs.empty()) continue;
    auto live = table.alive(x);
    if (!live || !*live) continue;
    held.insert(held.end(), st->net.host_addrs.begin(), st->net.host_addrs.end());
  }
  auto links = host->links();
  for (const auto& a : *have) {
    if (!is_vserver_address(a)) continue;
    if (std::any_of(held.begin(), held.end(), [&](const HostAddrRecord& r) { return same(a, r); })) {
      continue;
    }
    std::string dev = std::to_string(a.index);
    if (links) {
      for (const auto& l : *links) {
        if (l.index == a.index) dev = l.name;
      }
    }
    auto r = host->del_address(a.index, a.addr, dev);
    if (!r && r.error().kind != ErrorKind::kNotFound) return std::move(r).error();
    gone.push_back(format_net_address(a.addr) + " on " + dev);
  }
  return gone;
}

Result<std::vector<std::string>> sweep_host_addresses(const ContextTable& table) {
  // Most hosts have no address of vserver's: one dump, no lock.
  {
    auto host = Rtnl::open();
    if (!host) return std::move(host).error();
    auto have = host->all_addresses();
    if (!have) return std::move(have).error();
    if (std::none_of(have->begin(), have->end(), is_vserver_address)) {
      return std::vector<std::string>{};
    }
  }
  auto nl = net_lock(table);
  if (!nl) return std::move(nl).error();
  return sweep_host_addresses_locked(table);
}

}  // namespace vs::shim
