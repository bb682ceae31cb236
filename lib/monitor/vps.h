// vps: the host's ps(1) with two columns added after PID: CONTEXT (the xid) and NAME (the
// guest's name; MAIN for the host, xid 0, as util-vserver's vps showed it; "-" for an
// anonymous context). ps formats and escapes what it prints of the processes (command
// names, argv); the name we add is escaped by us.
//
// Cost: ps itself, plus O(contexts) reads: the processes of every context come from one read
// of each context's cgroup.procs (shim::scan_context_pids) after ps ran; a pid not found
// there (a host process, or one that ended or moved meanwhile) costs one read of its
// /proc/PID/cgroup. A process that ended before that read is shown with "?".
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kernel-shim/context_table.h"
#include "kernel-shim/xid.h"
#include "lib/base/child.h"
#include "lib/base/result.h"

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

/// pid -> xid of every process in a context (host processes are absent), and xid -> name.
struct ContextMap {
  std::unordered_map<pid_t, shim::Xid> xid_of;
  std::unordered_map<uint16_t, std::string> names;  ///< raw names from the state files

  /// Adds the processes of every context of `table` (one scan_context_pids()).
  Result<void> scan(const shim::ContextTable& table);
  /// The label of `pid`: xid 0 MAIN for the host, the escaped guest name or "-"; "?" for a
  /// pid that is in no scanned context and no longer exists.
  ContextLabel label(const shim::ContextTable& table, pid_t pid);
};

}  // namespace vs::monitor
