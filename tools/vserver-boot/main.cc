// vserver-boot: starts every guest of a boot mark at boot, in dependency waves, each wave in
// parallel with a bound; stops them in reverse at shutdown. The systemd units and the sysv
// script both call it. Each guest is started by its own `vserver NAME start` process.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "lib/config/config.h"
#include "lib/guest/boot.h"
#include "tools/common/cli.h"

namespace {

constexpr const char* kTool = "vserver-boot";


}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Start (or stop) every guest whose init.mark is MARK, with the guests they "
               "depend on (init.depends) first; each wave in parallel.",
               kTool};
  std::string action, mark = "default";
  vs::tool::RootOptions root_opts;
  unsigned jobs = 8;
  vs::tool::CommonOptions common;
  app.add_option("action", action, "start or stop")->required()->check(
      CLI::IsMember({"start", "stop"}));
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
  for (const auto& e : broken) std::fprintf(stderr, "%s: skipped: %s\n", kTool, e.message().c_str());
  auto waves = vs::boot_waves(*guests, mark);
  if (!waves) return vs::tool::report(kTool, waves.error());
  bool starting = action == "start";
  if (!starting) std::reverse(waves->begin(), waves->end());

  const std::string vserver = vs::tool::sibling_tool("vserver");
  std::vector<std::string> base = {vserver};
  auto passed = vs::tool::forwarded_options(root_opts, common);
  base.insert(base.end(), passed.begin(), passed.end());
  std::map<std::string, std::vector<std::string>> needs;
  for (const auto& g : *guests) needs[g.name] = g.depends;
  std::set<std::string> failed;
  for (const auto& wave : *waves) {
    std::map<pid_t, std::string> running;
    size_t next = 0;
    auto reap_one = [&]() {
      int status = 0;
      pid_t pid = ::waitpid(-1, &status, 0);
      if (pid <= 0) return;
      std::string name = running[pid];
      running.erase(pid);
      int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      // Already running (start) or not running (stop) is what we wanted: exit 4 is fine.
      if (rc != 0 && rc != vs::kExitWrongState) {
        failed.insert(name);
        std::fprintf(stderr, "%s: %s %s failed (exit %d)\n", kTool, action.c_str(), name.c_str(),
                     rc);
      }
    };
    while (next < wave.size() || !running.empty()) {
      if (next < wave.size() && running.size() < jobs) {
        const std::string& name = wave[next++];
        bool dep_failed = false;
        for (const auto& d : needs[name]) dep_failed = dep_failed || failed.count(d);
        if (starting && dep_failed) {
          failed.insert(name);
          std::fprintf(stderr, "%s: not starting %s: a guest it depends on failed\n", kTool,
                       name.c_str());
          continue;
        }
        std::vector<std::string> args = base;
        args.push_back(name);
        args.push_back(action);
        std::vector<char*> cargv;
        for (auto& a : args) cargv.push_back(a.data());
        cargv.push_back(nullptr);
        pid_t pid = -1;
        int err = ::posix_spawn(&pid, vserver.c_str(), nullptr, nullptr, cargv.data(), environ);
        if (err != 0) {
          failed.insert(name);
          std::fprintf(stderr, "%s: run %s: %s\n", kTool, vserver.c_str(), std::strerror(err));
          continue;
        }
        running[pid] = name;
        continue;
      }
      reap_one();
    }
  }
  return failed.empty() ? vs::kExitOk : vs::kExitFailed;
}
