// Namespace kinds, their names, and pinning (bind mounts of /proc/PID/ns/*).
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "lib/base/result.h"
#include "lib/base/unique_fd.h"

namespace vs::shim {

enum class NsType { kUser, kMnt, kPid, kUts, kIpc, kNet, kCgroup, kTime };

struct NsInfo {
  NsType type;
  const char* name;   ///< as in /proc/PID/ns/ and on the command line: "mnt", "pid", ...
  uint64_t clone_flag;
};

/// All kinds, in the order they must be joined one by one: user first, mnt after the fds
/// of all others were opened (joining mnt changes what paths mean).
extern const std::array<NsInfo, 8> kNamespaces;

/// A set of namespace kinds as a mask of CLONE_NEW* flags.
using NsSet = uint64_t;

/// The namespaces a context gets when none are given: mnt, pid, uts, ipc, cgroup.
NsSet default_namespaces();
/// Parses "mnt,pid,uts,ipc,net,cgroup,user,time" (comma separated, each at most once).
/// Unknown names are usage errors that list what is allowed.
Result<NsSet> parse_ns_list(std::string_view list);
/// Renders a set as "mnt,pid,uts" in the conventional order mnt,pid,uts,ipc,net,cgroup,user,time.
std::string format_ns_list(NsSet set);

/// Bind-mounts `proc_root`/PID/ns/NAME onto `dir`/NAME for every kind in `set`.
/// The directory must be on a private mount (ContextTable::prepare() ensures it).
Result<void> pin_namespaces(const std::string& proc_root, pid_t pid, NsSet set,
                            const std::string& dir);
/// Lazily unmounts and removes every pin in `dir` (best effort, first error returned).
Result<void> unpin_namespaces(const std::string& dir);

/// Opens the pins of `set` under `dir`, then setns()es into them in kNamespaces order.
Result<void> enter_pins(const std::string& dir, NsSet set);

}  // namespace vs::shim
