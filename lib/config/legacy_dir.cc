// The classic util-vserver layout: one value per file under /etc/vservers/NAME/, read by
// walking the classic paths of the schema (schema.h, KeySpec::classic): `context`, `name`,
// `vdir` (a symlink whose target is read as text, never followed), `uts/nodename`,
// `interfaces/NN/ip`, `bcapabilities`, `rlimits/NAME.soft`, `apps/init/mark`, `scripts/*` ...
// A file no key names is left alone (util-vserver keeps more there than this implementation
// reads), except in the directories of classic_dirs(), where it is an error, and `nice`,
// `cgroup/` and `interfaces/`, where it is a warning (read_legacy_dir).
// Every file is opened with O_NOFOLLOW|O_NONBLOCK and must be a regular file (SECURITY.md 3).
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "lib/base/dir_stream.h"
#include "lib/base/fs_at.h"
#include "lib/base/parse.h"
#include "lib/base/unique_fd.h"
#include "lib/config/config.h"
#include "lib/config/schema.h"

namespace vs {

namespace {

constexpr size_t kMaxFile = 64 * 1024;

using Pattern = std::vector<std::string_view>;

// The names in a directory (no "." or ".."), sorted.
Result<std::vector<std::string>> list_dir(int dir_fd, const std::string& path) {
  auto stream = DirStream::open(dir_fd, path);
  if (!stream) return std::move(stream).error();
  auto names = stream->names();
  if (!names) return std::move(names).error();
  std::sort(names->begin(), names->end());
  return names;
}

// Opens a subdirectory without following a symlink; an empty fd if it does not exist.
Result<UniqueFd> open_subdir(int dir_fd, const std::string& rel, const std::string& path) {
  UniqueFd fd(::openat(dir_fd, rel.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd && errno != ENOENT) {
    return config_error(Origin{path, 0}, "", "cannot open: " + std::string(::strerror(errno)),
                        "a directory (not a symlink)");
  }
  return fd;
}

bool exists_at(int dir_fd, const std::string& rel) {
  struct stat st;
  return ::fstatat(dir_fd, rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

bool is_dir_at(int dir_fd, const std::string& rel) {
  struct stat st;
  return ::fstatat(dir_fd, rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

class LegacyReader {
 public:
  LegacyReader(int dir_fd, const std::string& dir, std::vector<std::string>* warnings)
      : fd_(dir_fd), dir_(dir), warnings_(warnings) {
    for (const KeySpec& spec : config_schema()) {
      if (spec.classic.kind != ClassicKind::kNone) {
        files_.push_back({&spec, split_key(spec.classic.path, '/')});
      }
    }
  }

  Result<RawConfig> read() {
    Pattern pattern;
    if (auto r = directory(fd_, dir_, pattern, KeyMatch{}); !r) return std::move(r).error();
    if (exists_at(fd_, "nice")) {
      warn(dir_ + "/nice",
           "a nice value for the guest is not supported (limits.cpu_shares "
           "weighs its CPU time)");
    }
    return std::move(out_);
  }

 private:
  struct File {
    const KeySpec* spec;
    Pattern segments;
  };

  static bool under(const File& f, const Pattern& pattern) {
    return f.segments.size() > pattern.size() &&
           std::equal(pattern.begin(), pattern.end(), f.segments.begin());
  }

  // The next segments of the classic paths under `pattern`, distinct, in the table's order.
  std::vector<std::string_view> next_segments(const Pattern& pattern, bool known_only) const {
    std::vector<std::string_view> out;
    for (const File& f : files_) {
      if (!under(f, pattern) || (known_only && f.spec->type == ValueType::kRefused)) continue;
      std::string_view s = f.segments[pattern.size()];
      if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
    }
    return out;
  }

  void warn(const std::string& path, const std::string& why) {
    if (warnings_) warnings_->push_back(path + ": not read: " + why);
  }

  // Directories whose every entry is looked at, an unknown one warned about: util-vserver's
  // cgroup/ (files written as is into the guest's cgroup) and interfaces/ (per-address
  // files and the defaults of all addresses).
  static std::string warn_dir(const Pattern& pattern) {
    if (pattern.empty()) return "";
    if (pattern[0] == "cgroup" && pattern.size() == 1) {
      return "a cgroup setting this implementation does not import (the imported ones are "
             "listed in vserver.toml(5))";
    }
    if (pattern[0] == "interfaces" && pattern.size() == 1) {
      return "a default for every address is not supported: give it in each interfaces/N";
    }
    if (pattern[0] == "interfaces" && pattern.size() == 2) {
      return "this interface setting is not supported (it applies as if the file were "
             "absent)";
    }
    return "";
  }

  static const ClassicDir* strict_dir(const Pattern& pattern) {
    std::string path;
    for (std::string_view s : pattern) path += (path.empty() ? "" : "/") + std::string(s);
    for (const ClassicDir& d : classic_dirs()) {
      if (d.path == path) return &d;
    }
    return nullptr;
  }

  // The entries of one directory: probed by name, or listed when some are patterns (N, NAME)
  // or when every entry must be known.
  Result<void> directory(int fd, const std::string& path, Pattern& pattern, const KeyMatch& m) {
    std::vector<std::string_view> next = next_segments(pattern, false);
    const ClassicDir* strict = strict_dir(pattern);
    const std::string unread = warn_dir(pattern);
    bool literal = std::none_of(next.begin(), next.end(), [](std::string_view s) {
      return s == "N" || s.starts_with("NAME");
    });
    if (literal && !strict && unread.empty()) {
      for (std::string_view s : next) {
        if (auto r = entry(fd, path, std::string(s), s, pattern, m); !r) return r;
      }
      return ok();
    }
    auto names = list_dir(fd, path);
    if (!names) return std::move(names).error();
    size_t index = 0;
    for (const auto& n : *names) {
      KeyMatch em = m;
      std::string_view seg;
      for (std::string_view s : next) {
        if (s == n && s != "N" && !s.starts_with("NAME")) seg = s;
      }
      for (std::string_view s : next) {
        if (!seg.empty()) break;
        if (s == "N" && is_dir_at(fd, n)) {
          seg = s;
          em.index = index++;
        } else if (s.starts_with("NAME") && match_segment(s, n, &em)) {
          seg = s;
        }
      }
      if (seg.empty() && strict) {
        std::string allowed;
        for (std::string_view s : next_segments(pattern, true)) {
          allowed += (allowed.empty() ? "" : ", ") + std::string(s);
        }
        return config_error(Origin{path + "/" + n, 0}, std::string(strict->section) + "." + n,
                            std::string(strict->unknown), "one of: " + allowed);
      }
      // Anything else is util-vserver's: said where it matters, else left alone.
      if (seg.empty()) {
        if (!unread.empty()) warn(path + "/" + n, unread);
        continue;
      }
      if (auto r = entry(fd, path, n, seg, pattern, em); !r) return r;
    }
    return ok();
  }

  Result<void> entry(int fd, const std::string& dir, const std::string& name, std::string_view seg,
                     Pattern& pattern, const KeyMatch& m) {
    pattern.push_back(seg);
    Result<void> r = inner(pattern) ? subdirectory(fd, dir, name, pattern, m)
                                    : file(fd, dir + "/" + name, name, pattern, m);
    pattern.pop_back();
    return r;
  }

  bool inner(const Pattern& pattern) const {
    return std::any_of(files_.begin(), files_.end(),
                       [&](const File& f) { return under(f, pattern); });
  }

  Result<void> subdirectory(int fd, const std::string& dir, const std::string& name,
                            Pattern& pattern, const KeyMatch& m) {
    std::string path = dir + "/" + name;
    auto sub = open_subdir(fd, name, path);
    if (!sub) return std::move(sub).error();
    if (!*sub) return ok();
    if (auto r = directory(sub->get(), path, pattern, m); !r) return r;
    if (pattern.back() != "N") return ok();
    // The keys every N must have ("interfaces/NN/ip").
    for (const File& f : files_) {
      if (!under(f, pattern) || !f.spec->required) continue;
      std::string key = instantiate(f.spec->key, m);
      if (!out_.count(key)) {
        std::string file(f.segments.back());
        return config_error(Origin{path + "/" + file, 0}, key, "missing",
                            "a file `" + file + "` in every directory in `" + dir + "`");
      }
    }
    return ok();
  }

  Result<void> file(int fd, const std::string& path, const std::string& name,
                    const Pattern& pattern, const KeyMatch& m) {
    const File* f = nullptr;
    for (const File& candidate : files_) {
      if (candidate.segments == pattern) f = &candidate;
    }
    const KeySpec& spec = *f->spec;
    std::string key = instantiate(spec.key, m);
    if (spec.names && !spec.names->valid(m.name)) return bad_name(spec, Origin{path, 0}, key);
    if (spec.type == ValueType::kRefused) {
      if (!exists_at(fd, name)) return ok();
      return config_error(Origin{path, 0}, key, std::string(spec.doc));
    }
    switch (spec.classic.kind) {
      case ClassicKind::kLine:
        return value(fd, name, key, path);
      case ClassicKind::kWords:
        return words(fd, name, key, path);
      case ClassicKind::kLink:
        return link(fd, name, key, path);
      case ClassicKind::kPath:
      case ClassicKind::kPresent:
        if (exists_at(fd, name)) {
          std::string v = spec.classic.kind == ClassicKind::kPath ? path : "true";
          out_[key] = RawValue{std::move(v), {}, false, Origin{path, 0}};
        }
        return ok();
      case ClassicKind::kNone:
        break;
    }
    return ok();
  }

  // The content of a one-value file: one line, an optional final newline, not empty.
  Result<void> value(int fd, const std::string& rel, const std::string& key,
                     const std::string& path) {
    auto text = read_text(fd, rel, key, path);
    if (!text) return std::move(text).error();
    if (!*text) return ok();
    std::string s = std::move(**text);
    if (!s.empty() && s.back() == '\n') s.pop_back();
    if (s.find('\n') != std::string::npos || s.empty()) {
      return config_error(Origin{path, 1}, key, s.empty() ? "empty file" : "more than one line",
                          "one value on one line");
    }
    out_[key] = RawValue{std::move(s), {}, false, Origin{path, 1}};
    return ok();
  }

  // A list file: words one per line (commas and blanks also separate), '#' comments.
  Result<void> words(int fd, const std::string& rel, const std::string& key,
                     const std::string& path) {
    auto text = read_text(fd, rel, key, path);
    if (!text) return std::move(text).error();
    if (!*text) return ok();
    RawValue raw{{}, {}, true, Origin{path, 1}};
    std::string_view all = **text;
    while (!all.empty()) {
      size_t nl = all.find('\n');
      std::string_view line = all.substr(0, nl);
      all = nl == std::string_view::npos ? std::string_view() : all.substr(nl + 1);
      if (auto hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
      for (auto w : split_list(line)) raw.words.emplace_back(w);
    }
    out_[key] = std::move(raw);
    return ok();
  }

  // nullopt (inside the Result) when the file does not exist.
  Result<std::optional<std::string>> read_text(int fd, const std::string& rel,
                                               const std::string& key, const std::string& path) {
    auto r = read_file_at(fd, rel, kMaxFile);
    if (r) return std::optional<std::string>(std::move(*r));
    const Error& e = r.error();
    if (e.code == ENOENT) return std::optional<std::string>();
    std::string why = e.detail.empty() ? ::strerror(e.code) : e.detail;
    if (e.code == ELOOP) why = "is a symlink";
    return config_error(Origin{path, 0}, key, "cannot read: " + why,
                        "a regular file of at most 64 KiB");
  }

  // A symlink's target as text; a relative one means what it would mean next to the link.
  Result<void> link(int fd, const std::string& rel, const std::string& key,
                    const std::string& path) {
    struct stat st;
    if (::fstatat(fd, rel.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return ok();
    if (!S_ISLNK(st.st_mode)) {
      return config_error(Origin{path, 0}, key, "not a symlink",
                          "a symlink whose target is the guest's root tree");
    }
    char buf[4096];
    ssize_t n = ::readlinkat(fd, rel.c_str(), buf, sizeof buf);
    if (n < 0 || static_cast<size_t>(n) >= sizeof buf) {
      return config_error(Origin{path, 0}, key, "cannot read the link", "a symlink");
    }
    std::string target(buf, static_cast<size_t>(n));
    if (target.empty() || target.front() != '/') {
      std::string dir = std::filesystem::path(path).parent_path().string();
      target = (std::filesystem::path(dir) / target).lexically_normal().string();
    }
    out_[key] = RawValue{std::move(target), {}, false, Origin{path, 0}};
    return ok();
  }

  int fd_;
  const std::string& dir_;
  std::vector<std::string>* warnings_;
  std::vector<File> files_;
  RawConfig out_;
};

}  // namespace

Result<RawConfig> read_legacy_dir(int dir_fd, const std::string& dir,
                                  std::vector<std::string>* warnings) {
  return LegacyReader(dir_fd, dir, warnings).read();
}

}  // namespace vs
