#include "kernel-shim/context_state.h"

#include <errno.h>

#include <algorithm>
#include <set>

#include "kernel-shim/flags.h"
#include "lib/base/parse.h"

namespace vs::shim {

std::string stage_name(ContextStage s) { return s == ContextStage::kSetup ? "setup" : "running"; }

std::string unix_scope_name(UnixScopeMode m) {
  switch (m) {
    case UnixScopeMode::kBpfLsm:
      return "bpf-lsm";
    case UnixScopeMode::kLandlock:
      return "landlock";
    case UnixScopeMode::kNone:
      break;
  }
  return "";
}

CapMask Confinement::bounding() const {
  return bcaps.value_or(default_guest_bcaps()) | ccaps_grant(ccaps);
}

bool Confinement::is_private() const { return has_flag(flags, "private"); }

namespace {

// A recorded flag list, normalized (sorted, each once); a word that is not a recorded flag
// (flags.h) is a usage error.
Result<std::string> parse_recorded_flags(std::string_view list) {
  std::vector<std::string> have;
  for (std::string_view w : split_list(list)) {
    const FlagInfo* f = find_flag(w);
    if (f == nullptr || f->kind != FlagKind::kRecorded) {
      return usage_error("flags", "`" + std::string(w) + "` is not a recorded flag");
    }
    have.emplace_back(w);
  }
  std::sort(have.begin(), have.end());
  have.erase(std::unique(have.begin(), have.end()), have.end());
  std::string out;
  for (const auto& n : have) out += (out.empty() ? "" : ",") + n;
  return out;
}

std::string join_addrs(const std::vector<NetAddress>& v) {
  std::string s;
  for (const auto& a : v) s += (s.empty() ? "" : ",") + format_net_address(a);
  return s;
}

Result<std::vector<NetAddress>> parse_addrs(std::string_view list) {
  std::vector<NetAddress> out;
  for (auto w : split_list(list)) {
    auto a = parse_net_address(w);
    if (!a) return std::move(a).error();
    out.push_back(*a);
  }
  return out;
}

// "IFINDEX@ADDR/P,...": the addresses put on host devices (attr.net.hostaddr).
Result<std::vector<HostAddrRecord>> parse_host_addrs(std::string_view list) {
  std::vector<HostAddrRecord> out;
  for (auto w : split_list(list)) {
    size_t at = w.find('@');
    if (at == std::string_view::npos) return usage_error("net.hostaddr", "expected IFINDEX@ADDRESS");
    auto idx = parse_uint(w.substr(0, at), 1, INT32_MAX, "net.hostaddr");
    if (!idx) return std::move(idx).error();
    auto a = parse_net_address(w.substr(at + 1));
    if (!a) return std::move(a).error();
    out.push_back({static_cast<int>(*idx), *a});
  }
  return out;
}

// The attr.* lines of a state file, gathered while it is read and checked as a whole at the
// end (an isolated network's keys come in any order).
struct AttrReader {
  Confinement c;
  NetState net;
  bool isolated = false;
  std::optional<IsoLink> link;
  IsolatedNet iso;
  std::vector<std::string> iso_keys;  // the net.* keys of an isolated setup that were given
  bool nat = false;                   // attr.net.nat: the isolated setup's or the shared one's

  // One attr.KEY=VALUE line; a usage error says what is wrong with the value.
  Result<void> take(std::string_view key, std::string_view value) {
    if (key == "bcaps") {
      auto m = apply_cap_changes(0, value);
      if (!m) return std::move(m).error();
      c.bcaps = *m;
    } else if (key == "ccaps") {
      auto n = normalize_ccaps("", value);
      if (!n) return std::move(n).error();
      c.ccaps = *n;
    } else if (key == "flags") {
      auto f = parse_recorded_flags(value);
      if (!f) return std::move(f).error();
      c.flags = *f;
    } else if (key == "seccomp") {
      if (value != "default" && value != "none") {
        return usage_error("seccomp", "expected default or none");
      }
      c.seccomp.enabled = value == "default";
    } else if (key == "seccomp.allow" || key == "seccomp.deny") {
      auto names = parse_syscall_list(value, std::string(key));
      if (!names) return std::move(names).error();
      (key == "seccomp.allow" ? c.seccomp.allow : c.seccomp.deny) = std::move(*names);
    } else if (key.substr(0, 7) == "rlimit.") {
      auto resource = parse_rlimit_name(key.substr(7));
      if (!resource) return std::move(resource).error();
      auto limit = parse_rlimit_pair(*resource, value);
      if (!limit) return std::move(limit).error();
      c.rlimits[*resource] = *limit;
    } else if (key == "net.ip") {
      auto addrs = parse_addrs(value);
      if (!addrs) return std::move(addrs).error();
      auto bind = make_net_bind(*addrs);
      if (!bind) return std::move(bind).error();
      net.addrs = std::move(*bind);
    } else if (key == "net.hostaddr") {
      auto recs = parse_host_addrs(value);
      if (!recs) return std::move(recs).error();
      net.host_addrs = std::move(*recs);
    } else if (key == "net.nat") {
      if (value != "1") return usage_error("net.nat", "expected 1");
      nat = true;
    } else if (key == "net.mode") {
      if (value != "isolated") return usage_error("net.mode", "expected isolated");
      isolated = true;
    } else if (key.substr(0, 4) == "net.") {
      return take_isolated(key, value);
    } else {
      return usage_error(std::string(key), "unknown attribute");
    }
    return ok();
  }

  Result<void> take_isolated(std::string_view key, std::string_view value) {
    if (key == "net.link") {
      if (value != "veth" && value != "macvlan") {
        return usage_error("net.link", "expected veth or macvlan");
      }
      link = value == "veth" ? IsoLink::kVeth : IsoLink::kMacvlan;
    } else if (key == "net.if" || key == "net.bridge" || key == "net.veth") {
      if (value.empty()) return usage_error(std::string(key), "empty interface name");
      (key == "net.if" ? iso.ifname : key == "net.bridge" ? iso.device : iso.host_veth) = value;
    } else if (key == "net.gw") {
      auto addrs = parse_addrs(value);
      if (!addrs) return std::move(addrs).error();
      iso.gateways = std::move(*addrs);
    } else {
      return usage_error(std::string(key), "unknown attribute");
    }
    iso_keys.emplace_back(key);
    return ok();
  }

  // The whole: an isolated setup is complete, and only an isolated setup has its keys.
  Result<void> finish() {
    if (!isolated) {
      if (!iso_keys.empty()) {
        return usage_error("attr." + iso_keys.front(), "given without attr.net.mode=isolated");
      }
    } else {
      if (!link) return usage_error("attr.net.mode", "isolated without attr.net.link");
      iso.link = *link;
      if (iso.ifname.empty()) return usage_error("attr.net.mode", "isolated without attr.net.if");
      if (iso.device.empty()) {
        return usage_error("attr.net.mode", "isolated without attr.net.bridge");
      }
      if ((iso.link == IsoLink::kVeth) == iso.host_veth.empty()) {
        return usage_error("attr.net.veth", "recorded for a veth link, and only for one");
      }
      iso.nat = nat;
      net.isolated = std::move(iso);
      if (!net.host_addrs.empty()) {
        return usage_error("attr.net.hostaddr", "recorded for an isolated network");
      }
    }
    if (!isolated) {
      if (nat && net.addrs.empty()) {
        return usage_error("attr.net.nat", "given without attr.net.mode=isolated or attr.net.ip");
      }
      net.shared_nat = nat;
    }
    if (auto r = validate(c.seccomp); !r) {
      Error e = std::move(r).error();
      e.subject = "attr." + e.subject;
      return e;
    }
    return ok();
  }
};

}  // namespace

Result<void> check_confinement(const Confinement& c) {
  if (auto n = normalize_ccaps("", c.ccaps); !n) return std::move(n).error();
  if (auto f = parse_recorded_flags(c.flags); !f) return std::move(f).error();
  if (auto r = validate(c.seccomp); !r) return r;
  for (const auto& [resource, limit] : c.rlimits) {
    if (auto n = parse_rlimit_name(rlimit_name(resource)); !n) return std::move(n).error();
    if (limit.soft > limit.hard) {
      return usage_error(rlimit_name(resource), "soft limit " + format_rlimit_value(limit.soft) +
                                                    " is above the hard limit " +
                                                    format_rlimit_value(limit.hard));
    }
  }
  return ok();
}

std::string ContextState::serialize() const {
  std::string s;
  auto line = [&s](std::string_view key, const std::string& value) {
    s.append(key).append("=").append(value).append("\n");
  };
  line("xid", xid.str());
  line("stage", stage_name(stage));
  line("namespaces", format_ns_list(namespaces));
  line("persistent", persistent ? "1" : "0");
  line("init_pid", std::to_string(init_pid));
  line("init_start", std::to_string(init_start));
  line("creator_pid", std::to_string(creator_pid));
  line("created", std::to_string(created));
  if (!name.empty()) line("name", name);
  if (unix_scope != UnixScopeMode::kNone) line("unix_scope", unix_scope_name(unix_scope));
  for (const auto& [ns_name, ino] : ns_inodes) line("ns." + ns_name, std::to_string(ino));

  const Confinement& c = confinement;
  if (c.bcaps) line("attr.bcaps", format_caps(*c.bcaps));
  if (!c.ccaps.empty()) line("attr.ccaps", c.ccaps);
  if (!c.flags.empty()) line("attr.flags", c.flags);
  line("attr.seccomp", c.seccomp.enabled ? "default" : "none");
  if (!c.seccomp.allow.empty()) line("attr.seccomp.allow", format_syscall_list(c.seccomp.allow));
  if (!c.seccomp.deny.empty()) line("attr.seccomp.deny", format_syscall_list(c.seccomp.deny));
  for (const auto& [resource, limit] : c.rlimits) {
    line("attr." + rlimit_attr_key(resource), format_rlimit_pair(limit));
  }

  if (!net.addrs.empty()) line("attr.net.ip", join_addrs(net.addrs.all()));
  if (const auto& iso = net.isolated) {
    line("attr.net.mode", "isolated");
    line("attr.net.link", iso->link == IsoLink::kVeth ? "veth" : "macvlan");
    line("attr.net.if", iso->ifname);
    line("attr.net.bridge", iso->device);
    if (!iso->host_veth.empty()) line("attr.net.veth", iso->host_veth);
    if (!iso->gateways.empty()) line("attr.net.gw", join_addrs(iso->gateways));
    if (iso->nat) line("attr.net.nat", "1");
  } else if (net.shared_nat) {
    line("attr.net.nat", "1");
  }
  if (!net.host_addrs.empty()) {
    std::string list;
    for (const auto& h : net.host_addrs) {
      list += (list.empty() ? "" : ",") + std::to_string(h.index) + "@" + format_net_address(h.addr);
    }
    line("attr.net.hostaddr", list);
  }
  return s;
}

Result<ContextState> ContextState::parse(std::string_view text, const std::string& file) {
  ContextState st;
  AttrReader attrs;
  std::set<std::string, std::less<>> seen;
  int line_no = 0;
  while (!text.empty()) {
    ++line_no;
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty()) continue;
    size_t eq = line.find('=');
    auto bad = [&](std::string why) {
      return make_error(ErrorKind::kFailed, "parse", file + ":" + std::to_string(line_no),
                        std::move(why), EINVAL);
    };
    if (eq == std::string_view::npos) return bad("expected key=value");
    std::string_view key = line.substr(0, eq);
    std::string_view value = line.substr(eq + 1);
    if (!seen.emplace(key).second) return bad("key `" + std::string(key) + "` given twice");
    auto number = [&](uint64_t max) -> Result<uint64_t> {
      auto n = parse_uint(value, 0, max, key);
      if (!n) return bad("key `" + std::string(key) + "`: " + n.error().detail);
      return n;
    };
    if (key == "xid") {
      auto x = Xid::parse(value);
      if (!x) return bad("bad xid");
      st.xid = *x;
    } else if (key == "stage") {
      if (value == "setup") {
        st.stage = ContextStage::kSetup;
      } else if (value == "running") {
        st.stage = ContextStage::kRunning;
      } else {
        return bad("key `stage`: expected setup or running");
      }
    } else if (key == "namespaces") {
      if (!value.empty()) {
        auto ns = parse_ns_list(value);
        if (!ns) return bad("key `namespaces`: " + ns.error().detail);
        st.namespaces = *ns;
      }
    } else if (key == "persistent") {
      auto n = number(1);
      if (!n) return std::move(n).error();
      st.persistent = *n == 1;
    } else if (key == "init_pid") {
      auto n = number(4194304);
      if (!n) return std::move(n).error();
      st.init_pid = static_cast<pid_t>(*n);
    } else if (key == "init_start") {
      auto n = number(UINT64_MAX);
      if (!n) return std::move(n).error();
      st.init_start = *n;
    } else if (key == "creator_pid") {
      auto n = number(4194304);
      if (!n) return std::move(n).error();
      st.creator_pid = static_cast<pid_t>(*n);
    } else if (key == "created") {
      auto n = number(INT64_MAX);
      if (!n) return std::move(n).error();
      st.created = static_cast<int64_t>(*n);
    } else if (key == "name") {
      st.name = std::string(value);
    } else if (key == "unix_scope") {
      if (value == "bpf-lsm") {
        st.unix_scope = UnixScopeMode::kBpfLsm;
      } else if (value == "landlock") {
        st.unix_scope = UnixScopeMode::kLandlock;
      } else {
        return bad("key `unix_scope`: expected bpf-lsm or landlock");
      }
    } else if (key.substr(0, 3) == "ns." && parse_ns_list(key.substr(3))) {
      auto n = number(UINT64_MAX);
      if (!n) return std::move(n).error();
      st.ns_inodes[std::string(key.substr(3))] = *n;
    } else if (key.size() > 5 && key.substr(0, 5) == "attr.") {
      if (auto r = attrs.take(key.substr(5), value); !r) {
        return bad("key `" + std::string(key) + "`: " + r.error().detail);
      }
    } else {
      return bad("unknown key `" + std::string(key) + "`");
    }
  }
  if (!seen.count("xid")) return make_error(ErrorKind::kFailed, "parse", file, "no xid", EINVAL);
  if (auto r = attrs.finish(); !r) {
    const Error& e = r.error();
    return make_error(ErrorKind::kFailed, "parse", file, "key `" + e.subject + "`: " + e.detail,
                      EINVAL);
  }
  st.confinement = std::move(attrs.c);
  st.net = std::move(attrs.net);
  return st;
}

}  // namespace vs::shim
