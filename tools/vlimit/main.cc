// vlimit: set the rlimits and cgroup limits of a context, or the rlimits of a command run
// on the host (util-vserver's vlimit, on the shim).
#include <errno.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kernel-shim/context_table.h"
#include "kernel-shim/limits.h"
#include "kernel-shim/limits_change.h"
#include "lib/base/parse.h"
#include "tools/common/cli.h"
#include "tools/common/show.h"

namespace {

using vs::Error;
using vs::Result;
using vs::shim::ContextTable;
using vs::shim::LimitsChange;
using vs::shim::RlimitScope;
using vs::shim::Xid;

constexpr const char* kTool = "vlimit";

struct Args {
  vs::tool::CommonOptions common;
  std::string xid;
  bool soft = false;
  bool hard = false;
  std::vector<std::string> rlimit_values;  // one per rlimit_table() entry
  std::vector<CLI::Option*> rlimit_opts;
  std::string memory, memsw, pids, cpuset_cpus, cpuset_mems;
  CLI::Option* memory_opt = nullptr;
  CLI::Option* memsw_opt = nullptr;
  CLI::Option* pids_opt = nullptr;
  CLI::Option* cpus_opt = nullptr;
  CLI::Option* mems_opt = nullptr;
  CLI::Option* xid_opt = nullptr;
  bool show = false;
  bool all = false;
  bool json = false;
  std::vector<std::string> command;
};

Args arg_;

RlimitScope scope() {
  if (arg_.soft && !arg_.hard) return RlimitScope::kSoft;
  if (arg_.hard && !arg_.soft) return RlimitScope::kHard;
  return RlimitScope::kBoth;
}

// Every value on the command line, parsed before anything is looked up or changed.
Result<LimitsChange> parse_request() {
  LimitsChange req;
  const auto& table = vs::shim::rlimit_table();
  for (size_t i = 0; i < table.size(); ++i) {
    if (arg_.rlimit_opts[i]->count() == 0) continue;
    auto v = vs::shim::parse_rlimit_value(table[i].resource, arg_.rlimit_values[i]);
    if (!v) {
      Error e = std::move(v).error();
      e.subject = "--" + std::string(table[i].name);
      return e;
    }
    req.rlimits.push_back({table[i].resource, *v, "--" + std::string(table[i].name)});
  }
  auto size = [&](CLI::Option* opt, const std::string& text, const char* name,
                  std::optional<uint64_t>& out) -> Result<void> {
    if (opt->count() == 0) return vs::ok();
    auto v = vs::shim::parse_size_or_max(text, name);
    if (!v) return std::move(v).error();
    out = *v;
    return vs::ok();
  };
  if (auto r = size(arg_.memory_opt, arg_.memory, "--memory", req.cgroup.memory); !r) {
    return std::move(r).error();
  }
  if (auto r = size(arg_.memsw_opt, arg_.memsw, "--memsw", req.cgroup.memsw); !r) {
    return std::move(r).error();
  }
  if (arg_.pids_opt->count() > 0) {
    if (arg_.pids == "max" || arg_.pids == "inf" || arg_.pids == "unlimited") {
      req.cgroup.pids = vs::shim::kNoLimit;
    } else {
      auto v = vs::parse_uint(arg_.pids, 0, 4194304, "--pids");
      if (!v) return std::move(v).error();
      req.cgroup.pids = *v;
    }
  }
  if (arg_.cpus_opt->count() > 0) {
    req.cgroup.cpuset_cpus = arg_.cpuset_cpus;
  }
  if (arg_.mems_opt->count() > 0) {
    req.cgroup.cpuset_mems = arg_.cpuset_mems;
  }
  if (auto r = vs::shim::validate_cgroup_limits(req.cgroup); !r) return std::move(r).error();
  req.scope = scope();
  return req;
}

// An unknown long option is most often a misspelt limit: name it and list the limits, which
// CLI11's own message does not.
Result<void> check_option_names(CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg.size() <= 2 || arg.substr(0, 2) != "--") continue;
    const std::string name(arg.substr(0, arg.find('=')));
    if (app.get_option_no_throw(name) != nullptr || name == "--help" || name == "--version") {
      continue;
    }
    std::string rlimits;
    for (const auto& r : vs::shim::rlimit_table()) {
      rlimits += (rlimits.empty() ? "--" : ", --") + std::string(r.name);
    }
    return vs::usage_error(name, "unknown option (rlimits: " + rlimits +
                                     "; cgroup limits: --memory, --memsw, --pids, "
                                     "--cpuset-cpus, --cpuset-mems; see --help)");
  }
  return vs::ok();
}

int exec_command() { return vs::tool::exec_command(kTool, arg_.command); }

// The host: the limits are this process's, inherited by CMD.
int run_on_host(const LimitsChange& req) {
  if (req.changes_cgroup()) {
    return vs::tool::report(kTool, vs::usage_error("cgroup limits",
                                                   "--memory, --memsw, --pids and --cpuset-* "
                                                   "need a context (--xid): the host has none"));
  }
  auto now = vs::shim::change_own_rlimits(req.rlimits, req.scope);
  if (!now) return vs::tool::report(kTool, now.error());
  if (arg_.show || arg_.all) {
    vs::tool::print_fields(vs::shim::describe_limits(*now, {}, {}), arg_.json);
    std::fflush(stdout);
  }
  return arg_.command.empty() ? vs::kExitOk : exec_command();
}

int run_in_context(const ContextTable& table, Xid xid, const LimitsChange& req) {
  const bool show = arg_.show || arg_.all;
  auto limits = vs::shim::change_context_limits(table, xid, req, show);
  if (!limits) return vs::tool::report(kTool, limits.error());
  if (show) {
    const vs::shim::ContextLimits& l = **limits;
    auto fields = vs::shim::describe_limits(l.rlimits, l.cgroup, l.usage);
    if (arg_.all) {
      // Rlimits the context does not set: its processes keep what they had ("-").
      std::vector<vs::shim::LimitField> unset;
      for (const auto& r : vs::shim::rlimit_table()) {
        if (!l.rlimits.count(r.resource)) {
          unset.push_back({vs::shim::rlimit_attr_key(r.resource), "-", false});
        }
      }
      fields.insert(fields.begin() + static_cast<long>(l.rlimits.size()), unset.begin(),
                    unset.end());
    }
    vs::tool::print_fields(fields, arg_.json);
    std::fflush(stdout);
  }
  return arg_.command.empty() ? vs::kExitOk : exec_command();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Set the resource limits of a context (rlimits and cgroup limits), or the "
      "rlimits of a command.",
      kTool};
  app.set_version_flag("--version", "vserver 0.1.0");
  arg_.xid_opt = app.add_option("-c,--xid", arg_.xid,
                                "the context (default: the caller's; on the host the limits "
                                "apply to CMD)")
                     ->type_name("XID");
  app.add_flag("-S", arg_.soft, "set the soft limits only");
  app.add_flag("-H", arg_.hard, "set the hard limits only");
  const auto& table = vs::shim::rlimit_table();
  arg_.rlimit_values.resize(table.size());
  for (size_t i = 0; i < table.size(); ++i) {
    const auto& r = table[i];
    std::string help = "RLIMIT_";
    for (char c : r.name) help += static_cast<char>(c - 'a' + 'A');
    help += r.is_size ? " in bytes (K/M/G/T suffixes), or inf" : ", or inf";
    arg_.rlimit_opts.push_back(
        app.add_option("--" + std::string(r.name), arg_.rlimit_values[i], help)
            ->type_name(r.is_size ? "SIZE" : "N"));
  }
  arg_.memory_opt =
      app.add_option("--memory", arg_.memory, "memory limit (cgroup), or max")->type_name("SIZE");
  arg_.memsw_opt = app.add_option("--memsw", arg_.memsw, "memory+swap limit (cgroup), or max")
                       ->type_name("SIZE");
  arg_.pids_opt =
      app.add_option("--pids", arg_.pids, "most processes and threads, or max")->type_name("N");
  arg_.cpus_opt = app.add_option("--cpuset-cpus", arg_.cpuset_cpus, "cpus the context may use")
                      ->type_name("LIST");
  arg_.mems_opt =
      app.add_option("--cpuset-mems", arg_.cpuset_mems, "memory nodes the context may use")
          ->type_name("LIST");
  app.add_flag("--show", arg_.show, "print the limits and usage counters");
  app.add_flag("-a,--all", arg_.all, "print every rlimit, also those not set");
  app.add_flag("--json", arg_.json, "with --show or --all: one JSON object");
  app.add_option("command", arg_.command, "CMD ARGS... (after --)");
  vs::tool::add_common_options(app, arg_.common);
  if (auto r = check_option_names(app, argc, argv); !r) return vs::tool::report(kTool, r.error());
  int rc = 0;
  if (!vs::tool::parse_args(app, argc, argv, &rc)) return rc;

  auto req = parse_request();
  if (!req) return vs::tool::report(kTool, req.error());
  std::optional<Xid> xid;
  if (arg_.xid_opt->count() > 0) {
    auto x = vs::tool::parse_xid_arg(arg_.xid);
    if (!x) return vs::tool::report(kTool, x.error());
    xid = *x;
  }
  ContextTable ctable(vs::tool::shim_config(arg_.common));
  if (auto r = ctable.prepare(); !r) return vs::tool::report(kTool, r.error());
  auto caller = ctable.current_xid();
  if (!caller) return vs::tool::report(kTool, caller.error());
  if (!xid && !caller->is_context()) return run_on_host(*req);
  return run_in_context(ctable, xid ? *xid : *caller, *req);
}
