#include "kernel-shim/flags.h"

#include <algorithm>

#include "lib/base/parse.h"

namespace vs::shim {
namespace {

constexpr const char* kLxcfs =
    "not supported on stock kernels: /proc is not virtualised by the kernel; mount lxcfs "
    "over the guest's /proc files instead";

}  // namespace

const std::vector<FlagInfo>& flag_table() {
  static const std::vector<FlagInfo> table = {
      {"lock", FlagKind::kImplied, 0,
       "always on: --endsetup seals a context for good (no changes from inside, the "
       "capabilities to make them are gone)"},
      {"sched", FlagKind::kImplied, 0,
       "always on: the context's cpu cgroup holds its processes (vsched sets weight and quota)"},
      {"nproc", FlagKind::kImplied, 0,
       "always on: the pids cgroup limits the context as a whole (vlimit --pids)"},
      {"private", FlagKind::kRecorded, 0, "nobody may enter the context (vcontext --migrate)"},
      {"fakeinit", FlagKind::kImplied, CLONE_NEWPID,
       "the context's first process is pid 1 of its own pid namespace"},
      {"hideinfo", FlagKind::kImplied, CLONE_NEWNS,
       "host information in /proc and /sys is masked where a guest root is set up"},
      {"ulimit", FlagKind::kImplied, 0,
       "always on: the context's rlimits (vlimit) apply to every process entering it"},
      {"namespace", FlagKind::kImplied, 0, "always on: a context is a set of namespaces"},
      {"sched_hard", FlagKind::kImplied, 0, "always on: cpu quota (vsched --quota)"},
      {"sched_prio", FlagKind::kImplied, 0, "always on: cpu weight (vsched --weight)"},
      {"sched_pause", FlagKind::kRefused, 0,
       "not supported as a flag: pause a context with vkill -s STOP (freezer-atomic)"},
      {"virt_mem", FlagKind::kRefused, 0, kLxcfs},
      {"virt_uptime", FlagKind::kImplied, CLONE_NEWTIME,
       "uptime and the monotonic clock start at the context's creation (its time namespace: "
       "vcontext --create --namespaces ...,time)"},
      {"virt_cpu", FlagKind::kRefused, 0, kLxcfs},
      {"virt_load", FlagKind::kRefused, 0, kLxcfs},
      {"virt_time", FlagKind::kRefused, 0,
       "not supported on stock kernels: time namespaces cannot offset the wall clock"},
      {"hide_mount", FlagKind::kImplied, CLONE_NEWNS,
       "the context's own mount namespace; a guest root is pivoted to at start"},
      {"hide_netif", FlagKind::kImplied, CLONE_NEWNET,
       "the context's own network namespace shows only its interfaces"},
      {"hide_vinfo", FlagKind::kImplied, CLONE_NEWNS,
       "the context table (run dir) is hidden from the context once it is sealed"},
      {"state_setup", FlagKind::kImplied, 0,
       "the context's stage: set at creation, cleared by --endsetup, never set again"},
      {"state_init", FlagKind::kRefused, 0,
       "not a flag here: a context's init is its first process (vcontext --create)"},
      {"state_admin", FlagKind::kRefused, 0,
       "not supported: the host administers contexts from outside (xid 0)"},
      {"sc_helper", FlagKind::kRefused, 0,
       "not supported on stock kernels: there are no kernel helper upcalls per context"},
      {"reboot_helper", FlagKind::kRefused, 0,
       "not supported on stock kernels: reboot(2) is denied in guests; stop and start the "
       "guest from the host"},
      {"persistent", FlagKind::kRecorded, 0,
       "the context stays when its last process is gone (until vcontext --release)"},
      {"fork_rss", FlagKind::kRefused, 0,
       "not supported on stock kernels: use the memory cgroup (vlimit --memory)"},
      {"prolific", FlagKind::kRefused, 0,
       "not supported on stock kernels: use the pids cgroup (vlimit --pids)"},
      {"igneg_nice", FlagKind::kRefused, 0,
       "not supported on stock kernels: use cpu weight (vsched --weight)"},
  };
  return table;
}

const FlagInfo* find_flag(std::string_view name) {
  for (const auto& f : flag_table()) {
    if (name == f.name) return &f;
  }
  return nullptr;
}

bool has_flag(std::string_view normalized, std::string_view flag) {
  auto w = split_list(normalized);
  return std::find(w.begin(), w.end(), flag) != w.end();
}

Result<std::string> apply_flag_changes(std::string_view current, std::string_view list,
                                       NsSet ns) {
  std::vector<std::string> have;
  for (std::string_view w : split_list(current)) have.emplace_back(w);
  for (std::string_view word : split_list(list)) {
    std::string_view name = word;
    bool remove = strip_removal(&name);
    const FlagInfo* f = find_flag(name);
    if (f == nullptr) {
      std::string known;
      for (const auto& g : flag_table()) {
        if (g.kind != FlagKind::kRefused) known += (known.empty() ? "" : ", ") + std::string(g.name);
      }
      return usage_error("flag", "unknown flag `" + std::string(word) + "` (supported: " + known +
                                     "; prefix ~ or ! to clear)");
    }
    if (f->kind == FlagKind::kRefused && !remove) {
      return usage_error("flag", "flag `" + std::string(name) + "` is " + f->what);
    }
    if (!remove && (f->needs & ~ns) != 0) {
      return usage_error("flag", "flag `" + std::string(name) + "` needs the context's own " +
                                     format_ns_list(f->needs & ~ns) + " namespace (" + f->what +
                                     ")");
    }
    if (!remove && name == "state_setup") {
      return make_error(ErrorKind::kWrongState, "set flag", "state_setup",
                        "a context cannot return to setup; create a new one", EINVAL);
    }
    if (remove && name == "lock") {
      return make_error(ErrorKind::kWrongState, "clear flag", "lock",
                        "sealing is final; there is no unlock", EINVAL);
    }
    std::erase(have, std::string(name));
    if (!remove && f->kind == FlagKind::kRecorded) have.emplace_back(name);
  }
  std::sort(have.begin(), have.end());
  std::string out;
  for (const auto& n : have) out += (out.empty() ? "" : ",") + n;
  return out;
}

}  // namespace vs::shim
