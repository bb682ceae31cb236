#include "lib/guest/boot.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include "lib/base/child.h"
#include "lib/base/eintr.h"
#include "lib/base/exit_code.h"
#include "lib/base/unique_fd.h"

namespace vs {

BootOrder boot_order(const std::vector<GuestConfig>& guests, std::string_view mark, bool stopping,
                     const std::map<std::string, std::string>& broken) {
  BootOrder order;
  std::map<std::string, const GuestConfig*, std::less<>> by_name;
  for (const auto& g : guests) by_name[g.name] = &g;
  auto missing_why = [&](const std::string& name, const std::string& dep) {
    auto b = broken.find(dep);
    return name + " depends on " + dep + ", which is " +
           (b == broken.end() ? std::string("not configured") : "broken: " + b->second);
  };
  // The guests concerned: the mark's, then their dependencies, transitively. Each one's known
  // dependencies; a guest with a dependency that is not there is blocked (start).
  std::set<std::string> chosen;
  std::map<std::string, std::vector<std::string>> deps;
  std::map<std::string, std::string> blocked;  // name -> why
  std::vector<std::string> todo;
  for (const auto& g : guests) {
    if (g.mark == mark) todo.push_back(g.name);
  }
  while (!todo.empty()) {
    std::string name = std::move(todo.back());
    todo.pop_back();
    if (!chosen.insert(name).second) continue;
    for (const auto& dep : by_name.at(name)->depends) {
      if (!by_name.count(dep)) {
        if (stopping) {
          order.problems.push_back(missing_why(name, dep) + " (ignored to stop)");
        } else if (!blocked.count(name)) {
          blocked[name] = missing_why(name, dep);
        }
        continue;
      }
      deps[name].push_back(dep);
      todo.push_back(dep);
    }
  }
  // A guest depending on a blocked one is blocked too.
  for (bool more = true; more;) {
    more = false;
    for (const auto& name : chosen) {
      if (blocked.count(name)) continue;
      for (const auto& d : deps[name]) {
        if (!blocked.count(d)) continue;
        blocked[name] = name + " depends on " + d + ", which is not started";
        more = true;
        break;
      }
    }
  }
  // Waves: a guest goes in the first wave after all of its dependencies.
  std::set<std::string> placed;
  for (const auto& [name, why] : blocked) placed.insert(name);
  while (placed.size() < chosen.size()) {
    std::vector<std::string> wave;
    for (const auto& name : chosen) {
      if (placed.count(name)) continue;
      const auto& ds = deps[name];
      if (std::all_of(ds.begin(), ds.end(), [&](const auto& d) { return placed.count(d); })) {
        wave.push_back(name);
      }
    }
    if (wave.empty()) {
      std::string rest;
      std::vector<std::string> cycle;
      for (const auto& name : chosen) {
        if (placed.count(name)) continue;
        rest += (rest.empty() ? "" : ", ") + name;
        cycle.push_back(name);
      }
      if (stopping) {
        order.problems.push_back("a dependency cycle among " + rest + " (stopped in one wave)");
        placed.insert(cycle.begin(), cycle.end());
        order.waves.push_back(std::move(cycle));
        break;
      }
      for (const auto& name : cycle) blocked[name] = "a dependency cycle among " + rest;
      break;
    }
    placed.insert(wave.begin(), wave.end());
    order.waves.push_back(std::move(wave));
  }
  for (auto& [name, why] : blocked) order.left_out.emplace_back(name, std::move(why));
  return order;
}

Result<std::vector<std::vector<std::string>>> boot_waves(const std::vector<GuestConfig>& guests,
                                                         std::string_view mark) {
  BootOrder order = boot_order(guests, mark, false);
  if (!order.left_out.empty()) {
    return usage_error("init.depends", "not starting " + order.left_out.front().first + ": " +
                                           order.left_out.front().second);
  }
  return std::move(order.waves);
}

namespace {

// A guest's command, running.
struct Running {
  std::string name;
  Child child;
};

// Starts argv as a child of ours. An exec failure comes back over a close-on-exec pipe as the
// spawn's error, so a missing or unexecutable command is told apart from one that failed.
Result<Child> start_command(const std::vector<std::string>& argv) {
  if (argv.empty()) return usage_error("command", "empty");
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return sys_error("pipe2", argv[0]);
  UniqueFd rd(p[0]), wr(p[1]);
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  auto child = Child::spawn({}, [&] {
    rd.reset();
    ::execv(cargv[0], cargv.data());
    int err = errno;
    (void)!::write(wr.get(), &err, sizeof err);
    return kExitExecFailed;
  });
  if (!child) return std::move(child).error();
  wr.reset();
  int err = 0;
  ssize_t n = retry_eintr([&] { return ::read(rd.get(), &err, sizeof err); });
  if (n == static_cast<ssize_t>(sizeof err)) {
    (void)child->wait();
    return sys_error("run", argv[0], err);
  }
  return child;
}

// Waits until one of `running` ended; reaps it and returns its index and status.
Result<std::pair<size_t, ExitStatus>> wait_any(std::vector<Running>& running) {
  std::vector<struct pollfd> fds;
  for (const auto& r : running) fds.push_back({r.child.pidfd(), POLLIN, 0});
  if (retry_eintr([&] { return ::poll(fds.data(), fds.size(), -1); }) < 0) {
    return sys_error("poll", "boot commands");
  }
  for (size_t i = 0; i < fds.size(); ++i) {
    if (!(fds[i].revents & (POLLIN | POLLHUP))) continue;
    auto st = running[i].child.wait();
    if (!st) return std::move(st).error();
    return std::make_pair(i, *st);
  }
  return sys_error("poll", "boot commands", EIO);
}

}  // namespace

Result<BootSummary> run_boot(const BootPlan& plan,
                             const std::function<void(const BootEvent&)>& on_event) {
  const size_t jobs = std::max<size_t>(plan.jobs, 1);
  BootSummary sum;
  std::set<std::string> failed;  // failed, not run or skipped: their dependents are skipped
  auto settle = [&](BootEvent ev) {
    switch (ev.outcome) {
      case BootEvent::Outcome::kDone:
        ++sum.done;
        break;
      case BootEvent::Outcome::kSkipped:
        ++sum.skipped;
        break;
      case BootEvent::Outcome::kFailed:
      case BootEvent::Outcome::kNotRun:
        ++sum.failed;
        break;
    }
    if (ev.outcome != BootEvent::Outcome::kDone) failed.insert(ev.name);
    if (on_event) on_event(ev);
  };
  for (const auto& wave : plan.waves) {
    std::vector<Running> running;
    size_t next = 0;
    while (next < wave.size() || !running.empty()) {
      if (next < wave.size() && running.size() < jobs) {
        const std::string& name = wave[next++];
        BootEvent ev;
        ev.name = name;
        auto deps = plan.depends.find(name);
        if (deps != plan.depends.end() &&
            std::any_of(deps->second.begin(), deps->second.end(),
                        [&](const std::string& d) { return failed.count(d) > 0; })) {
          ev.outcome = BootEvent::Outcome::kSkipped;
          settle(std::move(ev));
          continue;
        }
        auto child = start_command(plan.command(name));
        if (!child) {
          ev.outcome = BootEvent::Outcome::kNotRun;
          ev.error = std::move(child).error();
          settle(std::move(ev));
          continue;
        }
        running.push_back({name, std::move(*child)});
        continue;
      }
      auto ended = wait_any(running);
      if (!ended) return std::move(ended).error();
      auto [i, status] = *ended;
      BootEvent ev;
      ev.name = std::move(running[i].name);
      ev.exit_code = status.as_exit_code();
      // Already running (start) or not running (stop) is what was wanted.
      const bool fine = ev.exit_code == kExitOk || ev.exit_code == kExitWrongState;
      ev.outcome = fine ? BootEvent::Outcome::kDone : BootEvent::Outcome::kFailed;
      running.erase(running.begin() + static_cast<long>(i));
      settle(std::move(ev));
    }
  }
  return sum;
}

}  // namespace vs
