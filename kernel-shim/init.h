// The built-in minimal init of a context with its own pid namespace: pid 1 that starts the
// command, reaps every zombie, forwards signals to the command, and exits with its status.
#pragma once

#include <string>
#include <vector>

namespace vs::shim {

/// Runs in the context's first process (pid 1). Forks the command (which execs argv after
/// marking fds >= 3 close-on-exec; on exec failure it writes errno to `exec_report_fd` and
/// exits 127; once the exec is past its point of no return, init writes 0 there), closes
/// every fd >= 3 of its own, then reaps until the command ended and returns the exit code to
/// _exit with: the command's code, or 128 + signal.
int run_builtin_init(const std::vector<std::string>& argv, int exec_report_fd);

/// The built-in init of a guest (init style minit, and the pid 1 under sysv's rc): starts
/// `argv` (none if empty) like run_builtin_init(), but stays when it ended, reaping every
/// orphan of the namespace, until SIGTERM, SIGINT or SIGPWR asks it to stop the guest: it then
/// sends SIGTERM to every other process of the namespace, then SIGKILL once `kill_after_ms`
/// passed, and returns 0 when none is left. Other forwarded signals go to the command while it
/// runs.
int run_guest_init(const std::vector<std::string>& argv, int exec_report_fd,
                   int kill_after_ms = 5000);

/// Marks fds >= 3 close-on-exec and execvp()s argv; on failure reports errno on
/// `report_fd` (as an int) and returns 127. Never returns on success.
int exec_command(const std::vector<std::string>& argv, int report_fd);

}  // namespace vs::shim
