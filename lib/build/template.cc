// build_template(): a tarball extracted by libarchive (SECURITY.md E41) in a process that
// holds no host privileges and that nothing of the tree can turn into code (issue 18).
//
// The extraction is the body (CreateSpec::body) of a sealed context of its own: new mount,
// pid, uts, ipc, network and cgroup namespaces; a capability bounding set of CHOWN,
// DAC_OVERRIDE, FOWNER, FSETID and SETFCAP (and MKNOD with keep_devices), nothing else; the
// default seccomp profile. Its root is a scratch root (scratch_root.h) that holds only
// read-only binds of the host's /usr and lib dirs, and the staging tree bound read-write at
// /target, where the body extracts with relative names. Whatever glibc loads lazily while
// libarchive works (the gconv modules iconv loads for a pax entry's UTF-8 name, locale data)
// therefore comes from the host's /usr, read-only: a template's own
// usr/lib/x86_64-linux-gnu/gconv is only data at /target/usr/... . (The chroot into the
// half-built tree that this replaces let such a template's shared object run as full root.)
//
// Each entry is checked first (EntryChecker: no absolute name, no `..`, nothing through a
// symlink of the archive, hardlink targets the same) and refused with its name; libarchive's
// SECURE_* flags are a second line; the mount namespace is the wall: nothing writable of the
// host is in it but /target. Owners are restored numerically (no name lookup), then modes
// (setuid bits), then extended attributes (security.capability last, as libarchive does for
// root). trusted.* attributes need CAP_SYS_ADMIN: they are left out, counted in a warning,
// as is any other metadata libarchive could not restore.
//
//   build_template (host, the creator)                 body (sealed context)
//   ----------------------------------                 ---------------------
//   staging, scratch root, pipe
//   create_and_run(spec) ----------------------------> child_setup: enter the scratch root;
//                                                      confined; chdir /target
//   spec.wait: read records <------------------------- kProgress (every 256 entries)
//                           <------------------------- kWarning (0..n), at the end
//                           <------------------------- kDone | kError; exit
//   EOF: wait for the body, commit
//
// The records are read while create_and_run() waits for the body (CreateSpec::wait): a full
// pipe would stop it. The body ends with this process (the shim keeps a body's
// PR_SET_PDEATHSIG; the body checks the pipe once more). The records come from a process that
// parsed a hostile archive: they are read with bounded sizes and believed only as counts and
// message text.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kernel-shim/caps.h"
#include "kernel-shim/context.h"
#include "lib/base/child.h"
#include "lib/base/eintr.h"
#include "lib/base/fs_at.h"
#include "lib/build/build.h"
#include "lib/build/entry_check.h"
#include "lib/build/scratch_root.h"
#include "lib/build/staging.h"

namespace vs {
namespace {

// --- records from the body (and the creator) to build_template ---

enum class Rec : uint32_t { kProgress = 1, kWarning = 2, kDone = 3, kError = 4 };
struct RecHeader {
  Rec type;
  int32_t kind;      // ErrorKind (kError)
  int32_t code;      // errno (kError)
  uint32_t strings;  // strings that follow, each a uint32_t length and its bytes
  uint64_t files, bytes, devices;
};
constexpr uint32_t kMaxStrings = 16;
constexpr uint32_t kMaxString = 1 << 16;

void put_string(std::string& buf, std::string_view s) {
  uint32_t n = static_cast<uint32_t>(std::min<size_t>(s.size(), kMaxString));
  buf.append(reinterpret_cast<const char*>(&n), sizeof n);
  buf.append(s.data(), n);
}

// kProgress and kDone: the counts; kWarning: one string; kError: op, subject, detail and
// the error's context.
// False when the record could not be written whole: build_template is gone.
[[nodiscard]] bool send(int fd, Rec type, const BuildResult& r, const Error* e = nullptr,
          std::string_view warning = {}) {
  RecHeader h{};
  h.type = type;
  h.files = r.files;
  h.bytes = r.bytes;
  h.devices = r.skipped_devices;
  std::string strings;
  if (e) {
    h.kind = static_cast<int32_t>(e->kind);
    h.code = e->code;
    for (const std::string* s : {&e->op, &e->subject, &e->detail}) put_string(strings, *s);
    h.strings = 3;
    for (const auto& c : e->context) {
      if (h.strings == kMaxStrings) break;
      put_string(strings, c);
      ++h.strings;
    }
  } else if (type == Rec::kWarning) {
    put_string(strings, warning);
    h.strings = 1;
  }
  std::string buf(reinterpret_cast<const char*>(&h), sizeof h);
  return write_all(fd, buf + strings);
}

bool read_all(int fd, void* p, size_t n) {
  char* c = static_cast<char*>(p);
  while (n > 0) {
    ssize_t r = retry_eintr([&] { return ::read(fd, c, n); });
    if (r <= 0) return false;
    c += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

// One record's strings; false on EOF or a record out of bounds.
bool read_strings(int fd, const RecHeader& h, std::vector<std::string>& out) {
  if (h.strings > kMaxStrings) return false;
  for (uint32_t i = 0; i < h.strings; ++i) {
    uint32_t n = 0;
    if (!read_all(fd, &n, sizeof n) || n > kMaxString) return false;
    std::string s(n, '\0');
    if (!read_all(fd, s.data(), n)) return false;
    out.push_back(std::move(s));
  }
  return true;
}

Error error_from(const RecHeader& h, std::vector<std::string> s) {
  s.resize(std::max<size_t>(s.size(), 3));
  ErrorKind kind = ErrorKind::kFailed;
  if (h.kind >= static_cast<int32_t>(ErrorKind::kFailed) &&
      h.kind <= static_cast<int32_t>(ErrorKind::kWrongState)) {
    kind = static_cast<ErrorKind>(h.kind);
  }
  Error e = make_error(kind, std::move(s[0]), std::move(s[1]), std::move(s[2]), h.code);
  e.context.assign(std::make_move_iterator(s.begin() + 3), std::make_move_iterator(s.end()));
  return e;
}

// Whether build_template's end of the pipe is closed (its process is gone): a writer that
// set PR_SET_PDEATHSIG asks, since its parent may have died just before.
bool reader_gone(int report) {
  struct pollfd p = {report, POLLOUT, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLERR) != 0;
}

// --- the extraction: the body, in the sealed context, cwd /target ---

Error archive_error(struct archive* a, const char* op, std::string subject) {
  int code = archive_errno(a);
  const char* msg = archive_error_string(a);
  return make_error(ErrorKind::kFailed, op, std::move(subject), msg ? msg : "libarchive error",
                    code > 0 ? code : EIO);
}

std::string warning_text(struct archive* a) {
  const char* msg = archive_error_string(a);
  return msg ? msg : "libarchive warning";
}

constexpr int kExtractFlags =
    ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_ACL |
    ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
    ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS;

struct ArchivePair {
  struct archive* in = archive_read_new();
  struct archive* out = archive_write_disk_new();
  ~ArchivePair() {
    archive_read_free(in);
    archive_write_free(out);
  }
};

build::EntryChecker::Kind kind_of(struct archive_entry* e) {
  if (archive_entry_hardlink(e)) return build::EntryChecker::Kind::kHardlink;
  switch (archive_entry_filetype(e)) {
    case AE_IFREG: return build::EntryChecker::Kind::kFile;
    case AE_IFDIR: return build::EntryChecker::Kind::kDir;
    case AE_IFLNK: return build::EntryChecker::Kind::kSymlink;
    default: return build::EntryChecker::Kind::kOther;
  }
}

// What the extraction could not restore, for the warnings.
struct Shortfall {
  uint64_t count = 0;
  std::string first;  // "`entry` (what)"
  void add(const std::string& entry, const std::string& what) {
    if (count++ == 0) first = "`" + entry + "` (" + what + ")";
  }
};

// trusted.* attributes need CAP_SYS_ADMIN, which the extraction does not hold: they are
// taken off the entry (libarchive itself skips the XFS ACL ones, restored as ACLs).
// Returns the first name taken off, or "".
std::string drop_trusted_xattrs(struct archive_entry* e) {
  std::vector<std::pair<std::string, std::string>> keep;
  std::string first;
  archive_entry_xattr_reset(e);
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK && name) {
    std::string_view n(name);
    if (n.rfind("trusted.", 0) == 0 && n.rfind("trusted.SGI_ACL_", 0) != 0) {
      if (first.empty()) first = n;
      continue;
    }
    keep.emplace_back(n, std::string(static_cast<const char*>(value), size));
  }
  if (first.empty()) return first;
  archive_entry_xattr_clear(e);
  for (const auto& [k, v] : keep) archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
  return first;
}

Result<void> extract(int tar_fd, const BuildOptions& opts, BuildResult& result, int report,
                     Shortfall& trusted, Shortfall& other) {
  ArchivePair ap;
  archive_read_support_filter_all(ap.in);
  archive_read_support_format_tar(ap.in);
  archive_write_disk_set_options(ap.out, kExtractFlags);
  if (archive_read_open_fd(ap.in, tar_fd, 1 << 16) != ARCHIVE_OK) {
    return archive_error(ap.in, "open archive", "");
  }
  build::EntryChecker checker;
  for (;;) {
    struct archive_entry* entry = nullptr;
    int r = archive_read_next_header(ap.in, &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return archive_error(ap.in, "read archive", "");
    std::string name = archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "";
    const char* hl = archive_entry_hardlink(entry);
    auto path = checker.check(name, kind_of(entry), hl ? hl : "");
    if (!path) return std::move(path).error();
    auto type = archive_entry_filetype(entry);
    if (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFSOCK) {
      if (type == AE_IFSOCK || !opts.keep_devices) {
        ++result.skipped_devices;
        continue;
      }
    }
    archive_entry_copy_pathname(entry, path->empty() ? "." : path->c_str());
    if (hl) archive_entry_copy_hardlink(entry, build::normalize_entry(hl)->c_str());
    if (++result.files > opts.max_files) {
      return make_error(ErrorKind::kFailed, "extract", name,
                        "more than " + std::to_string(opts.max_files) + " entries", EFBIG);
    }
    if (std::string dropped = drop_trusted_xattrs(entry); !dropped.empty()) {
      trusted.add(name, dropped);
    }
    r = archive_write_header(ap.out, entry);
    if (r < ARCHIVE_WARN) return archive_error(ap.out, "extract", name);
    if (r == ARCHIVE_WARN) other.add(name, warning_text(ap.out));
    const void* buf = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    for (;;) {
      r = archive_read_data_block(ap.in, &buf, &size, &offset);
      if (r == ARCHIVE_EOF) break;
      if (r < ARCHIVE_WARN) return archive_error(ap.in, "read", name);
      result.bytes += size;
      if (result.bytes > opts.max_bytes) {
        return make_error(ErrorKind::kFailed, "extract", name,
                          "more than " + std::to_string(opts.max_bytes) + " bytes", EFBIG);
      }
      if (archive_write_data_block(ap.out, buf, size, offset) < ARCHIVE_WARN) {
        return archive_error(ap.out, "write", name);
      }
    }
    // Ownership, mode, ACLs, extended attributes and times are restored here; a failure of
    // one of them is a warning (ARCHIVE_WARN), not the end of the extraction.
    r = archive_write_finish_entry(ap.out);
    if (r < ARCHIVE_WARN) return archive_error(ap.out, "extract", name);
    if (r == ARCHIVE_WARN) other.add(name, warning_text(ap.out));
    if (result.files % 256 == 0 && !send(report, Rec::kProgress, result)) {
      return sys_error("report progress", "the build", errno);
    }
  }
  // Directory modes and times are fixed up at close.
  if (archive_write_close(ap.out) < ARCHIVE_WARN) return archive_error(ap.out, "finish", "");
  return ok();
}

// The body: the context's first process, confined, its root the scratch root. It ends with
// build_template's process (the shim keeps its PR_SET_PDEATHSIG: as the init of its pid
// namespace it ignores the terminal's SIGINT, and would go on extracting for no one); that
// process may have died just before.
int extract_body(int tar_fd, int report, const BuildOptions& opts) {
  if (reader_gone(report)) return 1;
  BuildResult result;
  Shortfall trusted, other;
  Error e;
  if (::chdir("/target") < 0) {
    e = sys_error("chdir", "/target (the staging tree)");
  } else {
    ::umask(022);
    auto r = extract(tar_fd, opts, result, report, trusted, other);
    if (r) {
      // Every record must arrive: without kDone build_template fails the build.
      bool sent = true;
      if (trusted.count > 0) {
        sent = send(report, Rec::kWarning, result, nullptr,
             std::to_string(trusted.count) +
                 " entries had trusted.* extended attributes, which were not restored (they "
                 "need CAP_SYS_ADMIN, which the extraction does not hold); the first: " +
                 trusted.first);
      }
      if (sent && other.count > 0) {
        sent = send(report, Rec::kWarning, result, nullptr,
             std::to_string(other.count) +
                 " entries were extracted without some of their metadata; the first: " +
                 other.first);
      }
      return sent && send(report, Rec::kDone, result) ? 0 : 1;
    }
    e = std::move(r).error();
  }
  (void)send(report, Rec::kError, result, &e);  // the build fails either way
  return 1;
}

// --- the context ---

shim::CapMask extraction_bcaps(bool keep_devices) {
  shim::CapMask caps = 0;
  for (int cap : {CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, CAP_SETFCAP}) {
    caps |= shim::CapMask{1} << cap;
  }
  if (keep_devices) caps |= shim::CapMask{1} << CAP_MKNOD;
  return caps;
}

// Sealed from the start; nothing but the bounding set confines it beyond the defaults (the
// default seccomp profile).
shim::CreateSpec extraction_context(const GuestRootSpec* root, bool keep_devices) {
  shim::CreateSpec spec;
  spec.namespaces = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET |
                    CLONE_NEWCGROUP;
  spec.endsetup = true;
  spec.confinement.bcaps = extraction_bcaps(keep_devices);
  // No entrant ever joins it: nothing to pin.
  spec.pin = shim::NsSet{0};
  spec.child_setup = [root]() -> Result<void> {
    // Still privileged, with the host's /: the host's /dev/null replaces the caller's
    // terminal on stdin and stdout (stderr stays for a crash message).
    UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!null) return sys_error("open", "/dev/null");
    if (::dup2(null.get(), STDIN_FILENO) < 0) return sys_error("dup2", "stdin");
    if (::dup2(null.get(), STDOUT_FILENO) < 0) return sys_error("dup2", "stdout");
    // Nothing of the caller's environment (GCONV_PATH, LOCPATH, ...) reaches libarchive.
    ::clearenv();
    return enter_guest_root(*root);
  };
  return spec;
}

// The host side of the records; the counts in `result`, the warnings appended to it.
struct Outcome {
  bool done = false;
  bool failed = false;
  Error failure;
};

Outcome read_records(int rd, const BuildOptions& opts, BuildResult& result) {
  Outcome out;
  RecHeader h{};
  while (read_all(rd, &h, sizeof h)) {
    std::vector<std::string> s;
    if (!read_strings(rd, h, s)) {
      out.failed = true;
      out.failure = make_error(ErrorKind::kFailed, "extract", "",
                               "malformed report from the extracting context", EPROTO);
      break;
    }
    if (h.type == Rec::kProgress || h.type == Rec::kDone) {
      result.files = h.files;
      result.bytes = h.bytes;
      result.skipped_devices = h.devices;
    }
    if (h.type == Rec::kProgress) {
      if (opts.progress) opts.progress(BuildProgress{h.files, h.bytes});
    } else if (h.type == Rec::kWarning && !s.empty() && result.warnings.size() < 16) {
      result.warnings.push_back(std::move(s[0]));
    } else if (h.type == Rec::kDone) {
      out.done = true;
    } else if (h.type == Rec::kError && !out.failed) {
      out.failure = error_from(h, std::move(s));
      out.failed = true;
    }
  }
  return out;
}

}  // namespace

Result<BuildResult> build_template(const BuildOptions& opts, const std::string& tarball) {
  BuildResult result;
  std::string what = "build template `" + tarball + "` into `" + opts.vdir + "`";
  UniqueFd tar(::open(tarball.c_str(), O_RDONLY | O_CLOEXEC));
  if (!tar) return sys_error("open", tarball).wrap(what);
  shim::ContextTable table(opts.shim);
  if (auto r = table.prepare(); !r) return std::move(r).error().wrap(what);
  auto staging = build::Staging::begin(opts, result);
  if (!staging) return std::move(staging).error().wrap(what);
  auto scratch = build::ScratchRoot::make(result.vdir + ".tpl-", staging->path());
  if (!scratch) return std::move(scratch).error().wrap(what);

  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return sys_error("pipe2", tarball).wrap(what);
  UniqueFd rd(p[0]), wr(p[1]);
  shim::CreateSpec spec = extraction_context(&scratch->root(), opts.keep_devices);
  const int tar_fd = tar.get(), wfd = wr.get();
  spec.body = [tar_fd, wfd, &opts]() { return extract_body(tar_fd, wfd, opts); };
  Outcome out;
  spec.wait = [&](Child& body) -> Result<ExitStatus> {
    wr.reset();  // the body's copy is the only writer now: EOF when it ends
    out = read_records(rd.get(), opts, result);
    return body.wait();
  };
  auto code = shim::create_and_run(table, spec, nullptr);
  if (!code) return std::move(code).error().wrap(what);
  if (out.failed) return std::move(out.failure).wrap(what);
  if (!out.done || *code != 0) {
    return make_error(ErrorKind::kFailed, "extract", tarball,
                      "the extracting context ended with status " + std::to_string(*code),
                      ECHILD)
        .wrap(what);
  }
  if (opts.progress) opts.progress(BuildProgress{result.files, result.bytes});
  struct stat rootst {};
  mode_t mode = 0755;
  if (::fstat(staging->root_fd(), &rootst) == 0 && (rootst.st_mode & 07777) != 0700) {
    mode = rootst.st_mode & 07777;  // the archive's `./` entry said so
  }
  auto c = staging->commit(mode);
  if (!c) return std::move(c).error().wrap(what);
  return result;
}

}  // namespace vs
