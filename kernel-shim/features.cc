#include "kernel-shim/features.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/landlock.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstring>

#include "kernel-shim/btf.h"
#include "kernel-shim/unixscope.h"
#include "lib/base/unique_fd.h"

namespace vs::shim {
namespace {

std::string errno_text(int e) {
  const char* name = strerrorname_np(e);
  return name ? name : std::to_string(e);
}

std::string present(long rc, int err) {
  if (rc >= 0) return "yes";
  return (err == ENOSYS ? "no (" : "unknown (") + errno_text(err) + ")";
}

// Loads "r0 = 1; exit" as `type` expecting attach type `attach`: the kernel refuses an
// attach type it does not know with EINVAL.
std::string probe_bpf(uint32_t type, uint32_t attach) {
  struct bpf_insn insns[2] = {};
  insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
  insns[0].dst_reg = BPF_REG_0;
  insns[0].imm = 1;
  insns[1].code = BPF_JMP | BPF_EXIT;
  static const char kLicense[] = "GPL";
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.prog_type = type;
  attr.insns = reinterpret_cast<uint64_t>(insns);
  attr.insn_cnt = 2;
  attr.license = reinterpret_cast<uint64_t>(kLicense);
  attr.expected_attach_type = attach;
  long fd = ::syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
  if (fd >= 0) {
    ::close(static_cast<int>(fd));
    return "yes";
  }
  const int e = errno;
  if (e == EINVAL || e == ENOSYS) return "no (" + errno_text(e) + ")";
  return "unknown (" + errno_text(e) + ")";
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out.empty() ? "none" : out;
}

}  // namespace

std::vector<Feature> probe_features(const CgroupLayout& layout) {
  std::vector<Feature> out;
  struct utsname u {};
  if (::uname(&u) == 0) out.push_back({"kernel.release", u.release});

  for (const char* ns : {"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"}) {
    struct stat st {};
    const bool has = ::stat((std::string("/proc/self/ns/") + ns).c_str(), &st) == 0;
    out.push_back({std::string("ns.") + ns, has ? "yes" : "no"});
  }

  out.push_back({"cgroup.v2", layout.v2_root.empty() ? "no" : layout.v2_root});
  if (!layout.v2_root.empty()) {
    out.push_back({"cgroup.v2.controllers", join(layout.v2_controllers())});
    struct stat st {};
    // cgroup.kill (5.14) exists in every non-root v2 cgroup; init.scope is one on systemd.
    const bool kill = ::stat((layout.v2_root + "/init.scope/cgroup.kill").c_str(), &st) == 0;
    out.push_back({"cgroup.v2.kill", kill ? "yes" : "unknown (no init.scope to look at)"});
  }
  std::vector<std::string> v1;
  for (const auto& h : layout.v1) {
    for (const auto& c : h.controllers) v1.push_back(c);
  }
  out.push_back({"cgroup.v1.controllers", join(v1)});

  struct Hook {
    const char* name;
    uint32_t type;
    uint32_t attach;
  };
  static const Hook kHooks[] = {
      {"sock_create", BPF_PROG_TYPE_CGROUP_SOCK, BPF_CGROUP_INET_SOCK_CREATE},
      {"bind4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_BIND},
      {"bind6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_BIND},
      {"connect4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT},
      {"connect6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_CONNECT},
      {"sendmsg4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP4_SENDMSG},
      {"sendmsg6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP6_SENDMSG},
      {"device", BPF_PROG_TYPE_CGROUP_DEVICE, BPF_CGROUP_DEVICE},
  };
  for (const auto& h : kHooks) {
    out.push_back({std::string("bpf.cgroup.") + h.name, probe_bpf(h.type, h.attach)});
  }

  // The BPF LSM, which confines the abstract unix sockets of contexts on the host's network
  // stack (unixscope.h): active, and whether the kernel loads its programs at all.
  auto lsm = bpf_lsm_status();
  out.push_back({"bpf.lsm", lsm.active ? "yes" : "no (" + lsm.detail + ")"});
  if (lsm.active) {
    auto btf = Btf::load();
    auto loads = btf ? lsm_cgroup_loadable(*btf) : Result<void>(std::move(btf).error());
    std::string value = "yes";
    if (!loads) {
      const int e = loads.error().code;
      value = (e == EPERM || e == EINVAL ? "no (" : "unknown (") + errno_text(e) + ")";
    }
    out.push_back({"bpf.lsm_cgroup", value});
  }

  long mode = ::prctl(PR_GET_SECCOMP, 0, 0, 0, 0);
  out.push_back({"seccomp", present(mode, errno)});
  if (mode >= 0) {
    uint32_t action = SECCOMP_RET_USER_NOTIF;
    long rc = ::syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action);
    out.push_back({"seccomp.user_notif", present(rc, errno)});
  }

  long abi = landlock_abi();
  if (abi >= 0) {
    out.push_back({"landlock.abi", std::to_string(abi)});
    // The fallback for the BPF LSM's abstract unix socket scope (unixscope.h).
    out.push_back({"landlock.scope_abstract_unix", abi >= kLandlockScopeAbi ? "yes" : "no"});
  } else {
    const int e = errno;
    out.push_back({"landlock.abi", (e == EOPNOTSUPP ? "disabled (" : "no (") + errno_text(e) +
                                       ")"});
  }

  long pidfd = ::syscall(SYS_pidfd_open, ::getpid(), 0);
  out.push_back({"pidfd_open", present(pidfd, errno)});
  if (pidfd >= 0) ::close(static_cast<int>(pidfd));

  // clone3 with a size of 0 is refused (EINVAL) by a kernel that has it, before anything.
  long c3 = ::syscall(SYS_clone3, nullptr, 0);
  out.push_back({"clone3", c3 < 0 && errno == EINVAL ? "yes" : present(c3, errno)});

  struct open_how how {};
  how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT;
  long fd = ::syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof how);
  out.push_back({"openat2", present(fd, errno)});
  if (fd >= 0) ::close(static_cast<int>(fd));

  // first > last: refused with EINVAL by a kernel that has close_range, nothing closed.
  long cr = ::syscall(SYS_close_range, 2U, 1U, 0U);
  out.push_back({"close_range", cr < 0 && errno == EINVAL ? "yes" : present(cr, errno)});
  return out;
}

}  // namespace vs::shim
