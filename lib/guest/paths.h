// Where guests live (DESIGN.md "Guest configuration"): the configuration root, the base of the
// guests' root trees and the run directory, each overridable so tests never touch the host's.
#pragma once

#include <string>
#include <string_view>

namespace vs {

struct ConfigRoots {
  std::string confdir = "/etc/vservers";
  std::string vdirbase = "/vservers";
  std::string rundir = "/run/vservers";

  /// The defaults with VSERVER_CONFDIR, VSERVER_VDIRBASE and VSERVER_RUNDIR applied where set
  /// and not empty.
  static ConfigRoots from_env();

  /// confdir/NAME.
  [[nodiscard]] std::string guest_confdir(std::string_view name) const;
  /// confdir/.defaults.
  [[nodiscard]] std::string defaults_dir() const;
  /// vdirbase/NAME: a guest's root tree when its configuration names none.
  [[nodiscard]] std::string default_vdir(std::string_view name) const;
};

}  // namespace vs
