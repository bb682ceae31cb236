// vserver-info: answers util-vserver's vserver-info queries about a guest or a context,
// and `vserver-info - SYSINFO` (the kernel features present) for bug reports.
#include <cstdio>
#include <string>
#include <vector>

#include "kernel-shim/context_table.h"
#include "lib/base/escape.h"
#include "lib/guest/paths.h"
#include "lib/monitor/info.h"
#include "tools/common/cli.h"

namespace {

constexpr const char* kTool = "vserver-info";

struct Args {
  vs::tool::CommonOptions common;
  std::string confdir;
  std::string target;
  std::string query;
  std::vector<std::string> args;
};
Args arg_;

}  // namespace

int main(int argc, char** argv) {
  std::string queries;
  for (const auto& q : vs::monitor::info_queries()) queries += (queries.empty() ? "" : " ") + q;
  CLI::App app{"Answer a query about a guest (NAME), a context (XID) or the host (-).\n"
               "Queries: " + queries + ". RUNNING exits 0 when running, 1 when not.",
               kTool};
  app.set_version_flag("--version", "vserver 0.1.0");
  app.add_option("target", arg_.target, "a guest name, a context xid, or - (SYSINFO)")
      ->required();
  app.add_option("query", arg_.query, queries)->required();
  app.add_option("args", arg_.args, "arguments of the query (APPDIR: the application)");
  app.add_option("--confdir", arg_.confdir,
                 "guest configuration root (default $VSERVER_CONFDIR or /etc/vservers)");
  vs::tool::add_common_options(app, arg_.common);
  int rc = 0;
  if (!vs::tool::parse_args(app, argc, argv, &rc)) return rc;

  vs::ConfigRoots roots = vs::ConfigRoots::from_env();
  if (!arg_.confdir.empty()) roots.confdir = arg_.confdir;
  vs::shim::ContextTable table(vs::tool::shim_config(arg_.common));
  if (auto r = table.prepare(); !r) return vs::tool::report(kTool, r.error());
  auto a = vs::monitor::answer_info(table, roots, arg_.target, arg_.query, arg_.args);
  if (!a) return vs::tool::report(kTool, a.error());
  for (const auto& line : a->lines) {
    // Paths and names come from configuration and state files: escaped like guest data,
    // with room for a long path.
    std::printf("%s\n", vs::escape_terminal(line, 4096).c_str());
  }
  return a->negative ? vs::kExitFailed : vs::kExitOk;
}
