// From RawConfig to GuestConfig by the schema (schema.h): every value checked by its type and
// applied by its KeySpec, in the table's order; and the checks between guests.
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "lib/config/config.h"
#include "lib/config/schema.h"

namespace vs {

namespace {

class Builder {
 public:
  Builder(const RawConfig& raw, const ConfigRoots& roots, GuestConfig* out)
      : raw_(raw), roots_(roots), g_(out), table_(config_schema()) {}

  Result<void> run() {
    for (const auto& [k, v] : raw_) g_->origins[k] = v.origin;
    if (auto r = sort_keys(); !r) return r;
    if (auto r = check_arrays(); !r) return r;
    done_.assign(table_.size(), false);
    for (size_t i = 0; i < table_.size(); ++i) {
      if (auto r = apply(i); !r) return r;
    }
    return ok();
  }

 private:
  struct Given {
    const std::string* key;
    const RawValue* value;
    KeyMatch match;
  };

  size_t index_of(const KeySpec* spec) const { return static_cast<size_t>(spec - table_.data()); }

  // Each setting to its spec (in N order); a key outside the schema or a NAME its NameSet
  // does not know is an error.
  Result<void> sort_keys() {
    given_.assign(table_.size(), {});
    for (const auto& [k, v] : raw_) {
      KeyMatch m = find_key(k);
      if (!m.spec) return config_error(v.origin, k, "unknown key");
      if (m.spec->names && !m.spec->names->valid(m.name)) return bad_name(*m.spec, v.origin, k);
      given_[index_of(m.spec)].push_back({&k, &v, m});
    }
    for (auto& list : given_) {
      std::stable_sort(list.begin(), list.end(), [](const Given& a, const Given& b) {
        return a.match.index < b.match.index;
      });
    }
    return ok();
  }

  // The Ns of an array count from 0, and each has the keys required in it.
  Result<void> check_arrays() {
    for (const KeySpec& req : table_) {
      size_t n_at = req.key.find(".N.");
      if (!req.required || n_at == std::string_view::npos) continue;
      std::string_view array = req.key.substr(0, n_at + 2);
      std::map<size_t, const Given*> present;  // N -> one of its settings
      for (size_t i = 0; i < table_.size(); ++i) {
        if (!table_[i].key.starts_with(array)) continue;
        for (const Given& g : given_[i]) present.emplace(g.match.index, &g);
      }
      if (present.empty()) continue;
      for (size_t n = 0; n <= present.rbegin()->first; ++n) {
        KeyMatch m;
        m.index = n;
        std::string key = instantiate(req.key, m);
        if (raw_.count(key)) continue;
        const Given* near = present.lower_bound(n)->second;
        return config_error(near->value->origin, key, "missing", allowed_of(req));
      }
    }
    return ok();
  }

  // A spec's settings, after those of the spec it needs; its `absent` when none is given.
  Result<void> apply(size_t i) {
    if (done_[i]) return ok();
    done_[i] = true;
    const KeySpec& spec = table_[i];
    if (!spec.needs.empty()) {
      auto need = std::find_if(table_.begin(), table_.end(),
                               [&](const KeySpec& k) { return k.key == spec.needs; });
      if (need != table_.end()) {
        if (auto r = apply(index_of(&*need)); !r) return r;
      }
    }
    if (given_[i].empty()) {
      if (spec.absent) spec.absent(*g_, roots_);
      return ok();
    }
    for (const Given& given : given_[i]) {
      Setting s{spec, *given.key, *given.value, given.match.index, given.match.name, 0, raw_, *g_};
      if (auto r = check_value(s); !r) return r;
      if (spec.apply) {
        if (auto r = spec.apply(s); !r) return r;
      }
    }
    return ok();
  }

  const RawConfig& raw_;
  const ConfigRoots& roots_;
  GuestConfig* g_;
  const std::vector<KeySpec>& table_;
  std::vector<std::vector<Given>> given_;
  std::vector<bool> done_;
};

bool inside_or_equal(const std::string& a, const std::string& b) {
  if (a == b) return true;
  std::string prefix = b == "/" ? "/" : b + "/";
  return a.starts_with(prefix);
}

Origin origin_of(const GuestConfig& g, const std::string& key, const ConfigRoots& roots) {
  auto it = g.origins.find(key);
  if (it != g.origins.end()) return it->second;
  return Origin{roots.guest_confdir(g.name), 0};
}

}  // namespace

Result<GuestConfig> build_guest(std::string_view name, const RawConfig& raw,
                                const ConfigRoots& roots) {
  if (auto r = validate_guest_name(name); !r) return std::move(r).error();
  GuestConfig g;
  g.name = std::string(name);
  if (auto r = Builder(raw, roots, &g).run(); !r) return std::move(r).error();
  return g;
}

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return s;
}

std::string normal(const std::string& path) {
  std::string p = std::filesystem::path(path).lexically_normal().string();
  if (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

// The host's own trees: a vdir may be none of them nor contain one (`vdir = "/"`), and may
// not lie inside those of them that hold the host's programs, configuration and kernel views.
constexpr const char* kSystemDirs[] = {"/",    "/bin",   "/boot",  "/dev",    "/etc",   "/home",
                                       "/lib", "/lib32", "/lib64", "/libx32", "/media", "/mnt",
                                       "/opt", "/proc",  "/root",  "/run",    "/sbin",  "/srv",
                                       "/sys", "/tmp",   "/usr",   "/var"};
constexpr const char* kSystemTrees[] = {"/bin",   "/boot",   "/dev",  "/etc",  "/lib", "/lib32",
                                        "/lib64", "/libx32", "/proc", "/sbin", "/sys", "/usr"};

}  // namespace

Result<void> check_guest_vdir(const GuestConfig& g, const ConfigRoots& roots) {
  const std::string base = normal(roots.vdirbase);
  const std::string vdir = normal(g.vdir);
  for (const char* sys : kSystemDirs) {
    if (vdir == sys) {
      return config_error(origin_of(g, "vdir", roots), "vdir",
                          "`" + g.vdir + "` of guest " + g.name + " is the host's " + sys,
                          "a directory below the vdir base");
    }
  }
  for (const char* sys : kSystemTrees) {
    if (inside_or_equal(vdir, sys)) {
      return config_error(origin_of(g, "vdir", roots), "vdir",
                          "`" + g.vdir + "` of guest " + g.name + " is inside the host's " + sys,
                          "a directory below the vdir base");
    }
  }
  if (vdir == base || !inside_or_equal(vdir, base)) {
    return config_error(origin_of(g, "vdir", roots), "vdir",
                        "`" + g.vdir + "` of guest " + g.name + " is not below `" + base + "`",
                        "a directory below the vdir base");
  }
  return ok();
}

Result<void> check_guest_pair(const GuestConfig& a, const GuestConfig& b,
                              const ConfigRoots& roots) {
  if (lower(a.name) == lower(b.name)) {
    return config_error(Origin{roots.guest_confdir(a.name), 0}, "name",
                        "guest " + a.name + " differs from guest " + b.name + " only in case",
                        "names that differ ignoring case");
  }
  if (a.xid && b.xid && *a.xid == *b.xid) {
    return config_error(origin_of(a, "context", roots), "context",
                        "context " + a.xid->str() + " of guest " + a.name +
                            " is also the context of guest " + b.name + " (`" +
                            format_origin(origin_of(b, "context", roots)) + "`)",
                        "a context id no other guest has");
  }
  for (size_t ia = 0; ia < a.interfaces.size(); ++ia) {
    for (size_t ib = 0; ib < b.interfaces.size(); ++ib) {
      if (a.interfaces[ia].address != b.interfaces[ib].address) continue;
      std::string ka = "interfaces." + std::to_string(ia) + ".address";
      std::string kb = "interfaces." + std::to_string(ib) + ".address";
      return config_error(origin_of(a, ka, roots), ka,
                          "address " + a.interfaces[ia].address + " of guest " + a.name +
                              " is also an address of guest " + b.name + " (`" +
                              format_origin(origin_of(b, kb, roots)) + "`)",
                          "an address no other guest has");
    }
  }
  const std::string va = normal(a.vdir), vb = normal(b.vdir);
  if (inside_or_equal(va, vb) || inside_or_equal(vb, va)) {
    return config_error(origin_of(a, "vdir", roots), "vdir",
                        "`" + a.vdir + "` of guest " + a.name + " overlaps `" + b.vdir +
                            "` of guest " + b.name + " (`" +
                            format_origin(origin_of(b, "vdir", roots)) + "`)",
                        "vdirs that are neither equal nor inside one another");
  }
  return ok();
}

Result<void> validate_guests(const std::vector<GuestConfig>& guests, const ConfigRoots& roots) {
  for (size_t i = 0; i < guests.size(); ++i) {
    if (auto r = check_guest_vdir(guests[i], roots); !r) return r;
    for (size_t j = 0; j < i; ++j) {
      if (auto r = check_guest_pair(guests[i], guests[j], roots); !r) return r;
    }
  }
  return ok();
}

GuestSet sort_out_guests(std::vector<GuestConfig> loaded, const ConfigRoots& roots) {
  // Each guest's first problem: its vdir, else the first other guest it clashes with. Both
  // guests of a clash are broken (which of them was meant is not ours to guess); each one's
  // message names the other.
  // A guest whose own vdir is refused never starts: it clashes with nobody (`vdir = "/"`
  // would otherwise overlap every other guest).
  std::vector<std::optional<Error>> problem(loaded.size());
  std::vector<bool> vdir_bad(loaded.size(), false);
  for (size_t i = 0; i < loaded.size(); ++i) {
    if (auto r = check_guest_vdir(loaded[i], roots); !r) {
      problem[i] = std::move(r).error();
      vdir_bad[i] = true;
    }
  }
  for (size_t i = 0; i < loaded.size(); ++i) {
    for (size_t j = i + 1; j < loaded.size(); ++j) {
      if ((problem[i] && problem[j]) || vdir_bad[i] || vdir_bad[j]) continue;
      if (auto r = check_guest_pair(loaded[i], loaded[j], roots); !r) {
        if (!problem[i]) problem[i] = std::move(r).error();
        if (!problem[j]) {
          auto rj = check_guest_pair(loaded[j], loaded[i], roots);
          if (!rj) problem[j] = std::move(rj).error();
        }
      }
    }
  }
  GuestSet set;
  for (size_t i = 0; i < loaded.size(); ++i) {
    if (!problem[i]) {
      set.guests.push_back(std::move(loaded[i]));
      continue;
    }
    std::string name = loaded[i].name;
    set.broken.push_back(
        BrokenGuest{std::move(name), std::move(*problem[i]), std::move(loaded[i])});
  }
  return set;
}

}  // namespace vs
