// vserver.toml (toml++). The schema, which vserver.toml(5) documents for users:
//
//   name = "STRING"                 display name (util-vserver `name`)
//   context = INT                   static context id 2..49151; absent: dynamic
//   vdir = "/ABS/PATH"              root tree; absent: VDIRBASE/NAME
//   fstab = "/ABS/PATH"             fstab(5) file mounted inside the guest
//   flags = ["persistent", ...]     vattribute --flag words (`~` removes)
//   namespaces = ["mnt", ...]       mnt pid uts ipc net cgroup user time
//   [uts]        nodename, domainname (strings; sysname/release/version/machine are refused:
//                only nodename and domainname can be set on a stock kernel)
//   [[interfaces]] address = "IP[/PREFIX]", prefix = INT, dev = "eth0",
//                mode = "shared"|"isolated", name = "LABEL", nodev = BOOL,
//                gateway = "IP" (isolated), nat = BOOL (isolated, IPv4)
//   [capabilities] add = [CAP...], drop = [CAP...], ccaps = [CCAP...]
//   [rlimits]    NAME = INT | "VALUE" | "SOFT:HARD", or [rlimits.NAME] soft = .., hard = ..
//                (NAME as vlimit: as core cpu data fsize locks memlock msgqueue nice nofile
//                nproc rss rtprio sigpending stack)
//   [limits]     memory, memsw (INT bytes or "64M"/"max"), pids, cpu_shares, cpu_quota_us,
//                cpu_period_us (INT or "max"), cpuset_cpus, cpuset_mems ("0-2,4")
//   [seccomp]    profile = "default"|"none", allow = [SYSCALL...], deny = [SYSCALL...]
//   [init]       style = "plain"|"sysv"|"minit", mark = "default", command = [ARGV...],
//                stop_signal = "SIGPWR"|NUMBER, stop_timeout = SECONDS (1..3600),
//                depends = [GUEST...] (started before this one at boot)
//   [scripts]    pre-start, post-start, pre-stop, post-stop = "/ABS/PATH"
//   [build]      method = "skeleton"|..., source = "GUEST|DIR|FILE"
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

#include "kernel-shim/limits.h"
#include "lib/config/config.h"

namespace vs {

namespace {

enum class Type { kString, kInt, kIntOrString, kStringList, kBool };

struct Field {
  const char* name;
  Type type;
};

const std::vector<Field> kTopScalars = {
    {"name", Type::kString},      {"context", Type::kInt},        {"vdir", Type::kString},
    {"fstab", Type::kString},     {"flags", Type::kStringList},   {"namespaces", Type::kStringList},
};

const std::vector<std::pair<const char*, std::vector<Field>>> kSections = {
    {"uts", {{"nodename", Type::kString}, {"domainname", Type::kString}}},
    {"capabilities",
     {{"add", Type::kStringList}, {"drop", Type::kStringList}, {"ccaps", Type::kStringList}}},
    {"limits",
     {{"memory", Type::kIntOrString},
      {"memsw", Type::kIntOrString},
      {"pids", Type::kIntOrString},
      {"cpu_shares", Type::kIntOrString},
      {"cpu_quota_us", Type::kIntOrString},
      {"cpu_period_us", Type::kIntOrString},
      {"cpuset_cpus", Type::kString},
      {"cpuset_mems", Type::kString}}},
    {"seccomp", {{"profile", Type::kString}, {"allow", Type::kStringList}, {"deny", Type::kStringList}}},
    {"init",
     {{"style", Type::kString},
      {"mark", Type::kString},
      {"command", Type::kStringList},
      {"stop_signal", Type::kString},
      {"stop_timeout", Type::kInt},
      {"depends", Type::kStringList}}},
    {"scripts",
     {{"pre-start", Type::kString},
      {"post-start", Type::kString},
      {"pre-stop", Type::kString},
      {"post-stop", Type::kString}}},
    {"build", {{"method", Type::kString}, {"source", Type::kString}}},
};

const std::vector<Field> kInterfaceFields = {
    {"address", Type::kString}, {"prefix", Type::kInt}, {"dev", Type::kString},
    {"mode", Type::kString},    {"name", Type::kString}, {"nodev", Type::kBool},
    {"gateway", Type::kString}, {"nat", Type::kBool},
};

const char* type_name(Type t) {
  switch (t) {
    case Type::kString:
      return "a string";
    case Type::kInt:
      return "an integer";
    case Type::kIntOrString:
      return "an integer or a string";
    case Type::kStringList:
      return "an array of strings";
    case Type::kBool:
      return "true or false";
  }
  return "a value";
}

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

class TomlReader {
 public:
  explicit TomlReader(const std::string& file) : file_(file) {}

  Result<RawConfig> read(const toml::table& top) {
    std::vector<std::string> allowed;
    for (const auto& f : kTopScalars) allowed.emplace_back(f.name);
    for (const auto& s : kSections) allowed.emplace_back(s.first);
    allowed.emplace_back("interfaces");
    allowed.emplace_back("rlimits");
    for (auto&& [k, v] : top) {
      std::string key(k.str());
      if (auto f = find(kTopScalars, key)) {
        if (auto r = scalar(key, v, f->type); !r) return std::move(r).error();
        continue;
      }
      if (key == "interfaces") {
        if (auto r = interfaces(v); !r) return std::move(r).error();
        continue;
      }
      if (key == "rlimits") {
        if (auto r = rlimits(v); !r) return std::move(r).error();
        continue;
      }
      auto s = std::find_if(kSections.begin(), kSections.end(),
                            [&](const auto& sec) { return key == sec.first; });
      if (s == kSections.end()) return unknown(key, key, origin(k, v), allowed);
      if (auto r = section(key, v, s->second); !r) return std::move(r).error();
    }
    return std::move(out_);
  }

 private:
  static const Field* find(const std::vector<Field>& fields, std::string_view name) {
    for (const auto& f : fields) {
      if (name == f.name) return &f;
    }
    return nullptr;
  }

  Origin origin(const toml::node& n) const {
    return Origin{file_, static_cast<int>(n.source().begin.line)};
  }
  Origin origin(const toml::key& k, const toml::node& v) const {
    if (k.source().begin.line > 0) return Origin{file_, static_cast<int>(k.source().begin.line)};
    return origin(v);
  }

  static Error unknown(const std::string& full, std::string_view word, const Origin& at,
                       const std::vector<std::string>& allowed) {
    std::string list;
    std::string best;
    size_t best_d = 3;
    for (const auto& a : allowed) {
      if (!list.empty()) list += ", ";
      list += a;
      size_t d = edit_distance(word, a);
      if (d < best_d) {
        best_d = d;
        best = a;
      }
    }
    std::string msg = "unknown key";
    if (!best.empty()) msg += "; did you mean '" + best + "'?";
    return config_error(at, full, msg, "one of: " + list);
  }

  Result<void> section(const std::string& prefix, const toml::node& v,
                       const std::vector<Field>& fields) {
    const toml::table* t = v.as_table();
    if (!t) return config_error(origin(v), prefix, "must be a table", "[" + prefix + "]");
    std::vector<std::string> allowed;
    for (const auto& f : fields) allowed.emplace_back(f.name);
    for (auto&& [k, val] : *t) {
      std::string name(k.str());
      std::string full = prefix + "." + name;
      const Field* f = find(fields, name);
      if (!f) {
        if (prefix == "uts" &&
            (name == "sysname" || name == "release" || name == "version" || name == "machine")) {
          return config_error(origin(k, val), full,
                              "cannot be set on a stock kernel (only nodename, domainname)");
        }
        return unknown(full, name, origin(k, val), allowed);
      }
      if (auto r = scalar(full, val, f->type); !r) return r;
    }
    return ok();
  }

  Result<void> interfaces(const toml::node& v) {
    const toml::array* a = v.as_array();
    if (!a) {
      return config_error(origin(v), "interfaces", "must be an array of tables",
                          "[[interfaces]] sections");
    }
    std::vector<std::string> allowed;
    for (const auto& f : kInterfaceFields) allowed.emplace_back(f.name);
    size_t i = 0;
    for (const auto& item : *a) {
      std::string prefix = "interfaces." + std::to_string(i++);
      const toml::table* t = item.as_table();
      if (!t) {
        return config_error(origin(item), prefix, "must be a table", "[[interfaces]] sections");
      }
      bool has_address = false;
      for (auto&& [k, val] : *t) {
        std::string name(k.str());
        const Field* f = find(kInterfaceFields, name);
        if (!f) return unknown(prefix + "." + name, name, origin(k, val), allowed);
        if (name == "address") has_address = true;
        if (auto r = scalar(prefix + "." + name, val, f->type); !r) return r;
      }
      if (!has_address) {
        return config_error(origin(item), prefix + ".address", "missing",
                            "every interface has an address");
      }
    }
    return ok();
  }

  Result<void> rlimits(const toml::node& v) {
    const toml::table* t = v.as_table();
    if (!t) return config_error(origin(v), "rlimits", "must be a table", "[rlimits]");
    for (auto&& [k, val] : *t) {
      std::string name(k.str());
      std::string full = "rlimits." + name;
      if (auto r = shim::parse_rlimit_name(name); !r) {
        return config_error(origin(k, val), full, "unknown rlimit",
                            "one of: " + shim::rlimit_names());
      }
      if (const toml::table* st = val.as_table()) {
        for (auto&& [sk, sv] : *st) {
          std::string half(sk.str());
          if (half != "soft" && half != "hard") {
            return unknown(full + "." + half, half, origin(sk, sv), {"soft", "hard"});
          }
          if (auto r = scalar(full + "." + half, sv, Type::kIntOrString); !r) return r;
        }
        continue;
      }
      if (auto r = scalar(full, val, Type::kIntOrString); !r) return r;
    }
    return ok();
  }

  Result<void> scalar(const std::string& key, const toml::node& v, Type type) {
    RawValue raw;
    raw.origin = origin(v);
    auto wrong = [&] {
      return config_error(raw.origin, key, "wrong type", std::string(type_name(type)));
    };
    if (type == Type::kStringList) {
      const toml::array* a = v.as_array();
      if (!a) return wrong();
      raw.is_list = true;
      for (const auto& item : *a) {
        const auto* s = item.as_string();
        if (!s) return wrong();
        raw.words.push_back(s->get());
      }
    } else if (const auto* s = v.as_string();
               s && (type == Type::kString || type == Type::kIntOrString)) {
      raw.text = s->get();
    } else if (const auto* i = v.as_integer();
               i && (type == Type::kInt || type == Type::kIntOrString)) {
      raw.text = std::to_string(i->get());
    } else if (const auto* b = v.as_boolean(); b && type == Type::kBool) {
      raw.text = b->get() ? "true" : "false";
    } else {
      return wrong();
    }
    out_[key] = std::move(raw);
    return ok();
  }

  const std::string& file_;
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
