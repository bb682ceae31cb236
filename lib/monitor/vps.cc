#include "lib/monitor/vps.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>

#include "lib/base/eintr.h"
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

Result<PsProcess> start_ps(const std::vector<std::string>& args) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return sys_error("pipe2", "ps");
  UniqueFd rd(fds[0]);
  UniqueFd wr(fds[1]);
  // Room for all of a large listing, so ps does not wait for us while we scan (best
  // effort: a smaller pipe only makes ps wait).
  (void)::fcntl(wr.get(), F_SETPIPE_SZ, 1 << 20);
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
  return PsProcess{std::move(*child), std::move(rd)};
}

Result<PsRun> finish_ps(PsProcess ps) {
  PsRun run;
  char buf[65536];
  for (;;) {
    ssize_t n = retry_eintr([&] { return ::read(ps.out.get(), buf, sizeof buf); });
    if (n < 0) return sys_error("read", "output of ps");
    if (n == 0) break;
    run.out.append(buf, static_cast<size_t>(n));
  }
  auto st = ps.child.wait();
  if (!st) return std::move(st).error().wrap("run ps");
  run.status = *st;
  return run;
}

Result<PsRun> run_ps(const std::vector<std::string>& args) {
  auto ps = start_ps(args);
  if (!ps) return std::move(ps).error();
  return finish_ps(std::move(*ps));
}

Result<void> ContextMap::scan() {
  auto scanned = shim::scan_context_pids(layout_, parent_, shim::PidScan::kOwn);
  if (!scanned) return std::move(scanned).error();
  for (const auto& c : *scanned) {
    for (pid_t pid : c.pids) xid_of_.insert_or_assign(pid, c.xid);
    // Its name now, while ps still runs, rather than when ps's lines are labelled.
    if (!c.pids.empty()) (void)name_of(c.xid);
    ++contexts_;
  }
  return ok();
}

std::optional<shim::Xid> ContextMap::scanned_xid(pid_t pid) const {
  auto it = xid_of_.find(pid);
  if (it == xid_of_.end()) return std::nullopt;
  return it->second;
}

const std::string& ContextMap::name_of(shim::Xid xid) {
  auto n = names_.find(xid.value());
  if (n != names_.end()) return n->second;
  std::string name;
  if (auto st = reader_.state(xid)) name = std::move(st->name);
  return names_.emplace(xid.value(), std::move(name)).first->second;
}

ContextLabel ContextMap::label(pid_t pid) {
  auto it = xid_of_.find(pid);
  shim::Xid xid(shim::Xid::kHost);
  if (it != xid_of_.end()) {
    xid = it->second;
  } else {
    // Not in a context's own cgroup.procs when they were read (after ps ran): a host
    // process, one in a sub-cgroup of a context, or one that ended or moved meanwhile. One
    // read of its cgroup file tells; host processes are few next to the guests'.
    auto x = reader_.xid_of(pid);
    if (!x) return {"?", "?"};
    xid = *x;
  }
  if (!xid.is_context()) return {"0", "MAIN"};
  return {xid.str(), display_name(name_of(xid))};
}

Result<VpsRun> run_vps(const shim::ShimConfig& config, const std::vector<std::string>& ps_args) {
  auto layout = shim::CgroupLayout::discover_v2(config.mountinfo);
  if (!layout) return std::move(layout).error();
  auto running = start_ps(ps_args);
  if (!running) return std::move(running).error();
  ContextMap map(config, std::move(*layout));
  auto scanned = map.scan();
  auto ps = finish_ps(std::move(*running));
  if (!ps) return std::move(ps).error();
  if (!scanned) return std::move(scanned).error();
  VpsRun run;
  run.status = ps->status;
  run.out = annotate_ps(
      ps->out, [&](pid_t pid) { return map.label(pid); }, &run.pid_column);
  return run;
}

}  // namespace vs::monitor
