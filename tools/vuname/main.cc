// vuname: shows or sets the uname fields of a context (util-vserver's vuname, on the shim:
// kernel-shim/uts.h). On a stock kernel only nodename and domainname belong to a (uts)
// namespace; the other fields are the host kernel's and can be shown but not set.
#include <array>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "kernel-shim/context_table.h"
#include "kernel-shim/uts.h"
#include "tools/common/cli.h"

namespace {

using vs::Error;

constexpr const char* kTool = "vuname";
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

// The value of each tag of kTags, in that order.
std::array<std::string, kTags.size()> values(vs::shim::Xid xid, vs::shim::UtsFields f) {
  return {xid.str(),
          std::move(f.sysname),
          std::move(f.nodename),
          std::move(f.release),
          std::move(f.version),
          std::move(f.machine),
          std::move(f.domainname)};
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
      if (auto r = vs::shim::check_uts_value(tag, sets.back().second); !r) {
        return fail(r.error());
      }
    }
  }
  if (arg_set && sets.empty()) return fail(usage("--set", "no -t TAG=VALUE given"));
  vs::shim::UtsChange change;
  for (auto& [tag, value] : sets) {
    (tag == "nodename" ? change.nodename : change.domainname) = std::move(value);
  }

  vs::shim::ContextTable table(vs::tool::shim_config(arg_common));
  if (auto r = table.prepare(); !r) return fail(r.error());
  if (arg_set) {
    if (auto r = vs::shim::set_uts(table, *xid, change); !r) return fail(r.error());
    return vs::kExitOk;
  }
  auto fields = vs::shim::get_uts(table, *xid);
  if (!fields) return fail(fields.error());
  const auto value = values(*xid, std::move(*fields));
  std::string out;
  for (size_t i = 0; i < kTags.size(); ++i) {
    if (arg_tags.empty()) out += std::string(kTags[i]) + "=" + value[i] + "\n";
  }
  for (const auto& t : arg_tags) {
    for (size_t i = 0; i < kTags.size(); ++i) {
      if (t == kTags[i]) out += value[i] + "\n";
    }
  }
  std::fputs(out.c_str(), stdout);
  return vs::kExitOk;
}
