#include "lib/guest/passwd.h"

#include <fcntl.h>
#include <unistd.h>

#include "lib/base/fs_at.h"
#include "lib/base/parse.h"

namespace vs {

namespace {

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  for (;;) {
    size_t j = line.find(':', i);
    out.push_back(line.substr(i, j == std::string_view::npos ? line.npos : j - i));
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  return out;
}

template <typename F>
void each_line(std::string_view text, F&& f) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line[0] != '#') f(line);
  }
}

Result<std::string> read_guest_file(int root_fd, const std::string& vdir, std::string_view rel,
                                    bool optional) {
  auto fd = open_beneath(root_fd, rel, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (!fd) {
    if (optional && fd.error().code == ENOENT) return std::string();
    return std::move(fd).error().wrap("read " + vdir + "/" + std::string(rel));
  }
  return read_all(std::move(*fd), vdir + "/" + std::string(rel), 4 << 20);
}

}  // namespace

Result<GuestUser> find_guest_user(std::string_view passwd, std::string_view group,
                                  std::string_view who, const std::string& passwd_file) {
  auto number = parse_uint(who, 0, 0xfffffffeu, "uid");
  GuestUser user;
  bool found = false;
  each_line(passwd, [&](std::string_view line) {
    if (found) return;
    auto f = fields(line);
    if (f.size() < 7) return;
    auto uid = parse_uint(f[2], 0, 0xfffffffeu, "uid");
    auto gid = parse_uint(f[3], 0, 0xfffffffeu, "gid");
    if (!uid || !gid) return;
    if (number ? *uid != *number : f[0] != who) return;
    user.name = std::string(f[0]);
    user.uid = static_cast<uid_t>(*uid);
    user.gid = static_cast<gid_t>(*gid);
    if (!f[5].empty()) user.home = std::string(f[5]);
    if (!f[6].empty()) user.shell = std::string(f[6]);
    found = true;
  });
  if (!found) {
    if (!number) {
      return make_error(ErrorKind::kNotFound, "user", std::string(who),
                        "no such user in " + passwd_file, ENOENT);
    }
    user.uid = user.gid = static_cast<uid_t>(*number);
    return user;
  }
  each_line(group, [&](std::string_view line) {
    auto f = fields(line);
    if (f.size() < 4) return;
    auto gid = parse_uint(f[2], 0, 0xfffffffeu, "gid");
    if (!gid) return;
    std::string_view members = f[3];
    while (!members.empty()) {
      size_t c = members.find(',');
      if (members.substr(0, c) == user.name && *gid != user.gid) {
        user.groups.push_back(static_cast<gid_t>(*gid));
        break;
      }
      members.remove_prefix(c == std::string_view::npos ? members.size() : c + 1);
    }
  });
  return user;
}

Result<GuestUser> lookup_guest_user(int root_fd, const std::string& vdir, std::string_view who) {
  auto passwd = read_guest_file(root_fd, vdir, "etc/passwd", false);
  if (!passwd) return std::move(passwd).error();
  auto group = read_guest_file(root_fd, vdir, "etc/group", true);
  if (!group) return std::move(group).error();
  return find_guest_user(*passwd, *group, who, vdir + "/etc/passwd");
}

}  // namespace vs
