// vkill: sends a signal to every process of a context at once, or to one process named by its
// pid as seen inside the context (util-vserver's vkill, on the shim).
#include <signal.h>
#include <unistd.h>

#include <array>
#include <string>
#include <utility>
#include <vector>

#include "kernel-shim/cgroup.h"
#include "kernel-shim/context_table.h"
#include "kernel-shim/guest_pid.h"
#include "lib/base/parse.h"
#include "lib/base/syscall.h"
#include "tools/common/cli.h"

namespace {

using vs::Error;
using vs::Result;
using vs::shim::ContextCgroup;
using vs::shim::ContextState;
using vs::shim::ContextTable;

constexpr const char* kTool = "vkill";
constexpr uint64_t kPidMax = 4194304;  // PID_MAX_LIMIT on 64-bit kernels

struct MethodName {
  const char* name;
  ContextCgroup::KillMethod method;
};
constexpr std::array<MethodName, 4> kMethods{{
    {"auto", ContextCgroup::KillMethod::kAuto},
    {"cgroup-kill", ContextCgroup::KillMethod::kCgroupKill},
    {"freeze", ContextCgroup::KillMethod::kFreezeV2},
    {"freeze-v1", ContextCgroup::KillMethod::kFreezeV1},
}};

Result<ContextCgroup::KillMethod> parse_method(const std::string& text) {
  for (const auto& m : kMethods) {
    if (text == m.name) return m.method;
  }
  return vs::usage_error("--method", "unknown method `" + text +
                                         "` (expected auto, cgroup-kill, freeze or freeze-v1)");
}

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
  auto sig = vs::parse_signal(arg_signal);
  if (!sig) return vs::tool::report(kTool, sig.error());
  auto method = parse_method(arg_method);
  if (!method) return vs::tool::report(kTool, method.error());
  std::vector<pid_t> guests;
  for (const auto& p : arg_pids) {
    auto n = vs::parse_uint(p, 0, kPidMax, "pid");
    if (!n) return vs::tool::report(kTool, n.error());
    guests.push_back(static_cast<pid_t>(*n));
  }

  ContextTable table(vs::tool::shim_config(arg_common));
  if (auto r = table.prepare(); !r) return vs::tool::report(kTool, r.error());
  auto state = table.lookup(*xid);
  if (!state) return vs::tool::report(kTool, state.error());
  // Held while signalling: a concurrent reap (the context's last process just died) must not
  // remove the cgroup under the kill.
  auto lock = table.lock(*xid);
  if (!lock) return vs::tool::report(kTool, lock.error());
  auto cg = ContextCgroup::open(table.layout(), table.config().cgroup, *xid);
  if (!cg) return vs::tool::report(kTool, cg.error());

  bool all = guests.empty();
  std::vector<std::pair<pid_t, vs::UniqueFd>> targets;
  // Resolve every pid before signalling any, so a typo signals nothing.
  for (pid_t g : guests) {
    if (g == 0) {
      all = true;
      continue;
    }
    auto fd = vs::shim::open_guest_pid(table, *state, *cg, g);
    if (!fd) return vs::tool::report(kTool, std::move(fd).error().wrap("context " + xid->str()));
    targets.emplace_back(g, std::move(*fd));
  }
  for (const auto& [g, fd] : targets) {
    if (vs::sys::pidfd_send_signal(fd.get(), *sig, nullptr, 0) < 0) {
      return vs::tool::report(
          kTool,
          vs::sys_error("pidfd_send_signal", std::to_string(g)).wrap("context " + xid->str()));
    }
  }
  if (all) {
    if (auto r = cg->kill(*sig, *method); !r) {
      return vs::tool::report(kTool, std::move(r).error().wrap("signal context " + xid->str()));
    }
  }
  return vs::kExitOk;
}
