// The context id (STYLE.md R14): a range-checked 16-bit number.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "lib/base/result.h"

namespace vs::shim {

class Xid {
 public:
  static constexpr uint16_t kHost = 0;
  static constexpr uint16_t kWatch = 1;
  static constexpr uint16_t kStaticMin = 2;
  static constexpr uint16_t kStaticMax = 49151;
  static constexpr uint16_t kDynamicMin = 49152;
  static constexpr uint16_t kDynamicMax = 65535;

  constexpr explicit Xid(uint16_t v) : v_(v) {}

  /// Parses any xid 0..65535 strictly (decimal, no sign, no leading zero, no junk).
  static Result<Xid> parse(std::string_view text);
  /// Parses an xid a user may give for a new or existing context: 2..65535 (0 and 1 are the
  /// host and the watch context, which are not contexts one can create or enter).
  static Result<Xid> parse_context(std::string_view text);

  [[nodiscard]] constexpr uint16_t value() const { return v_; }
  [[nodiscard]] constexpr bool is_static() const { return v_ >= kStaticMin && v_ <= kStaticMax; }
  [[nodiscard]] constexpr bool is_dynamic() const { return v_ >= kDynamicMin; }
  [[nodiscard]] constexpr bool is_context() const { return v_ >= kStaticMin; }
  [[nodiscard]] std::string str() const { return std::to_string(v_); }

  friend constexpr bool operator==(Xid a, Xid b) { return a.v_ == b.v_; }
  friend constexpr auto operator<=>(Xid a, Xid b) { return a.v_ <=> b.v_; }

 private:
  uint16_t v_;
};

}  // namespace vs::shim
