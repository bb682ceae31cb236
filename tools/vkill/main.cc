// vkill: sends a signal to every process of a context at once, or to one process named by its
// pid as seen inside the context (util-vserver's vkill, on the shim: kernel-shim/kill.h).
#include <string>
#include <vector>

#include "kernel-shim/context_table.h"
#include "kernel-shim/kill.h"
#include "lib/base/parse.h"
#include "tools/common/cli.h"

namespace {

constexpr const char* kTool = "vkill";
constexpr uint64_t kPidMax = 4194304;  // PID_MAX_LIMIT on 64-bit kernels

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Send a signal to every process of a context atomically, or to processes "
      "named by their pid inside the context.",
      kTool};
  std::string arg_xid, arg_signal = "TERM", arg_method = "auto";
  std::vector<std::string> arg_pids;
  vs::tool::CommonOptions arg_common;
  app.add_option("-c,--xid", arg_xid, "the context (2..65535)")->required()->type_name("XID");
  app.add_option("-s,--signal", arg_signal, "signal name or number (default TERM)")
      ->type_name("SIGNAL");
  app.add_option("--method", arg_method,
                 "how to signal a whole context: auto, cgroup-kill, freeze, freeze-v1 "
                 "(for testing)")
      ->type_name("METHOD");
  app.add_option("pid", arg_pids, "pid as seen inside the context; none or 0: every process")
      ->type_name("PID");
  vs::tool::add_common_options(app, arg_common);
  int code = 0;
  if (!vs::tool::parse_args(app, argc, argv, &code)) return code;

  auto xid = vs::tool::parse_xid_arg(arg_xid);
  if (!xid) return vs::tool::report(kTool, xid.error());
  vs::shim::KillRequest req;
  auto sig = vs::parse_signal(arg_signal);
  if (!sig) return vs::tool::report(kTool, sig.error());
  req.sig = *sig;
  auto method = vs::shim::parse_kill_method(arg_method);
  if (!method) {
    vs::Error e = std::move(method).error();
    e.subject = "--method";
    return vs::tool::report(kTool, e);
  }
  req.method = *method;
  for (const auto& p : arg_pids) {
    auto n = vs::parse_uint(p, 0, kPidMax, "pid");
    if (!n) return vs::tool::report(kTool, n.error());
    req.pids.push_back(static_cast<pid_t>(*n));
  }

  vs::shim::ContextTable table(vs::tool::shim_config(arg_common));
  if (auto r = table.prepare(); !r) return vs::tool::report(kTool, r.error());
  if (auto r = vs::shim::kill_context(table, *xid, req); !r) {
    return vs::tool::report(kTool, r.error());
  }
  return vs::kExitOk;
}
