#include "lib/base/result.h"

#include <string.h>

namespace vs {

std::string Error::message() const {
  std::string out;
  for (auto it = context.rbegin(); it != context.rend(); ++it) {
    out += *it;
    out += ": ";
  }
  out += op;
  if (!subject.empty()) {
    out += " `";
    out += subject;
    out += '`';
  }
  if (!detail.empty()) {
    out += ": ";
    out += detail;
  }
  // A usage error explains itself; "Invalid argument" would add nothing.
  if (code != 0 && kind != ErrorKind::kUsage) {
    out += ": ";
    out += ::strerror(code);
  }
  return out;
}

Error sys_error(std::string op, std::string subject, int code) {
  Error e;
  e.code = code;
  e.op = std::move(op);
  e.subject = std::move(subject);
  return e;
}

Error make_error(ErrorKind kind, std::string op, std::string subject, std::string detail,
                 int code) {
  Error e;
  e.kind = kind;
  e.code = code;
  e.op = std::move(op);
  e.subject = std::move(subject);
  e.detail = std::move(detail);
  return e;
}

}  // namespace vs
