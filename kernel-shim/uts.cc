#include "kernel-shim/uts.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <charconv>
#include <utility>
#include <vector>

#include "kernel-shim/context.h"
#include "lib/base/child.h"
#include "lib/base/eintr.h"
#include "lib/base/fs_at.h"

namespace vs::shim {

namespace {

constexpr size_t kMaxValue = 64;  // __NEW_UTS_LEN

Error usage(std::string_view field, std::string detail) {
  return make_error(ErrorKind::kUsage, std::string(field), "", std::move(detail));
}

// The child's reply on the pipe: 'O' and the six fields, or 'E' and an Error (kind, code,
// op, subject, detail, context...), every item '\0'-terminated.
std::string encode_fields(const struct utsname& u) {
  std::string out = "O";
  for (const char* f : {u.sysname, u.nodename, u.release, u.version, u.machine, u.domainname}) {
    out += std::string(f) + '\0';
  }
  return out;
}

std::string encode_error(const Error& e) {
  std::string out = "E";
  for (const std::string& item : {std::to_string(static_cast<int>(e.kind)), std::to_string(e.code),
                                  e.op, e.subject, e.detail}) {
    out += item + '\0';
  }
  for (const auto& c : e.context) out += c + '\0';
  return out;
}

std::vector<std::string> split_items(std::string_view text) {
  std::vector<std::string> out;
  for (size_t at = 0, end; (end = text.find('\0', at)) != std::string_view::npos; at = end + 1) {
    out.emplace_back(text.substr(at, end - at));
  }
  return out;
}

Error bad_reply() { return sys_error("read", "uts helper", EIO); }

// What a reply says: the fields, or the child's error.
Result<UtsFields> decode(std::string_view reply) {
  if (reply.empty()) return bad_reply();
  auto items = split_items(reply.substr(1));
  if (reply[0] == 'O' && items.size() == 6) {
    return UtsFields{items[0], items[1], items[2], items[3], items[4], items[5]};
  }
  if (reply[0] != 'E' || items.size() < 5) return bad_reply();
  int kind = 0;
  int code = 0;
  std::from_chars(items[0].data(), items[0].data() + items[0].size(), kind);
  std::from_chars(items[1].data(), items[1].data() + items[1].size(), code);
  if (kind < 0 || kind > static_cast<int>(ErrorKind::kWrongState)) return bad_reply();
  Error e = make_error(static_cast<ErrorKind>(kind), items[2], items[3], items[4], code);
  e.context.assign(items.begin() + 5, items.end());
  return e;
}

// In a child that joins the context's uts namespace (we stay where we are): sets `change`,
// then reads the fields.
Result<UtsFields> in_context_uts(const ContextTable& table, Xid xid, const UtsChange& change) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return sys_error("pipe2", "");
  UniqueFd rd(p[0]), wr(p[1]);
  auto child = Child::spawn({}, [&] {
    rd.reset();
    auto reply = [&]() -> Result<std::string> {
      if (auto r = enter_namespaces(table, xid, CLONE_NEWUTS); !r) return std::move(r).error();
      if (change.nodename && ::sethostname(change.nodename->data(), change.nodename->size()) < 0) {
        return sys_error("sethostname", *change.nodename);
      }
      if (change.domainname &&
          ::setdomainname(change.domainname->data(), change.domainname->size()) < 0) {
        return sys_error("setdomainname", *change.domainname);
      }
      struct utsname u = {};
      if (::uname(&u) < 0) return sys_error("uname", "");
      return encode_fields(u);
    }();
    const std::string out = reply ? *reply : encode_error(reply.error());
    return write_all(wr.get(), out) ? 0 : 1;
  });
  if (!child) return std::move(child).error();
  wr.reset();
  std::string reply;
  char buf[4096];
  ssize_t n;
  while ((n = retry_eintr([&] { return ::read(rd.get(), buf, sizeof buf); })) > 0) {
    reply.append(buf, static_cast<size_t>(n));
  }
  auto status = child->wait();
  if (!status) return std::move(status).error();
  return decode(reply);
}

}  // namespace

Result<void> check_uts_value(std::string_view field, std::string_view value) {
  if (field != "nodename" && field != "domainname") {
    return usage(field, "cannot be set on a stock kernel (only nodename, domainname)");
  }
  if (value.size() > kMaxValue) return usage(field, "value longer than 64 bytes");
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return usage(field, "value contains a control character (newline, tab, ...)");
    }
  }
  if (field != "nodename") return ok();
  if (value.empty() || value[0] == '-') return usage(field, "not a valid host name");
  for (char c : value) {
    bool good = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '.';
    if (!good) return usage(field, "not a valid host name (letters, digits, '-' and '.' only)");
  }
  return ok();
}

Result<UtsFields> get_uts(const ContextTable& table, Xid xid) {
  auto state = table.lookup(xid);
  if (!state) return std::move(state).error();
  auto fields = in_context_uts(table, xid, {});
  if (!fields) return std::move(fields).error().wrap("context " + xid.str());
  return fields;
}

Result<void> set_uts(const ContextTable& table, Xid xid, const UtsChange& change) {
  if (change.nodename) {
    if (auto r = check_uts_value("nodename", *change.nodename); !r) return r;
  }
  if (change.domainname) {
    if (auto r = check_uts_value("domainname", *change.domainname); !r) return r;
  }
  auto state = table.lookup(xid);
  if (!state) return std::move(state).error();
  if (state->stage == ContextStage::kRunning) {
    auto self = table.current_xid();
    if (self && *self == xid) {
      return make_error(ErrorKind::kWrongState, "set uname", "",
                        "context " + xid.str() + " is sealed", EPERM);
    }
  }
  auto fields = in_context_uts(table, xid, change);
  if (!fields) return std::move(fields).error().wrap("context " + xid.str());
  return ok();
}

}  // namespace vs::shim
