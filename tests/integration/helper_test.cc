// The guest helper (kernel-shim/helper.h, kernel-shim/vsinit/vsinit.c) run for real from the
// sealed memfd open_helper() gives, through exec_helper() in a vs::Child: exec mode (PATH
// search, exec errors, scripts, fds, signal state, `#!/proc/self/exe`) and init mode as pid 1
// of a new pid namespace (report, exit status, reaping, stopping, forwarding, title,
// dumpability, memory). Root: CLONE_NEWPID and uid changes. The commands are the host's.
#include "kernel-shim/helper.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "lib/base/child.h"
#include "tests/support/run_in_child.h"
#include "tests/support/temp_tree.h"

namespace vs::shim {
namespace {

using Clock = std::chrono::steady_clock;
using Argv = std::vector<std::string>;
using namespace std::chrono_literals;

// How long a process may take to do what it must: a bound against hangs, never a measure of
// speed.
constexpr auto kPatience = 10s;

const Argv kEnv{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};

int ms_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

// Plain read(2): a /proc file of a process that dies meanwhile is just "nothing".
std::string slurp(const std::string& path) {
  std::string out;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

std::string status_field(pid_t pid, const std::string& key) {
  std::istringstream in(slurp("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      std::string v = line.substr(key.size() + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  }
  return "";
}

struct Proc {
  pid_t pid;
  char state;
  std::string cmdline;  // NULs as spaces
};

// Every process whose parent is `ppid`, from /proc.
std::vector<Proc> children_of(pid_t ppid) {
  std::vector<Proc> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (struct dirent* e = ::readdir(d)) {
    pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0) continue;
    std::string ppid_s = status_field(pid, "PPid");
    if (ppid_s.empty() || std::atoi(ppid_s.c_str()) != ppid) continue;
    std::string state = status_field(pid, "State");
    std::string cmd = slurp("/proc/" + std::to_string(pid) + "/cmdline");
    std::replace(cmd.begin(), cmd.end(), '\0', ' ');
    out.push_back({pid, state.empty() ? '?' : state[0], cmd});
  }
  ::closedir(d);
  return out;
}

std::string describe(const std::vector<Proc>& procs) {
  std::string s;
  for (const auto& p : procs) {
    s += std::to_string(p.pid) + " " + p.state + " [" + p.cmdline + "]; ";
  }
  return s.empty() ? "none" : s;
}

template <typename F>
bool eventually(F pred) {
  auto deadline = Clock::now() + kPatience;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
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
    struct pollfd p = {child.pidfd(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(patience.count())) != 1) return std::nullopt;
    auto st = child.wait();
    if (!st) {
      ADD_FAILURE() << st.error().message();
      return std::nullopt;
    }
    return *st;
  }
  [[nodiscard]] bool alive() const {
    struct pollfd p = {child.pidfd(), POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
  }
};

std::pair<UniqueFd, UniqueFd> make_pipe() {
  int fds[2] = {-1, -1};
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0) << strerror(errno);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// Runs the helper from a fresh open_helper() memfd in a new child; `argv_for` gets the report
// fd's number (the same in the child).
Helper start(const std::function<Argv(int report_fd)>& argv_for, const StartSpec& spec = {}) {
  Helper h;
  auto image = open_helper();
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
    exec_helper(helper_fd, rep, argv, spec.env);
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

Helper start_exec(const Argv& cmd, const StartSpec& spec = {}) {
  return start([&](int fd) { return helper_exec_argv(cmd, fd); }, spec);
}

Helper start_init(InitArgs args, StartSpec spec = {}) {
  spec.clone_flags |= CLONE_NEWPID;
  return start(
      [&](int fd) {
        args.report_fd = fd;
        return helper_init_argv(args);
      },
      spec);
}

::testing::AssertionResult exited(const std::optional<ExitStatus>& st, int code) {
  if (!st) return ::testing::AssertionFailure() << "still running after the patience";
  if (st->signaled) return ::testing::AssertionFailure() << "killed by signal " << st->value;
  if (st->value != code) return ::testing::AssertionFailure() << "exit code " << st->value;
  return ::testing::AssertionSuccess();
}

void write_file(const std::string& path, const std::string& content, mode_t mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  ASSERT_TRUE(fd) << path << ": " << strerror(errno);
  ASSERT_EQ(::write(fd.get(), content.data(), content.size()),
            static_cast<ssize_t>(content.size()));
  ASSERT_EQ(::fchmod(fd.get(), mode), 0);
}

// Signal state the helper must not pass on: ignored and blocked signals.
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

// A descriptor the test process has open without close-on-exec, at a known number.
constexpr int kStrayFd = 20;
void open_stray_fd() { ::dup2(0, kStrayFd); }

const Argv kShowSignalState{"grep", "-E", "^Sig(Blk|Ign):", "/proc/self/status"};
const std::string kCleanSignalState = "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n";

std::set<std::string> lines(const std::string& s) {
  std::set<std::string> out;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) out.insert(line);
  return out;
}

// ----- exec mode -----

TEST(HelperExec, RunsTheCommandWithExactlyTheGivenEnvironment) {
  StartSpec spec;
  spec.env = {"PATH=/usr/bin:/bin", "FOO=bar baz", "EMPTY="};
  Helper h = start_exec({"env"}, spec);
  EXPECT_TRUE(exited(h.wait(), 0));
  EXPECT_TRUE(h.output.read_to_eof());
  EXPECT_EQ(h.output.data(), "PATH=/usr/bin:/bin\nFOO=bar baz\nEMPTY=\n");
  EXPECT_TRUE(h.reports().empty()) << "the report fd must close silently on success";
}

class HelperExecFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    for (const char* d : {"/denied", "/bin", "/other"}) {
      ASSERT_EQ(::mkdir((tmp_.path() + d).c_str(), 0755), 0);
    }
    // Executable by nobody: execve says EACCES, even to root.
    write_file(dir("denied") + "/tool", "#!/bin/sh\necho denied\n", 0644);
    write_file(dir("bin") + "/tool", "#!/bin/sh\necho right \"$@\"\n", 0755);
    write_file(dir("bin") + "/plain", "echo via-sh \"$0\" \"$1\"\n", 0755);
    write_file(dir("bin") + "/evil", "#!/proc/self/exe\n", 0755);
    write_file(dir("other") + "/file", "", 0644);
  }
  [[nodiscard]] std::string dir(const std::string& name) const { return tmp_.path() + "/" + name; }
  StartSpec with_path(const std::string& path) const {
    StartSpec spec;
    spec.env = {"PATH=" + path};
    return spec;
  }

  test::ScopedTempDir tmp_;
};

TEST_F(HelperExecFiles, SearchesPathPastMissingDeniedAndNonDirectoryEntries) {
  // ENOENT, ENOTDIR and EACCES all go on to the next entry (glibc's execvp).
  Helper h = start_exec({"tool", "a b"}, with_path("/nonexistent:" + dir("other") +
                                                   "/file:" + dir("denied") + ":" + dir("bin")));
  EXPECT_TRUE(exited(h.wait(), 0));
  EXPECT_TRUE(h.output.read_to_eof());
  EXPECT_EQ(h.output.data(), "right a b\n");
  EXPECT_TRUE(h.reports().empty());
}

TEST_F(HelperExecFiles, ReportsEaccesWhenOnlyADeniedCandidateWasFound) {
  Helper h = start_exec({"tool"}, with_path(dir("denied") + ":/nonexistent"));
  EXPECT_EQ(h.reports(), std::vector<int>{EACCES});
  EXPECT_TRUE(exited(h.wait(), 127));
}

TEST_F(HelperExecFiles, ReportsEnoentForAMissingCommand) {
  for (const Argv& cmd : {Argv{"vs-no-such-command"}, Argv{"/nonexistent/dir/cmd"}, Argv{""}}) {
    Helper h = start_exec(cmd, with_path("/nonexistent:" + dir("bin")));
    EXPECT_EQ(h.reports(), std::vector<int>{ENOENT}) << "`" << cmd[0] << "`";
    EXPECT_TRUE(exited(h.wait(), 127)) << "`" << cmd[0] << "`";
  }
}

TEST(HelperExec, SaysExecErrorsOnStderrWithoutAReportFd) {
  Helper h = start([](int) { return helper_exec_argv({"vs-no-such-command"}, -1); });
  EXPECT_TRUE(exited(h.wait(), 127));
  EXPECT_TRUE(h.output.read_to_eof());
  EXPECT_EQ(h.output.data(),
            "vsinit: cannot exec vs-no-such-command: errno " + std::to_string(ENOENT) + "\n");
}

TEST_F(HelperExecFiles, RunsAPathWithASlashAsItIs) {
  Helper denied = start_exec({dir("denied") + "/tool"}, with_path(dir("bin")));
  EXPECT_EQ(denied.reports(), std::vector<int>{EACCES});
  EXPECT_TRUE(exited(denied.wait(), 127));

  Helper ok = start_exec({dir("bin") + "/tool", "x"}, with_path("/nonexistent"));
  EXPECT_TRUE(exited(ok.wait(), 0));
  EXPECT_TRUE(ok.output.read_to_eof());
  EXPECT_EQ(ok.output.data(), "right x\n");
}

TEST_F(HelperExecFiles, RunsAScriptWithoutShebangThroughBinSh) {
  // glibc: ENOEXEC -> /bin/sh FILE ARGS..., FILE being the path found.
  Helper h = start_exec({"plain", "arg"}, with_path("/nonexistent:" + dir("bin")));
  EXPECT_TRUE(exited(h.wait(), 0));
  EXPECT_TRUE(h.output.read_to_eof());
  EXPECT_EQ(h.output.data(), "via-sh " + dir("bin") + "/plain arg\n");
  EXPECT_TRUE(h.reports().empty());
}

TEST_F(HelperExecFiles, RefusesToBeTheInterpreterOfProcSelfExe) {
  // The kernel resolves `#!/proc/self/exe` while the exec'ing image is still the helper: the
  // interpreter is the helper from its memfd (never a host binary), which refuses.
  Helper h = start_exec({"evil", "arg"}, with_path(dir("bin")));
  EXPECT_TRUE(exited(h.wait(), 126));
  EXPECT_TRUE(h.output.read_to_eof());
  // Only vsinit says this: the test binary as interpreter would run gtest instead.
  EXPECT_EQ(h.output.data(),
            "vsinit: this is vserver's guest helper, not a program to run: argv[0] is "
            "/proc/self/exe\n");
  EXPECT_TRUE(h.reports().empty()) << "the exec itself succeeded";

  // The same as a guest's init command.
  InitArgs args;
  args.argv = {"evil"};
  Helper init = start_init(args, with_path(dir("bin")));
  EXPECT_EQ(init.reports(), std::vector<int>{0});
  EXPECT_TRUE(exited(init.wait(), 126));
  EXPECT_TRUE(init.output.read_to_eof());
  EXPECT_NE(init.output.data().find("argv[0] is /proc/self/exe"), std::string::npos)
      << init.output.data();
}

TEST(HelperExec, PassesNoDescriptorBeyondStdio) {
  StartSpec spec;
  spec.before_exec = open_stray_fd;
  Helper h = start_exec({"ls", "/proc/self/fd"}, spec);
  EXPECT_TRUE(exited(h.wait(), 0));
  EXPECT_TRUE(h.output.read_to_eof());
  // 3 is the directory ls reads: the first free number, so nothing else was open.
  EXPECT_EQ(lines(h.output.data()), (std::set<std::string>{"0", "1", "2", "3"})) << h.output.data();
}

TEST(HelperExec, StartsTheCommandWithDefaultSignalState) {
  // Control: the spoiled state does reach a command exec'd without the helper.
  StartSpec plain_spec;
  plain_spec.before_exec = spoil_signal_state;
  auto [r, w] = make_pipe();
  const int out = w.get();
  auto plain = Child::spawn({}, [&]() -> int {
    ::dup2(out, 1);
    spoil_signal_state();
    std::vector<char*> args;
    for (const auto& a : kShowSignalState) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    return 127;
  });
  ASSERT_TRUE(plain);
  w.reset();
  Reader control(std::move(r));
  EXPECT_TRUE(control.read_to_eof());
  EXPECT_NE(control.data(), kCleanSignalState) << "the control shows no spoiled state";
  (void)plain->wait();

  Helper h = start_exec(kShowSignalState, plain_spec);
  EXPECT_TRUE(exited(h.wait(), 0));
  EXPECT_TRUE(h.output.read_to_eof());
  EXPECT_EQ(h.output.data(), kCleanSignalState);
}

TEST(HelperRefuses, OtherNamesAndBadOptions) {
  struct Case {
    Argv argv;
    uint64_t clone_flags;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"/proc/self/exe"}, 0, "argv[0] is /proc/self/exe"},
      {{"vserver"}, 0, "argv[0] is vserver"},
      {{"vserver-exec", "-x", "--", "true"}, 0, "unknown option -x"},
      {{"vserver-exec", "-s", "--", "true"}, 0, "unknown option -s"},
      {{"vserver-exec", "-r"}, 0, "missing value for -r"},
      {{"vserver-exec", "-r", "3x", "--", "true"}, 0, "bad report fd 3x"},
      {{"vserver-exec", "-r", "-1", "--", "true"}, 0, "bad report fd -1"},
      {{"vserver-exec", "--"}, 0, "missing command"},
      {{"vserver-exec", "true"}, 0, "unknown option true"},
      {{"vserver-init", "-k", "99999999999", "--", "true"}, CLONE_NEWPID, "bad kill-after"},
      {{"vserver-init", "--"}, CLONE_NEWPID, "missing command"},
      {{"vserver-init", "-s", "--"}, 0, "pid 1 only"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(testing::PrintToString(c.argv));
    StartSpec spec;
    spec.clone_flags = c.clone_flags;
    Helper h = start([&](int) { return c.argv; }, spec);
    EXPECT_TRUE(exited(h.wait(), 126));
    EXPECT_TRUE(h.output.read_to_eof());
    EXPECT_EQ(h.output.data().rfind("vsinit: ", 0), 0U) << h.output.data();
    EXPECT_NE(h.output.data().find(c.message), std::string::npos) << h.output.data();
  }
}

// vm.memfd_noexec belongs to a pid namespace: set it in a new one only. Returns what the
// child saw: 0 an executable memfd, EACCES with the sysctl named, else a failure code.
int open_helper_with_memfd_noexec(const char* value) {
  auto child = Child::spawn({.flags = CLONE_NEWPID}, [&]() -> int {
    UniqueFd f(::open("/proc/sys/vm/memfd_noexec", O_WRONLY | O_CLOEXEC));
    if (!f || ::write(f.get(), value, 1) != 1) return 100;
    auto fd = open_helper();
    if (fd) {
      struct stat st {};
      return ::fstat(fd->get(), &st) == 0 && (st.st_mode & 0111) == 0111 ? 0 : 101;
    }
    if (fd.error().message().find("vm.memfd_noexec") == std::string::npos) return 102;
    return fd.error().code;
  });
  if (!child) return -1;
  auto st = child->wait();
  return st ? st->as_exit_code() : -1;
}

TEST(HelperMemfd, ExecutableUnderMemfdNoexec1AndANamedErrorUnder2) {
  const std::string before = slurp("/proc/sys/vm/memfd_noexec");
  // 1: memfds are noexec unless asked for: open_helper() asks (MFD_EXEC).
  EXPECT_EQ(open_helper_with_memfd_noexec("1"), 0)
      << "100: sysctl not written, 101: memfd not executable";
  // 2: no executable memfd at all.
  EXPECT_EQ(open_helper_with_memfd_noexec("2"), EACCES)
      << "0: executable memfd made, 100: sysctl not written, 102: sysctl not named";
  EXPECT_EQ(slurp("/proc/sys/vm/memfd_noexec"), before) << "the host's value changed";
}

// ----- init mode -----

InitArgs init_args(Argv cmd, bool stays = false, unsigned kill_after_ms = 5000) {
  InitArgs a;
  a.argv = std::move(cmd);
  a.stays = stays;
  a.kill_after_ms = kill_after_ms;
  return a;
}

TEST(HelperInit, ReportsZeroThenEofAndEndsWithTheCommandsExitCode) {
  Helper h = start_init(init_args({"sh", "-c", "exit 7"}));
  EXPECT_EQ(h.reports(), std::vector<int>{0});
  EXPECT_TRUE(exited(h.wait(), 7));
}

TEST(HelperInit, EndsWith128PlusTheSignalThatKilledTheCommand) {
  Helper h = start_init(init_args({"sh", "-c", "kill -USR2 $$"}));
  EXPECT_EQ(h.reports(), std::vector<int>{0});
  EXPECT_TRUE(exited(h.wait(), 128 + SIGUSR2));
}

TEST(HelperInit, ReportsExecErrorsAndExits127) {
  Helper h = start_init(init_args({"vs-no-such-command"}));
  EXPECT_EQ(h.reports(), std::vector<int>{ENOENT});
  EXPECT_TRUE(exited(h.wait(), 127));
  Helper stays = start_init(init_args({"vs-no-such-command"}, true));
  EXPECT_EQ(stays.reports(), std::vector<int>{ENOENT});
  EXPECT_TRUE(exited(stays.wait(), 127));
}

TEST(HelperInit, ReapsOrphans) {
  // The subshells exit at once: their children become init's.
  Helper h = start_init(
      init_args({"sh", "-c", "(sleep 0.3 &); (true &); (true &); echo forked; exec sleep 1000"}));
  EXPECT_EQ(h.reports(), std::vector<int>{0});
  ASSERT_TRUE(h.output.wait_for("forked")) << h.output.data();
  const pid_t init = h.child.pid();
  // Once exec'd, the orphan shows as itself.
  std::vector<Proc> kids;
  EXPECT_TRUE(eventually([&] {
    kids = children_of(init);
    return std::any_of(kids.begin(), kids.end(),
                       [](const Proc& p) { return p.cmdline == "sleep 0.3 "; });
  })) << "the orphan is no child of init: "
      << describe(kids);
  EXPECT_TRUE(eventually([&] {
    kids = children_of(init);
    return kids.size() == 1 && kids[0].cmdline == "sleep 1000 " && kids[0].state != 'Z';
  })) << "left besides the command: "
      << describe(kids);
  EXPECT_TRUE(h.alive());
}

TEST(HelperInit, ForwardsSignalsToTheCommand) {
  for (bool stays : {false, true}) {
    SCOPED_TRACE(stays ? "stays" : "ends with the command");
    Helper h = start_init(init_args(
        {"sh", "-c", "trap 'echo got-usr1; exit 5' USR1; echo ready; while :; do sleep 0.05; done"},
        stays));
    EXPECT_EQ(h.reports(), std::vector<int>{0});
    ASSERT_TRUE(h.output.wait_for("ready")) << h.output.data();
    ASSERT_TRUE(h.child.signal(SIGUSR1));
    ASSERT_TRUE(h.output.wait_for("got-usr1")) << h.output.data();
    if (!stays) {
      EXPECT_TRUE(exited(h.wait(), 5));
      continue;
    }
    // The command ended; a staying init goes on until told to stop.
    ASSERT_TRUE(eventually([&] { return children_of(h.child.pid()).empty(); }));
    std::this_thread::sleep_for(100ms);
    EXPECT_TRUE(h.alive());
    ASSERT_TRUE(h.child.signal(SIGTERM));
    EXPECT_TRUE(exited(h.wait(), 0));
  }
}

TEST(HelperInit, StaysWithoutACommandUntilSigtermSigintOrSigpwr) {
  for (int sig : {SIGTERM, SIGINT, SIGPWR}) {
    SCOPED_TRACE(strsignal(sig));
    Helper h = start_init(init_args({}, true));
    EXPECT_EQ(h.reports(), std::vector<int>{0});
    // Signals that stop nothing are taken and dropped.
    ASSERT_TRUE(h.child.signal(SIGHUP));
    ASSERT_TRUE(h.child.signal(SIGUSR1));
    std::this_thread::sleep_for(100ms);
    EXPECT_TRUE(h.alive());
    ASSERT_TRUE(h.child.signal(sig));
    EXPECT_TRUE(exited(h.wait(), 0));
  }
}

TEST(HelperInit, StopsWithSigtermThenSigkillsWhatIgnoresItAfterKillAfter) {
  constexpr unsigned kKillAfterMs = 300;
  Helper h = start_init(
      init_args({"sh", "-c",
                 "sh -c 'trap \"\" TERM; echo ignoring; exec sleep 1000' & "
                 "sh -c 'trap \"echo other-got-term; exit 0\" TERM; echo other; "
                 "while :; do sleep 0.05; done' & "
                 "trap 'echo got-term; exit 0' TERM; echo ready; while :; do sleep 0.05; done"},
                true, kKillAfterMs));
  EXPECT_EQ(h.reports(), std::vector<int>{0});
  ASSERT_TRUE(h.output.wait_for("ready")) << h.output.data();
  ASSERT_TRUE(h.output.wait_for("ignoring")) << h.output.data();
  ASSERT_TRUE(h.output.wait_for("other")) << h.output.data();
  auto t0 = Clock::now();
  ASSERT_TRUE(h.child.signal(SIGTERM));
  auto st = h.wait();
  auto elapsed = Clock::now() - t0;
  // 0 only once every other process is gone: the one that ignores SIGTERM had to be killed.
  EXPECT_TRUE(exited(st, 0));
  EXPECT_GE(elapsed, std::chrono::milliseconds(kKillAfterMs - 10))
      << "SIGKILL came before the kill-after time";
  EXPECT_TRUE(h.output.read_to_eof());
  EXPECT_NE(h.output.data().find("\ngot-term"), std::string::npos)
      << "the command got no SIGTERM: " << h.output.data();
  EXPECT_NE(h.output.data().find("other-got-term"), std::string::npos)
      << "another process got no SIGTERM: " << h.output.data();
}

TEST(HelperInit, KillAfterIsADeadlineThatOtherSignalsDoNotPostpone) {
  constexpr unsigned kKillAfterMs = 300;
  Helper h = start_init(
      init_args({"sh", "-c", "trap '' TERM; echo ready; exec sleep 1000"}, true, kKillAfterMs));
  EXPECT_EQ(h.reports(), std::vector<int>{0});
  ASSERT_TRUE(h.output.wait_for("ready")) << h.output.data();
  auto t0 = Clock::now();
  ASSERT_TRUE(h.child.signal(SIGTERM));
  // A signal every 50 ms, forwarded to the command (SIGWINCH: ignored by default). Were each
  // one to restart the wait, init would never get to SIGKILL.
  std::optional<ExitStatus> st;
  while (Clock::now() - t0 < 3s) {
    st = h.wait(50ms);
    if (st) break;
    (void)h.child.signal(SIGWINCH);
  }
  EXPECT_TRUE(exited(st, 0)) << "init did not stop within 3 s";
  EXPECT_GE(Clock::now() - t0, std::chrono::milliseconds(kKillAfterMs - 10));
}

TEST(HelperInit, ShowsItsTitleAndLeavesTheCommandsArgumentsAlone) {
  InitArgs args = init_args({"sleep", "1000"}, true);
  args.title = "vserver web1";
  Helper h = start_init(args);
  EXPECT_EQ(h.reports(), std::vector<int>{0});
  const std::string proc = "/proc/" + std::to_string(h.child.pid());
  EXPECT_EQ(slurp(proc + "/cmdline"), std::string("vserver web1\0", 13));
  EXPECT_EQ(slurp(proc + "/comm"), "vserver-init\n");
  auto kids = children_of(h.child.pid());
  ASSERT_EQ(kids.size(), 1U) << describe(kids);
  EXPECT_EQ(slurp("/proc/" + std::to_string(kids[0].pid) + "/cmdline"), std::string("sleep\0"
                                                                                    "1000\0",
                                                                                    11));

  Helper plain = start_init(init_args({}, true));
  EXPECT_EQ(plain.reports(), std::vector<int>{0});
  EXPECT_EQ(slurp("/proc/" + std::to_string(plain.child.pid()) + "/cmdline"),
            std::string("vserver-init\0", 13));
}

TEST(HelperInit, RunsFromTheMemfdAndKeepsOnlyStdio) {
  StartSpec spec;
  spec.before_exec = open_stray_fd;
  Helper h = start_init(init_args({"ls", "/proc/self/fd"}, true), spec);
  EXPECT_EQ(h.reports(), std::vector<int>{0});
  const std::string proc = "/proc/" + std::to_string(h.child.pid());
  char buf[256] = {};
  ASSERT_GT(::readlink((proc + "/exe").c_str(), buf, sizeof buf - 1), 0) << strerror(errno);
  EXPECT_EQ(std::string(buf).rfind("/memfd:vsinit", 0), 0U) << buf;
  // CVE-2019-5736: whoever reaches init's exe cannot change it, not even root. While it
  // runs, the kernel refuses to open it for writing (ETXTBSY); at any time the seals refuse
  // writes and size changes, on every open file of the memfd.
  UniqueFd exe_ro(::open((proc + "/exe").c_str(), O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(exe_ro) << strerror(errno);
  EXPECT_EQ(::fcntl(exe_ro.get(), F_GET_SEALS),
            F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
  UniqueFd exe_rw(::open((proc + "/exe").c_str(), O_WRONLY | O_CLOEXEC));
  if (exe_rw) {
    errno = 0;
    EXPECT_EQ(::write(exe_rw.get(), "x", 1), -1) << "wrote into the running helper";
    EXPECT_EQ(errno, EPERM);
  } else {
    EXPECT_EQ(errno, ETXTBSY) << strerror(errno);
  }
  // Init's own descriptors: stdio only.
  std::set<std::string> fds;
  DIR* d = ::opendir((proc + "/fd").c_str());
  ASSERT_NE(d, nullptr);
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') fds.insert(e->d_name);
  }
  ::closedir(d);
  EXPECT_EQ(fds, (std::set<std::string>{"0", "1", "2"}));
  // The command's: stdio and ls's own directory.
  ASSERT_TRUE(h.output.wait_for("\n3\n")) << h.output.data();
  ASSERT_TRUE(eventually([&] { return children_of(h.child.pid()).empty(); }));
  EXPECT_EQ(lines(h.output.data()), (std::set<std::string>{"0", "1", "2", "3"})) << h.output.data();
}

TEST(HelperInit, StartsTheCommandWithDefaultSignalState) {
  StartSpec spec;
  spec.before_exec = spoil_signal_state;
  Helper h = start_init(init_args(kShowSignalState), spec);
  EXPECT_EQ(h.reports(), std::vector<int>{0});
  EXPECT_TRUE(exited(h.wait(), 0));
  EXPECT_TRUE(h.output.read_to_eof());
  EXPECT_EQ(h.output.data(), kCleanSignalState);
}

TEST(HelperInit, IsNotDumpable) {
  // Init and the prober share a uid without capabilities: only dumpability keeps the prober
  // out of init's /proc files, while the (dumpable) command stays open to it.
  constexpr uid_t kNobody = 65534;
  StartSpec spec;
  spec.uid = kNobody;
  Helper h = start_init(init_args({"sleep", "1000"}, true), spec);
  EXPECT_EQ(h.reports(), std::vector<int>{0});
  const pid_t init = h.child.pid();
  ASSERT_TRUE(eventually([&] { return children_of(init).size() == 1; }));
  const pid_t cmd = children_of(init)[0].pid;
  EXPECT_EQ(status_field(init, "Uid"), "65534\t65534\t65534\t65534");

  // The files in /proc/PID of a process that is not dumpable belong to root (the directory
  // itself keeps the owner, for ps).
  struct stat st {};
  ASSERT_EQ(::stat(("/proc/" + std::to_string(init) + "/status").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 0U) << "init is dumpable";
  ASSERT_EQ(::stat(("/proc/" + std::to_string(cmd) + "/status").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, kNobody) << "control: the command should be dumpable";

  test::run_in_child([&]() -> std::string {
    if (::setgroups(0, nullptr) < 0 || ::setresgid(kNobody, kNobody, kNobody) < 0 ||
        ::setresuid(kNobody, kNobody, kNobody) < 0) {
      return std::string("drop to nobody: ") + strerror(errno);
    }
    char buf[256];
    std::string init_exe = "/proc/" + std::to_string(init) + "/exe";
    errno = 0;
    if (::readlink(init_exe.c_str(), buf, sizeof buf) >= 0 || errno != EACCES) {
      return "readlink " + init_exe + " was not refused with EACCES: " + strerror(errno);
    }
    int mem = ::open(("/proc/" + std::to_string(init) + "/mem").c_str(), O_RDONLY | O_CLOEXEC);
    if (mem >= 0) {
      ::close(mem);
      return "opened init's /proc/PID/mem";
    }
    if (::readlink(("/proc/" + std::to_string(cmd) + "/exe").c_str(), buf, sizeof buf) < 0) {
      return std::string("control: readlink of the command's exe failed: ") + strerror(errno);
    }
    return "";
  });
}

TEST(HelperInit, IdleCostsAtMostFourPagesOfMemory) {
  // The budget of an idle guest init: text, data and stack together (smaps_rollup Pss).
  Helper h = start_init(init_args({"sleep", "1000"}, true));
  EXPECT_EQ(h.reports(), std::vector<int>{0});
  std::istringstream in(slurp("/proc/" + std::to_string(h.child.pid()) + "/smaps_rollup"));
  std::string line;
  long pss_kib = -1;
  while (std::getline(in, line)) {
    if (line.rfind("Pss:", 0) == 0) pss_kib = std::atol(line.c_str() + 4);
  }
  ASSERT_GT(pss_kib, 0);
  ::testing::Test::RecordProperty("idle_init_pss_kib", static_cast<int>(pss_kib));
  std::printf("idle guest init: Pss %ld KiB\n", pss_kib);
  EXPECT_LE(pss_kib, 16);
}

}  // namespace
}  // namespace vs::shim
