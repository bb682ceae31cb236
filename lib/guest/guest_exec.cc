// Commands in a running guest (lifecycle.h): exec and enter, as the guest's user, with a
// clean environment and the stdio relayed (a pty of the guest's own devpts when asked for).
#include <fcntl.h>
#include <unistd.h>

#include "lib/base/fs_at.h"
#include "lib/base/pty.h"
#include "lib/base/stdio_relay.h"
#include "lib/base/syscall.h"
#include "lib/guest/lifecycle.h"
#include "lib/guest/passwd.h"

namespace vs {

using shim::ContextTable;

namespace {

// The environment of a command in a guest: nothing of the caller's (SECURITY.md).
std::vector<std::string> clean_env(const GuestUser& user, const std::string& term) {
  std::vector<std::string> env = {
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      "HOME=" + user.home,
      "USER=" + user.name,
      "LOGNAME=" + user.name,
      "SHELL=" + user.shell,
  };
  if (!term.empty()) env.push_back("TERM=" + term);
  return env;
}

}  // namespace

Result<Child> spawn_in_guest(const ContextTable& table, const GuestConfig& config,
                             const shim::ContextHandle& ctx, const std::vector<std::string>& argv,
                             const ExecOptions& opts, shim::RunOptions run) {
  const std::string what = "run in " + config.name;
  GuestUser user;
  user.name = "root";
  user.home = "/root";
  if (!opts.user.empty()) {
    auto root = open_path(config.vdir, O_PATH | O_DIRECTORY | O_NOFOLLOW);
    if (!root) return std::move(root).error().wrap(what);
    auto u = lookup_guest_user(root->get(), config.vdir, opts.user);
    if (!u) return std::move(u).error().wrap(what);
    user = std::move(*u);
    run.uid = user.uid;
    run.gid = user.gid;
    run.groups = user.groups;
  }
  run.env = clean_env(user, opts.term);
  if (run.cwd.empty()) run.cwd = "/";
  return shim::spawn_in_context(table, ctx, argv, run);
}

namespace {

// The relay for a command of `ctx`: a pty of the guest's own devpts (else the host's) when
// asked for, else pipes.
Result<StdioRelay> guest_stdio(const ContextTable& table, const shim::ContextHandle& ctx,
                               TtyMode mode) {
  bool tty = mode == TtyMode::kAlways ||
             (mode == TtyMode::kAuto && ::isatty(STDIN_FILENO) && ::isatty(STDOUT_FILENO));
  if (!tty) return StdioRelay::pipes();
  Result<Pty> pty = make_error(ErrorKind::kFailed, "open", "pty", "no guest devpts", ENOENT);
  const std::string root =
      table.config().proc_root + "/" + std::to_string(ctx.state.init_pid) + "/root";
  UniqueFd root_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  // The init still lives after its root was opened: the root is the init's, not that of a
  // process that got its pid since.
  if (ctx.init && root_fd && sys::pidfd_send_signal(ctx.init.get(), 0, nullptr, 0) == 0) {
    pty = open_devpts_pty(root_fd.get());
  }
  if (!pty) pty = open_pty();
  if (!pty) return std::move(pty).error();
  return StdioRelay::pty(std::move(pty->master), std::move(pty->slave));
}

Result<ExitStatus> run_relayed(const ContextTable& table, const GuestConfig& config,
                               const std::vector<std::string>& argv, const ExecOptions& opts,
                               bool login) {
  auto found = find_guest_context(table, config);
  if (!found) return std::move(found).error().wrap("run in " + config.name);
  if (!*found) {
    return make_error(ErrorKind::kWrongState, login ? "enter" : "exec", config.name,
                      "is not running", ESRCH);
  }
  const shim::ContextHandle& ctx = **found;
  if (opts.at_step) opts.at_step("exec-resolved");
  std::vector<std::string> cmd = argv;
  shim::RunOptions run;
  if (login) {
    auto root = open_path(config.vdir, O_PATH | O_DIRECTORY | O_NOFOLLOW);
    if (!root) return std::move(root).error().wrap("enter " + config.name);
    auto u = lookup_guest_user(root->get(), config.vdir, opts.user.empty() ? "root" : opts.user);
    cmd = {u ? u->shell : "/bin/sh", "-l"};
    run.cwd = u ? u->home : "/";
  }
  auto relay = guest_stdio(table, ctx, opts.tty);
  if (!relay) return std::move(relay).error().wrap("run in " + config.name);
  auto fds = relay->child_fds();
  run.stdio = fds;
  run.controlling_tty = relay->controlling_tty();
  auto child = spawn_in_guest(table, config, ctx, cmd, opts, run);
  relay->close_child_ends();
  if (!child) return std::move(child).error().wrap((login ? "enter " : "exec ") + config.name);
  return relay->run(*child);
}

}  // namespace

Result<ExitStatus> exec_in_guest(const ContextTable& table, const GuestConfig& config,
                                 const std::vector<std::string>& argv, const ExecOptions& opts) {
  if (argv.empty()) return usage_error("command", "exec needs CMD");
  return run_relayed(table, config, argv, opts, false);
}

Result<ExitStatus> enter_guest(const ContextTable& table, const GuestConfig& config,
                               const ExecOptions& opts) {
  return run_relayed(table, config, {}, opts, true);
}

}  // namespace vs
