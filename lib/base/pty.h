// Fresh pseudo-terminals for commands started in a context (lib/base/stdio_relay.h relays
// them): never the caller's own terminal.
#pragma once

#include "lib/base/result.h"
#include "lib/base/unique_fd.h"

namespace vs {

struct Pty {
  UniqueFd master;
  UniqueFd slave;
};

/// Opens a pty pair of the host's devpts.
Result<Pty> open_pty();

/// Opens a pty pair of the devpts instance at `dev/pts` beneath `root_fd` (a guest's root,
/// e.g. its init's /proc/PID/root): inside the guest the slave is then one of its own
/// /dev/pts/N, so tty(1) and ps name it. `dev/pts/ptmx` is resolved beneath the root
/// without symlinks and used only if it is the ptmx (5:2) of a devpts, where nobody can make
/// device nodes.
Result<Pty> open_devpts_pty(int root_fd);

}  // namespace vs
