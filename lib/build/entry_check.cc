#include "lib/build/entry_check.h"

#include <algorithm>
#include <array>

namespace vs::build {
namespace {

Error refuse(std::string_view entry, std::string detail) {
  return make_error(ErrorKind::kFailed, "refuse entry", std::string(entry), std::move(detail),
                    EPERM);
}

}  // namespace

Result<std::string> normalize_entry(std::string_view name) {
  if (!name.empty() && name[0] == '/') return refuse(name, "absolute path");
  std::string out;
  size_t pos = 0;
  while (pos <= name.size()) {
    size_t end = name.find('/', pos);
    if (end == std::string_view::npos) end = name.size();
    std::string_view comp = name.substr(pos, end - pos);
    pos = end + 1;
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") return refuse(name, "`..` component");
    if (!out.empty()) out += '/';
    out.append(comp);
  }
  return out;
}

Result<void> EntryChecker::no_symlink_prefix(const std::string& path,
                                             std::string_view entry) const {
  for (size_t slash = path.find('/'); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    std::string prefix = path.substr(0, slash);
    if (symlinks_.count(prefix)) {
      return refuse(entry, "passes through the symlink `" + prefix + "` of the archive");
    }
  }
  return ok();
}

Result<std::string> EntryChecker::check(std::string_view name, Kind kind,
                                        std::string_view link) {
  auto path = normalize_entry(name);
  if (!path) return path;
  auto p = no_symlink_prefix(*path, name);
  if (!p) return std::move(p).error();
  if (kind == Kind::kHardlink) {
    auto target = normalize_entry(link);
    if (!target) {
      return refuse(name, "hardlink target `" + std::string(link) + "`: " +
                              target.error().detail);
    }
    if (target->empty()) return refuse(name, "hardlink to the root");
    auto t = no_symlink_prefix(*target, name);
    if (!t) return std::move(t).error();
  }
  // A later entry may replace a symlink by something else (tar semantics).
  if (kind == Kind::kSymlink) {
    symlinks_.insert(*path);
  } else {
    symlinks_.erase(*path);
  }
  return path;
}

Result<std::vector<std::string>> parse_applet_list(std::string_view out) {
  std::vector<std::string> applets;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t end = out.find('\n', pos);
    if (end == std::string_view::npos) end = out.size();
    std::string_view line = out.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) continue;
    bool bad = line == "." || line == ".." || line.size() > 64 ||
               std::any_of(line.begin(), line.end(), [](char c) {
                 auto u = static_cast<unsigned char>(c);
                 return c == '/' || u < 0x21 || u == 0x7f;
               });
    if (bad) {
      return make_error(ErrorKind::kFailed, "parse applet list", std::string(line),
                        "not an applet name", EINVAL);
    }
    applets.emplace_back(line);
  }
  if (applets.empty()) {
    return make_error(ErrorKind::kFailed, "parse applet list", "busybox --list",
                      "no applets", EINVAL);
  }
  return applets;
}

bool is_sbin_applet(std::string_view name) {
  static constexpr std::array<std::string_view, 24> kSbin = {
      "init",     "halt",      "poweroff", "reboot",  "ifconfig", "ifup",
      "ifdown",   "route",     "ip",       "syslogd", "klogd",    "getty",
      "mdev",     "modprobe",  "insmod",   "rmmod",   "lsmod",    "swapon",
      "swapoff",  "udhcpc",    "udhcpd",   "sulogin", "start-stop-daemon", "runlevel",
  };
  return std::find(kSbin.begin(), kSbin.end(), name) != kSbin.end();
}

bool valid_hostname(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  size_t pos = 0;
  while (pos <= name.size()) {
    size_t end = name.find('.', pos);
    if (end == std::string_view::npos) end = name.size();
    std::string_view label = name.substr(pos, end - pos);
    pos = end + 1;
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      bool okc = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-';
      if (!okc) return false;
    }
  }
  return true;
}

}  // namespace vs::build
