// A guest's isolated network (kernel-shim/netiso.h) from its configuration.
#pragma once

#include <optional>

#include "kernel-shim/netiso.h"
#include "lib/base/result.h"
#include "lib/guest/guest.h"

namespace vs {

/// The isolated network of a guest: every [[interfaces]] address with mode "isolated", with
/// its prefix, on one eth0 whose veth is a port of the bridge `dev` (created if missing), with
/// the `gateway`s given (at most one per family; none: the bridge's IPv4 address) and NAT if
/// `nat` is true. std::nullopt if the guest has no isolated address. Usage errors naming the
/// key: isolated and shared addresses mixed in one guest; isolated addresses without `dev`
/// or on different ones; two gateways of one family; `nat` true on one and false on another. The lead's `vserver start`
/// passes the result to shim::setup_isolated_net() once the context (with a net namespace)
/// exists.
Result<std::optional<shim::IsolatedNetSpec>> isolated_net_spec(const GuestConfig& guest);

}  // namespace vs
