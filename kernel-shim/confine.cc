#include "kernel-shim/confine.h"

#include <sys/prctl.h>

#include "kernel-shim/caps.h"
#include "kernel-shim/limits.h"
#include "kernel-shim/seccomp.h"

namespace vs::shim {

Result<void> check_attributes(const Attributes& attrs) {
  if (auto b = bcaps_from_attrs(attrs); !b) return std::move(b).error();
  if (auto s = SeccompSpec::from_attrs(attrs); !s) return std::move(s).error();
  if (auto l = rlimits_from_attrs(attrs); !l) return std::move(l).error();
  return ok();
}

std::string seccomp_cache_key(const Attributes& attrs) {
  std::string key;
  for (const char* k : {"bcaps", "seccomp", "seccomp.allow", "seccomp.deny"}) {
    auto it = attrs.find(k);
    key += std::string(k) + "=" + (it == attrs.end() ? "" : it->second) + ";";
  }
  return key;
}

Result<void> confine_to_context(const Attributes& attrs, std::string_view seccomp_programs) {
  auto bcaps = bcaps_from_attrs(attrs);
  if (!bcaps) return std::move(bcaps).error();
  auto seccomp = SeccompSpec::from_attrs(attrs);
  if (!seccomp) return std::move(seccomp).error();
  auto rlimits = rlimits_from_attrs(attrs);
  if (!rlimits) return std::move(rlimits).error();
  // No core dumps or ptrace by same-uid guest processes while this one still holds the
  // host's capabilities; exec makes it dumpable again with only the context's.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) return sys_error("prctl(PR_SET_DUMPABLE)", "self");
  // Before the drop: raising a hard limit needs CAP_SYS_RESOURCE.
  if (auto r = apply_rlimits(*rlimits); !r) return std::move(r).error().wrap("confine");
  // Loaded while CAP_SYS_ADMIN is still held; its allowlist keeps prctl and capset for
  // the drop that follows.
  if (seccomp->enabled && !seccomp_programs.empty()) {
    if (auto r = load_guest_programs(seccomp_programs); !r) return std::move(r).error().wrap("confine");
  } else if (seccomp->enabled) {
    if (auto r = load_guest_seccomp(*bcaps, *seccomp); !r) return std::move(r).error().wrap("confine");
  }
  if (auto r = drop_capabilities(*bcaps); !r) return std::move(r).error().wrap("confine");
  return ok();
}

}  // namespace vs::shim
