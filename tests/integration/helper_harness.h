// Runs the guest helper (kernel-shim/helper.h) for the Helper* tests: from a fresh
// open_helper() memfd through exec_helper() in a vs::Child, with its report channel and its
// output read with a deadline, and the spoiled state it must not pass on.
#pragma once

#include <errno.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "kernel-shim/helper.h"
#include "lib/base/child.h"
#include "lib/base/unique_fd.h"
#include "tests/support/children.h"
#include "tests/support/files.h"
#include "tests/support/patience.h"

namespace vs::test {

using Argv = std::vector<std::string>;

inline const Argv kEnv{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};

inline int ms_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

// The read end of a pipe, read with a deadline.
class Reader {
 public:
  Reader() = default;
  explicit Reader(UniqueFd fd) : fd_(std::move(fd)) {}

  /// Reads until `needle` has been seen (true) or EOF / the patience ran out (false).
  bool wait_for(const std::string& needle) {
    auto deadline = Clock::now() + kPatience;
    while (data_.find(needle) == std::string::npos) {
      if (!read_some(deadline)) return false;
    }
    return true;
  }
  /// Reads until EOF; false if the patience ran out first.
  bool read_to_eof() {
    auto deadline = Clock::now() + kPatience;
    while (read_some(deadline)) {
    }
    return eof_;
  }
  [[nodiscard]] const std::string& data() const { return data_; }
  [[nodiscard]] bool eof() const { return eof_; }

 private:
  bool read_some(Clock::time_point deadline) {
    if (eof_ || !fd_) return false;
    struct pollfd p = {fd_.get(), POLLIN, 0};
    int r = ::poll(&p, 1, ms_left(deadline));
    if (r < 0 && errno == EINTR) return true;
    if (r <= 0) return false;
    char buf[4096];
    ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) return true;
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    data_.append(buf, static_cast<size_t>(n));
    return true;
  }

  UniqueFd fd_;
  std::string data_;
  bool eof_ = false;
};

struct StartSpec {
  uint64_t clone_flags = 0;
  Argv env = kEnv;
  uid_t uid = 0;                      // not 0: run the helper as this uid and gid
  std::function<void()> before_exec;  // in the child, before exec_helper
};

// A started helper: its process, its report channel and its stdout + stderr.
struct Helper {
  Child child;
  Reader report;
  Reader output;

  /// The report channel's ints up to EOF (which must come).
  std::vector<int> reports() {
    EXPECT_TRUE(report.read_to_eof()) << "report channel still open";
    std::vector<int> out;
    const std::string& d = report.data();
    EXPECT_EQ(d.size() % sizeof(int), 0U) << "a partial int on the report channel";
    for (size_t i = 0; i + sizeof(int) <= d.size(); i += sizeof(int)) {
      int v;
      std::memcpy(&v, d.data() + i, sizeof v);
      out.push_back(v);
    }
    return out;
  }
  /// Waits for the helper to end; nullopt (and SIGKILL) if it does not within the patience.
  std::optional<ExitStatus> wait(std::chrono::milliseconds patience = kPatience) {
    return wait_exit(child, patience);
  }
  [[nodiscard]] bool alive() const { return still_running(child); }
};

/// A pipe, both ends close-on-exec: {read end, write end}.
std::pair<UniqueFd, UniqueFd> make_pipe();

/// Runs the helper from a fresh open_helper() memfd in a new child; `argv_for` gets the report
/// fd's number (the same in the child).
Helper start(const std::function<Argv(int report_fd)>& argv_for, const StartSpec& spec = {});
/// The helper in exec mode running `cmd`.
Helper start_exec(const Argv& cmd, const StartSpec& spec = {});
/// The helper in init mode, pid 1 of a new pid namespace.
Helper start_init(shim::InitArgs args, StartSpec spec = {});

/// Whether the helper ended with exit code `code` (not by a signal, not still running).
::testing::AssertionResult exited(const std::optional<ExitStatus>& st, int code);

/// Signal state the helper must not pass on: ignored and blocked signals.
void spoil_signal_state();

/// Opens a descriptor without close-on-exec, at a known number, as a test process may have.
void open_stray_fd();

/// A command that shows its signal state, and what it shows when nothing is blocked or ignored.
inline const Argv kShowSignalState{"grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"};
inline const std::string kCleanSignalState =
    "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n";

/// The lines of `s`, as a set.
std::set<std::string> lines(const std::string& s);

}  // namespace vs::test

// The Helper* tests are in vs::shim and use these names unqualified.
namespace vs::shim {
using test::Argv;
using test::Clock;
using test::exited;
using test::Helper;
using test::kCleanSignalState;
using test::kPatience;
using test::kShowSignalState;
using test::lines;
using test::make_pipe;
using test::open_stray_fd;
using test::Reader;
using test::slurp;
using test::spoil_signal_state;
using test::start;
using test::start_exec;
using test::start_init;
using test::StartSpec;
}  // namespace vs::shim
