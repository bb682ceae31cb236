// vcontext: create a context and run a command in it, or move into an existing one.
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "kernel-shim/context.h"
#include "kernel-shim/helper.h"
#include "lib/base/pty.h"
#include "lib/base/stdio_relay.h"
#include "lib/mount/guest_root.h"
#include "tools/common/cli.h"

namespace {

constexpr const char* kTool = "vcontext";

struct Args {
  vs::tool::CommonOptions common;
  bool create = false;
  bool migrate = false;
  bool migrate_self = false;
  bool release = false;
  bool list = false;
  std::string xid;
  bool xid_given = false;
  std::string namespaces;
  bool persistent = false;
  bool endsetup = false;
  bool no_init = false;
  bool silent = false;
  std::string root;
  std::vector<std::string> command;
};

Args arg_;

// The environment of a command run in a context: ours only while the context is still being
// set up (the administrator's own chain of tools, which find the table through VSERVER_*);
// from the seal on the command is guest code and gets the shim's clean one (empty).
std::vector<std::string> env_for(bool sealed) {
  std::vector<std::string> env;
  if (sealed) return env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  return env;
}

// The command's stdin, stdout and stderr: a fresh pty when ours are terminals, else pipes;
// never our own fds (a context is no place for the caller's terminal or files).
vs::Result<vs::StdioRelay> make_relay() {
  if (::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO)) {
    auto pty = vs::open_pty();
    if (!pty) return std::move(pty).error();
    return vs::StdioRelay::pty(std::move(pty->master), std::move(pty->slave));
  }
  return vs::StdioRelay::pipes();
}

int run(const vs::shim::ContextTable& table) {
  using vs::shim::Xid;
  std::optional<Xid> xid;
  if (arg_.xid_given) {
    auto x = vs::tool::parse_xid_arg(arg_.xid);
    if (!x) return vs::tool::report(kTool, x.error());
    xid = *x;
  }
  bool wants_command = arg_.create || arg_.migrate || arg_.migrate_self;
  if (wants_command && arg_.command.empty()) {
    return vs::tool::report(kTool, vs::usage_error("command", "missing: give it after --"));
  }
  if (!wants_command && !arg_.command.empty()) {
    return vs::tool::report(kTool, vs::usage_error("command", "only --create, --migrate and "
                                                              "--migrate-self run a command"));
  }
  if ((arg_.migrate || arg_.release) && !xid) {
    return vs::tool::report(kTool, vs::usage_error("--xid", "required here"));
  }

  if (arg_.list) {
    auto xids = table.list();
    if (!xids) return vs::tool::report(kTool, xids.error());
    for (Xid x : *xids) std::printf("%u\n", x.value());
    return vs::kExitOk;
  }
  if (arg_.release) {
    auto r = vs::shim::release(table, *xid);
    return r ? vs::kExitOk : vs::tool::report(kTool, r.error());
  }
  if (arg_.create) {
    vs::shim::CreateSpec spec;
    spec.xid = xid;
    if (!arg_.namespaces.empty()) {
      auto ns = vs::shim::parse_ns_list(arg_.namespaces);
      if (!ns) return vs::tool::report(kTool, ns.error());
      spec.namespaces = *ns;
    }
    spec.persistent = arg_.persistent;
    spec.endsetup = arg_.endsetup;
    spec.builtin_init = !arg_.no_init;
    spec.argv = arg_.command;
    spec.env = env_for(arg_.endsetup);
    spec.warn = [](const std::string& w) {
      if (!arg_.silent) std::fprintf(stderr, "%s: warning: %s\n", kTool, w.c_str());
    };
    vs::GuestRootSpec root;
    if (!arg_.root.empty()) {
      if (!(spec.namespaces & CLONE_NEWNS)) {
        return vs::tool::report(kTool, vs::usage_error("--root", "needs the mnt namespace"));
      }
      // Refuse a hostile tree before anything exists.
      vs::UniqueFd fd(::open(arg_.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!fd) return vs::tool::report(kTool, vs::sys_error("open", arg_.root));
      if (auto r = vs::check_guest_tree(fd.get(), arg_.root); !r) {
        return vs::tool::report(kTool, r.error());
      }
      root.vdir = arg_.root;
      spec.child_setup = [&root] { return vs::enter_guest_root(root); };
    }
    auto relay = make_relay();
    if (!relay) return vs::tool::report(kTool, relay.error());
    spec.stdio = relay->child_fds();
    spec.controlling_tty = relay->controlling_tty();
    spec.wait = [&relay](vs::Child& child) {
      relay->close_child_ends();
      return relay->run(child);
    };
    auto code = vs::shim::create_and_run(table, spec, [](Xid x) {
      if (!arg_.silent) std::fprintf(stderr, "New security context is %u\n", x.value());
    });
    if (!code) {
      int rc = vs::tool::report(kTool, code.error());
      return code.error().op == "exec" ? vs::kExitExecFailed : rc;
    }
    return *code;
  }
  if (arg_.migrate) {
    auto relay = make_relay();
    if (!relay) return vs::tool::report(kTool, relay.error());
    auto ctx = vs::shim::open_context(table, *xid);
    if (!ctx) return vs::tool::report(kTool, ctx.error());
    vs::shim::RunOptions run;
    run.env = env_for(ctx->state.stage == vs::shim::ContextStage::kRunning);
    run.stdio = relay->child_fds();
    run.controlling_tty = relay->controlling_tty();
    auto child = vs::shim::spawn_in_context(table, *ctx, arg_.command, run);
    relay->close_child_ends();
    if (!child) {
      int rc = vs::tool::report(kTool, child.error());
      return child.error().op == "exec" ? vs::kExitExecFailed : rc;
    }
    auto status = relay->run(*child);
    if (!status) return vs::tool::report(kTool, status.error());
    return status->as_exit_code();
  }
  // --migrate-self: into --xid, or stay in the context we are in (the classic chain).
  if (!xid) {
    auto mine = table.current_xid();
    if (!mine) return vs::tool::report(kTool, mine.error());
    if (!mine->is_context()) {
      return vs::tool::report(kTool, vs::usage_error("--xid", "required: this process is "
                                                              "in no context"));
    }
    xid = *mine;
  }
  // Opened before the move: the command is exec'd by the helper, never by this binary.
  auto helper = vs::shim::open_helper();
  if (!helper) return vs::tool::report(kTool, helper.error());
  auto moved = vs::shim::migrate_self(table, *xid, arg_.endsetup);
  if (!moved) return vs::tool::report(kTool, moved.error());
  if (moved->has_value()) return **moved;  // the parent left outside the pid namespace
  // Sealed now if it was before or --endsetup sealed it.
  auto st = table.read_state(*xid);
  bool sealed = arg_.endsetup || !st || st->stage == vs::shim::ContextStage::kRunning;
  vs::tool::report(kTool, vs::shim::exec_in_context(helper->get(), arg_.command, env_for(sealed)));
  return vs::kExitExecFailed;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Create a security context and run a command in it, or move into one.",
               kTool};
  app.set_version_flag("--version", "vserver 0.1.0");
  auto* modes = app.add_option_group("mode", "exactly one of");
  modes->add_flag("--create", arg_.create, "create a new context and run CMD inside");
  modes->add_flag("--migrate", arg_.migrate, "run CMD inside the existing context --xid");
  modes->add_flag("--migrate-self", arg_.migrate_self,
                  "move this process into the context (--xid, else the current) and exec CMD");
  modes->add_flag("--release", arg_.release,
                  "clear the persistent mark of --xid (reaped once it has no process)");
  modes->add_flag("--list", arg_.list, "print the xids of the live contexts");
  modes->require_option(1);
  auto* xid_opt =
      app.add_option("--xid", arg_.xid, "context id: 2..49151 static, 49152..65535 dynamic");
  app.add_option("--namespaces", arg_.namespaces,
                 "with --create: comma-separated list of mnt,pid,uts,ipc,net,cgroup,user,time "
                 "(default mnt,pid,uts,ipc,cgroup)");
  app.add_flag("--persistent", arg_.persistent, "keep the context when its processes are gone");
  app.add_flag("--endsetup", arg_.endsetup, "seal the context before running CMD");
  app.add_flag("--no-init", arg_.no_init,
               "in a new pid namespace, exec CMD as pid 1 instead of under the built-in init");
  app.add_flag("--silent", arg_.silent, "do not print the new context's id");
  app.add_option("--root", arg_.root,
                 "with --create: make DIR the context's root (pivot_root; fresh /proc, "
                 "read-only /sys, minimal /dev, masked paths)")
      ->type_name("DIR");
  app.add_option("command", arg_.command, "CMD ARGS... (after --)");
  vs::tool::add_common_options(app, arg_.common);
  app.positionals_at_end(false);

  int rc = 0;
  if (!vs::tool::parse_args(app, argc, argv, &rc)) return rc;
  arg_.xid_given = xid_opt->count() > 0;
  vs::shim::ContextTable table(vs::tool::shim_config(arg_.common));
  if (auto r = table.prepare(); !r) return vs::tool::report(kTool, r.error());
  return run(table);
}
