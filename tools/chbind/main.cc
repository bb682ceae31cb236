// chbind: binds a context to its IP addresses on the host's network stack (util-vserver's
// chbind, on cgroup-BPF: kernel-shim/netbind.h), or shows them.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "kernel-shim/context_table.h"
#include "kernel-shim/init.h"
#include "kernel-shim/netbind.h"
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
  std::vector<std::string> command;
  vs::tool::CommonOptions common;
};

int show(const ContextTable& table, Xid xid) {
  auto st = table.lookup(xid);
  if (!st) return vs::tool::report(kTool, st.error());
  auto bind = vs::shim::net_bind_from_attrs(st->attrs);
  if (!bind) return vs::tool::report(kTool, bind.error());
  for (const auto& a : bind->all()) {
    std::printf("ip %s\n", vs::shim::format_net_address(a).c_str());
  }
  std::printf("loopback %s\n", vs::shim::loopback_str(xid).c_str());
  return vs::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Bind a context to its IP addresses on the host's network stack: binds to the "
      "wildcard become its first address, binds to other addresses fail, connects and UDP "
      "sends use its address, 127.0.0.1 is its private loopback. Then run CMD.",
      kTool};
  Args a;
  app.add_option("--xid", a.xid, "the context (default: the caller's)")->type_name("XID");
  app.add_option("--ip", a.ips, "ADDR[/PREFIX], IPv4 or IPv6 (repeatable; the first of each "
                                "family is the primary)")
      ->allow_extra_args(false)
      ->type_name("ADDR");
  app.add_flag("--show", a.show, "print the context's addresses and its loopback address");
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

  // Everything is parsed before anything is touched.
  std::vector<vs::shim::NetAddress> addrs;
  for (const auto& text : a.ips) {
    auto addr = vs::shim::parse_net_address(text);
    if (!addr) return fail(addr.error());
    addrs.push_back(*addr);
  }
  auto bind = vs::shim::make_net_bind(addrs);
  if (!bind) return fail(bind.error());

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
  if (auto r = vs::shim::apply_net_bind(table, xid, *bind); !r) return fail(r.error());
  if (a.command.empty()) return vs::kExitOk;
  int rc = vs::shim::exec_command(a.command, -1);
  std::fprintf(stderr, "%s: exec `%s`: %m\n", kTool, a.command[0].c_str());
  return rc;
}
