// Kernel features the shim uses or could use, probed without changing anything: for
// `vserver-info - SYSINFO` and bug reports. Each probe is the cheapest call that tells
// "present" from "absent" (ENOSYS, EINVAL on an unknown type, a missing /proc file).
#pragma once

#include <string>
#include <vector>

#include "kernel-shim/cgroup.h"

namespace vs::shim {

/// One line of the report: a dotted key and what was found ("yes", "no (ENOSYS)", "3").
struct Feature {
  std::string key;
  std::string value;
};

/// Probes: kernel release; namespaces (ns.TYPE from /proc/self/ns); cgroup v2 mount and its
/// controllers, each v1 hierarchy and its controllers (from `layout`); cgroup-BPF hooks
/// (bpf.cgroup.HOOK: a 2-instruction program loaded with the hook's expected attach type,
/// then closed; needs CAP_BPF or root, else "unknown (EPERM)"); seccomp filter mode and
/// user notification; the BPF LSM (bpf.lsm: in the active LSM list; bpf.lsm_cgroup: a
/// BPF_LSM_CGROUP program loads, "no (EPERM)" where the kernel refuses them); Landlock ABI (landlock_create_ruleset version query); pidfd_open,
/// clone3, openat2, close_range.
std::vector<Feature> probe_features(const CgroupLayout& layout);

}  // namespace vs::shim
