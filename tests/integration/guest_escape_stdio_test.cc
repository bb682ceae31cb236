// Escapes of issue 18, classes 6 and 4 (the catalogue: guest_escape_fixture.h): the stdio a
// host tool is given, a host file or the administrator's terminal, reaching the guest. Each
// with its weak setup (GuestEscapeWeak.*).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "tests/integration/guest_escape_fixture.h"
#include "tests/support/files.h"
#include "tests/support/host_watch.h"
#include "tests/support/pty.h"
#include "tests/support/spawned.h"

namespace vs::test {
namespace {

namespace fs = std::filesystem;

// ==== 6. A host file given as stdin/stdout can be rewritten or read back =================

enum class Stdio { kStdinRewrite, kStdinThroughAnotherProcess, kStdoutReadBack, kStopSysvStdin };

const char* stdio_name(Stdio s) {
  switch (s) {
    case Stdio::kStdinRewrite:
      return "stdin_rewrite";
    case Stdio::kStdinThroughAnotherProcess:
      return "stdin_other_process";
    case Stdio::kStdoutReadBack:
      return "stdout_read_back";
    case Stdio::kStopSysvStdin:
      return "stop_sysv_stdin";
  }
  return "?";
}

// "fdN=TARGET" lines: each TARGET must be a pipe or a pty, never a file of the host (or, with
// `dev_null`, the guest's /dev/null: for code the tool runs on its own behalf, like rc 0).
void expect_only_pipes_or_ptys(const std::string& out, int count, bool dev_null = false) {
  static const std::regex ok(R"(^(pipe:\[[0-9]+\]|/dev/pts/[0-9]+)$)");
  static const std::regex ok_null(R"(^(pipe:\[[0-9]+\]|/dev/pts/[0-9]+|/dev/null)$)");
  int seen = 0;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("fd", 0) != 0 || line.find('=') == std::string::npos) continue;
    ++seen;
    std::string target = line.substr(line.find('=') + 1);
    EXPECT_TRUE(std::regex_match(target, dev_null ? ok_null : ok))
        << "the command's " << line.substr(0, line.find('=')) << " is " << target;
  }
  EXPECT_EQ(seen, count) << out;
}

// (The shell's own fds: a command substitution's /proc/self is a subshell with a pipe as 1.)
constexpr const char* kShowFds =
    "for f in 0 1 2; do l=$(readlink /proc/$$/fd/$f); echo \"fd$f=$l\" >&2; done";

class GuestEscapeStdio : public GuestEscapeBase,
                         public ::testing::WithParamInterface<std::tuple<Kind, Stdio>> {};

TEST_P(GuestEscapeStdio, HostFileIsNeitherRewrittenNorReadBack) {
  const auto [kind, variant] = GetParam();
  Guest g = guest("stdio", kind, variant == Stdio::kStopSysvStdin ? "sysv" : "minit");
  ASSERT_TRUE(build(g));
  // A sysv guest's rc 0, run by `vserver stop`: the same attack on stop's stdin.
  put(vdir(g) + "/etc/init.d/rc",
      "#!/bin/sh\nif [ \"$1\" = 0 ]; then echo pwned > /proc/self/fd/0; for f in 0 1 2; do "
      "l=$(readlink /proc/$$/fd/$f); echo \"fd$f=$l\" >> /tmp/rc0-fds; done; fi\n"
      "[ \"$1\" = 3 ] && { sleep 1000 & }\nexit 0\n",
      0755);
  auto r = vs(g, {"start"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string hostfile = t_ + "/hostfile";
  const FileId host_id = [&] {
    put(hostfile, "host secret line\n", 0600);
    return file_id(hostfile);
  }();
  switch (variant) {
    case Stdio::kStdinRewrite: {
      int in = ::open(hostfile.c_str(), O_RDONLY | O_CLOEXEC);
      ASSERT_GE(in, 0);
      Pipe out, err;
      Spawned p(SpawnSpec{vs_argv(g, {"exec", "/bin/sh", "-c",
                                      std::string("echo pwned > /proc/self/fd/0; ") + kShowFds}),
                          in,
                          out.wr,
                          err.wr,
                          {},
                          -1});
      ::close(in);
      out.close_write();
      err.close_write();
      std::string text = err.drain();
      (void)out.drain();
      EXPECT_EQ(p.wait(20000), 0) << text;
      expect_only_pipes_or_ptys(text, 3);
      break;
    }
    case Stdio::kStdinThroughAnotherProcess: {
      int in = ::open(hostfile.c_str(), O_RDONLY | O_CLOEXEC);
      ASSERT_GE(in, 0);
      Spawned a(SpawnSpec{vs_argv(g, {"exec", "/bin/sh", "-c",
                                      "echo $$ > /tmp/victim.tmp; mv /tmp/victim.tmp "
                                      "/tmp/victim.pid; exec sleep 30"}),
                          in,
                          -1,
                          -1,
                          {},
                          -1});
      ::close(in);
      ASSERT_TRUE(wait_for([&] { return fs::exists(vdir(g) + "/tmp/victim.pid"); }, 5000));
      // From the host: no guest process holds the host file.
      auto holders = processes_holding({host_id});
      EXPECT_TRUE(holders.empty()) << "guest processes hold the host file:\n" << joined(holders);
      r = vs(g, {"exec", "/bin/sh", "-c",
                 "p=$(cat /tmp/victim.pid); echo \"fd0=$(readlink /proc/$p/fd/0)\"; "
                 "echo pwned > /proc/$p/fd/0; echo rc=$?"});
      SCOPED_TRACE(r.out + r.err);
      (void)vs(g, {"exec", "/bin/sh", "-c", "kill $(cat /tmp/victim.pid)"});
      (void)a.wait(20000);
      break;
    }
    case Stdio::kStdoutReadBack: {
      int out = ::open(hostfile.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
      ASSERT_GE(out, 0);
      Pipe in, err;
      in.close_write();
      Spawned p(
          SpawnSpec{vs_argv(g, {"exec", "/bin/sh", "-c",
                                std::string(kShowFds) +
                                    "; exec 3>&1; timeout 1 cat /proc/$$/fd/3 > /tmp/stolen 2>&1;"
                                    " echo appended"}),
                    in.rd,
                    out,
                    err.wr,
                    {},
                    -1});
      ::close(out);
      err.close_write();
      std::string text = err.drain();
      EXPECT_EQ(p.wait(20000), 0) << text;
      expect_only_pipes_or_ptys(text, 3);
      const std::string stolen = slurp(vdir(g) + "/tmp/stolen");
      EXPECT_FALSE(contains(stolen, "host secret line")) << "the guest read the host file back";
      EXPECT_TRUE(contains(slurp(hostfile), "appended")) << "the command's output was lost";
      break;
    }
    case Stdio::kStopSysvStdin: {
      int in = ::open(hostfile.c_str(), O_RDONLY | O_CLOEXEC);
      ASSERT_GE(in, 0);
      Pipe out, err;
      Spawned p(SpawnSpec{vs_argv(g, {"stop"}), in, out.wr, err.wr, {}, -1});
      ::close(in);
      out.close_write();
      err.close_write();
      std::string text = err.drain();
      (void)out.drain();
      EXPECT_EQ(p.wait(30000), 0) << text;
      ASSERT_TRUE(fs::exists(vdir(g) + "/tmp/rc0-fds")) << "rc 0 did not run";
      expect_only_pipes_or_ptys(slurp(vdir(g) + "/tmp/rc0-fds"), 3, true);
      break;
    }
  }
  const std::string now = slurp(hostfile);
  EXPECT_EQ(now.substr(0, 17), "host secret line\n") << "the host file was rewritten: " << now;
  EXPECT_FALSE(contains(now, "pwned")) << now;
  EXPECT_EQ(file_id(hostfile), host_id);
}

INSTANTIATE_TEST_SUITE_P(
    GuestEscape, GuestEscapeStdio,
    ::testing::Combine(kAllKinds,
                       ::testing::Values(Stdio::kStdinRewrite, Stdio::kStdinThroughAnotherProcess,
                                         Stdio::kStdoutReadBack, Stdio::kStopSysvStdin)),
    [](const ::testing::TestParamInfo<std::tuple<Kind, Stdio>>& pi) {
      return std::string(kind_name(std::get<0>(pi.param))) + "_" +
             stdio_name(std::get<1>(pi.param));
    });

// Class 6 against chroot(8) with a /proc: stdin rewritten, stdout read back.
TEST_F(GuestEscapeWeak, ChrootRewritesStdinAndReadsStdoutBack) {
  Guest g = guest("weak-stdio", Kind::kDefault);
  ASSERT_TRUE(build(g));
  ASSERT_TRUE(mount_proc(vdir(g) + "/proc"));
  const std::string hostfile = t_ + "/hostfile";
  put(hostfile, "host secret line\n", 0600);
  int in = ::open(hostfile.c_str(), O_RDONLY | O_CLOEXEC);
  Spawned p(
      SpawnSpec{{"/usr/sbin/chroot", vdir(g), "/bin/sh", "-c", "echo pwned > /proc/self/fd/0"},
                in,
                -1,
                -1,
                {},
                -1});
  ::close(in);
  EXPECT_EQ(p.wait(10000), 0);
  EXPECT_EQ(slurp(hostfile), "pwned\n") << "the weak setup's stdin was not rewritten";
  put(hostfile, "host secret line\n", 0600);
  int out = ::open(hostfile.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  Spawned q(SpawnSpec{{"/usr/sbin/chroot", vdir(g), "/bin/sh", "-c",
                       "exec 3>&1; timeout 1 cat /proc/$$/fd/3 > /tmp/stolen 2>&1"},
                      -1,
                      out,
                      -1,
                      {},
                      -1});
  ::close(out);
  (void)q.wait(10000);
  EXPECT_TRUE(contains(slurp(vdir(g) + "/tmp/stolen"), "host secret line"))
      << "the weak setup's stdout was not read back";
}

// ==== 4. exec hands the guest the administrator's terminal ================================

// Left behind in the guest by a command that returned at once: it ignores the hangup, reads
// a line from the terminal it was given after its parent returned, pushes a command into
// that terminal's input (TIOCSTI), and reads /dev/tty.
// (A background job of sh gets /dev/null as stdin: the terminal goes in as fd 3.)
constexpr const char* kTerminalThief =
    "trap '' HUP; exec 3<&0; ( sleep 1; read x <&3; echo \"got:$x\" > /tmp/leak; "
    "/vsattack tiocsti 3 'echo INJECTED' > /tmp/tiocsti 2>&1; "
    "timeout 3 cat /dev/tty > /tmp/ttyleak 2>&1 ) & exit 0";

enum class TermPath { kExec, kEnter, kStopSysv };

// A sysv guest's `rc 0`, run by `vserver stop` from the administrator's terminal: it reads
// what is typed while the stop runs.
constexpr const char* kRcTerminalThief =
    "#!/bin/sh\nif [ \"$1\" = 0 ]; then trap '' HUP TERM; exec 3<&0; "
    "( sleep 1; read x <&3; echo \"got:$x\" > /tmp/leak ) & sleep 2; fi\n"
    "[ \"$1\" = 3 ] && { sleep 1000 & }\nexit 0\n";

class GuestEscapeTerminal : public GuestEscapeBase,
                            public ::testing::WithParamInterface<std::tuple<Kind, TermPath>> {
 protected:
  // After the tool returned: the secret lines typed at the terminal reach no guest process,
  // nothing was pushed into its input, and no guest process holds it.
  void expect_terminal_kept(const Pty& pty, const std::string& dir) {
    auto holders = processes_holding({pty.slave_id});
    EXPECT_TRUE(holders.empty()) << "guest processes hold the administrator's terminal:\n"
                                 << joined(holders);
    Spawned::sleep_ms(200);
    pty.type("vs-tty-secret-1\n");
    Spawned::sleep_ms(1800);
    pty.type("vs-tty-secret-2\n");
    Spawned::sleep_ms(800);
    const std::string input = Pty::available(pty.slave);
    (void)Pty::available(pty.master);
    EXPECT_FALSE(contains(input, "INJECTED"))
        << "the guest pushed input into the terminal: " << input << "\n"
        << slurp(dir + "/tiocsti");
    const std::string leak = slurp(dir + "/leak") + slurp(dir + "/ttyleak");
    EXPECT_FALSE(contains(leak, "vs-tty-secret")) << "the guest read the terminal: " << leak;
  }
};

TEST_P(GuestEscapeTerminal, GuestKeepsNothingOfTheTerminal) {
  const auto [kind, path] = GetParam();
  Guest g = guest("tty", kind, path == TermPath::kStopSysv ? "sysv" : "minit");
  ASSERT_TRUE(build(g));
  put(vdir(g) + "/etc/init.d/rc", kRcTerminalThief, 0755);
  auto r = vs(g, {"start"});
  ASSERT_EQ(r.status, 0) << r.err;
  Pty pty;
  ASSERT_TRUE(pty.ok());
  if (path == TermPath::kStopSysv) {
    // While the stop runs: rc 0 must not hold the terminal, nor read what is typed.
    Spawned p(SpawnSpec{vs_argv(g, {"stop"}), pty.slave, pty.slave, pty.slave, {}, pty.slave});
    Spawned::sleep_ms(500);
    auto holders = processes_holding({pty.slave_id});
    pty.type("vs-tty-secret-0\n");
    for (int i = 0; i < 2000 && !p.exited(); ++i) {
      (void)Pty::available(pty.master);
      Spawned::sleep_ms(10);
    }
    EXPECT_EQ(p.wait(1000), 0);
    EXPECT_TRUE(holders.empty()) << "guest processes hold the administrator's terminal during "
                                    "the stop:\n"
                                 << joined(holders);
    const std::string leak = slurp(vdir(g) + "/tmp/leak");
    EXPECT_FALSE(contains(leak, "vs-tty-secret")) << "rc 0 read the terminal: " << leak;
    return;
  }
  {
    std::vector<std::string> args = {"exec", "/bin/sh", "-c", kTerminalThief};
    if (path == TermPath::kEnter) args = {"enter"};
    Spawned p(SpawnSpec{vs_argv(g, args), pty.slave, pty.slave, pty.slave, {}, pty.slave});
    if (path == TermPath::kEnter) pty.type(std::string(kTerminalThief) + "\n");
    for (int i = 0; i < 2000 && !p.exited(); ++i) {
      (void)Pty::available(pty.master);
      Spawned::sleep_ms(10);
    }
    EXPECT_EQ(p.wait(1000), 0);
  }
  expect_terminal_kept(pty, vdir(g) + "/tmp");
}

INSTANTIATE_TEST_SUITE_P(GuestEscape, GuestEscapeTerminal,
                         ::testing::Combine(kAllKinds,
                                            ::testing::Values(TermPath::kExec, TermPath::kEnter,
                                                              TermPath::kStopSysv)),
                         [](const ::testing::TestParamInfo<std::tuple<Kind, TermPath>>& pi) {
                           const TermPath tp = std::get<1>(pi.param);
                           return std::string(kind_name(std::get<0>(pi.param))) +
                                  (tp == TermPath::kExec    ? "_exec"
                                   : tp == TermPath::kEnter ? "_enter"
                                                            : "_stop_sysv");
                         });

// Class 4 against chroot(8) given the terminal: the leftover reads the line typed after the
// command returned, and (root with every capability) pushes input into the terminal.
TEST_F(GuestEscapeWeak, ChrootHandsTheTerminalOver) {
  Guest g = guest("weak-tty", Kind::kDefault);
  ASSERT_TRUE(build(g));
  ASSERT_TRUE(bind_dev(vdir(g) + "/dev"));
  Pty pty;
  ASSERT_TRUE(pty.ok());
  {
    Spawned p(SpawnSpec{{"/usr/sbin/chroot", vdir(g), "/bin/sh", "-c", kTerminalThief},
                        pty.slave,
                        pty.slave,
                        pty.slave,
                        {},
                        pty.slave});
    EXPECT_EQ(p.wait(10000), 0);
  }
  Spawned::sleep_ms(200);
  pty.type("vs-tty-secret-1\n");
  Spawned::sleep_ms(1800);
  const std::string input = Pty::available(pty.slave);
  EXPECT_TRUE(contains(slurp(vdir(g) + "/tmp/leak"), "vs-tty-secret-1"))
      << "the weak setup's leftover did not read the terminal";
  EXPECT_TRUE(contains(input, "INJECTED")) << "TIOCSTI: " << slurp(vdir(g) + "/tmp/tiocsti");
}

}  // namespace
}  // namespace vs::test
