#include "tests/integration/guest_root_fixture.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>

#include "tests/support/run_in_child.h"

namespace vs::test {

int open_errno(const std::string& path, int flags, mode_t mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return errno;
  ::close(fd);
  return 0;
}

std::set<std::string> list_dir(const std::string& path) {
  std::set<std::string> out;
  DIR* d = ::opendir(path.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.insert(n);
  }
  ::closedir(d);
  return out;
}

std::string join(const std::set<std::string>& s) {
  std::string out;
  for (const auto& x : s) out += (out.empty() ? "" : " ") + x;
  return out;
}

std::vector<std::string> mount_points(const std::string& mountinfo) {
  std::vector<std::string> out;
  std::ifstream in(mountinfo);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, dev, root, mp;
    f >> id >> parent >> dev >> root >> mp;
    std::string decoded;
    for (size_t i = 0; i < mp.size(); ++i) {
      if (mp[i] == '\\' && i + 3 < mp.size()) {
        decoded += static_cast<char>(std::stoi(mp.substr(i + 1, 3), nullptr, 8));
        i += 3;
      } else {
        decoded += mp[i];
      }
    }
    out.push_back(decoded);
  }
  return out;
}

long fs_type(const std::string& path) {
  struct statfs st {};
  return ::statfs(path.c_str(), &st) == 0 ? static_cast<long>(st.f_type) : -1;
}

unsigned long vfs_flags(const std::string& path) {
  struct statvfs st {};
  return ::statvfs(path.c_str(), &st) == 0 ? st.f_flag : ~0ul;
}

std::string in_guest(const GuestRootSpec& spec, const std::function<std::string()>& inside,
                     const std::function<std::string(const Error&)>& on_error, int extra_ns) {
  if (::unshare(CLONE_NEWNS | CLONE_NEWPID | extra_ns) < 0) return "unshare: " + err(errno);
  // Shared propagation, as on a systemd host: enter_guest_root must cut it itself.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_SHARED, nullptr) < 0) {
    return "mount MS_SHARED: " + err(errno);
  }
  // The guest's pid 1: a child forked into the new pid namespace.
  return failure_in_child([&]() -> std::string {
    std::vector<std::string> before = mount_points();
    std::string msg;
    auto r = enter_guest_root(spec);
    if (r && on_error) {
      msg = "enter_guest_root succeeded; a refusal was expected";
    } else if (r) {
      msg = inside();
    } else if (!on_error) {
      msg = "enter_guest_root: " + r.error().message();
    } else {
      std::multiset<std::string> old(before.begin(), before.end());
      for (const auto& mp : mount_points()) {
        auto it = old.find(mp);
        if (it != old.end()) {
          old.erase(it);
        } else if (!under(mp, spec.vdir)) {
          msg += "mounted outside the vdir: " + mp + "\n";
        }
      }
      msg += on_error(r.error());
    }
    return msg;
  });
}

std::function<std::string(const Error&)> refusal(const std::string& path, const std::string& what) {
  return [path, what](const Error& e) -> std::string {
    std::string m = e.message();
    if (e.subject != path || m.find(what) == std::string::npos) {
      return "unexpected error (want subject `" + path + "` and \"" + what + "\"): " + m;
    }
    return "";
  };
}

}  // namespace vs::test
