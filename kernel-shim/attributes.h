// A context's attributes as vattribute changes and shows them: capability bounds, context
// capabilities, flags and seccomp changes, merged into its recorded Confinement
// (context_state.h; confine.h applies it; caps.h, flags.h and seccomp.h own the vocabulary).
#pragma once

#include <string>
#include <vector>

#include "kernel-shim/context_table.h"
#include "lib/base/result.h"

namespace vs::shim {

/// Changes, each a comma list as vattribute takes it; empty lists change nothing.
struct AttributeChange {
  bool secure = false;  ///< first reset to the secure defaults (guest bounding set, no ccaps,
                        ///< the default seccomp profile)
  std::vector<std::string> bcaps;    ///< CAP_NAME or NAME adds, ~NAME removes, ^N, all, none
  std::vector<std::string> ccaps;    ///< context capabilities (set_rlimit; ~NAME removes)
  std::vector<std::string> flags;    ///< private, persistent, ...; ~NAME clears
  std::vector<std::string> seccomp;  ///< each: none, default, or NAME allows / -NAME denies

  [[nodiscard]] bool empty() const {
    return !secure && bcaps.empty() && ccaps.empty() && flags.empty() && seccomp.empty();
  }
};

/// What vattribute --get shows, each as text.
struct AttributeView {
  Xid xid{0};
  ContextStage stage = ContextStage::kSetup;
  std::string bcaps;    ///< the recorded bounding set (format_caps)
  std::string ccaps;    ///< the context capabilities' names
  std::string flags;    ///< recorded flags and the implied ones its namespaces give
  std::string seccomp;  ///< "none", "default" or "default CHANGES"
};

/// Applies `change` to the attributes of context `xid` under its lock and records them (they
/// hold its processes from the seal on, and every later entrant). Refused from inside any
/// context once it is sealed (kWrongState, EPERM); the host may. A bad name or a refused
/// flag is a kUsage error and nothing is recorded. No context: kNotFound.
Result<void> change_attributes(const ContextTable& table, Xid xid, const AttributeChange& change);

/// The attributes of the live context `xid`. No context: kNotFound.
Result<AttributeView> read_attributes(const ContextTable& table, Xid xid);

}  // namespace vs::shim
