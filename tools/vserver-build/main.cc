// vserver-build: `vserver NAME build` (vserver execs it): a new guest's configuration and root
// tree from one of the build methods. A tool of its own because the methods need libarchive,
// which Debian ships as a shared library only, while `vserver` itself is static.
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "kernel-shim/context_table.h"
#include "lib/build/guest_build.h"
#include "lib/config/config.h"
#include "lib/guest/lifecycle.h"
#include "tools/common/cli.h"

namespace {

using vs::shim::ContextTable;

constexpr const char* kTool = "vserver";

int fail(const vs::Error& e) { return vs::tool::report(kTool, e); }

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Build a new guest: its configuration in CONFDIR/NAME and its root tree "
               "(vserver NAME build).",
               "vserver NAME build"};
  vs::tool::RootOptions root_opts;
  vs::tool::CommonOptions common;
  vs::GuestBuildRequest req;
  unsigned context = 0;
  bool quiet = false;
  vs::tool::add_root_options(app, root_opts);
  vs::tool::add_common_options(app, common);
  app.add_option("name", req.name, "the guest's name")->required();
  app.add_option("-m,--method", req.method,
                 "skeleton, busybox, clone, template, debootstrap or host")
      ->required();
  app.add_option("--source", req.source, "clone: GUEST or DIR; template: FILE.tar[.gz|.xz|.zst]");
  app.add_flag("--force", req.force, "replace an existing guest (not a running one)");
  app.add_option("--context", context, "a static context id 2..49151 (default: dynamic)");
  app.add_option("--hostname", req.hostname, "its nodename (default: NAME)");
  app.add_option("--interface", req.interfaces, "ADDR[/PREFIX] on the shared host stack "
                                                 "(repeatable)");
  app.add_option("--init-style", req.init_style,
                 "plain, sysv or minit (default: debootstrap: what the tree supports; busybox, "
                 "skeleton, host: minit; others: plain); debootstrap installs its packages");
  app.add_flag("-q,--quiet", quiet,
               "no progress (clone and template show theirs on a terminal only; debootstrap "
               "one line per stage)");
  app.add_option("method_args", req.method_args, "method arguments after --");
  int code = 0;
  if (!vs::tool::parse_args(app, argc, argv, &code)) return code;
  if (app.count("--context")) req.context = context;
  auto roots = vs::tool::config_roots(root_opts, common);
  auto shim = vs::tool::shim_config(common);
  std::string name = req.name;
  bool progress = !quiet && ::isatty(STDERR_FILENO);
  req.shim = shim;
  if (!quiet) {
    req.stage = [](const std::string& line) {
      std::fprintf(stderr, "vserver: %s\n", line.c_str());
      std::fflush(stderr);
    };
  }
  if (progress) {
    req.progress = [](const vs::BuildProgress& p) {
      std::fprintf(stderr, "\rvserver: %llu files, %llu MiB",
                   static_cast<unsigned long long>(p.files),
                   static_cast<unsigned long long>(p.bytes >> 20));
    };
  }
  ContextTable table(shim);
  if (auto r = table.prepare(); !r) return fail(r.error());
  auto lk = vs::lock_guest(table, name);
  if (!lk) return fail(lk.error());
  if (req.force) {
    // A running guest is never replaced under itself.
    if (auto old = vs::load_guest(roots, name)) {
      auto running = vs::find_guest_context(table, *old);
      if (!running) return fail(running.error());
      if (*running) {
        return fail(vs::make_error(vs::ErrorKind::kWrongState, "build", name,
                                   "is running: stop it first", EBUSY));
      }
    }
  }
  auto built = vs::build_guest(roots, req);
  if (progress && req.method != "debootstrap") std::fputs("\n", stderr);
  if (!built) return fail(built.error());
  for (const auto& p : built->swept) {
    std::fprintf(stderr, "vserver: removed `%s` (left by an interrupted build)\n", p.c_str());
  }
  for (const auto& w : built->warnings) std::fprintf(stderr, "vserver: warning: %s\n", w.c_str());
  if (!quiet) {
    std::printf("built %s (-m %s): %s, %llu entries\n", name.c_str(), req.method.c_str(),
                built->vdir.c_str(), static_cast<unsigned long long>(built->files));
  }
  return vs::kExitOk;
}

