// vs::DirStream: the one owner type for a DIR* (STYLE.md R1 for directory streams).
#pragma once

#include <dirent.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/base/result.h"
#include "lib/base/unique_fd.h"

namespace vs {

/// One entry of a directory; `name` points into the stream and is valid until the next
/// call of next() or rewind().
struct DirEntry {
  std::string_view name;
  unsigned char type = DT_UNKNOWN;  ///< d_type: DT_DIR, DT_REG, ... or DT_UNKNOWN
};

/// Owns a directory stream: move-only, closedir() (and so its fd) on destruction. Entries
/// come without "." and "..", in the order of the filesystem; errors name `subject`.
class DirStream {
 public:
  /// Reads the directory `dir_fd` refers to (an O_PATH fd will do) through a new open file
  /// description, openat(dir_fd, "."): the caller's fd stays its own and its offset is not
  /// moved. Errors: "open" or "opendir" on `subject`.
  static Result<DirStream> open(int dir_fd, const std::string& subject);
  /// Opens `rel` relative to `dir_fd` with O_RDONLY | O_DIRECTORY | O_CLOEXEC | `flags`
  /// (e.g. O_NOFOLLOW). Errors: "open" (errno ENOENT if it does not exist) or "opendir".
  static Result<DirStream> open_at(int dir_fd, const std::string& rel, const std::string& subject,
                                   int flags = 0);
  /// Takes ownership of `fd`, a directory opened for reading (it is closed on an error too).
  /// Errors: "opendir".
  static Result<DirStream> adopt(UniqueFd fd, const std::string& subject);

  DirStream(DirStream&& o) noexcept
      : dir_(std::exchange(o.dir_, nullptr)), subject_(std::move(o.subject_)) {}
  DirStream& operator=(DirStream&& o) noexcept;
  DirStream(const DirStream&) = delete;
  DirStream& operator=(const DirStream&) = delete;
  ~DirStream();

  /// The next entry, or nullopt at the end. Errors: "readdir" (e.g. EBADF for an adopted
  /// fd not open for reading). A directory removed meanwhile just ends: glibc takes the
  /// kernel's ENOENT for a dead directory as its end, as POSIX asks.
  Result<std::optional<DirEntry>> next();
  /// The names of all remaining entries, in the order read.
  Result<std::vector<std::string>> names();
  /// Starts over from the first entry.
  void rewind();
  /// The stream's own fd, for *at() calls relative to the directory.
  [[nodiscard]] int fd() const;

 private:
  DirStream(DIR* d, std::string subject) : dir_(d), subject_(std::move(subject)) {}
  DIR* dir_;
  std::string subject_;
};

}  // namespace vs
