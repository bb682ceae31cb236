// A guest's seccomp settings by name (kernel-shim/seccomp.h): syscall names resolved,
// change lists parsed and formatted, the syscall lists of the state file (context_state.h).
#include <array>
#include <set>

#include "kernel-shim/seccomp.h"
#include "kernel-shim/seccomp_internal.h"

namespace vs::shim {

namespace {

using seccomp_internal::name_error;

// clang-format off
// Syscalls newer than libseccomp 2.5.4 (Debian 12) knows, by their x86_64 number
// (arch/x86/entry/syscalls/syscall_64.tbl). libseccomp's own table wins when it knows one.
struct NewerSyscall {
  const char* name;
  int nr;
};
#if defined(__x86_64__)
constexpr std::array<NewerSyscall, 18> kNewerSyscalls{{
    {"uretprobe", 335},      {"cachestat", 451},         {"fchmodat2", 452},
    {"map_shadow_stack", 453}, {"futex_wake", 454},      {"futex_wait", 455},
    {"futex_requeue", 456},  {"statmount", 457},         {"listmount", 458},
    {"lsm_get_self_attr", 459}, {"lsm_set_self_attr", 460}, {"lsm_list_modules", 461},
    {"mseal", 462},          {"setxattrat", 463},        {"getxattrat", 464},
    {"listxattrat", 465},    {"removexattrat", 466},     {"open_tree_attr", 467},
}};
#else
constexpr std::array<NewerSyscall, 0> kNewerSyscalls{};
#endif
// clang-format on

std::vector<std::string_view> split_commas(std::string_view list) {
  std::vector<std::string_view> words;
  size_t pos = 0;
  while (true) {
    size_t comma = list.find(',', pos);
    words.push_back(list.substr(pos, comma == std::string_view::npos ? list.npos : comma - pos));
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return words;
}

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ',';
    out += n;
  }
  return out;
}

}  // namespace

namespace seccomp_internal {

namespace {

constexpr const char* kNameHint = "names as in syscalls(2), e.g. keyctl";

const char* native_arch_name() {
  switch (seccomp_arch_native()) {
    case SCMP_ARCH_X86_64:
      return "x86_64";
    case SCMP_ARCH_AARCH64:
      return "aarch64";
    default:
      return "this architecture";
  }
}

}  // namespace

Error name_error(const std::string& subject, std::string_view word) {
  std::string w(word);
  if (w.empty()) return usage_error(subject, std::string("empty syscall name (") + kNameHint + ")");
  // libseccomp gives names it knows for other architectures a negative pseudo number.
  if (seccomp_syscall_resolve_name(w.c_str()) < __NR_SCMP_ERROR) {
    return usage_error(subject, "syscall `" + w + "` does not exist on " + native_arch_name() +
                                    " (" + kNameHint + ")");
  }
  return usage_error(subject, "unknown syscall `" + w + "` (" + kNameHint + ")");
}

}  // namespace seccomp_internal

std::optional<int> resolve_syscall(std::string_view name) {
  if (name.empty()) return std::nullopt;
  std::string n(name);
  int nr = seccomp_syscall_resolve_name(n.c_str());
  if (nr >= 0) return nr;
  for (const auto& s : kNewerSyscalls) {
    if (name == s.name) return s.nr;
  }
  return std::nullopt;
}

Result<void> validate(const SeccompSpec& spec) {
  std::set<std::string_view> allowed;
  for (const auto& name : spec.allow) {
    if (!resolve_syscall(name)) return name_error("seccomp.allow", name);
    allowed.insert(name);
  }
  for (const auto& name : spec.deny) {
    if (!resolve_syscall(name)) return name_error("seccomp.deny", name);
    if (allowed.count(name)) {
      return usage_error("seccomp", "syscall `" + name + "` is both allowed and denied");
    }
  }
  return ok();
}

Result<SeccompSpec> parse_seccomp_changes(std::string_view list) {
  SeccompSpec spec;
  if (list.empty()) return spec;
  std::set<std::string_view> seen;
  for (std::string_view word : split_commas(list)) {
    bool deny = false;
    std::string_view name = word;
    if (!name.empty() && (name[0] == '+' || name[0] == '-' || name[0] == '~' || name[0] == '!')) {
      deny = name[0] != '+';
      name.remove_prefix(1);
    }
    if (name.empty()) {
      return usage_error("seccomp", "empty entry `" + std::string(word) +
                                        "` (expected NAME or +NAME to allow, -NAME to deny)");
    }
    if (!resolve_syscall(name)) return name_error("seccomp", name);
    if (!seen.insert(name).second) {
      return usage_error("seccomp", "syscall `" + std::string(name) + "` given twice");
    }
    (deny ? spec.deny : spec.allow).emplace_back(name);
  }
  return spec;
}

std::string format_seccomp_changes(const SeccompSpec& spec) {
  std::string out = join(spec.allow);
  for (const auto& name : spec.deny) {
    if (!out.empty()) out += ',';
    out += '-';
    out += name;
  }
  return out;
}

Result<std::vector<std::string>> parse_syscall_list(std::string_view list, const std::string& key) {
  std::vector<std::string> names;
  if (list.empty()) return names;
  for (std::string_view word : split_commas(list)) {
    if (!resolve_syscall(word)) return name_error(key, word);
    names.emplace_back(word);
  }
  return names;
}

std::string format_syscall_list(const std::vector<std::string>& names) { return join(names); }

}  // namespace vs::shim
