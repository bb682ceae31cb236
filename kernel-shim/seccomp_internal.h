// What kernel-shim/seccomp_spec.cc, seccomp_profile.cc and seccomp.cc share, and nothing
// else includes: how they word the errors of a syscall name and of libseccomp.
#pragma once

#include <string>
#include <string_view>

#include "lib/base/result.h"

namespace vs::shim::seccomp_internal {

/// A usage error for `word`, which is not a syscall of the native architecture, under the
/// attribute or option `subject`: empty, known for another architecture, or unknown.
Error name_error(const std::string& subject, std::string_view word);

/// The error of a libseccomp call that returned `rc` (a negative errno).
inline Error scmp_error(const char* op, const std::string& subject, int rc) {
  return sys_error(op, subject, -rc);
}

}  // namespace vs::shim::seccomp_internal
