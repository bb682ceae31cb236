// The effective configuration as text and as JSON (for `vserver NAME config [--json]`).
#include <string>
#include <utility>
#include <vector>

#include "kernel-shim/limits.h"
#include "kernel-shim/ns.h"
#include "kernel-shim/seccomp.h"
#include "lib/base/escape.h"
#include "lib/base/parse.h"
#include "lib/config/config.h"

namespace vs {

namespace {

// One setting: key, value, whether the value is a JSON number/bool (else a string).
struct Item {
  std::string key;
  std::string value;
  bool raw = false;
};


std::vector<Item> items(const GuestConfig& g) {
  std::vector<Item> out;
  auto add = [&](std::string k, std::string v, bool raw = false) {
    out.push_back({std::move(k), std::move(v), raw});
  };
  auto num = [](uint64_t v) { return v == shim::kNoLimit ? std::string("max") : std::to_string(v); };
  add("name", g.name);
  if (g.label) add("label", *g.label);
  add("context", g.xid ? g.xid->str() : "dynamic", g.xid.has_value());
  if (g.nodename) add("uts.nodename", *g.nodename);
  if (g.domainname) add("uts.domainname", *g.domainname);
  add("vdir", g.vdir);
  for (size_t i = 0; i < g.interfaces.size(); ++i) {
    const Interface& itf = g.interfaces[i];
    std::string p = "interfaces." + std::to_string(i) + ".";
    add(p + "address", itf.address);
    add(p + "prefix", std::to_string(itf.prefix), true);
    if (!itf.dev.empty()) add(p + "dev", itf.dev);
    if (!itf.name.empty()) add(p + "name", itf.name);
    add(p + "mode", std::string(net_mode_name(itf.mode)));
    add(p + "nodev", itf.nodev ? "true" : "false", true);
    if (!itf.gateway.empty()) add(p + "gateway", itf.gateway);
    if (itf.nat) add(p + "nat", *itf.nat ? "true" : "false", true);
  }
  add("capabilities.bcaps", shim::format_caps(g.bcaps));
  add("capabilities.ccaps", g.ccaps);
  add("flags", g.flags);
  add("namespaces", shim::format_ns_list(g.namespaces));
  for (const auto& [res, lim] : g.rlimits) {
    add("rlimits." + shim::rlimit_name(res), shim::format_rlimit_pair(lim));
  }
  const shim::CgroupLimits& l = g.limits;
  if (l.memory) add("limits.memory", num(*l.memory), *l.memory != shim::kNoLimit);
  if (l.memsw) add("limits.memsw", num(*l.memsw), *l.memsw != shim::kNoLimit);
  if (l.pids) add("limits.pids", num(*l.pids), *l.pids != shim::kNoLimit);
  if (l.cpu_shares) add("limits.cpu_shares", num(*l.cpu_shares), true);
  if (l.cpu_quota_us) {
    add("limits.cpu_quota_us", num(*l.cpu_quota_us), *l.cpu_quota_us != shim::kNoLimit);
  }
  if (l.cpu_period_us) add("limits.cpu_period_us", num(*l.cpu_period_us), true);
  if (l.cpuset_cpus) add("limits.cpuset_cpus", *l.cpuset_cpus);
  if (l.cpuset_mems) add("limits.cpuset_mems", *l.cpuset_mems);
  add("seccomp.profile", g.seccomp.enabled ? "default" : "none");
  std::string changes = shim::format_seccomp_changes(g.seccomp);
  if (!changes.empty()) add("seccomp.changes", changes);
  add("init.style", std::string(init_style_name(g.init_style)));
  if (!g.mark.empty()) add("init.mark", g.mark);
  std::string cmd;
  for (const auto& w : effective_init_command(g)) cmd += (cmd.empty() ? "" : " ") + w;
  add("init.command", cmd);
  add("init.stop_signal", signal_name(effective_stop_signal(g)));
  add("init.stop_timeout", std::to_string(g.stop_timeout), true);
  if (!g.depends.empty()) {
    std::string deps;
    for (const auto& d : g.depends) deps += (deps.empty() ? "" : ",") + d;
    add("init.depends", deps);
  }
  for (const auto& [k, v] : g.scripts) add("scripts." + k, v);
  if (g.fstab) add("fstab", *g.fstab);
  if (g.build_method) add("build.method", *g.build_method);
  if (g.build_source) add("build.source", *g.build_source);
  return out;
}

}  // namespace

std::string format_config(const GuestConfig& config) {
  std::string out;
  for (const auto& it : items(config)) out += it.key + " = " + it.value + "\n";
  return out;
}

std::string format_config_json(const GuestConfig& config) {
  std::string out = "{";
  bool first = true;
  for (const auto& it : items(config)) {
    if (!first) out += ",";
    first = false;
    out += "\n  " + json_string(it.key) + ": " + (it.raw ? it.value : json_string(it.value));
  }
  return out + "\n}\n";
}

}  // namespace vs
