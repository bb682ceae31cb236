// Creating, migrating into, entering and sealing contexts.
#pragma once

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
  /// Instead of argv: a function of the creator's, run in the context's first process once it
  /// is set up and confined (with `endsetup`), whose result is that process's exit code. For
  /// host code that must work on a guest tree without host privileges (build -m template).
  std::function<int()> body;
  /// The context's attributes (confine.h); with `endsetup` they hold the command at once,
  /// else from the seal on. Empty: the secure defaults.
  std::map<std::string, std::string> attrs;
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
  /// "state", "go", "exec"):
  /// crash tests stop the creator there.
  std::function<void(const char* step)> at_step;
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

/// How a command runs inside a context (vserver exec/enter): whom as, where, with what.
struct RunOptions {
  /// Switch to this user after confinement (needs SETUID/SETGID in the context's bounds).
  std::optional<uid_t> uid;
  gid_t gid = 0;
  std::vector<gid_t> groups;  ///< supplementary groups (with uid)
  /// The environment of the command; std::nullopt keeps the caller's.
  std::optional<std::vector<std::string>> env;
  std::string cwd;  ///< inside the context; empty: "/" when the root changes, else unchanged
  /// A terminal for the command: it becomes the session leader with this as its controlling
  /// tty and stdin/stdout/stderr. -1: the caller's stdio.
  int tty_fd = -1;
};

/// Starts argv inside an existing context like migrate_and_run() and returns as soon as it
/// was exec'd: the caller waits for the returned child.
Result<Child> spawn_in_context(const ContextTable& table, Xid xid,
                               const std::vector<std::string>& argv, const RunOptions& opts);

/// Waits for a child while passing SIGHUP, SIGINT, SIGQUIT and SIGTERM of the caller on to it.
Result<ExitStatus> wait_forwarding(Child& child);

/// Runs argv inside an existing context: joins its cgroups and every namespace (through a
/// pidfd of its init, or the pins), and waits for it. Returns its exit code. In a sealed
/// context the command is confined like its members (confine.h); a private context (flag
/// private) refuses entrants.
Result<int> migrate_and_run(const ContextTable& table, Xid xid,
                            const std::vector<std::string>& argv);

/// Moves the calling process itself into the context (cgroups and namespaces); with
/// `endsetup` also seals it (a sealed context is a wrong-state error, nothing moved). If the
/// context has its own pid namespace and the caller is not in it yet, the caller forks:
/// the returned value is then the exit code the parent must exit with after the child
/// (which gets std::nullopt and goes on) ended. The caller is confined (confine.h) when the
/// context is sealed afterwards, and should exec its command next.
Result<std::optional<int>> migrate_self(const ContextTable& table, Xid xid, bool endsetup);

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
