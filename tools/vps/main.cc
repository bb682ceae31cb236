// vps: ps(1) with the CONTEXT and NAME of every process (util-vserver's vps, on the shim).
// Every argument goes to ps unchanged; the context table and cgroup parent come from
// VSERVER_RUNDIR and VSERVER_CGROUP_PARENT.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "lib/base/exit_code.h"
#include "lib/base/fs_at.h"
#include "lib/monitor/vps.h"
#include "tools/common/cli.h"

namespace {

constexpr const char* kTool = "vps";

constexpr const char* kHelp =
    "Usage: vps [PS-OPTIONS...]\n"
    "Run ps(1) with PS-OPTIONS and add two columns after PID: CONTEXT (the xid of the\n"
    "process's context, 0 for the host) and NAME (the guest's name, MAIN for the host, - for\n"
    "an anonymous context). ps's output must have a PID column (the default formats, aux,\n"
    "-ef, -o pid,...). Environment: VSERVER_RUNDIR, VSERVER_CGROUP_PARENT.\n"
    "Exit status: that of ps; 1 if ps could not run.\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 1 && args[0] == "--help") {
    std::fputs(kHelp, stdout);
    return vs::kExitOk;
  }
  if (args.size() == 1 && args[0] == "--version") {
    std::puts("vserver 0.1.0");
    return vs::kExitOk;
  }
  auto run = vs::monitor::run_vps(vs::tool::shim_config({}), args);
  if (!run) return vs::tool::report(kTool, run.error());
  if (!run->pid_column && !run->out.empty()) {
    std::fprintf(stderr, "%s: ps printed no PID column; contexts not shown (add pid to -o)\n",
                 kTool);
  }
  if (!vs::write_all(STDOUT_FILENO, run->out)) return vs::kExitFailed;
  return run->status.as_exit_code();
}
