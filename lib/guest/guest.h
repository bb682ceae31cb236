// A guest's configuration (DESIGN.md "Guest configuration"): the model every tool works from,
// after vserver.toml, the classic util-vserver files and .defaults were read, merged and
// validated (lib/config/). Values are already checked with the shim's parsers, so a
// GuestConfig that exists is one that can be applied.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernel-shim/caps.h"
#include "kernel-shim/limits.h"
#include "kernel-shim/ns.h"
#include "kernel-shim/seccomp.h"
#include "kernel-shim/xid.h"
#include "lib/base/result.h"
#include "lib/config/config_error.h"

namespace vs {

enum class NetMode { kShared, kIsolated };
enum class InitStyle { kPlain, kSysv, kMinit };

/// One address of a guest.
struct Interface {
  std::string address;  ///< canonical text (inet_ntop), no prefix
  int family = 0;       ///< AF_INET or AF_INET6
  unsigned prefix = 0;  ///< 0..32 or 0..128; default 32 / 128
  std::string dev;      ///< host device ("eth0"); empty: none given
  std::string name;     ///< label (util-vserver interfaces/NN/name); empty: none
  NetMode mode = NetMode::kShared;
  bool nodev = false;  ///< the address is not added to `dev` (util-vserver nodev)
  /// Isolated mode: the default gateway of this address's family (canonical text, no
  /// prefix); empty: none given.
  std::string gateway;
  /// Isolated mode, IPv4: masquerade the guest's traffic leaving the host; unset: not given.
  std::optional<bool> nat;
  bool operator==(const Interface&) const = default;
};

struct GuestConfig {
  std::string name;                  ///< the directory name under the confdir
  std::optional<std::string> label;  ///< the `name` setting (util-vserver's display name)
  std::optional<shim::Xid> xid;      ///< static context id (2..49151); empty: dynamic
  std::optional<std::string> nodename;
  std::optional<std::string> domainname;
  std::string vdir;  ///< the root tree: as configured, else vdirbase/name
  std::vector<Interface> interfaces;
  shim::CapMask bcaps = 0;  ///< the bounding set: default_guest_bcaps() with the changes
  std::string bcap_changes;  ///< the change list as given ("NET_ADMIN,~CHOWN")
  std::string ccaps;         ///< normalized ccap list
  std::string flags;         ///< normalized flag list
  shim::NsSet namespaces = 0;
  shim::RlimitSet rlimits;
  shim::CgroupLimits limits;
  shim::SeccompSpec seccomp;
  InitStyle init_style = InitStyle::kPlain;
  std::string mark;                            ///< boot mark; empty: not started at boot
  /// What init runs: plain: the init program ["/sbin/init"]; sysv: the rc command
  /// ["/etc/init.d/rc", "3"]; minit: the start command (none: init only reaps). Empty: the
  /// style's default.
  std::vector<std::string> init_command;
  int stop_signal = 0;       ///< what `stop` sends to init; 0: the style's default
  unsigned stop_timeout = 10;  ///< seconds `stop` waits before it kills
  std::vector<std::string> depends;  ///< guests started before this one at boot
  std::map<std::string, std::string> scripts;  ///< "pre-start" .. "post-stop" -> path
  std::optional<std::string> fstab;            ///< path of the fstab file, if there is one
  std::optional<std::string> build_method;
  std::optional<std::string> build_source;
  /// Where each setting came from, by dotted key ("context", "interfaces.0.address").
  std::map<std::string, Origin> origins;
  /// util-vserver's classic files that were found and not read ("FILE: not read: WHY"):
  /// said by start and config (read_legacy_dir).
  std::vector<std::string> warnings;
};

/// Checks a guest name before any filesystem access (SECURITY.md 3): 1..63 characters of a
/// DNS label: letters (either case), digits and '-', not starting or ending with '-'. This
/// refuses "", ".", "..", "/", control characters, blanks, non-ASCII and ".defaults".
/// kUsage error naming the name and what is allowed.
Result<void> validate_guest_name(std::string_view name);

/// Parses an address strictly: dotted-quad IPv4 or IPv6 text, optionally "/PREFIX"
/// (0..32, 0..128, decimal, no leading zero). Refuses zone ids ("%eth0"), the unspecified,
/// broadcast, loopback and multicast addresses. On success fills address, family and (if
/// given) prefix; returns whether a prefix was given. The error is a plain reason.
Result<bool> parse_interface_address(std::string_view text, Interface* out);

/// The command init runs: GuestConfig::init_command, else the style's default (plain
/// ["/sbin/init"], sysv ["/etc/init.d/rc", "3"], minit none).
std::vector<std::string> effective_init_command(const GuestConfig& config);

/// What a start says when the guest's init could not be exec'd (`code`: the exec's errno,
/// ENOENT, EACCES, ENOEXEC ...): which style runs which file, that the guest lacks it or cannot
/// run it, and what to do (another [init] style in `config_file`, or the package that brings
/// the file). Empty when the style runs no file of the guest (minit without a command).
std::string init_exec_hint(const GuestConfig& config, int code, const std::string& config_file);
/// The signal `stop` sends to init: GuestConfig::stop_signal, else plain SIGPWR (sysvinit's
/// and LXC's halt request), sysv and minit SIGTERM (the built-in init's stop request).
int effective_stop_signal(const GuestConfig& config);

std::string_view net_mode_name(NetMode mode);
std::string_view init_style_name(InitStyle style);

}  // namespace vs
