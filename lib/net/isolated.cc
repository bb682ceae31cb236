#include "lib/net/isolated.h"

#include <algorithm>
#include <string>
#include <vector>

namespace vs {

Result<std::optional<shim::IsolatedNetSpec>> isolated_net_spec(const GuestConfig& guest) {
  shim::IsolatedNetSpec spec;
  std::vector<shim::NetAddress> addrs;
  bool shared = false;
  std::optional<bool> nat;
  for (size_t i = 0; i < guest.interfaces.size(); ++i) {
    const Interface& itf = guest.interfaces[i];
    std::string key = "interfaces." + std::to_string(i);
    if (itf.mode != NetMode::kIsolated) {
      shared = true;
      continue;
    }
    if (itf.dev.empty()) {
      return usage_error(key + ".dev", "an isolated address needs the host bridge in `dev`");
    }
    if (!spec.device.empty() && itf.dev != spec.device) {
      return usage_error(key + ".dev", "`" + itf.dev + "`: the isolated addresses of one "
                                       "guest share one bridge (`" + spec.device + "` before)");
    }
    spec.device = itf.dev;
    auto a = shim::parse_net_address(itf.address + "/" + std::to_string(itf.prefix));
    if (!a) return std::move(a).error().wrap(key + ".address");
    addrs.push_back(*a);
    if (!itf.gateway.empty()) {
      auto gw = shim::parse_net_address(itf.gateway);
      if (!gw) return std::move(gw).error().wrap(key + ".gateway");
      auto same = std::find_if(spec.gateways.begin(), spec.gateways.end(),
                               [&](const shim::NetAddress& g) { return g.family == gw->family; });
      if (same == spec.gateways.end()) {
        spec.gateways.push_back(*gw);
      } else if (!(*same == *gw)) {
        auto before = shim::format_net_address(*same);
        return usage_error(key + ".gateway",
                           "`" + itf.gateway + "`: one gateway per address family for the "
                           "guest's eth0 (`" + before.substr(0, before.find('/')) + "` before)");
      }
    }
    if (itf.nat) {
      if (nat && *nat != *itf.nat) {
        return usage_error(key + ".nat", "NAT is on or off for the whole guest (eth0): the "
                                         "isolated interfaces disagree");
      }
      nat = itf.nat;
    }
  }
  if (addrs.empty()) return std::optional<shim::IsolatedNetSpec>();
  if (shared) {
    return usage_error("interfaces", "a guest's addresses are all shared or all isolated (an "
                                     "isolated guest has no address on the host's stack)");
  }
  auto bind = shim::make_net_bind(addrs);
  if (!bind) return std::move(bind).error().wrap("interfaces");
  spec.addrs = *bind;
  spec.nat = nat.value_or(false);
  if (auto r = shim::check_isolated_net_spec(spec); !r) return std::move(r).error();
  return std::optional<shim::IsolatedNetSpec>(std::move(spec));
}

}  // namespace vs
