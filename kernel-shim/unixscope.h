// Abstract unix sockets of a context on the host's network stack (SECURITY.md E27,
// CVE-2020-15257). Abstract names live in the network namespace, so a context that shares
// the host's could connect to every abstract socket of the host and of the other contexts
// (containerd's shim API was one). Two BPF LSM programs, attached to the context's v2
// cgroup with the BPF_LSM_CGROUP attach type, refuse (EPERM) a connect (stream, seqpacket)
// or a send/connect (datagram) from a socket of the context to a peer that is
//   - bound to an abstract address (sun_path[0] == 0; path names and unnamed peers pass), and
//   - was created outside the context's cgroup subtree (the peer's cgroup and up to 15 of
//     its ancestors are compared with the context's cgroup id, baked in at load time).
// The peer's cgroup, not the caller's credentials: a process that joined later (vserver
// exec, CLONE_INTO_CGROUP) is in the subtree too, so the guest's own abstract sockets keep
// working between all of its processes. Landlock's abstract-socket scope cannot do that (each
// entrant would get a sibling domain of its own), and cgroup/connect_unix sees only the
// address, not who bound it.
// Struct offsets and the hooks' BTF ids come from /sys/kernel/btf/vmlinux at load time.
// The programs hold no map and go with the cgroup. They run only where the kernel runs the
// BPF LSM (`bpf` in the active LSM list) and loads its programs: elsewhere nothing is attached
// (see bpf_lsm_status).
//
// Where it cannot, Landlock's abstract-socket scope (ABI 6, Linux 6.12) is the fallback: the
// context's first process restricts itself (a Landlock domain of its own that handles no file
// or network access, only LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET) before it runs anything, its
// descendants inherit the domain, and every entrant restricts itself the same way. A process
// of the domain reaches only abstract sockets made inside it, so the host's and the other
// contexts' are refused (EPERM), for connect and datagram sends alike. The price: an entrant
// gets a domain of its own, a sibling of the guest's, so an entrant and the processes that
// were in the context before it cannot reach each other's abstract sockets either (path
// sockets are untouched). The state records which of the two holds (ContextState::unix_scope).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lib/base/result.h"
#include "lib/base/unique_fd.h"

namespace vs::shim {

class Btf;

/// Whether the kernel calls BPF LSM programs, and how that was found out.
struct BpfLsmStatus {
  bool active = false;
  std::string detail;  ///< "lsm_list_modules", "/sys/kernel/security/lsm", or why unknown
};
/// Asks lsm_list_modules(2) (Linux 6.8), else reads /sys/kernel/security/lsm. Unknown
/// counts as not active.
BpfLsmStatus bpf_lsm_status();

/// The two hooks, by the name of their BPF LSM attach function.
inline constexpr const char* kUnixStreamHook = "bpf_lsm_unix_stream_connect";
inline constexpr const char* kUnixSendHook = "bpf_lsm_unix_may_send";

/// One loaded program, not attached yet.
struct UnixScopeProg {
  const char* hook = nullptr;
  UniqueFd fd;
};

/// Builds and loads both programs for the v2 cgroup whose id is `cgroup_id`, with the
/// offsets and ids from `btf`. Errors: a member or hook missing from the BTF, or the bpf(2)
/// load (with the verifier log's last line).
Result<std::vector<UnixScopeProg>> load_unix_scope(const Btf& btf, uint64_t cgroup_id);

/// The id of a v2 cgroup directory (what the kernel compares: its kernfs node id).
Result<uint64_t> cgroup_id_of(int cgroup_fd);

/// The attach type of cgroup/connect_unix (Linux 6.7), not in the build machine's headers.
inline constexpr uint32_t kAttachUnixConnect = 49;

/// For tests: the same checks, loaded as a cgroup/connect_unix program that judges the
/// connecting socket itself (its own address and cgroup), so the program's body can be run on
/// a kernel that does not load BPF LSM programs. Attach it with BPF_PROG_ATTACH.
Result<UniqueFd> load_unix_scope_self_check(const Btf& btf, uint64_t cgroup_id);

/// Loads "return 1" as a BPF_LSM_CGROUP program on the unix_stream_connect hook, then closes
/// it: EPERM says that this kernel refuses BPF LSM programs whatever they do.
Result<void> lsm_cgroup_loadable(const Btf& btf);

/// What scope_abstract_unix() did.
struct UnixScope {
  bool attached = false;
  std::string why_not;  ///< when not attached: the missing kernel feature, for a warning
};

/// Loads the programs and attaches them (no flags: sub-cgroups cannot attach their own, a
/// second attach replaces) to the v2 cgroup directory `cgroup_fd`. Not attached (nothing
/// changed, the reason in why_not) where the BPF LSM is not active or the kernel cannot load
/// a trivial BPF_LSM_CGROUP program. Errors: BTF unreadable, our programs refused where the
/// trivial one loads, attach.
Result<UnixScope> scope_abstract_unix(int cgroup_fd);

/// Landlock's ABI version (landlock_create_ruleset's version query), -1 and errno where the
/// kernel has no Landlock or it is disabled.
long landlock_abi();

/// The first Landlock ABI with LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET.
inline constexpr long kLandlockScopeAbi = 6;

/// Puts the calling thread (and what it forks and execs from now on) into a new Landlock
/// domain scoped to its own abstract unix sockets. Needs no_new_privs or CAP_SYS_ADMIN (the
/// callers still hold the host's capabilities). Errors: the kernel refuses the ruleset.
Result<void> landlock_scope_abstract_unix();

/// How many BPF_LSM_CGROUP programs are attached to the cgroup directory `cgroup_fd`
/// (BPF_PROG_QUERY).
Result<uint32_t> count_unix_scope(int cgroup_fd);

}  // namespace vs::shim
