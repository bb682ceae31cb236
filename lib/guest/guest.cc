#include "lib/guest/guest.h"

#include <string.h>

#include <arpa/inet.h>
#include <signal.h>
#include <netinet/in.h>

#include <algorithm>
#include <sys/socket.h>

#include "lib/base/parse.h"

namespace vs {

namespace {

constexpr std::string_view kNameRule =
    "1 to 63 letters, digits and '-' as in a DNS label, not starting or ending with '-'";

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Printable form of a hostile name for a message: control and non-ASCII bytes as \xNN.
std::string printable(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f || c == '`' || c == '\\') {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace

Result<void> validate_guest_name(std::string_view name) {
  auto bad = [&](std::string why) {
    return make_error(ErrorKind::kUsage, "invalid guest name", printable(name),
                      why + " (allowed: " + std::string(kNameRule) + ")", EINVAL);
  };
  if (name.empty()) return bad("empty");
  if (name.size() > 63) return bad("longer than 63 characters");
  for (char c : name) {
    if (!is_alnum(c) && c != '-') {
      return bad("character `" + printable(std::string_view(&c, 1)) + "` is not allowed");
    }
  }
  if (name.front() == '-' || name.back() == '-') return bad("starts or ends with '-'");
  return ok();
}

Result<bool> parse_interface_address(std::string_view text, Interface* out) {
  auto bad = [](std::string why) { return usage_error("address", std::move(why)); };
  std::string_view addr = text;
  std::optional<unsigned> prefix;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    addr = text.substr(0, slash);
  }
  if (addr.find('%') != std::string_view::npos) {
    return bad("`" + std::string(text) + "` has a zone id; give the device in `dev`");
  }
  std::string a(addr);
  unsigned char buf[16];
  int family = 0;
  if (::inet_pton(AF_INET, a.c_str(), buf) == 1) {
    family = AF_INET;
  } else if (a.find(':') != std::string::npos && ::inet_pton(AF_INET6, a.c_str(), buf) == 1) {
    family = AF_INET6;
  } else {
    return bad("`" + std::string(text) + "` is not an IPv4 or IPv6 address");
  }
  unsigned max_prefix = family == AF_INET ? 32 : 128;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    auto p = parse_uint(text.substr(slash + 1), 0, max_prefix, "prefix");
    if (!p) {
      return bad("`" + std::string(text) + "`: prefix must be 0.." + std::to_string(max_prefix));
    }
    prefix = static_cast<unsigned>(*p);
  }
  if (family == AF_INET) {
    uint32_t v = (uint32_t{buf[0]} << 24) | (uint32_t{buf[1]} << 16) | (uint32_t{buf[2]} << 8) |
                 uint32_t{buf[3]};
    if (v == 0 || v == 0xffffffffu || buf[0] == 127 || (buf[0] & 0xf0) == 0xe0) {
      return bad("`" + std::string(text) +
                 "` is not a unicast address (unspecified, broadcast, loopback or multicast)");
    }
  } else {
    static const unsigned char kZero[16] = {};
    static const unsigned char kLoop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (std::equal(buf, buf + 16, kZero) || std::equal(buf, buf + 16, kLoop) || buf[0] == 0xff) {
      return bad("`" + std::string(text) +
                 "` is not a unicast address (unspecified, loopback or multicast)");
    }
  }
  char canon[INET6_ADDRSTRLEN];
  if (!::inet_ntop(family, buf, canon, sizeof canon)) return bad("cannot render address");
  out->address = canon;
  out->family = family;
  if (prefix) out->prefix = *prefix;
  return prefix.has_value();
}

std::vector<std::string> effective_init_command(const GuestConfig& config) {
  if (!config.init_command.empty()) return config.init_command;
  switch (config.init_style) {
    case InitStyle::kPlain: return {"/sbin/init"};
    case InitStyle::kSysv: return {"/etc/init.d/rc", "3"};
    case InitStyle::kMinit: break;
  }
  return {};
}

std::string init_exec_hint(const GuestConfig& config, int code, const std::string& config_file) {
  const auto cmd = effective_init_command(config);
  if (cmd.empty()) return "";
  const std::string style(init_style_name(config.init_style));
  std::string out = config.init_command.empty()
                        ? "init style '" + style + "' runs " + cmd.front()
                        : "[init] command runs " + cmd.front() + " (init style '" + style + "')";
  out += code == ENOENT ? ", which the guest does not have"
                        : ", which the guest cannot run (" + std::string(::strerror(code)) + ")";
  if (!config.init_command.empty()) {
    return out + ": fix [init] command in " + config_file + ", or set [init] style = \"minit\" "
                 "and no command (the built-in init, which needs nothing of the guest)";
  }
  out += ": set [init] style = \"minit\" in " + config_file +
         " (the built-in init, which needs nothing of the guest)";
  if (config.init_style == InitStyle::kSysv) {
    return out + ", or install sysv-rc in the guest";
  }
  return out + ", or install an init in the guest (Debian: sysvinit-core)";
}

int effective_stop_signal(const GuestConfig& config) {
  if (config.stop_signal != 0) return config.stop_signal;
  return config.init_style == InitStyle::kPlain ? SIGPWR : SIGTERM;
}

std::string_view net_mode_name(NetMode mode) {
  return mode == NetMode::kShared ? "shared" : "isolated";
}

std::string_view init_style_name(InitStyle style) {
  switch (style) {
    case InitStyle::kPlain:
      return "plain";
    case InitStyle::kSysv:
      return "sysv";
    case InitStyle::kMinit:
      return "minit";
  }
  return "plain";
}

}  // namespace vs
