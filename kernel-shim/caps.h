// Capabilities of a context: the bounding set (bcaps) that every process in it is held to,
// and the util-vserver context capabilities (ccaps), each mapped to a real mechanism on a
// stock kernel or refused by name with the reason.
//
// Text form of a change list (vattribute --bcap / --ccap; the state file's bounding set as
// format_caps() writes it): words separated by commas or blanks; `NAME` adds, `~NAME` or `!NAME`
// removes, `^N` is capability number N (`~^N` removes it); `all` and `none` reset. Capability names
// are those of capabilities(7), with or without the CAP_ prefix, in any case.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "lib/base/result.h"

namespace vs::shim {

/// Bit i set = capability i kept.
using CapMask = uint64_t;

/// The highest capability number the running kernel knows (CAP_LAST_CAP).
int last_cap();
/// Every capability the kernel knows.
CapMask all_caps();

/// Docker's default set minus NET_RAW and MKNOD (SECURITY.md 1.2): CHOWN, DAC_OVERRIDE,
/// FSETID, FOWNER, SETGID, SETUID, SETFCAP, SETPCAP, NET_BIND_SERVICE, SYS_CHROOT, KILL,
/// AUDIT_WRITE.
CapMask default_guest_bcaps();

/// The number of a capability name ("CAP_NET_ADMIN", "net_admin"), or nullopt.
std::optional<int> cap_from_name(std::string_view name);
/// "CAP_CHOWN" for 0.
std::string cap_name(int cap);

/// Applies a change list to `base`. A bad word is a usage error naming it.
Result<CapMask> apply_cap_changes(CapMask base, std::string_view list);
/// "CAP_CHOWN,CAP_KILL" (empty for none); parses back with apply_cap_changes(0, text).
std::string format_caps(CapMask mask);

/// A util-vserver context capability and what it becomes here.
struct CcapInfo {
  const char* name;
  CapMask grants;      ///< bounding bits it adds (0 if refused)
  const char* refused; ///< nullptr if supported, else why not and what to use instead
};
/// The ccap table, for --help and the man page.
const std::map<std::string, CcapInfo, std::less<>>& ccap_table();

/// Validates a ccap change list: every word names a supported ccap (`~` removes).
/// Refused ones are a usage error with the reason ("not supported on stock kernels: use X").
Result<std::string> normalize_ccaps(std::string_view current, std::string_view list);
/// The bounding bits the ccaps in a normalized list grant.
CapMask ccaps_grant(std::string_view normalized);

/// Holds the calling process to `bcaps`: drops every other capability from the bounding set,
/// clears the ambient and inheritable sets and limits permitted/effective to `bcaps`.
/// After the exec that follows, root has exactly `bcaps`.
Result<void> drop_capabilities(CapMask bcaps);

}  // namespace vs::shim
