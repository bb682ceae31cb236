// `vserver NAME build`: a new guest's configuration directory and root tree together
// (issue 5). The tree is built by one of the methods of build.h; the configuration is written
// only after the tree is in place, and validated (with every other guest) before anything is
// built, so a failure leaves neither behind.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "lib/base/result.h"
#include "kernel-shim/context_table.h"
#include "lib/build/build.h"
#include "lib/guest/paths.h"

namespace vs {

struct GuestBuildRequest {
  std::string name;
  std::string method;              ///< skeleton busybox clone template debootstrap host
  std::string source;              ///< clone: GUEST or DIR; template: the tarball
  std::vector<std::string> method_args;  ///< after `--` (debootstrap)
  bool force = false;              ///< replace an existing guest (not a running one)
  std::optional<unsigned> context; ///< a static xid for the configuration
  std::string hostname;            ///< uts.nodename; empty: the name
  std::vector<std::string> interfaces;  ///< ADDR[/PREFIX] shared-stack addresses
  /// [init] style asked for (plain, sysv, minit); empty: the method's choice. debootstrap
  /// installs the packages the style needs (debootstrap.h init_style_packages()).
  std::string init_style;
  ProgressFn progress;
  std::function<void(const std::string&)> stage;  ///< debootstrap: progress (build.h)
  shim::ShimConfig shim;           ///< where build-time contexts are made (debootstrap)
};

/// The vserver.toml a build writes for the request. Its init style: `init_style` when given
/// (what the built tree supports), else req.init_style, else minit for the busybox, skeleton
/// and host methods and plain otherwise.
std::string initial_config(const GuestBuildRequest& req, std::string_view init_style = {});

/// Validates the request (name, method, source, the resulting configuration against every
/// other guest), builds the tree at the guest's default vdir, then writes CONFDIR/NAME/
/// vserver.toml. An existing guest is a kWrongState error unless `force`. The caller checks
/// that a guest it replaces is not running.
Result<BuildResult> build_guest(const ConfigRoots& roots, const GuestBuildRequest& req);

/// Removes a guest: its root tree (delete_tree: no link followed, no mount crossed) and then
/// its configuration directory. The caller checks it is not running.
Result<DeleteStats> delete_guest(const ConfigRoots& roots, const std::string& name,
                                 const std::string& vdir);

}  // namespace vs
