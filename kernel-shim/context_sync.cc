#include "kernel-shim/context_sync.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "lib/base/eintr.h"
#include "lib/base/parse.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace vs::shim {

namespace {

// A message: this header, then `len` bytes (the failure's text or the step's payload).
struct Header {
  uint32_t step = 0;
  int32_t err = 0;  ///< errno of a failure, 0 for "done"
  uint32_t len = 0;
};

constexpr size_t kMaxMessage = 1 << 20;

std::string step_str(Step s) { return "#" + std::to_string(static_cast<uint32_t>(s)); }

Result<void> send_message(int fd, Step step, int err, std::string_view body) {
  Header h;
  h.step = static_cast<uint32_t>(step);
  h.err = err;
  h.len = static_cast<uint32_t>(body.size());
  std::string msg(reinterpret_cast<const char*>(&h), sizeof h);
  msg.append(body);
  ssize_t n = retry_eintr([&] { return ::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL); });
  if (n < 0) return sys_error("send step " + step_str(step), "sync channel");
  if (static_cast<size_t>(n) != msg.size()) {
    return make_error(ErrorKind::kFailed, "send step " + step_str(step), "sync channel",
                      "short send", EPROTO);
  }
  return ok();
}

// One message, sized by a peek first (`flags`: MSG_DONTWAIT to not wait) (MSG_TRUNC gives its real length: a blind large buffer
// would cost the child a page fault per page). std::nullopt at EOF.
Result<std::optional<std::string>> recv_message(int fd, int flags = 0) {
  ssize_t size = retry_eintr([&] { return ::recv(fd, nullptr, 0, MSG_PEEK | MSG_TRUNC | flags); });
  if (size < 0) return sys_error("recv", "sync channel");
  if (size == 0) return std::optional<std::string>();
  if (static_cast<size_t>(size) > kMaxMessage) {
    return make_error(ErrorKind::kFailed, "recv", "sync channel", "message too long", EPROTO);
  }
  std::string msg(static_cast<size_t>(size), '\0');
  ssize_t got = retry_eintr([&] { return ::recv(fd, msg.data(), msg.size(), 0); });
  if (got < 0) return sys_error("recv", "sync channel");
  msg.resize(static_cast<size_t>(got));
  return std::optional<std::string>(std::move(msg));
}

}  // namespace

Result<std::pair<SyncChannel, SyncChannel>> SyncChannel::make() {
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
    return sys_error("socketpair", "sync channel");
  }
  return std::make_pair(SyncChannel(UniqueFd(sp[0])), SyncChannel(UniqueFd(sp[1])));
}

Result<void> SyncChannel::send(Step step, std::string_view payload) {
  return send_message(fd_.get(), step, 0, payload);
}

Result<void> SyncChannel::send_failure(Step step, int err, std::string_view what) {
  return send_message(fd_.get(), step, err != 0 ? err : EINVAL,
                      what.substr(0, std::min<size_t>(what.size(), 4096)));
}

Result<std::string> SyncChannel::expect(Step step, const Child* peer, size_t max) {
  auto msg = recv_message(fd_.get());
  if (!msg) return std::move(msg).error();
  if (!*msg) {
    std::string how = peer ? how_it_ended(*peer) : "";
    return make_error(ErrorKind::kFailed, "create context", "",
                      "context init died before step " + step_str(step) +
                          (how.empty() ? "" : " (" + how + ")"),
                      ECHILD);
  }
  const std::string& m = **msg;
  Header h;
  if (m.size() < sizeof h) {
    return make_error(ErrorKind::kFailed, "recv", "sync channel", "short message", EPROTO);
  }
  std::memcpy(&h, m.data(), sizeof h);
  if (h.len != m.size() - sizeof h) {
    return make_error(ErrorKind::kFailed, "recv", "sync channel", "bad length", EPROTO);
  }
  std::string body = m.substr(sizeof h);
  if (h.err != 0) return sys_error(body.empty() ? "step " + step_str(step) : body, "", h.err);
  if (h.step != static_cast<uint32_t>(step)) {
    return make_error(ErrorKind::kFailed, "create context", "",
                      "protocol error: got step #" + std::to_string(h.step) + " waiting for " +
                          step_str(step),
                      EPROTO);
  }
  if (max != 0 && body.size() > max) {
    return make_error(ErrorKind::kFailed, "recv", "sync channel", "payload too long", EPROTO);
  }
  return body;
}

std::optional<Error> SyncChannel::reported_failure() {
  auto msg = recv_message(fd_.get(), MSG_DONTWAIT);
  if (!msg || !*msg) return std::nullopt;
  Header h;
  const std::string& m = **msg;
  if (m.size() < sizeof h) return std::nullopt;
  std::memcpy(&h, m.data(), sizeof h);
  if (h.err == 0) return std::nullopt;
  return sys_error(m.substr(sizeof h), "", h.err);
}

Result<void> SyncChannel::expect_eof(Step step) {
  auto msg = recv_message(fd_.get());
  if (!msg) return std::move(msg).error();
  if (!*msg) return ok();
  Header h;
  const std::string& m = **msg;
  if (m.size() >= sizeof h) {
    std::memcpy(&h, m.data(), sizeof h);
    if (h.err != 0) return sys_error(m.substr(sizeof h), "", h.err);
  }
  return make_error(ErrorKind::kFailed, "create context", "",
                    "protocol error: a message where " + step_str(step) + " expected EOF",
                    EPROTO);
}

Result<std::pair<UniqueFd, UniqueFd>> make_report_pipe() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return sys_error("pipe2", "exec report");
  return std::make_pair(UniqueFd(p[0]), UniqueFd(p[1]));
}

std::string how_it_ended(const Child& child) {
  siginfo_t info{};
  if (child.pidfd() < 0 ||
      ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(child.pidfd()), &info,
               WEXITED | WNOHANG | WNOWAIT) < 0 ||
      info.si_pid == 0) {
    return "";
  }
  if (info.si_code == CLD_EXITED) return "exited with " + std::to_string(info.si_status);
  return "killed by " + signal_name(info.si_status);
}

Result<void> read_exec_report(int report_rd, const Child& child, bool token,
                              const std::string& what) {
  int value = 0;
  size_t got = 0;
  while (got < sizeof value) {
    ssize_t n = retry_eintr([&] {
      return ::read(report_rd, reinterpret_cast<char*>(&value) + got, sizeof value - got);
    });
    if (n < 0) return sys_error("read", "exec report");
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got == sizeof value) {
    if (value == 0 && token) return ok();
    if (value > 0 && value < 4096) return sys_error("exec", what, value);
    return make_error(ErrorKind::kFailed, "exec", what, "bad exec report", EPROTO);
  }
  if (got != 0) {
    return make_error(ErrorKind::kFailed, "exec", what, "short exec report", EPROTO);
  }
  if (!token) return ok();
  std::string how = how_it_ended(child);
  return make_error(ErrorKind::kFailed, "exec", what,
                    "the context's init ended before it ran the command" +
                        (how.empty() ? std::string() : " (" + how + ")"),
                    ECHILD);
}

}  // namespace vs::shim
