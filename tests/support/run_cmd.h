// Runs a command (a built tool) and captures its exit status, stdout and stderr.
#pragma once

#include <string>
#include <vector>

namespace vs::test {

struct CmdResult {
  int status = -1;  ///< exit code, or 128 + signal
  std::string out;
  std::string err;
};

/// Runs argv[0] with argv (no shell), waits at most `timeout_s` seconds (then SIGKILL and
/// status -1). The environment is inherited.
CmdResult run_cmd(const std::vector<std::string>& argv, int timeout_s = 60);

}  // namespace vs::test
