// vuname: shows or sets the uname fields of a context (util-vserver's vuname, on the shim).
// On a stock kernel only nodename and domainname belong to a (uts) namespace; the other
// fields are the host kernel's and can be shown but not set.
#include <fcntl.h>
#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "kernel-shim/context.h"
#include "lib/base/child.h"
#include "tools/common/cli.h"

namespace {

using vs::Error;
using vs::Result;

constexpr const char* kTool = "vuname";
constexpr size_t kMaxValue = 64;  // __NEW_UTS_LEN
constexpr std::array<const char*, 7> kTags{"context", "sysname", "nodename",  "release",
                                           "version", "machine", "domainname"};

Error usage(std::string what, std::string detail) {
  return vs::make_error(vs::ErrorKind::kUsage, std::move(what), "", std::move(detail));
}

bool is_tag(const std::string& t) {
  for (const char* k : kTags) {
    if (t == k) return true;
  }
  return false;
}

Result<void> check_value(const std::string& tag, const std::string& value) {
  if (tag != "nodename" && tag != "domainname") {
    return usage(tag, "cannot be set on a stock kernel (only nodename, domainname)");
  }
  if (value.size() > kMaxValue) return usage(tag, "value longer than 64 bytes");
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return usage(tag, "value contains a control character (newline, tab, ...)");
    }
  }
  if (tag != "nodename") return vs::ok();
  if (value.empty() || value[0] == '-') return usage(tag, "not a valid host name");
  for (char c : value) {
    bool good = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '.';
    if (!good) return usage(tag, "not a valid host name (letters, digits, '-' and '.' only)");
  }
  return vs::ok();
}

// In the context's uts namespace (a child joins it; we stay where we are), sets `sets` and
// reads the fields sysname, nodename, release, version, machine, domainname into `fields`,
// '\0'-separated over a pipe. Returns the exit code; whoever failed (child or parent) has
// reported the error.
int in_context_uts(const vs::shim::ContextTable& table, vs::shim::Xid xid,
                   const std::vector<std::pair<std::string, std::string>>& sets,
                   std::vector<std::string>* fields) {
  auto fail = [&](Error e) {
    return vs::tool::report(kTool, std::move(e).wrap("context " + xid.str()));
  };
  int p[2];
  if (::pipe2(p, O_CLOEXEC) < 0) return fail(vs::sys_error("pipe2", ""));
  vs::UniqueFd rd(p[0]), wr(p[1]);
  auto child = vs::Child::spawn({}, [&] {
    rd.reset();
    if (auto r = vs::shim::enter_namespaces(table, xid, CLONE_NEWUTS); !r) return fail(r.error());
    for (const auto& [tag, v] : sets) {
      bool node = tag == "nodename";
      if ((node ? ::sethostname(v.data(), v.size()) : ::setdomainname(v.data(), v.size())) < 0) {
        return fail(vs::sys_error(node ? "sethostname" : "setdomainname", v));
      }
    }
    struct utsname u = {};
    if (::uname(&u) < 0) return fail(vs::sys_error("uname", ""));
    std::string out;
    for (const char* f : {u.sysname, u.nodename, u.release, u.version, u.machine, u.domainname}) {
      out += std::string(f) + '\0';
    }
    return ::write(wr.get(), out.data(), out.size()) == static_cast<ssize_t>(out.size()) ? 0 : 1;
  });
  if (!child) return fail(std::move(child).error());
  wr.reset();
  std::string reply;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(rd.get(), buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) reply.append(buf, static_cast<size_t>(n));
  }
  auto status = child->wait();
  if (!status) return fail(std::move(status).error());
  if (status->as_exit_code() != 0) return status->as_exit_code();
  fields->assign(1, xid.str());
  for (size_t at = 0, end; (end = reply.find('\0', at)) != std::string::npos; at = end + 1) {
    fields->push_back(reply.substr(at, end - at));
  }
  if (fields->size() != kTags.size()) return fail(vs::sys_error("read", "uts helper", EIO));
  return vs::kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "Show or set the uname fields (TAGs: context, sysname, nodename, release, "
      "version, machine, domainname) of a context.",
      kTool};
  std::string arg_xid;
  bool arg_get = false, arg_set = false;
  std::vector<std::string> arg_tags;
  vs::tool::CommonOptions arg_common;
  app.add_option("-x,--xid", arg_xid, "the context (2..65535)")->required()->type_name("XID");
  app.add_flag("-g,--get", arg_get, "print fields (the default)");
  app.add_flag("-s,--set", arg_set, "set fields given as -t TAG=VALUE");
  app.add_option("-t,--tag", arg_tags, "TAG to print, or TAG=VALUE to set (repeatable)")
      ->type_name("TAG[=VALUE]");
  vs::tool::add_common_options(app, arg_common);
  int code = 0;
  if (!vs::tool::parse_args(app, argc, argv, &code)) return code;
  auto fail = [](const Error& e) { return vs::tool::report(kTool, e); };

  if (arg_get && arg_set) return fail(usage("--get", "cannot be combined with --set"));
  auto xid = vs::tool::parse_xid_arg(arg_xid);
  if (!xid) return fail(xid.error());
  std::vector<std::pair<std::string, std::string>> sets;
  for (const auto& t : arg_tags) {
    size_t eq = t.find('=');
    std::string tag = t.substr(0, eq);
    if (!is_tag(tag)) {
      return fail(usage("-t", "unknown TAG `" + tag +
                                  "` (expected context, sysname, nodename, "
                                  "release, version, machine or domainname)"));
    }
    if (arg_set != (eq != std::string::npos)) {
      return fail(usage("-t " + t, arg_set ? "--set takes TAG=VALUE" : "--get takes a TAG"));
    }
    if (arg_set) {
      for (const auto& s : sets) {
        if (s.first == tag) return fail(usage(tag, "given twice"));
      }
      sets.emplace_back(tag, t.substr(eq + 1));
      if (auto r = check_value(tag, sets.back().second); !r) return fail(r.error());
    }
  }
  if (arg_set && sets.empty()) return fail(usage("--set", "no -t TAG=VALUE given"));

  vs::shim::ContextTable table(vs::tool::shim_config(arg_common));
  if (auto r = table.prepare(); !r) return fail(r.error());
  auto state = table.lookup(*xid);
  if (!state) return fail(state.error());
  if (arg_set && state->stage == vs::shim::ContextStage::kRunning) {
    auto self = table.current_xid();
    if (self && *self == *xid) {
      return fail(vs::make_error(vs::ErrorKind::kWrongState, "set uname", "",
                                 "context " + xid->str() + " is sealed", EPERM));
    }
  }
  std::vector<std::string> fields;
  if (int rc = in_context_uts(table, *xid, sets, &fields); rc != 0 || arg_set) return rc;
  std::string out;
  for (size_t i = 0; i < kTags.size(); ++i) {
    if (arg_tags.empty()) {
      out += std::string(kTags[i]) + "=" + fields[i] + "\n";
    }
  }
  for (const auto& t : arg_tags) {
    for (size_t i = 0; i < kTags.size(); ++i) {
      if (t == kTags[i]) out += fields[i] + "\n";
    }
  }
  std::fputs(out.c_str(), stdout);
  return vs::kExitOk;
}
