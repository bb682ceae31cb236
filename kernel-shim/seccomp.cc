// Compiling and loading a guest's filters (kernel-shim/seccomp.h): the exported programs,
// the ENOSYS stub in front of the profile, the splice of the two into one, seccomp(2).
#include "kernel-shim/seccomp.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "kernel-shim/seccomp_internal.h"
#include "lib/base/eintr.h"
#include "lib/base/unique_fd.h"

namespace vs::shim {

namespace {

using seccomp_internal::scmp_error;

// The ENOSYS stub covers syscall numbers from just above the highest one the profile names
// up to this one. Numbers beyond it keep the default EPERM (x86_64 uses < 512 today).
constexpr uint32_t kStubLast = 1023;
constexpr uint32_t kNrOffset = offsetof(seccomp_data, nr);
constexpr uint32_t kArchOffset = offsetof(seccomp_data, arch);

}  // namespace

Result<std::string> export_bpf(const ScmpFilter& filter) {
  UniqueFd fd(::memfd_create("vs-seccomp-bpf", MFD_CLOEXEC));
  if (!fd) return sys_error("memfd_create", "vs-seccomp-bpf");
  if (int rc = seccomp_export_bpf(filter.get(), fd.get()); rc < 0) {
    return scmp_error("seccomp_export_bpf", "memfd", rc);
  }
  if (::lseek(fd.get(), 0, SEEK_SET) < 0) return sys_error("lseek", "memfd");
  std::string out;
  char buf[4096];
  while (true) {
    ssize_t n = retry_eintr([&] { return ::read(fd.get(), buf, sizeof buf); });
    if (n < 0) return sys_error("read", "memfd");
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Result<std::string> profile_program(const GuestFilter& filter) {
  auto profile = export_bpf(filter.profile);
  if (!profile) return profile;
  // libseccomp's programs start by loading the arch; the stub relies on that (it leaves
  // its own value in the accumulator when it jumps to the profile).
  const sock_filter first_expected = BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kArchOffset);
  sock_filter first{};
  if (profile->size() < sizeof first) return sys_error("export", "seccomp profile", EINVAL);
  std::memcpy(&first, profile->data(), sizeof first);
  if (first.code != first_expected.code || first.k != first_expected.k) {
    return make_error(ErrorKind::kFailed, "splice", "seccomp profile",
                      "libseccomp's program does not start by loading the arch", EINVAL);
  }
  const uint32_t highest = static_cast<uint32_t>(std::max(filter.highest_named, 0));
  // Jumps are relative to the next instruction; index 6 is the profile's first.
  const sock_filter stub[] = {
      /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kArchOffset),
      /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, seccomp_arch_native(), 0, 4),
      /* 2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, kNrOffset),
      /* 3 */ BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, highest, 0, 2),
      /* 4 */ BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, kStubLast, 1, 0),
      /* 5 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
  };
  std::string out(reinterpret_cast<const char*>(stub), sizeof stub);
  out += *profile;
  return out;
}

namespace {

// The blob of load_guest_programs(): the argument filter's length, the argument filter, the
// profile with its stub.
Result<std::string> programs_of(const GuestFilter& filter) {
  auto args = export_bpf(filter.args);
  if (!args) return std::move(args).error();
  auto profile = profile_program(filter);
  if (!profile) return std::move(profile).error();
  uint32_t n = static_cast<uint32_t>(args->size());
  std::string blob(reinterpret_cast<const char*>(&n), sizeof n);
  return blob + *args + *profile;
}

}  // namespace

Result<void> load_guest_filter(const GuestFilter& filter) {
  auto blob = programs_of(filter);
  if (!blob) return std::move(blob).error();
  return load_guest_programs(*blob);
}

Result<std::string> compile_guest_programs(uint64_t bcaps, const SeccompSpec& spec) {
  auto filter = build_guest_filter(bcaps, spec);
  if (!filter) return std::move(filter).error();
  return programs_of(*filter);
}

std::optional<std::vector<sock_filter>> splice_programs(const std::vector<sock_filter>& args,
                                                        const std::vector<sock_filter>& profile) {
  auto plain = [](const std::vector<sock_filter>& insns) {
    return std::all_of(insns.begin(), insns.end(), [](const sock_filter& f) {
      if (BPF_CLASS(f.code) != BPF_RET) return true;
      const uint32_t a = f.k & SECCOMP_RET_ACTION_FULL;
      return BPF_RVAL(f.code) == BPF_K &&
             (a == SECCOMP_RET_ALLOW || a == SECCOMP_RET_ERRNO ||
              a == SECCOMP_RET_KILL_PROCESS || a == SECCOMP_RET_KILL_THREAD);
    });
  };
  if (args.empty() || profile.empty() || profile.size() + args.size() > BPF_MAXINSNS ||
      !plain(profile) || !plain(args)) {
    return std::nullopt;
  }
  std::vector<sock_filter> one = profile;
  for (size_t i = 0; i < one.size(); ++i) {
    if (BPF_CLASS(one[i].code) == BPF_RET && one[i].k == SECCOMP_RET_ALLOW) {
      one[i] = BPF_STMT(BPF_JMP | BPF_JA, static_cast<uint32_t>(profile.size() - (i + 1)));
    }
  }
  one.insert(one.end(), args.begin(), args.end());
  return one;
}

Result<void> load_guest_programs(std::string_view blob) {
  auto bad = [] {
    return make_error(ErrorKind::kFailed, "load seccomp", "program blob", "malformed", EINVAL);
  };
  uint32_t n = 0;
  if (blob.size() < sizeof n) return bad();
  std::memcpy(&n, blob.data(), sizeof n);
  blob.remove_prefix(sizeof n);
  if (n == 0 || n >= blob.size() || n % sizeof(sock_filter) != 0 ||
      (blob.size() - n) % sizeof(sock_filter) != 0 ||
      n / sizeof(sock_filter) > 65535 || (blob.size() - n) / sizeof(sock_filter) > 65535) {
    return bad();
  }
  // Copies: sock_filter wants alignment, the blob has none.
  std::vector<sock_filter> args(n / sizeof(sock_filter));
  std::vector<sock_filter> profile((blob.size() - n) / sizeof(sock_filter));
  std::memcpy(args.data(), blob.data(), n);
  std::memcpy(profile.data(), blob.data() + n, blob.size() - n);
  std::optional<std::vector<sock_filter>> one = splice_programs(args, profile);
  std::vector<std::vector<sock_filter>*> programs = {&args, &profile};
  if (one) programs = {&*one};
  for (auto* prog_insns : programs) {
    sock_fprog prog{};
    prog.len = static_cast<unsigned short>(prog_insns->size());
    prog.filter = prog_insns->data();
    if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0) {
      return sys_error("seccomp(SECCOMP_SET_MODE_FILTER)",
                       prog_insns == &args ? "argument filter"
                       : one               ? "profile and argument filter"
                                           : "profile");
    }
  }
  return ok();
}

Result<void> load_guest_seccomp(uint64_t bcaps, const SeccompSpec& spec) {
  if (!spec.enabled) return ok();
  auto filter = build_guest_filter(bcaps, spec);
  if (!filter) return std::move(filter).error();
  return load_guest_filter(*filter);
}

}  // namespace vs::shim
