// Reading a guest's configuration (DESIGN.md "Guest configuration", STYLE.md R11).
//
// Two formats describe the same settings, each setting under one dotted key:
//   * vserver.toml (toml++, lib/config/toml.cc; documented for users in vserver.toml(5)),
//   * the classic util-vserver one-value-per-file layout (lib/config/legacy_dir.cc).
// Every key, its type, its classic file, its merge unit and how it is applied and shown is
// one entry of the schema (lib/config/schema.{h,cc}), which all of this walks.
// Both formats are first read into a RawConfig (key -> text with its origin), so that a
// setting given both ways can be detected and .defaults merged key by key; then build_guest()
// turns the merged RawConfig into a GuestConfig, checking every value with the shim's
// parsers. Every error is a kUsage error "FILE:LINE: key 'KEY': WHAT (expected ALLOWED)".
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.h"
#include "lib/config/config_error.h"
#include "lib/guest/guest.h"
#include "lib/guest/paths.h"

namespace vs {

/// One setting as read: scalar text or a list of words, and where it came from.
struct RawValue {
  std::string text;                ///< scalars (integers as decimal text, booleans "true")
  std::vector<std::string> words;  ///< lists
  bool is_list = false;
  Origin origin;
};

/// Dotted key -> value; the keys are those of config_schema() (lib/config/schema.h).
using RawConfig = std::map<std::string, RawValue>;

/// The unit in which settings conflict and override (KeySpec::unit): "interfaces" for every
/// interfaces.N.* key, "rlimits.NAME" for rlimits.NAME[.soft|.hard], "capabilities.bcaps" for
/// add/drop, else the key itself.
std::string setting_unit(std::string_view key);

/// Parses vserver.toml text; `file` is the path used in messages. Syntax errors, unknown keys
/// (with a "did you mean"), wrong types and refused uts fields are errors.
Result<RawConfig> parse_toml_config(std::string_view text, const std::string& file);

/// Reads the classic files of the directory open at `dir_fd`, whose path `dir` is used in
/// messages and to resolve a relative `vdir` link (as text only: nothing is followed).
/// Files are read with O_NOFOLLOW|O_NONBLOCK and must be regular.
/// A classic file util-vserver reads and this implementation does not (`nice`, `cgroup/*`
/// but those imported as limits.*, `interfaces/N/*` variants such as `mask`, `bcast`,
/// `disabled`, the `interfaces/` defaults) is never silently ignored: with `warnings`, a line
/// "FILE: not read: WHY" is appended for each.
Result<RawConfig> read_legacy_dir(int dir_fd, const std::string& dir,
                                  std::vector<std::string>* warnings = nullptr);

/// Reads one configuration directory in both formats (vserver.toml may be absent) and
/// merges them: a setting in both is an error naming both files.
Result<RawConfig> read_config_dir(const std::string& dir,
                                  std::vector<std::string>* warnings = nullptr);

/// Merges two sources of the same directory; a unit set in both is an error naming both.
Result<RawConfig> merge_sources(RawConfig a, const RawConfig& b);

/// `guest` over `defaults`, unit by unit (the guest wins). A key that cannot be shared
/// (KeySpec::from_defaults: name, context, vdir, interfaces) in the defaults is an error.
Result<RawConfig> merge_defaults(const RawConfig& defaults, RawConfig guest);

/// Checks every value and builds the model. `roots` gives the default vdir.
Result<GuestConfig> build_guest(std::string_view name, const RawConfig& raw,
                                const ConfigRoots& roots);

/// validate_guest_name, read confdir/NAME and confdir/.defaults (if present), merge, build.
/// A missing guest directory is kNotFound. The classic files not read are in
/// GuestConfig::warnings.
Result<GuestConfig> load_guest(const ConfigRoots& roots, std::string_view name);

/// Every guest under the confdir (entries starting with '.' skipped, other bad names refused),
/// then validate_guests() over all of them. With `broken`, a guest that does not load (bad
/// name, bad configuration) or that a cross-guest check refuses (load_guest_set) is left out
/// and its error appended there instead: one guest's typo must not stop the others.
Result<std::vector<GuestConfig>> load_all_guests(const ConfigRoots& roots,
                                                 std::vector<Error>* broken = nullptr);

/// Checks between guests: names equal but for case, the same static xid, the same address,
/// vdirs equal or one inside another, a vdir that is not below roots.vdirbase. Errors name
/// both guests' files. The first problem found is the error.
Result<void> validate_guests(const std::vector<GuestConfig>& guests, const ConfigRoots& roots);

/// The checks of one guest's own vdir: below roots.vdirbase, not a directory of the host's
/// (/, /etc, /usr, /var ...) and not inside one of its system trees (/etc, /usr, /proc ...).
Result<void> check_guest_vdir(const GuestConfig& g, const ConfigRoots& roots);

/// The checks between two guests (validate_guests), the error on `a`, naming `b` and its file.
Result<void> check_guest_pair(const GuestConfig& a, const GuestConfig& b, const ConfigRoots& roots);

/// What `start` checks before anything is made: `g`'s vdir, and `g` against every other guest
/// whose own configuration loads (a guest that does not load is its own problem). The error
/// names both guests.
/// With `vdirs_only`, only the checks of the trees (its vdir, vdirs overlapping): what
/// `delete` needs before it removes a tree.
Result<void> check_against_others(const GuestConfig& g, const ConfigRoots& roots,
                                  bool vdirs_only = false);

/// A guest that cannot be used: its configuration does not load, or its vdir or a clash
/// with another guest (same static context, same address, overlapping vdirs) is refused.
struct BrokenGuest {
  std::string name;  ///< the directory name under the confdir
  Error error;       ///< why, naming the file (and the other guest)
  /// Its own configuration when that loads (the problem is between guests, or its vdir):
  /// enough to find and stop it if it runs.
  std::optional<GuestConfig> config;
};

/// Every guest under the confdir, sorted out: the usable ones and the broken ones, each by
/// name. Of two guests that clash, both are broken, each error naming the other.
struct GuestSet {
  std::vector<GuestConfig> guests;
  std::vector<BrokenGuest> broken;
};

/// Reads every guest under the confdir (entries starting with '.' skipped) into a GuestSet.
/// An error only when the confdir itself cannot be read: one guest's problem never hides
/// the others.
Result<GuestSet> load_guest_set(const ConfigRoots& roots);

/// sort_out_guests: `loaded` (each one's own configuration loads) split by the checks of
/// check_guest_vdir and check_guest_pair.
GuestSet sort_out_guests(std::vector<GuestConfig> loaded, const ConfigRoots& roots);

/// The effective configuration, one "key = value" line per setting, in a stable order.
std::string format_config(const GuestConfig& config);
/// The same as one JSON object.
std::string format_config_json(const GuestConfig& config);

}  // namespace vs
