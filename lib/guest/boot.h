// Boot order (issue 6): which guests `vserver-boot start --mark M` starts, in which waves, and
// the runner that starts (or stops) them wave by wave, a bounded number at once.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.h"
#include "lib/guest/guest.h"

namespace vs {

/// What boot_order() makes of the guests of a mark.
struct BootOrder {
  /// Every guest of a wave depends only on guests of earlier waves, so a wave can start in
  /// parallel. Names are sorted within a wave. Stopping goes through them in reverse.
  std::vector<std::vector<std::string>> waves;
  /// Start only: guests of the mark (or needed by one) left out of the waves, each with why
  /// ("web depends on db, which is not configured"): a dependency that is not configured or
  /// broken, a cycle, or a dependency left out itself.
  std::vector<std::pair<std::string, std::string>> left_out;
  /// Stop only: what the order could not honour (a dangling dependency, a cycle), said once
  /// each; the guests concerned are stopped all the same.
  std::vector<std::string> problems;
};

/// The guests whose init.mark is `mark`, plus every guest they depend on (init.depends,
/// transitively, whatever its mark), in waves. One guest's bad dependency never holds back
/// the others: to start (`stopping` false), a guest whose dependency is not among `guests`
/// (`broken` says why, by name, for those that are configured but broken), or that is in a
/// cycle, is left out with its dependents; to stop, such a dependency is ignored and a cycle's
/// guests make one wave (stopped first), as stop is best effort.
BootOrder boot_order(const std::vector<GuestConfig>& guests, std::string_view mark, bool stopping,
                     const std::map<std::string, std::string>& broken = {});

/// boot_order() to start, strictly: a guest left out is a kUsage error naming it and why.
Result<std::vector<std::vector<std::string>>> boot_waves(const std::vector<GuestConfig>& guests,
                                                         std::string_view mark);

/// What run_boot() does: one command per guest, wave after wave.
struct BootPlan {
  std::vector<std::vector<std::string>> waves;  ///< boot_waves(), reversed to stop
  /// Guest -> the guests it depends on. A guest one of which failed or was skipped is
  /// skipped (its command never runs). Empty: every guest runs whatever happened (stop).
  std::map<std::string, std::vector<std::string>> depends;
  size_t jobs = 8;  ///< most commands running at once (at least 1)
  /// The command of one guest, e.g. {"/usr/sbin/vserver", NAME, "start"}: argv[0] is a path
  /// (no PATH search); it runs with the caller's environment and stdio.
  std::function<std::vector<std::string>(const std::string& name)> command;
};

/// What became of one guest.
struct BootEvent {
  enum class Outcome {
    kDone,     ///< its command exited 0, or kExitWrongState (already running / not running)
    kFailed,   ///< its command ended otherwise
    kSkipped,  ///< a guest it depends on failed or was skipped
    kNotRun,   ///< its command could not be started (`error` says why)
  };
  std::string name;
  Outcome outcome = Outcome::kDone;
  int exit_code = 0;  ///< kDone, kFailed: the command's exit code (128 + signal)
  Error error;        ///< kNotRun: the spawn or exec error
};

struct BootSummary {
  size_t done = 0;
  size_t failed = 0;  ///< kFailed and kNotRun
  size_t skipped = 0;
};

/// Runs plan.waves in order, each wave to its end before the next begins; within a wave,
/// starts the guests' commands in order, at most plan.jobs at once, each owned as a vs::Child
/// (pidfd), starting the next as one ends. Tells `on_event` of every guest as it is settled
/// (ended, skipped or not started), in that order. An error is one of the runner itself
/// (poll, waitid): the commands still running are then killed and reaped.
Result<BootSummary> run_boot(const BootPlan& plan,
                             const std::function<void(const BootEvent&)>& on_event);

}  // namespace vs
