#include "lib/guest/paths.h"

#include <stdlib.h>

namespace vs {

ConfigRoots ConfigRoots::from_env() {
  ConfigRoots roots;
  auto take = [](const char* var, std::string* into) {
    const char* v = ::getenv(var);
    if (v && *v) *into = v;
  };
  take("VSERVER_CONFDIR", &roots.confdir);
  take("VSERVER_VDIRBASE", &roots.vdirbase);
  take("VSERVER_RUNDIR", &roots.rundir);
  return roots;
}

std::string ConfigRoots::guest_confdir(std::string_view name) const {
  return confdir + "/" + std::string(name);
}

std::string ConfigRoots::defaults_dir() const { return confdir + "/.defaults"; }

std::string ConfigRoots::default_vdir(std::string_view name) const {
  return vdirbase + "/" + std::string(name);
}

}  // namespace vs
