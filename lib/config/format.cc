// The effective configuration as text and as JSON (for `vserver NAME config [--json]`): the
// lines each key of the schema (schema.h) writes, in the table's order; the keys of an array
// of tables are shown entry by entry.
#include <string>
#include <vector>

#include "lib/base/escape.h"
#include "lib/config/config.h"
#include "lib/config/schema.h"

namespace vs {

namespace {

// The number of entries of an array of tables ("interfaces" of interfaces.N.*).
size_t array_size(const GuestConfig& g, std::string_view array) {
  return array == "interfaces" ? g.interfaces.size() : 0;
}

std::vector<ConfigLines::Line> lines(const GuestConfig& g) {
  const std::vector<KeySpec>& table = config_schema();
  ConfigLines out;
  for (size_t i = 0; i < table.size();) {
    size_t n_at = table[i].key.find(".N.");
    if (n_at == std::string_view::npos) {
      out.at(std::string(table[i].key), 0);
      if (table[i].format) table[i].format(g, out);
      ++i;
      continue;
    }
    std::string_view array = table[i].key.substr(0, n_at + 3);
    size_t end = i;
    while (end < table.size() && table[end].key.starts_with(array)) ++end;
    for (size_t n = 0; n < array_size(g, array.substr(0, n_at)); ++n) {
      for (size_t k = i; k < end; ++k) {
        KeyMatch m;
        m.index = n;
        out.at(instantiate(table[k].key, m), n);
        if (table[k].format) table[k].format(g, out);
      }
    }
    i = end;
  }
  return out.lines();
}

}  // namespace

std::string format_config(const GuestConfig& config) {
  std::string out;
  for (const auto& line : lines(config)) out += line.key + " = " + line.value + "\n";
  return out;
}

std::string format_config_json(const GuestConfig& config) {
  std::string out = "{";
  bool first = true;
  for (const auto& line : lines(config)) {
    if (!first) out += ",";
    first = false;
    out +=
        "\n  " + json_string(line.key) + ": " + (line.raw ? line.value : json_string(line.value));
  }
  return out + "\n}\n";
}

}  // namespace vs
