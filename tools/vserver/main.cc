// vserver: a guest's whole life from one command (util-vserver's `vserver NAME COMMAND`):
// build, config, start, stop, restart, enter, exec, status, running, delete, and --list.
// Parsing and printing only; the work is in lib/build/guest_build and lib/guest/lifecycle.
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "kernel-shim/netshared.h"
#include "kernel-shim/context.h"
#include "kernel-shim/context_table.h"
#include "lib/base/escape.h"
#include "lib/base/parse.h"
#include "lib/base/syscall.h"
#include "lib/build/guest_build.h"
#include "lib/build/leftovers.h"
#include "lib/config/config.h"
#include "lib/guest/lifecycle.h"
#include "tools/common/cli.h"

namespace {

using vs::Error;
using vs::GuestConfig;
using vs::shim::ContextTable;

constexpr const char* kTool = "vserver";

struct Global {
  vs::tool::RootOptions roots;
  vs::tool::CommonOptions common;
  bool list = false;
  bool json = false;
  std::vector<std::string> rest;  ///< NAME COMMAND ARGS...
};

int fail(const Error& e) { return vs::tool::report(kTool, e); }

// Ends the process once a command is done, without the destructors of what is left: the
// parser and the static objects. After a start their memory is shared with the guest's
// init copy on write, and freeing it costs a page fault per page it touches (skipping them
// saves about 0.6 ms of each start here, at 10-13 us a fault on this kind of virtual
// machine). The commands have undone what they must (locks, files) before they return.
[[noreturn]] void quick_exit_with(int rc) {
  std::fflush(nullptr);
  ::_exit(rc);
}

vs::ConfigRoots roots_of(const Global& g) { return vs::tool::config_roots(g.roots, g.common); }

// The guest's configuration. `check_all` also checks it against every other guest whose own
// configuration loads (duplicate static xids and addresses, overlapping vdirs) and its vdir
// against the host's directories (vs::check_against_others): for config and start. Stop,
// exec and status do without, so a running guest that a hand edit broke can still be
// reached and stopped.
vs::Result<GuestConfig> load(const vs::ConfigRoots& roots, const std::string& name,
                             bool check_all = false) {
  auto g = vs::load_guest(roots, name);
  if (!g || !check_all) return g;
  if (auto r = vs::check_against_others(*g, roots); !r) return std::move(r).error();
  return g;
}

// The classic files the configuration has and that were not read (GuestConfig::warnings).
void warn_unread(const GuestConfig& cfg) {
  for (const auto& w : cfg.warnings) {
    std::fprintf(stderr, "vserver: %s: warning: %s\n", cfg.name.c_str(), w.c_str());
  }
}

// Parses a command's own options (argv[0] is "vserver NAME CMD" for messages).
bool parse_sub(CLI::App& app, const std::vector<std::string>& args, int* code) {
  std::vector<std::string> copy(args.rbegin(), args.rend());
  try {
    app.parse(copy);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    *code = vs::kExitOk;
    return false;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%s: %s (see --help)\n", app.get_name().c_str(), e.what());
    *code = vs::kExitUsage;
    return false;
  }
  return true;
}


// build runs vserver-build (next to this binary): the build methods need libarchive, which
// exists here as a shared library only, and this tool stays static for every start and exec.
int cmd_build(const Global& g, const std::string& name, const std::vector<std::string>& args) {
  const std::string exe = vs::tool::sibling_tool("vserver-build");
  std::vector<std::string> v = {exe};
  auto passed = vs::tool::forwarded_options(g.roots, g.common);
  v.insert(v.end(), passed.begin(), passed.end());
  v.push_back(name);
  v.insert(v.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : v) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  ::execv(exe.c_str(), cargv.data());
  return fail(vs::sys_error("exec", exe));
}

int cmd_config(const Global& g, const std::string& name, const std::vector<std::string>& args) {
  CLI::App app{"Print the effective configuration (the guest's over .defaults).",
               "vserver " + name + " config"};
  bool json = false;
  app.add_flag("--json", json, "as one JSON object");
  int code = 0;
  if (!parse_sub(app, args, &code)) return code;
  auto cfg = load(roots_of(g), name, true);
  if (!cfg) return fail(cfg.error());
  warn_unread(*cfg);
  std::fputs((json ? vs::format_config_json(*cfg) : vs::format_config(*cfg)).c_str(), stdout);
  return vs::kExitOk;
}

// Test hook (crash and race tests): VSERVER_TEST_STOP_AT=STEP stops this process with SIGSTOP
// at the named step, so a test can act (kill -9 it, stop or start other guests) without
// racing it. Empty when the variable is not set.
std::function<void(const char*)> test_stop_hook() {
  const char* at = std::getenv("VSERVER_TEST_STOP_AT");
  if (!at || !*at) return {};
  return [where = std::string(at)](const char* step) {
    if (where == step) ::raise(SIGSTOP);
  };
}

int cmd_start(const Global& g, const std::string& name, const std::vector<std::string>& args) {
  CLI::App app{"Start the guest: returns once its init runs.", "vserver " + name + " start"};
  int code = 0;
  if (!parse_sub(app, args, &code)) return code;
  auto roots = roots_of(g);
  auto cfg = load(roots, name, true);
  if (!cfg) return fail(cfg.error());
  warn_unread(*cfg);
  ContextTable table(vs::tool::shim_config(g.common));
  if (auto r = table.prepare(); !r) return fail(r.error());
  vs::StartHooks hooks;
  hooks.warn = [](const std::string& w) { std::fprintf(stderr, "vserver: warning: %s\n", w.c_str()); };
  hooks.at_step = test_stop_hook();
  if (!hooks.at_step && std::getenv("VSERVER_TRACE_STEPS")) {
    // Where a start spends its time: milliseconds since the process began, per step.
    hooks.at_step = [](const char* step) {
      struct timespec now {};
      ::clock_gettime(CLOCK_MONOTONIC, &now);
      static const double t0 = [] {
        struct timespec s {};
        ::clock_gettime(CLOCK_MONOTONIC, &s);
        return s.tv_sec * 1e3 + s.tv_nsec / 1e6;
      }();
      const double ms = now.tv_sec * 1e3 + now.tv_nsec / 1e6;
      std::fprintf(stderr, "vserver: %8.2f ms %s (monotonic %.3f)\n", ms - t0, step, ms);
    };
    hooks.at_step("begin");
  }
  auto xid = vs::start_guest(table, roots, *cfg, hooks);
  if (!xid) return fail(xid.error());
  if (hooks.at_step) hooks.at_step("done");
  return vs::kExitOk;
}

int cmd_stop(const Global& g, const std::string& name, const std::vector<std::string>& args,
             bool restart) {
  CLI::App app{restart ? "Stop the guest, then start it again." : "Stop the guest.",
               "vserver " + name + (restart ? " restart" : " stop")};
  unsigned timeout = 0;
  vs::StopOptions opts;
  app.add_option("--timeout", timeout, "seconds to wait for init before killing (default: "
                                       "init.stop_timeout, 10)");
  app.add_flag("--kill", opts.kill, "kill every process at once, no stop request to init");
  int code = 0;
  if (!parse_sub(app, args, &code)) return code;
  if (app.count("--timeout")) opts.timeout = timeout;
  opts.at_step = test_stop_hook();
  auto roots = roots_of(g);
  // restart checks what start checks before it stops anything.
  auto cfg = load(roots, name, restart);
  if (!cfg) return fail(cfg.error());
  ContextTable table(vs::tool::shim_config(g.common));
  if (auto r = table.prepare(); !r) return fail(r.error());
  auto stopped = vs::stop_guest(table, roots, *cfg, opts);
  if (!stopped) {
    // restart of a stopped guest just starts it.
    if (!(restart && stopped.error().kind == vs::ErrorKind::kWrongState)) {
      return fail(stopped.error());
    }
  } else {
    for (const auto& w : stopped->warnings) {
      std::fprintf(stderr, "vserver: %s: warning: %s\n", name.c_str(), w.c_str());
    }
    if (stopped->killed && !opts.kill) {
      std::fprintf(stderr, "vserver: %s: processes left after the timeout were killed\n",
                   name.c_str());
    }
  }
  if (!restart) return vs::kExitOk;
  auto xid = vs::start_guest(table, roots, *cfg);
  if (!xid) return fail(xid.error());
  return vs::kExitOk;
}

int cmd_exec(const Global& g, const std::string& name, const std::vector<std::string>& args,
             bool enter) {
  CLI::App app{enter ? "An interactive login shell in the running guest, on a pty of its own."
                     : "Run CMD in the running guest; its exit status is ours.",
               "vserver " + name + (enter ? " enter" : " exec")};
  vs::ExecOptions opts;
  std::vector<std::string> argv;
  bool tty = false, no_tty = false;
  app.add_option("-u,--user", opts.user, "NAME or UID from the guest's /etc/passwd (default: root)");
  app.add_flag("-t,--tty", tty, "give the command a pty even if stdin or stdout is no terminal");
  app.add_flag("-T,--no-tty", no_tty, "never a pty: pipes, even on a terminal");
  if (!enter) {
    app.prefix_command();  // CMD and everything after it are the command's
    app.footer("Usage: vserver " + name + " exec [--user U] [-t|-T] [--] CMD [ARGS...]");
  }
  int code = 0;
  if (!parse_sub(app, args, &code)) return code;
  if (tty && no_tty) return fail(vs::usage_error("--tty", "and --no-tty exclude each other"));
  if (tty) opts.tty = vs::TtyMode::kAlways;
  if (no_tty) opts.tty = vs::TtyMode::kNever;
  if (!enter) {
    argv = app.remaining();
    if (!argv.empty() && argv.front() == "--") argv.erase(argv.begin());
    if (argv.empty()) return fail(vs::usage_error("command", "exec needs CMD"));
  }
  auto roots = roots_of(g);
  auto cfg = vs::load_guest(roots, name);
  if (!cfg) return fail(cfg.error());
  ContextTable table(vs::tool::shim_config(g.common));
  if (auto r = table.prepare(); !r) return fail(r.error());
  if (const char* term = std::getenv("TERM")) opts.term = term;
  opts.at_step = test_stop_hook();
  auto status = enter ? vs::enter_guest(table, *cfg, opts) : vs::exec_in_guest(table, *cfg, argv, opts);
  if (!status) {
    const Error& e = status.error();
    int rc = vs::tool::report(kTool, e);
    return e.kind == vs::ErrorKind::kFailed && e.op == "exec" ? vs::kExitExecFailed : rc;
  }
  return status->as_exit_code();
}

// status: prints the state; exit 0 running, 1 stopped. running: the same without output.
int cmd_status(const Global& g, const std::string& name, const std::vector<std::string>& args,
               bool quiet) {
  CLI::App app{quiet ? "Exit 0 if the guest runs, 1 if not (no output)."
                     : "Print whether the guest runs; exit 0 if it does, 1 if not.",
               "vserver " + name + (quiet ? " running" : " status")};
  int code = 0;
  if (!parse_sub(app, args, &code)) return code;
  auto cfg = vs::load_guest(roots_of(g), name);
  if (!cfg) return fail(cfg.error());
  ContextTable table(vs::tool::shim_config(g.common));
  if (auto r = table.prepare(); !r) return fail(r.error());
  auto st = vs::find_guest_context(table, *cfg);
  if (!st) return fail(st.error());
  if (quiet) return *st ? vs::kExitOk : vs::kExitFailed;
  if (!*st) {
    std::printf("%s is stopped\n", name.c_str());
    return vs::kExitFailed;
  }
  long long up = static_cast<long long>(::time(nullptr) - (*st)->state.created);
  std::printf("%s is running: context %s, init pid %d, up %llds\n", name.c_str(),
              (*st)->state.xid.str().c_str(), (*st)->state.init_pid, up);
  return vs::kExitOk;
}

void print_swept(const std::vector<std::string>& removed, const std::vector<std::string>& failed) {
  for (const auto& p : removed) {
    std::fprintf(stderr, "vserver: removed `%s` (left by an interrupted build)\n", p.c_str());
  }
  for (const auto& f : failed) {
    std::fprintf(stderr, "vserver: warning: leftover not removed: %s\n", f.c_str());
  }
}

int cmd_wait(const Global& g, const std::string& name, const std::vector<std::string>& args) {
  CLI::App app{
      "Wait until the running guest's init has ended (for supervisors: "
      "vserver@.service). Exit 0 then; 4 if it is not running.",
      "vserver " + name + " wait"};
  int code = 0;
  if (!parse_sub(app, args, &code)) return code;
  auto cfg = vs::load_guest(roots_of(g), name);
  if (!cfg) return fail(cfg.error());
  ContextTable table(vs::tool::shim_config(g.common));
  if (auto r = table.prepare(); !r) return fail(r.error());
  if (auto r = vs::wait_guest(table, *cfg); !r) return fail(r.error());
  return vs::kExitOk;
}

int cmd_delete(const Global& g, const std::string& name, const std::vector<std::string>& args) {
  CLI::App app{"Remove the guest's root tree and configuration (not while it runs).",
               "vserver " + name + " delete"};
  bool yes = false;
  app.add_flag("-y,--yes", yes, "do not ask (asked only on a terminal)");
  int code = 0;
  if (!parse_sub(app, args, &code)) return code;
  auto roots = roots_of(g);
  auto cfg = vs::load_guest(roots, name);
  if (!cfg && cfg.error().kind == vs::ErrorKind::kNotFound && vs::validate_guest_name(name)) {
    // No guest, but perhaps what a build of it left when it was killed before it wrote the
    // configuration: swept at the default place of its tree.
    ContextTable table(vs::tool::shim_config(g.common));
    if (auto r = table.prepare(); !r) return fail(r.error());
    auto lk = vs::lock_guest(table, name);
    if (!lk) return fail(lk.error());
    auto swept = vs::sweep_build_leftovers(roots.default_vdir(name), roots.confdir, name);
    print_swept(swept.removed, swept.failed);
    if (!swept.removed.empty() && swept.failed.empty()) return vs::kExitOk;
  }
  if (!cfg) return fail(cfg.error());
  // A hand-edited vdir that is a host directory or another guest's tree is never removed.
  if (auto r = vs::check_against_others(*cfg, roots, true); !r) {
    return fail(std::move(r).error().wrap("delete " + name));
  }
  ContextTable table(vs::tool::shim_config(g.common));
  if (auto r = table.prepare(); !r) return fail(r.error());
  auto lk = vs::lock_guest(table, name);
  if (!lk) return fail(lk.error());
  auto st = vs::find_guest_context(table, *cfg);
  if (!st) return fail(st.error());
  if (*st) {
    return fail(vs::make_error(vs::ErrorKind::kWrongState, "delete", name,
                               "is running (context " + (*st)->state.xid.str() + "): stop it first",
                               EBUSY));
  }
  if (!yes && ::isatty(STDIN_FILENO)) {
    std::printf("Delete guest %s: %s and %s? [y/N] ", name.c_str(), cfg->vdir.c_str(),
                roots.guest_confdir(name).c_str());
    std::fflush(stdout);
    char answer[16] = {};
    if (!std::fgets(answer, sizeof answer, stdin) || (answer[0] != 'y' && answer[0] != 'Y')) {
      std::puts("not deleted");
      return vs::kExitFailed;
    }
  }
  auto d = vs::delete_guest(roots, name, cfg->vdir);
  if (!d) return fail(d.error());
  print_swept(d->swept, d->warnings);
  return vs::kExitOk;
}

// --list: every guest under the confdir with its state: running, stopped, or broken (its
// configuration does not load, or it clashes with another guest: the reason goes to stderr,
// and to "problem" in JSON). A broken guest that runs shows its live context. Every guest is
// listed whatever the others' problems; the exit code is 1 when one is broken.
int cmd_list(const Global& g) {
  auto roots = roots_of(g);
  auto set = vs::load_guest_set(roots);
  if (!set) return fail(set.error());
  ContextTable table(vs::tool::shim_config(g.common));
  if (auto r = table.prepare(); !r) return fail(r.error());
  // A listing looks at every context anyway: dead ones (a start killed half-way, a guest
  // whose init ended) are reaped on the way, and so are the host addresses of guests whose
  // state was lost.
  if (auto r = table.list(); !r) return fail(r.error());
  (void)vs::shim::sweep_host_addresses(table);
  struct Row {
    std::string name;
    const GuestConfig* cfg = nullptr;  ///< null: its configuration does not load
    const Error* problem = nullptr;
  };
  std::vector<Row> rows;
  for (const auto& cfg : set->guests) rows.push_back({cfg.name, &cfg, nullptr});
  for (const auto& b : set->broken)
    rows.push_back({b.name, b.config ? &*b.config : nullptr, &b.error});
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.name < b.name; });
  if (g.json) std::fputs("[", stdout);
  else std::printf("%-20s %-8s %-7s %-6s %s\n", "NAME", "STATE", "CONTEXT", "INIT", "VDIR");
  bool first = true;
  int rc = vs::kExitOk;
  for (const auto& row : rows) {
    // Found by name (the index), so a guest whose configuration broke is still seen running.
    GuestConfig by_name;
    by_name.name = row.name;
    const GuestConfig& cfg = row.cfg ? *row.cfg : by_name;
    std::optional<vs::shim::ContextHandle> live;
    if (vs::validate_guest_name(row.name)) {
      auto st = vs::find_guest_context(table, cfg);
      if (!st) return fail(st.error());
      live = std::move(*st);
    }
    const bool up = live.has_value();
    std::string ctx = up ? live->state.xid.str() : (cfg.xid ? cfg.xid->str() : "-");
    const char* state = row.problem ? "broken" : up ? "running" : "stopped";
    const std::string init = row.cfg ? std::string(vs::init_style_name(cfg.init_style)) : "-";
    const std::string vdir = row.cfg ? cfg.vdir : "-";
    if (row.problem) {
      rc = vs::kExitFailed;
      std::fprintf(stderr, "vserver: %s is broken%s: %s\n", vs::escape_terminal(row.name).c_str(),
                   up ? " (and running)" : "", row.problem->message().c_str());
    }
    if (g.json) {
      std::printf(
          "%s\n  {\"name\": %s, \"state\": \"%s\", \"context\": %s, \"init\": %s, "
          "\"mark\": %s, \"vdir\": %s, \"running\": %s, \"problem\": %s}",
          first ? "" : ",", vs::json_string(row.name).c_str(), state,
          ctx == "-" ? "null" : ctx.c_str(), row.cfg ? vs::json_string(init).c_str() : "null",
          row.cfg ? vs::json_string(cfg.mark).c_str() : "null",
          row.cfg ? vs::json_string(vdir).c_str() : "null", up ? "true" : "false",
          row.problem ? vs::json_string(row.problem->message()).c_str() : "null");
    } else {
      std::printf("%-20s %-8s %-7s %-6s %s\n", vs::escape_terminal(row.name).c_str(), state,
                  ctx.c_str(), init.c_str(), vdir.c_str());
    }
    first = false;
  }
  if (g.json) std::fputs(first ? "]\n" : "\n]\n", stdout);
  return rc;
}

int run(int argc, char** argv) {
  CLI::App app{
      "Manage guests: vserver [OPTIONS] NAME COMMAND [ARGS]. Commands: build, config, start, "
      "stop, restart, enter, exec, status, running, wait, delete (each takes --help). "
      "vserver --list shows every guest.",
      kTool};
  Global g;
  vs::tool::add_root_options(app, g.roots);
  vs::tool::add_common_options(app, g.common);
  app.add_flag("--list", g.list, "every configured guest and its state");
  app.add_flag("--json", g.json, "with --list: JSON");
  app.prefix_command();
  int code = 0;
  if (!vs::tool::parse_args(app, argc, argv, &code)) return code;
  g.rest = app.remaining();
  if (g.list) {
    if (!g.rest.empty()) return fail(vs::usage_error("--list", "takes no NAME or COMMAND"));
    return cmd_list(g);
  }
  if (g.rest.size() < 2) {
    return fail(vs::usage_error("command",
                                "expected NAME COMMAND (build, config, start, stop, "
                                "restart, enter, exec, status, running, wait, delete) or "
                                "--list"));
  }
  const std::string name = g.rest[0];
  const std::string cmd = g.rest[1];
  std::vector<std::string> args(g.rest.begin() + 2, g.rest.end());
  if (auto r = vs::validate_guest_name(name); !r) return fail(r.error());
  if (cmd == "build") return cmd_build(g, name, args);
  if (cmd == "config") return cmd_config(g, name, args);
  if (cmd == "start") return cmd_start(g, name, args);
  if (cmd == "stop") return cmd_stop(g, name, args, false);
  if (cmd == "restart") return cmd_stop(g, name, args, true);
  if (cmd == "enter") return cmd_exec(g, name, args, true);
  if (cmd == "exec") return cmd_exec(g, name, args, false);
  if (cmd == "status") return cmd_status(g, name, args, false);
  if (cmd == "running") return cmd_status(g, name, args, true);
  if (cmd == "delete") return cmd_delete(g, name, args);
  if (cmd == "wait") return cmd_wait(g, name, args);
  return fail(vs::usage_error("command", "unknown command `" + cmd +
                                             "` (expected build, config, start, stop, restart, "
                                             "enter, exec, status, running, wait or delete)"));
}

}  // namespace

int main(int argc, char** argv) { quick_exit_with(run(argc, argv)); }
