#include "tests/integration/helper_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <sstream>

namespace vs::test {

std::pair<UniqueFd, UniqueFd> make_pipe() {
  int fds[2] = {-1, -1};
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0) << strerror(errno);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

Helper start(const std::function<Argv(int report_fd)>& argv_for, const StartSpec& spec) {
  Helper h;
  auto image = shim::open_helper();
  if (!image) {
    ADD_FAILURE() << image.error().message();
    return h;
  }
  auto [report_r, report_w] = make_pipe();
  auto [out_r, out_w] = make_pipe();
  const Argv argv = argv_for(report_w.get());
  const int helper_fd = image->get();
  const int rep = report_w.get();
  const int out = out_w.get();
  auto child = Child::spawn({.flags = spec.clone_flags}, [&]() -> int {
    // Dies with the test, whatever the test does.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null < 0 || ::dup2(null, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(out, 2) < 0) return 120;
    if (spec.before_exec) spec.before_exec();
    if (spec.uid != 0 &&
        (::setgroups(0, nullptr) < 0 || ::setresgid(spec.uid, spec.uid, spec.uid) < 0 ||
         ::setresuid(spec.uid, spec.uid, spec.uid) < 0)) {
      return 121;
    }
    shim::exec_helper(helper_fd, rep, argv, spec.env);
    return 122;
  });
  if (!child) {
    ADD_FAILURE() << child.error().message();
    return h;
  }
  h.child = std::move(*child);
  h.report = Reader(std::move(report_r));
  h.output = Reader(std::move(out_r));
  return h;
}

Helper start_exec(const Argv& cmd, const StartSpec& spec) {
  return start([&](int fd) { return shim::helper_exec_argv(cmd, fd); }, spec);
}

Helper start_init(shim::InitArgs args, StartSpec spec) {
  spec.clone_flags |= CLONE_NEWPID;
  return start(
      [&](int fd) {
        args.report_fd = fd;
        return shim::helper_init_argv(args);
      },
      spec);
}

::testing::AssertionResult exited(const std::optional<ExitStatus>& st, int code) {
  if (!st) return ::testing::AssertionFailure() << "still running after the patience";
  if (st->signaled) return ::testing::AssertionFailure() << "killed by signal " << st->value;
  if (st->value != code) return ::testing::AssertionFailure() << "exit code " << st->value;
  return ::testing::AssertionSuccess();
}

void spoil_signal_state() {
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGUSR1, SIG_IGN);
  ::signal(SIGTERM, SIG_IGN);
  sigset_t set;
  ::sigemptyset(&set);
  ::sigaddset(&set, SIGUSR2);
  ::sigaddset(&set, SIGHUP);
  ::sigprocmask(SIG_BLOCK, &set, nullptr);
}

namespace {

constexpr int kStrayFd = 20;

}  // namespace

void open_stray_fd() { ::dup2(0, kStrayFd); }

std::set<std::string> lines(const std::string& s) {
  std::set<std::string> out;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) out.insert(line);
  return out;
}

}  // namespace vs::test
