// Private to limits.cc, limits_cgroup.cc, limits_v1.cc and limits_v2.cc: value parsing the
// two share, the cgroupfs knob helpers, and the backend interface. Not part of the API.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "kernel-shim/limits.h"
#include "lib/base/result.h"

namespace vs::shim::limits_detail {

/// The controllers limits use; each is served by one directory (LimitDirs).
enum class Controller { kMemory, kPids, kCpu, kCpuacct, kCpuset };

/// "memory", "pids", "cpu", "cpuacct", "cpuset".
std::string_view controller_name(Controller c);

/// A decimal size with one optional binary suffix K, M, G or T (either case), at most `max`.
/// `infinity_word` only names the alternative in the error text ("inf", "max").
Result<uint64_t> parse_size(std::string_view text, uint64_t max, const std::string& what,
                            std::string_view infinity_word);

/// Reads DIR/FILE. A missing file (ENOENT) is std::nullopt, not an error.
Result<std::optional<std::string>> read_knob(const std::string& dir, std::string_view file);
/// Reads DIR/FILE, which must exist.
Result<std::string> read_knob_required(const std::string& dir, std::string_view file);
/// Writes VALUE to DIR/FILE (one write(2)); the error's subject is the file's path.
Result<void> write_knob(const std::string& dir, std::string_view file, std::string_view value);
/// True if DIR/FILE exists.
bool has_knob(const std::string& dir, std::string_view file);

/// The text without trailing newlines and spaces.
std::string_view trim(std::string_view text);
/// A counter file's content ("123\n"); `path` names it in the error.
Result<uint64_t> parse_counter(std::string_view text, const std::string& path);
/// The number after `key` in a "key value" per line file (memory.events, cpu.stat), or
/// std::nullopt if the key is absent; a value that is not a number is an error.
Result<std::optional<uint64_t>> keyed_counter(std::string_view text, std::string_view key,
                                              const std::string& path);
/// "max" or a number (v2 memory.max, pids.max; v1 pids.max): kNoLimit for "max".
Result<uint64_t> parse_max_or_number(std::string_view text, const std::string& path);
/// Sets `out` from the counter file DIR/FILE; leaves it empty if the file does not exist.
Result<void> read_counter_into(const std::string& dir, std::string_view file,
                               std::optional<uint64_t>& out);
/// Sets `out` from the `key` line of DIR/FILE divided by `divisor`; leaves it empty if the
/// file or the line does not exist.
Result<void> read_keyed_into(const std::string& dir, std::string_view file, std::string_view key,
                             std::optional<uint64_t>& out, uint64_t divisor = 1);
/// Sets `out` to the sum of the `keys` lines of DIR/FILE (memory.stat), read once; leaves it
/// empty if the file or every line is missing.
Result<void> read_keyed_sum_into(const std::string& dir, std::string_view file,
                                 std::initializer_list<std::string_view> keys,
                                 std::optional<uint64_t>& out);
/// kNoLimit -> "max", else the number.
std::string format_max(uint64_t value);

/// Writes cpuset.cpus and cpuset.mems where `limits` has them (the same files in v1 and v2).
Result<void> set_cpuset(const std::string& dir, const CgroupLimits& limits);

/// One hierarchy's way of writing and reading the files of a controller's directory.
class Backend {
 public:
  virtual ~Backend() = default;
  /// Checks, without writing, what only the directory can tell (a file that must exist, a
  /// current value a new one must fit with). Called for every controller before any set().
  virtual Result<void> check(Controller c, const std::string& dir,
                             const CgroupLimits& limits) const = 0;
  /// Writes the fields of `limits` that belong to controller `c`.
  virtual Result<void> set(Controller c, const std::string& dir,
                           const CgroupLimits& limits) const = 0;
  /// Fills the fields of `out` that belong to controller `c`.
  virtual Result<void> read_limits(Controller c, const std::string& dir,
                                   CgroupLimits& out) const = 0;
  virtual Result<void> read_usage(Controller c, const std::string& dir, CgroupUsage& out) const = 0;
};

const Backend& v1_backend();
const Backend& v2_backend();

}  // namespace vs::shim::limits_detail
