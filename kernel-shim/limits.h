// Resource limits of a context: rlimits (recorded in the context's state, applied with
// setrlimit to every process entering it) and cgroup limits (memory, memory+swap, pids, cpu
// weight and quota, cpuset), with the usage counters monitoring reads.
//
// cgroup limits have one interface and two backends. Each controller is served by the v2
// hierarchy when the controller is enabled in the context's v2 directory (its
// cgroup.controllers), else by the v1 hierarchy where it is bound. The directories are
// parameters (STYLE.md R15): unit tests point them at a fake cgroupfs of real files.
//
// How the values map onto the two hierarchies:
//
//   limit          v1 file                         v2 file
//   memory         memory.limit_in_bytes           memory.max
//   memsw          memory.memsw.limit_in_bytes     memory.swap.max = memsw - memory (v2
//                  (memory + swap, >= memory)      counts swap alone; needs a memory limit)
//   pids           pids.max                        pids.max
//   cpu shares     cpu.shares (2..262144)          cpu.weight = shares * 100 / 1024, rounded,
//                                                  1..10000 (systemd's linear mapping)
//   cpu quota      cpu.cfs_quota_us, _period_us    cpu.max "QUOTA PERIOD"
//   cpuset         cpuset.cpus, cpuset.mems        cpuset.cpus, cpuset.mems
#pragma once

#include <sys/resource.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernel-shim/cgroup.h"
#include "kernel-shim/xid.h"
#include "lib/base/result.h"

namespace vs::shim {

struct ContextState;

// ---- rlimits ----

/// One rlimit name util-vserver's vlimit knew ("nofile" <-> RLIMIT_NOFILE).
struct RlimitInfo {
  std::string_view name;
  int resource;      ///< RLIMIT_*
  bool is_size;      ///< a size in bytes: K/M/G/T suffixes are accepted
  rlim_t max_value;  ///< largest finite value accepted (nice 40, rtprio 99)
};

/// Every known rlimit, in alphabetical order of name: as core cpu data fsize locks memlock
/// msgqueue nice nofile nproc rss rtprio sigpending stack.
const std::vector<RlimitInfo>& rlimit_table();

/// The names, comma-separated, for error messages ("as, core, cpu, ...").
std::string rlimit_names();

/// The RLIMIT_* number of a name. Unknown: kUsage error whose subject is the word and whose
/// detail lists the allowed names.
Result<int> parse_rlimit_name(std::string_view name);

/// The name of a resource ("nofile"), or the number as text if it is not in the table.
std::string rlimit_name(int resource);

/// Parses one limit value for `resource`: a plain decimal number, for sizes with one optional
/// binary suffix K, M, G or T (either case; "64M" = 67108864; no "MB", no fraction), or
/// `inf` / `unlimited` for RLIM_INFINITY. kUsage error naming the resource otherwise.
Result<rlim_t> parse_rlimit_value(int resource, std::string_view text);

/// "inf" for RLIM_INFINITY, else the decimal number.
std::string format_rlimit_value(rlim_t value);

struct Rlimit {
  rlim_t soft = RLIM_INFINITY;
  rlim_t hard = RLIM_INFINITY;
  friend bool operator==(const Rlimit&, const Rlimit&) = default;
};

/// RLIMIT_* -> limits. Only the resources in the set are changed when applied.
using RlimitSet = std::map<int, Rlimit>;

/// Which half of an rlimit a value sets (vlimit -S, -H, neither).
enum class RlimitScope { kBoth, kSoft, kHard };

/// Returns `base` with `value` set as the soft, the hard or both limits. A soft limit above
/// the hard one is a kUsage error naming the resource. Setting only the hard limit below a
/// soft limit that is RLIM_INFINITY lowers the soft limit with it (an unset soft limit
/// follows its ceiling); below a finite soft limit it is an error.
Result<Rlimit> merge_rlimit(int resource, Rlimit base, rlim_t value, RlimitScope scope);

/// "rlimit.NAME": how the state file (as "attr.rlimit.NAME", context_state.h) and vlimit
/// --show name a resource.
std::string rlimit_attr_key(int resource);

/// Parses "SOFT:HARD" (each a value as parse_rlimit_value takes, "inf" for no limit).
Result<Rlimit> parse_rlimit_pair(int resource, std::string_view text);
/// "SOFT:HARD" with "inf" for RLIM_INFINITY.
std::string format_rlimit_pair(const Rlimit& limit);

/// setrlimit(2) on the calling process for every entry of `set`, in the order of the
/// resource numbers. Stops at the first failure: a "setrlimit" error with the name as its
/// subject (EPERM when raising a hard limit without CAP_SYS_RESOURCE, or nofile above
/// fs.nr_open). Soft > hard is a kUsage error, checked for every entry before any is set.
Result<void> apply_rlimits(const RlimitSet& set);

/// getrlimit(2) of every resource in the table, for the calling process.
Result<RlimitSet> current_rlimits();

/// Whether a process in context `caller` may read (change = false) or change the limits of
/// `target`. The host (xid 0) may always. A context may only see and change its own, and
/// change them only before it is sealed (stage setup). Refusals are kWrongState with EPERM.
Result<void> check_limits_access(Xid caller, const ContextState& target, bool change);

// ---- cgroup limits ----

/// "No limit" for memory, memsw, pids and cpu quota ("max" in cgroup v2, -1 in v1).
inline constexpr uint64_t kNoLimit = UINT64_MAX;

/// Limits to set; fields left empty are not touched.
struct CgroupLimits {
  std::optional<uint64_t> memory;          ///< bytes, or kNoLimit
  std::optional<uint64_t> memsw;           ///< memory + swap bytes (>= memory), or kNoLimit
  std::optional<uint64_t> pids;            ///< 1.., or kNoLimit
  std::optional<uint64_t> cpu_shares;      ///< 2..262144 (1024 = default share)
  std::optional<uint64_t> cpu_quota_us;    ///< CPU time per period, 1000.., or kNoLimit
  std::optional<uint64_t> cpu_period_us;   ///< 1000..1000000
  std::optional<std::string> cpuset_cpus;  ///< a cpu list "0-2,4"
  std::optional<std::string> cpuset_mems;  ///< a memory node list "0"
};

/// Counters for monitoring; a field is empty where the kernel does not offer it.
struct CgroupUsage {
  std::optional<uint64_t> memory_current;      ///< v1 memory.usage_in_bytes, v2 memory.current
  std::optional<uint64_t> memory_peak;         ///< v1 memory.max_usage_in_bytes, v2 memory.peak
  std::optional<uint64_t> memory_failcnt;      ///< v1 memory.failcnt, v2 memory.events max
  std::optional<uint64_t> memory_oom_kill;     ///< oom_kill in v1 memory.oom_control/v2 .events
  /// Resident memory mapped by the processes (no page cache that is not mapped): v1
  /// memory.stat total_rss + total_mapped_file, v2 memory.stat anon + file_mapped.
  std::optional<uint64_t> memory_rss;
  std::optional<uint64_t> pids_current;        ///< pids.current
  std::optional<uint64_t> pids_max_hits;       ///< pids.events max (forks refused)
  std::optional<uint64_t> cpu_nr_periods;      ///< cpu.stat nr_periods
  std::optional<uint64_t> cpu_nr_throttled;    ///< cpu.stat nr_throttled
  std::optional<uint64_t> cpu_throttled_usec;  ///< v1 throttled_time / 1000, v2 throttled_usec
  std::optional<uint64_t> cpu_usage_usec;      ///< v1 cpuacct.usage / 1000, v2 cpu.stat usage_usec
  std::optional<uint64_t> cpu_user_usec;    ///< v1 cpuacct.usage_user / 1000, v2 cpu.stat user_usec
  std::optional<uint64_t> cpu_system_usec;  ///< v1 cpuacct.usage_sys / 1000, v2 system_usec
};

enum class CgroupVersion { kV1, kV2 };

/// The directory that serves one controller of a context, and its hierarchy's version.
struct LimitDir {
  CgroupVersion version = CgroupVersion::kV2;
  std::string path;
};

/// Which directory serves each controller of one context (empty: no hierarchy has it).
struct LimitDirs {
  std::optional<LimitDir> memory;
  std::optional<LimitDir> pids;
  std::optional<LimitDir> cpu;
  std::optional<LimitDir> cpuacct;  ///< usage only; v2 always has cpu.stat usage_usec
  std::optional<LimitDir> cpuset;

  /// For each controller: `v2_path` if the controller is listed in v2_path/cgroup.controllers
  /// (or, if that file cannot be read, in layout.v2_controllers()); else the entry of
  /// `v1_paths` below the v1 hierarchy where it is bound. cpuacct falls back to v2_path.
  static LimitDirs resolve(const CgroupLayout& layout, const std::string& v2_path,
                           const std::vector<std::string>& v1_paths);
  static LimitDirs resolve(const CgroupLayout& layout, const ContextCgroup& cg);
};

/// 1..10000 from 2..262144 (1024 -> 100), rounded to nearest, and back, so that a weight
/// survives weight -> shares -> weight.
uint64_t cpu_shares_to_weight(uint64_t shares);
uint64_t cpu_weight_to_shares(uint64_t weight);

/// Checks ranges and list syntax without touching anything: kUsage errors naming the limit.
Result<void> validate_cgroup_limits(const CgroupLimits& limits);

/// Validates, checks that a directory serves every controller a set field needs, then
/// writes the files. A missing controller is an ENOTSUP error ("memory limits need the
/// memory controller (neither cgroup v2 nor v1 has it here)"); memsw without swap
/// accounting (no memory.memsw.* / memory.swap.max) is ENOTSUP. A kernel refusal is the
/// "write" error on the file: EBUSY when v1 could not reclaim memory below a new limit
/// (v2 OOM-kills instead), EINVAL or ERANGE for a cpuset outside the parent's. Nothing is
/// written unless every check passed; a kernel refusal half-way leaves the files written
/// before it.
Result<void> set_cgroup_limits(const LimitDirs& dirs, const CgroupLimits& limits);

/// The limits now in force, for every controller a directory serves.
Result<CgroupLimits> read_cgroup_limits(const LimitDirs& dirs);

/// The counters, for every controller a directory serves. A counter file that does not
/// exist (memory.peak before Linux 5.19) leaves its field empty.
Result<CgroupUsage> read_cgroup_usage(const LimitDirs& dirs);

/// One `name value` item of --show.
struct LimitField {
  std::string name;
  std::string value;
  bool numeric = false;  ///< value is a plain decimal number (a JSON number); else text
};

/// The items of --show, in this order: "rlimit.NAME" "SOFT:HARD" for each entry of
/// `rlimits`; the limits memory.limit, memsw.limit, pids.limit ("max" for none), cpu.shares,
/// cpu.weight, cpu.quota_us, cpu.period_us, cpuset.cpus, cpuset.mems; the counters
/// memory.current, memory.peak, memory.failcnt, memory.oom_kill, pids.current,
/// pids.max_hits, cpu.nr_periods, cpu.nr_throttled, cpu.throttled_usec, cpu.usage_usec.
/// Empty fields are left out.
std::vector<LimitField> describe_limits(const RlimitSet& rlimits, const CgroupLimits& limits,
                                        const CgroupUsage& usage);

/// Parses a memory size ("64M", "1G", "4096"; K/M/G/T binary, either case) or max/inf/
/// unlimited (kNoLimit). `what` names the value in the error ("--memory").
Result<uint64_t> parse_size_or_max(std::string_view text, std::string_view what);

}  // namespace vs::shim
