// vs::Error and vs::Result<T> (STYLE.md R2): a small std::expected look-alike whose error says
// what failed (op), on what (subject) and why (errno), with context added by callers.
#pragma once

#include <errno.h>

#include <cassert>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace vs {

/// What kind of failure an Error is; the tools map it to an exit code (exit_code.h).
enum class ErrorKind {
  kFailed,      ///< an operation failed (a syscall, the kernel said no)
  kUsage,       ///< bad argument or configuration: nothing was changed
  kNotFound,    ///< no such guest or context
  kWrongState,  ///< exists but in the wrong state (running, sealed, busy)
};

struct Error {
  ErrorKind kind = ErrorKind::kFailed;
  int code = 0;                      ///< errno (EINVAL for usage errors, not printed for them)
  std::string op;                    ///< "openat2", "mount", "parse", ...
  std::string subject;               ///< the path, xid, name or key the user knows
  std::string detail;                ///< free text for non-errno errors ("must be 2..49151")
  std::vector<std::string> context;  ///< added by callers, innermost first

  /// "create context 42: mkdir `/sys/fs/cgroup/x`: File exists"
  [[nodiscard]] std::string message() const;

  /// Adds an outer context ("start web1") and returns the error for propagation.
  Error&& wrap(std::string what) && {
    context.push_back(std::move(what));
    return std::move(*this);
  }
};

/// Builds an Error from errno captured right after the failing call.
Error sys_error(std::string op, std::string subject, int code = errno);
/// Builds an Error that is not a failed syscall (bad input, wrong state).
Error make_error(ErrorKind kind, std::string op, std::string subject, std::string detail,
                 int code = 0);
/// Shorthands: a usage error (exit 2) and a no-such-context error (exit 3).
inline Error usage_error(std::string subject, std::string detail) {
  return make_error(ErrorKind::kUsage, "invalid", std::move(subject), std::move(detail), EINVAL);
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT: implicit

  [[nodiscard]] bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { assert(has_value()); return std::get<0>(v_); }
  const T& value() const& { assert(has_value()); return std::get<0>(v_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& { assert(!has_value()); return std::get<1>(v_); }
  Error&& error() && { assert(!has_value()); return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT: implicit

  [[nodiscard]] bool has_value() const { return !failed_; }
  explicit operator bool() const { return has_value(); }
  void value() const { assert(has_value()); }

  const Error& error() const& { assert(failed_); return error_; }
  Error&& error() && { assert(failed_); return std::move(error_); }

 private:
  Error error_;
  bool failed_ = false;
};

/// The success value of Result<void>, for symmetry: `return vs::ok();`.
inline Result<void> ok() { return {}; }

}  // namespace vs
