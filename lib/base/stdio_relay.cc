#include "lib/base/stdio_relay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "lib/base/eintr.h"
#include "lib/base/fs_at.h"
#include "lib/base/scope_exit.h"

namespace vs {

namespace {

Result<std::pair<UniqueFd, UniqueFd>> make_pipe() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return sys_error("pipe2", "stdio relay");
  return std::make_pair(UniqueFd(p[0]), UniqueFd(p[1]));
}

void set_nonblocking(int fd) {
  int fl = ::fcntl(fd, F_GETFL);
  if (fl >= 0) ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

void copy_winsize(int from, int to) {
  struct winsize ws {};
  if (::ioctl(from, TIOCGWINSZ, &ws) == 0) ::ioctl(to, TIOCSWINSZ, &ws);
}

// One direction of the copy. `from` is read when the buffer is empty; the buffer is written
// to `to` when it can take it (a full pipe of a command that does not read must never stop
// the relay: the caller's stdin goes in through a non-blocking pipe end).
struct Pump {
  int from = -1;
  int to = -1;
  std::string buf;
  size_t off = 0;
  bool eof = false;  ///< `from` ended: nothing more to read

  [[nodiscard]] bool pending() const { return off < buf.size(); }
  [[nodiscard]] bool wants_read() const { return !eof && !pending() && from >= 0 && to >= 0; }
  [[nodiscard]] bool wants_write() const { return pending() && to >= 0; }

  // Reads once; false at EOF or on an error that ends this direction.
  bool fill() {
    char chunk[65536];
    ssize_t n = ::read(from, chunk, sizeof chunk);
    if (n > 0) {
      buf.assign(chunk, static_cast<size_t>(n));
      off = 0;
      return true;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
    eof = true;  // EOF, or EIO of a pty whose slaves are all closed
    return false;
  }
  // Writes what it can; false when `to` is gone (EPIPE): this direction ends.
  bool flush() {
    while (pending()) {
      ssize_t n = retry_eintr([&] { return ::write(to, buf.data() + off, buf.size() - off); });
      if (n > 0) {
        off += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EAGAIN) return true;
      buf.clear();
      off = 0;
      to = -1;
      return false;
    }
    buf.clear();
    off = 0;
    return true;
  }
};

}  // namespace

Result<StdioRelay> StdioRelay::pipes(Ends ends) {
  StdioRelay r;
  r.ends_ = ends;
  auto in = make_pipe();
  if (!in) return std::move(in).error();
  auto out = make_pipe();
  if (!out) return std::move(out).error();
  auto err = make_pipe();
  if (!err) return std::move(err).error();
  r.in_rd_ = std::move(in->first);
  r.in_wr_ = std::move(in->second);
  r.out_rd_ = std::move(out->first);
  r.out_wr_ = std::move(out->second);
  r.err_rd_ = std::move(err->first);
  r.err_wr_ = std::move(err->second);
  set_nonblocking(r.in_wr_.get());
  if (ends.in < 0) r.in_wr_.reset();  // nothing to give: EOF at once
  return r;
}

Result<StdioRelay> StdioRelay::pty(UniqueFd master, UniqueFd slave) {
  StdioRelay r;
  r.tty_ = true;
  r.master_ = std::move(master);
  r.slave_ = std::move(slave);
  if (!::isatty(STDERR_FILENO)) {
    auto err = make_pipe();
    if (!err) return std::move(err).error();
    r.err_rd_ = std::move(err->first);
    r.err_wr_ = std::move(err->second);
  }
  copy_winsize(STDIN_FILENO, r.slave_.get());
  return r;
}

std::array<int, 3> StdioRelay::child_fds() const {
  if (tty_) {
    return {slave_.get(), slave_.get(), err_wr_ ? err_wr_.get() : slave_.get()};
  }
  return {in_rd_.get(), out_wr_.get(), err_wr_.get()};
}

void StdioRelay::close_child_ends() {
  in_rd_.reset();
  out_wr_.reset();
  err_wr_.reset();
  slave_.reset();
}

Result<ExitStatus> StdioRelay::run(Child& child,
                                   std::optional<std::chrono::steady_clock::time_point> deadline) {
  // The caller's terminal, if stdin is one and we relay a pty: raw, restored at the end.
  struct termios saved {};
  const bool raw = tty_ && ::tcgetattr(STDIN_FILENO, &saved) == 0;
  if (raw) {
    struct termios t = saved;
    ::cfmakeraw(&t);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &t);
  }
  ScopeExit restore_tty([&] {
    if (raw) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  });
  // A reader of ours that went away (`| head`) ends that direction, not this process.
  struct sigaction ign {}, old_pipe {};
  ign.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ign, &old_pipe);
  ScopeExit restore_pipe([&] { ::sigaction(SIGPIPE, &old_pipe, nullptr); });
  sigset_t set, old_mask;
  ::sigemptyset(&set);
  for (int s : {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGWINCH}) ::sigaddset(&set, s);
  ::sigprocmask(SIG_BLOCK, &set, &old_mask);
  ScopeExit unblock([&] { ::sigprocmask(SIG_SETMASK, &old_mask, nullptr); });
  UniqueFd sfd(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sfd) return sys_error("signalfd", "stdio relay");

  Pump in, out, err;
  in.from = tty_ ? STDIN_FILENO : ends_.in;
  in.to = tty_ ? master_.get() : in_wr_.get();
  if (in.from < 0 || in.to < 0) in.eof = true;
  out.from = tty_ ? master_.get() : out_rd_.get();
  out.to = tty_ ? STDOUT_FILENO : ends_.out;
  if (err_rd_) {
    err.from = err_rd_.get();
    err.to = tty_ ? STDERR_FILENO : ends_.err;
  } else {
    err.eof = true;
  }
  if (tty_) set_nonblocking(master_.get());
  bool stdin_done = false;  // the command has been told the end of its input
  auto end_input = [&] {
    if (stdin_done) return;
    stdin_done = true;
    if (tty_) {
      // A pty has no half-close: the terminal's end-of-file character, as typed.
      char eof = raw && saved.c_cc[VEOF] ? static_cast<char>(saved.c_cc[VEOF]) : '\x04';
      (void)!::write(master_.get(), &eof, 1);
    } else {
      in_wr_.reset();
    }
  };

  for (;;) {
    if (in.eof && !in.pending()) end_input();
    struct pollfd fds[6];
    int n = 0;
    auto add = [&](int fd, short events) {
      fds[n] = {fd, events, 0};
      return n++;
    };
    const int i_child = add(child.pidfd(), POLLIN);
    const int i_sig = add(sfd.get(), POLLIN);
    const int i_in = in.wants_read() && !stdin_done ? add(in.from, POLLIN) : -1;
    const int i_inw = in.wants_write() ? add(in.to, POLLOUT) : -1;
    const int i_out = out.wants_read() ? add(out.from, POLLIN) : -1;
    const int i_err = err.wants_read() ? add(err.from, POLLIN) : -1;
    int timeout = -1;
    if (deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          *deadline - std::chrono::steady_clock::now());
      timeout = static_cast<int>(std::max<int64_t>(0, left.count()));
    }
    int ready = ::poll(fds, static_cast<nfds_t>(n), timeout);
    if (ready < 0) {
      if (errno == EINTR) continue;  // not retry_eintr: the timeout is recomputed above
      return sys_error("poll", "stdio relay");
    }
    if (ready == 0 && deadline) {
      (void)child.signal(SIGKILL);
      deadline.reset();
      continue;
    }
    if (fds[i_sig].revents & POLLIN) {
      struct signalfd_siginfo si {};
      while (::read(sfd.get(), &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        if (si.ssi_signo == SIGWINCH) {
          if (tty_) copy_winsize(STDIN_FILENO, master_.get());
        } else {
          (void)child.signal(static_cast<int>(si.ssi_signo));
        }
      }
    }
    if (i_in >= 0 && fds[i_in].revents) {
      if (fds[i_in].revents & POLLNVAL) {
        in.eof = true;  // no stdin at all: an empty one
      } else if (in.fill() && in.pending()) {
        if (!in.flush()) in.eof = true;
      }
    }
    if (i_inw >= 0 && fds[i_inw].revents) {
      if (!in.flush()) in.eof = true;  // the command closed its stdin
    }
    for (auto [idx, pump] : {std::pair<int, Pump*>{i_out, &out}, {i_err, &err}}) {
      if (idx < 0 || !fds[idx].revents) continue;
      if (pump->fill() && pump->pending()) {
        if (tap_) tap_(std::string_view(pump->buf).substr(pump->off));
        // Our own stdout or stderr: written whole, blocking (the caller's sink sets the pace).
        if (!write_all(pump->to, std::string_view(pump->buf).substr(pump->off))) pump->to = -1;
        pump->buf.clear();
        pump->off = 0;
      }
    }
    if (fds[i_child].revents & POLLIN) break;
  }
  // The command ended: what it wrote is in the pipe (or pty) already; take it without waiting
  // for processes it may have left holding the other end.
  for (Pump* p : {&out, &err}) {
    if (p->from < 0 || p->eof) continue;
    set_nonblocking(p->from);
    while (p->to >= 0 && p->fill() && p->pending()) {
      if (tap_) tap_(std::string_view(p->buf).substr(p->off));
      if (!write_all(p->to, std::string_view(p->buf).substr(p->off))) break;
      p->buf.clear();
      p->off = 0;
    }
  }
  return child.wait();
}

}  // namespace vs
