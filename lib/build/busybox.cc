// build_busybox(): skeleton + the host's static busybox and one symlink per applet.
//
// Nothing of the tree is loaded or run with host privileges (issue 18): the one program run,
// `busybox --list`, is the host's own busybox, checked to be static (no PT_INTERP, so no
// loader and no library), run from the host's root with a fixed environment before its copy
// goes into the tree; its output is parsed as data.
#include <elf.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "lib/base/child.h"
#include "lib/base/eintr.h"
#include "lib/base/fs_at.h"
#include "lib/build/build.h"
#include "lib/build/entry_check.h"
#include "lib/build/staging.h"

namespace vs {
namespace {

template <typename Ehdr, typename Phdr>
Result<void> check_no_interp(int fd, const std::string& path) {
  Ehdr eh{};
  if (::pread(fd, &eh, sizeof eh, 0) != static_cast<ssize_t>(sizeof eh)) {
    return make_error(ErrorKind::kFailed, "read ELF header", path, "too short", ENOEXEC);
  }
  if (eh.e_phentsize != sizeof(Phdr) || eh.e_phnum == 0 || eh.e_phnum > 256) {
    return make_error(ErrorKind::kFailed, "read ELF header", path, "bad program headers",
                      ENOEXEC);
  }
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Phdr ph{};
    off_t off = static_cast<off_t>(eh.e_phoff + i * sizeof(Phdr));
    if (::pread(fd, &ph, sizeof ph, off) != static_cast<ssize_t>(sizeof ph)) {
      return make_error(ErrorKind::kFailed, "read ELF header", path, "truncated", ENOEXEC);
    }
    if (ph.p_type == PT_INTERP) {
      return make_error(ErrorKind::kFailed, "check busybox", path,
                        "dynamically linked (has PT_INTERP); install busybox-static",
                        ENOEXEC);
    }
  }
  return ok();
}

/// A static ELF: the guest has no libraries for it.
Result<void> check_static_elf(int fd, const std::string& path) {
  unsigned char ident[EI_NIDENT] = {};
  if (::pread(fd, ident, sizeof ident, 0) != static_cast<ssize_t>(sizeof ident) ||
      std::memcmp(ident, ELFMAG, SELFMAG) != 0) {
    return make_error(ErrorKind::kFailed, "check busybox", path, "not an ELF file", ENOEXEC);
  }
  if (ident[EI_CLASS] == ELFCLASS64) return check_no_interp<Elf64_Ehdr, Elf64_Phdr>(fd, path);
  if (ident[EI_CLASS] == ELFCLASS32) return check_no_interp<Elf32_Ehdr, Elf32_Phdr>(fd, path);
  return make_error(ErrorKind::kFailed, "check busybox", path, "unknown ELF class", ENOEXEC);
}

/// `busybox --list` (the host's trusted binary); its output is only parsed as data.
Result<std::string> list_applets(const std::string& busybox) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return sys_error("pipe2", busybox);
  UniqueFd rd(p[0]), wr(p[1]);
  int wfd = wr.get();
  auto child = Child::spawn(CloneSpec{}, [&busybox, wfd]() -> int {
    if (::dup2(wfd, STDOUT_FILENO) < 0) return 127;
    const char* argv[] = {busybox.c_str(), "--list", nullptr};
    const char* envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", nullptr};
    ::execve(busybox.c_str(), const_cast<char* const*>(argv), const_cast<char* const*>(envp));
    return 127;
  });
  if (!child) return std::move(child).error().wrap("run `" + busybox + " --list`");
  wr.reset();
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = retry_eintr([&] { return ::read(rd.get(), buf, sizeof buf); });
    if (n < 0) return sys_error("read", busybox + " --list");
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (1 << 20)) {
      return make_error(ErrorKind::kFailed, "read", busybox + " --list", "too much output",
                        EFBIG);
    }
  }
  auto st = child->wait();
  if (!st) return std::move(st).error();
  if (st->as_exit_code() != 0) {
    return make_error(ErrorKind::kFailed, "run", busybox + " --list",
                      "exit status " + std::to_string(st->as_exit_code()), ECHILD);
  }
  return out;
}

Result<void> copy_binary(int src_fd, int root_fd, const char* rel) {
  UniqueFd dst(::openat(root_fd, rel, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                        0755));
  if (!dst) return sys_error("create", rel);
  struct stat st {};
  if (::fstat(src_fd, &st) < 0) return sys_error("fstat", "busybox");
  if (::ioctl(dst.get(), FICLONE, src_fd) == 0) return ok();
  loff_t in = 0;
  bool fallback = false;
  while (in < st.st_size) {
    ssize_t n = retry_eintr([&] {
      return ::copy_file_range(src_fd, &in, dst.get(), nullptr,
                               static_cast<size_t>(st.st_size - in), 0);
    });
    if (n < 0) {
      // Across filesystems (a vdir base on a tmpfs) this kernel refuses: copy by hand.
      if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
        fallback = true;
        break;
      }
      return sys_error("copy_file_range", rel);
    }
    if (n == 0) break;
  }
  if (fallback) {
    char buf[1 << 16];
    for (;;) {
      ssize_t n = retry_eintr([&] { return ::pread(src_fd, buf, sizeof buf, in); });
      if (n < 0) return sys_error("read", "busybox");
      if (n == 0) break;
      if (!write_all(dst.get(), std::string_view(buf, static_cast<size_t>(n)))) {
        return sys_error("write", rel);
      }
      in += n;
    }
  }
  if (::fchmod(dst.get(), 0755) < 0) return sys_error("chmod", rel);
  return ok();
}

Result<void> install_busybox(int root_fd, const std::string& busybox, BuildResult& result) {
  UniqueFd src(::open(busybox.c_str(), O_RDONLY | O_CLOEXEC));
  if (!src) return sys_error("open", busybox);
  struct stat st {};
  if (::fstat(src.get(), &st) < 0) return sys_error("fstat", busybox);
  if (!S_ISREG(st.st_mode)) {
    return make_error(ErrorKind::kFailed, "check busybox", busybox, "not a regular file",
                      EINVAL);
  }
  auto elf = check_static_elf(src.get(), busybox);
  if (!elf) return elf;
  auto listing = list_applets(busybox);
  if (!listing) return std::move(listing).error();
  auto applets = build::parse_applet_list(*listing);
  if (!applets) return std::move(applets).error();
  auto c = copy_binary(src.get(), root_fd, "bin/busybox");
  if (!c) return c;
  result.bytes += static_cast<uint64_t>(st.st_size);
  ++result.files;
  for (const auto& name : *applets) {
    if (name == "busybox") continue;
    bool sbin = build::is_sbin_applet(name);
    std::string rel = (sbin ? "sbin/" : "bin/") + name;
    if (::symlinkat(sbin ? "/bin/busybox" : "busybox", root_fd, rel.c_str()) < 0) {
      return sys_error("symlink", rel);
    }
    ++result.files;
  }
  // init is not always an applet of the list (Debian's has it): make sure it is there.
  if (::symlinkat("/bin/busybox", root_fd, "sbin/init") < 0 && errno != EEXIST) {
    return sys_error("symlink", "sbin/init");
  }
  return ok();
}

}  // namespace

Result<BuildResult> build_busybox(const BuildOptions& opts, const std::string& busybox) {
  BuildResult result;
  std::string what = "build busybox `" + opts.vdir + "`";
  auto staging = build::Staging::begin(opts, result);
  if (!staging) return std::move(staging).error().wrap(what);
  auto r = build::write_skeleton(staging->root_fd(), opts.hostname, true);
  if (!r) return std::move(r).error().wrap(what);
  r = install_busybox(staging->root_fd(), busybox, result);
  if (!r) return std::move(r).error().wrap(what);
  r = staging->commit();
  if (!r) return std::move(r).error().wrap(what);
  return result;
}

}  // namespace vs
