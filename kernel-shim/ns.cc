#include "kernel-shim/ns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <vector>

#include "lib/base/child.h"
#include "lib/base/fs_at.h"
#include "lib/base/scope_exit.h"

namespace vs::shim {

const std::array<NsInfo, 8> kNamespaces{{
    {NsType::kUser, "user", CLONE_NEWUSER},
    {NsType::kPid, "pid", CLONE_NEWPID},
    {NsType::kUts, "uts", CLONE_NEWUTS},
    {NsType::kIpc, "ipc", CLONE_NEWIPC},
    {NsType::kNet, "net", CLONE_NEWNET},
    {NsType::kCgroup, "cgroup", CLONE_NEWCGROUP},
    {NsType::kTime, "time", CLONE_NEWTIME},
    {NsType::kMnt, "mnt", CLONE_NEWNS},
}};

NsSet default_namespaces() {
  return CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
}

namespace {

std::string allowed_names() {
  std::string s;
  for (const auto& ns : kNamespaces) {
    if (!s.empty()) s += ", ";
    s += ns.name;
  }
  return s;
}

}  // namespace

Result<NsSet> parse_ns_list(std::string_view list) {
  if (list.empty()) {
    return usage_error("namespaces", "empty list (expected some of " + allowed_names() + ")");
  }
  NsSet set = 0;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    std::string_view word = list.substr(pos, comma == std::string_view::npos ? list.npos
                                                                              : comma - pos);
    const NsInfo* found = nullptr;
    for (const auto& ns : kNamespaces) {
      if (word == ns.name) found = &ns;
    }
    if (!found) {
      return usage_error("namespaces", "unknown namespace `" + std::string(word) +
                                           "` (expected some of " + allowed_names() + ")");
    }
    if (set & found->clone_flag) {
      return usage_error("namespaces", "`" + std::string(word) + "` given twice");
    }
    set |= found->clone_flag;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return set;
}

std::string format_ns_list(NsSet set) {
  // Rendered in the conventional order, not the join order.
  static constexpr std::array<const char*, 8> kOrder{"mnt", "pid",    "uts",  "ipc",
                                                     "net", "cgroup", "user", "time"};
  std::string out;
  for (const char* name : kOrder) {
    for (const auto& ns : kNamespaces) {
      if (std::string_view(ns.name) == name && (set & ns.clone_flag)) {
        if (!out.empty()) out += ',';
        out += name;
      }
    }
  }
  return out;
}

Result<void> pin_namespaces(const std::string& proc_root, pid_t pid, NsSet set,
                            const std::string& dir) {
  if (set == 0) return ok();
  if (auto r = ensure_dir(dir, 0700); !r) return r;
  Transaction undo;
  for (const auto& ns : kNamespaces) {
    if (!(set & ns.clone_flag)) continue;
    std::string src = proc_root + "/" + std::to_string(pid) + "/ns/" + ns.name;
    std::string dst = dir + "/" + ns.name;
    UniqueFd f(::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0400));
    if (!f) return sys_error("create pin", dst);
    f.reset();
    if (::mount(src.c_str(), dst.c_str(), nullptr, MS_BIND, nullptr) < 0) {
      Error e = sys_error("mount", dst);
      ::unlink(dst.c_str());
      return std::move(e).wrap("pin " + std::string(ns.name) + " namespace");
    }
    undo.on_rollback([dst] {
      ::umount2(dst.c_str(), MNT_DETACH);
      ::unlink(dst.c_str());
    });
  }
  undo.commit();
  return ok();
}

Result<void> unpin_namespaces(const std::string& dir) {
  std::optional<Error> first;
  for (const auto& ns : kNamespaces) {
    std::string path = dir + "/" + ns.name;
    if (::umount2(path.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) < 0 && errno != EINVAL &&
        errno != ENOENT && !first) {
      first = sys_error("umount", path);
    }
    if (::unlink(path.c_str()) < 0 && errno != ENOENT && !first) {
      first = sys_error("unlink", path);
    }
  }
  if (::rmdir(dir.c_str()) < 0 && errno != ENOENT && !first) first = sys_error("rmdir", dir);
  if (first) return std::move(*first);
  return ok();
}

Result<void> enter_pins(const std::string& dir, NsSet set) {
  // Open every pin first: after joining the mount namespace, `dir` means something else.
  std::vector<std::pair<UniqueFd, const NsInfo*>> fds;
  for (const auto& ns : kNamespaces) {
    if (!(set & ns.clone_flag)) continue;
    std::string path = dir + "/" + ns.name;
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) return sys_error("open pin", path);
    fds.emplace_back(std::move(fd), &ns);
  }
  for (auto& [fd, ns] : fds) {
    if (::setns(fd.get(), static_cast<int>(ns->clone_flag)) < 0) {
      return sys_error("setns", dir + "/" + ns->name);
    }
  }
  return ok();
}

Result<std::optional<int>> new_namespaces(NsSet which) {
  if (::unshare(static_cast<int>(which)) < 0) {
    return sys_error("unshare", format_ns_list(which));
  }
  // Before any other mount (R8): nothing mounted from now on may propagate back to the host.
  if ((which & CLONE_NEWNS) && ::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) < 0) {
    return sys_error("mount", "/");
  }
  if (!(which & (CLONE_NEWPID | CLONE_NEWTIME))) return std::optional<int>();
  return fork_into_pid_namespace((which & CLONE_NEWPID) && (which & CLONE_NEWNS));
}

Result<std::optional<int>> fork_into_pid_namespace(bool mount_proc) {
  auto child = Child::fork(CloneSpec{});
  if (!child) return std::move(child).error();
  if (!*child) {
    // A procfs of the new pid namespace, so ps and /proc/self tell the truth inside.
    if (mount_proc &&
        ::mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0) {
      return sys_error("mount", "/proc");
    }
    return std::optional<int>();
  }
  auto status = (*child)->wait();
  if (!status) return std::move(status).error();
  return std::optional<int>(status->as_exit_code());
}

}  // namespace vs::shim
