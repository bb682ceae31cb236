#include "lib/base/proc_stat.h"

#include <string_view>

#include "lib/base/fs_at.h"
#include "lib/base/parse.h"

namespace vs {

Result<uint64_t> process_start_time(const std::string& proc_root, pid_t pid) {
  auto text = read_file(proc_root + "/" + std::to_string(pid) + "/stat", 4096);
  if (!text) return std::move(text).error();
  // comm may contain spaces and parens: fields start after the last ')'.
  size_t close = text->rfind(')');
  if (close == std::string::npos || close + 2 > text->size()) {
    return make_error(ErrorKind::kFailed, "parse", "stat of pid " + std::to_string(pid),
                      "no comm", EINVAL);
  }
  std::string_view rest = std::string_view(*text).substr(close + 2);
  // rest starts at field 3 (state); start time is field 22.
  for (int field = 3; field < 22; ++field) {
    size_t sp = rest.find(' ');
    if (sp == std::string_view::npos) break;
    rest.remove_prefix(sp + 1);
  }
  return parse_uint(rest.substr(0, rest.find(' ')), 0, UINT64_MAX, "starttime");
}

}  // namespace vs
