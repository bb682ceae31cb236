// The terminal side of `vserver NAME enter`: a fresh pty for the guest's shell, proxied to the
// administrator's terminal, so no guest process ever holds the administrator's tty (no
// TIOCSTI into it, no reading it after the session).
#pragma once

#include "lib/base/child.h"
#include "lib/base/result.h"
#include "lib/base/unique_fd.h"

namespace vs::tool {

struct Pty {
  UniqueFd master;
  UniqueFd slave;
};

/// Opens a pty pair of the host's devpts sized like the terminal on stdin.
Result<Pty> open_pty();

/// Opens a pty pair of the guest's own devpts instance, through `root_fd` (the guest init's
/// /proc/PID/root), sized like the terminal on stdin: inside the guest the shell's terminal
/// is one of its own /dev/pts/N, so tty(1) and ps name it. `dev/pts/ptmx` is resolved
/// beneath the root without symlinks and used only if it is the ptmx (5:2) of a devpts,
/// where nobody can make device nodes.
Result<Pty> open_guest_pty(int root_fd);

/// Puts the terminal on stdin in raw mode, copies stdin to the master and the master to
/// stdout, passes window size changes on, until the child ended; restores the terminal.
/// Returns the child's status.
Result<ExitStatus> proxy_pty(int master, Child& child);

}  // namespace vs::tool
