#include "lib/mount/guest_root.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "lib/base/fs_at.h"
#include "lib/base/unique_fd.h"
#include "lib/mount/mount_fd.h"

namespace vs {
namespace {

// SECURITY.md 1.4: runc/moby's list plus /sys/devices/virtual/powercap (moby, k8s, cri-o)
// and /proc/interrupts (cri-o, containerd). Sorted; the unit test keeps it free of duplicates.
constexpr MaskedPath kMaskedPaths[] = {
    {"/proc/acpi", MaskKind::kDir},
    {"/proc/asound", MaskKind::kDir},
    {"/proc/interrupts", MaskKind::kFile},
    {"/proc/kcore", MaskKind::kFile},
    {"/proc/keys", MaskKind::kFile},
    {"/proc/latency_stats", MaskKind::kFile},
    {"/proc/sched_debug", MaskKind::kFile},
    {"/proc/scsi", MaskKind::kDir},
    {"/proc/timer_list", MaskKind::kFile},
    {"/proc/timer_stats", MaskKind::kFile},
    {"/sys/devices/virtual/powercap", MaskKind::kDir},
    {"/sys/firmware", MaskKind::kDir},
};

constexpr std::string_view kReadOnlyPaths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

// The host device nodes bound into the guest's fresh /dev, each checked by st_rdev.
constexpr DeviceNode kDeviceNodes[] = {
    {"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
    {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};

constexpr uint64_t kKernelFsAttrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
constexpr uint64_t kLockedAttrs = MOUNT_ATTR_RDONLY | kKernelFsAttrs;

// The host path the administrator knows: "/vservers/web1" + "/proc".
std::string host_path(const std::string& vdir, std::string_view guest_path) {
  std::string out = vdir;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  if (out == "/") out.clear();
  out += guest_path;
  return out;
}

std::string_view relative(std::string_view guest_path) {
  while (!guest_path.empty() && guest_path.front() == '/') guest_path.remove_prefix(1);
  return guest_path.empty() ? std::string_view(".") : guest_path;
}

// The final component of `guest_path` beneath the root, as O_PATH: no symlink is followed on
// the way, and a final symlink is returned as itself for the caller to refuse.
Result<UniqueFd> open_in_guest(int root_fd, std::string_view guest_path,
                               const std::string& subject) {
  auto fd =
      open_beneath(root_fd, relative(guest_path), O_PATH | O_NOFOLLOW, 0, RESOLVE_NO_SYMLINKS);
  if (fd) return fd;
  Error e = std::move(fd).error();
  e.subject = subject;
  if (e.code == ELOOP) e.detail = "a symlink is on its path (refused)";
  return e;
}

Result<struct stat> stat_fd(int fd, const std::string& subject) {
  struct stat st {};
  if (::fstat(fd, &st) < 0) return sys_error("stat", subject);
  return st;
}

// A real directory beneath the root; a symlink, a file or nothing is refused by name.
Result<UniqueFd> open_guest_dir(int root_fd, std::string_view guest_path, const std::string& vdir) {
  std::string subject = host_path(vdir, guest_path);
  auto fd = open_in_guest(root_fd, guest_path, subject);
  if (!fd && fd.error().code == ENOENT) {
    return make_error(ErrorKind::kFailed, "open", subject, "must be a directory (is missing)");
  }
  if (!fd) return std::move(fd).error();
  auto st = stat_fd(fd->get(), subject);
  if (!st) return std::move(st).error();
  if (!S_ISDIR(st->st_mode)) {
    return make_error(ErrorKind::kFailed, "open", subject,
                      "must be a directory (is " + std::string(file_type_name(st->st_mode)) + ")");
  }
  return fd;
}

bool is_device(const struct stat& st, unsigned maj, unsigned min) {
  return S_ISCHR(st.st_mode) && ::major(st.st_rdev) == maj && ::minor(st.st_rdev) == min;
}

// A host device node, opened O_PATH and checked by device number, never by its name alone.
Result<UniqueFd> open_host_device(const DeviceNode& node) {
  std::string path = "/dev/" + std::string(node.name);
  auto fd = open_path(path, O_PATH | O_NOFOLLOW);
  if (!fd) return std::move(fd).error();
  auto st = stat_fd(fd->get(), path);
  if (!st) return std::move(st).error();
  if (!is_device(*st, node.major, node.minor)) {
    return make_error(ErrorKind::kFailed, "check device", path,
                      "is not the character device " + std::to_string(node.major) + ":" +
                          std::to_string(node.minor));
  }
  return fd;
}

// Re-resolves `guest_path` (so the check sees what the guest will see) and asserts that the
// mount there is read-only, as runc does after every mask.
Result<UniqueFd> verify_read_only(int root_fd, std::string_view guest_path,
                                  const std::string& subject) {
  auto fd = open_in_guest(root_fd, guest_path, subject);
  if (!fd) return std::move(fd).error();
  auto flags = mount_flags(fd->get(), subject);
  if (!flags) return std::move(flags).error();
  if (!(*flags & ST_RDONLY)) {
    return make_error(ErrorKind::kFailed, "verify", subject, "is still writable", EPERM);
  }
  return fd;
}

Result<void> verify_fs(int root_fd, std::string_view guest_path, long magic,
                       const std::string& subject) {
  auto fd = open_in_guest(root_fd, guest_path, subject);
  if (!fd) return std::move(fd).error();
  auto got = fs_magic(fd->get(), subject);
  if (!got) return std::move(got).error();
  if (*got != magic) {
    return make_error(ErrorKind::kFailed, "verify", subject, "the new mount is not on top");
  }
  return ok();
}

// --- step 1 and 2: propagation, the root mount ---

// Propagation before any mount (R8): slave, so the host's unmounts still reach the guest but
// nothing mounted here ever propagates to the host or to another guest.
Result<void> make_root_slave() {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) < 0) {
    return sys_error("mount MS_REC|MS_SLAVE", "/");
  }
  return ok();
}

// The vdir bound onto itself, not recursively (host mounts below it stay out; fstab brings
// what the guest needs), nodev: device nodes only work in the fresh /dev. suid is kept (the
// guest's su). Returns the fd of the new mount's root: every later step resolves beneath it.
Result<UniqueFd> bind_root(const std::string& vdir) {
  auto dir = open_path(vdir, O_PATH | O_DIRECTORY | O_NOFOLLOW);
  if (!dir) return std::move(dir).error();
  auto mnt = clone_mount(dir->get(), false, vdir);
  if (!mnt) return std::move(mnt).error();
  if (auto r = set_mount_attrs(mnt->get(), MOUNT_ATTR_NODEV, 0, false, vdir); !r) {
    return std::move(r).error();
  }
  if (auto r = attach_mount(mnt->get(), dir->get(), vdir); !r) return std::move(r).error();
  return mnt;
}

// --- step 3: extra binds ---

Result<void> bind_extra(int root_fd, const ExtraBind& bind, const std::string& vdir) {
  std::string subject = host_path(vdir, bind.target);
  if (bind.target.empty() || bind.target.front() != '/' || relative(bind.target) == ".") {
    return make_error(ErrorKind::kUsage, "bind", subject,
                      "the target must be an absolute path below the guest root", EINVAL);
  }
  auto src = open_path(bind.source, O_PATH | O_NOFOLLOW);
  if (!src) return std::move(src).error();
  auto target = open_in_guest(root_fd, bind.target, subject);
  if (!target) return std::move(target).error();
  auto src_st = stat_fd(src->get(), bind.source);
  if (!src_st) return std::move(src_st).error();
  auto dst_st = stat_fd(target->get(), subject);
  if (!dst_st) return std::move(dst_st).error();
  if (S_ISLNK(src_st->st_mode) || S_ISLNK(dst_st->st_mode) ||
      S_ISDIR(src_st->st_mode) != S_ISDIR(dst_st->st_mode)) {
    return make_error(ErrorKind::kFailed, "bind", subject,
                      "source `" + bind.source + "` is " +
                          std::string(file_type_name(src_st->st_mode)) + ", target is " +
                          std::string(file_type_name(dst_st->st_mode)));
  }
  auto mnt = clone_mount(src->get(), true, subject);
  if (!mnt) return std::move(mnt).error();
  uint64_t attrs = MOUNT_ATTR_NODEV | (bind.read_only ? MOUNT_ATTR_RDONLY : 0);
  if (auto r = set_mount_attrs(mnt->get(), attrs, 0, true, subject); !r) {
    return std::move(r).error();
  }
  return attach_mount(mnt->get(), target->get(), subject);
}

// --- step 4 and 5: /proc, /sys, masks, read-only paths ---

Result<void> mount_proc(int root_fd, const std::string& vdir) {
  auto target = open_guest_dir(root_fd, "/proc", vdir);
  if (!target) return std::move(target).error();
  std::string subject = host_path(vdir, "/proc");
  auto mnt = new_fs_mount("proc", {}, kKernelFsAttrs, subject);
  if (!mnt) return std::move(mnt).error();
  if (auto r = attach_mount(mnt->get(), target->get(), subject); !r) return r;
  return verify_fs(root_fd, "/proc", PROC_SUPER_MAGIC, subject);
}

Result<void> verify_masked(int root_fd, const MaskedPath& mask, bool dir,
                           const std::string& subject) {
  auto fd = verify_read_only(root_fd, mask.path, subject);
  if (!fd) return std::move(fd).error();
  auto st = stat_fd(fd->get(), subject);
  if (!st) return std::move(st).error();
  auto magic = fs_magic(fd->get(), subject);
  if (!magic) return std::move(magic).error();
  bool masked = *magic == TMPFS_MAGIC &&
                (dir ? S_ISDIR(st->st_mode) : (S_ISREG(st->st_mode) && st->st_size == 0));
  if (!masked) return make_error(ErrorKind::kFailed, "verify", subject, "is not masked");
  return ok();
}

// A read-only tmpfs holding one empty file, "empty", for the file masks: reads of a mask
// return nothing and writes fail with EROFS (a bound /dev/null would swallow writes: a
// read-only mount does not stop writes to a device). Returns the detached mount's fd: it
// must stay open while masks are cloned from it (closing it dissolves the mount).
Result<UniqueFd> make_empty_file(const std::string& vdir) {
  auto mnt = new_fs_mount("tmpfs", {{"mode", "0555"}, {"size", "4k"}}, kKernelFsAttrs, vdir);
  if (!mnt) return std::move(mnt).error();
  UniqueFd file(::openat(mnt->get(), "empty", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0444));
  if (!file) return sys_error("create", "mask file");
  file.reset();  // a file open for writing keeps the mount from going read-only (EBUSY)
  if (auto r = set_mount_attrs(mnt->get(), MOUNT_ATTR_RDONLY, 0, false, "mask file"); !r) {
    return std::move(r).error();
  }
  return mnt;
}

// A directory is covered by an empty read-only tmpfs, anything else by a clone of the empty
// read-only file of make_empty_file() (`empty_fd` is its mount). The real type decides.
Result<void> mask_one(int root_fd, const MaskedPath& mask, int empty_fd,
                      const std::string& vdir) {
  std::string subject = host_path(vdir, mask.path);
  auto target = open_in_guest(root_fd, mask.path, subject);
  if (!target && target.error().code == ENOENT) return ok();  // not on this kernel
  if (!target) return std::move(target).error();
  auto st = stat_fd(target->get(), subject);
  if (!st) return std::move(st).error();
  if (S_ISLNK(st->st_mode)) {
    return make_error(ErrorKind::kFailed, "mask", subject, "is a symlink (refused)");
  }
  bool dir = S_ISDIR(st->st_mode);
  Result<UniqueFd> mnt = UniqueFd();
  if (dir) {
    mnt = new_fs_mount("tmpfs", {{"mode", "0555"}}, kLockedAttrs, subject);
  } else if (UniqueFd c(::open_tree(empty_fd, "empty", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)); c) {
    mnt = std::move(c);
  } else {
    mnt = sys_error("open_tree", subject);
  }
  if (!mnt) return std::move(mnt).error();
  if (!dir) {
    if (auto r = set_mount_attrs(mnt->get(), kLockedAttrs, 0, false, subject); !r) return r;
  }
  if (auto r = attach_mount(mnt->get(), target->get(), subject); !r) return r;
  return verify_masked(root_fd, mask, dir, subject);
}

// Masks every entry of the table under `prefix` ("/proc/" or "/sys/").
Result<void> mask_paths(int root_fd, std::string_view prefix, int empty_fd,
                        const std::string& vdir) {
  for (const MaskedPath& mask : kMaskedPaths) {
    if (mask.path.substr(0, prefix.size()) != prefix) continue;
    if (auto r = mask_one(root_fd, mask, empty_fd, vdir); !r) return r;
  }
  return ok();
}

Result<void> bind_read_only(int root_fd, std::string_view guest_path, const std::string& vdir) {
  std::string subject = host_path(vdir, guest_path);
  auto target = open_in_guest(root_fd, guest_path, subject);
  if (!target && target.error().code == ENOENT) return ok();  // not on this kernel
  if (!target) return std::move(target).error();
  auto mnt = clone_mount(target->get(), true, subject);
  if (!mnt) return std::move(mnt).error();
  if (auto r = set_mount_attrs(mnt->get(), kLockedAttrs, 0, true, subject); !r) return r;
  if (auto r = attach_mount(mnt->get(), target->get(), subject); !r) return r;
  auto check = verify_read_only(root_fd, guest_path, subject);
  if (!check) return std::move(check).error();
  return ok();
}

Result<void> bind_read_only_paths(int root_fd, const std::string& vdir) {
  for (std::string_view path : kReadOnlyPaths) {
    if (auto r = bind_read_only(root_fd, path, vdir); !r) return r;
  }
  return ok();
}

// sysfs refuses a new superblock when the caller's user namespace does not own its network
// namespace. Then the host's sysfs, bound without its submounts (no cgroupfs, debugfs,
// securityfs come along) and read-only.
Result<UniqueFd> bind_host_sys(const std::string& subject) {
  auto host = open_path("/sys", O_PATH | O_DIRECTORY | O_NOFOLLOW);
  if (!host) return std::move(host).error();
  auto mnt = clone_mount(host->get(), false, subject);
  if (!mnt) return std::move(mnt).error();
  if (auto r = set_mount_attrs(mnt->get(), kLockedAttrs, 0, false, subject); !r) {
    return std::move(r).error();
  }
  return mnt;
}

Result<void> mount_sys(int root_fd, const std::string& vdir) {
  auto target = open_guest_dir(root_fd, "/sys", vdir);
  if (!target) return std::move(target).error();
  std::string subject = host_path(vdir, "/sys");
  auto mnt = new_fs_mount("sysfs", {}, kLockedAttrs, subject);
  if (!mnt) {
    auto fallback = bind_host_sys(subject);
    if (!fallback) return std::move(mnt).error();  // the first error says more
    mnt = std::move(fallback);
  }
  if (auto r = attach_mount(mnt->get(), target->get(), subject); !r) return r;
  auto check = verify_read_only(root_fd, "/sys", subject);
  if (!check) return std::move(check).error();
  return verify_fs(root_fd, "/sys", SYSFS_MAGIC, subject);
}

Result<void> mount_cgroup_read_only(int root_fd, const std::string& vdir) {
  auto target = open_guest_dir(root_fd, "/sys/fs/cgroup", vdir);
  if (!target) return std::move(target).error();
  std::string subject = host_path(vdir, "/sys/fs/cgroup");
  auto mnt = new_fs_mount("cgroup2", {}, kLockedAttrs, subject);
  if (!mnt) return std::move(mnt).error();
  if (auto r = attach_mount(mnt->get(), target->get(), subject); !r) return r;
  auto check = verify_read_only(root_fd, "/sys/fs/cgroup", subject);
  if (!check) return std::move(check).error();
  return ok();
}

// --- step 6: /dev, built through the fd of its fresh tmpfs, never through the guest tree ---

// An empty file in our own /dev tmpfs to bind a device onto.
Result<UniqueFd> make_mount_point(int dev_fd, std::string_view name, const std::string& subject) {
  std::string n(name);
  UniqueFd fd(::openat(dev_fd, n.c_str(), O_CREAT | O_EXCL | O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0));
  if (!fd) return sys_error("create", subject);
  return fd;
}

Result<void> bind_host_node(int dev_fd, int host_fd, std::string_view name,
                            const std::string& subject) {
  auto spot = make_mount_point(dev_fd, name, subject);
  if (!spot) return std::move(spot).error();
  auto mnt = clone_mount(host_fd, false, subject);
  if (!mnt) return std::move(mnt).error();
  auto r = set_mount_attrs(mnt->get(), MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, 0, false, subject);
  if (!r) return r;
  return attach_mount(mnt->get(), spot->get(), subject);
}

Result<void> bind_devices(int dev_fd, const std::string& vdir) {
  for (const DeviceNode& node : kDeviceNodes) {
    std::string subject = host_path(vdir, "/dev/" + std::string(node.name));
    auto host = open_host_device(node);
    if (!host) return std::move(host).error();
    if (auto r = bind_host_node(dev_fd, host->get(), node.name, subject); !r) return r;
  }
  return ok();
}

// A pty slave of any devpts instance (unix98 majors 136..143), checked on the host side.
Result<void> bind_console(int dev_fd, const std::string& pty, const std::string& vdir) {
  auto host = open_path(pty, O_PATH | O_NOFOLLOW);
  if (!host) return std::move(host).error();
  auto st = stat_fd(host->get(), pty);
  if (!st) return std::move(st).error();
  if (!S_ISCHR(st->st_mode) || ::major(st->st_rdev) < 136 || ::major(st->st_rdev) > 143) {
    return make_error(ErrorKind::kFailed, "check console", pty, "is not a pty slave");
  }
  return bind_host_node(dev_fd, host->get(), "console", host_path(vdir, "/dev/console"));
}

Result<UniqueFd> make_dev_dir(int dev_fd, const char* name, const std::string& subject) {
  if (::mkdirat(dev_fd, name, 0755) < 0) return sys_error("mkdir", subject);
  UniqueFd fd(::openat(dev_fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return sys_error("open", subject);
  return fd;
}

// A private devpts instance (every devpts mount is one since Linux 4.7; newinstance says so
// to older readers) with /dev/ptmx pointing into it.
Result<void> mount_pts(int dev_fd, const std::string& vdir) {
  std::string subject = host_path(vdir, "/dev/pts");
  auto dir = make_dev_dir(dev_fd, "pts", subject);
  if (!dir) return std::move(dir).error();
  auto mnt = new_fs_mount(
      "devpts", {{"newinstance", nullptr}, {"ptmxmode", "0666"}, {"mode", "0620"}, {"gid", "5"}},
      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, subject);
  if (!mnt) return std::move(mnt).error();
  if (auto r = attach_mount(mnt->get(), dir->get(), subject); !r) return r;
  if (::symlinkat("pts/ptmx", dev_fd, "ptmx") < 0) {
    return sys_error("symlink", host_path(vdir, "/dev/ptmx"));
  }
  return ok();
}

Result<void> mount_shm(int dev_fd, uint64_t size, const std::string& vdir) {
  std::string subject = host_path(vdir, "/dev/shm");
  auto dir = make_dev_dir(dev_fd, "shm", subject);
  if (!dir) return std::move(dir).error();
  std::string bytes = std::to_string(size);
  auto mnt =
      new_fs_mount("tmpfs", {{"mode", "1777"}, {"size", bytes.c_str()}}, kKernelFsAttrs, subject);
  if (!mnt) return std::move(mnt).error();
  return attach_mount(mnt->get(), dir->get(), subject);
}

Result<void> make_dev_links(int dev_fd, const std::string& vdir) {
  static constexpr const char* kLinks[][2] = {
      {"fd", "/proc/self/fd"},
      {"stdin", "/proc/self/fd/0"},
      {"stdout", "/proc/self/fd/1"},
      {"stderr", "/proc/self/fd/2"},
  };
  for (const auto& link : kLinks) {
    if (::symlinkat(link[1], dev_fd, link[0]) < 0) {
      return sys_error("symlink", host_path(vdir, "/dev/" + std::string(link[0])));
    }
  }
  return ok();
}

// A fresh tmpfs replaces whatever the guest has at /dev (CVE-2025-31133: its null or console
// may be symlinks to host files); only its /dev itself must be a real directory.
Result<void> mount_dev(int root_fd, const GuestRootSpec& spec) {
  const std::string& vdir = spec.vdir;
  auto target = open_guest_dir(root_fd, "/dev", vdir);
  if (!target) return std::move(target).error();
  std::string subject = host_path(vdir, "/dev");
  auto dev = new_fs_mount("tmpfs", {{"mode", "755"}, {"size", "65536k"}},
                          MOUNT_ATTR_NOSUID | MOUNT_ATTR_STRICTATIME, subject);
  if (!dev) return std::move(dev).error();
  if (auto r = attach_mount(dev->get(), target->get(), subject); !r) return r;
  const int dev_fd = dev->get();
  if (auto r = bind_devices(dev_fd, vdir); !r) return r;
  if (auto r = mount_pts(dev_fd, vdir); !r) return r;
  if (auto r = mount_shm(dev_fd, spec.shm_size, vdir); !r) return r;
  if (auto r = make_dev_links(dev_fd, vdir); !r) return r;
  if (!spec.console.empty()) return bind_console(dev_fd, spec.console, vdir);
  return ok();
}

// --- step 7: pivot_root ---

// pivot_root(".", ".") with the new root as cwd stacks the old root on top of the new one.
// From the old root's own fd we make it a slave (its detach must not propagate) and detach
// it lazily; then "/" is the guest root and no "..", chroot or fd of ours leads back to the
// host tree (E01). chroot alone would be escapable.
Result<void> pivot_into(int root_fd, const std::string& vdir) {
  UniqueFd old_root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!old_root) return sys_error("open", "/");
  if (::fchdir(root_fd) < 0) return sys_error("fchdir", vdir);
  if (::syscall(SYS_pivot_root, ".", ".") < 0) return sys_error("pivot_root", vdir);
  if (::fchdir(old_root.get()) < 0) return sys_error("fchdir", "old root");
  if (::mount(nullptr, ".", nullptr, MS_REC | MS_SLAVE, nullptr) < 0) {
    return sys_error("mount MS_REC|MS_SLAVE", "old root");
  }
  if (::umount2(".", MNT_DETACH) < 0) return sys_error("umount2", "old root");
  old_root.reset();
  if (::chdir("/") < 0) return sys_error("chdir", "/");
  struct stat now {};
  struct stat want {};
  if (::stat("/", &now) < 0 || ::fstat(root_fd, &want) < 0) return sys_error("stat", "/");
  if (now.st_dev != want.st_dev || now.st_ino != want.st_ino) {
    return make_error(ErrorKind::kFailed, "verify", vdir, "`/` is not the guest root");
  }
  return ok();
}

}  // namespace

std::span<const MaskedPath> masked_paths() { return kMaskedPaths; }
std::span<const std::string_view> read_only_paths() { return kReadOnlyPaths; }
std::span<const DeviceNode> device_nodes() { return kDeviceNodes; }

std::string_view file_type_name(mode_t mode) {
  switch (mode & S_IFMT) {
    case S_IFDIR:
      return "a directory";
    case S_IFLNK:
      return "a symlink";
    case S_IFREG:
      return "a regular file";
    case S_IFCHR:
      return "a character device";
    case S_IFBLK:
      return "a block device";
    case S_IFIFO:
      return "a FIFO";
    case S_IFSOCK:
      return "a socket";
    default:
      return "of unknown type";
  }
}

Result<void> check_guest_tree(int root_fd, const std::string& vdir) {
  for (std::string_view dir : {"/proc", "/sys", "/dev"}) {
    auto fd = open_guest_dir(root_fd, dir, vdir);
    if (!fd) return std::move(fd).error().wrap("check guest tree");
  }
  return ok();
}

// The checklist (STYLE.md R6). The order is the point: propagation before any mount; the
// root mount before anything is resolved beneath it; extra binds before the kernel
// filesystems so none of them can cover those; each mask right after the filesystem it
// hides part of; pivot_root last, when nothing needs a host path any more.
Result<void> enter_guest_root(const GuestRootSpec& spec) {
  const std::string& v = spec.vdir;
  if (auto r = make_root_slave(); !r) return std::move(r).error().wrap("set propagation");
  auto root = bind_root(v);
  if (!root) return std::move(root).error().wrap("bind guest root");
  const int root_fd = root->get();
  for (const ExtraBind& b : spec.binds) {
    if (auto r = bind_extra(root_fd, b, v); !r)
      return std::move(r).error().wrap("bind " + b.target);
  }
  if (spec.guest_mounts) {
    if (auto r = spec.guest_mounts(root_fd); !r) return std::move(r).error().wrap("guest mounts");
  }
  // File masks bind this one empty file of ours; never a file of the guest's.
  auto empty = make_empty_file(v);
  if (!empty) return std::move(empty).error().wrap("make the mask file");
  if (auto r = mount_proc(root_fd, v); !r) return std::move(r).error().wrap("mount /proc");
  if (auto r = mask_paths(root_fd, "/proc/", empty->get(), v); !r)
    return std::move(r).error().wrap("mask /proc");
  if (auto r = bind_read_only_paths(root_fd, v); !r)
    return std::move(r).error().wrap("read-only /proc");
  if (auto r = mount_sys(root_fd, v); !r) return std::move(r).error().wrap("mount /sys");
  if (auto r = mask_paths(root_fd, "/sys/", empty->get(), v); !r)
    return std::move(r).error().wrap("mask /sys");
  if (spec.cgroup_read_only) {
    if (auto r = mount_cgroup_read_only(root_fd, v); !r)
      return std::move(r).error().wrap("mount /sys/fs/cgroup");
  }
  if (auto r = mount_dev(root_fd, spec); !r) return std::move(r).error().wrap("mount /dev");
  if (auto r = pivot_into(root_fd, v); !r) return std::move(r).error().wrap("pivot_root");
  return ok();
}

}  // namespace vs
