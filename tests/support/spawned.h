// A process a test starts with stdio of its choice, extra environment and optionally a
// terminal as its controlling tty; waited for with a timeout, watched for a stop (a test
// hook's SIGSTOP), continued. Killed and reaped at scope exit if still there.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace vs::test {

struct SpawnSpec {
  std::vector<std::string> argv;
  int in = -1, out = -1, err = -1;  ///< the child's 0, 1, 2; -1: /dev/null
  std::vector<std::string> env;     ///< "KEY=VALUE" set on top of the inherited environment
  int ctty = -1;                    ///< a terminal: setsid() and TIOCSCTTY on it in the child
};

class Spawned {
 public:
  explicit Spawned(const SpawnSpec& spec) {
    pid_ = ::fork();
    if (pid_ != 0) return;
    // Above every fd we are given first, so that dup2 onto 0..2 cannot clobber one of them.
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    int src[3] = {spec.in, spec.out, spec.err};
    int high[3];
    for (int i = 0; i < 3; ++i)
      high[i] = ::fcntl(src[i] >= 0 ? src[i] : null, F_DUPFD_CLOEXEC, 100);
    int tty = spec.ctty >= 0 ? ::fcntl(spec.ctty, F_DUPFD_CLOEXEC, 100) : -1;
    if (tty >= 0 && (::setsid() < 0 || ::ioctl(tty, TIOCSCTTY, 0) < 0)) ::_exit(126);
    for (int i = 0; i < 3; ++i) {
      if (::dup2(high[i], i) < 0) ::_exit(126);
    }
    for (const auto& kv : spec.env) {
      size_t eq = kv.find('=');
      if (eq != std::string::npos) ::setenv(kv.substr(0, eq).c_str(), kv.c_str() + eq + 1, 1);
    }
    std::vector<char*> args;
    for (const auto& a : spec.argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ~Spawned() {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      ::kill(pid_, SIGCONT);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  Spawned(const Spawned&) = delete;
  Spawned& operator=(const Spawned&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }

  /// True once it ended (its status is kept for wait()).
  bool exited() {
    if (status_) return true;
    int st = 0;
    if (::waitpid(pid_, &st, WNOHANG) == pid_) status_ = decode(st);
    return status_.has_value();
  }

  /// Its exit code (128 + signal if killed); after `timeout_ms` it is killed and -1 returned.
  int wait(int timeout_ms) {
    for (int waited = 0; !exited(); waited += 10) {
      if (waited >= timeout_ms) {
        ::kill(pid_, SIGKILL);
        ::kill(pid_, SIGCONT);
        int st = 0;
        ::waitpid(pid_, &st, 0);
        status_ = -1;
        break;
      }
      sleep_ms(10);
    }
    return *status_;
  }

  /// Its state letter in /proc/PID/stat ('T' stopped), or 0 once it is gone.
  char state() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t paren = text.rfind(')');
    if (paren == std::string::npos || paren + 2 >= text.size()) return 0;
    return text[paren + 2];
  }

  /// Waits until it stopped itself (state T); false if it ended or `timeout_ms` passed.
  bool stopped_within(int timeout_ms) {
    for (int waited = 0; waited < timeout_ms; waited += 10) {
      if (state() == 'T') return true;
      if (exited()) return false;
      sleep_ms(10);
    }
    return false;
  }

  static void sleep_ms(int ms) {
    struct timespec ts {
      ms / 1000, (ms % 1000) * 1000000L
    };
    ::nanosleep(&ts, nullptr);
  }

 private:
  static int decode(int st) {
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return -1;
  }
  pid_t pid_ = -1;
  std::optional<int> status_;
};

/// A pipe (both ends close-on-exec) read to its end by drain().
struct Pipe {
  int rd = -1, wr = -1;
  Pipe() {
    int p[2];
    if (::pipe2(p, O_CLOEXEC) == 0) {
      rd = p[0];
      wr = p[1];
    }
  }
  ~Pipe() {
    close_write();
    if (rd >= 0) ::close(rd);
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  void close_write() {
    if (wr >= 0) ::close(wr);
    wr = -1;
  }
  /// Fills the pipe to the brim: the next write of whoever holds the write end blocks until
  /// drain(). The fill itself is not part of what drain() returns.
  void fill() {
    int fl = ::fcntl(wr, F_GETFL);
    ::fcntl(wr, F_SETFL, fl | O_NONBLOCK);
    std::string block(4096, '#');
    while (::write(wr, block.data(), block.size()) > 0) {
    }
    // The open file description is shared with the child: it must block, not fail.
    ::fcntl(wr, F_SETFL, fl);
    filled_ = true;
  }
  /// Everything up to EOF (or `timeout_ms`), without the fill.
  std::string drain(int timeout_ms = 20000) {
    close_write();
    std::string out;
    int fl = ::fcntl(rd, F_GETFL);
    ::fcntl(rd, F_SETFL, fl | O_NONBLOCK);
    char buf[4096];
    for (int waited = 0; waited < timeout_ms;) {
      ssize_t n = ::read(rd, buf, sizeof buf);
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) break;
      Spawned::sleep_ms(5);
      waited += 5;
    }
    if (filled_) {
      size_t first = out.find_first_not_of('#');
      out = first == std::string::npos ? std::string() : out.substr(first);
    }
    return out;
  }

 private:
  bool filled_ = false;
};

}  // namespace vs::test
