#include "kernel-shim/guest_pid.h"

#include <errno.h>
#include <sched.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "lib/base/fs_at.h"
#include "lib/base/parse.h"
#include "lib/base/syscall.h"

namespace vs::shim {

namespace {

constexpr uint64_t kPidMax = 4194304;  // PID_MAX_LIMIT on 64-bit kernels

// The NSpid fields of PROC/PID/status: the pid in the procfs's pid namespace, then in each
// nested one down to the process's own.
Result<std::vector<pid_t>> nspids(const std::string& proc_root, pid_t pid) {
  auto text = read_file(proc_root + "/" + std::to_string(pid) + "/status");
  if (!text) return std::move(text).error();
  size_t at = text->find("\nNSpid:");
  if (at == std::string::npos) return sys_error("read NSpid", std::to_string(pid), ENOTSUP);
  std::string line = text->substr(at + 7, text->find('\n', at + 1) - at - 7);
  std::vector<pid_t> out;
  size_t pos = 0;
  while ((pos = line.find_first_not_of(" \t", pos)) != std::string::npos) {
    size_t end = line.find_first_of(" \t", pos);
    auto n = parse_uint(line.substr(pos, end - pos), 1, kPidMax, "NSpid");
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

}  // namespace

Result<UniqueFd> open_guest_pid(const ContextTable& table, const ContextState& state,
                                const ContextCgroup& cg, const pid_t asked) {
  pid_t guest = asked;
  const std::string& proc = table.config().proc_root;
  auto pids = cg.pids();
  if (!pids) return std::move(pids).error();
  // Depth of the context's pid namespace below ours, found from a member of it (the pin).
  size_t depth = 0;
  if (state.namespaces & CLONE_NEWPID) {
    // The recorded identity of its pid namespace; the pin for states written before it was
    // recorded (a guest's namespaces are not pinned).
    auto ino = state.ns_inodes.find("pid");
    std::string pin = table.ns_dir(state.xid) + "/pid";
    for (pid_t h : *pids) {
      std::string member = proc + "/" + std::to_string(h) + "/ns/pid";
      struct stat st {};
      bool same = ino != state.ns_inodes.end()
                      ? ::stat(member.c_str(), &st) == 0 && st.st_ino == ino->second
                      : same_file(pin, member);
      if (!same) continue;
      if (auto ns = nspids(proc, h); ns) depth = ns->size() - 1;
      break;
    }
  } else if (guest == 1 && state.init_pid > 0) {
    guest = state.init_pid;  // as util-vserver: pid 1 of a context without its own is its init
  }
  auto matches = [&](pid_t h) {
    auto ns = nspids(proc, h);
    auto x = xid_of_pid(h, table.config().cgroup.parent, proc);
    return ns && ns->size() > depth && (*ns)[depth] == guest && x && *x == state.xid;
  };
  for (pid_t h : *pids) {
    if (!matches(h)) continue;
    UniqueFd fd(sys::pidfd_open(h, 0));
    if (!fd && errno != ESRCH) return sys_error("pidfd_open", std::to_string(h));
    if (fd && matches(h)) return fd;
  }
  return make_error(ErrorKind::kNotFound, "find pid", std::to_string(asked),
                        "no process of the context has this pid inside it");
}


}  // namespace vs::shim
