// The uname fields of a context (vuname). On a stock kernel only nodename and domainname
// belong to a (uts) namespace; the other fields are the host kernel's and can be read but
// not set.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "kernel-shim/context_table.h"
#include "lib/base/result.h"

namespace vs::shim {

/// What uname(2) says inside a context.
struct UtsFields {
  std::string sysname;
  std::string nodename;
  std::string release;
  std::string version;
  std::string machine;
  std::string domainname;
};

/// The fields to set; only these two can be.
struct UtsChange {
  std::optional<std::string> nodename;
  std::optional<std::string> domainname;
};

/// Checks a value for the uname field `field` without touching anything: only nodename and
/// domainname can be set; at most 64 bytes, no control character; a nodename is a host name
/// (letters, digits, '-' and '.', not starting with '-'). kUsage errors naming the field.
Result<void> check_uts_value(std::string_view field, std::string_view value);

/// The fields as the processes of the live context `xid` see them: read by a child that
/// joins its uts namespace (the caller stays where it is). No context: kNotFound.
Result<UtsFields> get_uts(const ContextTable& table, Xid xid);

/// Sets the fields of `change` in the uts namespace of the live context `xid` (each value
/// checked with check_uts_value() first), from a child that joins it. A process inside the
/// context may not once it is sealed (kWrongState, EPERM); the host may. No context:
/// kNotFound.
Result<void> set_uts(const ContextTable& table, Xid xid, const UtsChange& change);

}  // namespace vs::shim
