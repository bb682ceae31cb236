// The classic util-vserver layout: one value per file under /etc/vservers/NAME/.
//
//   context, name, vdir (a symlink: its target is read as text, never followed),
//   uts/{nodename,domainname} (the other uts files are refused as vuname does),
//   interfaces/NN/{ip,prefix,dev,name,nodev}, bcapabilities, ccapabilities, flags
//   (one word per line), rlimits/NAME[.soft|.hard], apps/init/{mark,style}, fstab (the path
//   only), scripts/{pre-start,post-start,pre-stop,post-stop} (the paths only).
// Other files are left alone (util-vserver keeps more there than this implementation reads).
// Every file is opened with O_NOFOLLOW|O_NONBLOCK and must be a regular file (SECURITY.md 3).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "lib/base/fs_at.h"
#include "lib/base/parse.h"
#include "lib/base/unique_fd.h"
#include "lib/config/config.h"

namespace vs {

namespace {

constexpr size_t kMaxFile = 64 * 1024;

// The names in a directory (no "." or ".."), sorted.
Result<std::vector<std::string>> list_dir(int dir_fd, const std::string& path) {
  int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return sys_error("open", path);
  DIR* d = ::fdopendir(fd);
  if (!d) {
    int e = errno;
    ::close(fd);
    return sys_error("opendir", path, e);
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

// Opens a subdirectory without following a symlink; nullopt-like empty fd if absent.
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

class LegacyReader {
 public:
  LegacyReader(int dir_fd, const std::string& dir) : fd_(dir_fd), dir_(dir) {}

  Result<RawConfig> read() {
    for (const char* f : {"context", "name"}) {
      if (auto r = value(fd_, f, f, dir_ + "/" + f); !r) return std::move(r).error();
    }
    if (auto r = vdir(); !r) return std::move(r).error();
    if (auto r = uts(); !r) return std::move(r).error();
    if (auto r = interfaces(); !r) return std::move(r).error();
    if (auto r = list(fd_, "bcapabilities", "capabilities.add"); !r) return std::move(r).error();
    if (auto r = list(fd_, "ccapabilities", "capabilities.ccaps"); !r) {
      return std::move(r).error();
    }
    if (auto r = list(fd_, "flags", "flags"); !r) return std::move(r).error();
    if (auto r = rlimits(); !r) return std::move(r).error();
    if (auto r = init(); !r) return std::move(r).error();
    if (exists_at(fd_, "fstab")) {
      out_["fstab"] = RawValue{dir_ + "/fstab", {}, false, Origin{dir_ + "/fstab", 0}};
    }
    if (auto r = scripts(); !r) return std::move(r).error();
    return std::move(out_);
  }

 private:
  // The content of a one-value file: one line, an optional final newline, not empty.
  Result<bool> value(int dir_fd, const std::string& rel, const std::string& key,
                     const std::string& path) {
    auto text = read_text(dir_fd, rel, key, path);
    if (!text) return std::move(text).error();
    if (!*text) return false;
    std::string s = std::move(**text);
    if (!s.empty() && s.back() == '\n') s.pop_back();
    if (s.find('\n') != std::string::npos || s.empty()) {
      return config_error(Origin{path, 1}, key, s.empty() ? "empty file" : "more than one line",
                          "one value on one line");
    }
    out_[key] = RawValue{std::move(s), {}, false, Origin{path, 1}};
    return true;
  }

  // A list file: words one per line (commas and blanks also separate), '#' comments.
  Result<bool> list(int dir_fd, const std::string& rel, const std::string& key) {
    std::string path = dir_ + "/" + rel;
    auto text = read_text(dir_fd, rel, key, path);
    if (!text) return std::move(text).error();
    if (!*text) return false;
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
    return true;
  }

  // nullopt (inside the Result) when the file does not exist.
  Result<std::optional<std::string>> read_text(int dir_fd, const std::string& rel,
                                               const std::string& key, const std::string& path) {
    auto r = read_file_at(dir_fd, rel, kMaxFile);
    if (r) return std::optional<std::string>(std::move(*r));
    const Error& e = r.error();
    if (e.code == ENOENT) return std::optional<std::string>();
    std::string why = e.detail.empty() ? ::strerror(e.code) : e.detail;
    if (e.code == ELOOP) why = "is a symlink";
    return config_error(Origin{path, 0}, key, "cannot read: " + why,
                        "a regular file of at most 64 KiB");
  }

  Result<void> vdir() {
    std::string path = dir_ + "/vdir";
    struct stat st;
    if (::fstatat(fd_, "vdir", &st, AT_SYMLINK_NOFOLLOW) < 0) return ok();
    if (!S_ISLNK(st.st_mode)) {
      return config_error(Origin{path, 0}, "vdir", "not a symlink",
                          "a symlink whose target is the guest's root tree");
    }
    char buf[4096];
    ssize_t n = ::readlinkat(fd_, "vdir", buf, sizeof buf);
    if (n < 0 || static_cast<size_t>(n) >= sizeof buf) {
      return config_error(Origin{path, 0}, "vdir", "cannot read the link", "a symlink");
    }
    std::string target(buf, static_cast<size_t>(n));
    if (target.empty() || target.front() != '/') {
      // Text only: a relative target means what it would mean next to the link.
      target = (std::filesystem::path(dir_) / target).lexically_normal().string();
    }
    out_["vdir"] = RawValue{std::move(target), {}, false, Origin{path, 0}};
    return ok();
  }

  Result<void> uts() {
    auto sub = open_subdir(fd_, "uts", dir_ + "/uts");
    if (!sub) return std::move(sub).error();
    if (!*sub) return ok();
    auto names = list_dir(sub->get(), dir_ + "/uts");
    if (!names) return std::move(names).error();
    for (const auto& n : *names) {
      std::string path = dir_ + "/uts/" + n;
      if (n != "nodename" && n != "domainname") {
        return config_error(Origin{path, 0}, "uts." + n,
                            "cannot be set on a stock kernel (only nodename, domainname)");
      }
      if (auto r = value(sub->get(), n, "uts." + n, path); !r) return std::move(r).error();
    }
    return ok();
  }

  Result<void> interfaces() {
    std::string base = dir_ + "/interfaces";
    auto sub = open_subdir(fd_, "interfaces", base);
    if (!sub) return std::move(sub).error();
    if (!*sub) return ok();
    auto names = list_dir(sub->get(), base);
    if (!names) return std::move(names).error();
    size_t index = 0;
    for (const auto& n : *names) {
      std::string ipath = base + "/" + n;
      struct stat st;
      if (::fstatat(sub->get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)) {
        continue;  // util-vserver keeps defaults (dev, prefix) as plain files here
      }
      auto ifd = open_subdir(sub->get(), n, ipath);
      if (!ifd) return std::move(ifd).error();
      std::string prefix = "interfaces." + std::to_string(index++);
      static const std::pair<const char*, const char*> kFiles[] = {
          {"ip", "address"}, {"prefix", "prefix"}, {"dev", "dev"}, {"name", "name"}};
      for (const auto& [file, key] : kFiles) {
        auto r = value(ifd->get(), file, prefix + "." + key, ipath + "/" + file);
        if (!r) return std::move(r).error();
      }
      if (exists_at(ifd->get(), "nodev")) {
        out_[prefix + ".nodev"] = RawValue{"true", {}, false, Origin{ipath + "/nodev", 0}};
      }
      if (!out_.count(prefix + ".address")) {
        return config_error(Origin{ipath + "/ip", 0}, prefix + ".address", "missing",
                            "every interface directory has an `ip` file");
      }
    }
    return ok();
  }

  Result<void> rlimits() {
    std::string base = dir_ + "/rlimits";
    auto sub = open_subdir(fd_, "rlimits", base);
    if (!sub) return std::move(sub).error();
    if (!*sub) return ok();
    auto names = list_dir(sub->get(), base);
    if (!names) return std::move(names).error();
    for (const auto& n : *names) {
      std::string name = n;
      std::string half;
      if (auto dot = n.find('.'); dot != std::string::npos) {
        name = n.substr(0, dot);
        half = n.substr(dot + 1);
      }
      std::string key = "rlimits." + name + (half.empty() ? "" : "." + half);
      std::string path = base + "/" + n;
      if (!shim::parse_rlimit_name(name)) {
        return config_error(Origin{path, 0}, key, "unknown rlimit",
                            "one of: " + shim::rlimit_names());
      }
      if (!half.empty() && half != "soft" && half != "hard") {
        return config_error(Origin{path, 0}, key, "unknown rlimit file",
                            "NAME, NAME.soft or NAME.hard");
      }
      if (auto r = value(sub->get(), n, key, path); !r) return std::move(r).error();
    }
    return ok();
  }

  Result<void> init() {
    auto apps = open_subdir(fd_, "apps", dir_ + "/apps");
    if (!apps) return std::move(apps).error();
    if (!*apps) return ok();
    auto sub = open_subdir(apps->get(), "init", dir_ + "/apps/init");
    if (!sub) return std::move(sub).error();
    if (!*sub) return ok();
    for (const char* f : {"mark", "style"}) {
      auto r = value(sub->get(), f, std::string("init.") + f, dir_ + "/apps/init/" + f);
      if (!r) return std::move(r).error();
    }
    return ok();
  }

  Result<void> scripts() {
    std::string base = dir_ + "/scripts";
    auto sub = open_subdir(fd_, "scripts", base);
    if (!sub) return std::move(sub).error();
    if (!*sub) return ok();
    auto names = list_dir(sub->get(), base);
    if (!names) return std::move(names).error();
    for (const auto& n : *names) {
      std::string path = base + "/" + n;
      if (n != "pre-start" && n != "post-start" && n != "pre-stop" && n != "post-stop") {
        return config_error(Origin{path, 0}, "scripts." + n, "unknown script",
                            "pre-start, post-start, pre-stop, post-stop");
      }
      out_["scripts." + n] = RawValue{path, {}, false, Origin{path, 0}};
    }
    return ok();
  }

  int fd_;
  const std::string& dir_;
  RawConfig out_;
};

}  // namespace

Result<RawConfig> read_legacy_dir(int dir_fd, const std::string& dir) {
  return LegacyReader(dir_fd, dir).read();
}

}  // namespace vs
