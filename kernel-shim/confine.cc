#include "kernel-shim/confine.h"

#include <sys/prctl.h>

#include "kernel-shim/caps.h"
#include "kernel-shim/limits.h"
#include "kernel-shim/seccomp.h"

namespace vs::shim {

std::string seccomp_cache_key(const Confinement& c) {
  return "bounding=" + format_caps(c.bounding()) +
         ";seccomp=" + (c.seccomp.enabled ? "default" : "none") +
         ";allow=" + format_syscall_list(c.seccomp.allow) +
         ";deny=" + format_syscall_list(c.seccomp.deny) + ";";
}

Result<void> confine_to_context(const Confinement& c, std::string_view seccomp_programs) {
  const CapMask bcaps = c.bounding();
  // No core dumps or ptrace by same-uid guest processes while this one still holds the
  // host's capabilities; exec makes it dumpable again with only the context's.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return sys_error("prctl(PR_SET_DUMPABLE)", "self");
  // Before the drop: raising a hard limit needs CAP_SYS_RESOURCE.
  if (auto r = apply_rlimits(c.rlimits); !r) return std::move(r).error().wrap("confine");
  // Loaded while CAP_SYS_ADMIN is still held; its allowlist keeps prctl and capset for
  // the drop that follows.
  if (c.seccomp.enabled && !seccomp_programs.empty()) {
    if (auto r = load_guest_programs(seccomp_programs); !r) return std::move(r).error().wrap("confine");
  } else if (c.seccomp.enabled) {
    if (auto r = load_guest_seccomp(bcaps, c.seccomp); !r) {
      return std::move(r).error().wrap("confine");
    }
  }
  if (auto r = drop_capabilities(bcaps); !r) return std::move(r).error().wrap("confine");
  return ok();
}

}  // namespace vs::shim
