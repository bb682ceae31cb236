// The host side of a guest's shared-stack addresses (kernel-shim/netshared.h) from its
// configuration.
#pragma once

#include <string>
#include <vector>

#include "kernel-shim/netshared.h"
#include "lib/base/result.h"
#include "lib/guest/guest.h"

namespace vs {

/// What `vserver start` does on the host for the guest's [[interfaces]] in shared mode, as
/// checked against the caller's network namespace now: an address with `dev` goes on that
/// device (a device that does not exist is a configuration error naming FILE:LINE and
/// interfaces.N.dev); with `nodev = true` the administrator manages it and it must be an
/// address of the host already (else a configuration error naming the address); with
/// neither, nothing is added and an address that is not the host's gives a warning in
/// `warnings`. `nat = true` adds the address to the masqueraded ones.
Result<shim::SharedHostSpec> shared_host_spec(const GuestConfig& guest,
                                              std::vector<std::string>* warnings);

}  // namespace vs
