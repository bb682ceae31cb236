// Reading many contexts' states and many processes' contexts at once, for monitoring (vps):
// without locking, reaping or setting anything up (no run-dir mount, no mountinfo), each root
// (the run dir, /proc) opened once, and every file read with one openat, its reads and one
// close into one buffer that is reused. ContextTable::read_state() and xid_of_pid() read the
// same files one at a time.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "kernel-shim/context_table.h"
#include "lib/base/result.h"
#include "lib/base/unique_fd.h"

namespace vs::shim {

class TableReader {
 public:
  /// Reads below config.rundir and config.proc_root; contexts are under config.cgroup.parent.
  explicit TableReader(ShimConfig config) : config_(std::move(config)) {}

  /// The state of context `xid` as its state file has it now (a context that is gone or not
  /// yet recorded: a kNotFound "lookup" error; a bad file: the parse error).
  Result<ContextState> state(Xid xid);

  /// The xid of process `pid` from PROC/PID/cgroup, as xid_of_pid() (0 for the host). A
  /// process that is gone: a kNotFound error (ESRCH).
  Result<Xid> xid_of(pid_t pid);

 private:
  /// A root directory, opened on first use (and not again after that failed).
  struct Root {
    UniqueFd fd;
    int err = 0;
    bool tried = false;
  };
  static Result<int> open_root(Root& root, const std::string& path);

  ShimConfig config_;
  std::vector<char> buf_;
  Root rundir_;
  Root proc_;
};

}  // namespace vs::shim
