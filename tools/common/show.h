// Printing the items of --show (vlimit, vsched) as `name value` lines or as one JSON object.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "kernel-shim/limits.h"
#include "lib/base/escape.h"

namespace vs::tool {

/// A JSON string literal for `s` (lib/base/escape.h: always valid JSON).
inline std::string json_string(const std::string& s) { return vs::json_string(s); }

/// One `name value` line per field, or with `json` one object: numeric fields as numbers,
/// the others ("max", "100:inf", "0-3") as strings.
inline void print_fields(const std::vector<vs::shim::LimitField>& fields, bool json) {
  if (!json) {
    for (const auto& f : fields) std::printf("%s %s\n", f.name.c_str(), f.value.c_str());
    return;
  }
  std::string out = "{";
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ",";
    out += json_string(fields[i].name) + ":";
    out += fields[i].numeric ? fields[i].value : json_string(fields[i].value);
  }
  std::printf("%s}\n", out.c_str());
}

}  // namespace vs::tool
