// From RawConfig to GuestConfig: every value checked with the shim's parsers (the same words
// and messages as the tools), and the checks between guests.
#include <sys/socket.h>

#include <algorithm>
#include <filesystem>

#include "kernel-shim/caps.h"
#include "kernel-shim/flags.h"
#include "kernel-shim/limits.h"
#include "kernel-shim/ns.h"
#include "kernel-shim/seccomp.h"
#include "lib/base/parse.h"
#include "lib/config/config.h"

namespace vs {

namespace {

std::string join(const std::vector<std::string>& words, std::string_view prefix = {}) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += ',';
    out += prefix;
    out += w;
  }
  return out;
}

bool is_clean_abs_path(const std::string& p) {
  if (p.empty() || p.front() != '/') return false;
  std::filesystem::path path(p);
  for (const auto& c : path) {
    if (c == "..") return false;
  }
  return p.find('\0') == std::string::npos;
}

class Builder {
 public:
  Builder(const RawConfig& raw, GuestConfig* out) : raw_(raw), g_(out) {}

  Result<void> run(const ConfigRoots& roots) {
    for (const auto& [k, v] : raw_) g_->origins[k] = v.origin;
    if (auto v = get("name")) {
      if (auto r = validate_guest_name(v->text); !r) {
        return config_error(v->origin, "name", "invalid name `" + r.error().subject + "`",
                            "1 to 63 letters, digits and '-'");
      }
      g_->label = v->text;
    }
    if (auto v = get("context")) {
      auto x = shim::Xid::parse(v->text);
      if (!x || !x->is_static()) {
        return config_error(v->origin, "context", "`" + v->text + "` is not a static context id",
                            "an integer 2..49151; leave it out for a dynamic one");
      }
      g_->xid = *x;
    }
    for (const char* f : {"nodename", "domainname"}) {
      if (auto v = get(std::string("uts.") + f)) {
        if (v->text.empty() || v->text.size() > 64) {
          return config_error(v->origin, std::string("uts.") + f, "bad length",
                              "1 to 64 characters");
        }
        (f[0] == 'n' ? g_->nodename : g_->domainname) = v->text;
      }
    }
    g_->vdir = roots.default_vdir(g_->name);
    if (auto v = get("vdir")) {
      if (!is_clean_abs_path(v->text)) {
        return config_error(v->origin, "vdir", "`" + v->text + "` is not a clean absolute path",
                            "an absolute path without '..'");
      }
      g_->vdir = std::filesystem::path(v->text).lexically_normal().string();
      if (g_->vdir.size() > 1 && g_->vdir.back() == '/') g_->vdir.pop_back();
    }
    for (const char* f : {"fstab"}) {
      if (auto v = get(f)) {
        if (!is_clean_abs_path(v->text)) {
          return config_error(v->origin, f, "`" + v->text + "` is not a clean absolute path",
                              "an absolute path without '..'");
        }
        g_->fstab = v->text;
      }
    }
    if (auto r = interfaces(); !r) return r;
    if (auto r = capabilities(); !r) return r;
    g_->namespaces = shim::default_namespaces();
    if (auto v = get("namespaces")) {
      auto ns = shim::parse_ns_list(join(v->words));
      if (!ns) return config_error(v->origin, "namespaces", shim_reason(ns.error()));
      g_->namespaces = *ns;
    }
    if (auto v = get("flags")) {
      auto f = shim::apply_flag_changes("", join(v->words), g_->namespaces);
      if (!f) return config_error(v->origin, "flags", shim_reason(f.error()));
      g_->flags = *f;
    }
    if (auto r = rlimits(); !r) return r;
    if (auto r = limits(); !r) return r;
    if (auto r = seccomp(); !r) return r;
    if (auto v = get("init.style")) {
      if (v->text == "plain") g_->init_style = InitStyle::kPlain;
      else if (v->text == "sysv") g_->init_style = InitStyle::kSysv;
      else if (v->text == "minit") g_->init_style = InitStyle::kMinit;
      else return config_error(v->origin, "init.style", "unknown style `" + v->text + "`",
                               "plain, sysv or minit");
    }
    if (auto v = get("init.command")) {
      if (v->words.empty() || v->words[0].empty() || v->words[0][0] != '/') {
        return config_error(v->origin, "init.command", "the program must be an absolute path",
                            "a list whose first word is the absolute path of a program inside "
                            "the guest");
      }
      g_->init_command = v->words;
    }
    if (auto v = get("init.stop_signal")) {
      auto sig = parse_signal(v->text);
      if (!sig || *sig == 0) {
        return config_error(v->origin, "init.stop_signal", "unknown signal `" + v->text + "`",
                            "a signal name (SIGPWR, TERM, RTMIN+3) or number 1..64");
      }
      g_->stop_signal = *sig;
    }
    if (auto v = get("init.stop_timeout")) {
      auto n = parse_uint(v->text, 1, 3600, "init.stop_timeout");
      if (!n) {
        return config_error(v->origin, "init.stop_timeout", "`" + v->text + "` is out of range",
                            "seconds, 1..3600");
      }
      g_->stop_timeout = static_cast<unsigned>(*n);
    }
    if (auto v = get("init.depends")) {
      for (const auto& w : v->words) {
        if (auto r = validate_guest_name(w); !r) {
          return config_error(v->origin, "init.depends", "bad guest name `" + w + "`",
                              "names of other guests");
        }
      }
      g_->depends = v->words;
    }
    if (auto v = get("init.mark")) {
      if (auto r = validate_guest_name(v->text); !r) {
        return config_error(v->origin, "init.mark", "bad mark `" + r.error().subject + "`",
                            "1 to 63 letters, digits and '-'");
      }
      g_->mark = v->text;
    }
    for (const char* s : {"pre-start", "post-start", "pre-stop", "post-stop"}) {
      if (auto v = get(std::string("scripts.") + s)) {
        if (!is_clean_abs_path(v->text)) {
          return config_error(v->origin, std::string("scripts.") + s,
                              "`" + v->text + "` is not a clean absolute path",
                              "an absolute path without '..'");
        }
        g_->scripts[s] = v->text;
      }
    }
    if (auto v = get("build.method")) {
      static const char* kMethods[] = {"skeleton", "busybox",     "clone",
                                       "template", "debootstrap", "host"};
      if (std::find(std::begin(kMethods), std::end(kMethods), v->text) == std::end(kMethods)) {
        return config_error(v->origin, "build.method", "unknown method `" + v->text + "`",
                            "skeleton, busybox, clone, template, debootstrap or host");
      }
      g_->build_method = v->text;
    }
    if (auto v = get("build.source")) g_->build_source = v->text;
    return ok();
  }

 private:
  const RawValue* get(const std::string& key) const {
    auto it = raw_.find(key);
    return it == raw_.end() ? nullptr : &it->second;
  }

  Result<void> interfaces() {
    for (size_t i = 0;; ++i) {
      std::string p = "interfaces." + std::to_string(i) + ".";
      const RawValue* addr = get(p + "address");
      if (!addr) break;
      Interface itf;
      auto has_prefix = parse_interface_address(addr->text, &itf);
      if (!has_prefix) {
        return config_error(addr->origin, p + "address", has_prefix.error().detail,
                            "IPv4 a.b.c.d or IPv6, optionally /PREFIX");
      }
      if (!*has_prefix) itf.prefix = itf.family == AF_INET ? 32 : 128;
      if (const RawValue* v = get(p + "prefix")) {
        if (*has_prefix) {
          return config_error(v->origin, p + "prefix", "the address already has a prefix",
                              "the prefix in one place");
        }
        unsigned max = itf.family == AF_INET ? 32 : 128;
        auto n = parse_uint_line(v->text, 0, max, "prefix");
        if (!n) {
          return config_error(v->origin, p + "prefix", "`" + v->text + "` is not a prefix",
                              "0.." + std::to_string(max));
        }
        itf.prefix = static_cast<unsigned>(*n);
      }
      if (const RawValue* v = get(p + "dev")) itf.dev = v->text;
      if (const RawValue* v = get(p + "name")) itf.name = v->text;
      if (const RawValue* v = get(p + "nodev")) itf.nodev = v->text == "true";
      if (const RawValue* v = get(p + "mode")) {
        if (v->text == "shared") itf.mode = NetMode::kShared;
        else if (v->text == "isolated") itf.mode = NetMode::kIsolated;
        else return config_error(v->origin, p + "mode", "unknown mode `" + v->text + "`",
                                 "shared or isolated");
      }
      if (auto r = isolated_keys(p, &itf); !r) return r;
      for (const std::string* s : {&itf.dev, &itf.name}) {
        if (s->size() > 15 || s->find_first_of("/ \t\n:") != std::string::npos) {
          return config_error(addr->origin, p + (s == &itf.dev ? "dev" : "name"),
                              "`" + *s + "` is not an interface name",
                              "at most 15 characters, no '/', ':' or blanks");
        }
      }
      g_->interfaces.push_back(std::move(itf));
    }
    return ok();
  }

  // gateway and nat: isolated mode only; the gateway a unicast address of the interface's
  // family without a prefix, NAT for IPv4 only.
  Result<void> isolated_keys(const std::string& p, Interface* itf) {
    const RawValue* gw = get(p + "gateway");
    const RawValue* nat = get(p + "nat");
    for (const RawValue* v : {gw, nat}) {
      if (v && itf->mode != NetMode::kIsolated) {
        return config_error(v->origin, p + (v == gw ? "gateway" : "nat"),
                            "only an isolated interface has one",
                            "mode = \"isolated\" in the same [[interfaces]]");
      }
    }
    if (gw) {
      Interface parsed;
      auto has_prefix = parse_interface_address(gw->text, &parsed);
      if (!has_prefix || *has_prefix) {
        return config_error(gw->origin, p + "gateway",
                            has_prefix ? "`" + gw->text + "` has a prefix"
                                       : has_prefix.error().detail,
                            "a unicast IPv4 or IPv6 address without /PREFIX");
      }
      if (parsed.family != itf->family) {
        return config_error(gw->origin, p + "gateway",
                            "`" + gw->text + "` is not of the family of `" + itf->address + "`",
                            parsed.family == AF_INET ? "an IPv6 gateway for an IPv6 address"
                                                     : "an IPv4 gateway for an IPv4 address");
      }
      itf->gateway = parsed.address;
    }
    if (nat) {
      if (itf->family != AF_INET && nat->text == "true") {
        return config_error(nat->origin, p + "nat", "NAT is for IPv4 (IPv6 is not masqueraded)",
                            "nat on an IPv4 address");
      }
      itf->nat = nat->text == "true";
    }
    return ok();
  }

  Result<void> capabilities() {
    const RawValue* add = get("capabilities.add");
    const RawValue* drop = get("capabilities.drop");
    std::string list;
    if (add) list = join(add->words);
    if (drop) {
      if (!list.empty() && !drop->words.empty()) list += ',';
      list += join(drop->words, "~");
    }
    auto bcaps = shim::apply_cap_changes(shim::default_guest_bcaps(), list);
    if (!bcaps) {
      const RawValue* v = add ? add : drop;
      return config_error(v->origin, add ? "capabilities.add" : "capabilities.drop",
                          shim_reason(bcaps.error()));
    }
    g_->bcaps = *bcaps;
    g_->bcap_changes = list;
    if (const RawValue* v = get("capabilities.ccaps")) {
      auto c = shim::normalize_ccaps("", join(v->words));
      if (!c) return config_error(v->origin, "capabilities.ccaps", shim_reason(c.error()));
      g_->ccaps = *c;
      g_->bcaps |= shim::ccaps_grant(*c);
    }
    return ok();
  }

  Result<void> rlimits() {
    for (const auto& [k, v] : raw_) {
      if (!k.starts_with("rlimits.")) continue;
      std::string rest = k.substr(8);
      auto dot = rest.find('.');
      std::string name = rest.substr(0, dot);
      auto scope = dot == std::string::npos     ? shim::RlimitScope::kBoth
                   : rest.substr(dot + 1) == "soft" ? shim::RlimitScope::kSoft
                                                    : shim::RlimitScope::kHard;
      auto res = shim::parse_rlimit_name(name);
      if (!res) return config_error(v.origin, k, shim_reason(res.error()));
      shim::Rlimit base = g_->rlimits.count(*res) ? g_->rlimits[*res] : shim::Rlimit{};
      if (scope == shim::RlimitScope::kBoth && v.text.find(':') != std::string::npos) {
        auto pair = shim::parse_rlimit_pair(*res, v.text);
        if (!pair) return config_error(v.origin, k, shim_reason(pair.error()));
        g_->rlimits[*res] = *pair;
        continue;
      }
      auto value = shim::parse_rlimit_value(*res, v.text);
      if (!value) return config_error(v.origin, k, shim_reason(value.error()));
      auto merged = shim::merge_rlimit(*res, base, *value, scope);
      if (!merged) return config_error(v.origin, k, shim_reason(merged.error()));
      g_->rlimits[*res] = *merged;
    }
    return ok();
  }

  Result<void> limits() {
    struct Num {
      const char* key;
      std::optional<uint64_t> shim::CgroupLimits::*field;
      bool size;
    };
    static const Num kNums[] = {{"memory", &shim::CgroupLimits::memory, true},
                                {"memsw", &shim::CgroupLimits::memsw, true},
                                {"pids", &shim::CgroupLimits::pids, false},
                                {"cpu_shares", &shim::CgroupLimits::cpu_shares, false},
                                {"cpu_quota_us", &shim::CgroupLimits::cpu_quota_us, false},
                                {"cpu_period_us", &shim::CgroupLimits::cpu_period_us, false}};
    const RawValue* last = nullptr;
    std::string last_key;
    for (const auto& n : kNums) {
      std::string key = std::string("limits.") + n.key;
      const RawValue* v = get(key);
      if (!v) continue;
      last = v;
      last_key = key;
      Result<uint64_t> value = n.size || v->text == "max" || v->text == "inf" ||
                                       v->text == "unlimited"
                                   ? shim::parse_size_or_max(v->text, key)
                                   : parse_uint(v->text, 0, UINT64_MAX - 1, key);
      if (!value) return config_error(v->origin, key, shim_reason(value.error()));
      g_->limits.*(n.field) = *value;
    }
    for (const char* f : {"cpuset_cpus", "cpuset_mems"}) {
      std::string key = std::string("limits.") + f;
      if (const RawValue* v = get(key)) {
        (f[7] == 'c' ? g_->limits.cpuset_cpus : g_->limits.cpuset_mems) = v->text;
        last = v;
        last_key = key;
      }
    }
    if (last) {
      if (auto r = shim::validate_cgroup_limits(g_->limits); !r) {
        return config_error(last->origin, last_key, shim_reason(r.error()));
      }
    }
    return ok();
  }

  Result<void> seccomp() {
    if (const RawValue* v = get("seccomp.profile")) {
      if (v->text != "default" && v->text != "none") {
        return config_error(v->origin, "seccomp.profile", "unknown profile `" + v->text + "`",
                            "default or none");
      }
      g_->seccomp.enabled = v->text == "default";
    }
    const RawValue* allow = get("seccomp.allow");
    const RawValue* deny = get("seccomp.deny");
    if (!allow && !deny) return ok();
    std::string list = allow ? join(allow->words) : "";
    if (deny && !deny->words.empty()) {
      if (!list.empty()) list += ',';
      list += join(deny->words, "-");
    }
    auto spec = shim::parse_seccomp_changes(list);
    if (!spec) {
      const RawValue* v = allow ? allow : deny;
      return config_error(v->origin, allow ? "seccomp.allow" : "seccomp.deny",
                          shim_reason(spec.error()));
    }
    g_->seccomp.allow = spec->allow;
    g_->seccomp.deny = spec->deny;
    return ok();
  }

  const RawConfig& raw_;
  GuestConfig* g_;
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
  if (auto r = Builder(raw, &g).run(roots); !r) return std::move(r).error();
  return g;
}

Result<void> validate_guests(const std::vector<GuestConfig>& guests, const ConfigRoots& roots) {
  std::string base = std::filesystem::path(roots.vdirbase).lexically_normal().string();
  if (base.size() > 1 && base.back() == '/') base.pop_back();
  for (size_t i = 0; i < guests.size(); ++i) {
    const GuestConfig& a = guests[i];
    if (a.vdir == base || !inside_or_equal(a.vdir, base)) {
      return config_error(origin_of(a, "vdir", roots), "vdir",
                          "`" + a.vdir + "` of guest " + a.name + " is not below `" + base + "`",
                          "a directory below the vdir base");
    }
    for (size_t j = 0; j < i; ++j) {
      const GuestConfig& b = guests[j];
      auto lower = [](std::string s) {
        for (char& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
        return s;
      };
      if (lower(a.name) == lower(b.name)) {
        return config_error(Origin{roots.guest_confdir(a.name), 0}, "name",
                            "guest " + a.name + " differs from guest " + b.name + " only in case",
                            "names that differ ignoring case");
      }
      if (a.xid && b.xid && *a.xid == *b.xid) {
        return config_error(origin_of(a, "context", roots), "context",
                            "context " + a.xid->str() + " is also the context of guest " + b.name +
                                " (`" + format_origin(origin_of(b, "context", roots)) + "`)",
                            "a context id no other guest has");
      }
      for (size_t ia = 0; ia < a.interfaces.size(); ++ia) {
        for (size_t ib = 0; ib < b.interfaces.size(); ++ib) {
          if (a.interfaces[ia].address != b.interfaces[ib].address) continue;
          std::string ka = "interfaces." + std::to_string(ia) + ".address";
          std::string kb = "interfaces." + std::to_string(ib) + ".address";
          return config_error(origin_of(a, ka, roots), ka,
                              "address " + a.interfaces[ia].address +
                                  " is also an address of guest " + b.name + " (`" +
                                  format_origin(origin_of(b, kb, roots)) + "`)",
                              "an address no other guest has");
        }
      }
      if (inside_or_equal(a.vdir, b.vdir) || inside_or_equal(b.vdir, a.vdir)) {
        return config_error(origin_of(a, "vdir", roots), "vdir",
                            "`" + a.vdir + "` of guest " + a.name + " overlaps `" + b.vdir +
                                "` of guest " + b.name + " (`" +
                                format_origin(origin_of(b, "vdir", roots)) + "`)",
                            "vdirs that are neither equal nor inside one another");
      }
    }
  }
  return ok();
}

}  // namespace vs
