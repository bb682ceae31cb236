// A context's state: what the context table records of it in RUNDIR/<xid>/state, as typed
// records. The file is written and read only here (ContextState::serialize() and parse()), so
// no module ever reads or edits a key of it: each works on the record it owns, and the
// parser checks every value with that module's own parser (caps.h, flags.h, seccomp.h,
// limits.h, netbind.h), strictly: an unknown key, a key given twice, a bad value or an
// incomplete record is an error naming the file and the line.
//
// The file is "KEY=VALUE" lines, written atomically by root (context_table.h):
//
//   xid=42  stage=setup|running  namespaces=mnt,pid,...  persistent=0|1  name=web1
//   init_pid=N  init_start=N  creator_pid=N  created=UNIXTIME  unix_scope=bpf-lsm|landlock
//   ns.mnt=INODE ...                                   (nsfs inodes, per namespace)
//   attr.bcaps=CAP_CHOWN,...   attr.ccaps=set_rlimit   attr.flags=private   (Confinement)
//   attr.seccomp=default|none  attr.seccomp.allow=NAME,...  attr.seccomp.deny=NAME,...
//   attr.rlimit.NAME=SOFT:HARD                         (one per rlimit, "inf" for none)
//   attr.net.ip=ADDR/P,...                             (NetState: shared or isolated)
//   attr.net.mode=isolated  attr.net.link=veth|macvlan  attr.net.if=eth0
//   attr.net.bridge=DEV  attr.net.veth=vsv42  attr.net.gw=ADDR,...  attr.net.nat=1
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernel-shim/caps.h"
#include "kernel-shim/limits.h"
#include "kernel-shim/netbind.h"
#include "kernel-shim/ns.h"
#include "kernel-shim/seccomp.h"
#include "kernel-shim/xid.h"
#include "lib/base/result.h"

namespace vs::shim {

enum class ContextStage { kSetup, kRunning };

std::string stage_name(ContextStage s);

/// How the context is kept from the host's abstract unix sockets on a shared network stack
/// (E27, unixscope.h): not at all (or a network namespace of its own), by programs on its
/// cgroup, or by a Landlock scope domain its first process made (which entrants must make
/// for themselves too).
enum class UnixScopeMode { kNone, kBpfLsm, kLandlock };

/// "bpf-lsm", "landlock", "" for kNone.
std::string unix_scope_name(UnixScopeMode m);

/// What holds every process of a context once it is sealed, and every entrant then
/// (confine.h applies it): its capability bounds, its seccomp profile and its rlimits, and
/// the flags that change what the shim does. vattribute (attributes.h) and vlimit
/// (limits_change.h) change it; a guest's configuration gives it at creation.
struct Confinement {
  /// The bounding set (caps.h); none: default_guest_bcaps().
  std::optional<CapMask> bcaps;
  /// The context capabilities, a normalized list (normalize_ccaps()): they add their
  /// grants to the bounding set.
  std::string ccaps;
  /// The recorded flags (flags.h), a normalized list (apply_flag_changes()): "private".
  /// vattribute keeps persistent in ContextState::persistent instead (release clears it).
  std::string flags;
  SeccompSpec seccomp;
  RlimitSet rlimits;

  /// The set its processes are held to: bcaps (or the default) with the ccaps' grants.
  [[nodiscard]] CapMask bounding() const;
  /// Flag private: nobody may enter the context.
  [[nodiscard]] bool is_private() const;

  bool operator==(const Confinement&) const = default;
};

/// Checks a confinement built by a caller (CreateSpec): ccaps and flags normalized and
/// known, seccomp names real syscalls, no rlimit's soft limit above its hard one. A usage
/// error naming the field otherwise.
Result<void> check_confinement(const Confinement& c);

/// The kind of link of an isolated network (netiso.h).
enum class IsoLink { kVeth, kMacvlan };

/// The host-side pieces of an isolated network, recorded before they are made (netiso.h):
/// what the reaper removes.
struct IsolatedNet {
  IsoLink link = IsoLink::kVeth;
  std::string ifname;                ///< the interface inside ("eth0")
  std::string device;                ///< veth: the host bridge; macvlan: the parent device
  std::string host_veth;             ///< veth: the host end ("vsv<xid>"); empty for a macvlan
  std::vector<NetAddress> gateways;  ///< the default routes set inside
  bool nat = false;                  ///< NAT rules for it exist on the host (nat.h)

  bool operator==(const IsolatedNet&) const = default;
};

/// An address vserver put on a host device for a shared-mode context (netshared.h).
struct HostAddrRecord {
  int index = 0;  ///< the device's interface index
  NetAddress addr;  ///< with its prefix

  bool operator==(const HostAddrRecord&) const = default;
};

/// A context's network as the shim made it. No addresses and not isolated: the host's stack
/// unbound, or a network namespace of its own with loopback only.
struct NetState {
  /// Shared mode (netbind.h): the addresses it is bound to on the host's stack; isolated
  /// mode: the addresses of its interface.
  NetBind addrs;
  std::optional<IsolatedNet> isolated;
  /// Shared mode: the addresses put on host devices for it, removed with it (netshared.h).
  std::vector<HostAddrRecord> host_addrs;
  /// Shared mode: masquerade rules for its addresses exist on the host (nat.h).
  bool shared_nat = false;

  /// Addresses on the host's stack (chbind --ip, a guest's shared interfaces).
  [[nodiscard]] bool is_shared() const { return !isolated && !addrs.empty(); }
  /// Anything set up at all (one network setup per context).
  [[nodiscard]] bool any() const { return isolated.has_value() || !addrs.empty(); }
};

/// The state file RUNDIR/<xid>/state (see the top of this file).
struct ContextState {
  Xid xid{0};
  ContextStage stage = ContextStage::kSetup;
  NsSet namespaces = 0;
  bool persistent = false;
  pid_t init_pid = 0;       ///< host pid of the context's first process (pid 1 inside)
  uint64_t init_start = 0;  ///< its start time (field 22 of /proc/PID/stat): pid reuse guard
  pid_t creator_pid = 0;
  int64_t created = 0;  ///< unix time
  /// The guest's name when `vserver NAME start` made the context (a validated DNS label);
  /// empty for anonymous contexts (vcontext --create). Monitoring shows it.
  std::string name;
  UnixScopeMode unix_scope = UnixScopeMode::kNone;
  /// nsfs inode of each namespace ("mnt" -> 4026532xxx): how a process inside the context,
  /// whose cgroup namespace hides the cgroup path, finds out which context it is in.
  std::map<std::string, uint64_t> ns_inodes;
  Confinement confinement;
  NetState net;

  [[nodiscard]] std::string serialize() const;
  /// Parses a state file's text; `file` names it in errors ("parse `FILE:LINE`: ...", or
  /// "parse `FILE`" for what is missing). Errors are kFailed with EINVAL.
  static Result<ContextState> parse(std::string_view text, const std::string& file);
};

}  // namespace vs::shim
