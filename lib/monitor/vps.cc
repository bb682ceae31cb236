#include "lib/monitor/vps.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>

#include "kernel-shim/cgroup.h"
#include "lib/base/unique_fd.h"
#include "lib/monitor/stat_format.h"

namespace vs::monitor {
namespace {

constexpr size_t kXidWidth = 7;    // "CONTEXT"
constexpr size_t kNameWidth = 12;  // guest names are usually short; longer ones widen the row

bool blank(char c) { return c == ' ' || c == '\t'; }

std::optional<pid_t> parse_pid(std::string_view s) {
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), pid);
  if (ec != std::errc() || end != s.data() + s.size() || pid <= 0) return std::nullopt;
  return pid;
}

std::string columns(const ContextLabel& l) {
  std::string out = " ";
  if (l.xid.size() < kXidWidth) out.append(kXidWidth - l.xid.size(), ' ');
  out += l.xid + " " + l.name;
  if (l.name.size() < kNameWidth) out.append(kNameWidth - l.name.size(), ' ');
  return out;
}

}  // namespace

std::optional<PidColumn> find_pid_column(std::string_view header) {
  size_t word = 0;
  size_t i = 0;
  while (i < header.size()) {
    while (i < header.size() && blank(header[i])) ++i;
    if (i >= header.size()) break;
    size_t start = i;
    while (i < header.size() && !blank(header[i])) ++i;
    if (header.substr(start, i - start) == "PID") return PidColumn{word, i};
    ++word;
  }
  return std::nullopt;
}

std::optional<std::pair<pid_t, size_t>> pid_on_line(std::string_view line, const PidColumn& col) {
  // Right-aligned under the header.
  if (col.end <= line.size() && col.end > 0 && (col.end == line.size() || blank(line[col.end]))) {
    size_t start = col.end;
    while (start > 0 && line[start - 1] >= '0' && line[start - 1] <= '9') --start;
    if (start < col.end && (start == 0 || blank(line[start - 1]))) {
      if (auto pid = parse_pid(line.substr(start, col.end - start))) {
        return std::make_pair(*pid, col.end);
      }
    }
  }
  // Shifted: the word with the same index.
  size_t word = 0;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && blank(line[i])) ++i;
    if (i >= line.size()) break;
    size_t start = i;
    while (i < line.size() && !blank(line[i])) ++i;
    if (word == col.word) {
      if (auto pid = parse_pid(line.substr(start, i - start))) return std::make_pair(*pid, i);
      return std::nullopt;
    }
    ++word;
  }
  return std::nullopt;
}

std::string annotate_ps(std::string_view ps_out, const std::function<ContextLabel(pid_t)>& label,
                        bool* found) {
  *found = false;
  size_t nl = ps_out.find('\n');
  std::string_view header = ps_out.substr(0, nl);
  auto col = find_pid_column(header);
  if (!col) return std::string(ps_out);
  *found = true;
  std::string out;
  out.reserve(ps_out.size() + (ps_out.size() / 40 + 1) * (kXidWidth + kNameWidth + 2));
  out.append(header.substr(0, col->end));
  out += columns({"CONTEXT", "NAME"});
  out.append(header.substr(col->end));
  out += '\n';
  size_t pos = nl == std::string_view::npos ? ps_out.size() : nl + 1;
  while (pos < ps_out.size()) {
    size_t end = ps_out.find('\n', pos);
    if (end == std::string_view::npos) end = ps_out.size();
    std::string_view line = ps_out.substr(pos, end - pos);
    if (auto p = pid_on_line(line, *col)) {
      out.append(line.substr(0, p->second));
      out += columns(label(p->first));
      out.append(line.substr(p->second));
    } else {
      size_t at = std::min(col->end, line.size());
      out.append(line.substr(0, at));
      out += columns({"?", "?"});
      out.append(line.substr(at));
    }
    out += '\n';
    pos = end + 1;
  }
  return out;
}

Result<PsRun> run_ps(const std::vector<std::string>& args) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return sys_error("pipe2", "ps");
  UniqueFd rd(fds[0]);
  UniqueFd wr(fds[1]);
  std::vector<std::string> argv = {"ps"};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  const int wfd = wr.get();
  auto child = Child::spawn({}, [&]() -> int {
    if (::dup2(wfd, STDOUT_FILENO) < 0) return 127;
    ::execvp("ps", cargv.data());
    std::fprintf(stderr, "vps: exec `ps`: %m\n");
    return 127;
  });
  if (!child) return std::move(child).error().wrap("run ps");
  wr = UniqueFd();
  PsRun run;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(rd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("read", "output of ps");
    if (n == 0) break;
    run.out.append(buf, static_cast<size_t>(n));
  }
  auto st = child->wait();
  if (!st) return std::move(st).error().wrap("run ps");
  run.status = *st;
  return run;
}

Result<void> ContextMap::scan(const shim::ContextTable& table) {
  auto all = shim::scan_context_pids(table.layout(), table.config().cgroup.parent);
  if (!all) return std::move(all).error();
  for (const auto& c : *all) {
    for (pid_t p : c.pids) xid_of.emplace(p, c.xid);
  }
  return ok();
}

ContextLabel ContextMap::label(const shim::ContextTable& table, pid_t pid) {
  auto it = xid_of.find(pid);
  shim::Xid xid(shim::Xid::kHost);
  if (it != xid_of.end()) {
    xid = it->second;
  } else {
    // Not in a context when the cgroups were scanned (after ps ran): a host process, or
    // one that ended or moved meanwhile. One read of its cgroup file tells; host processes
    // are few next to the guests' on a busy host.
    auto x = table.xid_of(pid);
    if (!x) return {"?", "?"};
    xid = *x;
  }
  if (!xid.is_context()) return {"0", "MAIN"};
  auto n = names.find(xid.value());
  if (n == names.end()) {
    auto state = table.read_state(xid);
    n = names.emplace(xid.value(), state ? state->name : std::string()).first;
  }
  return {xid.str(), display_name(n->second)};
}

}  // namespace vs::monitor
