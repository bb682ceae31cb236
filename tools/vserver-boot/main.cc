// vserver-boot: starts every guest of a boot mark at boot, in dependency waves, each wave in
// parallel with a bound; stops them in reverse at shutdown. The systemd units and the sysv
// script both call it. Each guest is started by its own `vserver NAME start` process
// (lib/guest/boot.h run_boot).
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "kernel-shim/context_table.h"
#include "lib/base/escape.h"
#include "lib/base/exit_code.h"
#include "lib/config/config.h"
#include "lib/guest/boot.h"
#include "lib/guest/lifecycle.h"
#include "tools/common/cli.h"

namespace {

constexpr const char* kTool = "vserver-boot";

// status, with LSB's exit codes (the sysv script's `status`): one line per guest of the mark
// (and the guests they depend on); 0 when every one runs, 3 when one does not (or the mark has
// none), 4 when that cannot be told.
int status(const vs::ConfigRoots&, const vs::tool::CommonOptions& common,
           const std::vector<vs::GuestConfig>& guests, const std::string& mark) {
  constexpr int kLsbRunning = 0, kLsbNotRunning = 3, kLsbUnknown = 4;
  vs::BootOrder order = vs::boot_order(guests, mark, true);
  vs::shim::ContextTable table(vs::tool::shim_config(common));
  if (auto r = table.prepare(); !r) {
    vs::tool::report(kTool, r.error());
    return kLsbUnknown;
  }
  std::map<std::string, const vs::GuestConfig*> by_name;
  for (const auto& g : guests) by_name[g.name] = &g;
  size_t total = 0, running = 0;
  for (const auto& wave : order.waves) {
    for (const auto& name : wave) {
      auto found = vs::find_guest_context(table, *by_name.at(name));
      if (!found) {
        vs::tool::report(kTool, found.error());
        return kLsbUnknown;
      }
      ++total;
      if (*found) ++running;
      std::printf("%s %s\n", name.c_str(), *found ? "running" : "stopped");
    }
  }
  if (total == 0) std::printf("no guest has mark %s\n", mark.c_str());
  return total > 0 && running == total ? kLsbRunning : kLsbNotRunning;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Start (or stop) every guest whose init.mark is MARK, with the guests they "
      "depend on (init.depends) first; each wave in parallel.",
      kTool};
  std::string action, mark = "default";
  vs::tool::RootOptions root_opts;
  unsigned jobs = 8;
  vs::tool::CommonOptions common;
  app.add_option("action", action, "start, stop or status")
      ->required()
      ->check(CLI::IsMember({"start", "stop", "status"}));
  app.add_option("--mark", mark, "the boot mark (default: default)");
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "one line per guest on stdout as it is settled");
  app.add_option("-j,--jobs", jobs, "guests started or stopped at once (default 8)")
      ->check(CLI::Range(1u, 256u));
  vs::tool::add_root_options(app, root_opts);
  vs::tool::add_common_options(app, common);
  int code = 0;
  if (!vs::tool::parse_args(app, argc, argv, &code)) return code;
  auto roots = vs::tool::config_roots(root_opts, common);
  const bool starting = action == "start";
  // Nothing of one guest holds back the others: a broken guest is skipped (start) with its
  // reason; to stop, a broken guest whose own configuration loads is stopped like the
  // others (a hand edit must not keep a guest running at shutdown). Every problem makes the
  // exit code 1 at the end.
  auto set = vs::load_guest_set(roots);
  if (!set) return vs::tool::report(kTool, set.error());
  size_t problems = 0;
  std::vector<vs::GuestConfig> usable = std::move(set->guests);
  std::map<std::string, std::string> broken_why;
  for (auto& b : set->broken) {
    broken_why[b.name] = b.error.message();
    if (action == "status") {
      if (b.config) usable.push_back(std::move(*b.config));
      continue;
    }
    const bool ours = !b.config || b.config->mark == mark;
    if (!starting && b.config) {
      usable.push_back(std::move(*b.config));
      if (ours) {
        ++problems;
        std::fprintf(stderr, "%s: %s is broken (stopped all the same): %s\n", kTool, b.name.c_str(),
                     b.error.message().c_str());
      }
      continue;
    }
    if (!ours) continue;  // of another mark: its own boot reports it
    ++problems;
    std::fprintf(stderr, "%s: %s %s: %s\n", kTool, b.config ? "not starting" : "skipped",
                 vs::escape_terminal(b.name).c_str(), b.error.message().c_str());
  }
  if (action == "status") return status(roots, common, usable, mark);
  vs::BootOrder order = vs::boot_order(usable, mark, !starting, broken_why);
  for (const auto& [name, why] : order.left_out) {
    ++problems;
    std::fprintf(stderr, "%s: not starting %s: %s\n", kTool, name.c_str(), why.c_str());
  }
  for (const auto& p : order.problems) {
    ++problems;
    std::fprintf(stderr, "%s: %s\n", kTool, p.c_str());
  }

  vs::BootPlan plan;
  plan.waves = std::move(order.waves);
  if (starting) {
    for (const auto& g : usable) plan.depends[g.name] = g.depends;
  } else {
    std::reverse(plan.waves.begin(), plan.waves.end());
  }
  plan.jobs = jobs;
  std::vector<std::string> base = {vs::tool::sibling_tool("vserver")};
  auto passed = vs::tool::forwarded_options(root_opts, common);
  base.insert(base.end(), passed.begin(), passed.end());
  plan.command = [&](const std::string& name) {
    std::vector<std::string> args = base;
    args.push_back(name);
    args.push_back(action);
    return args;
  };
  auto done = vs::run_boot(plan, [&](const vs::BootEvent& ev) {
    using Outcome = vs::BootEvent::Outcome;
    if (ev.outcome == Outcome::kFailed) {
      std::fprintf(stderr, "%s: %s %s failed (exit %d)\n", kTool, action.c_str(), ev.name.c_str(),
                   ev.exit_code);
    } else if (ev.outcome == Outcome::kSkipped) {
      std::fprintf(stderr, "%s: not starting %s: a guest it depends on failed\n", kTool,
                   ev.name.c_str());
    } else if (ev.outcome == Outcome::kNotRun) {
      std::fprintf(stderr, "%s: %s %s: %s\n", kTool, action.c_str(), ev.name.c_str(),
                   ev.error.message().c_str());
    } else if (verbose) {
      std::printf("%s: %s %s: %s\n", kTool, action.c_str(), ev.name.c_str(),
                  ev.exit_code == vs::kExitWrongState
                      ? (starting ? "was running" : "was not running")
                      : (starting ? "started" : "stopped"));
      std::fflush(stdout);
    }
  });
  if (!done) return vs::tool::report(kTool, done.error());
  if (verbose) {
    std::printf("%s: %s --mark %s: %zu done, %zu failed, %zu skipped, %zu other problems\n", kTool,
                action.c_str(), mark.c_str(), done->done, done->failed, done->skipped, problems);
  }
  return done->failed == 0 && done->skipped == 0 && problems == 0 ? vs::kExitOk : vs::kExitFailed;
}
