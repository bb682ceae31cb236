// Shared pieces of the tools' command lines (STYLE.md R3): common options, the one place
// that turns an Error into "TOOL: message" on stderr and an exit code.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "kernel-shim/context_table.h"
#include "lib/base/exit_code.h"
#include "lib/base/result.h"
#include "lib/guest/paths.h"

namespace vs::tool {

/// Options every tool that touches the context table takes.
struct CommonOptions {
  std::string rundir;         ///< --rundir, else $VSERVER_RUNDIR, else /run/vservers
  std::string cgroup_parent;  ///< --cgroup-parent, else $VSERVER_CGROUP_PARENT, else vservers
};

/// Options of the tools that read guest configurations.
struct RootOptions {
  std::string confdir;   ///< --confdir, else $VSERVER_CONFDIR, else /etc/vservers
  std::string vdirbase;  ///< --vdirbase, else $VSERVER_VDIRBASE, else /vservers
};

/// Adds --confdir and --vdirbase to `app`.
void add_root_options(CLI::App& app, RootOptions& opts);

/// The configuration roots after the command line and the environment were read.
vs::ConfigRoots config_roots(const RootOptions& roots, const CommonOptions& common);

/// The options given on our command line, for a tool we run (vserver-build, vserver).
std::vector<std::string> forwarded_options(const RootOptions& roots, const CommonOptions& common);

/// The path of tool `name` installed next to the running one.
std::string sibling_tool(const std::string& name);

/// Adds --rundir and --cgroup-parent to `app`.
void add_common_options(CLI::App& app, CommonOptions& opts);

/// The shim configuration after the command line and the environment were read.
vs::shim::ShimConfig shim_config(const CommonOptions& opts);

/// Prints "TOOL: message" on stderr and returns the exit code for `e`.
int report(const char* tool, const Error& e);

/// Parses the command line. On --help prints it and returns 0 in `*exit_code`; on a usage
/// error prints "TOOL: <what is wrong>" (never the whole help) and returns 2.
/// Returns true when the tool should go on.
bool parse_args(CLI::App& app, int argc, char** argv, int* exit_code);

/// A CLI11 validator-free xid option: parse strictly with Xid::parse_context.
Result<vs::shim::Xid> parse_xid_arg(const std::string& text);

/// The context a tool acts on: --xid when given (`xid_text` not empty), else the caller's
/// own. `*caller` gets the caller's xid (0 on the host). On the host without --xid: a usage
/// error whose detail is `on_host`.
Result<vs::shim::Xid> target_xid(const vs::shim::ContextTable& table, const std::string& xid_text,
                                 vs::shim::Xid* caller, const std::string& on_host);

/// Replaces the tool with the next command of a chain (`chbind ... -- CMD`), as the tool's own
/// process on the host: every fd >= 3 closed, execvp with the caller's environment (the
/// admin's own command, not guest code). Returns only on failure, after printing
/// "TOOL: exec `CMD`: reason", with kExitExecFailed.
int exec_command(const char* tool, const std::vector<std::string>& argv);

}  // namespace vs::tool
