// What holds every process of a sealed context: its rlimits, its seccomp filter and its
// capability bounds, applied in one place, the last thing before exec (STYLE.md R6).
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "lib/base/result.h"

namespace vs::shim {

using Attributes = std::map<std::string, std::string>;

/// Checks a context's attributes (the state file's attr.* keys) without applying them.
Result<void> check_attributes(const Attributes& attrs);

/// Confines the calling process to a context with these attributes: no longer dumpable,
/// rlimits, then the seccomp filter (loaded while CAP_SYS_ADMIN is still held, so no
/// no_new_privs is needed and guest su keeps working), then the capability bounds. Call it
/// right before exec: the process can no longer undo any of it.
/// `seccomp_programs`, if not empty, is the context's filter compiled before
/// (compile_guest_programs() for these attributes): loaded instead of compiled again.
Result<void> confine_to_context(const Attributes& attrs, std::string_view seccomp_programs = {});

/// The key a compiled filter is kept under: the attributes it was compiled from.
std::string seccomp_cache_key(const Attributes& attrs);

}  // namespace vs::shim
