#include "kernel-shim/helper.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

#include "kernel-shim/vsinit/image.h"
#include "lib/base/eintr.h"
#include "lib/base/syscall.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace vs::shim {

namespace {

// What /proc/PID/exe of the helper reads: "/memfd:vsinit (deleted)".
constexpr const char* kMemfdName = "vsinit";

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// Kernels before 5.11 know no CLOSE_RANGE_CLOEXEC: walk /proc/self/fd, or without /proc
// every fd up to the limit.
void mark_fds_cloexec() {
  if (sys::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  UniqueFd dir(::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir) {
    alignas(8) char buf[4096];
    long n;
    while ((n = ::syscall(SYS_getdents64, dir.get(), buf, sizeof buf)) > 0) {
      for (long off = 0; off < n;) {
        auto* d = reinterpret_cast<struct dirent64*>(buf + off);
        off += d->d_reclen;
        int fd = -1;
        const char* end = d->d_name + std::strlen(d->d_name);
        auto [p, ec] = std::from_chars(d->d_name, end, fd);
        if (ec != std::errc() || p != end || fd < 3) continue;
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
      }
    }
    return;
  }
  struct rlimit rl {};
  rlim_t last = ::getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
  if (last > 65536) last = 65536;
  for (rlim_t fd = 3; fd < last; ++fd) ::fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
}

}  // namespace

std::string_view helper_image() {
  return {reinterpret_cast<const char*>(vsinit::kImage), vsinit::kImageSize};
}

Result<UniqueFd> open_helper() {
  UniqueFd fd(::memfd_create(kMemfdName, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC));
  // Kernels before 6.3 know no MFD_EXEC; their memfds are all executable.
  if (!fd && errno == EINVAL) fd.reset(::memfd_create(kMemfdName, MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) {
    Error e = sys_error("memfd_create", kMemfdName);
    if (e.code == EACCES || e.code == EPERM) {
      e.detail =
          "the kernel refuses executable memfds (sysctl vm.memfd_noexec is 2 in this pid "
          "namespace or an ancestor; the guest helper needs 0 or 1)";
    }
    return e;
  }
  std::string_view image = helper_image();
  while (!image.empty()) {
    ssize_t n = retry_eintr([&] { return ::write(fd.get(), image.data(), image.size()); });
    if (n <= 0) return sys_error("write", std::string("memfd:") + kMemfdName, n < 0 ? errno : EIO);
    image.remove_prefix(static_cast<size_t>(n));
  }
  // From here on nobody changes the helper: not through this fd, not through
  // /proc/PID/fd/N or /proc/PID/exe of a process running it.
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) <
      0) {
    return sys_error("seal", std::string("memfd:") + kMemfdName);
  }
  return fd;
}

std::vector<std::string> helper_init_argv(const InitArgs& args) {
  std::vector<std::string> out{"vserver-init"};
  if (args.report_fd >= 0) {
    out.insert(out.end(), {"-r", std::to_string(args.report_fd)});
  }
  if (args.stays) {
    out.insert(out.end(), {"-s", "-k", std::to_string(args.kill_after_ms)});
  }
  if (!args.title.empty()) out.insert(out.end(), {"-t", args.title});
  out.emplace_back("--");
  out.insert(out.end(), args.argv.begin(), args.argv.end());
  return out;
}

std::vector<std::string> helper_exec_argv(const std::vector<std::string>& cmd, int report_fd) {
  std::vector<std::string> out{"vserver-exec"};
  if (report_fd >= 0) out.insert(out.end(), {"-r", std::to_string(report_fd)});
  out.emplace_back("--");
  out.insert(out.end(), cmd.begin(), cmd.end());
  return out;
}

int exec_helper(int helper_fd, int keep_fd, const std::vector<std::string>& argv,
                const std::vector<std::string>& env) {
  std::vector<char*> args = c_strings(argv);
  std::vector<char*> envp = c_strings(env);
  mark_fds_cloexec();
  if (keep_fd >= 0 && ::fcntl(keep_fd, F_SETFD, 0) < 0) return -1;
  // The helper's own fd may stay close-on-exec: execveat runs an ELF from it all the same
  // (only a script would need its /dev/fd/N path after the exec).
  ::syscall(SYS_execveat, helper_fd, "", args.data(), envp.data(), AT_EMPTY_PATH);
  return -1;
}

}  // namespace vs::shim
