// cgroup v2 specifics: cgroup.events, cgroup.freeze and cgroup.kill.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "kernel-shim/cgroup_backend.h"
#include "lib/base/eintr.h"
#include "lib/base/fs_at.h"

namespace vs::shim::cgroup_detail {

namespace {

using Clock = std::chrono::steady_clock;

// poll() may miss a change that happened between a read and the poll; re-read this often.
constexpr std::chrono::milliseconds kRecheckPeriod{50};

// Reads the whole file again from the start (kernfs regenerates it on each read from 0).
Result<std::string> reread(int fd, const std::string& path) {
  if (::lseek(fd, 0, SEEK_SET) < 0) return sys_error("lseek", path);
  std::string out;
  char buf[512];
  for (;;) {
    ssize_t n = retry_eintr([&] { return ::read(fd, buf, sizeof buf); });
    if (n < 0) return sys_error("read", path);
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > 64 * 1024) {
      return make_error(ErrorKind::kFailed, "read", path, "unexpectedly large", EFBIG);
    }
  }
}

Error missing_key(const std::string& path, std::string_view key) {
  return make_error(ErrorKind::kFailed, "parse", path, "no `" + std::string(key) + "` line",
                    EINVAL);
}

}  // namespace

std::optional<std::string> events_value(std::string_view text, std::string_view key) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    size_t space = line.find(' ');
    if (space == std::string_view::npos) continue;
    if (line.substr(0, space) == key) return std::string(line.substr(space + 1));
  }
  return std::nullopt;
}

Result<bool> v2_populated(const std::string& dir) {
  const std::string path = dir + "/cgroup.events";
  auto text = read_file(path);
  if (!text) return std::move(text).error();
  auto value = events_value(*text, "populated");
  if (!value) return missing_key(path, "populated");
  if (*value != "0" && *value != "1") {
    return make_error(ErrorKind::kFailed, "parse", path, "populated is `" + *value + "`", EINVAL);
  }
  return *value == "1";
}

Result<void> v2_wait_events(const std::string& dir, std::string_view key, std::string_view want,
                            std::chrono::milliseconds timeout, const std::string& what) {
  const std::string path = dir + "/cgroup.events";
  auto fd = open_path(path, O_RDONLY);
  if (!fd) return std::move(fd).error();
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    // Reading re-arms the notification: a change after this read wakes the poll below.
    auto text = reread(fd->get(), path);
    if (!text) return std::move(text).error();
    auto value = events_value(*text, key);
    if (!value) return missing_key(path, key);
    if (*value == want) return ok();
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      return make_error(ErrorKind::kFailed, "wait", path,
                        what + " (`" + std::string(key) + "` is still " + *value + " after " +
                            std::to_string(timeout.count()) + " ms)",
                        ETIMEDOUT);
    }
    struct pollfd p = {fd->get(), POLLPRI, 0};
    int wait_ms = static_cast<int>(std::min(left, kRecheckPeriod).count());
    // EINTR rounds again like a timeout: re-read, then wait for what is left.
    if (::poll(&p, 1, wait_ms) < 0 && errno != EINTR) return sys_error("poll", path);
  }
}

Result<void> v2_freeze(const std::string& dir, std::chrono::milliseconds timeout) {
  if (auto r = write_file(dir + "/cgroup.freeze", "1"); !r) return r;
  // The v2 freezer is asynchronous too: "frozen 1" appears once every task stopped.
  return v2_wait_events(dir, "frozen", "1", timeout, "the cgroup did not freeze");
}

Result<void> v2_thaw(const std::string& dir) { return write_file(dir + "/cgroup.freeze", "0"); }

Result<void> v2_cgroup_kill(const std::string& dir) {
  return write_file(dir + "/cgroup.kill", "1");
}

}  // namespace vs::shim::cgroup_detail
