#include "lib/config/config_error.h"

namespace vs {

std::string format_origin(const Origin& origin) {
  if (origin.line <= 0) return origin.file;
  return origin.file + ":" + std::to_string(origin.line);
}

Error config_error(const ConfigError& e) {
  std::string where = format_origin(e.origin);
  if (!e.key.empty()) where += ": key '" + e.key + "'";
  std::string detail = e.message;
  if (!e.allowed.empty()) detail += " (expected " + e.allowed + ")";
  return make_error(ErrorKind::kUsage, std::move(where), "", std::move(detail), EINVAL);
}

Error config_error(const Origin& origin, std::string key, std::string message,
                   std::string allowed) {
  return config_error(ConfigError{origin, std::move(key), std::move(message), std::move(allowed)});
}

std::string shim_reason(const Error& e) {
  if (e.detail.empty()) return e.message();
  if (e.subject.empty() || e.detail.find(e.subject) != std::string::npos) return e.detail;
  return "`" + e.subject + "`: " + e.detail;
}

}  // namespace vs
