// Reading a configuration directory in both formats, and merging .defaults under a guest, by
// the merge units and the from_defaults of the schema (schema.h).
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "lib/base/dir_stream.h"
#include "lib/base/fs_at.h"
#include "lib/base/unique_fd.h"
#include "lib/config/config.h"
#include "lib/config/schema.h"

namespace vs {

std::string setting_unit(std::string_view key) {
  KeyMatch m = find_key(key);
  if (!m.spec || m.spec->unit.empty()) return std::string(key);
  return instantiate(m.spec->unit, m);
}

namespace {

std::map<std::string, const RawValue*> units(const RawConfig& c) {
  std::map<std::string, const RawValue*> out;
  for (const auto& [k, v] : c) out.emplace(setting_unit(k), &v);
  return out;
}

}  // namespace

Result<RawConfig> merge_sources(RawConfig a, const RawConfig& b) {
  auto ua = units(a);
  for (const auto& [unit, v] : units(b)) {
    if (auto it = ua.find(unit); it != ua.end()) {
      return config_error(v->origin, unit,
                          "also set in `" + format_origin(it->second->origin) + "`",
                          "each setting in vserver.toml or in the classic file, not both");
    }
  }
  for (const auto& [k, v] : b) a[k] = v;
  return a;
}

Result<RawConfig> merge_defaults(const RawConfig& defaults, RawConfig guest) {
  auto ug = units(guest);
  for (const auto& [k, v] : defaults) {
    std::string unit = setting_unit(k);
    if (const KeySpec* spec = find_key(k).spec; spec && !spec->from_defaults) {
      return config_error(v.origin, k, "cannot be a default (it must differ between guests)",
                          "it in the guest's own configuration");
    }
    if (!ug.count(unit)) guest[k] = v;
  }
  return guest;
}

Result<RawConfig> read_config_dir(const std::string& dir, std::vector<std::string>* warnings) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return make_error(ErrorKind::kNotFound, "no such guest", dir, "", ENOENT);
    return config_error(Origin{dir, 0}, "", "cannot open: " + std::string(::strerror(errno)),
                        "a directory (not a symlink)");
  }
  RawConfig toml;
  std::string toml_path = dir + "/vserver.toml";
  auto text = read_file_at(fd.get(), "vserver.toml", 1 << 20);
  if (text) {
    auto parsed = parse_toml_config(*text, toml_path);
    if (!parsed) return std::move(parsed).error();
    toml = std::move(*parsed);
  } else if (text.error().code != ENOENT) {
    const Error& e = text.error();
    std::string why = e.code == ELOOP ? "is a symlink"
                      : e.detail.empty() ? std::string(::strerror(e.code))
                                         : e.detail;
    return config_error(Origin{toml_path, 0}, "", "cannot read: " + why,
                        "a regular file of at most 1 MiB");
  }
  auto legacy = read_legacy_dir(fd.get(), dir, warnings);
  if (!legacy) return std::move(legacy).error();
  return merge_sources(std::move(*legacy), toml);
}

Result<GuestConfig> load_guest(const ConfigRoots& roots, std::string_view name) {
  if (auto r = validate_guest_name(name); !r) return std::move(r).error();
  std::vector<std::string> warnings;
  auto guest = read_config_dir(roots.guest_confdir(name), &warnings);
  if (!guest) return std::move(guest).error();
  RawConfig merged = std::move(*guest);
  if (::access(roots.defaults_dir().c_str(), F_OK) == 0) {
    auto defaults = read_config_dir(roots.defaults_dir(), &warnings);
    if (!defaults) return std::move(defaults).error();
    auto m = merge_defaults(*defaults, std::move(merged));
    if (!m) return std::move(m).error();
    merged = std::move(*m);
  }
  auto g = build_guest(name, merged, roots);
  if (g) g->warnings = std::move(warnings);
  return g;
}

namespace {

// The names under the confdir (not those starting with '.'), sorted; none if there is none.
Result<std::vector<std::string>> guest_names(const ConfigRoots& roots) {
  auto dir = DirStream::open_at(AT_FDCWD, roots.confdir, roots.confdir);
  if (!dir && dir.error().code == ENOENT) return std::vector<std::string>{};  // no guest yet
  if (!dir) return std::move(dir).error();
  auto all = dir->names();
  if (!all) return std::move(all).error();
  std::vector<std::string> names;
  for (auto& n : *all) {
    if (n.front() != '.') names.push_back(std::move(n));
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

Result<GuestSet> load_guest_set(const ConfigRoots& roots) {
  auto names = guest_names(roots);
  if (!names) return std::move(names).error();
  std::vector<GuestConfig> loaded;
  std::vector<BrokenGuest> unloadable;
  for (const auto& n : *names) {
    auto g = load_guest(roots, n);
    if (!g) {
      unloadable.push_back(BrokenGuest{n, std::move(g).error(), std::nullopt});
      continue;
    }
    loaded.push_back(std::move(*g));
  }
  GuestSet set = sort_out_guests(std::move(loaded), roots);
  set.broken.insert(set.broken.end(), std::make_move_iterator(unloadable.begin()),
                    std::make_move_iterator(unloadable.end()));
  std::sort(set.broken.begin(), set.broken.end(),
            [](const BrokenGuest& a, const BrokenGuest& b) { return a.name < b.name; });
  return set;
}

Result<std::vector<GuestConfig>> load_all_guests(const ConfigRoots& roots,
                                                 std::vector<Error>* broken) {
  if (broken) {
    auto set = load_guest_set(roots);
    if (!set) return std::move(set).error();
    for (auto& b : set->broken) broken->push_back(std::move(b.error));
    return std::move(set->guests);
  }
  auto names = guest_names(roots);
  if (!names) return std::move(names).error();
  std::vector<GuestConfig> guests;
  for (const auto& n : *names) {
    auto g = load_guest(roots, n);
    if (!g) return std::move(g).error();
    guests.push_back(std::move(*g));
  }
  if (auto r = validate_guests(guests, roots); !r) return std::move(r).error();
  return guests;
}

Result<void> check_against_others(const GuestConfig& g, const ConfigRoots& roots, bool vdirs_only) {
  if (auto r = check_guest_vdir(g, roots); !r) return r;
  auto names = guest_names(roots);
  if (!names) return std::move(names).error().wrap("check the other guests");
  for (const auto& n : *names) {
    if (n == g.name) continue;
    auto other = load_guest(roots, n);
    if (!other) continue;                            // its own problem, reported when it is used
    if (!check_guest_vdir(*other, roots)) continue;  // never starts (sort_out_guests)
    if (vdirs_only) {
      // Only the trees: the pair check on copies that share nothing else.
      GuestConfig a, b;
      a.name = g.name;
      a.vdir = g.vdir;
      a.origins = g.origins;
      b.name = other->name;
      b.vdir = other->vdir;
      b.origins = other->origins;
      if (auto r = check_guest_pair(a, b, roots); !r) return r;
      continue;
    }
    if (auto r = check_guest_pair(g, *other, roots); !r) return r;
  }
  return ok();
}

}  // namespace vs
