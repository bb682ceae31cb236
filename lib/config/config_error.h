// Configuration errors (STYLE.md R11): every one names the file, the line (0: not known), the
// key and what is allowed, and is a usage error (exit 2, nothing changed).
#pragma once

#include <string>

#include "lib/base/result.h"

namespace vs {

/// Where a setting came from: a file and, for vserver.toml, the line (0 if not known).
struct Origin {
  std::string file;
  int line = 0;
  bool operator==(const Origin&) const = default;
};

/// "FILE:LINE" or "FILE" when the line is unknown.
std::string format_origin(const Origin& origin);

struct ConfigError {
  Origin origin;
  std::string key;      ///< dotted key ("capabilities.add"); empty for whole-file errors
  std::string message;  ///< what is wrong
  std::string allowed;  ///< what is allowed; empty if `message` already says it
};

/// A kUsage Error whose message() is
/// "FILE:LINE: key 'KEY': MESSAGE (expected ALLOWED)".
Error config_error(const ConfigError& e);

/// Shorthand for config_error({origin, key, message, allowed}).
Error config_error(const Origin& origin, std::string key, std::string message,
                   std::string allowed = {});

/// The text of an error from a shim parser (its detail, which already says what is allowed).
std::string shim_reason(const Error& e);

}  // namespace vs
