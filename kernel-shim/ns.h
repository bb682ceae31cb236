// Namespace kinds, their names, and pinning (bind mounts of /proc/PID/ns/*).
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
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

/// Moves the calling process into new namespaces of the kinds in `which` (vnamespace --new).
/// A new mount namespace gets slave propagation on `/` before anything else is mounted, so
/// nothing mounted in it reaches the host. New pid and time namespaces hold the caller's
/// children only, so then the caller forks (fork_into_pid_namespace(), with a /proc of the
/// new pid namespace when the mount namespace is new too). Returns, in the process that is
/// to go on in the namespaces (the caller, or that child), std::nullopt; in a parent that
/// forked, the child's exit code (128 + signal) once it ended, to exit with.
Result<std::optional<int>> new_namespaces(NsSet which);

/// For a process whose pid namespace for children is a new one (after unshare or setns):
/// forks. The child, pid 1 there or a new member, gets std::nullopt and goes on in the
/// caller's code, after mounting the new pid namespace's procfs on /proc if `mount_proc`;
/// the parent waits for it and gets its exit code (128 + signal).
Result<std::optional<int>> fork_into_pid_namespace(bool mount_proc);

}  // namespace vs::shim
