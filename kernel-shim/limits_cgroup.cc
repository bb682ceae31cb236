// cgroup limits, the part common to both hierarchies: which directory serves a controller,
// validation, dispatch to the v1 or v2 backend, and the knob helpers the backends share.
#include <errno.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <charconv>

#include "kernel-shim/limits.h"
#include "kernel-shim/limits_backend.h"
#include "lib/base/fs_at.h"
#include "lib/base/parse.h"

namespace vs::shim {

namespace ld = limits_detail;
using ld::Controller;

namespace {

constexpr uint64_t kSharesMin = 2;
constexpr uint64_t kSharesMax = 262144;
constexpr uint64_t kSharesDefault = 1024;
constexpr uint64_t kWeightMin = 1;
constexpr uint64_t kWeightMax = 10000;
constexpr uint64_t kWeightDefault = 100;
constexpr uint64_t kQuotaMinUs = 1000;
constexpr uint64_t kPeriodMinUs = 1000;
constexpr uint64_t kPeriodMaxUs = 1000000;
constexpr uint64_t kPidsMax = 4194304;  // PID_MAX_LIMIT: pids.max takes 0..PID_MAX_LIMIT
constexpr uint64_t kCpuListMax = 65535;

constexpr std::array<Controller, 5> kControllers{Controller::kMemory, Controller::kPids,
                                                 Controller::kCpu, Controller::kCpuacct,
                                                 Controller::kCpuset};

std::vector<std::string> words(std::string_view text) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n')) ++i;
    size_t start = i;
    while (i < text.size() && text[i] != ' ' && text[i] != '\n') ++i;
    if (i > start) out.emplace_back(text.substr(start, i - start));
  }
  return out;
}

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

const std::optional<LimitDir>& dir_of(const LimitDirs& dirs, Controller c) {
  switch (c) {
    case Controller::kMemory:
      return dirs.memory;
    case Controller::kPids:
      return dirs.pids;
    case Controller::kCpu:
      return dirs.cpu;
    case Controller::kCpuacct:
      return dirs.cpuacct;
    case Controller::kCpuset:
      return dirs.cpuset;
  }
  return dirs.memory;
}

const ld::Backend& backend_for(const LimitDir& d) {
  return d.version == CgroupVersion::kV1 ? ld::v1_backend() : ld::v2_backend();
}

// Whether `limits` sets anything controller `c` serves.
bool wants(const CgroupLimits& l, Controller c) {
  switch (c) {
    case Controller::kMemory:
      return l.memory || l.memsw;
    case Controller::kPids:
      return l.pids.has_value();
    case Controller::kCpu:
      return l.cpu_shares || l.cpu_quota_us || l.cpu_period_us;
    case Controller::kCpuacct:
      return false;
    case Controller::kCpuset:
      return l.cpuset_cpus || l.cpuset_mems;
  }
  return false;
}

Error missing_controller(Controller c) {
  const std::string name(ld::controller_name(c));
  return make_error(
      ErrorKind::kFailed, "limit", name,
      name + " limits need the " + name + " controller (neither cgroup v2 nor v1 has it here)",
      ENOTSUP);
}

Result<void> check_range(const char* what, uint64_t v, uint64_t min, uint64_t max) {
  if (v >= min && v <= max) return ok();
  return usage_error(what, "`" + std::to_string(v) + "` is out of range (expected " +
                               std::to_string(min) + ".." + std::to_string(max) + ")");
}

// "0-3,5": comma-separated numbers and ascending ranges, nothing else.
Result<void> check_list(const char* what, const std::string& list) {
  auto bad = [&](const std::string& why) {
    return usage_error(what, "`" + list + "` " + why +
                                 " (expected a list like 0, 0-3 or 0,2-3: decimal numbers and "
                                 "ascending ranges, comma-separated)");
  };
  if (list.empty()) return bad("is empty");
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    std::string_view item = std::string_view(list).substr(start, end - start);
    size_t dash = item.find('-');
    auto lo = parse_uint(item.substr(0, dash), 0, kCpuListMax, what);
    if (!lo) return bad("has a bad item `" + std::string(item) + "`");
    if (dash != std::string_view::npos) {
      auto hi = parse_uint(item.substr(dash + 1), 0, kCpuListMax, what);
      if (!hi) return bad("has a bad item `" + std::string(item) + "`");
      if (*hi < *lo) return bad("has a descending range `" + std::string(item) + "`");
    }
    start = end + 1;
  }
  return ok();
}

}  // namespace

// ---- helpers shared by the backends (limits_backend.h) ----

namespace limits_detail {

std::string_view controller_name(Controller c) {
  switch (c) {
    case Controller::kMemory:
      return "memory";
    case Controller::kPids:
      return "pids";
    case Controller::kCpu:
      return "cpu";
    case Controller::kCpuacct:
      return "cpuacct";
    case Controller::kCpuset:
      return "cpuset";
  }
  return "?";
}

Result<uint64_t> parse_size(std::string_view text, uint64_t max, const std::string& what,
                            std::string_view infinity_word) {
  auto bad = [&](const std::string& why) {
    return usage_error(what, "`" + std::string(text) + "` " + why +
                                 " (expected a size in bytes like 4096, 64K, 8M or 1G, or " +
                                 std::string(infinity_word) + ")");
  };
  if (text.empty()) return bad("is empty");
  uint64_t mult = 1;
  switch (text.back()) {
    case 'K':
    case 'k':
      mult = uint64_t{1} << 10;
      break;
    case 'M':
    case 'm':
      mult = uint64_t{1} << 20;
      break;
    case 'G':
    case 'g':
      mult = uint64_t{1} << 30;
      break;
    case 'T':
    case 't':
      mult = uint64_t{1} << 40;
      break;
    default:
      break;
  }
  std::string_view digits = mult == 1 ? text : text.substr(0, text.size() - 1);
  if (digits.empty()) return bad("has no number");
  for (char c : digits) {
    if (c < '0' || c > '9') return bad("is not a number with an optional K, M, G or T suffix");
  }
  if (digits.size() > 1 && digits[0] == '0') return bad("has a leading zero");
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size()) return bad("is too large");
  if (n > max / mult) return bad("is too large");
  return n * mult;
}

Result<std::optional<std::string>> read_knob(const std::string& dir, std::string_view file) {
  const std::string path = dir + "/" + std::string(file);
  auto text = read_file(path, 1 << 20);
  if (!text) {
    if (text.error().code == ENOENT) return std::optional<std::string>();
    Error e = std::move(text).error();
    e.subject = path;
    return e;
  }
  return std::optional<std::string>(std::move(*text));
}

Result<std::string> read_knob_required(const std::string& dir, std::string_view file) {
  const std::string path = dir + "/" + std::string(file);
  auto text = read_file(path, 1 << 20);
  if (!text) {
    Error e = std::move(text).error();
    e.subject = path;
    return e;
  }
  return std::move(*text);
}

Result<void> write_knob(const std::string& dir, std::string_view file, std::string_view value) {
  const std::string path = dir + "/" + std::string(file);
  if (auto r = write_file(path, value); !r) {
    Error e = std::move(r).error();
    e.subject = path;
    e.detail = "`" + std::string(value) + "`" + (e.detail.empty() ? "" : ": " + e.detail);
    return e;
  }
  return ok();
}

bool has_knob(const std::string& dir, std::string_view file) {
  struct stat st {};
  return ::stat((dir + "/" + std::string(file)).c_str(), &st) == 0;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  return text;
}

Result<uint64_t> parse_counter(std::string_view text, const std::string& path) {
  std::string_view t = trim(text);
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || end != t.data() + t.size()) {
    return make_error(ErrorKind::kFailed, "parse", path,
                      "`" + std::string(t) + "` is not a counter", EINVAL);
  }
  return v;
}

Result<std::optional<uint64_t>> keyed_counter(std::string_view text, std::string_view key,
                                              const std::string& path) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    size_t space = line.find(' ');
    if (space == std::string_view::npos || line.substr(0, space) != key) continue;
    auto v = parse_counter(line.substr(space + 1), path);
    if (!v) return std::move(v).error();
    return std::optional<uint64_t>(*v);
  }
  return std::optional<uint64_t>();
}

Result<uint64_t> parse_max_or_number(std::string_view text, const std::string& path) {
  if (trim(text) == "max") return kNoLimit;
  return parse_counter(text, path);
}

Result<void> read_counter_into(const std::string& dir, std::string_view file,
                               std::optional<uint64_t>& out) {
  auto text = read_knob(dir, file);
  if (!text) return std::move(text).error();
  if (!*text) return ok();
  auto v = parse_counter(**text, dir + "/" + std::string(file));
  if (!v) return std::move(v).error();
  out = *v;
  return ok();
}

Result<void> read_keyed_into(const std::string& dir, std::string_view file, std::string_view key,
                             std::optional<uint64_t>& out, uint64_t divisor) {
  auto text = read_knob(dir, file);
  if (!text) return std::move(text).error();
  if (!*text) return ok();
  auto v = keyed_counter(**text, key, dir + "/" + std::string(file));
  if (!v) return std::move(v).error();
  if (*v) out = **v / divisor;
  return ok();
}

Result<void> read_keyed_sum_into(const std::string& dir, std::string_view file,
                                 std::initializer_list<std::string_view> keys,
                                 std::optional<uint64_t>& out) {
  auto text = read_knob(dir, file);
  if (!text) return std::move(text).error();
  if (!*text) return ok();
  for (auto key : keys) {
    auto v = keyed_counter(**text, key, dir + "/" + std::string(file));
    if (!v) return std::move(v).error();
    if (*v) out = out.value_or(0) + **v;
  }
  return ok();
}

Result<void> set_cpuset(const std::string& dir, const CgroupLimits& limits) {
  if (limits.cpuset_cpus) {
    if (auto r = write_knob(dir, "cpuset.cpus", *limits.cpuset_cpus); !r) return r;
  }
  if (limits.cpuset_mems) return write_knob(dir, "cpuset.mems", *limits.cpuset_mems);
  return ok();
}

std::string format_max(uint64_t value) {
  return value == kNoLimit ? std::string("max") : std::to_string(value);
}

}  // namespace limits_detail

// ---- public ----

Result<uint64_t> parse_size_or_max(std::string_view text, std::string_view what) {
  if (text == "max" || text == "inf" || text == "unlimited") return kNoLimit;
  return ld::parse_size(text, kNoLimit - 1, std::string(what), "max");
}

uint64_t cpu_shares_to_weight(uint64_t shares) {
  uint64_t w = (shares * kWeightDefault + kSharesDefault / 2) / kSharesDefault;
  return std::clamp(w, kWeightMin, kWeightMax);
}

uint64_t cpu_weight_to_shares(uint64_t weight) {
  uint64_t s = (weight * kSharesDefault + kWeightDefault / 2) / kWeightDefault;
  return std::clamp(s, kSharesMin, kSharesMax);
}

LimitDirs LimitDirs::resolve(const CgroupLayout& layout, const std::string& v2_path,
                             const std::vector<std::string>& v1_paths) {
  std::vector<std::string> v2;
  if (!v2_path.empty()) {
    auto text = read_file(v2_path + "/cgroup.controllers");
    v2 = text ? words(*text) : layout.v2_controllers();
  }
  auto pick = [&](Controller c) -> std::optional<LimitDir> {
    const std::string name(ld::controller_name(c));
    if (!v2_path.empty() && contains(v2, name)) return LimitDir{CgroupVersion::kV2, v2_path};
    if (const auto* h = layout.v1_for(name)) {
      const std::string prefix = h->mount_point + "/";
      for (const auto& p : v1_paths) {
        if (p.compare(0, prefix.size(), prefix) == 0) return LimitDir{CgroupVersion::kV1, p};
      }
    }
    return std::nullopt;
  };
  LimitDirs d;
  d.memory = pick(Controller::kMemory);
  d.pids = pick(Controller::kPids);
  d.cpu = pick(Controller::kCpu);
  d.cpuset = pick(Controller::kCpuset);
  d.cpuacct = pick(Controller::kCpuacct);
  // cgroup v2 has no cpuacct: its cpu.stat usage_usec is there without any controller.
  if (!d.cpuacct && !v2_path.empty()) d.cpuacct = LimitDir{CgroupVersion::kV2, v2_path};
  return d;
}

LimitDirs LimitDirs::resolve(const CgroupLayout& layout, const ContextCgroup& cg) {
  return resolve(layout, cg.v2_path(), cg.v1_paths());
}

Result<void> validate_cgroup_limits(const CgroupLimits& l) {
  if (l.memory && *l.memory == 0) {
    return usage_error("memory", "`0` is no memory at all (expected a size like 64M, or max)");
  }
  if (l.memsw && *l.memsw == 0) {
    return usage_error("memsw", "`0` is no memory at all (expected a size like 128M, or max)");
  }
  if (l.memory && l.memsw && *l.memsw < *l.memory) {
    return usage_error("memsw", "memory+swap " + ld::format_max(*l.memsw) +
                                    " is below the memory limit " + ld::format_max(*l.memory) +
                                    " (memsw counts memory and swap together)");
  }
  if (l.pids && *l.pids != kNoLimit) {
    if (auto r = check_range("pids", *l.pids, 0, kPidsMax); !r) return r;
  }
  if (l.cpu_shares) {
    if (auto r = check_range("cpu shares", *l.cpu_shares, kSharesMin, kSharesMax); !r) return r;
  }
  if (l.cpu_quota_us && *l.cpu_quota_us != kNoLimit) {
    if (auto r = check_range("cpu quota", *l.cpu_quota_us, kQuotaMinUs, kNoLimit - 1); !r) {
      return r;
    }
  }
  if (l.cpu_period_us) {
    if (auto r = check_range("cpu period", *l.cpu_period_us, kPeriodMinUs, kPeriodMaxUs); !r) {
      return r;
    }
  }
  if (l.cpuset_cpus) {
    if (auto r = check_list("cpuset cpus", *l.cpuset_cpus); !r) return r;
  }
  if (l.cpuset_mems) {
    if (auto r = check_list("cpuset mems", *l.cpuset_mems); !r) return r;
  }
  return ok();
}

Result<void> set_cgroup_limits(const LimitDirs& dirs, const CgroupLimits& limits) {
  if (auto r = validate_cgroup_limits(limits); !r) return r;
  for (Controller c : kControllers) {
    if (!wants(limits, c)) continue;
    const auto& d = dir_of(dirs, c);
    if (!d) return missing_controller(c);
    if (auto r = backend_for(*d).check(c, d->path, limits); !r) return r;
  }
  for (Controller c : kControllers) {
    if (!wants(limits, c)) continue;
    const auto& d = dir_of(dirs, c);
    if (auto r = backend_for(*d).set(c, d->path, limits); !r) return r;
  }
  return ok();
}

Result<CgroupLimits> read_cgroup_limits(const LimitDirs& dirs) {
  CgroupLimits out;
  for (Controller c : kControllers) {
    const auto& d = dir_of(dirs, c);
    if (!d || c == Controller::kCpuacct) continue;
    if (auto r = backend_for(*d).read_limits(c, d->path, out); !r) return std::move(r).error();
  }
  return out;
}

Result<CgroupUsage> read_cgroup_usage(const LimitDirs& dirs) {
  CgroupUsage out;
  for (Controller c : kControllers) {
    const auto& d = dir_of(dirs, c);
    if (!d || c == Controller::kCpuset) continue;
    if (auto r = backend_for(*d).read_usage(c, d->path, out); !r) return std::move(r).error();
  }
  return out;
}

}  // namespace vs::shim
