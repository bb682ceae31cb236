// The environment of the root (integration) tests: set up once by test_main_root.cc.
#pragma once

#include <string>

#include "kernel-shim/context_table.h"

namespace vs::test {

struct RootEnv {
  std::string tmp;            ///< private temp tree, removed at exit
  std::string rundir;         ///< tmp/run
  std::string confdir;        ///< tmp/etc
  std::string vdirbase;       ///< tmp/vservers
  std::string cgroup_parent;  ///< vserver-test-PID, under every hierarchy
  std::string build_root;     ///< meson build dir, for the tools (tools/NAME)
};

/// The environment; valid only in the integration test binary.
const RootEnv& root_env();

/// A ShimConfig pointing at this test run's run dir and cgroup parent.
vs::shim::ShimConfig shim_config();

/// Path of a built tool: BUILD/tools/NAME.
std::string tool_path(const std::string& name);

}  // namespace vs::test
