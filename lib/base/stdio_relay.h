// The stdin, stdout and stderr of a command started in a context, and the loop that copies
// between them and the caller's own (SECURITY.md: a guest never holds an fd of the host's).
//
// Handed through as it is, the caller's stdio would give guest code the administrator's
// terminal (read what is typed after the command returned, TIOCSTI, the session's signals)
// or the file behind a redirection (reopened through /proc/self/fd/0 for writing). So the
// command gets pipes, or a pty, that this relay made; the caller's fds never leave this
// process, and once the command ended nothing of it reaches the caller any more, whatever
// its leftover processes hold.
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <optional>
#include <string_view>

#include "lib/base/child.h"
#include "lib/base/result.h"
#include "lib/base/unique_fd.h"

namespace vs {

class StdioRelay {
 public:
  /// Where a pipe relay reads and writes on the caller's side.
  struct Ends {
    int in = 0;   ///< copied to the command's stdin; -1: an empty stdin (EOF at once)
    int out = 1;  ///< the command's stdout goes here
    int err = 2;  ///< and its stderr
  };
  /// Three pipes: the command reads its stdin from one and writes stdout and stderr to the
  /// others; the relay copies `ends.in` in and the output out.
  static Result<StdioRelay> pipes(Ends ends);
  static Result<StdioRelay> pipes() { return pipes(Ends{}); }

  /// A pty pair (from any devpts): the command gets the slave as its controlling terminal on
  /// stdin and stdout, and on stderr too when the caller's stderr is a terminal (else a pipe,
  /// so that `2>file` keeps its meaning). While relaying, the caller's terminal on stdin is
  /// raw (the pty's line discipline does the editing and the signals) and its window size is
  /// passed on.
  static Result<StdioRelay> pty(UniqueFd master, UniqueFd slave);

  StdioRelay(StdioRelay&&) noexcept = default;
  StdioRelay& operator=(StdioRelay&&) noexcept = default;
  StdioRelay(const StdioRelay&) = delete;
  StdioRelay& operator=(const StdioRelay&) = delete;

  /// `tap` is also given each piece of the command's output (stdout and stderr, as read)
  /// before it is written out: e.g. to show progress while the output goes to a file.
  void set_tap(std::function<void(std::string_view)> tap) { tap_ = std::move(tap); }

  /// The fds the command gets as 0, 1 and 2 (valid until close_child_ends()).
  [[nodiscard]] std::array<int, 3> child_fds() const;
  /// The pty slave the command takes as its controlling terminal; -1 with pipes.
  [[nodiscard]] int controlling_tty() const { return tty_ ? slave_.get() : -1; }
  /// Closes this process's copies of the command's ends, once the command has its own (the
  /// relay sees EOF when the command and everything it started closed them).
  void close_child_ends();

  /// Copies until `child` ended, then drains what the command wrote before it ended without
  /// waiting for processes it left behind, and returns its status. With pipes, SIGHUP,
  /// SIGINT, SIGQUIT and SIGTERM of this process are passed on to the child (the command runs
  /// in a session of its own, out of reach of the caller's terminal). With `deadline`, the
  /// child is killed (SIGKILL) if it still runs then.
  Result<ExitStatus> run(Child& child,
                         std::optional<std::chrono::steady_clock::time_point> deadline = {});

 private:
  StdioRelay() = default;
  bool tty_ = false;
  Ends ends_;
  std::function<void(std::string_view)> tap_;
  // The command's ends.
  UniqueFd in_rd_, out_wr_, err_wr_, slave_;
  // Ours.
  UniqueFd in_wr_, out_rd_, err_rd_, master_;
};

}  // namespace vs
