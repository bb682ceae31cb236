// Pure checks of the build methods (unit-tested): archive entry names, busybox applet lists,
// hostnames.
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.h"

namespace vs::build {

/// The relative, normalised form of an archive entry name ("./a//b/" -> "a/b"; "." and "./"
/// -> ""). Refuses (kFailed, EPERM, subject = the name) an absolute name and any `..`
/// component.
Result<std::string> normalize_entry(std::string_view name);

/// Checks archive entries in order (SECURITY.md E41): each name and each hardlink target must
/// be relative without `..` and must not pass through a symlink made by an earlier entry.
class EntryChecker {
 public:
  enum class Kind { kFile, kDir, kSymlink, kHardlink, kOther };
  /// `link` is the hardlink target for kHardlink (ignored otherwise: symlink targets may
  /// point anywhere, they are resolved in the guest's root). Returns the normalised name.
  Result<std::string> check(std::string_view name, Kind kind, std::string_view link = {});

 private:
  Result<void> no_symlink_prefix(const std::string& path, std::string_view entry) const;
  std::set<std::string> symlinks_;
};

/// Parses `busybox --list`: one applet name per line. Refuses (EINVAL, subject = the line)
/// an empty list or a name with `/`, a control character, or `.`/`..`.
Result<std::vector<std::string>> parse_applet_list(std::string_view out);

/// Whether the applet belongs in /sbin (init, halt, ifconfig, ...) rather than /bin.
bool is_sbin_applet(std::string_view name);

/// A hostname as DNS allows: 1..253 characters, labels of [A-Za-z0-9-] up to 63, no leading
/// or trailing `-` in a label.
bool valid_hostname(std::string_view name);

}  // namespace vs::build
