// sweep_build_leftovers(): the scratch directories of an interrupted build (leftovers.h).
#include "lib/build/leftovers.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>

#include "lib/base/dir_stream.h"
#include "lib/base/fs_at.h"
#include "lib/build/build.h"

namespace vs {
namespace {

// mkdtemp's XXXXXX: six of [A-Za-z0-9].
bool is_mkdtemp_suffix(std::string_view s) {
  return s.size() == 6 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
         });
}

bool has_prefix(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

void sweep_dir(const std::string& dir, std::string_view name, bool in_confdir, SweepResult& out) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) {
    if (errno != ENOENT) out.failed.push_back(sys_error("open", dir).message());
    return;
  }
  std::vector<std::string> found;
  auto stream = DirStream::open(fd.get(), dir);
  auto names = stream ? stream->names() : Result<std::vector<std::string>>(stream.error());
  if (!names) {
    out.failed.push_back(names.error().message());
    return;
  }
  for (auto& entry : *names) {
    if (is_build_leftover(name, entry, in_confdir)) found.push_back(std::move(entry));
  }
  std::sort(found.begin(), found.end());
  for (const auto& entry : found) {
    const std::string path = dir + "/" + entry;
    struct stat st {};
    if (::fstatat(fd.get(), entry.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) continue;
    // A symlink or a file of that name is nobody's scratch tree; one owned by another user
    // was not made by a build (which runs as root).
    if (!S_ISDIR(st.st_mode) || st.st_uid != 0) continue;
    auto d = delete_tree(path);
    if (d) {
      out.removed.push_back(path);
    } else {
      out.failed.push_back(d.error().message());
    }
  }
}

}  // namespace

bool is_build_leftover(std::string_view vdir_name, std::string_view entry, bool in_confdir) {
  if (vdir_name.empty()) return false;
  if (in_confdir) {
    if (!has_prefix(entry, ".") || !has_prefix(entry.substr(1), vdir_name)) return false;
    std::string_view rest = entry.substr(1 + vdir_name.size());
    return has_prefix(rest, ".new-") && is_mkdtemp_suffix(rest.substr(5));
  }
  if (!has_prefix(entry, vdir_name)) return false;
  std::string_view rest = entry.substr(vdir_name.size());
  for (std::string_view kind : {".build-", ".deboot-", ".tpl-"}) {
    if (has_prefix(rest, kind)) return is_mkdtemp_suffix(rest.substr(kind.size()));
  }
  return false;
}

SweepResult sweep_build_leftovers(const std::string& vdir, const std::string& confdir,
                                  std::string_view name) {
  SweepResult out;
  std::string v = vdir;
  while (v.size() > 1 && v.back() == '/') v.pop_back();
  const size_t slash = v.rfind('/');
  if (slash != std::string::npos && slash + 1 < v.size()) {
    sweep_dir(slash == 0 ? "/" : v.substr(0, slash), std::string_view(v).substr(slash + 1), false,
              out);
  }
  if (!confdir.empty()) sweep_dir(confdir, name, true, out);
  return out;
}

}  // namespace vs
