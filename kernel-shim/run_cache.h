// Small facts kept in the run dir (a tmpfs, so gone at the next boot) that spare a start or an
// exec working them out again: a compiled seccomp filter, what the kernel cannot do, a warning
// already given. One file per fact, "KEY\n" then the value; the key is checked on every read,
// so a file written for other attributes (or by another version) is a miss, never a wrong
// answer. Everything here is a cache: a failure to read or write it costs time, not
// correctness, and is not reported.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace vs::shim {

/// The name, in a context's entry, of its compiled seccomp filter (context_create.cc,
/// context_enter.cc); the entry's reap removes it.
inline constexpr const char* kEntrySeccomp = "seccomp.bpf";

class RunCache {
 public:
  /// A cache in `dir` (the run dir, or a context's entry in it; root's, 0700).
  explicit RunCache(std::string dir) : dir_(std::move(dir)) {}

  /// The value stored under `name` with `key`; nullopt if there is none or it was stored with
  /// another key.
  [[nodiscard]] std::optional<std::string> get(std::string_view name, std::string_view key) const;
  /// Stores `value` under `name` with `key` (written whole and renamed into place).
  void put(std::string_view name, std::string_view key, std::string_view value) const;
  /// Removes `name`.
  void drop(std::string_view name) const;
  /// True the first time it is asked for `name` (until the run dir goes): for what is said
  /// once per boot.
  [[nodiscard]] bool first_time(std::string_view name) const;

  /// A file name for a long key: PREFIX-HEX.SUFFIX, HEX a hash of `key`.
  static std::string hashed_name(std::string_view prefix, std::string_view key,
                                 std::string_view suffix);

 private:
  std::string dir_;
};

}  // namespace vs::shim
