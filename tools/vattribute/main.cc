// vattribute: sets or shows a context's capability bounds, context capabilities and flags
// (util-vserver's vattribute, on the shim). The attributes are recorded in the context's
// state; they hold every process from the seal (--endsetup) on, and every later entrant.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "kernel-shim/caps.h"
#include "kernel-shim/confine.h"
#include "kernel-shim/context_table.h"
#include "kernel-shim/flags.h"
#include "kernel-shim/seccomp.h"
#include "lib/base/parse.h"
#include "tools/common/cli.h"

namespace {

using vs::Error;
using vs::Result;
using vs::shim::ContextStage;
using vs::shim::ContextState;
using vs::shim::ContextTable;
using vs::shim::Xid;

constexpr const char* kTool = "vattribute";

struct Args {
  std::string xid;
  bool set = false, get = false, secure = false;
  std::vector<std::string> bcaps, ccaps, flags, seccomp;
  std::vector<std::string> command;
  vs::tool::CommonOptions common;
};

std::string join(const std::vector<std::string>& lists) {
  std::string out;
  for (const auto& l : lists) out += (out.empty() ? "" : ",") + l;
  return out;
}

// The flags a context has: the recorded ones and the implied ones whose namespaces it has.
std::string effective_flags(const ContextState& st) {
  auto it = st.attrs.find("flags");
  std::string recorded = it == st.attrs.end() ? "" : it->second;
  std::string out;
  for (const auto& f : vs::shim::flag_table()) {
    bool on = false;
    if (f.kind == vs::shim::FlagKind::kRecorded) {
      on = vs::shim::has_flag(recorded, f.name) ||
           (std::string_view(f.name) == "persistent" && st.persistent);
    } else if (f.kind == vs::shim::FlagKind::kImplied) {
      on = (f.needs & ~st.namespaces) == 0;
      if (std::string_view(f.name) == "state_setup") on = st.stage == ContextStage::kSetup;
    }
    if (on) out += (out.empty() ? "" : ",") + std::string(f.name);
  }
  return out;
}

// One --seccomp value: `none`, `default`, or syscall changes merged into the current ones.
Result<void> change_seccomp(const std::string& list, std::map<std::string, std::string>* attrs) {
  auto spec = vs::shim::SeccompSpec::from_attrs(*attrs);
  if (!spec) return std::move(spec).error();
  if (list == "none" || list == "default") {
    *spec = vs::shim::SeccompSpec{};
    spec->enabled = list == "default";
  } else {
    auto changes = vs::shim::parse_seccomp_changes(list);
    if (!changes) return std::move(changes).error();
    auto move = [](const std::vector<std::string>& names, std::vector<std::string>* to,
                   std::vector<std::string>* from) {
      for (const auto& n : names) {
        std::erase(*from, n);
        if (std::find(to->begin(), to->end(), n) == to->end()) to->push_back(n);
      }
    };
    move(changes->allow, &spec->allow, &spec->deny);
    move(changes->deny, &spec->deny, &spec->allow);
  }
  spec->to_attrs(*attrs);
  return vs::ok();
}

// Applies the requested changes to the state (not yet written).
Result<void> change(const Args& a, ContextState* st) {
  auto& attrs = st->attrs;
  if (a.secure) {
    // The secure defaults: the guest bounding set, no context capabilities, the default
    // seccomp profile (the keys are simply absent).
    attrs.erase("bcaps");
    attrs.erase("ccaps");
    vs::shim::SeccompSpec{}.to_attrs(attrs);
    attrs.erase("seccomp");
  }
  if (!a.bcaps.empty()) {
    std::map<std::string, std::string> base = attrs;
    base.erase("ccaps");
    auto cur = vs::shim::bcaps_from_attrs(base);
    if (!cur) return std::move(cur).error();
    auto m = vs::shim::apply_cap_changes(*cur, join(a.bcaps));
    if (!m) return std::move(m).error();
    attrs["bcaps"] = vs::shim::format_caps(*m);
  }
  if (!a.ccaps.empty()) {
    auto it = attrs.find("ccaps");
    auto c = vs::shim::normalize_ccaps(it == attrs.end() ? "" : it->second, join(a.ccaps));
    if (!c) return std::move(c).error();
    if (c->empty()) {
      attrs.erase("ccaps");
    } else {
      attrs["ccaps"] = *c;
    }
  }
  if (!a.flags.empty()) {
    auto it = attrs.find("flags");
    std::string cur = it == attrs.end() ? "" : it->second;
    if (st->persistent) cur += ",persistent";
    auto f = vs::shim::apply_flag_changes(cur, join(a.flags), st->namespaces);
    if (!f) return std::move(f).error();
    // persistent lives in the state itself (release clears it there).
    st->persistent = vs::shim::has_flag(*f, "persistent");
    std::string rest;
    for (auto w : vs::split_list(*f)) {
      if (w != "persistent") rest += (rest.empty() ? "" : ",") + std::string(w);
    }
    if (rest.empty()) {
      attrs.erase("flags");
    } else {
      attrs["flags"] = rest;
    }
  }
  for (const auto& list : a.seccomp) {
    if (auto r = change_seccomp(list, &attrs); !r) return r;
  }
  return vs::shim::check_attributes(attrs);
}

int set(const ContextTable& table, Xid xid, Xid mine, const Args& a) {
  auto lk = table.lock(xid, true);
  if (!lk) return vs::tool::report(kTool, lk.error());
  auto st = table.read_state(xid);
  if (!st) return vs::tool::report(kTool, st.error());
  if (st->stage == ContextStage::kRunning && mine.is_context()) {
    return vs::tool::report(
        kTool, vs::make_error(vs::ErrorKind::kWrongState, "set attributes", "context " + xid.str(),
                              "it is sealed: no changes from inside", EPERM));
  }
  if (auto r = change(a, &*st); !r) return vs::tool::report(kTool, r.error());
  if (auto r = table.write_state(*st); !r) return vs::tool::report(kTool, r.error());
  return vs::kExitOk;
}

int get(const ContextTable& table, Xid xid) {
  auto st = table.lookup(xid);
  if (!st) return vs::tool::report(kTool, st.error());
  // The recorded bounding set; what the ccaps add to it is shown by their names.
  auto recorded = st->attrs;
  recorded.erase("ccaps");
  auto bcaps = vs::shim::bcaps_from_attrs(recorded);
  if (!bcaps) return vs::tool::report(kTool, bcaps.error());
  auto seccomp = vs::shim::SeccompSpec::from_attrs(st->attrs);
  if (!seccomp) return vs::tool::report(kTool, seccomp.error());
  auto it = st->attrs.find("ccaps");
  std::string sc = !seccomp->enabled ? "none" : "default";
  if (seccomp->enabled && !(seccomp->allow.empty() && seccomp->deny.empty())) {
    sc += " " + vs::shim::format_seccomp_changes(*seccomp);
  }
  std::printf("xid %s\nstage %s\nbcaps %s\nccaps %s\nflags %s\nseccomp %s\n",
              xid.str().c_str(), vs::shim::stage_name(st->stage).c_str(),
              vs::shim::format_caps(*bcaps).c_str(),
              it == st->attrs.end() ? "" : it->second.c_str(), effective_flags(*st).c_str(),
              sc.c_str());
  return vs::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Set or show the capability bounds, context capabilities and flags of a context. "
      "They hold its processes from the seal (vcontext --endsetup) on, and every process "
      "entering it later.",
      kTool};
  Args a;
  app.add_option("--xid", a.xid, "the context (default: the caller's)")->type_name("XID");
  auto* modes = app.add_option_group("mode", "exactly one of");
  modes->add_flag("--set", a.set, "change the attributes given");
  modes->add_flag("--get", a.get, "print xid, stage, bcaps, ccaps and flags");
  modes->require_option(1);
  app.add_option("--bcap", a.bcaps,
                 "bounding set changes: CAP_NAME or NAME adds, ~NAME removes, ^N by number, "
                 "all, none (repeatable, comma lists)")
      ->allow_extra_args(false)
      ->type_name("LIST");
  app.add_option("--ccap", a.ccaps, "context capability changes (set_rlimit; ~NAME removes)")
      ->allow_extra_args(false)
      ->type_name("LIST");
  app.add_option("--flag", a.flags, "flag changes (private, persistent, ...; ~NAME clears)")
      ->allow_extra_args(false)
      ->type_name("LIST");
  app.add_option("--seccomp", a.seccomp,
                 "seccomp: none, default, or syscall changes (NAME allows, -NAME denies)")
      ->allow_extra_args(false)
      ->type_name("LIST");
  app.add_flag("--secure", a.secure,
               "reset to the secure defaults first (the guest bounding set, no ccaps, the "
               "default seccomp profile)");
  app.add_option("command", a.command, "CMD ARGS... to exec afterwards (after --)");
  vs::tool::add_common_options(app, a.common);
  app.positionals_at_end(false);
  int code = 0;
  if (!vs::tool::parse_args(app, argc, argv, &code)) return code;
  auto fail = [](const Error& e) { return vs::tool::report(kTool, e); };
  if (a.get && (a.secure || !a.bcaps.empty() || !a.ccaps.empty() || !a.flags.empty() ||
                !a.seccomp.empty())) {
    return fail(vs::usage_error("--get", "cannot be combined with changes"));
  }

  ContextTable table(vs::tool::shim_config(a.common));
  if (auto r = table.prepare(); !r) return fail(r.error());
  Xid mine(0);
  auto target =
      vs::tool::target_xid(table, a.xid, &mine, "required: this process is in no context");
  if (!target) return fail(target.error());
  Xid xid = *target;
  int rc = a.set ? set(table, xid, mine, a) : get(table, xid);
  if (rc != vs::kExitOk || a.command.empty()) return rc;
  return vs::tool::exec_command(kTool, a.command);
}
