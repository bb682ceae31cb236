#include "lib/mount/fstab.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>

#include <memory>

#include "lib/base/fs_at.h"
#include "lib/mount/mount_fd.h"

namespace vs {

namespace {

// fstab(5) fields: separated by blanks; a blank inside a field is written as \040 (any
// octal escape \NNN is decoded, as getmntent(3) and libmount do).
std::vector<std::string> split_fields(std::string_view line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size()) break;
    std::string field;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') {
      if (line[i] == '\\' && i + 3 < line.size() && line[i + 1] >= '0' && line[i + 1] <= '3' &&
          line[i + 2] >= '0' && line[i + 2] <= '7' && line[i + 3] >= '0' && line[i + 3] <= '7') {
        field += static_cast<char>((line[i + 1] - '0') * 64 + (line[i + 2] - '0') * 8 +
                                   (line[i + 3] - '0'));
        i += 4;
      } else {
        field += line[i++];
      }
    }
    out.push_back(std::move(field));
  }
  return out;
}

struct AttrWord {
  const char* word;
  uint64_t attr;
};
constexpr AttrWord kAttrWords[] = {
    {"ro", MOUNT_ATTR_RDONLY},     {"nosuid", MOUNT_ATTR_NOSUID},
    {"nodev", MOUNT_ATTR_NODEV},   {"noexec", MOUNT_ATTR_NOEXEC},
    {"noatime", MOUNT_ATTR_NOATIME}, {"nodiratime", MOUNT_ATTR_NODIRATIME},
    {"relatime", MOUNT_ATTR_RELATIME}, {"strictatime", MOUNT_ATTR_STRICTATIME},
};
// Words that say nothing to a mount made here.
constexpr const char* kIgnored[] = {"defaults", "rw", "auto", "nofail", "suid", "dev", "exec",
                                     "async", "atime", "diratime", "private", "rprivate",
                                     "slave", "rslave"};

bool has_dotdot(std::string_view p) {
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    if (p.substr(i, j - i) == "..") return true;
    i = j + 1;
  }
  return false;
}

}  // namespace

Result<std::vector<FstabEntry>> parse_fstab(const std::string& path) {
  auto text = read_file(path, 1 << 20);
  if (!text) return std::move(text).error().wrap("read fstab");
  std::vector<FstabEntry> out;
  std::string_view rest = *text;
  int line_no = 0;
  while (!rest.empty()) {
    ++line_no;
    size_t nl = rest.find('\n');
    std::string line(rest.substr(0, nl));
    rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
    size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    std::string origin = path + ":" + std::to_string(line_no);
    auto bad = [&](const std::string& why) {
      return make_error(ErrorKind::kUsage, "fstab", origin, why, EINVAL);
    };
    auto f = split_fields(line);
    if (f.size() < 3 || f.size() > 6) {
      return bad("not an fstab line (expected SOURCE TARGET TYPE [OPTIONS [DUMP [PASS]]])");
    }
    FstabEntry e;
    e.origin = origin;
    e.source = f[0];
    e.target = f[1];
    e.fstype = f[2];
    if (e.target.empty() || e.target[0] != '/' || has_dotdot(e.target)) {
      return bad("target `" + e.target + "` must be an absolute path without '..' (inside the "
                 "guest)");
    }
    e.bind = e.fstype == "bind";
    bool noauto = false;
    if (f.size() > 3) {
      std::string_view opts = f[3];
      while (!opts.empty()) {
        size_t comma = opts.find(',');
        std::string_view item = opts.substr(0, comma);
        opts.remove_prefix(comma == std::string_view::npos ? opts.size() : comma + 1);
        if (item.empty()) continue;
        size_t eq = item.find('=');
        std::string word(item.substr(0, eq));
        std::string val = eq == std::string_view::npos ? "" : std::string(item.substr(eq + 1));
        bool known = false;
        for (const auto& a : kAttrWords) {
          if (word == a.word) {
            // The atime words form one field of the mount attributes.
            if (a.attr & MOUNT_ATTR__ATIME) e.attrs &= ~static_cast<uint64_t>(MOUNT_ATTR__ATIME);
            e.attrs |= a.attr;
            known = true;
          }
        }
        for (const char* w : kIgnored) known = known || word == w;
        if (word == "bind" || word == "rbind") {
          e.bind = true;
          e.recursive = word == "rbind";
          known = true;
        }
        if (word == "noauto") noauto = known = true;
        if (!known) {
          if (e.bind) return bad("option `" + word + "` does not apply to a bind mount");
          e.fs_options.emplace_back(word, val);
        }
      }
    }
    if (e.bind && (e.source.empty() || e.source[0] != '/' || has_dotdot(e.source))) {
      return bad("bind source `" + e.source + "` must be an absolute host path without '..'");
    }
    if (e.bind && !e.fs_options.empty()) {
      return bad("option `" + e.fs_options.front().first + "` does not apply to a bind mount");
    }
    if (!noauto) out.push_back(std::move(e));
  }
  return out;
}

Result<void> mount_fstab(int root_fd, const std::vector<FstabEntry>& entries) {
  for (const auto& e : entries) {
    auto where = [&](Error err) { return std::move(err).wrap("fstab " + e.origin); };
    auto target = open_beneath(root_fd, e.target, O_PATH | O_CLOEXEC, 0,
                               RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    if (!target) return where(std::move(target).error());
    uint64_t attrs = e.attrs | MOUNT_ATTR_NODEV;
    UniqueFd mnt;
    if (e.bind) {
      // The source is the administrator's: a host path, resolved on the host.
      auto src = open_path(e.source, O_PATH | O_NOFOLLOW);
      if (!src) return where(std::move(src).error());
      auto cloned = clone_mount(src->get(), e.recursive, e.source);
      if (!cloned) return where(std::move(cloned).error());
      if (auto r = set_mount_attrs(cloned->get(), attrs, 0, e.recursive, e.target); !r) {
        return where(std::move(r).error());
      }
      mnt = std::move(*cloned);
    } else {
      std::vector<FsOption> options{{"source", e.source.c_str()}};
      for (const auto& [key, value] : e.fs_options) {
        options.push_back({key.c_str(), value.empty() ? nullptr : value.c_str()});
      }
      auto made = new_fs_mount(e.fstype.c_str(), options, attrs, e.target);
      if (!made) return where(std::move(made).error());
      mnt = std::move(*made);
    }
    if (auto r = attach_mount(mnt.get(), target->get(), e.target); !r) {
      return where(std::move(r).error());
    }
  }
  return ok();
}

}  // namespace vs
