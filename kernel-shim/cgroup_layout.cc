// The cgroup layout: where the v2 and the v1 hierarchies are mounted (mountinfo).
#include <linux/magic.h>
#include <sys/statfs.h>

#include <algorithm>
#include <array>

#include "kernel-shim/cgroup.h"
#include "kernel-shim/cgroup_backend.h"
#include "lib/base/fs_at.h"

namespace vs::shim {

namespace cd = cgroup_detail;
using cd::binds;
using cd::split;

namespace {

bool is_octal(char c) { return c >= '0' && c <= '7'; }

// mountinfo escapes space, tab, newline and backslash in paths as \ooo.
std::string unescape_mountinfo(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 4 <= s.size() && is_octal(s[i + 1]) && is_octal(s[i + 2]) &&
        is_octal(s[i + 3])) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Options a v1 cgroup mount shows that are not controllers (cgroup1_show_options() and the
// generic superblock flags). Options with '=' (name=, release_agent=) are never controllers.
constexpr std::array<std::string_view, 14> kV1NonControllerOptions{
    "rw",           "ro",
    "none",         "all",
    "noprefix",     "clone_children",
    "xattr",        "cpuset_v2_mode",
    "sync",         "dirsync",
    "mand",         "lazytime",
    "favordynmods", "nofavordynmods",
};

bool is_controller_option(std::string_view opt) {
  if (opt.empty() || opt.find('=') != std::string_view::npos) return false;
  return std::find(kV1NonControllerOptions.begin(), kV1NonControllerOptions.end(), opt) ==
         kV1NonControllerOptions.end();
}

}  // namespace

Result<CgroupLayout> CgroupLayout::parse_mountinfo(const std::string& mountinfo_text) {
  CgroupLayout layout;
  bool v2_at_root = false;
  std::vector<bool> v1_at_root;
  int line_no = 0;
  for (auto line : split(mountinfo_text, '\n')) {
    ++line_no;
    if (line.empty()) continue;
    auto fields = split(line, ' ');
    // ID PARENT MAJ:MIN ROOT MOUNT-POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER-OPTIONS
    auto sep = std::find(fields.begin() + std::min<size_t>(fields.size(), 6), fields.end(), "-");
    if (fields.size() < 10 || sep == fields.end() || fields.end() - sep < 4) {
      return make_error(ErrorKind::kFailed, "parse", "mountinfo line " + std::to_string(line_no),
                        "expected `ID PARENT MAJ:MIN ROOT MOUNT-POINT OPTIONS ... - FSTYPE "
                        "SOURCE SUPER-OPTIONS`",
                        EINVAL);
    }
    std::string_view fstype = sep[1];
    bool at_root = fields[3] == "/";
    if (fstype == "cgroup2") {
      // The first mount wins, unless a later one shows the whole hierarchy and it did not.
      if (layout.v2_root.empty() || (at_root && !v2_at_root)) {
        layout.v2_root = unescape_mountinfo(fields[4]);
        v2_at_root = at_root;
      }
      continue;
    }
    if (fstype != "cgroup") continue;
    V1 h;
    h.mount_point = unescape_mountinfo(fields[4]);
    for (auto opt : split(sep[3], ',')) {
      if (is_controller_option(opt)) h.controllers.emplace_back(opt);
    }
    if (h.controllers.empty()) continue;  // a named hierarchy (name=systemd): no controller
    std::sort(h.controllers.begin(), h.controllers.end());
    auto same = std::find_if(layout.v1.begin(), layout.v1.end(),
                             [&](const V1& o) { return o.controllers == h.controllers; });
    if (same == layout.v1.end()) {
      layout.v1.push_back(std::move(h));
      v1_at_root.push_back(at_root);
    } else if (at_root && !v1_at_root[static_cast<size_t>(same - layout.v1.begin())]) {
      v1_at_root[static_cast<size_t>(same - layout.v1.begin())] = true;
      *same = std::move(h);
    }
  }
  return layout;
}

Result<CgroupLayout> CgroupLayout::discover(const std::string& mountinfo_path) {
  auto text = read_file(mountinfo_path, 16 << 20);
  if (!text) return std::move(text).error().wrap("discover cgroup hierarchies");
  auto layout = parse_mountinfo(*text);
  if (!layout) return std::move(layout).error().wrap("discover cgroup hierarchies");
  return layout;
}

Result<CgroupLayout> CgroupLayout::discover_v2(const std::string& mountinfo_path) {
  CgroupLayout layout;
  for (const char* dir : {"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}) {
    struct statfs fs {};
    if (::statfs(dir, &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC) {
      layout.v2_root = dir;
      return layout;
    }
  }
  auto all = discover(mountinfo_path);
  if (!all) return std::move(all).error();
  if (all->v2_root.empty()) {
    return make_error(ErrorKind::kFailed, "lookup", "cgroup2", "no cgroup2 hierarchy is mounted",
                      ENOENT);
  }
  layout.v2_root = std::move(all->v2_root);
  return layout;
}

const CgroupLayout::V1* CgroupLayout::v1_for(std::string_view controller) const {
  for (const auto& h : v1) {
    if (binds(h, controller)) return &h;
  }
  return nullptr;
}

std::vector<std::string> CgroupLayout::v2_controllers() const {
  std::vector<std::string> out;
  if (v2_root.empty()) return out;
  auto text = read_file(v2_root + "/cgroup.subtree_control");
  if (!text) return out;
  for (auto word : split(*text, ' ')) {
    while (!word.empty() && (word.back() == '\n' || word.back() == ' ')) word.remove_suffix(1);
    if (!word.empty()) out.emplace_back(word);
  }
  return out;
}

}  // namespace vs::shim
