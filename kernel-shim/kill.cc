#include "kernel-shim/kill.h"

#include <array>
#include <string>
#include <utility>

#include "kernel-shim/guest_pid.h"
#include "lib/base/syscall.h"

namespace vs::shim {

namespace {

struct MethodName {
  std::string_view name;
  ContextCgroup::KillMethod method;
};
constexpr std::array<MethodName, 4> kMethods{{
    {"auto", ContextCgroup::KillMethod::kAuto},
    {"cgroup-kill", ContextCgroup::KillMethod::kCgroupKill},
    {"freeze", ContextCgroup::KillMethod::kFreezeV2},
    {"freeze-v1", ContextCgroup::KillMethod::kFreezeV1},
}};

}  // namespace

Result<ContextCgroup::KillMethod> parse_kill_method(std::string_view name) {
  for (const auto& m : kMethods) {
    if (name == m.name) return m.method;
  }
  return usage_error("kill method", "unknown method `" + std::string(name) +
                                        "` (expected auto, cgroup-kill, freeze or freeze-v1)");
}

Result<void> kill_context(const ContextTable& table, Xid xid, const KillRequest& req) {
  const std::string what = "context " + xid.str();
  auto state = table.lookup(xid);
  if (!state) return std::move(state).error();
  auto lock = table.lock(xid);
  if (!lock) return std::move(lock).error();
  auto cg = ContextCgroup::open(table.layout(), table.config().cgroup, xid);
  if (!cg) return std::move(cg).error();

  bool all = req.pids.empty();
  std::vector<std::pair<pid_t, UniqueFd>> targets;
  for (pid_t g : req.pids) {
    if (g == 0) {
      all = true;
      continue;
    }
    auto fd = open_guest_pid(table, *state, *cg, g);
    if (!fd) return std::move(fd).error().wrap(what);
    targets.emplace_back(g, std::move(*fd));
  }
  for (const auto& [g, fd] : targets) {
    if (sys::pidfd_send_signal(fd.get(), req.sig, nullptr, 0) < 0) {
      return sys_error("pidfd_send_signal", std::to_string(g)).wrap(what);
    }
  }
  if (all) {
    if (auto r = cg->kill(req.sig, req.method); !r) {
      return std::move(r).error().wrap("signal " + what);
    }
  }
  return ok();
}

}  // namespace vs::shim
