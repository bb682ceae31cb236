// The table of every configuration key (schema.h). Values are checked with the shim's parsers,
// so the words and the messages are the tools' own. Keys are in the order `vserver NAME
// config` prints them.
#include "lib/config/schema.h"

#include <sys/socket.h>

#include <filesystem>
#include <type_traits>

#include "kernel-shim/caps.h"
#include "kernel-shim/flags.h"
#include "kernel-shim/limits.h"
#include "kernel-shim/ns.h"
#include "kernel-shim/seccomp.h"
#include "kernel-shim/xid.h"
#include "lib/base/parse.h"

namespace vs {

namespace {

using shim::CgroupLimits;
using C = ClassicKind;
using T = ValueType;

constexpr std::string_view kCleanPath = "an absolute path without '..'";
constexpr std::string_view kGuestNameRule = "1 to 63 letters, digits and '-'";
constexpr std::string_view kRefusedUts =
    "cannot be set on a stock kernel (only nodename, domainname)";
constexpr std::string_view kIfName = "at most 15 characters, no '/', ':' or blanks";
constexpr std::string_view kIsolatedOnly = "mode = \"isolated\" in the same [[interfaces]]";

std::string join(const std::vector<std::string>& words, std::string_view prefix = {},
                 std::string_view sep = ",") {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) out += sep;
    out += prefix;
    out += w;
  }
  return out;
}

bool is_guest_name(std::string_view s) { return static_cast<bool>(validate_guest_name(s)); }
bool is_uts_field(std::string_view s) { return !s.empty() && s.size() <= 64; }
bool is_ifname(std::string_view s) {
  return s.size() <= 15 && s.find_first_of("/ \t\n:") == std::string_view::npos;
}
bool is_stop_signal(std::string_view s) {
  auto sig = parse_signal(s);
  return sig && *sig != 0;
}

const NameSet kRlimitNames = {
    "unknown rlimit",
    [](std::string_view n) { return static_cast<bool>(shim::parse_rlimit_name(n)); },
    shim::rlimit_names,
};

// --- Fields set and shown as they are -------------------------------------------------------

template <auto Field>
Result<void> set_text(const Setting& s) {
  s.guest.*Field = s.text();
  return ok();
}
template <auto Field>
Result<void> set_words(const Setting& s) {
  s.guest.*Field = s.words();
  return ok();
}
template <auto Field>
void show_text(const GuestConfig& g, ConfigLines& out) {  // an optional: shown when set
  if (g.*Field) out.text(*(g.*Field));
}
template <auto Field>
void show_set(const GuestConfig& g, ConfigLines& out) {  // a string: shown when not empty
  if (!(g.*Field).empty()) out.text(g.*Field);
}
template <auto Field>
void show_always(const GuestConfig& g, ConfigLines& out) {
  out.text(std::string(g.*Field));
}

// --- interfaces.N.* --------------------------------------------------------------------------

const Interface& interface_of(const GuestConfig& g, const ConfigLines& out) {
  return g.interfaces[out.index()];
}
template <auto Field>
Result<void> set_itf_text(const Setting& s) {
  s.interface().*Field = s.text();
  return ok();
}
template <auto Field>
void show_itf_text(const GuestConfig& g, ConfigLines& out) {
  const std::string& v = interface_of(g, out).*Field;
  if (!v.empty()) out.text(v);
}

Result<void> apply_address(const Setting& s) {
  Interface itf;
  auto has_prefix = parse_interface_address(s.text(), &itf);
  if (!has_prefix) return s.error(has_prefix.error().detail);
  if (!*has_prefix) itf.prefix = itf.family == AF_INET ? 32 : 128;
  s.guest.interfaces.push_back(std::move(itf));  // N in order from 0 (build_guest checks)
  return ok();
}

Result<void> apply_prefix(const Setting& s) {
  Interface& itf = s.interface();
  if (const RawValue* a = s.sibling("address"); a && a->text.find('/') != std::string::npos) {
    return s.error("the address already has a prefix", "the prefix in one place");
  }
  unsigned max = itf.family == AF_INET ? 32 : 128;
  auto n = parse_uint_line(s.text(), 0, max, "prefix");
  if (!n) return s.error("`" + s.text() + "` is not a prefix", "0.." + std::to_string(max));
  itf.prefix = static_cast<unsigned>(*n);
  return ok();
}

// The gateway: isolated mode only, a unicast address of the interface's family, no prefix.
Result<void> apply_gateway(const Setting& s) {
  Interface& itf = s.interface();
  if (itf.mode != NetMode::kIsolated) {
    return s.error("only an isolated interface has one", std::string(kIsolatedOnly));
  }
  Interface gw;
  auto has_prefix = parse_interface_address(s.text(), &gw);
  if (!has_prefix) return s.error(has_prefix.error().detail);
  if (*has_prefix) return s.error("`" + s.text() + "` has a prefix");
  if (gw.family != itf.family) {
    return s.error("`" + s.text() + "` is not of the family of `" + itf.address + "`",
                   gw.family == AF_INET ? "an IPv6 gateway for an IPv6 address"
                                        : "an IPv4 gateway for an IPv4 address");
  }
  itf.gateway = gw.address;
  return ok();
}

// NAT: IPv4 only (isolated: the guest's eth0 masqueraded; shared: the address).
Result<void> apply_nat(const Setting& s) {
  Interface& itf = s.interface();
  bool on = s.text() == "true";
  if (itf.family != AF_INET && on) {
    return s.error("NAT is for IPv4 (IPv6 is not masqueraded)", "nat on an IPv4 address");
  }
  itf.nat = on;
  return ok();
}

// --- capabilities, flags, namespaces ---------------------------------------------------------

// add (over the default bounding set), then drop (`removal` "~", over the set add made), as
// one change list "NET_ADMIN,~CHOWN".
Result<void> apply_cap_changes(const Setting& s, shim::CapMask base, std::string_view removal) {
  std::string list = join(s.words(), removal);
  auto bcaps = shim::apply_cap_changes(base, list);
  if (!bcaps) return s.shim_error(bcaps.error());
  s.guest.bcaps = *bcaps;
  std::string& changes = s.guest.bcap_changes;
  if (!changes.empty() && !list.empty()) changes += ',';
  changes += list;
  return ok();
}

Result<void> apply_ccaps(const Setting& s) {
  auto c = shim::normalize_ccaps("", join(s.words()));
  if (!c) return s.shim_error(c.error());
  s.guest.ccaps = *c;
  s.guest.bcaps |= shim::ccaps_grant(*c);
  return ok();
}

Result<void> apply_flags(const Setting& s) {
  auto f = shim::apply_flag_changes("", join(s.words()), s.guest.namespaces);
  if (!f) return s.shim_error(f.error());
  s.guest.flags = *f;
  return ok();
}

Result<void> apply_namespaces(const Setting& s) {
  auto ns = shim::parse_ns_list(join(s.words()));
  if (!ns) return s.shim_error(ns.error());
  s.guest.namespaces = *ns;
  return ok();
}

// --- rlimits.NAME[.hard|.soft], limits.* -----------------------------------------------------

template <shim::RlimitScope kScope>
Result<void> apply_rlimit(const Setting& s) {
  auto res = shim::parse_rlimit_name(s.name);
  if (!res) return s.shim_error(res.error());
  shim::RlimitSet& set = s.guest.rlimits;
  if (kScope == shim::RlimitScope::kBoth && s.text().find(':') != std::string::npos) {
    auto pair = shim::parse_rlimit_pair(*res, s.text());
    if (!pair) return s.shim_error(pair.error());
    set[*res] = *pair;
    return ok();
  }
  auto value = shim::parse_rlimit_value(*res, s.text());
  if (!value) return s.shim_error(value.error());
  shim::Rlimit base = set.count(*res) ? set[*res] : shim::Rlimit{};
  auto merged = shim::merge_rlimit(*res, base, *value, kScope);
  if (!merged) return s.shim_error(merged.error());
  set[*res] = *merged;
  return ok();
}

void show_rlimits(const GuestConfig& g, ConfigLines& out) {
  for (const auto& [res, lim] : g.rlimits) {
    out.text("rlimits." + shim::rlimit_name(res), shim::format_rlimit_pair(lim));
  }
}

// The cgroup limits are checked together after each one, so that a combination the shim
// refuses (memsw below memory) is named at the key that made it.
Result<void> check_limits(const Setting& s) {
  if (auto r = shim::validate_cgroup_limits(s.guest.limits); !r) return s.shim_error(r.error());
  return ok();
}

// A number of bytes ("64M") when kSize, else a plain integer; "max" either way.
template <auto Field, bool kSize>
Result<void> apply_limit(const Setting& s) {
  const std::string& v = s.text();
  Result<uint64_t> value = kSize || v == "max" || v == "inf" || v == "unlimited"
                               ? shim::parse_size_or_max(v, s.key)
                               : parse_uint(v, 0, UINT64_MAX - 1, s.key);
  if (!value) return s.shim_error(value.error());
  s.guest.limits.*Field = *value;
  return check_limits(s);
}
template <auto Field>
Result<void> apply_cpuset(const Setting& s) {
  s.guest.limits.*Field = s.text();
  return check_limits(s);
}

template <auto Field>
void show_limit(const GuestConfig& g, ConfigLines& out) {
  const auto& v = g.limits.*Field;
  if (!v) return;
  if constexpr (std::is_same_v<std::decay_t<decltype(*v)>, std::string>) {
    out.text(*v);
  } else if (*v == shim::kNoLimit) {
    out.text("max");
  } else {
    out.number(*v);
  }
}

// --- seccomp, init, scripts ------------------------------------------------------------------

// allow, then deny (`denial` "-"), as one change list ("keyctl,-ptrace"): a syscall in both
// is an error.
Result<void> apply_seccomp(const Setting& s, std::string_view denial) {
  std::string list = shim::format_seccomp_changes(s.guest.seccomp);
  if (!list.empty() && !s.words().empty()) list += ',';
  list += join(s.words(), denial);
  auto spec = shim::parse_seccomp_changes(list);
  if (!spec) return s.shim_error(spec.error());
  s.guest.seccomp.allow = spec->allow;
  s.guest.seccomp.deny = spec->deny;
  return ok();
}

Result<void> apply_init_command(const Setting& s) {
  const auto& w = s.words();
  if (w.empty() || w[0].empty() || w[0][0] != '/') {
    return s.error("the program must be an absolute path");
  }
  s.guest.init_command = w;
  return ok();
}

std::string_view last_segment(std::string_view key) { return key.substr(key.rfind('.') + 1); }

Result<void> set_script(const Setting& s) {
  s.guest.scripts[std::string(last_segment(s.key))] = s.text();
  return ok();
}
void show_script(const GuestConfig& g, ConfigLines& out) {
  auto it = g.scripts.find(std::string(last_segment(out.key())));
  if (it != g.scripts.end()) out.text(it->second);
}

// A pattern key's entries, too long for one line of the table otherwise.
KeySpec script(std::string_view key, std::string_view file) {
  return {.key = key,
          .type = T::kPath,
          .doc = kCleanPath,
          .classic = {file, C::kPath},
          .apply = set_script,
          .format = show_script};
}
KeySpec refused_uts(std::string_view key, std::string_view file) {
  return {.key = key, .type = T::kRefused, .doc = kRefusedUts, .classic = {file, C::kLine}};
}

}  // namespace

// The table is packed by hand: the fields of a key read together (clang-format would give each
// its own line).
// clang-format off
const std::vector<KeySpec>& config_schema() {
  static const std::vector<KeySpec> kTable = {
      // Shown as `name` (the directory's) and `label` (this key's value).
      {.key = "name", .doc = kGuestNameRule, .bad = "invalid name `{}`", .check = is_guest_name,
       .from_defaults = false, .classic = {"name", C::kLine},
       .apply = set_text<&GuestConfig::label>,
       .format = [](const GuestConfig& g, ConfigLines& out) {
         out.text(g.name);
         if (g.label) out.text("label", *g.label);
       }},
      {.key = "context", .type = T::kInt,
       .doc = "an integer 2..49151; leave it out for a dynamic one",
       .bad = "`{}` is not a static context id",
       .min = shim::Xid::kStaticMin, .max = shim::Xid::kStaticMax,
       .from_defaults = false, .classic = {"context", C::kLine},
       .apply = [](const Setting& s) -> Result<void> {
         s.guest.xid = shim::Xid(static_cast<uint16_t>(s.number));
         return ok();
       },
       .format = [](const GuestConfig& g, ConfigLines& out) {
         if (g.xid) {
           out.raw(g.xid->str());
         } else {
           out.text("dynamic");
         }
       }},
      {.key = "uts.nodename", .doc = "1 to 64 characters", .bad = "bad length",
       .check = is_uts_field, .classic = {"uts/nodename", C::kLine},
       .apply = set_text<&GuestConfig::nodename>, .format = show_text<&GuestConfig::nodename>},
      {.key = "uts.domainname", .doc = "1 to 64 characters", .bad = "bad length",
       .check = is_uts_field, .classic = {"uts/domainname", C::kLine},
       .apply = set_text<&GuestConfig::domainname>,
       .format = show_text<&GuestConfig::domainname>},
      refused_uts("uts.sysname", "uts/sysname"),
      refused_uts("uts.release", "uts/release"),
      refused_uts("uts.version", "uts/version"),
      refused_uts("uts.machine", "uts/machine"),
      // A classic `vdir` is a symlink whose target is read as text, relative to the directory.
      {.key = "vdir", .type = T::kPath, .doc = kCleanPath, .from_defaults = false,
       .classic = {"vdir", C::kLink},
       .apply = [](const Setting& s) -> Result<void> {
         std::string v = std::filesystem::path(s.text()).lexically_normal().string();
         if (v.size() > 1 && v.back() == '/') v.pop_back();
         s.guest.vdir = std::move(v);
         return ok();
       },
       .absent = [](GuestConfig& g, const ConfigRoots& r) { g.vdir = r.default_vdir(g.name); },
       .format = show_always<&GuestConfig::vdir>},
      {.key = "interfaces.N.address", .doc = "IPv4 a.b.c.d or IPv6, optionally /PREFIX",
       .required = true, .from_defaults = false, .unit = "interfaces",
       .classic = {"interfaces/N/ip", C::kLine}, .apply = apply_address,
       .format = show_itf_text<&Interface::address>},
      {.key = "interfaces.N.prefix", .type = T::kInt, .doc = "0..32 for IPv4, 0..128 for IPv6",
       .from_defaults = false, .unit = "interfaces",
       .classic = {"interfaces/N/prefix", C::kLine}, .apply = apply_prefix,
       .format = [](const GuestConfig& g, ConfigLines& out) {
         out.number(interface_of(g, out).prefix);
       }},
      {.key = "interfaces.N.dev", .doc = kIfName, .bad = "`{}` is not an interface name",
       .check = is_ifname, .from_defaults = false, .unit = "interfaces",
       .classic = {"interfaces/N/dev", C::kLine}, .apply = set_itf_text<&Interface::dev>,
       .format = show_itf_text<&Interface::dev>},
      {.key = "interfaces.N.name", .doc = kIfName, .bad = "`{}` is not an interface name",
       .check = is_ifname, .from_defaults = false, .unit = "interfaces",
       .classic = {"interfaces/N/name", C::kLine}, .apply = set_itf_text<&Interface::name>,
       .format = show_itf_text<&Interface::name>},
      {.key = "interfaces.N.mode", .type = T::kEnum, .values = {"shared", "isolated"},
       .from_defaults = false, .unit = "interfaces",
       .apply = [](const Setting& s) -> Result<void> {
         s.interface().mode = s.text() == "isolated" ? NetMode::kIsolated : NetMode::kShared;
         return ok();
       },
       .format = [](const GuestConfig& g, ConfigLines& out) {
         out.text(std::string(net_mode_name(interface_of(g, out).mode)));
       }},
      {.key = "interfaces.N.nodev", .type = T::kBool, .doc = "true or false",
       .from_defaults = false, .unit = "interfaces",
       .classic = {"interfaces/N/nodev", C::kPresent},
       .apply = [](const Setting& s) -> Result<void> {
         s.interface().nodev = s.text() == "true";
         return ok();
       },
       .format = [](const GuestConfig& g, ConfigLines& out) {
         out.boolean(interface_of(g, out).nodev);
       }},
      {.key = "interfaces.N.gateway", .doc = "a unicast IPv4 or IPv6 address without /PREFIX",
       .from_defaults = false, .unit = "interfaces", .needs = "interfaces.N.mode",
       .apply = apply_gateway, .format = show_itf_text<&Interface::gateway>},
      {.key = "interfaces.N.nat", .type = T::kBool, .doc = "true or false",
       .from_defaults = false, .unit = "interfaces", .needs = "interfaces.N.mode",
       .apply = apply_nat,
       .format = [](const GuestConfig& g, ConfigLines& out) {
         if (interface_of(g, out).nat) out.boolean(*interface_of(g, out).nat);
       }},
      // add and drop change the default bounding set; shown together as capabilities.bcaps.
      {.key = "capabilities.add", .type = T::kWords, .doc = "names from capabilities(7)",
       .unit = "capabilities.bcaps", .classic = {"bcapabilities", C::kWords},
       .apply = [](const Setting& s) {
         return apply_cap_changes(s, shim::default_guest_bcaps(), "");
       },
       .absent = [](GuestConfig& g, const ConfigRoots&) { g.bcaps = shim::default_guest_bcaps(); },
       .format = [](const GuestConfig& g, ConfigLines& out) {
         out.text("capabilities.bcaps", shim::format_caps(g.bcaps));
       }},
      {.key = "capabilities.drop", .type = T::kWords, .doc = "names from capabilities(7)",
       .unit = "capabilities.bcaps", .needs = "capabilities.add",
       .apply = [](const Setting& s) { return apply_cap_changes(s, s.guest.bcaps, "~"); }},
      // The bounding bits the context capabilities grant are added to the changed set.
      {.key = "capabilities.ccaps", .type = T::kWords, .doc = "context capabilities",
       .needs = "capabilities.drop", .classic = {"ccapabilities", C::kWords},
       .apply = apply_ccaps, .format = show_always<&GuestConfig::ccaps>},
      {.key = "flags", .type = T::kWords, .doc = "context flags as vattribute takes them",
       .needs = "namespaces", .classic = {"flags", C::kWords},  // a flag may need a namespace
       .apply = apply_flags, .format = show_always<&GuestConfig::flags>},
      {.key = "namespaces", .type = T::kWords, .doc = "of mnt pid uts ipc net cgroup user time",
       .apply = apply_namespaces,
       .absent = [](GuestConfig& g, const ConfigRoots&) {
         g.namespaces = shim::default_namespaces();
       },
       .format = [](const GuestConfig& g, ConfigLines& out) {
         out.text(shim::format_ns_list(g.namespaces));
       }},
      // Shows every rlimit as "SOFT:HARD".
      {.key = "rlimits.NAME", .type = T::kIntOrString,
       .doc = "a limit as vlimit takes it, or \"SOFT:HARD\"", .names = &kRlimitNames,
       .unit = "rlimits.NAME", .classic = {"rlimits/NAME", C::kLine},
       .apply = apply_rlimit<shim::RlimitScope::kBoth>, .format = show_rlimits},
      // The hard limit before the soft one: an unset soft limit follows a lowered hard one.
      {.key = "rlimits.NAME.hard", .type = T::kIntOrString, .doc = "a limit as vlimit takes it",
       .names = &kRlimitNames, .unit = "rlimits.NAME",
       .classic = {"rlimits/NAME.hard", C::kLine},
       .apply = apply_rlimit<shim::RlimitScope::kHard>},
      {.key = "rlimits.NAME.soft", .type = T::kIntOrString, .doc = "a limit as vlimit takes it",
       .names = &kRlimitNames, .unit = "rlimits.NAME", .needs = "rlimits.NAME.hard",
       .classic = {"rlimits/NAME.soft", C::kLine},
       .apply = apply_rlimit<shim::RlimitScope::kSoft>},
      {.key = "limits.memory", .type = T::kIntOrString, .doc = "bytes, \"64M\" or \"max\"",
       .classic = {"cgroup/memory.limit_in_bytes", C::kLine},
       .apply = apply_limit<&CgroupLimits::memory, true>,
       .format = show_limit<&CgroupLimits::memory>},
      {.key = "limits.memsw", .type = T::kIntOrString, .doc = "bytes, \"128M\" or \"max\"",
       .classic = {"cgroup/memory.memsw.limit_in_bytes", C::kLine},
       .apply = apply_limit<&CgroupLimits::memsw, true>,
       .format = show_limit<&CgroupLimits::memsw>},
      {.key = "limits.pids", .type = T::kIntOrString, .doc = "an integer or \"max\"",
       .classic = {"cgroup/pids.max", C::kLine},
       .apply = apply_limit<&CgroupLimits::pids, false>,
       .format = show_limit<&CgroupLimits::pids>},
      {.key = "limits.cpu_shares", .type = T::kIntOrString, .doc = "an integer 2..262144",
       .classic = {"cgroup/cpu.shares", C::kLine},
       .apply = apply_limit<&CgroupLimits::cpu_shares, false>,
       .format = show_limit<&CgroupLimits::cpu_shares>},
      {.key = "limits.cpu_quota_us", .type = T::kIntOrString,
       .doc = "microseconds per period, or \"max\"",
       .classic = {"cgroup/cpu.cfs_quota_us", C::kLine},
       .apply = apply_limit<&CgroupLimits::cpu_quota_us, false>,
       .format = show_limit<&CgroupLimits::cpu_quota_us>},
      {.key = "limits.cpu_period_us", .type = T::kIntOrString,
       .doc = "microseconds, 1000..1000000",
       .classic = {"cgroup/cpu.cfs_period_us", C::kLine},
       .apply = apply_limit<&CgroupLimits::cpu_period_us, false>,
       .format = show_limit<&CgroupLimits::cpu_period_us>},
      {.key = "limits.cpuset_cpus", .doc = "a cpu list such as \"0-2,4\"",
       .classic = {"cgroup/cpuset.cpus", C::kLine},
       .apply = apply_cpuset<&CgroupLimits::cpuset_cpus>,
       .format = show_limit<&CgroupLimits::cpuset_cpus>},
      {.key = "limits.cpuset_mems", .doc = "a memory node list such as \"0\"",
       .classic = {"cgroup/cpuset.mems", C::kLine},
       .apply = apply_cpuset<&CgroupLimits::cpuset_mems>,
       .format = show_limit<&CgroupLimits::cpuset_mems>},
      {.key = "seccomp.profile", .type = T::kEnum, .values = {"default", "none"},
       .apply = [](const Setting& s) -> Result<void> {
         s.guest.seccomp.enabled = s.text() == "default";
         return ok();
       },
       .format = [](const GuestConfig& g, ConfigLines& out) {
         out.text(g.seccomp.enabled ? "default" : "none");
       }},
      // allow and deny are shown together as seccomp.changes ("keyctl,-ptrace").
      {.key = "seccomp.allow", .type = T::kWords, .doc = "syscall names",
       .apply = [](const Setting& s) { return apply_seccomp(s, ""); },
       .format = [](const GuestConfig& g, ConfigLines& out) {
         std::string changes = shim::format_seccomp_changes(g.seccomp);
         if (!changes.empty()) out.text("seccomp.changes", changes);
       }},
      {.key = "seccomp.deny", .type = T::kWords, .doc = "syscall names",
       .needs = "seccomp.allow", .apply = [](const Setting& s) { return apply_seccomp(s, "-"); }},
      {.key = "init.style", .type = T::kEnum, .values = {"plain", "sysv", "minit"},
       .classic = {"apps/init/style", C::kLine},
       .apply = [](const Setting& s) -> Result<void> {
         s.guest.init_style = s.text() == "sysv"    ? InitStyle::kSysv
                              : s.text() == "minit" ? InitStyle::kMinit
                                                    : InitStyle::kPlain;
         return ok();
       },
       .format = [](const GuestConfig& g, ConfigLines& out) {
         out.text(std::string(init_style_name(g.init_style)));
       }},
      {.key = "init.mark", .doc = kGuestNameRule, .bad = "bad mark `{}`",
       .check = is_guest_name, .classic = {"apps/init/mark", C::kLine},
       .apply = set_text<&GuestConfig::mark>, .format = show_set<&GuestConfig::mark>},
      // Shown as the command init runs: the style's default when not set.
      {.key = "init.command", .type = T::kWords,
       .doc = "a list whose first word is the absolute path of a program inside the guest",
       .apply = apply_init_command,
       .format = [](const GuestConfig& g, ConfigLines& out) {
         out.text(join(effective_init_command(g), "", " "));
       }},
      {.key = "init.stop_signal", .doc = "a signal name (SIGPWR, TERM, RTMIN+3) or number 1..64",
       .bad = "unknown signal `{}`", .check = is_stop_signal,
       .apply = [](const Setting& s) -> Result<void> {
         s.guest.stop_signal = *parse_signal(s.text());
         return ok();
       },
       .format = [](const GuestConfig& g, ConfigLines& out) {
         out.text(signal_name(effective_stop_signal(g)));
       }},
      {.key = "init.stop_timeout", .type = T::kInt, .doc = "seconds, 1..3600",
       .bad = "`{}` is out of range", .min = 1, .max = 3600,
       .apply = [](const Setting& s) -> Result<void> {
         s.guest.stop_timeout = static_cast<unsigned>(s.number);
         return ok();
       },
       .format = [](const GuestConfig& g, ConfigLines& out) { out.number(g.stop_timeout); }},
      {.key = "init.depends", .type = T::kWords, .doc = "names of other guests",
       .bad = "bad guest name `{}`", .check = is_guest_name,
       .apply = set_words<&GuestConfig::depends>,
       .format = [](const GuestConfig& g, ConfigLines& out) {
         if (!g.depends.empty()) out.text(join(g.depends));
       }},
      // In the order `config` has always shown them.
      script("scripts.post-start", "scripts/post-start"),
      script("scripts.post-stop", "scripts/post-stop"),
      script("scripts.pre-start", "scripts/pre-start"),
      script("scripts.pre-stop", "scripts/pre-stop"),
      {.key = "fstab", .type = T::kPath, .doc = kCleanPath, .classic = {"fstab", C::kPath},
       .apply = set_text<&GuestConfig::fstab>, .format = show_text<&GuestConfig::fstab>},
      {.key = "build.method", .type = T::kEnum,
       .values = {"skeleton", "busybox", "clone", "template", "debootstrap", "host"},
       .apply = set_text<&GuestConfig::build_method>,
       .format = show_text<&GuestConfig::build_method>},
      {.key = "build.source", .doc = "the guest, directory or archive it was built from",
       .apply = set_text<&GuestConfig::build_source>,
       .format = show_text<&GuestConfig::build_source>},
  };
  return kTable;
}
// clang-format on

const std::vector<ClassicDir>& classic_dirs() {
  static const std::vector<ClassicDir> kDirs = {
      {"uts", "uts", "unknown uts file"},
      {"rlimits", "rlimits", "unknown rlimit file"},
      {"scripts", "scripts", "unknown script"},
  };
  return kDirs;
}

}  // namespace vs
