// vkill: sends a signal to every process of a context at once, or to one process named by its
// pid as seen inside the context (util-vserver's vkill, on the shim).
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <string>
#include <utility>
#include <vector>

#include "kernel-shim/cgroup.h"
#include "kernel-shim/context_table.h"
#include "lib/base/fs_at.h"
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

// The NSpid fields of PROC/PID/status: the pid in the procfs's pid namespace, then in each
// nested one down to the process's own.
Result<std::vector<pid_t>> nspids(const std::string& proc_root, pid_t pid) {
  auto text = vs::read_file(proc_root + "/" + std::to_string(pid) + "/status");
  if (!text) return std::move(text).error();
  size_t at = text->find("\nNSpid:");
  if (at == std::string::npos) return vs::sys_error("read NSpid", std::to_string(pid), ENOTSUP);
  std::string line = text->substr(at + 7, text->find('\n', at + 1) - at - 7);
  std::vector<pid_t> out;
  size_t pos = 0;
  while ((pos = line.find_first_not_of(" \t", pos)) != std::string::npos) {
    size_t end = line.find_first_of(" \t", pos);
    auto n = vs::parse_uint(line.substr(pos, end - pos), 1, kPidMax, "NSpid");
    if (!n) return std::move(n).error();
    out.push_back(static_cast<pid_t>(*n));
    pos = end;
  }
  return out;
}

bool same_file(const std::string& a, const std::string& b) {
  struct stat sa = {};
  struct stat sb = {};
  return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
         sa.st_ino == sb.st_ino;
}

// TODO(kernel-shim): belongs next to ContextCgroup::pids() as "host pid of a guest pid".
// Finds the host process whose pid in the context's pid namespace is `guest`, opens it as a
// pidfd and checks, after opening, that it is still that process and still in the context.
Result<vs::UniqueFd> open_guest_pid(const ContextTable& table, const ContextState& state,
                                    const ContextCgroup& cg, const pid_t asked) {
  pid_t guest = asked;
  const std::string& proc = table.config().proc_root;
  auto pids = cg.pids();
  if (!pids) return std::move(pids).error();
  // Depth of the context's pid namespace below ours, found from a member of it (the pin).
  size_t depth = 0;
  if (state.namespaces & CLONE_NEWPID) {
    std::string pin = table.ns_dir(state.xid) + "/pid";
    for (pid_t h : *pids) {
      if (!same_file(pin, proc + "/" + std::to_string(h) + "/ns/pid")) continue;
      if (auto ns = nspids(proc, h); ns) depth = ns->size() - 1;
      break;
    }
  } else if (guest == 1 && state.init_pid > 0) {
    guest = state.init_pid;  // as util-vserver: pid 1 of a context without its own is its init
  }
  auto matches = [&](pid_t h) {
    auto ns = nspids(proc, h);
    auto x = vs::shim::xid_of_pid(h, table.config().cgroup.parent, proc);
    return ns && ns->size() > depth && (*ns)[depth] == guest && x && *x == state.xid;
  };
  for (pid_t h : *pids) {
    if (!matches(h)) continue;
    vs::UniqueFd fd(vs::sys::pidfd_open(h, 0));
    if (!fd && errno != ESRCH) return vs::sys_error("pidfd_open", std::to_string(h));
    if (fd && matches(h)) return fd;
  }
  return vs::make_error(vs::ErrorKind::kNotFound, "find pid", std::to_string(asked),
                        "no process of the context has this pid inside it");
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
    auto fd = open_guest_pid(table, *state, *cg, g);
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
