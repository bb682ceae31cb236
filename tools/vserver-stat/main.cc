// vserver-stat: one row per running context from its cgroup accounting (util-vserver's
// vserver-stat, on the shim), as a table, JSON or the Prometheus text format.
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include "kernel-shim/context_table.h"
#include "lib/base/fs_at.h"
#include "lib/monitor/stat.h"
#include "lib/monitor/stat_format.h"
#include "tools/common/cli.h"

namespace {

constexpr const char* kTool = "vserver-stat";

struct Args {
  vs::tool::CommonOptions common;
  bool json = false;
  bool prometheus = false;
  bool fail_counters = false;
};
Args arg_;

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Show the running contexts and their resource usage.", kTool};
  app.set_version_flag("--version", "vserver 0.1.0");
  auto* json = app.add_flag("--json", arg_.json, "one JSON object {\"contexts\": [...]}");
  app.add_flag("--prometheus", arg_.prometheus,
               "the Prometheus text exposition format (node_exporter textfile collector)")
      ->excludes(json);
  app.add_flag("-f,--fail-counters", arg_.fail_counters,
               "table: add the OOM, MEMFAIL, PIDFAIL and THROTTLED columns");
  vs::tool::add_common_options(app, arg_.common);
  int rc = 0;
  if (!vs::tool::parse_args(app, argc, argv, &rc)) return rc;

  vs::shim::ContextTable table(vs::tool::shim_config(arg_.common));
  if (auto r = table.prepare(); !r) return vs::tool::report(kTool, r.error());
  auto rows = vs::monitor::collect_stats(table, static_cast<int64_t>(::time(nullptr)));
  if (!rows) return vs::tool::report(kTool, rows.error());
  std::string out;
  if (arg_.json) {
    out = vs::monitor::format_stat_json(*rows);
  } else if (arg_.prometheus) {
    out = vs::monitor::format_stat_prometheus(*rows);
  } else {
    out = vs::monitor::format_stat_table(*rows, arg_.fail_counters);
  }
  return vs::write_all(STDOUT_FILENO, out) ? vs::kExitOk : vs::kExitFailed;
}
