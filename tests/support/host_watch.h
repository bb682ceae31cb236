// What the escape tests watch on the host side (tests/integration/guest_escape_*):
// copies of the built tools (attacked instead of the build's own binaries), every exec of
// one of them (fanotify), and the processes of the running contexts.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace vs::test {

/// (st_dev, st_ino) of a file.
using FileId = std::pair<dev_t, ino_t>;

/// The file's id (following symlinks, so /proc/PID/exe gives the executable's); {0, 0} if
/// it cannot be stat'ed.
FileId file_id(const std::string& path);

/// The SHA-256 of each file ("" if it could not be read): `openssl dgst -sha256` (the CPU's
/// SHA instructions; the tools are tens of MB each), else sha256sum.
std::map<std::string, std::string> sha256_of(const std::vector<std::string>& paths);

/// Copies of built tools (BUILD/tools/NAME for each of `names`) in `dir`: tests run and
/// attack these, never the build's binaries. vserver finds vserver-build next to itself.
class ToolCopies {
 public:
  ToolCopies(const std::string& dir, const std::vector<std::string>& names);
  /// Every copy still has the size and modification time it was made with.
  [[nodiscard]] bool intact() const;
  /// Makes every copy again (after an attack changed one).
  void refresh();
  [[nodiscard]] const std::string& dir() const { return dir_; }
  [[nodiscard]] std::string path(const std::string& name) const { return dir_ + "/" + name; }
  [[nodiscard]] const std::vector<std::string>& files() const { return files_; }
  [[nodiscard]] std::set<FileId> ids() const;
  /// "DEV.INO,DEV.INO,...": vsattack's ALLOW list.
  [[nodiscard]] std::string ids_arg() const;
  [[nodiscard]] std::map<std::string, std::string> hashes() const { return sha256_of(files_); }

 private:
  std::string dir_;
  std::vector<std::string> names_, files_;
  std::map<std::string, std::pair<off_t, struct timespec>> made_;
};

/// Watches every exec of `files` (fanotify FAN_OPEN_EXEC_PERM, always allowed): an exec by
/// a process whose root is not the host's or that is in a context's cgroup (below
/// `cgroup_parent` in the v2 hierarchy) is a violation, e.g. a guest's `#!/proc/self/exe`
/// running a host tool inside it. The kernel blocks each exec until the watcher looked.
class ExecMonitor {
 public:
  ExecMonitor(const std::vector<std::string>& files, std::string cgroup_parent);
  ~ExecMonitor();
  ExecMonitor(const ExecMonitor&) = delete;
  ExecMonitor& operator=(const ExecMonitor&) = delete;

  /// Empty once it watches; else why it cannot.
  [[nodiscard]] const std::string& error() const { return error_; }
  /// One line per violation: "pid P (root ..., cgroup ...) executed FILE".
  [[nodiscard]] std::vector<std::string> violations() const;
  /// Execs seen of the watched files, by anyone (proves the monitor sees something).
  [[nodiscard]] int events() const { return events_.load(); }

 private:
  void run();
  int fd_ = -1;
  int stop_[2] = {-1, -1};
  std::string cgroup_parent_;
  FileId host_root_;
  std::string error_;
  std::thread thread_;
  std::atomic<int> events_{0};
  mutable std::mutex mu_;
  std::vector<std::string> violations_;
};

/// Host pids of every process in a context of this test run (the v2 cgroups below the
/// test's cgroup parent, sub-cgroups included).
std::vector<pid_t> context_pids();

/// For each pid of context_pids() whose /proc/PID/exe is one of `ids`: "pid P exe PATH".
std::vector<std::string> processes_running(const std::set<FileId>& ids);

/// For each pid of context_pids() holding an fd on one of `ids` (st_dev/st_ino of the
/// opened file: for a pty slave, the node in its devpts instance): "pid P fd N -> TARGET".
std::vector<std::string> processes_holding(const std::set<FileId>& ids);

/// For each pid of context_pids() whose environment contains one of `needles`:
/// "pid P: NEEDLE".
std::vector<std::string> environments_containing(const std::vector<std::string>& needles);

}  // namespace vs::test
