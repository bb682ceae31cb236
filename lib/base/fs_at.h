// Filesystem helpers that work relative to directory fds (STYLE.md R5) and write atomically.
#pragma once

#include <fcntl.h>
#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.h"
#include "lib/base/unique_fd.h"

namespace vs {

/// Opens `path` (absolute or relative to the cwd) with O_CLOEXEC added.
Result<UniqueFd> open_path(const std::string& path, int flags, mode_t mode = 0);

/// Opens `rel` beneath `root_fd` with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS):
/// symlinks resolve as if root_fd were `/`, so nothing outside the tree is reached.
/// `extra_resolve` adds RESOLVE_* flags (e.g. RESOLVE_NO_SYMLINKS, RESOLVE_NO_XDEV).
Result<UniqueFd> open_beneath(int root_fd, std::string_view rel, int flags, mode_t mode = 0,
                              uint64_t extra_resolve = 0);

/// The *_at helpers below resolve `rel` with the ordinary rules and only refuse a symlink
/// as its LAST component: they are for host-owned directories (the run dir, cgroupfs, proc).
/// Anything inside a guest tree goes through open_beneath() first (R5).

/// Reads a whole regular file (at most `max_bytes`; more is an error, E40 size cap).
/// Refuses non-regular files without blocking (FIFOs) and does not follow a final symlink.
Result<std::string> read_file_at(int dir_fd, std::string_view rel, size_t max_bytes = 1 << 20);
Result<std::string> read_file(const std::string& path, size_t max_bytes = 1 << 20);

/// How read_into_at() knows it has reached the end of a file.
enum class ReadEnd {
  kZero,   ///< a read of 0 bytes: seq_file-backed files (procfs, cgroupfs) return a page or so
           ///< per read, so a short read is no end there
  kShort,  ///< a read shorter than asked: a regular file of a local filesystem (tmpfs)
};
/// Reads all of `rel` beneath `dir_fd` into `buf`, which is grown as needed and never shrunk,
/// so that one buffer serves a scan of many files: one openat (O_NOFOLLOW, O_NONBLOCK), the
/// reads, one close, and no fstat (the caller knows what kind of file it reads). Returns the
/// length read; "open" or "read" errors name `rel`.
Result<size_t> read_into_at(int dir_fd, const std::string& rel, std::vector<char>& buf,
                            ReadEnd end);

/// Writes all of `data` to `fd`, retrying short writes and EINTR; false (errno set) on error.
bool write_all(int fd, std::string_view data);

/// The same for an open fd (from open_beneath()); `name` for messages.
Result<std::string> read_all(UniqueFd fd, const std::string& name, size_t max_bytes);

/// Writes `data` to an existing file (cgroup and proc knobs): one write(2), no truncation.
Result<void> write_file(const std::string& path, std::string_view data);
Result<void> write_file_at(int dir_fd, std::string_view rel, std::string_view data);

/// Atomic replace: writes `rel`.tmp.PID beneath dir_fd, fsyncs, renames over `rel`.
Result<void> atomic_write_at(int dir_fd, std::string_view rel, std::string_view data,
                             mode_t mode = 0600);

/// mkdir that treats an existing directory as success.
Result<void> ensure_dir(const std::string& path, mode_t mode);

}  // namespace vs
