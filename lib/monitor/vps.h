// vps: the host's ps(1) with two columns added after PID: CONTEXT (the xid) and NAME (the
// guest's name; MAIN for the host, xid 0, as util-vserver's vps showed it; "-" for an
// anonymous context). ps formats and escapes what it prints of the processes (command
// names, argv); the name we add is escaped by us.
//
// Cost: ps itself, plus O(contexts) cheap reads, done while ps runs: the cgroup2 root from
// two statfs calls (not the host's mountinfo, a line per pinned namespace), one directory
// scan of the contexts' cgroup parent, then per context an open, reads and close of its
// cgroup.procs and of its state file (the name). A pid not found in a context (a host
// process, one in a sub-cgroup, or one that started, ended or moved meanwhile) costs one
// read of its /proc/PID/cgroup. A process that ended before that read is shown with "?".
// Every one of those reads is the shim's (kernel-shim/cgroup.h, table_reader.h).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kernel-shim/cgroup.h"
#include "kernel-shim/context_table.h"
#include "kernel-shim/table_reader.h"
#include "kernel-shim/xid.h"
#include "lib/base/child.h"
#include "lib/base/result.h"
#include "lib/base/unique_fd.h"

namespace vs::monitor {

/// Where the PID column of a ps header is: its index among the blank-separated header
/// words, and the column just past its last character (ps right-aligns PID).
struct PidColumn {
  size_t word = 0;
  size_t end = 0;
};

/// Finds the word "PID" in a ps header line (not PPID, TPGID, ...).
std::optional<PidColumn> find_pid_column(std::string_view header);

/// The pid on a ps output line and the offset just past it: right under the header's PID
/// column, else (a wider column before it pushed it right) the word at the same index.
std::optional<std::pair<pid_t, size_t>> pid_on_line(std::string_view line, const PidColumn& col);

/// What vps shows for one pid.
struct ContextLabel {
  std::string xid;   ///< "0", "42", or "?" when the line had no pid
  std::string name;  ///< already escaped for a terminal
};

/// Inserts " CONTEXT NAME" after the PID column of every line of `ps_out` (the header
/// first). Without a PID column the output is returned unchanged and *found is false.
std::string annotate_ps(std::string_view ps_out, const std::function<ContextLabel(pid_t)>& label,
                        bool* found);

/// The output and exit status of `ps ARGS...` (found in PATH; its stderr is ours).
struct PsRun {
  std::string out;
  ExitStatus status;
};
Result<PsRun> run_ps(const std::vector<std::string>& args);

/// ps running with its output on a pipe: the caller can work while it runs.
struct PsProcess {
  Child child;
  UniqueFd out;  ///< read end of ps's stdout
};
Result<PsProcess> start_ps(const std::vector<std::string>& args);
/// Reads ps's output to its end and waits for it.
Result<PsRun> finish_ps(PsProcess ps);

/// pid -> xid of every process in a context (host processes are absent), and xid -> name,
/// read through the shim (kernel-shim/cgroup.h scan_context_pids, table_reader.h).
class ContextMap {
 public:
  /// `layout` needs only its v2 root (CgroupLayout::discover_v2()).
  ContextMap(const shim::ShimConfig& config, shim::CgroupLayout layout)
      : parent_(config.cgroup.parent), layout_(std::move(layout)), reader_(config) {}

  /// Reads the own cgroup.procs of every context (scan_context_pids, PidScan::kOwn), and the
  /// state (the name) of each context with a process there. A context whose own cgroup.procs
  /// is empty (its processes are in sub-cgroups) is not walked: label() finds those one by
  /// one. No context directory (none ever made) is no error.
  Result<void> scan();
  /// The label of `pid`: xid 0 MAIN for the host, the escaped guest name or "-"; "?" for a
  /// pid in no scanned context that no longer exists. A pid the scan did not see (a host
  /// process, one in a sub-cgroup, or one that started or moved meanwhile) costs one read
  /// of its PROC/PID/cgroup.
  ContextLabel label(pid_t pid);

  /// The xid the scan found `pid` in, if any (for tests).
  [[nodiscard]] std::optional<shim::Xid> scanned_xid(pid_t pid) const;
  /// The contexts the scan read.
  [[nodiscard]] size_t contexts() const { return contexts_; }

 private:
  const std::string& name_of(shim::Xid xid);

  std::string parent_;
  shim::CgroupLayout layout_;
  shim::TableReader reader_;
  std::unordered_map<pid_t, shim::Xid> xid_of_;
  std::unordered_map<uint16_t, std::string> names_;
  size_t contexts_ = 0;
};

/// What vps prints and how it ends.
struct VpsRun {
  std::string out;          ///< ps's output with CONTEXT and NAME after PID
  bool pid_column = false;  ///< false: ps printed no PID column, `out` is its output unchanged
  ExitStatus status;        ///< ps's
};

/// vps: finds the cgroup2 hierarchy (CgroupLayout::discover_v2), starts `ps ARGS...`, scans
/// the contexts while it runs (the two share no state: a process ps lists that joined a
/// context after the scan costs one read in label()), then labels ps's lines. Sets nothing
/// up: no run-dir mount, no cgroup.
Result<VpsRun> run_vps(const shim::ShimConfig& config, const std::vector<std::string>& ps_args);

}  // namespace vs::monitor
