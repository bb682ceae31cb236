// The cgroups of a context: one interface, a v1 and a v2 backend (DESIGN.md "cgroups").
//
// A context owns a directory named after its xid under a parent ("vservers" by default) in
// every hierarchy it uses: always the v2 hierarchy (cgroup.kill, cgroup.events, cgroup.freeze,
// BPF attach point, CLONE_INTO_CGROUP), plus every v1 hierarchy where a wanted controller is
// bound and has a job (cpu, cpuacct, cpuset, memory, pids, freezer; not devices and blkio,
// which nothing uses yet).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "kernel-shim/xid.h"
#include "lib/base/result.h"
#include "lib/base/unique_fd.h"

namespace vs::shim {

/// Where the hierarchies are mounted, read from mountinfo.
struct CgroupLayout {
  std::string v2_root;  ///< mount point of the cgroup2 hierarchy; empty if none
  struct V1 {
    std::string mount_point;               ///< e.g. /sys/fs/cgroup/memory
    std::vector<std::string> controllers;  ///< e.g. {"cpu", "cpuacct"} when co-mounted
  };
  std::vector<V1> v1;

  /// Parses a mountinfo file (the path is a parameter so unit tests feed fixtures).
  static Result<CgroupLayout> parse_mountinfo(const std::string& mountinfo_text);
  static Result<CgroupLayout> discover(const std::string& mountinfo_path = "/proc/self/mountinfo");
  /// The v2 hierarchy alone (v1 left empty), found cheaply, for readers that need nothing
  /// else (vps): /sys/fs/cgroup or /sys/fs/cgroup/unified when it is a cgroup2 filesystem
  /// (one statfs each; cgroup2 is one hierarchy, so any mount of it shows every context),
  /// else the first cgroup2 mount in `mountinfo_path`, which is long on a host with many
  /// guests (a line per pinned namespace). No cgroup2 mounted: an ENOENT "lookup" error.
  static Result<CgroupLayout> discover_v2(
      const std::string& mountinfo_path = "/proc/self/mountinfo");

  /// The v1 hierarchy where `controller` is bound, or nullptr.
  [[nodiscard]] const V1* v1_for(std::string_view controller) const;
  /// The v2 controllers enabled for children of v2_root (cgroup.subtree_control), e.g. none here.
  [[nodiscard]] std::vector<std::string> v2_controllers() const;
};

/// The v1 controllers a context uses by default, where bound: the freezer (atomic kill) and
/// the ones limits and accounting use (vlimit, vsched).
const std::vector<std::string>& default_v1_controllers();

struct CgroupSpec {
  std::string parent = "vservers";        ///< directory under each hierarchy root
  std::vector<std::string> v1_controllers = default_v1_controllers();
};

class ContextCgroup {
 public:
  /// Creates the context's directories (parents as needed; cpuset parents get cpus/mems
  /// copied so tasks can join). A leftover empty directory for this xid is removed and made
  /// fresh (so no stale BPF program or limit carries over); a populated one is EBUSY.
  /// On failure nothing created is left behind.
  static Result<ContextCgroup> create(const CgroupLayout& layout, const CgroupSpec& spec, Xid xid);
  /// Opens the existing directories of a context (ENOENT "lookup" error if the v2 one is gone).
  static Result<ContextCgroup> open(const CgroupLayout& layout, const CgroupSpec& spec, Xid xid);

  [[nodiscard]] Xid xid() const { return xid_; }
  /// O_DIRECTORY fd of the v2 directory, for CLONE_INTO_CGROUP and BPF attach.
  [[nodiscard]] int v2_fd() const { return v2_fd_.get(); }
  [[nodiscard]] const std::string& v2_path() const { return v2_path_; }
  /// The v1 directories this context has, one per hierarchy.
  [[nodiscard]] const std::vector<std::string>& v1_paths() const { return v1_paths_; }

  /// Moves `pid` into every hierarchy (v2 and each v1) of the context.
  Result<void> attach(pid_t pid) const;
  /// Moves `pid` into the v1 hierarchies only (the v2 part done by CLONE_INTO_CGROUP).
  Result<void> attach_v1(pid_t pid) const;
  /// Opens each cgroup.procs now so a process can join after it left the host mount ns.
  Result<std::vector<UniqueFd>> open_procs_files() const;

  /// Host pids of every process in the context (from the v2 cgroup.procs of its directory
  /// and of every sub-cgroup below it), sorted.
  Result<std::vector<pid_t>> pids() const;
  /// True while any process is in the context (v2 cgroup.events "populated").
  Result<bool> populated() const;

  enum class KillMethod { kAuto, kCgroupKill, kFreezeV2, kFreezeV1 };
  /// Signals every process of the context atomically: cgroup.kill for SIGKILL on v2; else
  /// freeze (v2 cgroup.freeze or the v1 freezer, polled until FROZEN), signal every task,
  /// thaw. No pid is signalled by number outside the freeze window. The context is always
  /// thawed afterwards (also one a crashed kill left frozen; kAuto then uses the v1 freezer).
  /// With SIGKILL it returns once the context is empty, so remove() can follow at once.
  /// Errors: kUsage for a bad signal or kCgroupKill with another signal than SIGKILL;
  /// ENOTSUP if the method's file is missing; ETIMEDOUT if a freeze or the emptying after
  /// SIGKILL takes more than 5 s.
  Result<void> kill(int sig, KillMethod method = KillMethod::kAuto) const;

  /// Removes every directory of the context and the sub-cgroups below them (no process may
  /// be left: EBUSY, kind kWrongState); best effort across hierarchies, the first error is
  /// returned. Directories already gone are no error.
  Result<void> remove() const;

 private:
  ContextCgroup(Xid xid) : xid_(xid) {}
  Xid xid_;
  UniqueFd v2_fd_;
  std::string v2_path_;
  std::vector<std::string> v1_paths_;
  std::string freezer_path_;  ///< v1 freezer directory, empty if no v1 freezer
};

/// The xid of a process, from the v2 line of PROC/PID/cgroup ("0::/PARENT/XID[/...]"):
/// one small read, O(1). Returns Xid(0) (host) for a process outside every context, and for
/// one under PARENT in a directory whose name is not a context xid as create() makes it
/// (canonical decimal 2..65535: not "042", "abc", "0" or the reserved "1").
/// A missing pid is a kNotFound error (ESRCH).
Result<Xid> xid_of_pid(pid_t pid, const std::string& parent = "vservers",
                       const std::string& proc_root = "/proc");
/// The processes of one context, as scan_context_pids() found them.
struct ContextPids {
  Xid xid{0};
  std::vector<pid_t> pids;  ///< sorted host pids (processes, not threads)
};
/// How far scan_context_pids() reads below each context directory.
enum class PidScan {
  kTree,  ///< its cgroup.procs and those of every sub-cgroup below it
  /// its own cgroup.procs only: one openat, the reads and one close per context, nothing
  /// else (vps, which looks up the few processes it did not see one by one with xid_of_pid)
  kOwn,
};
/// Every context's processes in one pass over the v2 hierarchy: one read of the cgroup.procs
/// of each context directory under PARENT (and, with kTree, of its sub-cgroups),
/// O(contexts) rather than one /proc/PID/cgroup read per process. Directories whose name is
/// not a context xid as create() makes it are skipped; one removed meanwhile is left out.
/// Sorted by xid. No context directory at all (none ever made) is no error.
Result<std::vector<ContextPids>> scan_context_pids(const CgroupLayout& layout,
                                                   const std::string& parent = "vservers",
                                                   PidScan depth = PidScan::kTree);

/// The same parse over the text of a /proc/PID/cgroup file (for unit tests).
Result<Xid> xid_from_cgroup_file(std::string_view text, const std::string& parent);

}  // namespace vs::shim
