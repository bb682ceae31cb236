#include "tests/integration/vserver_cli.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "kernel-shim/cgroup.h"
#include "tests/support/root_env.h"

namespace vs::test {

namespace fs = std::filesystem;

CmdResult vserver(std::vector<std::string> args, int timeout_s) {
  args.insert(args.begin(), tool_path("vserver"));
  return run_cmd(args, timeout_s);
}

void write(const std::string& p, const std::string& text, mode_t mode) {
  std::ofstream(p, std::ios::binary | std::ios::trunc) << text;
  ::chmod(p.c_str(), mode);
}

std::string vdir(const std::string& name) { return root_env().vdirbase + "/" + name; }
std::string confdir(const std::string& name) { return root_env().confdir + "/" + name; }

void build(const std::string& name, const std::string& extra) {
  auto r = vserver({name, "build", "-m", "busybox", "--quiet"});
  ASSERT_EQ(r.status, 0) << r.err;
  if (!extra.empty()) {
    std::ofstream(confdir(name) + "/vserver.toml", std::ios::app) << "\n" << extra << "\n";
  }
}

void remove_guest(const std::string& name) {
  (void)vserver({name, "stop", "--kill"});
  (void)vserver({name, "delete", "--yes"});
}

std::vector<std::string> rundir_entries() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root_env().rundir, ec)) {
    std::string n = e.path().filename().string();
    if (!n.empty() && n[0] >= '0' && n[0] <= '9') out.push_back(n);
  }
  return out;
}

std::vector<std::string> context_cgroups() {
  std::vector<std::string> out;
  auto layout = vs::shim::CgroupLayout::discover();
  if (!layout) return out;
  std::vector<std::string> roots = {layout->v2_root};
  for (const auto& h : layout->v1) roots.push_back(h.mount_point);
  for (const auto& r : roots) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(r + "/" + root_env().cgroup_parent, ec)) {
      if (e.is_directory()) out.push_back(e.path().string());
    }
  }
  return out;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace vs::test
