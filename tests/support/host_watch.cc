#include "tests/support/host_watch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/fanotify.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "kernel-shim/cgroup.h"
#include "tests/support/root_env.h"
#include "tests/support/run_cmd.h"

namespace vs::test {

namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string link_of(const std::string& path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  return n < 0 ? std::string("?") : std::string(buf, static_cast<size_t>(n));
}

void collect_pids(const std::string& dir, std::vector<pid_t>& out) {
  std::istringstream procs(slurp(dir + "/cgroup.procs"));
  for (pid_t p; procs >> p;) out.push_back(p);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_directory(ec)) collect_pids(e.path().string(), out);
  }
}

}  // namespace

FileId file_id(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) < 0) return {0, 0};
  return {st.st_dev, st.st_ino};
}

std::map<std::string, std::string> sha256_of(const std::vector<std::string>& paths) {
  std::map<std::string, std::string> out;
  for (const auto& p : paths) out[p] = "";
  // openssl: "SHA2-256(PATH)= HEX" (or "SHA256(PATH)= HEX"); sha256sum: "HEX  PATH".
  std::vector<std::string> argv = {"openssl", "dgst", "-sha256"};
  argv.insert(argv.end(), paths.begin(), paths.end());
  auto r = run_cmd(argv, 120);
  const bool openssl = r.status == 0;
  if (!openssl) {
    argv = {"sha256sum", "--"};
    argv.insert(argv.end(), paths.begin(), paths.end());
    r = run_cmd(argv, 120);
  }
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    if (openssl) {
      size_t open = line.find('('), close = line.rfind(")= ");
      if (open == std::string::npos || close == std::string::npos) continue;
      out[line.substr(open + 1, close - open - 1)] = line.substr(close + 3);
    } else if (line.size() >= 67) {
      out[line.substr(66)] = line.substr(0, 64);
    }
  }
  return out;
}

ToolCopies::ToolCopies(const std::string& dir, const std::vector<std::string>& names)
    : dir_(dir), names_(names) {
  refresh();
}

void ToolCopies::refresh() {
  fs::create_directories(dir_);
  files_.clear();
  made_.clear();
  for (const auto& name : names_) {
    const std::string to = dir_ + "/" + name;
    // A new inode each time: a process may still run (or hold) the old one.
    ::unlink(to.c_str());
    std::error_code ec;
    fs::copy_file(root_env().build_root + "/tools/" + name, to, ec);
    struct stat st {};
    if (ec || ::chmod(to.c_str(), 0755) < 0 || ::stat(to.c_str(), &st) < 0) continue;
    files_.push_back(to);
    made_[to] = {st.st_size, st.st_mtim};
  }
}

bool ToolCopies::intact() const {
  if (files_.size() != names_.size()) return false;
  for (const auto& [path, made] : made_) {
    struct stat st {};
    if (::stat(path.c_str(), &st) < 0 || st.st_size != made.first ||
        st.st_mtim.tv_sec != made.second.tv_sec || st.st_mtim.tv_nsec != made.second.tv_nsec) {
      return false;
    }
  }
  return true;
}

std::set<FileId> ToolCopies::ids() const {
  std::set<FileId> out;
  for (const auto& f : files_) out.insert(file_id(f));
  return out;
}

std::string ToolCopies::ids_arg() const {
  std::string s;
  for (const auto& [dev, ino] : ids()) {
    s += (s.empty() ? "" : ",") + std::to_string(dev) + "." + std::to_string(ino);
  }
  return s.empty() ? "-" : s;
}

ExecMonitor::ExecMonitor(const std::vector<std::string>& files, std::string cgroup_parent)
    : cgroup_parent_(std::move(cgroup_parent)), host_root_(file_id("/")) {
  fd_ = ::fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    error_ = std::string("fanotify_init: ") + strerror(errno);
    return;
  }
  for (const auto& f : files) {
    if (::fanotify_mark(fd_, FAN_MARK_ADD, FAN_OPEN_EXEC_PERM, AT_FDCWD, f.c_str()) < 0) {
      error_ = "fanotify_mark " + f + ": " + strerror(errno);
      return;
    }
  }
  if (::pipe2(stop_, O_CLOEXEC) < 0) {
    error_ = std::string("pipe2: ") + strerror(errno);
    return;
  }
  thread_ = std::thread([this] { run(); });
}

ExecMonitor::~ExecMonitor() {
  if (thread_.joinable()) {
    (void)!::write(stop_[1], "x", 1);
    thread_.join();
  }
  for (int fd : {fd_, stop_[0], stop_[1]}) {
    if (fd >= 0) ::close(fd);
  }
}

std::vector<std::string> ExecMonitor::violations() const {
  std::lock_guard<std::mutex> lock(mu_);
  return violations_;
}

void ExecMonitor::run() {
  const std::string in_context = "0::/" + cgroup_parent_ + "/";
  alignas(struct fanotify_event_metadata) char buf[8192];
  for (;;) {
    struct pollfd p[2] = {{fd_, POLLIN, 0}, {stop_[0], POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[0].revents & POLLIN) {
      ssize_t n = ::read(fd_, buf, sizeof buf);
      auto* m = reinterpret_cast<struct fanotify_event_metadata*>(buf);
      for (; n > 0 && FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
        if (m->fd < 0) continue;
        const std::string proc = "/proc/" + std::to_string(m->pid);
        const std::string file = link_of("/proc/self/fd/" + std::to_string(m->fd));
        const FileId root = file_id(proc + "/root");
        std::string cgroup = slurp(proc + "/cgroup");
        size_t v2 = cgroup.find("0::/");
        std::string v2_line = v2 == std::string::npos ? "" : cgroup.substr(v2);
        v2_line = v2_line.substr(0, v2_line.find('\n'));
        ++events_;
        if (root != host_root_ || v2_line.rfind(in_context, 0) == 0) {
          std::lock_guard<std::mutex> lock(mu_);
          violations_.push_back("pid " + std::to_string(m->pid) + " (root " +
                                link_of(proc + "/root") + ", cgroup " + v2_line.substr(3) +
                                ") executed " + file);
        }
        struct fanotify_response r {};
        r.fd = m->fd;
        r.response = FAN_ALLOW;
        (void)!::write(fd_, &r, sizeof r);
        ::close(m->fd);
      }
    }
    if (p[1].revents & POLLIN) return;
  }
}

std::vector<pid_t> context_pids() {
  std::vector<pid_t> out;
  auto layout = vs::shim::CgroupLayout::discover();
  if (!layout || layout->v2_root.empty()) return out;
  const std::string parent = layout->v2_root + "/" + root_env().cgroup_parent;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(parent, ec)) {
    if (e.is_directory(ec)) collect_pids(e.path().string(), out);
  }
  return out;
}

std::vector<std::string> processes_running(const std::set<FileId>& ids) {
  std::vector<std::string> out;
  for (pid_t p : context_pids()) {
    const std::string exe = "/proc/" + std::to_string(p) + "/exe";
    if (ids.count(file_id(exe))) {
      out.push_back("pid " + std::to_string(p) + " exe " + link_of(exe));
    }
  }
  return out;
}

std::vector<std::string> processes_holding(const std::set<FileId>& ids) {
  std::vector<std::string> out;
  for (pid_t p : context_pids()) {
    const std::string dir = "/proc/" + std::to_string(p) + "/fd";
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      struct stat st {};
      if (::stat(e.path().c_str(), &st) < 0) continue;
      if (ids.count({st.st_dev, st.st_ino}) > 0) {
        out.push_back("pid " + std::to_string(p) + " fd " + e.path().filename().string() + " -> " +
                      link_of(e.path().string()));
      }
    }
  }
  return out;
}

std::vector<std::string> environments_containing(const std::vector<std::string>& needles) {
  std::vector<std::string> out;
  for (pid_t p : context_pids()) {
    std::string env = slurp("/proc/" + std::to_string(p) + "/environ");
    for (const auto& n : needles) {
      if (env.find(n) != std::string::npos) {
        out.push_back("pid " + std::to_string(p) + ": " + n);
      }
    }
  }
  return out;
}

}  // namespace vs::test
