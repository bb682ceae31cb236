#include "kernel-shim/table_reader.h"

#include <fcntl.h>

#include <string>
#include <string_view>

#include "lib/base/fs_at.h"

namespace vs::shim {

namespace {

Error not_found(Xid xid) {
  return make_error(ErrorKind::kNotFound, "lookup", "context " + xid.str(), "no such context",
                    ENOENT);
}

}  // namespace

Result<int> TableReader::open_root(Root& root, const std::string& path) {
  if (!root.tried) {
    root.tried = true;
    root.fd = UniqueFd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root.fd) root.err = errno;
  }
  if (!root.fd) return sys_error("open", path, root.err);
  return root.fd.get();
}

Result<ContextState> TableReader::state(Xid xid) {
  auto dir = open_root(rundir_, config_.rundir);
  if (!dir) {
    if (dir.error().code == ENOENT) return not_found(xid);
    return std::move(dir).error();
  }
  // RUNDIR/XID/state (context_table.h), a regular file on the run dir's tmpfs.
  const std::string rel = xid.str() + "/state";
  auto len = read_into_at(*dir, rel, buf_, ReadEnd::kShort);
  if (!len) {
    if (len.error().code == ENOENT) return not_found(xid);
    Error e = std::move(len).error();
    e.subject = config_.rundir + "/" + rel;
    return e;
  }
  return ContextState::parse(std::string_view(buf_.data(), *len), config_.rundir + "/" + rel);
}

Result<Xid> TableReader::xid_of(pid_t pid) {
  const std::string subject = "pid " + std::to_string(pid);
  if (pid <= 0) return usage_error("pid", "`" + std::to_string(pid) + "` is not a process id");
  auto dir = open_root(proc_, config_.proc_root);
  if (!dir) return std::move(dir).error();
  const std::string rel = std::to_string(pid) + "/cgroup";
  auto len = read_into_at(*dir, rel, buf_, ReadEnd::kZero);
  if (!len) {
    int code = len.error().code;
    if (code == ENOENT || code == ESRCH) {
      return make_error(ErrorKind::kNotFound, "lookup", subject, "no such process", ESRCH);
    }
    return std::move(len).error().wrap("xid of " + subject);
  }
  auto xid = xid_from_cgroup_file(std::string_view(buf_.data(), *len), config_.cgroup.parent);
  if (!xid) {
    Error e = std::move(xid).error();
    if (e.op == "parse") e.subject = config_.proc_root + "/" + rel;
    return std::move(e).wrap("xid of " + subject);
  }
  return xid;
}

}  // namespace vs::shim
