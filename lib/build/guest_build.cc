#include "lib/build/guest_build.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "lib/base/escape.h"
#include "lib/base/fs_at.h"
#include "lib/base/scope_exit.h"
#include "lib/build/leftovers.h"
#include "lib/config/config.h"
#include "lib/mount/guest_root.h"

namespace vs {

namespace {

constexpr const char* kMethods[] = {"skeleton", "busybox", "clone", "template", "debootstrap",
                                    "host"};

// A TOML basic string: JSON's string escapes are a subset of TOML's.
std::string quoted(std::string_view s) { return json_string(s); }

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// The vdir a clone copies: a configured guest's tree, or a directory.
Result<std::string> clone_source(const ConfigRoots& roots, const std::string& source) {
  if (!source.empty() && source[0] == '/') return source;
  auto g = load_guest(roots, source);
  if (!g) return std::move(g).error().wrap("clone source");
  return g->vdir;
}

// etc/hostname of a cloned or extracted tree, which its source made: resolved beneath the
// tree without following any symlink, and opened for writing only once it was seen to be a
// regular file (never a FIFO or a device node, opened on the host).
Result<void> write_copied_hostname(const std::string& vdir, const std::string& hostname) {
  auto root = open_path(vdir, O_PATH | O_DIRECTORY | O_NOFOLLOW);
  if (!root) return std::move(root).error();
  auto path = open_beneath(root->get(), "etc/hostname", O_PATH | O_NOFOLLOW, 0,
                           RESOLVE_NO_SYMLINKS);
  if (!path) {
    Error e = std::move(path).error();
    if (e.code == ELOOP) {
      return make_error(ErrorKind::kFailed, "write", "etc/hostname",
                        "etc is a symlink, which is not followed");
    }
    return e;
  }
  struct stat st {};
  if (::fstat(path->get(), &st) < 0) return sys_error("stat", "etc/hostname");
  if (S_ISLNK(st.st_mode)) {
    return make_error(ErrorKind::kFailed, "write", "etc/hostname",
                      "a symlink, which is not followed");
  }
  if (!S_ISREG(st.st_mode)) {
    return make_error(ErrorKind::kFailed, "write", "etc/hostname",
                      "not a regular file (" + std::string(file_type_name(st.st_mode)) + ")");
  }
  // The inode just checked, reopened for writing through its O_PATH fd.
  std::string self = "/proc/self/fd/" + std::to_string(path->get());
  UniqueFd fd(::open(self.c_str(), O_WRONLY | O_TRUNC | O_NOCTTY | O_CLOEXEC));
  if (!fd) return sys_error("open", "etc/hostname");
  if (!write_all(fd.get(), hostname + "\n")) return sys_error("write", "etc/hostname");
  return ok();
}

// An error in the configuration the build is about to write comes from a flag: said as that
// flag's error ("invalid `--context`: ..."), never as a line of a file that does not exist
// yet. Errors of other files (another guest's, .defaults) are left as they are.
Error as_flag_error(Error e, const std::string& file) {
  if (!e.op.starts_with(file)) return e;
  const size_t k = e.op.find(": key '");
  const std::string key =
      k == std::string::npos ? "" : e.op.substr(k + 7, e.op.find('\'', k + 7) - k - 7);
  std::string flag = "-m";  // what else the file holds comes from the method
  if (key == "context") flag = "--context";
  if (key.starts_with("uts.")) flag = "--hostname";
  if (key.starts_with("interfaces.")) flag = "--interface";
  if (key == "build.source") flag = "--source";
  return usage_error(flag, e.detail);
}

}  // namespace

std::string initial_config(const GuestBuildRequest& req, std::string_view init_style) {
  std::string t = "# Written by `vserver " + req.name + " build -m " + req.method +
                  "`; see vserver.toml(5).\n";
  if (req.context) t += "context = " + std::to_string(*req.context) + "\n";
  t += "\n[uts]\nnodename = " + quoted(req.hostname.empty() ? req.name : req.hostname) + "\n";
  for (const auto& addr : req.interfaces) {
    t += "\n[[interfaces]]\naddress = " + quoted(addr) + "\nmode = \"shared\"\n";
  }
  bool minit = req.method == "busybox" || req.method == "skeleton" || req.method == "host";
  std::string style(init_style);
  if (style.empty()) style = req.init_style;
  if (style.empty()) style = minit ? "minit" : "plain";
  t += "\n[init]\nstyle = " + quoted(style) + "\n";
  t += "\n[build]\nmethod = " + quoted(req.method) + "\n";
  if (!req.source.empty()) t += "source = " + quoted(req.source) + "\n";
  return t;
}

Result<BuildResult> build_guest(const ConfigRoots& roots, const GuestBuildRequest& req) {
  const std::string what = "build " + req.name;
  if (auto r = validate_guest_name(req.name); !r) return std::move(r).error();
  if (std::find(std::begin(kMethods), std::end(kMethods), req.method) == std::end(kMethods)) {
    return usage_error("-m", "unknown method `" + req.method +
                                 "` (expected skeleton, busybox, clone, template, debootstrap "
                                 "or host)");
  }
  bool wants_source = req.method == "clone" || req.method == "template";
  if (wants_source && req.source.empty()) {
    return usage_error("--source", "-m " + req.method + " needs --source");
  }
  if (!wants_source && !req.source.empty()) {
    return usage_error("--source", "-m " + req.method + " takes no --source");
  }
  if (req.method != "debootstrap" && !req.method_args.empty()) {
    return usage_error("--", "-m " + req.method + " takes no method arguments (`" +
                                 req.method_args.front() + "`)");
  }
  if (!req.init_style.empty() && req.init_style != "plain" && req.init_style != "sysv" &&
      req.init_style != "minit") {
    return usage_error("--init-style", "unknown init style `" + req.init_style +
                                           "` (expected plain, sysv or minit)");
  }
  const std::string confdir = roots.guest_confdir(req.name);
  if (exists(confdir) && !req.force) {
    return make_error(ErrorKind::kWrongState, "build", req.name,
                      "the guest exists (" + confdir + "); --force replaces it", EEXIST);
  }

  // The configuration first, checked as `vserver start` would, and against every other guest.
  std::string text = initial_config(req);
  const std::string toml_path = confdir + "/vserver.toml";
  auto raw = parse_toml_config(text, toml_path);
  if (!raw) return as_flag_error(std::move(raw).error(), toml_path);
  auto guest = build_guest(req.name, *raw, roots);
  if (!guest) return as_flag_error(std::move(guest).error(), toml_path);
  std::vector<Error> broken;  // reported when those guests are used, not here
  auto others = load_all_guests(roots, &broken);
  if (!others) return std::move(others).error().wrap("check the other guests");
  std::vector<GuestConfig> all;
  for (auto& o : *others) {
    if (o.name != req.name) all.push_back(std::move(o));
  }
  all.push_back(*guest);
  if (auto r = validate_guests(all, roots); !r) {
    return as_flag_error(std::move(r).error(), toml_path);
  }

  std::string source;
  if (req.method == "clone") {
    auto s = clone_source(roots, req.source);
    if (!s) return std::move(s).error();
    source = *s;
  } else if (req.method == "template") {
    source = req.source;
  }

  // The base of the trees: root's only (E16), made so if we create it.
  if (!exists(roots.vdirbase)) {
    if (auto r = ensure_dir(roots.vdirbase, 0700); !r) return std::move(r).error().wrap(what);
  }
  if (auto r = ensure_dir(roots.confdir, 0755); !r) return std::move(r).error().wrap(what);

  BuildOptions opts;
  opts.vdir = guest->vdir;
  opts.force = req.force;
  opts.hostname = req.hostname.empty() ? req.name : req.hostname;
  opts.progress = req.progress;
  opts.stage = req.stage;
  opts.init_style = req.init_style;
  opts.shim = req.shim;
  // What an interrupted build of this guest left (the caller holds the guest's lock).
  auto swept = sweep_build_leftovers(guest->vdir, roots.confdir, req.name);
  bool had_tree = exists(opts.vdir);
  Result<BuildResult> built = [&]() -> Result<BuildResult> {
    if (req.method == "skeleton") return build_skeleton(opts);
    if (req.method == "busybox") return build_busybox(opts);
    if (req.method == "clone") return build_clone(opts, source);
    if (req.method == "template") return build_template(opts, source);
    if (req.method == "host") return build_host(opts);
    return build_debootstrap(opts, req.method_args);
  }();
  if (!built) return std::move(built).error().wrap(what);
  built->swept = std::move(swept.removed);
  // The style the built tree supports (debootstrap looked), in place of the method's guess.
  if (!built->init_style.empty()) text = initial_config(req, built->init_style);
  for (auto& f : swept.failed) built->warnings.push_back("leftover not removed: " + f);
  if (req.method == "clone" || req.method == "template") {
    // The copy's /etc/hostname names the new guest; when it cannot, the tool says so.
    if (auto r = write_copied_hostname(opts.vdir, opts.hostname); !r) {
      built->warnings.push_back("hostname `" + opts.hostname + "` not written: " +
                                r.error().message() + "; to name the guest there, make `" +
                                opts.vdir + "/etc/hostname` a regular file holding `" +
                                opts.hostname + "`");
    }
  }

  // The configuration directory, staged and renamed into place like the tree.
  Transaction undo;
  if (!had_tree) undo.on_rollback([&] { (void)delete_tree(opts.vdir); });
  std::string tmpl = roots.confdir + "/." + req.name + ".new-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return sys_error("mkdtemp", tmpl).wrap(what);
  undo.on_rollback([&] { (void)delete_tree(tmpl); });
  ::chmod(tmpl.c_str(), 0755);
  {
    UniqueFd fd(::open((tmpl + "/vserver.toml").c_str(),
                       O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd) return sys_error("create", tmpl + "/vserver.toml").wrap(what);
    if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
        ::fsync(fd.get()) < 0) {
      return sys_error("write", tmpl + "/vserver.toml").wrap(what);
    }
  }
  if (exists(confdir)) {
    if (::renameat2(AT_FDCWD, tmpl.c_str(), AT_FDCWD, confdir.c_str(), RENAME_EXCHANGE) < 0) {
      return sys_error("rename", confdir).wrap(what);
    }
    // tmpl now holds the old configuration; the rollback step removes it either way.
    undo.commit();
    (void)delete_tree(tmpl);
  } else {
    if (::rename(tmpl.c_str(), confdir.c_str()) < 0) return sys_error("rename", confdir).wrap(what);
    undo.commit();
  }
  return built;
}

}  // namespace vs
