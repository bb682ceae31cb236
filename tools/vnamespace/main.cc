// vnamespace: runs a command in new namespaces, in the namespaces of a context, or makes the
// caller's namespaces the context's (util-vserver's vnamespace, on the shim: kernel-shim/ns.h
// and ns_enter.h).
#include <sched.h>

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "kernel-shim/ns.h"
#include "kernel-shim/ns_enter.h"
#include "tools/common/cli.h"

namespace {

using vs::shim::NsSet;

constexpr const char* kTool = "vnamespace";

struct NsFlag {
  const char* option;
  NsSet flag;
  const char* help;
};
constexpr std::array<NsFlag, 8> kNsFlags{{
    {"--mount,--mnt", CLONE_NEWNS, "the mount namespace"},
    {"--uts", CLONE_NEWUTS, "the uts namespace (host and domain name)"},
    {"--ipc", CLONE_NEWIPC, "the ipc namespace"},
    {"--pid", CLONE_NEWPID, "the pid namespace (CMD runs as a child)"},
    {"--net", CLONE_NEWNET, "the network namespace"},
    {"--cgroup", CLONE_NEWCGROUP, "the cgroup namespace"},
    {"--user", CLONE_NEWUSER, "the user namespace"},
    {"--time", CLONE_NEWTIME, "the time namespace"},
}};

int report(const vs::Error& e) { return vs::tool::report(kTool, e); }
int usage(std::string what, std::string detail) {
  return report(vs::make_error(vs::ErrorKind::kUsage, std::move(what), "", std::move(detail)));
}

// After the shim moved us: a parent that forked exits with its child's code; the process in
// the namespaces runs the command.
int go_on(const vs::Result<std::optional<int>>& moved, const std::vector<std::string>& cmd) {
  if (!moved) return report(moved.error());
  if (*moved) return **moved;
  return vs::tool::exec_command(kTool, cmd);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Run a command in new namespaces (--new), in the namespaces of a context "
      "(--enter), or make the caller's namespaces a context's (--set).",
      kTool};
  bool arg_new = false, arg_cleanup = false;
  std::string arg_enter, arg_set;
  std::array<bool, kNsFlags.size()> arg_ns{};
  std::vector<std::string> arg_cmd;
  vs::tool::CommonOptions arg_common;
  app.add_flag("-n,--new", arg_new, "run CMD in new namespaces (default mnt, uts, ipc)");
  auto* enter = app.add_option("-e,--enter", arg_enter, "run CMD in the namespaces of context XID")
                    ->type_name("XID");
  auto* set = app.add_option("-s,--set", arg_set, "make our namespaces those of context XID")
                  ->type_name("XID");
  app.add_flag("-c,--cleanup", arg_cleanup, "not supported (util-vserver compatibility)");
  for (size_t i = 0; i < kNsFlags.size(); ++i) {
    app.add_flag(kNsFlags[i].option, arg_ns[i], kNsFlags[i].help)->group("Namespaces");
  }
  app.add_option("command", arg_cmd, "CMD [ARGS...], after -- if it starts with -")
      ->type_name("CMD");
  app.positionals_at_end();
  vs::tool::add_common_options(app, arg_common);
  int code = 0;
  if (!vs::tool::parse_args(app, argc, argv, &code)) return code;

  if (arg_cleanup) {
    return usage("--cleanup",
                 "not supported: a context's mounts go away with its mount "
                 "namespace; unmount them inside with `vnamespace --enter`");
  }
  int modes = (arg_new ? 1 : 0) + (enter->count() > 0 ? 1 : 0) + (set->count() > 0 ? 1 : 0);
  if (modes != 1) {
    return usage(modes == 0 ? "no operation" : "more than one operation",
                 "give exactly one of --new, --enter XID, --set XID");
  }
  if (!set->count() && arg_cmd.empty()) {
    return usage(arg_new ? "--new" : "--enter", "no command given");
  }
  NsSet flags = 0;
  for (size_t i = 0; i < kNsFlags.size(); ++i) {
    if (arg_ns[i]) flags |= kNsFlags[i].flag;
  }
  if (arg_new) {
    return go_on(
        vs::shim::new_namespaces(flags ? flags : CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC),
        arg_cmd);
  }

  auto xid = vs::tool::parse_xid_arg(enter->count() ? arg_enter : arg_set);
  if (!xid) return report(xid.error());
  vs::shim::ContextTable table(vs::tool::shim_config(arg_common));
  if (auto r = table.prepare(); !r) return report(r.error());
  if (set->count()) {
    if (auto r = vs::shim::repin_context_namespaces(table, *xid, flags); !r) {
      return report(r.error());
    }
    return arg_cmd.empty() ? vs::kExitOk : vs::tool::exec_command(kTool, arg_cmd);
  }
  return go_on(vs::shim::enter_context_namespaces(table, *xid, flags), arg_cmd);
}
