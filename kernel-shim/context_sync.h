// The exchange between the creator of a context (or an entrant's parent) and the process it
// starts inside (STYLE.md R9). Two channels:
//
//   sync    a SOCK_SEQPACKET pair, close-on-exec: numbered steps both ways, and the child's
//           failure reports (errno and what failed). The child's end closes when it execs the
//           helper (kernel-shim/helper.h), so EOF after the go means "the helper runs".
//   report  a pipe whose write end the helper keeps: the exec report of the guest's command
//           (helper.h): an errno if it could not be exec'd; init mode writes 0 once it was.
//
// Every send and receive returns a Result and is checked. A peer that dies shows as EOF,
// which becomes "... died before step #N" with how it ended (waitid WNOWAIT on its pidfd,
// so the caller can still reap it), never a hang and never a success.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "lib/base/child.h"
#include "lib/base/result.h"
#include "lib/base/unique_fd.h"

namespace vs::shim {

enum class Step : uint32_t {
  kCgroupReady = 1,  ///< creator -> child: cgroups attached, id maps written
  kNsReady = 2,      ///< child -> creator: namespaces and mounts set up
  kGo = 3,           ///< creator -> child: pins and state are in place (+ the seccomp blob)
  kExec = 4,         ///< child -> creator: EOF once the helper runs (or a failure report)
};

/// One end of the sync channel.
class SyncChannel {
 public:
  /// A connected pair: (creator's end, child's end).
  static Result<std::pair<SyncChannel, SyncChannel>> make();

  SyncChannel() = default;
  [[nodiscard]] int fd() const { return fd_.get(); }
  void close() { fd_.reset(); }

  /// Sends `step` done, with an optional payload (the seccomp blob with the go).
  Result<void> send(Step step, std::string_view payload = {});
  /// The child's failure at `step`: errno (EINVAL if 0) and what failed, for the message.
  Result<void> send_failure(Step step, int err, std::string_view what);
  /// Waits for `step` from the peer and returns its payload (at most `max` bytes). A failure
  /// report becomes its Error; EOF becomes "context init died before step #N" (with how it
  /// ended when `peer` is given), a wrong step a protocol error.
  Result<std::string> expect(Step step, const Child* peer = nullptr, size_t max = 0);
  /// A failure the peer reported already, without waiting: for the creator whose own step
  /// failed because the child gave up first (its real reason is then in the channel).
  std::optional<Error> reported_failure();
  /// Waits for EOF (the peer exec'd): a failure report becomes its Error, data before EOF a
  /// protocol error.
  Result<void> expect_eof(Step step);

 private:
  explicit SyncChannel(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

/// The report pipe: (read end, write end), both close-on-exec.
Result<std::pair<UniqueFd, UniqueFd>> make_report_pipe();

/// What the helper reported for the command `what` on `report_rd` (its write end closed in
/// the caller). `token`: init mode, where success is an explicit 0; without it (exec mode)
/// EOF is success. An errno becomes an "exec" error (exit 127 in the tools); EOF without the
/// token, "died before it ran the command" with how `child` ended.
Result<void> read_exec_report(int report_rd, const Child& child, bool token,
                              const std::string& what);

/// How `child` ended, if it did ("exited with 1", "killed by SIGKILL"), without reaping it;
/// empty while it runs.
std::string how_it_ended(const Child& child);

}  // namespace vs::shim
