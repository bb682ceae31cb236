// lib/config/schema.{h,cc}: the table is well formed, both readers reach every key of it, and
// vserver.toml(5) documents every key and every classic file, and no other.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include "lib/base/unique_fd.h"
#include "lib/config/schema.h"
#include "tests/support/temp_tree.h"

namespace vs {
namespace {

std::vector<std::string_view> fixed_segments(std::string_view key) {
  std::vector<std::string_view> out;
  for (std::string_view s : split_key(key, '.')) {
    if (s != "N") out.push_back(s);
  }
  return out;
}

bool has_segment(std::string_view key, std::string_view seg, char sep = '.') {
  auto segs = split_key(key, sep);
  return std::any_of(segs.begin(), segs.end(),
                     [&](std::string_view s) { return s == seg || s.starts_with(seg); });
}

// --- The table ---------------------------------------------------------------------------

TEST(Schema, TableIsWellFormed) {
  const auto& table = config_schema();
  std::set<std::string_view> keys;
  std::set<std::string_view> files;
  for (const KeySpec& k : table) EXPECT_TRUE(keys.insert(k.key).second) << k.key << " twice";
  for (const KeySpec& k : table) {
    SCOPED_TRACE(std::string(k.key));
    EXPECT_EQ(has_segment(k.key, "NAME"), k.names != nullptr) << "NAME and its NameSet go together";
    EXPECT_TRUE(!k.required || has_segment(k.key, "N")) << "only an array's key is required";
    if (k.type == ValueType::kRefused) {
      EXPECT_FALSE(k.doc.empty()) << "a refused key says why";
      EXPECT_EQ(k.apply, nullptr);
      continue;
    }
    EXPECT_NE(k.apply, nullptr) << "every key is applied";
    EXPECT_FALSE(allowed_of(k).empty()) << "every key says what it allows";
    EXPECT_TRUE(k.type != ValueType::kEnum || !k.values.empty()) << "an enum has values";
    EXPECT_LE(k.min, k.max);
    if (!k.needs.empty()) {
      EXPECT_TRUE(keys.count(k.needs)) << "needs " << k.needs << ", no key";
    }
    if (!k.unit.empty()) {
      EXPECT_TRUE(k.key.starts_with(k.unit.substr(0, k.unit.find('.'))))
          << "a unit is a part of its key's section: " << k.unit;
    }
    if (k.classic.kind != ClassicKind::kNone) {
      EXPECT_TRUE(files.insert(k.classic.path).second) << "a classic file twice";
      EXPECT_EQ(has_segment(k.classic.path, "N", '/'), has_segment(k.key, "N"))
          << k.classic.path << ": N in the key and in its file go together";
      EXPECT_EQ(has_segment(k.classic.path, "NAME", '/'), has_segment(k.key, "NAME"))
          << k.classic.path << ": NAME in the key and in its file go together";
    }
  }
  for (const ClassicDir& d : classic_dirs()) {
    EXPECT_TRUE(std::any_of(table.begin(), table.end(), [&](const KeySpec& k) {
      return k.classic.path.starts_with(std::string(d.path) + "/");
    })) << d.path;
  }
}

TEST(Schema, KeysMatchTheirPatterns) {
  KeyMatch m = find_key("interfaces.12.gateway");
  ASSERT_NE(m.spec, nullptr);
  EXPECT_EQ(m.spec->key, "interfaces.N.gateway");
  EXPECT_EQ(m.index, 12u);
  m = find_key("rlimits.nofile.soft");
  ASSERT_NE(m.spec, nullptr);
  EXPECT_EQ(m.spec->key, "rlimits.NAME.soft");
  EXPECT_EQ(m.name, "nofile");
  EXPECT_EQ(instantiate(m.spec->unit, m), "rlimits.nofile");
  EXPECT_EQ(instantiate("rlimits/NAME.soft", m, '/'), "rlimits/nofile.soft");
  EXPECT_EQ(find_key("init.style").spec->key, "init.style");
  for (const char* bad : {"interfaces.01.address", "interfaces.x.address", "interfaces.0",
                          "rlimits", "init", "init.style.x", "nosuch", ""}) {
    EXPECT_EQ(find_key(bad).spec, nullptr) << bad;
  }
  EXPECT_EQ(setting_unit("interfaces.3.nat"), "interfaces");
  EXPECT_EQ(setting_unit("capabilities.drop"), "capabilities.bcaps");
  EXPECT_EQ(setting_unit("rlimits.as.hard"), "rlimits.as");
  EXPECT_EQ(setting_unit("init.mark"), "init.mark");
}

TEST(Schema, ValuesAreCheckedByTheirType) {
  RawConfig raw;
  GuestConfig guest;
  auto check = [&](std::string key, std::string text) {
    KeyMatch m = find_key(key);
    RawValue v{std::move(text), {}, false, Origin{"f", 3}};
    Setting s{*m.spec, key, v, m.index, m.name, 0, raw, guest};
    auto r = check_value(s);
    return r ? "OK " + std::to_string(s.number) : r.error().message();
  };
  EXPECT_EQ(check("init.stop_timeout", "3600"), "OK 3600");
  EXPECT_EQ(check("init.stop_timeout", "3601"),
            "f:3: key 'init.stop_timeout': `3601` is out of range (expected seconds, 1..3600)");
  EXPECT_EQ(check("seccomp.profile", "none"), "OK 0");
  EXPECT_EQ(check("seccomp.profile", "x"),
            "f:3: key 'seccomp.profile': unknown profile `x` (expected default or none)");
  EXPECT_EQ(check("fstab", "/a/./b"), "OK 0");
  EXPECT_EQ(check("fstab", "/a/../b"),
            "f:3: key 'fstab': `/a/../b` is not a clean absolute path (expected an absolute path "
            "without '..')");
  EXPECT_EQ(check("uts.machine", "x"),
            "f:3: key 'uts.machine': cannot be set on a stock kernel (only nodename, domainname)");
  EXPECT_EQ(check("init.mark", "a\x1b[2J"),
            "f:3: key 'init.mark': bad mark `a\\e[2J` (expected 1 to 63 letters, digits and '-')");
}

// --- Both readers reach every key ----------------------------------------------------------

// A value of the key's type, in TOML.
std::string toml_value(ValueType t) {
  switch (t) {
    case ValueType::kInt:
    case ValueType::kIntOrString:
      return "1";
    case ValueType::kBool:
      return "true";
    case ValueType::kWords:
      return "[\"x\"]";
    default:
      return "\"x\"";
  }
}

// The first name a NAME allows.
std::string some_name(const KeySpec& k) {
  std::string all = k.names->list();
  return all.substr(0, all.find_first_of(", "));
}

// vserver.toml text setting `key` (N = 0, NAME = a good name) and the array's required keys.
std::string toml_setting(const KeySpec& k, const KeyMatch& m) {
  std::string key = instantiate(k.key, m);
  auto segs = split_key(key, '.');
  auto n = std::find(segs.begin(), segs.end(), std::string_view("0"));
  std::string table;
  for (auto it = segs.begin(); it + 1 != segs.end() && it != n; ++it) {
    table += (table.empty() ? "" : ".") + std::string(*it);
  }
  std::string text;
  if (n != segs.end()) {
    text = "[[" + table + "]]\n";
    for (const KeySpec& r : config_schema()) {
      if (r.required && r.key != k.key && r.key.starts_with(table + ".N.")) {
        text += std::string(r.key.substr(r.key.rfind('.') + 1)) + " = " + toml_value(r.type) + "\n";
      }
    }
  } else if (!table.empty()) {
    text = "[" + table + "]\n";
  }
  return text + std::string(segs.back()) + " = " + toml_value(k.type) + "\n";
}

TEST(Schema, TheTomlReaderReachesEveryKey) {
  for (const KeySpec& k : config_schema()) {
    KeyMatch m;
    if (k.names) m.name = some_name(k);
    std::string key = instantiate(k.key, m);
    std::string text = toml_setting(k, m);
    auto raw = parse_toml_config(text, "f");
    if (k.type == ValueType::kRefused) {
      ASSERT_FALSE(raw) << text;
      EXPECT_NE(raw.error().message().find(std::string(k.doc)), std::string::npos);
      continue;
    }
    ASSERT_TRUE(raw) << text << raw.error().message();
    EXPECT_TRUE(raw->count(key)) << text;
  }
}

TEST(Schema, TheClassicReaderReachesEveryFile) {
  for (const KeySpec& k : config_schema()) {
    if (k.classic.kind == ClassicKind::kNone) continue;
    test::ScopedTempDir tmp;
    KeyMatch m;
    if (k.names) m.name = some_name(k);
    std::string key = instantiate(k.key, m);
    std::string rel(k.classic.path);
    if (auto at = rel.find("/N/"); at != std::string::npos) rel.replace(at, 3, "/00/");
    rel = instantiate(rel, m, '/');
    std::string path = tmp.path() + "/" + rel;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    if (k.classic.kind == ClassicKind::kLink) {
      ASSERT_EQ(::symlink("/x", path.c_str()), 0);
    } else {
      std::ofstream(path) << "x\n";
    }
    for (const KeySpec& r : config_schema()) {  // the array's required files
      if (r.required && &r != &k && has_segment(k.key, "N") &&
          r.key.substr(0, r.key.rfind('.')) == k.key.substr(0, k.key.rfind('.'))) {
        std::string rf = std::string(r.classic.path);
        rf.replace(rf.find("/N/"), 3, "/00/");
        std::ofstream(tmp.path() + "/" + rf) << "x\n";
      }
    }
    UniqueFd fd(::open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    auto raw = read_legacy_dir(fd.get(), tmp.path());
    if (k.type == ValueType::kRefused) {
      ASSERT_FALSE(raw) << rel;
      EXPECT_NE(raw.error().message().find(key), std::string::npos) << raw.error().message();
      continue;
    }
    ASSERT_TRUE(raw) << rel << ": " << raw.error().message();
    EXPECT_TRUE(raw->count(key)) << rel << " gives no " << key;
  }
}

// --- vserver.toml(5) -------------------------------------------------------------------------

// The man page's text: escapes resolved, each request line's macro (.B, .IR ...) dropped.
struct ManPage {
  struct Entry {
    std::string tag;   ///< the line after .TP
    std::string body;  ///< up to the next .TP or .SH
  };
  std::vector<Entry> keys;  ///< the entries of KEYS
  std::string classic;      ///< the text of CLASSIC LAYOUT
};

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t at = 0; (at = s.find(from, at)) != std::string::npos; at += to.size()) {
    s.replace(at, from.size(), to);
  }
}

std::string man_text(std::string line) {
  replace_all(line, "\\-", "-");
  replace_all(line, "\\(dq", "\"");
  replace_all(line, "\\&", "");
  if (!line.empty() && line[0] == '.') {
    size_t sp = line.find(' ');
    line = sp == std::string::npos ? "" : line.substr(sp + 1);
  }
  return line;
}

ManPage read_man_page(const std::string& path) {
  ManPage page;
  std::ifstream in(path);
  std::string line;
  std::string section;
  bool tag_next = false;
  while (std::getline(in, line)) {
    if (line.starts_with(".SH ")) {
      section = line.substr(4);
      tag_next = false;
      continue;
    }
    if (section == "KEYS" && line == ".TP") {
      page.keys.push_back({});
      tag_next = true;
      continue;
    }
    if (section == "KEYS" && !page.keys.empty()) {
      (tag_next ? page.keys.back().tag : page.keys.back().body) += man_text(line) + "\n";
      tag_next = false;
    } else if (section == "CLASSIC LAYOUT") {
      page.classic += man_text(line) + "\n";
    }
  }
  return page;
}

// Words of letters, digits, '_' and '-'.
std::set<std::string> words(const std::string& text) {
  std::set<std::string> out;
  std::string w;
  for (char c : text + " ") {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') {
      w += c;
    } else if (!w.empty()) {
      out.insert(std::move(w));
      w.clear();
    }
  }
  return out;
}

// "[uts]", "[[interfaces]]", "[rlimits.NAME]": the section of an entry's tag; empty: a
// top-level key.
std::string tag_section(const std::string& tag) {
  if (tag.empty() || tag[0] != '[') return "";
  size_t begin = tag.find_first_not_of('[');
  return tag.substr(begin, tag.find_first_of("].", begin) - begin);
}

// Paths in CLASSIC LAYOUT, braces expanded ("interfaces/NN/{ip,dev}").
std::set<std::string> classic_paths(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  std::string w;
  while (in >> w) {
    while (!w.empty() && (w.back() == ',' || w.back() == '.' || w.back() == ')')) w.pop_back();
    size_t open = w.find('{');
    if (open == std::string::npos) {
      out.insert(w);
      continue;
    }
    std::string head = w.substr(0, open);
    std::string alts = w.substr(open + 1, w.find('}') - open - 1);
    std::istringstream parts(alts);
    for (std::string p; std::getline(parts, p, ',');) out.insert(head + p);
  }
  return out;
}

class ManPageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* root = std::getenv("VS_SOURCE_ROOT");
    if (!root) GTEST_SKIP() << "VS_SOURCE_ROOT is not set (meson test sets it to the source tree)";
    std::string path = std::string(root) + "/man/vserver.toml.5";
    ASSERT_TRUE(std::filesystem::exists(path)) << path;
    page_ = read_man_page(path);
    ASSERT_FALSE(page_.keys.empty()) << path << " has no KEYS";
    ASSERT_FALSE(page_.classic.empty()) << path << " has no CLASSIC LAYOUT";
  }
  ManPage page_;
};

TEST_F(ManPageTest, EveryKeyIsDocumented) {
  for (const KeySpec& k : config_schema()) {
    auto segs = fixed_segments(k.key);
    bool found = false;
    for (const auto& e : page_.keys) {
      std::string section = tag_section(e.tag);
      if (segs.size() == 1) {
        found = found || (section.empty() && e.tag.starts_with(std::string(segs[0]) + " "));
      } else if (section == segs[0]) {
        found = found || words(e.tag + e.body).count(std::string(segs.back()));
      }
    }
    EXPECT_TRUE(found) << "key '" << k.key << "' is in the schema but not in vserver.toml(5)";
  }
}

TEST_F(ManPageTest, EveryDocumentedKeyIsInTheSchema) {
  std::set<std::string> known;
  for (const KeySpec& k : config_schema()) {
    auto segs = fixed_segments(k.key);
    known.insert(std::string(segs[0]) + (segs.size() > 1 ? "." + std::string(segs[1]) : ""));
  }
  for (const auto& e : page_.keys) {
    std::string section = tag_section(e.tag);
    if (section.empty()) {
      std::string key = e.tag.substr(0, e.tag.find(' '));
      EXPECT_TRUE(known.count(key)) << "vserver.toml(5) documents '" << key << "', no key";
      continue;
    }
    // "[init] style, mark, ..." lists the keys of the section before any '='.
    std::string fields = e.tag.substr(e.tag.find(']') + 1);
    fields = fields.substr(0, fields.find('='));
    for (const auto& f : words(fields)) {
      EXPECT_TRUE(known.count(section + "." + f))
          << "vserver.toml(5) documents '" << section << "." << f << "', no key";
    }
  }
}

TEST_F(ManPageTest, EveryClassicFileIsDocumented) {
  std::set<std::string> documented = classic_paths(page_.classic);
  std::set<std::string> files;  // the refused ones too
  for (const KeySpec& k : config_schema()) {
    if (k.classic.kind == ClassicKind::kNone) continue;
    std::string f(k.classic.path);
    if (auto at = f.find("/N/"); at != std::string::npos) f.replace(at, 3, "/NN/");
    files.insert(f);
    EXPECT_TRUE(documented.count(f)) << "classic file " << f << " is not in vserver.toml(5)";
  }
  for (const ClassicDir& d : classic_dirs()) {
    std::string dir = std::string(d.path) + "/";
    EXPECT_TRUE(documented.count(dir)) << "vserver.toml(5) does not say that " << dir
                                       << " refuses unknown files";
    files.insert(dir);
  }
  for (const auto& d : documented) {
    if (d.find('/') == std::string::npos) continue;
    EXPECT_TRUE(files.count(d)) << "vserver.toml(5) documents the classic file " << d
                                << ", which no key has";
  }
}

}  // namespace
}  // namespace vs
