// The cgroups of the root test environment (test_main_root.cc): this machine's layout, this
// run's cgroup settings, and the directories and files of a context in them.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernel-shim/cgroup.h"
#include "kernel-shim/limits.h"
#include "kernel-shim/xid.h"
#include "tests/support/root_env.h"

namespace vs::test {

/// This machine's cgroup layout, discovered once; a test failure (and an empty layout) if it
/// cannot be.
inline const shim::CgroupLayout& layout() {
  static const shim::CgroupLayout l = [] {
    auto d = shim::CgroupLayout::discover();
    if (!d) {
      ADD_FAILURE() << d.error().message();
      return shim::CgroupLayout{};
    }
    return *d;
  }();
  return l;
}

/// The root of every hierarchy: the v2 root, then each v1 mount point.
inline std::vector<std::string> hierarchy_roots() {
  std::vector<std::string> roots{layout().v2_root};
  for (const auto& h : layout().v1) roots.push_back(h.mount_point);
  return roots;
}

/// This run's cgroup settings: its parent cgroup (under every hierarchy) and v1 controllers.
inline shim::CgroupSpec spec() { return shim_config().cgroup; }

/// The directory of context `xid` (under `s`'s parent) in the v1 hierarchy of `controller`;
/// empty if no v1 hierarchy has that controller.
inline std::string v1_dir(const char* controller, const shim::CgroupSpec& s, shim::Xid xid) {
  const auto* h = layout().v1_for(controller);
  return h ? h->mount_point + "/" + s.parent + "/" + xid.str() : std::string();
}

/// The same under this run's parent.
inline std::string v1_dir(const char* controller, shim::Xid xid) {
  return v1_dir(controller, spec(), xid);
}

/// The file of a limit in the directory that serves it, whichever hierarchy that is.
inline std::string knob(const shim::LimitDir& d, const char* v1_file, const char* v2_file) {
  return d.path + "/" + (d.version == shim::CgroupVersion::kV1 ? v1_file : v2_file);
}

}  // namespace vs::test

// The shim's tests are in vs::shim and use these names unqualified.
namespace vs::shim {
using test::hierarchy_roots;
using test::knob;
using test::layout;
using test::spec;
using test::v1_dir;
}  // namespace vs::shim
