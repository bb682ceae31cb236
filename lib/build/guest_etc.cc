// The /etc, init style and size of a finished, guest-made tree (guest_etc.h).
#include "lib/build/guest_etc.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/base/dir_stream.h"
#include "lib/base/fs_at.h"

namespace vs::build {
namespace {

// Deep enough for any real tree; bounded so a hostile tree cannot exhaust our fds.
constexpr int kMaxDepth = 400;

Result<UniqueFd> open_etc(int root_fd) {
  auto etc = open_beneath(root_fd, "etc", O_PATH | O_DIRECTORY, 0, RESOLVE_NO_SYMLINKS);
  if (!etc) return std::move(etc).error().wrap("the guest's etc (a directory, not a symlink)");
  return etc;
}

// `name` in `etc_fd` replaced by a new regular file holding `text`: written under a name of
// our own (any entry of that name removed first, so the O_EXCL create never meets a guest's
// FIFO or link), then renamed over the old entry, whatever it was.
Result<void> replace_file(int etc_fd, const std::string& name, const std::string& text) {
  const std::string tmp = "." + name + ".vserver-new";
  if (::unlinkat(etc_fd, tmp.c_str(), 0) < 0 && errno != ENOENT) {
    return sys_error("unlink", "etc/" + tmp);
  }
  UniqueFd fd(::openat(etc_fd, tmp.c_str(),
                       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd) return sys_error("create", "etc/" + tmp);
  if (!write_all(fd.get(), text) || ::fchmod(fd.get(), 0644) < 0) {
    Error e = sys_error("write", "etc/" + tmp);
    ::unlinkat(etc_fd, tmp.c_str(), 0);
    return e;
  }
  fd.reset();
  if (::renameat(etc_fd, tmp.c_str(), etc_fd, name.c_str()) < 0) {
    Error e = sys_error("rename", "etc/" + name);
    ::unlinkat(etc_fd, tmp.c_str(), 0);
    return e;
  }
  return ok();
}

Result<uint64_t> count_dir(int dir_fd, dev_t dev, int depth) {
  if (depth > kMaxDepth) {
    return make_error(ErrorKind::kFailed, "count", "tree", "deeper than 400 levels", ELOOP);
  }
  auto stream = DirStream::open(dir_fd, "tree");
  if (!stream) return std::move(stream).error();
  uint64_t n = 0;
  for (;;) {
    auto ent = stream->next();
    if (!ent) return std::move(ent).error();
    if (!*ent) break;
    ++n;
    if ((*ent)->type != DT_DIR && (*ent)->type != DT_UNKNOWN) continue;
    const std::string name((*ent)->name);
    UniqueFd sub(::openat(dir_fd, name.c_str(),
                          O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (!sub) continue;  // not a directory after all (or gone)
    struct stat st {};
    if (::fstat(sub.get(), &st) < 0 || st.st_dev != dev) continue;
    auto below = count_dir(sub.get(), dev, depth + 1);
    if (!below) return below;
    n += *below;
  }
  return n;
}

}  // namespace

Result<void> write_etc_names(int root_fd, const std::string& hostname) {
  auto etc = open_etc(root_fd);
  if (!etc) return std::move(etc).error();
  if (auto r = replace_file(etc->get(), "hostname", hostname + "\n"); !r) return r;
  return replace_file(etc->get(), "hosts",
                      "127.0.0.1\tlocalhost\n127.0.1.1\t" + hostname +
                          "\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                          "ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n");
}

Result<bool> copy_host_resolver(int root_fd, const std::string& host_file) {
  auto etc = open_etc(root_fd);
  if (!etc) return std::move(etc).error();
  struct stat st {};
  if (::fstatat(etc->get(), "resolv.conf", &st, AT_SYMLINK_NOFOLLOW) == 0) return false;
  if (errno != ENOENT) return sys_error("stat", "etc/resolv.conf");
  // The host's file, its links followed (systemd-resolved makes it one): its contents count.
  auto host = open_path(host_file, O_RDONLY | O_NONBLOCK);
  if (!host) {
    if (host.error().code == ENOENT) return false;
    return std::move(host).error().wrap("the host's resolver configuration");
  }
  if (::fstat(host->get(), &st) < 0) return sys_error("stat", host_file);
  if (!S_ISREG(st.st_mode)) return false;
  auto text = read_all(std::move(*host), host_file, 64 << 10);
  if (!text) return std::move(text).error().wrap("the host's resolver configuration");
  if (auto r = replace_file(etc->get(), "resolv.conf", *text); !r) return std::move(r).error();
  return true;
}

std::string init_style_program(const std::string& style) {
  if (style == "plain") return "/sbin/init";
  if (style == "sysv") return "/etc/init.d/rc";
  return "";
}

bool tree_has_program(int root_fd, const std::string& path) {
  std::string rel = path;
  while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
  if (rel.empty()) return false;
  auto fd = open_beneath(root_fd, rel, O_PATH);
  if (!fd) return false;
  struct stat st {};
  return ::fstat(fd->get(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
}

std::string detect_init_style(int root_fd) {
  return tree_has_program(root_fd, init_style_program("sysv")) ? "sysv" : "minit";
}

Result<uint64_t> count_entries(int root_fd) {
  UniqueFd root(::openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return sys_error("open", "tree");
  struct stat st {};
  if (::fstat(root.get(), &st) < 0) return sys_error("stat", "tree");
  return count_dir(root.get(), st.st_dev, 0);
}

}  // namespace vs::build
