// vserver.toml (toml++), read by walking the schema (schema.h): a table's keys are the next
// segments of the schema's keys, an array of tables is a key's N, a NAME is checked by its
// NameSet. vserver.toml(5) documents the keys for users.
//
// Any other key, and a value of the wrong type, is an error with the file, the line, the
// key and what is allowed. Values are checked further by build_guest().
//
// The packaged toml++ is a shared library built with exceptions; this file uses it header-only
// with TOML_EXCEPTIONS 0 so that nothing can throw across our API (parse_result instead).
#undef TOML_HEADER_ONLY
#undef TOML_SHARED_LIB
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include <toml++/toml.h>

#include <algorithm>
#include <string>
#include <vector>

#include "lib/config/config.h"
#include "lib/config/schema.h"

namespace vs {

namespace {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

using Pattern = std::vector<std::string_view>;

class TomlReader {
 public:
  explicit TomlReader(const std::string& file) : file_(file) {
    for (const KeySpec& spec : config_schema()) keys_.push_back({&spec, split_key(spec.key, '.')});
  }

  Result<RawConfig> read(const toml::table& top) {
    Pattern pattern;
    if (auto r = table(top, "", pattern); !r) return std::move(r).error();
    return std::move(out_);
  }

 private:
  struct Key {
    const KeySpec* spec;
    Pattern segments;
  };

  static bool under(const Key& k, const Pattern& pattern) {
    return k.segments.size() > pattern.size() &&
           std::equal(pattern.begin(), pattern.end(), k.segments.begin());
  }

  // The spec whose key is `pattern`, if any.
  const KeySpec* leaf(const Pattern& pattern) const {
    for (const Key& k : keys_) {
      if (k.segments == pattern) return k.spec;
    }
    return nullptr;
  }

  // The next segment of the keys under `pattern` that `seg` is: a literal, else NAME (then
  // m->name is the name and m->spec a key with it); empty if none.
  std::string_view next(const Pattern& pattern, std::string_view seg, KeyMatch* m) const {
    for (const Key& k : keys_) {
      if (under(k, pattern) && k.segments[pattern.size()] == seg) return k.segments[pattern.size()];
    }
    for (const Key& k : keys_) {
      if (!under(k, pattern)) continue;
      std::string_view s = k.segments[pattern.size()];
      if (s == "NAME" && match_segment(s, seg, m)) {
        m->spec = k.spec;
        return s;
      }
    }
    return {};
  }

  Origin origin(const toml::node& n) const {
    return Origin{file_, static_cast<int>(n.source().begin.line)};
  }
  Origin origin(const toml::key& k, const toml::node& v) const {
    if (k.source().begin.line > 0) return Origin{file_, static_cast<int>(k.source().begin.line)};
    return origin(v);
  }

  // "unknown key; did you mean 'context'?" among the keys that may be set there.
  Error unknown(const std::string& key, std::string_view seg, const Origin& at,
                const Pattern& pattern) const {
    std::vector<std::string_view> allowed;
    for (const Key& k : keys_) {
      if (!under(k, pattern) || k.spec->type == ValueType::kRefused) continue;
      std::string_view s = k.segments[pattern.size()];
      if (std::find(allowed.begin(), allowed.end(), s) == allowed.end()) allowed.push_back(s);
    }
    std::string list;
    std::string_view best;
    size_t best_d = 3;
    for (std::string_view a : allowed) {
      if (!list.empty()) list += ", ";
      list += a;
      size_t d = edit_distance(seg, a);
      if (d < best_d) {
        best_d = d;
        best = a;
      }
    }
    std::string msg = "unknown key";
    if (!best.empty()) msg += "; did you mean '" + std::string(best) + "'?";
    return config_error(at, key, msg, "one of: " + list);
  }

  Result<void> table(const toml::table& t, const std::string& path, Pattern& pattern) {
    for (auto&& [k, v] : t) {
      std::string seg(k.str());
      std::string key = path.empty() ? seg : path + "." + seg;
      KeyMatch m;
      std::string_view s = next(pattern, seg, &m);
      if (s.empty()) return unknown(key, seg, origin(k, v), pattern);
      if (m.spec && !m.spec->names->valid(m.name)) return bad_name(*m.spec, origin(k, v), key);
      pattern.push_back(s);
      auto r = node(key, k, v, pattern);
      pattern.pop_back();
      if (!r) return r;
    }
    return ok();
  }

  Result<void> node(const std::string& key, const toml::key& k, const toml::node& v,
                    Pattern& pattern) {
    bool inner = false;
    bool array = false;
    for (const Key& spec_key : keys_) {
      if (!under(spec_key, pattern)) continue;
      inner = true;
      array = array || spec_key.segments[pattern.size()] == "N";
    }
    const KeySpec* spec = leaf(pattern);
    if (array) return this->array(key, v, pattern);
    if (inner && (v.is_table() || !spec)) {
      const toml::table* t = v.as_table();
      if (!t) return config_error(origin(v), key, "must be a table", "[" + key + "]");
      return table(*t, key, pattern);
    }
    if (spec->type == ValueType::kRefused) {
      return config_error(origin(k, v), key, std::string(spec->doc));
    }
    return scalar(key, v, *spec);
  }

  // An array of tables: the N of the keys under it, each table with the keys required in it.
  Result<void> array(const std::string& key, const toml::node& v, Pattern& pattern) {
    std::string sections = "[[" + key + "]] sections";
    const toml::array* a = v.as_array();
    if (!a) return config_error(origin(v), key, "must be an array of tables", sections);
    pattern.push_back("N");
    Result<void> r;
    size_t i = 0;
    for (const auto& item : *a) {
      std::string prefix = key + "." + std::to_string(i++);
      const toml::table* t = item.as_table();
      if (!t) {
        r = config_error(origin(item), prefix, "must be a table", sections);
        break;
      }
      if (r = table(*t, prefix, pattern); !r) break;
      for (const Key& k : keys_) {
        if (!under(k, pattern) || !k.spec->required) continue;
        std::string field = prefix + "." + std::string(k.segments[pattern.size()]);
        if (!out_.count(field)) {
          r = config_error(origin(item), field, "missing", "one in every [[" + key + "]]");
          break;
        }
      }
      if (!r) break;
    }
    pattern.pop_back();
    return r;
  }

  Result<void> scalar(const std::string& key, const toml::node& v, const KeySpec& spec) {
    RawValue raw;
    raw.origin = origin(v);
    ValueType type = spec.type;
    bool any_string = type == ValueType::kString || type == ValueType::kPath ||
                      type == ValueType::kEnum || type == ValueType::kIntOrString;
    bool any_int = type == ValueType::kInt || type == ValueType::kIntOrString;
    auto wrong = [&] {
      return config_error(raw.origin, key, "wrong type", std::string(type_name(type)));
    };
    if (type == ValueType::kWords) {
      const toml::array* a = v.as_array();
      if (!a) return wrong();
      raw.is_list = true;
      for (const auto& item : *a) {
        const auto* s = item.as_string();
        if (!s) return wrong();
        raw.words.push_back(s->get());
      }
    } else if (const auto* s = v.as_string(); s && any_string) {
      raw.text = s->get();
    } else if (const auto* i = v.as_integer(); i && any_int) {
      raw.text = std::to_string(i->get());
    } else if (const auto* b = v.as_boolean(); b && type == ValueType::kBool) {
      raw.text = b->get() ? "true" : "false";
    } else {
      return wrong();
    }
    out_[key] = std::move(raw);
    return ok();
  }

  const std::string& file_;
  std::vector<Key> keys_;
  RawConfig out_;
};

}  // namespace

Result<RawConfig> parse_toml_config(std::string_view text, const std::string& file) {
  toml::parse_result parsed = toml::parse(text, file);
  if (!parsed) {
    const auto& err = parsed.error();
    return config_error(Origin{file, static_cast<int>(err.source().begin.line)}, "",
                        std::string(err.description()));
  }
  return TomlReader(file).read(parsed.table());
}

}  // namespace vs
