// vserver-boot: starts every guest of a boot mark at boot, in dependency waves, each wave in
// parallel with a bound; stops them in reverse at shutdown. The systemd units and the sysv
// script both call it. Each guest is started by its own `vserver NAME start` process
// (lib/guest/boot.h run_boot).
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "lib/config/config.h"
#include "lib/guest/boot.h"
#include "tools/common/cli.h"

namespace {

constexpr const char* kTool = "vserver-boot";

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
  app.add_option("action", action, "start or stop")
      ->required()
      ->check(CLI::IsMember({"start", "stop"}));
  app.add_option("--mark", mark, "the boot mark (default: default)");
  app.add_option("-j,--jobs", jobs, "guests started or stopped at once (default 8)")
      ->check(CLI::Range(1u, 256u));
  vs::tool::add_root_options(app, root_opts);
  vs::tool::add_common_options(app, common);
  int code = 0;
  if (!vs::tool::parse_args(app, argc, argv, &code)) return code;
  auto roots = vs::tool::config_roots(root_opts, common);
  std::vector<vs::Error> broken;
  auto guests = vs::load_all_guests(roots, &broken);
  if (!guests) return vs::tool::report(kTool, guests.error());
  for (const auto& e : broken)
    std::fprintf(stderr, "%s: skipped: %s\n", kTool, e.message().c_str());
  auto waves = vs::boot_waves(*guests, mark);
  if (!waves) return vs::tool::report(kTool, waves.error());

  const bool starting = action == "start";
  vs::BootPlan plan;
  plan.waves = std::move(*waves);
  if (starting) {
    for (const auto& g : *guests) plan.depends[g.name] = g.depends;
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
    }
  });
  if (!done) return vs::tool::report(kTool, done.error());
  return done->failed == 0 && done->skipped == 0 ? vs::kExitOk : vs::kExitFailed;
}
