// The parts of build_debootstrap() (build.h) that tests reach directly: its argument parser and
// the confined context both of its stages run in (SECURITY.md E42).
#pragma once

#include <functional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "kernel-shim/context_table.h"
#include "lib/base/result.h"
#include "lib/mount/guest_root.h"

namespace vs::build {

inline constexpr const char* kDefaultMirror = "http://deb.debian.org/debian";
inline constexpr const char* kDebootstrap = "/usr/sbin/debootstrap";

/// The method args of `build -m debootstrap -- ARGS` (util-vserver style).
struct DebootstrapArgs {
  std::string suite;                    ///< -d SUITE (required): bookworm, trixie, stable, ...
  std::string mirror = kDefaultMirror;  ///< --mirror URL: http://, https:// or file:///
  std::string variant = "minbase";      ///< --variant V: minbase, buildd or `-` (debootstrap's
                                        ///< default: required + important packages)
  std::vector<std::string> include;     ///< --include a,b: extra packages (Debian names)

  bool operator==(const DebootstrapArgs&) const = default;
};

/// Parses `-d SUITE`, `--mirror URL`, `--variant V`, `--include a,b` (also `--opt=VALUE`),
/// each at most once. Anything else, a missing value, a value that could be an option or
/// is not a plain suite/package name/URL, and a missing -d are usage errors whose subject is
/// the argument.
Result<DebootstrapArgs> parse_debootstrap_args(const std::vector<std::string>& args);

/// The debootstrap command line of the first (download and unpack) stage into `target`.
std::vector<std::string> first_stage_argv(const DebootstrapArgs& args, const std::string& target);

/// The packages an [init] style needs in a Debian tree (added to --include): sysv: sysv-rc
/// (/etc/init.d/rc); plain: sysvinit-core (/sbin/init) and sysv-rc; minit: none.
std::vector<std::string> init_style_packages(const std::string& style);

/// `args` with `packages` added to its --include list (each once).
DebootstrapArgs with_packages(DebootstrapArgs args, const std::vector<std::string>& packages);

/// debootstrap's output, made into progress lines: one when it moves to another stage, so a
/// build shows a few dozen lines, not one per package: an `I:` line whose first word
/// (Retrieving, Validating, Extracting, Installing, Unpacking, Configuring ...) is new, or that
/// heads a stage (ends in `...`) with another first word than the line shown last; and every
/// `W:` and `E:` line. Each is prefixed "debootstrap: "; other output is dropped. Pieces
/// of output may end anywhere: a partial line waits for the rest.
class StageLines {
 public:
  std::vector<std::string> feed(std::string_view piece);

 private:
  std::string partial_;
  std::string verb_;            // of the line shown last
  std::set<std::string> seen_;  // every first word shown
};

/// How one stage runs (both go through run_confined()).
struct ConfinedRun {
  GuestRootSpec root;             ///< the tree that becomes `/` (and its extra binds)
  std::vector<std::string> argv;  ///< run as root of `root`
  bool host_network = false;      ///< keep the host's network namespace (downloads)
  int output_fd = -1;             ///< the command's stdout and stderr; -1: the caller's stderr
  std::function<void(std::string_view)> on_output;  ///< also given the output as it comes
};

/// Runs `run.argv` in a new sealed context (mnt, pid, uts, ipc, cgroup namespaces, plus net
/// unless host_network) whose root is run.root set up by enter_guest_root(): a fresh /proc
/// with masked and read-only paths, read-only /sys, a minimal /dev, pivot_root. The command
/// holds the default guest capability bounding set (no SYS_ADMIN, no MKNOD, no NET_RAW) and
/// the default seccomp profile, with a clean environment (PATH, LC_ALL=C,
/// DEBIAN_FRONTEND=noninteractive, container=lxc). Returns its exit code; errors are the
/// context's (setup failed, exec failed). The context dies with the calling process (killed
/// included): nothing of a stage runs on once its build is gone.
Result<int> run_confined(const shim::ContextTable& table, const ConfinedRun& run);

}  // namespace vs::build
