// vattribute: sets or shows a context's capability bounds, context capabilities and flags
// (util-vserver's vattribute, on the shim). The attributes are recorded in the context's
// state; they hold every process from the seal (--endsetup) on, and every later entrant.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "kernel-shim/attributes.h"
#include "kernel-shim/context_table.h"
#include "tools/common/cli.h"

namespace {

using vs::Error;
using vs::Result;
using vs::shim::ContextTable;
using vs::shim::Xid;

constexpr const char* kTool = "vattribute";

struct Args {
  std::string xid;
  bool set = false, get = false;
  vs::shim::AttributeChange change;
  std::vector<std::string> command;
  vs::tool::CommonOptions common;
};

int get(const ContextTable& table, Xid xid) {
  auto v = vs::shim::read_attributes(table, xid);
  if (!v) return vs::tool::report(kTool, v.error());
  std::printf("xid %s\nstage %s\nbcaps %s\nccaps %s\nflags %s\nseccomp %s\n", v->xid.str().c_str(),
              vs::shim::stage_name(v->stage).c_str(), v->bcaps.c_str(), v->ccaps.c_str(),
              v->flags.c_str(), v->seccomp.c_str());
  std::fflush(stdout);  // before a command replaces us
  return vs::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Set or show the capability bounds, context capabilities and flags of a context. "
      "They hold its processes from the seal (vcontext --endsetup) on, and every process "
      "entering it later.",
      kTool};
  Args a;
  app.add_option("--xid", a.xid, "the context (default: the caller's)")->type_name("XID");
  auto* modes = app.add_option_group("mode", "exactly one of");
  modes->add_flag("--set", a.set, "change the attributes given");
  modes->add_flag("--get", a.get, "print xid, stage, bcaps, ccaps and flags");
  modes->require_option(1);
  app.add_option("--bcap", a.change.bcaps,
                 "bounding set changes: CAP_NAME or NAME adds, ~NAME removes, ^N by number, "
                 "all, none (repeatable, comma lists)")
      ->allow_extra_args(false)
      ->type_name("LIST");
  app.add_option("--ccap", a.change.ccaps, "context capability changes (set_rlimit; ~NAME removes)")
      ->allow_extra_args(false)
      ->type_name("LIST");
  app.add_option("--flag", a.change.flags, "flag changes (private, persistent, ...; ~NAME clears)")
      ->allow_extra_args(false)
      ->type_name("LIST");
  app.add_option("--seccomp", a.change.seccomp,
                 "seccomp: none, default, or syscall changes (NAME allows, -NAME denies)")
      ->allow_extra_args(false)
      ->type_name("LIST");
  app.add_flag("--secure", a.change.secure,
               "reset to the secure defaults first (the guest bounding set, no ccaps, the "
               "default seccomp profile)");
  app.add_option("command", a.command, "CMD ARGS... to exec afterwards (after --)");
  vs::tool::add_common_options(app, a.common);
  app.positionals_at_end(false);
  int code = 0;
  if (!vs::tool::parse_args(app, argc, argv, &code)) return code;
  auto fail = [](const Error& e) { return vs::tool::report(kTool, e); };
  if (a.get && !a.change.empty()) {
    return fail(vs::usage_error("--get", "cannot be combined with changes"));
  }

  ContextTable table(vs::tool::shim_config(a.common));
  if (auto r = table.prepare(); !r) return fail(r.error());
  Xid mine(0);
  auto target =
      vs::tool::target_xid(table, a.xid, &mine, "required: this process is in no context");
  if (!target) return fail(target.error());
  if (a.set) {
    if (auto r = vs::shim::change_attributes(table, *target, a.change); !r) return fail(r.error());
  } else if (int rc = get(table, *target); rc != vs::kExitOk) {
    return rc;
  }
  if (a.command.empty()) return vs::kExitOk;
  return vs::tool::exec_command(kTool, a.command);
}
