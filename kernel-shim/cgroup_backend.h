// Private to cgroup.cc, cgroup_v1.cc and cgroup_v2.cc: the cgroupfs file operations the two
// backends share, and each backend's own steps. Not part of the kernel-shim API.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernel-shim/cgroup.h"
#include "lib/base/result.h"
#include "lib/base/scope_exit.h"

namespace vs::shim::cgroup_detail {

/// How long a freeze may take, and how long the processes of a context may take to be gone
/// after SIGKILL, before the operation is an ETIMEDOUT error.
inline constexpr std::chrono::milliseconds kFreezeTimeout{5000};
inline constexpr std::chrono::milliseconds kEmptyTimeout{5000};

// ---- common (cgroup.cc) ----

/// `text` cut at every `sep` (an empty text gives one empty piece).
std::vector<std::string_view> split(std::string_view text, char sep);

/// PARENT must be a relative path below each hierarchy root (no "..", ".", or empty
/// component): a kUsage error naming it otherwise.
Result<void> check_parent(const std::string& parent);

/// True if the v1 hierarchy `h` binds `controller`.
bool binds(const CgroupLayout::V1& h, std::string_view controller);

/// The names of the subdirectories (child cgroups) of the directory `fd`; `path` for errors.
Result<std::vector<std::string>> subdirs(int fd, const std::string& path);

/// True if `path` exists (any type). A cgroup knob's presence is how features are detected.
bool exists(const std::string& path);

/// Parses the text of a cgroup.procs file: one decimal pid per line.
Result<std::vector<pid_t>> parse_procs(std::string_view text, const std::string& file);

/// The pids in `dir`/cgroup.procs and in every cgroup below `dir` (v1 and v2 list only a
/// cgroup's own members in cgroup.procs; a guest may have made sub-cgroups).
Result<std::vector<pid_t>> read_procs_tree(const std::string& dir);

/// Writes `pid` to `dir`/cgroup.procs.
Result<void> write_pid(const std::string& dir, pid_t pid);

/// Removes `dir` and every cgroup below it, deepest first. A missing `dir` is success; a
/// cgroup that still has a process is an EBUSY error of kind kWrongState.
Result<void> remove_tree(const std::string& dir);

/// Makes ROOT/PARENT/XID with the parents as needed (mode 0755). Each directory made is
/// registered in `tx` for removal. `on_level` runs on every level below ROOT, existing or
/// new, before its child is made (the v1 cpuset hierarchy fills cpus/mems there).
/// ROOT/PARENT/XID itself must not exist yet (EEXIST).
using LevelHook = Result<void> (*)(const std::string& dir);
Result<void> make_dirs(const std::string& root, const std::string& parent, const std::string& leaf,
                       Transaction& tx, LevelHook on_level);

/// Sleeps a little: 1 ms, doubling with `attempt`, at most 20 ms (polling cgroup files).
void pause_briefly(int attempt);

// ---- cgroup v1 (cgroup_v1.cc) ----

/// For a cpuset directory: copies cpuset.cpus and cpuset.mems from the parent directory
/// when they are empty (a new v1 cpuset starts empty and no task can join it then).
Result<void> v1_inherit_cpuset(const std::string& dir);

/// The content of `dir`/freezer.state without the newline: THAWED, FREEZING or FROZEN.
Result<std::string> v1_freezer_state(const std::string& dir);

/// Writes FROZEN and polls freezer.state until FROZEN (v1 freezing is asynchronous),
/// writing FROZEN again while it stays FREEZING. ETIMEDOUT after `timeout`; the caller
/// thaws in every case.
Result<void> v1_freeze(const std::string& dir, std::chrono::milliseconds timeout);

/// Writes THAWED (takes effect at once: no wait needed).
Result<void> v1_thaw(const std::string& dir);

// ---- cgroup v2 (cgroup_v2.cc) ----

/// The value of `key` in the text of a cgroup.events file ("populated 1\nfrozen 0\n").
std::optional<std::string> events_value(std::string_view text, std::string_view key);

/// `dir`/cgroup.events "populated" (this cgroup or one below has a process).
Result<bool> v2_populated(const std::string& dir);

/// Waits until `key` in `dir`/cgroup.events has the value `want`: poll(POLLPRI) on the file
/// (kernfs notifies changes) with a short re-read period as a guard against lost events.
/// ETIMEDOUT after `timeout`, with `what` in the error's detail.
Result<void> v2_wait_events(const std::string& dir, std::string_view key, std::string_view want,
                            std::chrono::milliseconds timeout, const std::string& what);

/// Writes 1 to cgroup.freeze and waits for "frozen 1". ETIMEDOUT after `timeout`; the caller
/// thaws in every case.
Result<void> v2_freeze(const std::string& dir, std::chrono::milliseconds timeout);

/// Writes 0 to cgroup.freeze.
Result<void> v2_thaw(const std::string& dir);

/// Writes 1 to cgroup.kill: SIGKILL to every process of the cgroup and those below it, and
/// no fork inside can race it.
Result<void> v2_cgroup_kill(const std::string& dir);

}  // namespace vs::shim::cgroup_detail
