// The guest-side helper (kernel-shim/vsinit/vsinit.c): a small static program of our own,
// built with the project and embedded in the tools as bytes, that is the last image of every
// process the shim starts inside a context. It runs in two modes:
//
//   init   the first process (pid 1) of a context with its own pid namespace: starts the
//          command, reaps every zombie, forwards signals, and (with `stays`) stops the context
//          on SIGTERM, SIGINT or SIGPWR (vserver-init);
//   exec   a trampoline: execvp()s the command (vserver-exec).
//
// Why: a process that execs a guest's file while its own image is a host binary lets the guest
// reach that binary. `#!/proc/self/exe` as the guest's /bin/sh makes the kernel run the
// exec'ing image again inside the guest, dumpable, where a guest process opens /proc/PID/exe
// and later rewrites the host's file (CVE-2019-5736). The helper runs from a sealed memfd
// (writes, growth, shrinking and new seals refused): its /proc/PID/exe leads to that copy,
// never to a host file. The built-in init is no copy of the starter either (its pages, its
// host command line): a few KiB of its own.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.h"
#include "lib/base/unique_fd.h"

namespace vs::shim {

/// The helper's bytes (a static ELF for the build's architecture).
std::string_view helper_image();

/// A memfd holding the helper, sealed with F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW |
/// F_SEAL_WRITE, close-on-exec (execveat runs it all the same: it is no script). Each call
/// makes a new memfd (one page). Errors: memfd_create refused (a kernel with
/// vm.memfd_noexec=2 is named in the message), write or seal failed.
Result<UniqueFd> open_helper();

/// How the helper runs as a context's first process. It must be pid 1 of its pid namespace
/// (else it refuses: a line on stderr, exit 126, nothing on the report fd).
struct InitArgs {
  std::vector<std::string> argv;  ///< the command (execvp, PATH of the environment); may be
                                  ///< empty only with `stays`
  bool stays = false;             ///< stay after the command ended, until SIGTERM, SIGINT or
                                  ///< SIGPWR stops the context; else exit with its status
  unsigned kill_after_ms = 5000;  ///< stays: SIGKILL what is left this long after the first
                                  ///< SIGTERM, SIGINT or SIGPWR (a deadline, not restarted)
  int report_fd = -1;             ///< the exec report channel (below); -1: none
  std::string title;              ///< what /proc/1/cmdline shows; empty: "vserver-init"
};

/// The helper's argv for init mode.
std::vector<std::string> helper_init_argv(const InitArgs& args);
/// The helper's argv for exec mode: execvp(cmd) with `report_fd` (-1: none).
std::vector<std::string> helper_exec_argv(const std::vector<std::string>& cmd, int report_fd);

/// The exec report (both modes): on the report fd, a native int. If the command cannot be
/// exec'd, the helper writes its errno there (without a report fd: a line on stderr) and
/// exits 127. Exec mode: the fd is close-on-exec for the command, so the reader sees EOF once
/// the command runs. Init mode: init writes 0 once the command's exec is past its point of no
/// return (and its title is set), then closes every fd >= 3 of its own (the command had them
/// close-on-exec). Bad arguments: a line on stderr, exit 126, EOF without a report.

/// Replaces the calling process with the helper from `helper_fd`: marks every fd >= 3 but
/// `keep_fd` close-on-exec, clears close-on-exec on `keep_fd` (the report fd; -1: none), and
/// execveat(helper_fd, "", argv, env, AT_EMPTY_PATH). `env` is the whole environment of the
/// helper and of the command ("KEY=VALUE"). Returns only on failure: -1 and errno.
int exec_helper(int helper_fd, int keep_fd, const std::vector<std::string>& argv,
                const std::vector<std::string>& env);

}  // namespace vs::shim
