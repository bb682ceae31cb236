#include "kernel-shim/attributes.h"

#include <algorithm>
#include <string_view>

#include "kernel-shim/caps.h"
#include "kernel-shim/flags.h"
#include "kernel-shim/seccomp.h"
#include "lib/base/parse.h"

namespace vs::shim {

namespace {

std::string join(const std::vector<std::string>& lists) {
  std::string out;
  for (const auto& l : lists) out += (out.empty() ? "" : ",") + l;
  return out;
}

// The flags a context has: the recorded ones and the implied ones whose namespaces it has.
std::string effective_flags(const ContextState& st) {
  const std::string& recorded = st.confinement.flags;
  std::string out;
  for (const auto& f : flag_table()) {
    bool on = false;
    if (f.kind == FlagKind::kRecorded) {
      on =
          has_flag(recorded, f.name) || (std::string_view(f.name) == "persistent" && st.persistent);
    } else if (f.kind == FlagKind::kImplied) {
      on = (f.needs & ~st.namespaces) == 0;
      if (std::string_view(f.name) == "state_setup") on = st.stage == ContextStage::kSetup;
    }
    if (on) out += (out.empty() ? "" : ",") + std::string(f.name);
  }
  return out;
}

// One --seccomp value: `none`, `default`, or syscall changes merged into the current ones.
Result<void> change_seccomp(const std::string& list, SeccompSpec* spec) {
  if (list == "none" || list == "default") {
    *spec = SeccompSpec{};
    spec->enabled = list == "default";
  } else {
    auto changes = parse_seccomp_changes(list);
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
  return ok();
}

// Applies the changes to the state (not yet written).
Result<void> apply(const AttributeChange& a, ContextState* st) {
  Confinement& c = st->confinement;
  if (a.secure) {
    // The secure defaults: the guest bounding set, no context capabilities, the default
    // seccomp profile.
    c.bcaps.reset();
    c.ccaps.clear();
    c.seccomp = SeccompSpec{};
  }
  if (!a.bcaps.empty()) {
    auto m = apply_cap_changes(c.bcaps.value_or(default_guest_bcaps()), join(a.bcaps));
    if (!m) return std::move(m).error();
    c.bcaps = *m;
  }
  if (!a.ccaps.empty()) {
    auto n = normalize_ccaps(c.ccaps, join(a.ccaps));
    if (!n) return std::move(n).error();
    c.ccaps = *n;
  }
  if (!a.flags.empty()) {
    std::string cur = c.flags;
    if (st->persistent) cur += ",persistent";
    auto f = apply_flag_changes(cur, join(a.flags), st->namespaces);
    if (!f) return std::move(f).error();
    // persistent lives in the state itself (release clears it there).
    st->persistent = has_flag(*f, "persistent");
    std::string rest;
    for (auto w : split_list(*f)) {
      if (w != "persistent") rest += (rest.empty() ? "" : ",") + std::string(w);
    }
    c.flags = rest;
  }
  for (const auto& list : a.seccomp) {
    if (auto r = change_seccomp(list, &c.seccomp); !r) return r;
  }
  return check_confinement(c);
}

}  // namespace

Result<void> change_attributes(const ContextTable& table, Xid xid, const AttributeChange& change) {
  auto mine = table.current_xid();
  if (!mine) return std::move(mine).error();
  // No lock file is made for a context that does not exist.
  if (auto found = table.lookup(xid); !found) return std::move(found).error();
  auto lk = table.lock(xid, true);
  if (!lk) return std::move(lk).error();
  auto st = table.read_state(xid);
  if (!st) return std::move(st).error();
  if (st->stage == ContextStage::kRunning && mine->is_context()) {
    return make_error(ErrorKind::kWrongState, "set attributes", "context " + xid.str(),
                      "it is sealed: no changes from inside", EPERM);
  }
  if (auto r = apply(change, &*st); !r) return r;
  return table.write_state(*st);
}

Result<AttributeView> read_attributes(const ContextTable& table, Xid xid) {
  auto st = table.lookup(xid);
  if (!st) return std::move(st).error();
  const Confinement& c = st->confinement;
  AttributeView v;
  v.xid = xid;
  v.stage = st->stage;
  // The recorded bounding set; what the ccaps add to it is shown by their names.
  v.bcaps = format_caps(c.bcaps.value_or(default_guest_bcaps()));
  v.ccaps = c.ccaps;
  v.flags = effective_flags(*st);
  v.seccomp = !c.seccomp.enabled ? "none" : "default";
  if (c.seccomp.enabled && !(c.seccomp.allow.empty() && c.seccomp.deny.empty())) {
    v.seccomp += " " + format_seccomp_changes(c.seccomp);
  }
  return v;
}

}  // namespace vs::shim
