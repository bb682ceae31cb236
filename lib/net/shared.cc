#include "lib/net/shared.h"

#include <algorithm>

#include "kernel-shim/rtnl.h"

namespace vs {

Result<shim::SharedHostSpec> shared_host_spec(const GuestConfig& guest,
                                              std::vector<std::string>* warnings) {
  shim::SharedHostSpec spec;
  spec.owner = guest.name;
  std::vector<shim::NetAddress> nat;
  bool any = std::any_of(guest.interfaces.begin(), guest.interfaces.end(),
                         [](const Interface& i) { return i.mode == NetMode::kShared; });
  if (!any) return spec;
  auto host = shim::Rtnl::open();
  if (!host) return std::move(host).error();
  auto links = host->links();
  if (!links) return std::move(links).error();
  auto have = host->all_addresses();
  if (!have) return std::move(have).error();
  auto origin = [&](const std::string& key, const std::string& fallback) {
    auto it = guest.origins.find(key);
    if (it == guest.origins.end()) it = guest.origins.find(fallback);
    return it == guest.origins.end() ? Origin{"vserver.toml", 0} : it->second;
  };
  for (size_t i = 0; i < guest.interfaces.size(); ++i) {
    const Interface& itf = guest.interfaces[i];
    if (itf.mode != NetMode::kShared) continue;
    const std::string key = "interfaces." + std::to_string(i);
    auto a = shim::parse_net_address(itf.address + "/" + std::to_string(itf.prefix));
    if (!a) return std::move(a).error().wrap(key + ".address");
    if (itf.nat && *itf.nat) nat.push_back(*a);
    bool local = std::any_of(have->begin(), have->end(),
                             [&](const shim::AddrInfo& h) { return h.addr == *a; });
    if (itf.nodev) {
      if (!local) {
        return config_error(origin(key + ".nodev", key + ".address"), key + ".nodev",
                            "address " + itf.address +
                                " is not an address of this host (with nodev = true the "
                                "administrator puts it on a device before the start)",
                            "an address of the host, or nodev = false and a dev");
      }
      continue;
    }
    if (itf.dev.empty()) {
      if (!local && warnings) {
        warnings->push_back("address " + itf.address + " (" + key +
                            ") is not an address of this host and has no dev: the guest's "
                            "services cannot bind it");
      }
      continue;
    }
    bool exists = std::any_of(links->begin(), links->end(),
                              [&](const shim::LinkInfo& l) { return l.name == itf.dev; });
    if (!exists) {
      return config_error(origin(key + ".dev", key + ".address"), key + ".dev",
                          "there is no interface `" + itf.dev + "` on this host",
                          "an existing device (ip link), or nodev = true");
    }
    spec.addrs.push_back({itf.dev, *a, itf.name});
  }
  auto bind = shim::make_net_bind(nat);
  if (!bind) return std::move(bind).error().wrap("interfaces");
  spec.nat = std::move(*bind);
  return spec;
}

}  // namespace vs
