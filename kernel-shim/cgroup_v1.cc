// cgroup v1 specifics: cpuset inheritance for new directories and the v1 freezer.
#include <errno.h>
#include <time.h>

#include <string>

#include "kernel-shim/cgroup_backend.h"
#include "lib/base/fs_at.h"

namespace vs::shim::cgroup_detail {

namespace {

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

using Clock = std::chrono::steady_clock;

// Writing FROZEN again makes the kernel try again to freeze the tasks that were not frozen
// yet (say, one that was running a long syscall); not more often than this.
constexpr std::chrono::milliseconds kRefreezePeriod{100};

}  // namespace

Result<void> v1_inherit_cpuset(const std::string& dir) {
  const std::string parent = dir.substr(0, dir.rfind('/'));
  for (const char* knob : {"cpuset.cpus", "cpuset.mems"}) {
    const std::string mine_path = dir + "/" + knob;
    auto mine = read_file(mine_path);
    if (!mine) return std::move(mine).error();
    if (!trimmed(*mine).empty()) continue;
    const std::string theirs_path = parent + "/" + knob;
    auto theirs = read_file(theirs_path);
    if (!theirs) return std::move(theirs).error();
    std::string value = trimmed(*theirs);
    if (value.empty()) {
      return make_error(ErrorKind::kFailed, "inherit", theirs_path,
                        "is empty: no cpus or memory nodes to give to a new cpuset", EINVAL);
    }
    if (auto r = write_file(mine_path, value); !r) return r;
  }
  return ok();
}

Result<std::string> v1_freezer_state(const std::string& dir) {
  auto text = read_file(dir + "/freezer.state");
  if (!text) return std::move(text).error();
  return trimmed(std::move(*text));
}

Result<void> v1_freeze(const std::string& dir, std::chrono::milliseconds timeout) {
  const std::string knob = dir + "/freezer.state";
  if (auto r = write_file(knob, "FROZEN"); !r) return r;
  const auto deadline = Clock::now() + timeout;
  auto last_write = Clock::now();
  // The v1 freezer is asynchronous: the write returns while the state is still FREEZING,
  // and FROZEN is reported only once every task (also those forked meanwhile) is frozen.
  for (int attempt = 0;; ++attempt) {
    auto state = v1_freezer_state(dir);
    if (!state) return std::move(state).error();
    if (*state == "FROZEN") return ok();
    auto now = Clock::now();
    if (now >= deadline) {
      return make_error(ErrorKind::kFailed, "freeze", knob,
                        "still " + *state + " after " + std::to_string(timeout.count()) + " ms",
                        ETIMEDOUT);
    }
    if (*state != "FREEZING" || now - last_write >= kRefreezePeriod) {
      if (auto r = write_file(knob, "FROZEN"); !r) return r;
      last_write = now;
    }
    pause_briefly(attempt);
  }
}

Result<void> v1_thaw(const std::string& dir) {
  return write_file(dir + "/freezer.state", "THAWED");
}

}  // namespace vs::shim::cgroup_detail
