// The escape suite of issue 18, by class: a hostile guest root (or template, or clone source)
// against the host's own tools. Each class first shows the attack WORKING against a
// deliberately weak setup (GuestEscapeWeak.*: plain chroot, unshare, cp, a naive
// re-implementation), so every assertion is known to be able to fail, then runs the same
// attack against `vserver` for every guest kind (default, shared stack, isolated network) and
// every path that runs guest-influenced code, and asserts it is blocked AND that the host
// state it aimed at is unchanged.
//
//   1 GuestEscapeHostBinary  a `#!/proc/self/exe` script in the guest (CVE-2019-5736) reaches
//                            no host binary: exec, enter, start (minit, plain, sysv), stop
//                            (sysv rc 0), restart, vserver-boot   (guest_escape_binary_test.cc)
//   2 GuestEscapeTemplate,   template code (a gconv or NSS module) never runs on the host; a
//     GuestEscapeBuild       hostile or flipping clone source stays inside the new tree
//                                                                  (guest_escape_build_test.cc)
//   3 GuestEscapeXidReuse    a paused exec/stop never lands in the next guest on that xid
//                                                                    (guest_escape_xid_test.cc)
//   4 GuestEscapeTerminal    the guest keeps nothing of the administrator's terminal
//                                                                  (guest_escape_stdio_test.cc)
//   5 GuestEscapeEnvironment the administrator's environment reaches no guest process
//                                                                    (guest_escape_env_test.cc)
//   6 GuestEscapeStdio       a host file given as stdin/stdout cannot be rewritten or read
//                                                                  (guest_escape_stdio_test.cc)
//   7 GuestEscapeInit        the guest's init is no host binary, and unreadable
//                                                                 (guest_escape_binary_test.cc)
//
// This header is what every class shares: the fixture (a temp dir, copies of the tools, the
// guests it builds) and a few string and file helpers. The tools run are copies
// (tests/support/host_watch.h), never the build's binaries: a test that fails may have
// rewritten one. Probes: tests/probe/vsattack.c, busybox sh.
//
// Behaviour of the fixed tools these tests rely on (issue 18):
//   - a `#!/proc/self/exe` script run by an entrant or as init reaches only the sealed memfd
//     helper, which refuses such an argv and exits 126: `vserver exec`/`enter` exit 126;
//   - VSERVER_TEST_STOP_AT=exec-resolved: `vserver NAME exec` raises SIGSTOP once it resolved
//     the guest, before it spawns anything; VSERVER_TEST_STOP_AT=stop-resolved: `vserver NAME
//     stop` raises SIGSTOP once it found the context, before it signals or kills anything;
//   - an exec whose guest went away while it was paused exits non-zero naming the guest.
#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "tests/support/host_watch.h"
#include "tests/support/run_cmd.h"

namespace vs::test {

/// Writes `text` to `p` through a new file renamed over it: a symlink at `p` (a busybox
/// applet link) is replaced, never written through. Makes the parent directories.
void put(const std::string& p, const std::string& text, mode_t mode = 0644);

bool contains(const std::string& hay, const std::string& needle);

/// Polls `cond` every 20 ms until it holds (true) or `timeout_ms` passed (false).
bool wait_for(const std::function<bool()>& cond, int timeout_ms);

/// The lines, each indented by two spaces and ended by a newline (for failure messages).
std::string joined(const std::vector<std::string>& lines);

/// The guest kinds every class runs against: the network is what differs.
enum class Kind { kDefault, kShared, kIsolated };

const char* kind_name(Kind k);

inline const auto kAllKinds = ::testing::Values(Kind::kDefault, Kind::kShared, Kind::kIsolated);

struct Guest {
  std::string name;
  Kind kind = Kind::kDefault;
  std::string style = "minit";       ///< minit, plain, sysv
  std::vector<std::string> command;  ///< init.command; empty: the style's default
  std::string mark;                  ///< init.mark
  int index = 0;                     ///< its address among the test's guests
};

/// What every escape test has: a temp dir $T, copies of the tools, the probe, its guests
/// (removed at the end, whatever happened) and, for isolated guests, a network namespace
/// standing in for the host's, where their bridge and veths are made.
class GuestEscapeBase : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  /// A guest to build: named after `stem`, with the kind's network.
  Guest guest(const std::string& stem, Kind kind, const std::string& style = "minit",
              std::vector<std::string> command = {});

  /// Builds it (busybox method) with its init and network, and /vsattack in its tree.
  ::testing::AssertionResult build(const Guest& g);

  /// argv run in the network namespace of an isolated guest (the stand-in for the host's).
  std::vector<std::string> in_net(Kind kind, std::vector<std::string> argv) const;
  /// `vserver NAME args...` (the copy), in the guest's network namespace.
  std::vector<std::string> vs_argv(const Guest& g, std::vector<std::string> args) const;
  CmdResult vs(const Guest& g, std::vector<std::string> args, int timeout_s = 60) const;
  /// `vserver-boot ACTION --mark MARK`; a started mark is stopped again in TearDown.
  CmdResult boot(Kind kind, const std::string& action, const std::string& mark);

  static std::string vdir(const Guest& g);
  static std::string confdir(const Guest& g);

  /// A field of `vserver NAME status`: "NAME is running: context XID, init pid PID, up Ns".
  std::string status_field(const Guest& g, const std::string& key) const;
  std::string xid(const Guest& g) const;
  pid_t init_pid(const Guest& g) const;

  /// A guest file a host tool will exec, made a `#!/proc/self/exe` script.
  void shebang_self(const Guest& g, const std::string& rel);

  /// The root's login shell in the guest's passwd.
  void set_root_shell(const Guest& g, const std::string& shell);

  /// Mounts a fresh proc on DIR (for the weak setups' chroots); undone in TearDown.
  ::testing::AssertionResult mount_proc(const std::string& dir);

  /// Binds the host's /dev on DIR (a weak setup's chroot needs /dev/null); undone in TearDown.
  ::testing::AssertionResult bind_dev(const std::string& dir);

  /// A copy of a host program for a weak setup, in $T/weak (attacked instead of the host's).
  std::string weak_copy(const std::string& program);

  std::string t_;
  ToolCopies* tools_ = nullptr;
  std::string vsattack_;
  std::string netns_;
  std::vector<Guest> guests_;
  std::vector<std::string> mounts_;
  std::vector<std::string> marks_;
};

/// Weak setups: each shows its class's attack succeeding, so the checks of the class can
/// fail. Its tests stand beside their class, in that class's file.
class GuestEscapeWeak : public GuestEscapeBase {};

}  // namespace vs::test
