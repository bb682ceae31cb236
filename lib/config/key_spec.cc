// What every KeySpec of the schema (schema.h) shares: its key patterns, the checks its type
// makes, and the errors that name a key.
#include <algorithm>
#include <cassert>
#include <filesystem>

#include "lib/base/escape.h"
#include "lib/base/parse.h"
#include "lib/config/schema.h"

namespace vs {

namespace {

bool is_clean_abs_path(std::string_view p) {
  if (p.empty() || p.front() != '/' || p.find('\0') != std::string_view::npos) return false;
  for (const auto& c : std::filesystem::path(p)) {
    if (c == "..") return false;
  }
  return true;
}

// The spec's `bad` with the value in place of "{}".
std::string bad_value(const KeySpec& k, std::string_view value) {
  std::string out(k.bad);
  if (out.empty() && k.type == ValueType::kPath) out = "`{}` is not a clean absolute path";
  if (out.empty()) out = "unknown " + std::string(k.key.substr(k.key.rfind('.') + 1)) + " `{}`";
  if (auto at = out.find("{}"); at != std::string::npos) {
    out.replace(at, 2, escape_terminal(value));
  }
  return out;
}

}  // namespace

std::vector<std::string_view> split_key(std::string_view key, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    size_t at = key.find(sep);
    out.push_back(key.substr(0, at));
    if (at == std::string_view::npos) return out;
    key.remove_prefix(at + 1);
  }
}

bool match_segment(std::string_view pattern, std::string_view seg, KeyMatch* m) {
  if (!pattern.starts_with("NAME")) return pattern == seg;
  std::string_view tail = pattern.substr(4);
  if (seg.size() <= tail.size() || !seg.ends_with(tail)) return false;
  std::string_view name = seg.substr(0, seg.size() - tail.size());
  if (name.find('.') != std::string_view::npos) return false;
  m->name = std::string(name);
  return true;
}

bool match_pattern(std::string_view pattern, std::string_view key, char sep, KeyMatch* m) {
  auto ps = split_key(pattern, sep);
  auto ks = split_key(key, sep);
  if (ps.size() != ks.size()) return false;
  KeyMatch got;
  for (size_t i = 0; i < ps.size(); ++i) {
    if (ps[i] == "N") {
      // Decimal without a leading zero: one spelling per index.
      auto n = parse_uint(ks[i], 0, 1u << 20, "index");
      if (!n) return false;
      got.index = static_cast<size_t>(*n);
    } else if (!match_segment(ps[i], ks[i], &got)) {
      return false;
    }
  }
  if (m) {
    got.spec = m->spec;
    *m = std::move(got);
  }
  return true;
}

KeyMatch find_key(std::string_view key) {
  for (const KeySpec& spec : config_schema()) {
    KeyMatch m;
    if (match_pattern(spec.key, key, '.', &m)) {
      m.spec = &spec;
      return m;
    }
  }
  return {};
}

std::string instantiate(std::string_view pattern, const KeyMatch& m, char sep) {
  std::string out;
  for (std::string_view seg : split_key(pattern, sep)) {
    if (!out.empty()) out += sep;
    if (seg == "N") {
      out += std::to_string(m.index);
    } else if (seg.starts_with("NAME")) {
      out += m.name;
      out += seg.substr(4);
    } else {
      out += seg;
    }
  }
  return out;
}

std::string_view type_name(ValueType type) {
  switch (type) {
    case ValueType::kString:
    case ValueType::kPath:
    case ValueType::kEnum:
      return "a string";
    case ValueType::kInt:
      return "an integer";
    case ValueType::kIntOrString:
      return "an integer or a string";
    case ValueType::kBool:
      return "true or false";
    case ValueType::kWords:
      return "an array of strings";
    case ValueType::kRefused:
      break;
  }
  return "no value";
}

std::string join_or(const std::vector<std::string_view>& words) {
  std::string out;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0) out += i + 1 == words.size() ? " or " : ", ";
    out += words[i];
  }
  return out;
}

std::string allowed_of(const KeySpec& spec) {
  if (spec.doc.empty() && spec.type == ValueType::kEnum) return join_or(spec.values);
  return std::string(spec.doc);
}

Result<void> check_value(Setting& s) {
  const KeySpec& k = s.spec;
  auto refuse = [&](std::string_view v) { return s.error(bad_value(k, v)); };
  switch (k.type) {
    case ValueType::kRefused:
      return s.error(std::string(k.doc), "");
    case ValueType::kPath:
      if (!is_clean_abs_path(s.text())) return refuse(s.text());
      break;
    case ValueType::kEnum:
      if (std::find(k.values.begin(), k.values.end(), s.text()) == k.values.end()) {
        return refuse(s.text());
      }
      break;
    case ValueType::kInt:
      if (k.max > 0) {
        auto n = parse_uint(s.text(), k.min, k.max, k.key);
        if (!n) return refuse(s.text());
        s.number = *n;
      }
      break;
    default:
      break;
  }
  if (k.check && k.type == ValueType::kWords) {
    for (const auto& w : s.words()) {
      if (!k.check(w)) return refuse(w);
    }
  } else if (k.check && !k.check(s.text())) {
    return refuse(s.text());
  }
  return ok();
}

Error bad_name(const KeySpec& spec, const Origin& at, const std::string& key) {
  assert(spec.names);
  return config_error(at, key, std::string(spec.names->unknown), "one of: " + spec.names->list());
}

Error Setting::error(std::string what) const { return error(std::move(what), allowed_of(spec)); }

Error Setting::error(std::string what, std::string allowed) const {
  return config_error(value.origin, key, std::move(what), std::move(allowed));
}

Error Setting::shim_error(const Error& e) const {
  return config_error(value.origin, key, shim_reason(e));
}

const RawValue* Setting::sibling(std::string_view field) const {
  auto it = raw.find(key.substr(0, key.rfind('.') + 1) + std::string(field));
  return it == raw.end() ? nullptr : &it->second;
}

Interface& Setting::interface() const {
  assert(index < guest.interfaces.size());
  return guest.interfaces[index];
}

}  // namespace vs
