#include "lib/monitor/vps.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <memory>

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
    ssize_t n = ::read(ps.out.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
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

namespace {

// The parent is a relative path below the cgroup2 root, as the shim takes it.
Result<void> check_parent(const std::string& parent) {
  auto bad = [&](const char* why) {
    return usage_error("cgroup parent",
                       "`" + parent + "` " + why + " (expected a relative path like `vservers`)");
  };
  if (parent.empty()) return bad("is empty");
  if (parent.front() == '/') return bad("is absolute");
  size_t pos = 0;
  while (pos <= parent.size()) {
    size_t slash = std::min(parent.find('/', pos), parent.size());
    std::string_view part = std::string_view(parent).substr(pos, slash - pos);
    if (part.empty()) return bad("has an empty component");
    if (part == "." || part == "..") return bad("has a `.` or `..` component");
    pos = slash + 1;
  }
  return ok();
}

// Appends the pids of a cgroup.procs text ("PID\n" lines) to `out`.
Result<void> parse_procs(std::string_view text, shim::Xid xid,
                         std::unordered_map<pid_t, shim::Xid>& out) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.empty()) continue;
    auto pid = parse_pid(line);
    if (!pid) {
      return make_error(ErrorKind::kFailed, "parse", "cgroup.procs of context " + xid.str(),
                        "bad line `" + std::string(line) + "` (expected one pid per line)",
                        EINVAL);
    }
    out.insert_or_assign(*pid, xid);
  }
  return ok();
}

enum class FileKind { kSeq, kRegular };

// Reads all of `fd` into `buf` (grown as needed, never shrunk, so one buffer serves every
// file); the length read, or nullopt with errno set. cgroup.procs is a seq_file: a read
// returns at most a page or so, and only a read of 0 bytes means its end. A regular file (a
// state file on the run dir's tmpfs) ends where a read returns less than asked: one read
// instead of two.
std::optional<size_t> read_all(int fd, std::vector<char>& buf, FileKind kind) {
  if (buf.size() < 16384) buf.resize(16384);
  size_t len = 0;
  for (;;) {
    if (buf.size() - len < 4096) buf.resize(buf.size() * 2);
    const size_t want = buf.size() - len;
    ssize_t n = ::read(fd, buf.data() + len, want);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    len += static_cast<size_t>(n);
    if (kind == FileKind::kRegular && static_cast<size_t>(n) < want) break;
  }
  return len;
}

struct CloseDir {
  void operator()(DIR* d) const { ::closedir(d); }
};

}  // namespace

Result<std::string> find_cgroup2_root(const std::string& mountinfo) {
  for (const char* dir : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
    struct statfs fs {};
    if (::statfs(dir, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC) return std::string(dir);
  }
  auto layout = shim::CgroupLayout::discover(mountinfo);
  if (!layout) return std::move(layout).error();
  if (layout->v2_root.empty()) {
    return make_error(ErrorKind::kFailed, "lookup", "cgroup2", "no cgroup2 hierarchy is mounted",
                      ENOENT);
  }
  return std::move(layout->v2_root);
}

Result<void> ContextMap::scan() {
  if (auto r = check_parent(roots_.parent); !r) return std::move(r).error();
  const std::string top = roots_.cgroup2_root + "/" + roots_.parent;
  UniqueFd fd(::open(top.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) return ok();  // no context was ever made
    return sys_error("open", top);
  }
  std::unique_ptr<DIR, CloseDir> dir(::fdopendir(fd.get()));
  if (!dir) return sys_error("opendir", top);
  (void)fd.release();  // the DIR owns it now
  std::vector<char> buf;
  errno = 0;
  while (struct dirent* e = ::readdir(dir.get())) {
    if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) continue;
    // Only the names the shim makes are contexts (canonical decimal 2..65535).
    auto xid = shim::Xid::parse(e->d_name);
    if (!xid || !xid->is_context()) continue;
    const std::string rel = std::string(e->d_name) + "/cgroup.procs";
    UniqueFd procs(::openat(::dirfd(dir.get()), rel.c_str(), O_RDONLY | O_CLOEXEC));
    if (!procs) {
      if (errno == ENOENT || errno == ENOTDIR) continue;  // removed meanwhile, or not a dir
      return sys_error("open", top + "/" + rel);
    }
    auto len = read_all(procs.get(), buf, FileKind::kSeq);
    if (!len) {
      if (errno == ENODEV || errno == ENOENT) continue;  // removed while we read
      return sys_error("read", top + "/" + rel);
    }
    if (auto r = parse_procs(std::string_view(buf.data(), *len), *xid, xid_of_); !r) {
      return std::move(r).error();
    }
    // Its name now, while ps still runs, rather than when ps's lines are labelled.
    if (*len > 0) (void)name_of(*xid);
    ++contexts_;
    errno = 0;
  }
  if (errno != 0) return sys_error("readdir", top);
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
  if (!rundir_tried_) {
    rundir_tried_ = true;
    rundir_fd_ = UniqueFd(::open(roots_.rundir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  if (rundir_fd_) {
    const std::string rel = xid.str() + "/state";
    UniqueFd fd(::openat(rundir_fd_.get(), rel.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    std::optional<size_t> len;
    if (fd) len = read_all(fd.get(), buf_, FileKind::kRegular);
    if (len) {
      std::string_view text(buf_.data(), *len);
      if (auto st = shim::ContextState::parse(text, roots_.rundir + "/" + rel)) {
        name = std::move(st->name);
      }
    }
  }
  return names_.emplace(xid.value(), std::move(name)).first->second;
}

std::optional<shim::Xid> ContextMap::xid_from_proc(pid_t pid) {
  if (!proc_tried_) {
    proc_tried_ = true;
    proc_fd_ = UniqueFd(::open(roots_.proc_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  if (!proc_fd_) return std::nullopt;
  const std::string rel = std::to_string(pid) + "/cgroup";
  UniqueFd fd(::openat(proc_fd_.get(), rel.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  auto len = read_all(fd.get(), buf_, FileKind::kSeq);
  if (!len) return std::nullopt;
  auto x = shim::xid_from_cgroup_file(std::string_view(buf_.data(), *len), roots_.parent);
  if (!x) return std::nullopt;
  return *x;
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
    auto x = xid_from_proc(pid);
    if (!x) return {"?", "?"};
    xid = *x;
  }
  if (!xid.is_context()) return {"0", "MAIN"};
  return {xid.str(), display_name(name_of(xid))};
}

}  // namespace vs::monitor
