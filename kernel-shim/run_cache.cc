#include "kernel-shim/run_cache.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "lib/base/fs_at.h"

namespace vs::shim {

std::optional<std::string> RunCache::get(std::string_view name, std::string_view key) const {
  auto text = read_file(dir_ + "/" + std::string(name), 1 << 20);
  if (!text) return std::nullopt;
  size_t nl = text->find('\n');
  if (nl == std::string::npos || std::string_view(*text).substr(0, nl) != key) return std::nullopt;
  return text->substr(nl + 1);
}

void RunCache::put(std::string_view name, std::string_view key, std::string_view value) const {
  UniqueFd dir(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return;
  std::string text(key);
  text += '\n';
  text += value;
  (void)atomic_write_at(dir.get(), name, text, 0600);
}

void RunCache::drop(std::string_view name) const {
  ::unlink((dir_ + "/" + std::string(name)).c_str());
}

bool RunCache::first_time(std::string_view name) const {
  const std::string path = dir_ + "/" + std::string(name);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  return fd || errno != EEXIST;
}

std::string RunCache::hashed_name(std::string_view prefix, std::string_view key,
                                  std::string_view suffix) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ULL;
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return std::string(prefix) + "-" + hex + std::string(suffix);
}

}  // namespace vs::shim
