// build_debootstrap(): a Debian tree made by the host's debootstrap, which never runs as
// unconfined host root (SECURITY.md E42). It runs in two stages, each in its own sealed
// context with the guest's capability bounds and seccomp profile:
//
//   1. `debootstrap --foreign` (download, verify, unpack; no package code runs) with the host
//      network, rooted in a scratch tree that holds read-only binds of the host's /usr and a
//      few /etc files, and the staging tree bound at /target. Even a hostile archive (a
//      symlink that a later entry is unpacked through) reaches nothing writable of the host.
//   2. `/debootstrap/debootstrap --second-stage` (dpkg --install and --configure: the
//      maintainer scripts) inside the staging tree itself, set up exactly like a guest root
//      (fresh masked /proc, read-only /sys, minimal /dev, pivot_root) in its own network
//      namespace. A postinst that climbs out of a chroot finds the guest root; /proc/sys is
//      read-only; there is no CAP_SYS_ADMIN to mount or to change the host's hostname.
//
// Neither stage gets CAP_MKNOD: with container=lxc debootstrap skips its mknod test of the
// target and leaves device nodes to the host (the guest's /dev is a fresh tmpfs at start).
// /proc, /sys and /dev are mounted before the stage runs, so debootstrap's own mounts (which
// would need CAP_SYS_ADMIN) are skipped: it finds them populated. Every mount lives in the
// stage's mount namespace and dies with it.
//
// Nothing of the tree is loaded or run with host privileges (issue 18). The second stage's
// first process enters the tree while still privileged, but runs only the shim's own setup
// there (mounts, sync messages, seccomp, the capability drop: no name lookup, iconv or
// locale, which would make glibc load a module from the tree) before it is confined and
// execs. After the stages the host process only looks at the tree fd-relative without
// following symlinks out (fstatat of proc, sys and dev; var/lib/dpkg/status opened to see
// that it exists, never parsed; etc/hostname, etc/hosts and a missing etc/resolv.conf
// replaced by new files renamed over them; the init style's program looked up and the entries
// counted beneath the root: guest_etc.h).
//
// Each stage dies with the build (CreateSpec::dies_with_creator): a build killed by SIGKILL
// takes debootstrap and its downloads with it; what it left on disk (the staging and scratch
// trees) is swept by the next build or delete of the guest (leftovers.h).
#include "lib/build/debootstrap.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <string_view>

#include "kernel-shim/context.h"
#include "lib/base/fs_at.h"
#include "lib/base/stdio_relay.h"
#include "lib/build/build.h"
#include "lib/build/entry_check.h"
#include "lib/build/guest_etc.h"
#include "lib/build/scratch_root.h"
#include "lib/build/staging.h"

namespace vs::build {
namespace {

bool is_name_char(char c, std::string_view extra) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         extra.find(c) != std::string_view::npos;
}

std::string join_words(const std::vector<std::string>& words) {
  std::string s;
  for (const auto& w : words) s += (s.empty() ? "" : ", ") + w;
  return s.empty() ? "nothing" : s;
}

// Debian suite/codename and package names: lowercase, digits and a few punctuation marks;
// never a leading `-` (it would be read as an option) nor a `/` (a path).
bool valid_name(std::string_view s, std::string_view extra) {
  if (s.empty() || s.size() > 64 || !is_name_char(s[0], "")) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return is_name_char(c, extra); });
}

bool valid_mirror(std::string_view url) {
  bool scheme = url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0 ||
                url.rfind("file:///", 0) == 0;
  if (!scheme || url.size() > 1024) return false;
  return std::none_of(url.begin(), url.end(), [](char c) {
    return static_cast<unsigned char>(c) <= ' ' || c == 0x7f || c == '\'' || c == '"' || c == '\\';
  });
}

Error arg_error(const std::string& arg, const std::string& detail) {
  return usage_error(arg, detail +
                              " (usage: -d SUITE [--mirror URL] [--variant minbase|buildd|-]"
                              " [--include PKG,PKG])");
}

}  // namespace

Result<DebootstrapArgs> parse_debootstrap_args(const std::vector<std::string>& args) {
  DebootstrapArgs out;
  bool seen_suite = false, seen_mirror = false, seen_variant = false, seen_include = false;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string opt = args[i], value;
    bool inline_value = false;
    if (opt.rfind("--", 0) == 0 && opt.find('=') != std::string::npos) {
      value = opt.substr(opt.find('=') + 1);
      opt = opt.substr(0, opt.find('='));
      inline_value = true;
    }
    bool* seen = nullptr;
    if (opt == "-d")
      seen = &seen_suite;
    else if (opt == "--mirror")
      seen = &seen_mirror;
    else if (opt == "--variant")
      seen = &seen_variant;
    else if (opt == "--include")
      seen = &seen_include;
    else
      return arg_error(args[i], "unknown debootstrap method argument");
    if (*seen) return arg_error(opt, "given twice");
    *seen = true;
    if (!inline_value) {
      if (i + 1 == args.size()) return arg_error(opt, "needs a value");
      value = args[++i];
    }
    if (opt == "-d") {
      if (!valid_name(value, ".+-")) {
        return arg_error(value, "-d: not a Debian suite name (like bookworm or stable)");
      }
      out.suite = value;
    } else if (opt == "--mirror") {
      if (!valid_mirror(value)) {
        return arg_error(value,
                         "--mirror: expected an http://, https:// or file:/// URL "
                         "without blanks or quotes");
      }
      out.mirror = value;
    } else if (opt == "--variant") {
      if (value != "minbase" && value != "buildd" && value != "-") {
        return arg_error(value, "--variant: expected minbase, buildd or `-`");
      }
      out.variant = value;
    } else {
      size_t start = 0;
      for (;;) {
        size_t comma = value.find(',', start);
        std::string pkg = value.substr(start, comma == std::string::npos ? comma : comma - start);
        if (!valid_name(pkg, ".+-")) {
          return arg_error(pkg.empty() ? value : pkg, "--include: not a Debian package name");
        }
        out.include.push_back(pkg);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    }
  }
  if (!seen_suite) return arg_error("-d", "missing: the distribution to install");
  return out;
}

std::vector<std::string> init_style_packages(const std::string& style) {
  if (style == "sysv") return {"sysv-rc"};
  if (style == "plain") return {"sysvinit-core", "sysv-rc"};
  return {};
}

DebootstrapArgs with_packages(DebootstrapArgs args, const std::vector<std::string>& packages) {
  for (const auto& p : packages) {
    if (std::find(args.include.begin(), args.include.end(), p) == args.include.end()) {
      args.include.push_back(p);
    }
  }
  return args;
}

std::vector<std::string> StageLines::feed(std::string_view piece) {
  std::vector<std::string> out;
  partial_.append(piece);
  size_t start = 0;
  for (size_t nl; (nl = partial_.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string_view line(partial_.data() + start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.rfind("W: ", 0) == 0 || line.rfind("E: ", 0) == 0) {
      out.push_back("debootstrap: " + std::string(line));
      continue;
    }
    if (line.rfind("I: ", 0) != 0) continue;
    std::string_view text = line.substr(3);
    std::string verb(text.substr(0, text.find(' ')));
    // A verb seen before is a step of a stage shown already (Retrieving and Validating take
    // turns for each package), unless it heads a new stage ("Unpacking the base system...",
    // which ends in dots) after another verb.
    const bool heading = text.size() >= 3 && text.substr(text.size() - 3) == "...";
    if (seen_.count(verb) && !(heading && verb != verb_)) continue;
    seen_.insert(verb);
    verb_ = verb;
    out.push_back("debootstrap: " + std::string(text));
  }
  partial_.erase(0, start);
  // A line without its end this long is no progress line: keep its start only.
  if (partial_.size() > 4096) partial_.resize(4096);
  return out;
}

std::vector<std::string> first_stage_argv(const DebootstrapArgs& args, const std::string& target) {
  std::vector<std::string> argv = {kDebootstrap, "--foreign"};
  if (args.variant != "-") argv.push_back("--variant=" + args.variant);
  if (!args.include.empty()) {
    std::string list;
    for (const auto& p : args.include) list += (list.empty() ? "" : ",") + p;
    argv.push_back("--include=" + list);
  }
  // No `--` (debootstrap refuses it): the suite never starts with `-` (parse checks).
  argv.push_back(args.suite);
  argv.push_back(target);
  argv.push_back(args.mirror);
  return argv;
}

Result<int> run_confined(const shim::ContextTable& table, const ConfinedRun& run) {
  shim::CreateSpec spec;
  spec.namespaces = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
  if (!run.host_network) spec.namespaces |= CLONE_NEWNET;
  spec.endsetup = true;
  // The default confinement: the secure defaults (caps.h default_guest_bcaps(), seccomp
  // default profile). They hold all that debootstrap and dpkg need: CHOWN, DAC_OVERRIDE,
  // FOWNER, FSETID, SETUID, SETGID, SETFCAP, SYS_CHROOT.
  spec.confinement = {};
  spec.pin = shim::NsSet{0};  // nothing ever enters a stage
  // A killed build takes its stage with it: no debootstrap downloading on as an orphan.
  spec.dies_with_creator = true;
  spec.argv = run.argv;
  // Nothing of the caller's environment reaches the build. container=lxc: debootstrap then
  // neither tests mknod on the target nor needs it for /dev (see the top of file).
  spec.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "HOME=/root",
              "DEBIAN_FRONTEND=noninteractive", "container=lxc"};
  // Its output reaches `output_fd` (or our stderr) through pipes: no fd of ours (a terminal,
  // the capture file) is handed to the package scripts; its stdin is empty.
  const int out = run.output_fd >= 0 ? run.output_fd : STDERR_FILENO;
  auto relay = StdioRelay::pipes({-1, out, out});
  if (!relay) return std::move(relay).error();
  if (run.on_output) relay->set_tap(run.on_output);
  spec.stdio = relay->child_fds();
  spec.wait = [&relay](Child& first) {
    relay->close_child_ends();
    return relay->run(first);
  };
  const ConfinedRun* r = &run;
  spec.child_setup = [r]() -> Result<void> { return enter_guest_root(r->root); };
  return shim::create_and_run(table, spec, nullptr);
}

namespace {

// The /etc files of the host that the first stage's tools (sh, wget, gpgv, dpkg-deb, awk)
// need: the loader cache, name resolution, users for `id`, alternatives for awk, TLS roots,
// apt's configuration (debootstrap asks apt-config for a proxy).
constexpr const char* kHostEtc[] = {
    "ld.so.cache",   "ld.so.conf", "ld.so.conf.d",   "resolv.conf", "hosts",
    "nsswitch.conf", "host.conf",  "gai.conf",       "passwd",      "group",
    "services",      "protocols",  "alternatives",   "ssl",         "ca-certificates",
    "wgetrc",        "localtime",  "debian_version", "apt",
};

// The last lines of the captured output, for the error message.
std::string tail_of(int fd, size_t max_lines) {
  off_t size = ::lseek(fd, 0, SEEK_END);
  if (size <= 0) return "";
  off_t from = std::max<off_t>(0, size - 4096);
  std::string buf(static_cast<size_t>(size - from), '\0');
  ssize_t n = ::pread(fd, buf.data(), buf.size(), from);
  if (n <= 0) return "";
  buf.resize(static_cast<size_t>(n));
  while (!buf.empty() && buf.back() == '\n') buf.pop_back();
  size_t pos = buf.size();
  for (size_t i = 0; i < max_lines && pos != std::string::npos && pos > 0; ++i) {
    pos = buf.rfind('\n', pos - 1);
  }
  return pos == std::string::npos ? buf : buf.substr(pos + 1);
}

Result<void> stage(const shim::ContextTable& table, const ConfinedRun& run, int capture,
                   const char* name) {
  auto code = run_confined(table, run);
  if (!code) return std::move(code).error().wrap(name);
  if (*code == 0) return ok();
  std::string detail = "exited with status " + std::to_string(*code);
  std::string tail = tail_of(capture, 6);
  if (!tail.empty()) detail += ":\n" + tail;
  return make_error(ErrorKind::kFailed, "debootstrap", name, detail, 0);
}

}  // namespace
}  // namespace vs::build

namespace vs {

Result<BuildResult> build_debootstrap(const BuildOptions& opts,
                                      const std::vector<std::string>& args) {
  auto parsed = build::parse_debootstrap_args(args);
  if (!parsed) return std::move(parsed).error().wrap("build -m debootstrap");
  if (!build::valid_hostname(opts.hostname)) {
    return usage_error(opts.hostname, "not a hostname (DNS labels of letters, digits and `-`)");
  }
  BuildResult result;
  std::string what = "build debootstrap `" + parsed->suite + "` into `" + opts.vdir + "`";
  if (::access(build::kDebootstrap, X_OK) < 0) {
    return make_error(ErrorKind::kFailed, "debootstrap", build::kDebootstrap,
                      "not installed (apt-get install debootstrap)", errno)
        .wrap(what);
  }
  shim::ContextTable table(opts.shim);
  if (auto r = table.prepare(); !r) return std::move(r).error().wrap(what);
  auto staging = build::Staging::begin(opts, result);
  if (!staging) return std::move(staging).error().wrap(what);

  // debootstrap's messages go to a memory file whose tail explains a failure; the caller
  // sees one line per stage (StageLines).
  UniqueFd capture(::memfd_create("debootstrap-output", MFD_CLOEXEC));
  if (!capture) return sys_error("memfd_create", "debootstrap output").wrap(what);
  build::StageLines lines;
  std::function<void(std::string_view)> on_output;
  if (opts.stage) {
    on_output = [&](std::string_view piece) {
      for (const auto& l : lines.feed(piece)) opts.stage(l);
    };
  }
  // The packages of the init style asked for come with the tree.
  const auto args_with_init =
      build::with_packages(*parsed, build::init_style_packages(opts.init_style));

  auto scratch = build::ScratchRoot::make(result.vdir + ".deboot-", staging->path(),
                                              build::kHostEtc);
  if (!scratch) return std::move(scratch).error().wrap(what);

  build::ConfinedRun first;
  first.root = scratch->root();
  first.argv = build::first_stage_argv(args_with_init, "/target");
  first.host_network = true;
  first.output_fd = capture.get();
  first.on_output = on_output;
  if (auto r = build::stage(table, first, capture.get(), "first stage"); !r) {
    return std::move(r).error().wrap(what);
  }

  // The tree is now the guest's: check it like a guest root before starting in it.
  for (const char* d : {"proc", "sys", "dev"}) {
    if (::mkdirat(staging->root_fd(), d, 0555) < 0 && errno != EEXIST) {
      return sys_error("mkdir", staging->path() + "/" + d).wrap(what);
    }
  }
  if (auto r = check_guest_tree(staging->root_fd(), staging->path()); !r) {
    return std::move(r).error().wrap(what);
  }
  build::ConfinedRun second;
  second.root.vdir = staging->path();
  second.argv = {"/debootstrap/debootstrap", "--second-stage"};
  second.output_fd = capture.get();
  second.on_output = on_output;
  if (auto r = build::stage(table, second, capture.get(), "second stage"); !r) {
    return std::move(r).error().wrap(what);
  }

  // From here on the tree is guest-made: looked at beneath its root only (guest_etc.h).
  auto status =
      open_beneath(staging->root_fd(), "var/lib/dpkg/status", O_RDONLY, 0, RESOLVE_NO_SYMLINKS);
  if (!status) return std::move(status).error().wrap(what + ": no dpkg status after debootstrap");
  if (auto r = build::write_etc_names(staging->root_fd(), opts.hostname); !r) {
    return std::move(r).error().wrap(what);
  }
  if (auto r = build::copy_host_resolver(staging->root_fd()); !r) {
    return std::move(r).error().wrap(what);
  }
  if (opts.init_style.empty()) {
    result.init_style = build::detect_init_style(staging->root_fd());
  } else {
    const std::string program = build::init_style_program(opts.init_style);
    if (!program.empty() && !build::tree_has_program(staging->root_fd(), program)) {
      return make_error(ErrorKind::kFailed, "debootstrap", opts.init_style,
                        "init style `" + opts.init_style + "` runs " + program +
                            ", which the tree does not have after installing " +
                            build::join_words(build::init_style_packages(opts.init_style)))
          .wrap(what);
    }
    result.init_style = opts.init_style;
  }
  auto count = build::count_entries(staging->root_fd());
  if (!count) return std::move(count).error().wrap(what);
  result.files = *count;
  auto c = staging->commit(0755);
  if (!c) return std::move(c).error().wrap(what);
  return result;
}

}  // namespace vs
