// What holds every process of a sealed context: its rlimits, its seccomp filter and its
// capability bounds (its Confinement, context_state.h), applied in one place, the last
// thing before exec (STYLE.md R6).
#pragma once

#include <string>
#include <string_view>

#include "kernel-shim/context_state.h"
#include "lib/base/result.h"

namespace vs::shim {

/// Confines the calling process to a context with this confinement: no longer dumpable,
/// rlimits, then the seccomp filter (loaded while CAP_SYS_ADMIN is still held, so no
/// no_new_privs is needed and guest su keeps working), then the capability bounds. Call it
/// right before exec: the process can no longer undo any of it.
/// `seccomp_programs`, if not empty, is the context's filter compiled before
/// (compile_guest_programs() for this confinement): loaded instead of compiled again.
Result<void> confine_to_context(const Confinement& c, std::string_view seccomp_programs = {});

/// The key a compiled filter is kept under: what it was compiled from (the bounding set,
/// ccaps' grants included, and the seccomp spec).
std::string seccomp_cache_key(const Confinement& c);

}  // namespace vs::shim
