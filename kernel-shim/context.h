// Creating, migrating into, entering and sealing contexts: the shim's API. The work is split by
// concept: context_create.cc (xid choice and the creator's checklist), context_child.cc (the
// first process's checklist), context_sync.{h,cc} (their exchange), context_enter.cc (running
// in, moving into, sealing a live context). Every process the shim starts inside a context
// ends as the helper from a sealed memfd (helper.h), with an environment given here, never
// the caller's.
#pragma once

#include <array>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kernel-shim/context_table.h"
#include "lib/base/child.h"

namespace vs::shim {

struct CreateSpec {
  std::optional<Xid> xid;          ///< a static or dynamic xid; none = allocate a dynamic one
  NsSet namespaces = default_namespaces();
  bool persistent = false;         ///< keep the context when its last process is gone
  bool endsetup = false;           ///< seal before running the command
  bool builtin_init = true;        ///< in a new pid ns, run CMD under a minimal reaping init
  std::vector<std::string> argv;   ///< the command, run inside
  /// The command's whole environment ("KEY=VALUE"); empty: default_env(). Nothing of the
  /// creator's own environment reaches the context.
  std::vector<std::string> env;
  /// Fds of the creator's that the first process gets as its 0, 1, 2 (-1: the creator's own).
  /// It always runs in a session of its own.
  std::array<int, 3> stdio = {-1, -1, -1};
  /// One of `stdio` that becomes the first process's controlling terminal (a pty slave).
  int controlling_tty = -1;
  /// Without `detach`: how the creator waits for the first process once it runs (default:
  /// wait_forwarding), e.g. a stdio relay's loop (lib/base/stdio_relay.h).
  std::function<Result<ExitStatus>(Child& first)> wait;
  /// With init_stays: what is left this long after init asked every process to end is killed.
  unsigned init_kill_after_ms = 5000;
  /// What the built-in init's /proc/1/cmdline shows; empty: "vserver-init".
  std::string init_title;
  /// Instead of argv: a function of the creator's, run in the context's first process once it
  /// is set up and confined (with `endsetup`), whose result is that process's exit code. For
  /// host code that must work on a guest tree without host privileges (build -m template).
  /// It dies with its creator.
  std::function<int()> body;
  /// The context's first process (its init, with builtin_init) keeps PR_SET_PDEATHSIG(SIGKILL)
  /// after the go: when the creator dies, even by SIGKILL, so does the init and with it the
  /// whole pid namespace (a build step such as debootstrap must not download on as an orphan).
  /// Without it (and without `body`) the context outlives its creator (vserver start).
  bool dies_with_creator = false;
  /// What holds the context's processes (context_state.h, confine.h); with `endsetup` the
  /// command at once, else from the seal on. Default: the secure defaults (the guest
  /// bounding set, the default seccomp profile, no rlimits).
  Confinement confinement;
  /// Runs in the context's first process once its namespaces exist, before it is confined
  /// and runs the command: where the guest root is set up (lib/mount). With it, the shim
  /// mounts no /proc of its own (the hook makes the guest's). Its error ends the creation,
  /// with its message, and leaves nothing behind.
  std::function<Result<void>()> child_setup;
  /// The first process makes its mount namespace and runs child_setup while the creator
  /// still attaches it to the v1 hierarchies, in parallel, instead of after: for a hook that
  /// does not depend on the context's cgroups or cgroup namespace (a guest root without a
  /// cgroup2 mount). Ignored with a user namespace (the hook waits for the id maps).
  bool setup_early = false;

  /// The guest's name, recorded in the state file (empty: an anonymous context).
  std::string name;
  /// With builtin_init: init stays when the command ended, reaping orphans, until SIGTERM,
  /// SIGINT or SIGPWR stops the context (run_guest_init); argv may then be empty.
  bool init_stays = false;
  /// Return once the command (or init) was exec'd, with 0, instead of waiting for it: the
  /// context lives on without any process of its creator (vserver start).
  bool detach = false;
  /// Host-side work after the namespaces are pinned and the state file is written, before the
  /// command runs, under the entry's lock: limits, network (which record what they made in
  /// the state). Its error rolls the creation back, isolated network included. `first_pid`
  /// is the host pid of the context's first process.
  std::function<Result<void>(Xid xid, const ContextCgroup& cg, pid_t first_pid)> host_setup;
  /// The namespaces pinned in the run dir (default: all of `namespaces`). A context whose
  /// init stays needs none: entrants join through the init's pidfd, and each pin is a mount
  /// in the host's mount namespace, which every later context's mount namespace copies and
  /// drops again (at 1000 guests, 5000 mounts per start).
  std::optional<NsSet> pin;
  /// The v1 hierarchies this context gets, where bound, instead of the table's (a guest
  /// without a cpuset limit needs no cpuset directory: each costs a mkdir, an attach and an
  /// rmdir). Lookups (ContextCgroup::open) skip the directories a context does not have.
  std::optional<std::vector<std::string>> v1_controllers;
  /// Called once the xid is taken (its lock held), before anything of the context exists:
  /// where a guest records which context is its (so that the next command finds and reaps
  /// what a killed start left). Its error ends the creation.
  std::function<Result<void>(Xid xid)> on_xid;
  /// Called at each step of the creation ("locked", "cgroup", "unixscope", "namespaces",
  /// "state", "go", "exec"): crash tests stop the creator there.
  std::function<void(const char* step)> at_step;
  /// Test hook: called before each step of the creator ("xid", "entry", "cgroup",
  /// "unixscope", "channels", "clone", "attach", "pins", "state", "host-setup", "go",
  /// "exec") and of the first process ("child-mounts", "child-userns", "child-timens",
  /// "child-loopback", "child-cgroupns", "child-unixscope", "child-confine", "child-stdio",
  /// "child-exec"); an error it returns fails that step, as a real failure there would.
  std::function<Result<void>(const char* step)> inject;
  /// Told, once, of a protection the kernel cannot give this context (the creation goes
  /// on): a context on the host's network stack without the BPF LSM (unixscope.h).
  std::function<void(const std::string& warning)> warn;
};

/// Called once the context exists, before the command runs (the tool prints its message).
using OnCreated = std::function<void(Xid)>;

/// Creates a context and runs argv inside it; returns the command's exit code (128 + signal
/// if it was killed) once it ended; the context is reaped then unless persistent or still
/// populated. Errors before the command ran leave nothing behind. With spec.detach it returns
/// 0 as soon as the command runs.
Result<int> create_and_run(const ContextTable& table, const CreateSpec& spec,
                           const OnCreated& on_created);

/// The environment a process in a context gets when none is given: PATH only.
std::vector<std::string> default_env();

/// A live context, resolved once: every later step works on this, never on the xid again (a
/// stopped context's xid may be taken by the next one meanwhile).
struct ContextHandle {
  ContextState state;
  /// A pidfd of its first process when that runs (its start time checked against the state,
  /// so a reused pid is not taken for it); invalid otherwise.
  UniqueFd init;
};

/// Resolves a live context: reaps it if dead, reads its state, opens its first process. No
/// context: a kNotFound error (exit 3).
Result<ContextHandle> open_context(const ContextTable& table, Xid xid);

/// How a command runs inside a context (vserver exec/enter): whom as, where, with what.
struct RunOptions {
  /// Switch to this user after confinement (needs SETUID/SETGID in the context's bounds).
  std::optional<uid_t> uid;
  gid_t gid = 0;
  std::vector<gid_t> groups;  ///< supplementary groups (with uid)
  /// The command's whole environment; empty: default_env(). Never the caller's.
  std::vector<std::string> env;
  std::string cwd;  ///< inside the context; empty: "/" when the root changes, else unchanged
  /// Fds of the caller's that become the command's 0, 1, 2 (-1: the caller's own: only for
  /// the host's own chains, e.g. vcontext; lib/base/stdio_relay.h makes ones for guests).
  std::array<int, 3> stdio = {-1, -1, -1};
  /// One of `stdio` that becomes the command's controlling terminal (a pty slave); -1: none.
  /// The command always runs in a session of its own.
  int controlling_tty = -1;
};

/// Starts argv inside the context `ctx` and returns as soon as it was exec'd: the caller
/// waits for the returned child. Joins its cgroups and every namespace (through the init's
/// pidfd, or the pins), confined like its members when sealed. The context is checked to be
/// still the one `ctx` was opened on (its init alive after its cgroups were opened): a
/// changed one is a kWrongState error, never another context. A private context (flag
/// private) refuses entrants.
Result<Child> spawn_in_context(const ContextTable& table, const ContextHandle& ctx,
                               const std::vector<std::string>& argv, const RunOptions& opts);

/// Runs argv inside the context `xid` (open_context + spawn_in_context) and waits for it,
/// passing SIGHUP, SIGINT, SIGQUIT and SIGTERM on. Returns its exit code.
Result<int> migrate_and_run(const ContextTable& table, Xid xid,
                            const std::vector<std::string>& argv, const RunOptions& opts);

/// Moves the calling process itself into the context (cgroups and namespaces); with
/// `endsetup` also seals it (a sealed context is a wrong-state error, nothing moved). If the
/// context has its own pid namespace and the caller is not in it yet, the caller forks:
/// the returned value is then the exit code the parent must exit with after the child
/// (which gets std::nullopt and goes on) ended. The caller is confined (confine.h) when the
/// context is sealed afterwards, and must run its command with exec_in_context() next.
Result<std::optional<int>> migrate_self(const ContextTable& table, Xid xid, bool endsetup);

/// Execs argv (PATH search) in a process that moved itself into a context, through the
/// helper (`helper_fd` from open_helper(), opened before the move) so that the image doing
/// the exec is no host file; `env` is the command's whole environment (empty:
/// default_env()). Returns only on failure (the exec error).
Error exec_in_context(int helper_fd, const std::vector<std::string>& argv,
                      const std::vector<std::string>& env);

/// A pidfd of the context's first process if it still runs (its start time checked against
/// the state, so a reused pid is not taken for it); an invalid fd otherwise.
UniqueFd open_init(const ContextTable& table, const ContextState& state);

/// Seals a context (stage setup -> running). Sealing twice is a wrong-state error.
Result<void> seal(const ContextTable& table, Xid xid);

/// Clears the persistent mark; the context is reaped once it has no process.
Result<void> release(const ContextTable& table, Xid xid);

/// Joins the namespaces in `which` (a subset of the context's) of a live context, without
/// its cgroups: for vnamespace --enter and vuname. Pid applies to children only.
Result<void> enter_namespaces(const ContextTable& table, Xid xid, NsSet which);

/// Re-pins the calling process's current namespaces of kinds `which` as the context's
/// (vnamespace --set).
Result<void> set_namespaces(const ContextTable& table, Xid xid, NsSet which);

}  // namespace vs::shim
