// chbind: binds a context to its IP addresses on the host's network stack (util-vserver's
// chbind, on cgroup-BPF: kernel-shim/netbind.h), gives a context with its own network
// namespace an interface with those addresses (--isolated: kernel-shim/netiso.h), or shows
// a context's network.
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "kernel-shim/context_table.h"
#include "kernel-shim/netbind.h"
#include "kernel-shim/netiso.h"
#include "tools/common/cli.h"

namespace {

using vs::Error;
using vs::shim::ContextTable;
using vs::shim::Xid;

constexpr const char* kTool = "chbind";

struct Args {
  std::string xid;
  std::vector<std::string> ips;
  bool show = false;
  bool isolated = false;
  std::string bridge;
  std::string macvlan;
  std::vector<std::string> gateways;
  bool nat = false;
  std::vector<std::string> command;
  vs::tool::CommonOptions common;
};

std::string addr_only(const vs::shim::NetAddress& a) {
  auto s = vs::shim::format_net_address(a);
  return s.substr(0, s.find('/'));
}

int show(const ContextTable& table, Xid xid) {
  auto st = table.lookup(xid);
  if (!st) return vs::tool::report(kTool, st.error());
  const vs::shim::NetInfo info = vs::shim::net_info(st->net, (st->namespaces & CLONE_NEWNET) != 0);
  std::printf("mode %s\n", info.mode.c_str());
  if (info.mode == "isolated") {
    if (info.link == "veth") {
      std::printf("interface %s veth %s bridge %s\n", info.ifname.c_str(), info.host_if.c_str(),
                  info.device.c_str());
    } else {
      std::printf("interface %s macvlan %s\n", info.ifname.c_str(), info.device.c_str());
    }
  }
  for (const auto& a : info.addrs) {
    std::printf("ip %s\n", vs::shim::format_net_address(a).c_str());
  }
  for (const auto& g : info.gateways) std::printf("gateway %s\n", addr_only(g).c_str());
  if (info.mode == "isolated") std::printf("nat %s\n", info.nat ? "on" : "off");
  if (info.mode == "shared") std::printf("loopback %s\n", vs::shim::loopback_str(xid).c_str());
  return vs::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Bind a context to its IP addresses on the host's network stack: binds to the "
      "wildcard become its first address, binds to other addresses fail, connects and UDP "
      "sends use its address, 127.0.0.1 is its private loopback. Then run CMD. With "
      "--isolated, give a context with its own network namespace an interface eth0 with "
      "those addresses instead, on a host bridge (or a macvlan).",
      kTool};
  Args a;
  app.add_option("--xid", a.xid, "the context (default: the caller's)")->type_name("XID");
  app.add_option("--ip", a.ips, "ADDR[/PREFIX], IPv4 or IPv6 (repeatable; the first of each "
                                "family is the primary)")
      ->allow_extra_args(false)
      ->type_name("ADDR");
  app.add_flag("--show", a.show,
               "print the context's network mode, interface, addresses and loopback address");
  app.add_flag("--isolated", a.isolated,
               "isolated mode: an interface eth0 in the context's own network namespace");
  app.add_option("--bridge", a.bridge, "isolated: the host bridge (created if missing)")
      ->type_name("BRIDGE");
  app.add_option("--macvlan", a.macvlan, "isolated: a macvlan on this host device instead")
      ->type_name("DEV");
  app.add_option("--gateway", a.gateways,
                 "isolated: default gateway (one per family; default: the bridge's address)")
      ->allow_extra_args(false)
      ->type_name("ADDR");
  app.add_flag("--nat", a.nat, "isolated: masquerade the context's IPv4 traffic leaving the "
                               "host (sets net.ipv4.ip_forward=1)");
  app.add_option("command", a.command, "CMD ARGS... to exec afterwards (after --)");
  vs::tool::add_common_options(app, a.common);
  app.positionals_at_end(false);
  int code = 0;
  if (!vs::tool::parse_args(app, argc, argv, &code)) return code;
  auto fail = [](const Error& e) { return vs::tool::report(kTool, e); };
  if (a.show && (!a.ips.empty() || !a.command.empty())) {
    return fail(vs::usage_error("--show", "takes only --xid"));
  }
  if (!a.show && a.ips.empty()) return fail(vs::usage_error("--ip", "at least one is needed"));
  if (a.show && a.isolated) return fail(vs::usage_error("--show", "takes only --xid"));
  bool iso_opts = !a.bridge.empty() || !a.macvlan.empty() || !a.gateways.empty() || a.nat;
  if (!a.isolated && iso_opts) {
    return fail(vs::usage_error("--isolated", "--bridge, --macvlan, --gateway and --nat "
                                              "are for isolated mode (add --isolated)"));
  }
  if (a.isolated && a.bridge.empty() == a.macvlan.empty()) {
    return fail(vs::usage_error("--isolated", "needs exactly one of --bridge and --macvlan"));
  }
  if (a.isolated && !a.command.empty()) {
    return fail(vs::usage_error("--isolated", "runs no command (the network is set up from "
                                              "the host; run the command with vcontext)"));
  }

  // Everything is parsed before anything is touched.
  std::vector<vs::shim::NetAddress> addrs;
  for (const auto& text : a.ips) {
    auto addr = vs::shim::parse_net_address(text);
    if (!addr) return fail(addr.error());
    addrs.push_back(*addr);
  }
  auto bind = vs::shim::make_net_bind(addrs);
  if (!bind) return fail(bind.error());
  vs::shim::IsolatedNetSpec iso;
  if (a.isolated) {
    iso.link = a.bridge.empty() ? vs::shim::IsoLink::kMacvlan : vs::shim::IsoLink::kVeth;
    iso.device = a.bridge.empty() ? a.macvlan : a.bridge;
    iso.addrs = *bind;
    iso.nat = a.nat;
    for (const auto& text : a.gateways) {
      auto gw = vs::shim::parse_net_address(text);
      if (!gw) return fail(std::move(gw).error().wrap("--gateway"));
      iso.gateways.push_back(*gw);
    }
    if (auto r = vs::shim::check_isolated_net_spec(iso); !r) return fail(r.error());
  }

  ContextTable table(vs::tool::shim_config(a.common));
  if (auto r = table.prepare(); !r) return fail(r.error());
  Xid mine(0);
  auto target = vs::tool::target_xid(
      table, a.xid, &mine,
      "this process is in no context: run it inside a context: vcontext --create -- "
      "chbind --ip ... -- CMD");
  if (!target) return fail(target.error());
  Xid xid = *target;
  if (a.show) return show(table, xid);
  if (a.isolated) {
    if (auto r = vs::shim::setup_isolated_net(table, xid, iso); !r) return fail(r.error());
    return vs::kExitOk;
  }
  if (auto r = vs::shim::apply_net_bind(table, xid, *bind); !r) return fail(r.error());
  if (a.command.empty()) return vs::kExitOk;
  return vs::tool::exec_command(kTool, a.command);
}
