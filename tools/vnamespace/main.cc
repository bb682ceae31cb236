// vnamespace: runs a command in new namespaces, in the namespaces of a context, or makes the
// caller's namespaces the context's (util-vserver's vnamespace, on the shim).
#include <linux/close_range.h>
#include <sched.h>
#include <sys/mount.h>
#include <unistd.h>

#include <array>
#include <string>
#include <vector>

#include "kernel-shim/context.h"
#include "kernel-shim/ns.h"
#include "lib/base/child.h"
#include "lib/base/syscall.h"
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

int exec_command(const std::vector<std::string>& cmd) { return vs::tool::exec_command(kTool, cmd); }

// Runs the command as a child (pid 1 of a new pid namespace, or a new member of a context's)
// and returns its status as an exit code (128 + signal if it was killed).
int fork_and_wait(const std::vector<std::string>& cmd, bool mount_proc) {
  auto child = vs::Child::spawn({}, [&] {
    // A procfs of the new pid namespace, so ps and /proc/self tell the truth inside.
    if (mount_proc &&
        ::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0) {
      return report(vs::sys_error("mount", "/proc"));
    }
    return exec_command(cmd);
  });
  if (!child) return report(child.error());
  auto status = child->wait();
  if (!status) return report(status.error());
  return status->as_exit_code();
}

int run_new(NsSet which, const std::vector<std::string>& cmd) {
  if (::unshare(static_cast<int>(which)) < 0) {
    return report(vs::sys_error("unshare", vs::shim::format_ns_list(which)));
  }
  // Before any other mount (R8): nothing mounted from now on may propagate back to the host.
  if ((which & CLONE_NEWNS) && ::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) < 0) {
    return report(vs::sys_error("mount", "/"));
  }
  // New pid and time namespaces are for the children of the caller only.
  if (which & (CLONE_NEWPID | CLONE_NEWTIME)) {
    return fork_and_wait(cmd, (which & CLONE_NEWPID) && (which & CLONE_NEWNS));
  }
  return exec_command(cmd);
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
  if (arg_new) return run_new(flags ? flags : CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC, arg_cmd);

  auto xid = vs::tool::parse_xid_arg(enter->count() ? arg_enter : arg_set);
  if (!xid) return report(xid.error());
  vs::shim::ContextTable table(vs::tool::shim_config(arg_common));
  if (auto r = table.prepare(); !r) return report(r.error());
  auto state = table.lookup(*xid);
  if (!state) return report(state.error());
  NsSet which = flags ? flags : state->namespaces;
  if (set->count()) {
    // A mount namespace cannot be re-pinned (the shim says why); by default set the others.
    if (!flags) which &= ~static_cast<NsSet>(CLONE_NEWNS);
    if (auto r = vs::shim::set_namespaces(table, *xid, which); !r) return report(r.error());
    return arg_cmd.empty() ? vs::kExitOk : exec_command(arg_cmd);
  }
  if (auto r = vs::shim::enter_namespaces(table, *xid, which); !r) return report(r.error());
  // Joining a pid namespace takes effect for children only.
  if (which & CLONE_NEWPID) return fork_and_wait(arg_cmd, false);
  return exec_command(arg_cmd);
}
