// The guest helper (kernel-shim/helper.h, kernel-shim/vsinit/vsinit.c) run for real from the
// sealed memfd open_helper() gives, through exec_helper() in a vs::Child, in exec mode: PATH
// search, exec errors, scripts, fds, signal state, `#!/proc/self/exe`, refused names and
// options, and vm.memfd_noexec. Init mode is in helper_init_test.cc. Root: CLONE_NEWPID and
// uid changes. The commands are the host's.
#include "kernel-shim/helper.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "lib/base/child.h"
#include "tests/integration/helper_harness.h"
#include "tests/support/files.h"
#include "tests/support/temp_tree.h"

namespace vs::shim {
namespace {

void write_file(const std::string& path, const std::string& content, mode_t mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  ASSERT_TRUE(fd) << path << ": " << strerror(errno);
  ASSERT_EQ(::write(fd.get(), content.data(), content.size()),
            static_cast<ssize_t>(content.size()));
  ASSERT_EQ(::fchmod(fd.get(), mode), 0);
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

}  // namespace
}  // namespace vs::shim
