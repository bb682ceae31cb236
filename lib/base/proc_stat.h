// What /proc says of a process that tells it apart from a later one with the same pid.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "lib/base/result.h"

namespace vs {

/// Field 22 of PROC/PID/stat: the process's start time (clock ticks since boot). A pid that
/// was reused has another one.
Result<uint64_t> process_start_time(const std::string& proc_root, pid_t pid);

}  // namespace vs
