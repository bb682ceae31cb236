#include "lib/guest/boot.h"

#include <algorithm>
#include <map>
#include <set>

namespace vs {

Result<std::vector<std::vector<std::string>>> boot_waves(const std::vector<GuestConfig>& guests,
                                                         std::string_view mark) {
  std::map<std::string, const GuestConfig*, std::less<>> by_name;
  for (const auto& g : guests) by_name[g.name] = &g;
  // The guests to start: the mark's, then their dependencies, transitively.
  std::set<std::string> chosen;
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
        return usage_error("init.depends", "guest `" + name + "` depends on `" + dep +
                                               "`, which is not configured");
      }
      todo.push_back(dep);
    }
  }
  // Waves: a guest goes in the first wave after all of its dependencies.
  std::vector<std::vector<std::string>> waves;
  std::set<std::string> placed;
  while (placed.size() < chosen.size()) {
    std::vector<std::string> wave;
    for (const auto& name : chosen) {
      if (placed.count(name)) continue;
      const auto& deps = by_name.at(name)->depends;
      if (std::all_of(deps.begin(), deps.end(), [&](const auto& d) { return placed.count(d); })) {
        wave.push_back(name);
      }
    }
    if (wave.empty()) {
      std::string rest;
      for (const auto& name : chosen) {
        if (!placed.count(name)) rest += (rest.empty() ? "" : ", ") + name;
      }
      return usage_error("init.depends", "a dependency cycle among " + rest);
    }
    placed.insert(wave.begin(), wave.end());
    waves.push_back(std::move(wave));
  }
  return waves;
}

}  // namespace vs
