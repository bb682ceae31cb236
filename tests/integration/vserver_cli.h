// The `vserver` tool as the Vserver.* tests drive it: runs of the built tool, guests built
// and removed, and what a stopped guest may leave behind in the run dir and the cgroups.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "tests/support/run_cmd.h"

namespace vs::test {

/// Runs the built `vserver` with `args`.
CmdResult vserver(std::vector<std::string> args, int timeout_s = 60);

/// Writes `text` to `p` (truncating) and sets its mode.
void write(const std::string& p, const std::string& text, mode_t mode = 0644);

/// A guest's tree and its configuration directory in this run's temp tree.
std::string vdir(const std::string& name);
std::string confdir(const std::string& name);

/// Builds a busybox guest and appends `extra` to its vserver.toml.
void build(const std::string& name, const std::string& extra = "");

/// Stops (killing) and deletes a guest, whatever its state.
void remove_guest(const std::string& name);

/// The contexts' entries in the run dir (XID and XID.lock); the guests' and the network's lock
/// files stay by design.
std::vector<std::string> rundir_entries();

/// Context cgroup directories under the test parent, in every hierarchy.
std::vector<std::string> context_cgroups();

/// `s` without its trailing newlines and spaces.
std::string trim(std::string s);

}  // namespace vs::test
