#include "lib/monitor/info.h"

#include <algorithm>
#include <cctype>

#include "kernel-shim/features.h"
#include "kernel-shim/xid.h"
#include "lib/config/config.h"
#include "lib/guest/guest.h"

namespace vs::monitor {
namespace {

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// Queries of util-vserver's vserver-info that talk to the Linux-VServer kernel API or its
// file layout; what they would answer does not exist on the shim.
const std::vector<std::string>& refused_queries() {
  static const std::vector<std::string> kRefused = {
      "APIVER", "VERIFYCAP", "VERIFYPROC", "INITPID_PID", "FEATURE", "UTS", "CANONIFY",
      "PXID",   "NID",       "MOUNT",      "SHELL",       "XID",     "VXID"};
  return kRefused;
}

bool running_in(const shim::ContextTable& table, shim::Xid xid, shim::ContextState* out) {
  auto st = table.lookup(xid);
  if (!st) return false;
  auto alive = table.alive(xid);
  if (!alive || !*alive) {
    if (!st->persistent) return false;
  }
  *out = std::move(*st);
  return true;
}

// The running context of guest `name`: its static xid's entry if the state names it, else
// the live context whose state records the name.
std::optional<shim::ContextState> find_running(const shim::ContextTable& table,
                                               const GuestConfig* cfg, const std::string& name) {
  shim::ContextState st;
  if (cfg && cfg->xid && running_in(table, *cfg->xid, &st) &&
      (st.name.empty() || st.name == name)) {
    return st;
  }
  auto xids = table.list();
  if (!xids) return std::nullopt;
  for (shim::Xid x : *xids) {
    auto s = table.read_state(x);
    if (s && s->name == name) return *s;
  }
  return std::nullopt;
}

std::string xid_type(shim::Xid x) {
  if (x.value() == shim::Xid::kHost) return "host";
  if (x.value() == shim::Xid::kWatch) return "watch";
  return x.is_static() ? "static" : "dynamic";
}

}  // namespace

const std::vector<std::string>& info_queries() {
  static const std::vector<std::string> kQueries = {"CONTEXT", "RUNNING", "VDIR",    "CFGDIR",
                                                    "APPDIR",  "NAME",    "XIDTYPE", "INITPID",
                                                    "SYSINFO"};
  return kQueries;
}

Result<InfoAnswer> answer_info(const shim::ContextTable& table, const ConfigRoots& roots,
                               const std::string& target, const std::string& query_text,
                               const std::vector<std::string>& args) {
  const std::string query = upper(query_text);
  const auto& known = info_queries();
  if (std::find(known.begin(), known.end(), query) == known.end()) {
    const auto& refused = refused_queries();
    std::string list;
    for (const auto& q : known) list += (list.empty() ? "" : ", ") + q;
    if (std::find(refused.begin(), refused.end(), query) != refused.end()) {
      return usage_error(query, "is a query of the Linux-VServer kernel API, which has no "
                                "equivalent here (answered: " + list + ")");
    }
    return usage_error(query, "unknown query (expected one of " + list + ")");
  }
  const bool wants_arg = query == "APPDIR";
  if (args.size() != (wants_arg ? 1u : 0u)) {
    return usage_error(query, wants_arg ? "takes one argument, the application name"
                                        : "takes no argument");
  }
  InfoAnswer a;
  if (query == "SYSINFO") {
    if (target != "-") return usage_error(target, "SYSINFO is asked of `-` (the host)");
    for (const auto& f : shim::probe_features(table.layout())) {
      a.lines.push_back(f.key + ": " + f.value);
    }
    return a;
  }
  if (target == "-") return usage_error(query, "needs a guest name or context xid, not `-`");

  // An xid: everything comes from the context table.
  if (!target.empty() && std::isdigit(static_cast<unsigned char>(target[0]))) {
    auto x = shim::Xid::parse(target);
    if (!x) return std::move(x).error();
    if (query == "XIDTYPE") {
      a.lines.push_back(xid_type(*x));
      return a;
    }
    shim::ContextState st;
    const bool running = x->is_context() && running_in(table, *x, &st);
    if (query == "RUNNING") {
      a.negative = !running;
      return a;
    }
    if (query == "CONTEXT") {
      if (running) a.lines.push_back(x->str());
      a.negative = !running;
      return a;
    }
    if (!running) {
      return make_error(ErrorKind::kNotFound, "lookup", "context " + target, "no such context",
                        ENOENT);
    }
    if (query == "INITPID") {
      a.lines.push_back(std::to_string(st.init_pid));
    } else if (query == "NAME") {
      if (st.name.empty()) return make_error(ErrorKind::kNotFound, "lookup", "context " + target,
                                             "anonymous context (no guest name)", ENOENT);
      a.lines.push_back(st.name);
    } else {
      // VDIR, CFGDIR, APPDIR need the guest's configuration.
      if (st.name.empty()) {
        return make_error(ErrorKind::kNotFound, "lookup", "context " + target,
                          "anonymous context: no guest configuration to answer " + query,
                          ENOENT);
      }
      return answer_info(table, roots, st.name, query, args);
    }
    return a;
  }

  if (auto r = validate_guest_name(target); !r) return std::move(r).error();
  auto cfg = load_guest(roots, target);
  if (!cfg) return std::move(cfg).error();
  if (query == "CFGDIR") {
    a.lines.push_back(roots.guest_confdir(target));
  } else if (query == "APPDIR") {
    if (auto r = validate_guest_name(args[0]); !r) {
      return usage_error(args[0], "not an application name (letters, digits and '-')");
    }
    a.lines.push_back(roots.guest_confdir(target) + "/apps/" + args[0]);
  } else if (query == "VDIR") {
    a.lines.push_back(cfg->vdir);
  } else if (query == "NAME") {
    a.lines.push_back(cfg->label ? *cfg->label : cfg->name);
  } else if (query == "XIDTYPE") {
    a.lines.push_back(cfg->xid ? xid_type(*cfg->xid) : "dynamic");
  } else {
    auto st = find_running(table, &*cfg, target);
    if (query == "RUNNING") {
      a.negative = !st;
    } else if (query == "CONTEXT") {
      if (st) a.lines.push_back(st->xid.str());
      a.negative = !st;
    } else if (query == "INITPID") {
      if (!st) {
        return make_error(ErrorKind::kWrongState, "lookup", target, "not running", ESRCH);
      }
      a.lines.push_back(std::to_string(st->init_pid));
    }
  }
  return a;
}

}  // namespace vs::monitor
