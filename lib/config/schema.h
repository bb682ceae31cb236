// The one schema of a guest's configuration (DESIGN.md "Guest configuration", STYLE.md R11):
// every key of vserver.toml and of the classic util-vserver layout, in one table of KeySpec
// (schema.cc). The readers (toml.cc, legacy_dir.cc), the .defaults merge (defaults.cc),
// build_guest() (validate.cc) and `vserver NAME config` (format.cc) all walk that table, and
// vserver.toml(5) documents it (tests/unit/schema_test.cc checks that every key is there).
//
// A key is dotted ("init.stop_timeout"). Two segments are patterns:
//   N     an index: one [[interfaces]] table in TOML, one subdirectory of `interfaces/` (in
//         name order) in the classic layout; the Ns of an array count from 0;
//   NAME  a name, checked by KeySpec::names ("rlimits.NAME.soft").
// Adding a key is one table entry (and its test); the table's order is the order of
// `vserver NAME config` and, but for KeySpec::needs, the order in which keys are applied.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.h"
#include "lib/config/config.h"

namespace vs {

/// What a key holds: the TOML types accepted and the check made before KeySpec::apply.
enum class ValueType {
  kString,       ///< a string (KeySpec::check, if set, decides which)
  kPath,         ///< a string: a clean absolute path (starts with '/', no ".." component)
  kEnum,         ///< a string, one of KeySpec::values
  kInt,          ///< a TOML integer; KeySpec::min..max when max > 0
  kIntOrString,  ///< a TOML integer or a string such as "64M" or "max" (apply checks it)
  kBool,         ///< true or false
  kWords,        ///< an array of strings (KeySpec::check, if set, applies to each)
  kRefused,      ///< a key that can never be set; KeySpec::doc says why
};

/// How the classic layout holds a key.
enum class ClassicKind {
  kNone,     ///< not in the classic layout
  kLine,     ///< a file with one value on one line
  kWords,    ///< a file of words, one per line (commas and blanks also separate), '#' comments
  kLink,     ///< a symlink whose target is the value (text only: it is never followed)
  kPath,     ///< the entry exists: the value is its own path (fstab, scripts)
  kPresent,  ///< the entry exists: the value is true
};

/// Where a key lives in the classic layout: a path relative to the configuration directory,
/// with the key's N ("interfaces/N/ip": every subdirectory) and NAME ("rlimits/NAME.soft").
struct Classic {
  std::string_view path;
  ClassicKind kind = ClassicKind::kNone;
};

/// The names a NAME segment allows.
struct NameSet {
  std::string_view unknown;         ///< the error for another name: "unknown rlimit"
  bool (*valid)(std::string_view);  ///< whether a name is one
  std::string (*list)();            ///< the names, for "(expected one of: ...)"
};

struct KeySpec;

/// One value being applied (KeySpec::apply): the concrete key, its value, what its pattern
/// matched, and the model being built.
struct Setting {
  const KeySpec& spec;
  const std::string& key;  ///< "interfaces.0.prefix"
  const RawValue& value;
  size_t index = 0;      ///< the key's N, if it has one
  std::string name;      ///< the key's NAME, if it has one
  uint64_t number = 0;   ///< a kInt value with a range, once checked
  const RawConfig& raw;  ///< every setting of the guest
  GuestConfig& guest;

  const std::string& text() const { return value.text; }
  const std::vector<std::string>& words() const { return value.words; }
  /// "FILE:LINE: key 'KEY': WHAT (expected ALLOWED)"; ALLOWED is the spec's doc by default.
  Error error(std::string what) const;
  Error error(std::string what, std::string allowed) const;
  /// The error of a shim parser (whose text already says what is allowed) for this key.
  Error shim_error(const Error& e) const;
  /// Another key of the same N: sibling("address") of "interfaces.2.prefix".
  const RawValue* sibling(std::string_view field) const;
  /// guest.interfaces[index].
  Interface& interface() const;
};

/// The lines of `vserver NAME config`, written by KeySpec::format under the current key.
class ConfigLines {
 public:
  struct Line {
    std::string key;
    std::string value;
    bool raw = false;  ///< a JSON number or boolean, not a string
  };

  /// The key being formatted (N replaced by the index) and the index.
  const std::string& key() const { return key_; }
  size_t index() const { return index_; }
  void at(std::string key, size_t index) {
    key_ = std::move(key);
    index_ = index;
  }

  void text(std::string value) { text(key_, std::move(value)); }
  void text(std::string key, std::string value) {
    lines_.push_back({std::move(key), std::move(value)});
  }
  void raw(std::string value) { raw(key_, std::move(value)); }
  void raw(std::string key, std::string value) {
    lines_.push_back({std::move(key), std::move(value), true});
  }
  void boolean(bool b) { raw(b ? "true" : "false"); }
  void number(uint64_t n) { raw(std::to_string(n)); }

  const std::vector<Line>& lines() const { return lines_; }

 private:
  std::string key_;
  size_t index_ = 0;
  std::vector<Line> lines_;
};

/// One key of the configuration. Fields left out take the defaults below.
struct KeySpec {
  std::string_view key;  ///< dotted; segments N and NAME are patterns (top of this file)
  ValueType type = ValueType::kString;
  /// What is allowed, as "(expected DOC)" says in its errors; for kEnum, empty: the values.
  /// For kRefused, why the key cannot be set.
  std::string_view doc = {};
  /// The error when `check`, the kInt range or the kEnum values refuse a value; "{}" is
  /// replaced by the value. Empty: "unknown LAST-SEGMENT `{}`" ("`{}` is not a clean absolute
  /// path" for kPath).
  std::string_view bad = {};
  std::vector<std::string_view> values = {};  ///< kEnum: the allowed values
  uint64_t min = 0, max = 0;                  ///< kInt: the range, when max > 0
  bool (*check)(std::string_view) = nullptr;  ///< kString, kWords: each string's check
  const NameSet* names = nullptr;             ///< the key's NAME segment
  bool required = false;                      ///< every N of the key's array must have it
  bool from_defaults = true;  ///< may come from .defaults (false: must differ between guests)
  /// The unit in which sources conflict and .defaults are overridden (N and NAME as in the
  /// key); empty: the key itself.
  std::string_view unit = {};
  std::string_view needs = {};  ///< a key applied before this one
  Classic classic = {};
  /// Checks what `type` does not and sets the model. Null: a kRefused key.
  Result<void> (*apply)(const Setting&) = nullptr;
  /// Sets the model when the key is absent (and no value of it is given). Null: nothing.
  void (*absent)(GuestConfig&, const ConfigRoots&) = nullptr;
  /// Writes the key's lines (called once, or once per N of its array). Null: the key is
  /// shown by another one (capabilities.drop by capabilities.add as capabilities.bcaps).
  void (*format)(const GuestConfig&, ConfigLines&) = nullptr;
};

/// The table, in order (schema.cc).
const std::vector<KeySpec>& config_schema();

/// A directory of the classic layout in which every entry must be a known one (elsewhere
/// util-vserver keeps files this implementation does not read; they are left alone).
struct ClassicDir {
  std::string_view path;     ///< "scripts"
  std::string_view section;  ///< an unknown entry E is named as the key SECTION.E
  std::string_view unknown;  ///< its error: "unknown script"
};
const std::vector<ClassicDir>& classic_dirs();

/// What a key's pattern matched.
struct KeyMatch {
  const KeySpec* spec = nullptr;
  size_t index = 0;  ///< N
  std::string name;  ///< NAME
};

/// The segments of a key ('.') or of a classic path ('/').
std::vector<std::string_view> split_key(std::string_view key, char sep);
/// One segment against one of a pattern: a literal, or NAME with an optional literal tail
/// ("NAME.hard" of a classic file), which sets m->name. N is the callers' (an index in a
/// key, any subdirectory in the classic layout).
bool match_segment(std::string_view pattern, std::string_view seg, KeyMatch* m);
/// Whether `key` is an instance of `pattern` ("interfaces.3.dev" of "interfaces.N.dev"), with
/// `sep` between segments ('.' for keys, '/' for classic paths). N matches decimal digits;
/// NAME matches any text without `sep` or '.' (its NameSet is not consulted).
bool match_pattern(std::string_view pattern, std::string_view key, char sep, KeyMatch* m);
/// The spec whose key `key` is an instance of, or a KeyMatch with a null spec.
KeyMatch find_key(std::string_view key);
/// `pattern` with N and NAME replaced ("rlimits.NAME" -> "rlimits.nofile").
std::string instantiate(std::string_view pattern, const KeyMatch& m, char sep = '.');
/// The text a value of the type must be in TOML: "an integer", "an array of strings" ...
std::string_view type_name(ValueType type);
/// "a, b or c".
std::string join_or(const std::vector<std::string_view>& words);
/// A spec's doc, or for kEnum without one, its values as "a, b or c".
std::string allowed_of(const KeySpec& spec);
/// Checks the value of one setting the way its type says (refused keys, enum values, kInt
/// ranges, paths, `check`) and fills Setting::number. The error names the key.
Result<void> check_value(Setting& s);
/// The error for a NAME the key's NameSet refuses: "unknown rlimit (expected one of: ...)".
Error bad_name(const KeySpec& spec, const Origin& at, const std::string& key);

}  // namespace vs
