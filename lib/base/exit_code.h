// The one exit-code table every tool uses; every man page documents it (STYLE.md R3).
#pragma once

#include "lib/base/result.h"

namespace vs {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,          ///< the operation failed (a syscall, the kernel said no)
  kExitUsage = 2,           ///< bad command line or configuration: nothing was changed
  kExitNoSuchContext = 3,   ///< no such guest or context
  kExitWrongState = 4,      ///< exists but in the wrong state (already running, sealed, busy)
  kExitExecFailed = 127,    ///< the command to run in the context could not be executed
};

inline int exit_code_for(const Error& e) {
  switch (e.kind) {
    case ErrorKind::kUsage: return kExitUsage;
    case ErrorKind::kNotFound: return kExitNoSuchContext;
    case ErrorKind::kWrongState: return kExitWrongState;
    case ErrorKind::kFailed: break;
  }
  return kExitFailed;
}

}  // namespace vs
