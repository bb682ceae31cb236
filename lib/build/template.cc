// build_template(): a tarball extracted by libarchive in a child chrooted into the new tree
// (SECURITY.md E41). Each entry is checked first (EntryChecker: no absolute name, no `..`,
// nothing through a symlink of the archive, hardlink targets the same) and refused with its
// name; libarchive's SECURE_* flags are a second line, the chroot a third: even a mistake in
// both cannot write outside the tree. Owners are restored numerically (no name lookup in the
// half-built tree).
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "lib/base/child.h"
#include "lib/base/fs_at.h"
#include "lib/build/build.h"
#include "lib/build/entry_check.h"
#include "lib/build/staging.h"

namespace vs {
namespace {

// Child -> parent records on a pipe: a header, then the strings.
enum class Rec : uint32_t { kProgress = 1, kDone = 2, kError = 3 };
struct RecHeader {
  Rec type;
  int32_t code;
  uint64_t files, bytes, devices;
  uint32_t len[3];  // op, subject, detail (kError)
};

bool read_all(int fd, void* p, size_t n) {
  char* c = static_cast<char*>(p);
  while (n > 0) {
    ssize_t r = ::read(fd, c, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    c += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

void send(int fd, Rec type, const BuildResult& r, const Error* e = nullptr) {
  RecHeader h{};
  h.type = type;
  h.files = r.files;
  h.bytes = r.bytes;
  h.devices = r.skipped_devices;
  if (e) {
    h.code = e->code;
    h.len[0] = static_cast<uint32_t>(e->op.size());
    h.len[1] = static_cast<uint32_t>(e->subject.size());
    h.len[2] = static_cast<uint32_t>(e->detail.size());
  }
  std::string buf(reinterpret_cast<const char*>(&h), sizeof h);
  if (e) buf += e->op + e->subject + e->detail;
  (void)write_all(fd, buf);
}

Error archive_error(struct archive* a, const char* op, std::string subject) {
  int code = archive_errno(a);
  const char* msg = archive_error_string(a);
  return make_error(ErrorKind::kFailed, op, std::move(subject), msg ? msg : "libarchive error",
                    code > 0 ? code : EIO);
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

// Runs in the chrooted child: extracts everything or stops at the first bad entry.
Result<void> extract(int tar_fd, const BuildOptions& opts, BuildResult& result, int report) {
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
    if (archive_write_header(ap.out, entry) < ARCHIVE_WARN) {
      return archive_error(ap.out, "extract", name);
    }
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
    if (archive_write_finish_entry(ap.out) < ARCHIVE_WARN) {
      return archive_error(ap.out, "extract", name);
    }
    if (result.files % 256 == 0) send(report, Rec::kProgress, result);
  }
  // Directory modes and times are fixed up at close.
  if (archive_write_close(ap.out) < ARCHIVE_WARN) return archive_error(ap.out, "finish", "");
  return ok();
}

int extract_child(int root_fd, int tar_fd, int report, const BuildOptions& opts) {
  BuildResult result;
  Error e;
  if (::fchdir(root_fd) < 0 || ::chroot(".") < 0) {
    e = sys_error("chroot", "staging tree");
  } else {
    ::umask(022);
    auto r = extract(tar_fd, opts, result, report);
    if (r) {
      send(report, Rec::kDone, result);
      return 0;
    }
    e = std::move(r).error();
  }
  send(report, Rec::kError, result, &e);
  return 1;
}

}  // namespace

Result<BuildResult> build_template(const BuildOptions& opts, const std::string& tarball) {
  BuildResult result;
  std::string what = "build template `" + tarball + "` into `" + opts.vdir + "`";
  UniqueFd tar(::open(tarball.c_str(), O_RDONLY | O_CLOEXEC));
  if (!tar) return sys_error("open", tarball).wrap(what);
  auto staging = build::Staging::begin(opts, result);
  if (!staging) return std::move(staging).error().wrap(what);

  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return sys_error("pipe2", tarball).wrap(what);
  UniqueFd rd(p[0]), wr(p[1]);
  int root_fd = staging->root_fd(), tar_fd = tar.get(), wfd = wr.get();
  auto child = Child::spawn(CloneSpec{}, [root_fd, tar_fd, wfd, &opts]() {
    return extract_child(root_fd, tar_fd, wfd, opts);
  });
  if (!child) return std::move(child).error().wrap(what);
  wr.reset();

  bool done = false;
  Error failure;
  bool failed = false;
  RecHeader h{};
  while (read_all(rd.get(), &h, sizeof h)) {
    result.files = h.files;
    result.bytes = h.bytes;
    result.skipped_devices = h.devices;
    if (h.type == Rec::kProgress) {
      if (opts.progress) opts.progress(BuildProgress{h.files, h.bytes});
    } else if (h.type == Rec::kDone) {
      done = true;
    } else if (h.type == Rec::kError) {
      std::string s[3];
      for (int i = 0; i < 3; ++i) {
        s[i].resize(std::min<uint32_t>(h.len[i], 1 << 16));
        if (!read_all(rd.get(), s[i].data(), s[i].size())) break;
      }
      failure = make_error(ErrorKind::kFailed, s[0], s[1], s[2], h.code);
      failed = true;
    }
  }
  auto st = child->wait();
  if (!st) return std::move(st).error().wrap(what);
  if (failed) return std::move(failure).wrap(what);
  if (!done || st->as_exit_code() != 0) {
    return make_error(ErrorKind::kFailed, "extract", tarball,
                      "extracting child ended with status " +
                          std::to_string(st->as_exit_code()),
                      ECHILD)
        .wrap(what);
  }
  if (opts.progress) opts.progress(BuildProgress{result.files, result.bytes});
  struct stat rootst {};
  mode_t mode = 0755;
  if (::fstat(root_fd, &rootst) == 0 && (rootst.st_mode & 07777) != 0700) {
    mode = rootst.st_mode & 07777;  // the archive's `./` entry said so
  }
  auto c = staging->commit(mode);
  if (!c) return std::move(c).error().wrap(what);
  return result;
}

}  // namespace vs
