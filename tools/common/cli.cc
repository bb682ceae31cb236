#include "tools/common/cli.h"

#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "lib/base/syscall.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace vs::tool {

void add_common_options(CLI::App& app, CommonOptions& opts) {
  app.add_option("--rundir", opts.rundir,
                 "context table directory (default $VSERVER_RUNDIR or /run/vservers)");
  app.add_option("--cgroup-parent", opts.cgroup_parent,
                 "cgroup directory holding the contexts (default $VSERVER_CGROUP_PARENT or "
                 "vservers)");
}

vs::shim::ShimConfig shim_config(const CommonOptions& opts) {
  auto config = vs::shim::ShimConfig::from_env();
  if (!opts.rundir.empty()) config.rundir = opts.rundir;
  if (!opts.cgroup_parent.empty()) config.cgroup.parent = opts.cgroup_parent;
  return config;
}

void add_root_options(CLI::App& app, RootOptions& opts) {
  app.add_option("--confdir", opts.confdir,
                 "guest configurations (default $VSERVER_CONFDIR or /etc/vservers)");
  app.add_option("--vdirbase", opts.vdirbase,
                 "base of the guests' root trees (default $VSERVER_VDIRBASE or /vservers)");
}

vs::ConfigRoots config_roots(const RootOptions& opts, const CommonOptions& common) {
  auto roots = vs::ConfigRoots::from_env();
  if (!opts.confdir.empty()) roots.confdir = opts.confdir;
  if (!opts.vdirbase.empty()) roots.vdirbase = opts.vdirbase;
  roots.rundir = shim_config(common).rundir;
  return roots;
}

std::vector<std::string> forwarded_options(const RootOptions& roots, const CommonOptions& common) {
  std::vector<std::string> out;
  auto pass = [&out](const char* opt, const std::string& value) {
    if (value.empty()) return;
    out.push_back(opt);
    out.push_back(value);
  };
  pass("--confdir", roots.confdir);
  pass("--vdirbase", roots.vdirbase);
  pass("--rundir", common.rundir);
  pass("--cgroup-parent", common.cgroup_parent);
  return out;
}

std::string sibling_tool(const std::string& name) {
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return name;  // then PATH finds it
  std::string dir(self, static_cast<size_t>(n));
  return dir.substr(0, dir.rfind('/') + 1) + name;
}

int report(const char* tool, const Error& e) {
  std::fprintf(stderr, "%s: %s\n", tool, e.message().c_str());
  return exit_code_for(e);
}

bool parse_args(CLI::App& app, int argc, char** argv, int* exit_code) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    *exit_code = kExitOk;
    return false;
  } catch (const CLI::CallForVersion&) {
    std::puts("vserver 0.1.0");
    *exit_code = kExitOk;
    return false;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: %s (see --help)\n", app.get_name().c_str(), e.what());
    *exit_code = kExitUsage;
    return false;
  }
  return true;
}

Result<vs::shim::Xid> parse_xid_arg(const std::string& text) {
  return vs::shim::Xid::parse_context(text);
}

Result<vs::shim::Xid> target_xid(const vs::shim::ContextTable& table, const std::string& xid_text,
                                 vs::shim::Xid* caller, const std::string& on_host) {
  auto mine = table.current_xid();
  if (!mine) return std::move(mine).error();
  *caller = *mine;
  if (!xid_text.empty()) return parse_xid_arg(xid_text);
  if (!mine->is_context()) return usage_error("--xid", on_host);
  return *mine;
}

int exec_command(const char* tool, const std::vector<std::string>& argv) {
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  // Nothing of ours but stdin, stdout and stderr reaches the command (R4).
  (void)vs::sys::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  ::execvp(args[0], args.data());
  int err = errno;
  std::fprintf(stderr, "%s: exec `%s`: %s\n", tool, argv.empty() ? "" : argv[0].c_str(),
               std::strerror(err));
  return kExitExecFailed;
}

}  // namespace vs::tool
