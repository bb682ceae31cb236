#include "kernel-shim/xid.h"

#include "lib/base/parse.h"

namespace vs::shim {

Result<Xid> Xid::parse(std::string_view text) {
  auto n = parse_uint(text, 0, kDynamicMax, "xid");
  if (!n) return std::move(n).error();
  return Xid(static_cast<uint16_t>(*n));
}

Result<Xid> Xid::parse_context(std::string_view text) {
  auto x = parse(text);
  if (!x) return x;
  if (!x->is_context()) {
    return usage_error("xid", "`" + std::string(text) +
                                  "` is reserved (0 is the host, 1 the watch context; "
                                  "contexts are 2..49151 static, 49152..65535 dynamic)");
  }
  return x;
}

}  // namespace vs::shim
