// A guest's seccomp profile (SECURITY.md 1.3): the semantics of moby's default profile built
// with libseccomp, plus per-guest allow/deny changes by syscall name.
//
// The profile is two filters, because libseccomp cannot mix "allow this syscall except for
// these argument values" into an allowlist whose default action is the denial itself:
//   * the argument filter (default ALLOW): socket(AF_ALG), socket(AF_VSOCK) -> EPERM;
//     socket(AF_NETLINK, *, NETLINK_AUDIT) -> EAFNOSUPPORT (as nspawn: audit is not
//     namespaced, and libaudit treats EAFNOSUPPORT as "no audit"); ioctl(TIOCSTI) and
//     ioctl(TIOCLINUX) -> EPERM. Values are compared on their low 32 bits (MASKED_EQ),
//     because the kernel reads these arguments as 32-bit ints (snapd CVE-2019-7303).
//   * the profile (default ERRNO(EPERM)): the allowlist, the capability groups, clone with
//     namespace flags masked, personality values, clone3 -> ENOSYS, the per-guest changes,
//     and an ENOSYS stub for syscall numbers above the highest one the profile names.
// The kernel runs both and keeps the stronger action, so a denial in either one wins.
// Both filters are for the native architecture only (x86_64); any other audit arch (i386
// via `int 0x80`) kills the process, and libseccomp sends x32 numbers (bit 0x40000000) to
// the same bad-arch action.
#pragma once

#include <linux/filter.h>
#include <seccomp.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/base/result.h"

namespace vs::shim {

/// A guest's seccomp settings: the default profile or none, and changes by syscall name.
struct SeccompSpec {
  bool enabled = true;  ///< false: no filter at all ("seccomp=none")
  /// Allowed outright, whatever the capabilities and the profile's checks on clone/unshare/
  /// personality flags (clone3 too). The argument filter's denials still apply.
  std::vector<std::string> allow;
  std::vector<std::string> deny;  ///< EPERM, whatever the profile and the capabilities say

  bool operator==(const SeccompSpec&) const = default;
};

/// Parses a comma list of syscall names ("keyctl,add_key"; empty: none), as the state file
/// records a spec's allow and deny lists (context_state.h). An empty word or a name that is
/// not a syscall is a usage error whose subject is `key`.
Result<std::vector<std::string>> parse_syscall_list(std::string_view list, const std::string& key);
/// "keyctl,add_key": what parse_syscall_list() reads.
std::string format_syscall_list(const std::vector<std::string>& names);

/// Parses a change list as given on the command line: "keyctl,-ptrace". NAME or +NAME
/// allows, -NAME, ~NAME or !NAME denies. An empty list is no change. Empty words, unknown
/// names, and a name given twice (on either side) are usage errors naming the word.
Result<SeccompSpec> parse_seccomp_changes(std::string_view list);

/// Renders the changes in the form parse_seccomp_changes() reads: allows, then "-"denials.
std::string format_seccomp_changes(const SeccompSpec& spec);

/// Checks that every name is a syscall of the native architecture and that no name is both
/// allowed and denied. A usage error names the word and says what is expected.
Result<void> validate(const SeccompSpec& spec);

/// The native syscall number of `name` (libseccomp's table, then ours for syscalls newer
/// than libseccomp 2.5.4 knows); nullopt if it is not a syscall of this architecture.
std::optional<int> resolve_syscall(std::string_view name);

/// Owns one libseccomp filter context (seccomp_release on destruction). Move-only.
class ScmpFilter {
 public:
  ScmpFilter() = default;
  explicit ScmpFilter(scmp_filter_ctx ctx) : ctx_(ctx) {}
  ScmpFilter(const ScmpFilter&) = delete;
  ScmpFilter& operator=(const ScmpFilter&) = delete;
  ScmpFilter(ScmpFilter&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {}
  ScmpFilter& operator=(ScmpFilter&& other) noexcept {
    if (this != &other) reset(std::exchange(other.ctx_, nullptr));
    return *this;
  }
  ~ScmpFilter() { reset(); }

  [[nodiscard]] scmp_filter_ctx get() const { return ctx_; }
  explicit operator bool() const { return ctx_ != nullptr; }
  void reset(scmp_filter_ctx ctx = nullptr) {
    if (ctx_) seccomp_release(ctx_);
    ctx_ = ctx;
  }

 private:
  scmp_filter_ctx ctx_ = nullptr;
};

/// The two filters of a guest (see the top of this file), in the order they are loaded.
struct GuestFilter {
  ScmpFilter args;     ///< default ALLOW: argument-based denials
  ScmpFilter profile;  ///< default ERRNO(EPERM): the allowlist; loaded last
  /// The highest syscall number the profile names: numbers above it, up to 1023, answer
  /// ENOSYS (the stub that profile_program() puts in front of the profile).
  int highest_named = -1;
};

/// Builds the filters for a process whose bounding set is `bcaps` (bit i = capability i).
/// `spec` must validate (a usage error otherwise); `spec.enabled` is not looked at.
/// Errors from libseccomp are kFailed errors naming the syscall.
Result<GuestFilter> build_guest_filter(uint64_t bcaps, const SeccompSpec& spec);

/// The classic BPF program of one filter (an array of struct sock_filter), as the kernel
/// gets it; exported through a memfd.
Result<std::string> export_bpf(const ScmpFilter& filter);

/// The program loaded for the profile: the ENOSYS stub (runc's: syscalls newer than the
/// profile answer ENOSYS so callers take their fallback, not EPERM) followed by the exported
/// profile. libseccomp 2.5.4 cannot say "nr > N"; one rule per number cost about 20 ms to
/// compile on every entry, these six instructions cost nothing.
Result<std::string> profile_program(const GuestFilter& filter);

/// Loads both filters into the calling process as load_guest_programs() does (one spliced
/// program where it can, else the argument filter, then the profile), with no_new_privs
/// left as it is: the caller must still hold CAP_SYS_ADMIN or have set
/// no_new_privs itself. All threads are synchronised (TSYNC).
Result<void> load_guest_filter(const GuestFilter& filter);

/// Both programs of a guest's filter (argument filter, then the profile with its stub) as
/// one blob of classic BPF, what load_guest_programs() loads. Compiling costs a few ms; the
/// blob of a sealed context can be kept and reused for every process that enters it.
Result<std::string> compile_guest_programs(uint64_t bcaps, const SeccompSpec& spec);

/// The argument filter and the profile as one program with the verdicts of the two filters:
/// the profile, every "allow" of which goes on to the argument filter. One load instead of
/// two saves a JIT image and a change of page permissions (about 0.2 ms here, whatever the
/// length). Nothing where the verdicts could differ: only allow, errno and kill returns
/// splice (the kernel takes the stricter action of two filters, and of two errnos the later
/// filter's, the profile's; the argument filter's rules only fail with an errno, its one
/// kill is libseccomp's for a foreign arch, which the profile has killed before), and only
/// within the kernel's BPF_MAXINSNS.
std::optional<std::vector<sock_filter>> splice_programs(const std::vector<sock_filter>& args,
                                                        const std::vector<sock_filter>& profile);

/// Loads a blob of compile_guest_programs() like load_guest_filter() (TSYNC, no
/// no_new_privs), as one spliced program where splice_programs() can. A malformed blob is an
/// EINVAL error, nothing loaded.
Result<void> load_guest_programs(std::string_view blob);

/// Builds and loads the profile; nothing when `spec.enabled` is false. Must be the last
/// step before execve: afterwards only the profile's syscalls are available.
Result<void> load_guest_seccomp(uint64_t bcaps, const SeccompSpec& spec);

}  // namespace vs::shim
