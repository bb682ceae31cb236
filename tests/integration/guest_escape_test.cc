// Escapes of issue 18, by class: a hostile guest root (or template, or clone source) against
// the host's own tools. Each class first shows the attack WORKING against a deliberately
// weak setup (GuestEscapeWeak.*: plain chroot, unshare, cp, a naive re-implementation), so
// every assertion is known to be able to fail, then runs the same attack against `vserver`
// for every guest kind (default, shared stack, isolated network) and every path that runs
// guest-influenced code, and asserts it is blocked AND that the host state it aimed at is
// unchanged.
//
//   1 GuestEscapeHostBinary  a `#!/proc/self/exe` script in the guest (CVE-2019-5736) reaches
//                            no host binary: exec, enter, start (minit, plain, sysv), stop
//                            (sysv rc 0), restart, vserver-boot
//   2 GuestEscapeTemplate,   template code (a gconv or NSS module) never runs on the host; a
//     GuestEscapeBuild       hostile or flipping clone source stays inside the new tree
//   3 GuestEscapeXidReuse    a paused exec/stop never lands in the next guest on that xid
//   4 GuestEscapeTerminal    the guest keeps nothing of the administrator's terminal
//   5 GuestEscapeEnvironment the administrator's environment reaches no guest process
//   6 GuestEscapeStdio       a host file given as stdin/stdout cannot be rewritten or read
//   7 GuestEscapeInit        the guest's init is no host binary, and unreadable
//
// The tools run are copies (tests/support/host_watch.h), never the build's binaries: a test
// that fails may have rewritten one. Probes: tests/probe/vsattack.c, busybox sh.
//
// Behaviour of the fixed tools these tests rely on (issue 18):
//   - a `#!/proc/self/exe` script run by an entrant or as init reaches only the sealed memfd
//     helper, which refuses such an argv and exits 126: `vserver exec`/`enter` exit 126;
//   - VSERVER_TEST_STOP_AT=exec-resolved: `vserver NAME exec` raises SIGSTOP once it resolved
//     the guest, before it spawns anything; VSERVER_TEST_STOP_AT=stop-resolved: `vserver NAME
//     stop` raises SIGSTOP once it found the context, before it signals or kills anything;
//   - an exec whose guest went away while it was paused exits non-zero naming the guest.
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "tests/support/host_watch.h"
#include "tests/support/root_env.h"
#include "tests/support/run_cmd.h"
#include "tests/support/spawned.h"
#include "tests/support/tar_writer.h"
#include "tests/support/weak_extractor.h"

namespace vs::test {
namespace {

namespace fs = std::filesystem;

// ---- small helpers -----------------------------------------------------------------------

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes `text` to `p` through a new file renamed over it: a symlink at `p` (a busybox
// applet link) is replaced, never written through.
void put(const std::string& p, const std::string& text, mode_t mode = 0644) {
  fs::create_directories(fs::path(p).parent_path());
  const std::string tmp = p + ".vsnew";
  std::ofstream(tmp, std::ios::binary | std::ios::trunc) << text;
  ::chmod(tmp.c_str(), mode);
  ::rename(tmp.c_str(), p.c_str());
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

bool wait_for(const std::function<bool()>& cond, int timeout_ms) {
  for (int waited = 0;; waited += 20) {
    if (cond()) return true;
    if (waited >= timeout_ms) return false;
    Spawned::sleep_ms(20);
  }
}

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += "  " + l + "\n";
  return s;
}

std::string toml_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// The files whose hash differs between two sha256_of() results, one a line.
std::string changed(const std::map<std::string, std::string>& before,
                    const std::map<std::string, std::string>& after) {
  std::string out;
  for (const auto& [path, hash] : before) {
    auto it = after.find(path);
    if (it == after.end() || it->second != hash || hash.empty()) {
      out += path + ": " + hash + " -> " + (it == after.end() ? "?" : it->second) + "\n";
    }
  }
  return out;
}

// The script every CVE-2019-5736 variant puts where a host tool will exec a guest file.
constexpr const char* kShebangSelf = "#!/proc/self/exe\n";

// The secrets of class 5, in the administrator's environment.
const std::vector<std::pair<std::string, std::string>> kSecrets = {
    {"SSH_AUTH_SOCK", "/tmp/agent.sock"},
    {"AWS_SECRET_ACCESS_KEY", "vs-secret"},
    {"http_proxy", "http://user:pw@proxy"},
};
// What must not appear in a guest process's environment: the secrets, and the host paths
// of the administrator's own settings (the run dir and configuration of the host tools).
const std::vector<std::string> kSecretNeedles = {
    "SSH_AUTH_SOCK=",   "AWS_SECRET_ACCESS_KEY=", "http_proxy=",
    "vs-secret",        "user:pw@proxy",          "VSERVER_RUNDIR=",
    "VSERVER_CONFDIR=", "VSERVER_VDIRBASE=",      "VSERVER_CGROUP_PARENT="};

std::vector<std::string> secrets_in(const std::string& env_text) {
  std::vector<std::string> found;
  for (const auto& n : kSecretNeedles) {
    if (contains(env_text, n)) found.push_back(n);
  }
  return found;
}

// A pty the test owns: the master, and the slave handed to a child as its terminal.
struct Pty {
  int master = -1, slave = -1;
  FileId slave_id{0, 0};  ///< the slave's node in its devpts instance
  Pty() {
    master = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || ::grantpt(master) < 0 || ::unlockpt(master) < 0) return;
    const char* name = ::ptsname(master);
    if (!name) return;
    slave = ::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    struct stat st {};
    if (slave >= 0 && ::fstat(slave, &st) == 0) slave_id = {st.st_dev, st.st_ino};
  }
  ~Pty() {
    for (int fd : {master, slave}) {
      if (fd >= 0) ::close(fd);
    }
  }
  Pty(const Pty&) = delete;
  Pty& operator=(const Pty&) = delete;
  [[nodiscard]] bool ok() const { return master >= 0 && slave >= 0; }
  void type(const std::string& text) const { (void)!::write(master, text.data(), text.size()); }
  /// Whatever is waiting on one end (non-blocking).
  static std::string available(int fd) {
    int fl = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
    ::fcntl(fd, F_SETFL, fl);
    return out;
  }
};

// ---- guests ------------------------------------------------------------------------------

enum class Kind { kDefault, kShared, kIsolated };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kDefault:
      return "default";
    case Kind::kShared:
      return "shared";
    case Kind::kIsolated:
      return "isolated";
  }
  return "?";
}

const auto kAllKinds = ::testing::Values(Kind::kDefault, Kind::kShared, Kind::kIsolated);

struct Guest {
  std::string name;
  Kind kind = Kind::kDefault;
  std::string style = "minit";       ///< minit, plain, sysv
  std::vector<std::string> command;  ///< init.command; empty: the style's default
  std::string mark;                  ///< init.mark
  int index = 0;                     ///< its address among the test's guests
};

// What every escape test has: a temp dir $T, copies of the tools, the probe, its guests
// (removed at the end, whatever happened) and, for isolated guests, a network namespace
// standing in for the host's, where their bridge and veths are made.
class GuestEscapeBase : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string id = std::string(info->test_suite_name()) + "." + info->name();
    for (char& c : id) {
      if (!std::isalnum(static_cast<unsigned char>(c))) c = '-';
    }
    t_ = root_env().tmp + "/ge-" + id;
    fs::create_directories(t_);
    // One set of copies for the run (the tools are tens of MB each), made again whenever a
    // test changed one.
    static ToolCopies copies(root_env().tmp + "/ge-tools",
                             {"vserver", "vserver-build", "vserver-boot", "vcontext", "vkill"});
    if (!copies.intact()) copies.refresh();
    tools_ = &copies;
    ASSERT_TRUE(copies.intact()) << "no tools copied from " << root_env().build_root << "/tools";
    vsattack_ = root_env().build_root + "/tests/probe/vsattack";
    ASSERT_TRUE(fs::exists(vsattack_)) << vsattack_ << " was not built";
  }

  void TearDown() override {
    for (auto it = mounts_.rbegin(); it != mounts_.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
    for (const auto& mark : marks_) {
      (void)run_cmd(
          in_net(Kind::kIsolated, {tools_->path("vserver-boot"), "stop", "--mark", mark}));
    }
    for (const auto& g : guests_) {
      (void)vs(g, {"stop", "--kill"});
      (void)vs(g, {"delete", "--yes"});
      std::error_code ec;
      fs::remove_all(vdir(g), ec);
      fs::remove_all(confdir(g), ec);
    }
    if (!netns_.empty()) (void)run_cmd({"ip", "netns", "del", netns_});
    std::error_code ec;
    fs::remove_all(t_, ec);
  }

  // A guest to build: named after `stem`, with the kind's network.
  Guest guest(const std::string& stem, Kind kind, const std::string& style = "minit",
              std::vector<std::string> command = {}) {
    static int seq = 0;
    Guest g;
    g.name = "ge" + std::to_string(++seq) + "-" + stem;
    g.kind = kind;
    g.style = style;
    g.command = std::move(command);
    g.index = static_cast<int>(guests_.size());
    return g;
  }

  // Builds it (busybox method) with its init and network, and /vsattack in its tree.
  ::testing::AssertionResult build(const Guest& g) {
    guests_.push_back(g);
    if (g.kind == Kind::kIsolated && netns_.empty()) {
      netns_ = "vge-" + std::to_string(::getpid()) + "-" + g.name;
      auto r = run_cmd({"ip", "netns", "add", netns_});
      if (r.status != 0) {
        netns_.clear();
        return ::testing::AssertionFailure() << "ip netns add: " << r.err;
      }
    }
    auto r = vs(g, {"build", "-m", "busybox", "--quiet"});
    if (r.status != 0) return ::testing::AssertionFailure() << "build " << g.name << ": " << r.err;
    std::string toml = slurp(confdir(g) + "/vserver.toml");
    size_t at = toml.find("style = \"minit\"");
    if (at == std::string::npos)
      return ::testing::AssertionFailure() << "no init style in " << toml;
    std::string init = "style = \"" + g.style + "\"";
    if (!g.command.empty()) {
      init += "\ncommand = [";
      for (size_t i = 0; i < g.command.size(); ++i) {
        init += (i ? ", " : "") + toml_string(g.command[i]);
      }
      init += "]";
    }
    if (!g.mark.empty()) init += "\nmark = " + toml_string(g.mark);
    toml.replace(at, 15, init);
    if (g.kind == Kind::kShared) {
      toml += "\n[[interfaces]]\naddress = \"192.0.2." + std::to_string(150 + g.index) +
              "\"\nmode = \"shared\"\n";
    } else if (g.kind == Kind::kIsolated) {
      toml += "\n[[interfaces]]\naddress = \"10.88.0." + std::to_string(10 + g.index) +
              "/24\"\nmode = \"isolated\"\ndev = \"vgebr0\"\n";
    }
    put(confdir(g) + "/vserver.toml", toml);
    fs::copy_file(vsattack_, vdir(g) + "/vsattack", fs::copy_options::overwrite_existing);
    ::chmod((vdir(g) + "/vsattack").c_str(), 0755);
    return ::testing::AssertionSuccess();
  }

  // argv run in the network namespace of an isolated guest (the stand-in for the host's).
  std::vector<std::string> in_net(Kind kind, std::vector<std::string> argv) const {
    if (kind != Kind::kIsolated || netns_.empty()) return argv;
    argv.insert(argv.begin(), {"nsenter", "--net=/run/netns/" + netns_, "--"});
    return argv;
  }
  std::vector<std::string> vs_argv(const Guest& g, std::vector<std::string> args) const {
    args.insert(args.begin(), {tools_->path("vserver"), g.name});
    return in_net(g.kind, std::move(args));
  }
  CmdResult vs(const Guest& g, std::vector<std::string> args, int timeout_s = 60) const {
    return run_cmd(vs_argv(g, std::move(args)), timeout_s);
  }
  CmdResult boot(Kind kind, const std::string& action, const std::string& mark) {
    if (action == "start") marks_.push_back(mark);
    return run_cmd(in_net(kind, {tools_->path("vserver-boot"), action, "--mark", mark}), 60);
  }

  static std::string vdir(const Guest& g) { return root_env().vdirbase + "/" + g.name; }
  static std::string confdir(const Guest& g) { return root_env().confdir + "/" + g.name; }

  // "NAME is running: context XID, init pid PID, up Ns"
  std::string status_field(const Guest& g, const std::string& key) const {
    std::string out = vs(g, {"status"}).out;
    size_t at = out.find(key + " ");
    if (at == std::string::npos) return "";
    std::string v = out.substr(at + key.size() + 1);
    return v.substr(0, v.find_first_of(", \n"));
  }
  std::string xid(const Guest& g) const { return status_field(g, "context"); }
  pid_t init_pid(const Guest& g) const {
    std::string p = status_field(g, "pid");
    return p.empty() ? -1 : static_cast<pid_t>(std::stol(p));
  }

  // A guest file a host tool will exec, made a `#!/proc/self/exe` script.
  void shebang_self(const Guest& g, const std::string& rel) {
    put(vdir(g) + "/" + rel, kShebangSelf, 0755);
  }

  // The root's login shell in the guest's passwd.
  void set_root_shell(const Guest& g, const std::string& shell) {
    std::istringstream in(slurp(vdir(g) + "/etc/passwd"));
    std::string out;
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("root:", 0) == 0) line = line.substr(0, line.rfind(':') + 1) + shell;
      out += line + "\n";
    }
    put(vdir(g) + "/etc/passwd", out);
  }

  // Mounts a fresh proc on DIR (for the weak setups' chroots); undone in TearDown.
  ::testing::AssertionResult mount_proc(const std::string& dir) {
    fs::create_directories(dir);
    if (::mount("proc", dir.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0) {
      return ::testing::AssertionFailure() << "mount proc on " << dir << ": " << strerror(errno);
    }
    mounts_.push_back(dir);
    return ::testing::AssertionSuccess();
  }

  // Binds the host's /dev on DIR (a weak setup's chroot needs /dev/null); undone in TearDown.
  ::testing::AssertionResult bind_dev(const std::string& dir) {
    fs::create_directories(dir);
    if (::mount("/dev", dir.c_str(), nullptr, MS_BIND, nullptr) < 0) {
      return ::testing::AssertionFailure() << "bind /dev on " << dir << ": " << strerror(errno);
    }
    mounts_.push_back(dir);
    return ::testing::AssertionSuccess();
  }

  // A copy of a host program for a weak setup, in $T/weak (attacked instead of the host's).
  std::string weak_copy(const std::string& program) {
    fs::create_directories(t_ + "/weak");
    std::string to = t_ + "/weak/" + fs::path(program).filename().string();
    fs::copy_file(program, to, fs::copy_options::overwrite_existing);
    ::chmod(to.c_str(), 0755);
    return to;
  }

  std::string t_;
  ToolCopies* tools_ = nullptr;
  std::string vsattack_;
  std::string netns_;
  std::vector<Guest> guests_;
  std::vector<std::string> mounts_;
  std::vector<std::string> marks_;
};

// ==== 1. A host binary reachable from a guest (CVE-2019-5736) ============================

// Where a host tool execs a guest file.
enum class Path {
  kExecShell,    // vserver exec /bin/sh -c ...: the guest's /bin/sh
  kExecCommand,  // vserver exec CMD: a command found through the guest's PATH
  kEnter,        // vserver enter: root's login shell from the guest's passwd
  kStartMinit,   // start: init.command under the built-in init
  kStartPlain,   // start: the guest's own /sbin/init
  kStartSysv,    // start: /etc/init.d/rc 3
  kStopSysv,     // stop: /etc/init.d/rc 0
  kRestart,      // restart: init.command, swapped by the guest while it ran
  kBoot,         // vserver-boot start --mark: init.command
};

const char* path_name(Path p) {
  switch (p) {
    case Path::kExecShell:
      return "exec_sh";
    case Path::kExecCommand:
      return "exec_cmd";
    case Path::kEnter:
      return "enter";
    case Path::kStartMinit:
      return "start_minit";
    case Path::kStartPlain:
      return "start_plain";
    case Path::kStartSysv:
      return "start_sysv";
    case Path::kStopSysv:
      return "stop_sysv";
    case Path::kRestart:
      return "restart";
    case Path::kBoot:
      return "boot";
  }
  return "?";
}

constexpr const char* kSysvRc = "#!/bin/sh\n[ \"$1\" = 3 ] && { sleep 1000 & }\nexit 0\n";

class GuestEscapeHostBinary : public GuestEscapeBase,
                              public ::testing::WithParamInterface<std::tuple<Kind, Path>> {};

// The guest makes a file a host tool will exec a `#!/proc/self/exe` script. For exec and
// enter the guest's own init (pid 1, the plain style) is vsattack hunting for the host
// binary that the kernel then runs inside the guest; a full pipe as the entrant's stderr
// keeps whatever runs there from ending before the host looked (the host tool's usage
// message blocks on it). Afterwards: no process of a guest ever exec'd a copy of a tool
// (fanotify) or runs one now, every copy is byte-identical, and for exec and enter the
// script's exit status is the memfd helper's refusal, 126.
TEST_P(GuestEscapeHostBinary, ShebangToProcSelfExeReachesNoHostBinary) {
  const auto [kind, path] = GetParam();
  const std::set<FileId> copies = tools_->ids();
  const auto hashes_before = tools_->hashes();
  ExecMonitor monitor(tools_->files(), root_env().cgroup_parent);
  ASSERT_EQ(monitor.error(), "");

  const bool entrant =
      path == Path::kExecShell || path == Path::kExecCommand || path == Path::kEnter;
  Guest g;
  if (entrant) {
    g = guest("hb", kind, "plain",
              {"/vsattack", "hunt", "-i", "30", "/tmp/hunt.log", tools_->ids_arg()});
  } else if (path == Path::kStartPlain) {
    g = guest("hb", kind, "plain");
  } else if (path == Path::kStartSysv || path == Path::kStopSysv) {
    g = guest("hb", kind, "sysv");
  } else if (path == Path::kRestart) {
    g = guest("hb", kind, "minit", {"/usr/local/bin/vs-cmd"});
  } else {
    g = guest("hb", kind, "minit", {"/usr/local/bin/vs-evil"});
  }
  if (path == Path::kBoot) g.mark = "ge-" + g.name;
  ASSERT_TRUE(build(g));
  const std::string hunt_log = vdir(g) + "/tmp/hunt.log";
  std::vector<std::string> running;  // host scans: context processes running a copy
  auto scan = [&] {
    for (auto& line : processes_running(copies)) running.push_back(line);
  };
  int status = -2;
  std::string err;

  switch (path) {
    case Path::kExecShell:
    case Path::kExecCommand:
    case Path::kEnter: {
      auto r = vs(g, {"start"});
      ASSERT_EQ(r.status, 0) << r.err;
      ASSERT_TRUE(wait_for([&] { return contains(slurp(hunt_log), "START"); }, 5000))
          << "the guest's hunter did not start: " << slurp(hunt_log);
      std::vector<std::string> args;
      if (path == Path::kExecShell) {
        shebang_self(g, "bin/sh");
        args = {"exec", "/bin/sh", "-c", "true"};
      } else if (path == Path::kExecCommand) {
        shebang_self(g, "usr/local/bin/vs-evil");
        args = {"exec", "vs-evil", "--version"};
      } else {
        shebang_self(g, "bin/vs-evilsh");
        set_root_shell(g, "/bin/vs-evilsh");
        args = {"enter"};
      }
      Pipe out, errp;
      errp.fill();
      Spawned p(SpawnSpec{vs_argv(g, args), -1, out.wr, errp.wr, {}, -1});
      out.close_write();
      errp.close_write();
      for (int i = 0; i < 150 && !p.exited(); ++i) Spawned::sleep_ms(10);
      scan();
      err = errp.drain();
      (void)out.drain();
      status = p.wait(30000);
      // What the hunter found it may still be rewriting (the host tool just ended).
      if (contains(slurp(hunt_log), "FOUND")) {
        wait_for([&] { return contains(slurp(hunt_log), "WROTE"); }, 3000);
      }
      break;
    }
    case Path::kStartMinit:
    case Path::kStartPlain:
    case Path::kStartSysv:
    case Path::kBoot: {
      shebang_self(g, path == Path::kStartPlain  ? "sbin/init"
                      : path == Path::kStartSysv ? "etc/init.d/rc"
                                                 : "usr/local/bin/vs-evil");
      auto r = path == Path::kBoot ? boot(kind, "start", g.mark) : vs(g, {"start"});
      status = r.status;
      err = r.err;
      Spawned::sleep_ms(300);
      scan();
      if (path == Path::kBoot) (void)boot(kind, "stop", g.mark);
      break;
    }
    case Path::kStopSysv: {
      put(vdir(g) + "/etc/init.d/rc", kSysvRc, 0755);
      auto r = vs(g, {"start"});
      ASSERT_EQ(r.status, 0) << r.err;
      Spawned::sleep_ms(300);
      scan();
      shebang_self(g, "etc/init.d/rc");
      r = vs(g, {"stop", "--timeout", "3"});
      status = r.status;
      err = r.err;
      break;
    }
    case Path::kRestart: {
      put(vdir(g) + "/usr/local/bin/vs-cmd", "#!/bin/sh\nexec sleep 1000\n", 0755);
      auto r = vs(g, {"start"});
      ASSERT_EQ(r.status, 0) << r.err;
      shebang_self(g, "usr/local/bin/vs-cmd");
      r = vs(g, {"restart"});
      status = r.status;
      err = r.err;
      Spawned::sleep_ms(300);
      scan();
      break;
    }
  }
  (void)vs(g, {"stop", "--kill"});
  SCOPED_TRACE(std::string("exit status ") + std::to_string(status) + ", stderr: " + err);

  EXPECT_GT(monitor.events(), 0) << "the exec monitor saw no exec of the copies at all";
  EXPECT_TRUE(monitor.violations().empty()) << "a guest process executed a host tool:\n"
                                            << joined(monitor.violations());
  EXPECT_TRUE(running.empty()) << "context processes running a host tool:\n" << joined(running);
  EXPECT_EQ(changed(hashes_before, tools_->hashes()), "") << "copies of tools were rewritten";
  if (entrant) {
    EXPECT_EQ(status, 126) << "the script's interpreter must be the memfd helper's refusal";
    const std::string hunt = slurp(hunt_log);
    EXPECT_FALSE(contains(hunt, "WROTE")) << hunt;
    EXPECT_TRUE(contains(hunt, "START")) << "the hunter never ran: " << hunt;
  }
}

INSTANTIATE_TEST_SUITE_P(
    GuestEscape, GuestEscapeHostBinary,
    ::testing::Combine(kAllKinds,
                       ::testing::Values(Path::kExecShell, Path::kExecCommand, Path::kEnter,
                                         Path::kStartMinit, Path::kStartPlain, Path::kStartSysv,
                                         Path::kStopSysv, Path::kRestart, Path::kBoot)),
    [](const ::testing::TestParamInfo<std::tuple<Kind, Path>>& pi) {
      return std::string(kind_name(std::get<0>(pi.param))) + "_" + path_name(std::get<1>(pi.param));
    });

// Weak setups: each shows its class's attack succeeding, so the checks above can fail.
class GuestEscapeWeak : public GuestEscapeBase {};

// Class 1 against a plain chroot(8) (a copy of it, the "host tool" here) with a /proc: the
// same script and hunter, and the copy is rewritten from inside.
TEST_F(GuestEscapeWeak, ChrootHostBinaryIsRewrittenFromInside) {
  Guest g = guest("weak-hb", Kind::kDefault);
  ASSERT_TRUE(build(g));
  const std::string victim = weak_copy("/usr/sbin/chroot");
  const FileId id = file_id(victim);
  const std::string before = sha256_of({victim})[victim];
  ExecMonitor monitor({victim}, root_env().cgroup_parent);
  ASSERT_EQ(monitor.error(), "");
  ASSERT_TRUE(mount_proc(vdir(g) + "/proc"));
  const std::string allow = std::to_string(id.first) + "." + std::to_string(id.second);
  const std::string hunt_log = vdir(g) + "/tmp/hunt.log";
  Spawned hunter(
      SpawnSpec{{"/usr/sbin/chroot", vdir(g), "/vsattack", "hunt", "20", "/tmp/hunt.log", allow},
                -1,
                -1,
                -1,
                {},
                -1});
  ASSERT_TRUE(wait_for([&] { return contains(slurp(hunt_log), "START"); }, 5000));
  shebang_self(g, "bin/sh");
  Pipe errp;
  errp.fill();
  Spawned p(SpawnSpec{{victim, vdir(g), "/bin/sh", "-c", "true"}, -1, -1, errp.wr, {}, -1});
  errp.close_write();
  EXPECT_TRUE(wait_for(
      [&] { return contains(slurp(hunt_log), "FOUND pid=" + std::to_string(p.pid())); }, 5000))
      << slurp(hunt_log);
  const auto running = [&] {
    std::vector<std::string> out;
    if (file_id("/proc/" + std::to_string(p.pid()) + "/exe") == id) out.push_back("victim");
    return out;
  }();
  (void)errp.drain();
  (void)p.wait(10000);
  EXPECT_TRUE(wait_for([&] { return contains(slurp(hunt_log), "WROTE"); }, 5000))
      << slurp(hunt_log);
  EXPECT_FALSE(monitor.violations().empty()) << "the monitor must see the chroot's re-exec";
  EXPECT_FALSE(running.empty()) << "the host binary ran inside the chroot";
  EXPECT_NE(sha256_of({victim})[victim], before)
      << "the weak setup's host binary was not rewritten";
}

// ==== 7. The guest's init is the host's vserver ==========================================

// "PID1 key=value" lines of `vsattack pid1`.
std::map<std::string, std::string> pid1_view(const std::string& out) {
  std::map<std::string, std::string> m;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("PID1 ", 0) != 0) continue;
    size_t eq = line.find('=');
    if (eq != std::string::npos) m[line.substr(5, eq - 5)] = line.substr(eq + 1);
  }
  return m;
}

class GuestEscapeInit : public GuestEscapeBase,
                        public ::testing::WithParamInterface<std::tuple<Kind, std::string>> {
 protected:
  // What a guest process (`who`) sees of its init: no host path in its command line, its
  // executable neither readable nor openable (unless it is the memfd helper), its memory
  // closed (the init is not dumpable).
  void expect_opaque_init(const std::string& who, const std::string& out) {
    SCOPED_TRACE(who + ":\n" + out);
    auto v = pid1_view(out);
    ASSERT_TRUE(v.count("cmdline") && v.count("exe-open") && v.count("mem-open"))
        << "the probe did not report";
    EXPECT_FALSE(contains(v["cmdline"], root_env().tmp)) << "a host path in /proc/1/cmdline";
    EXPECT_FALSE(contains(v["cmdline"], tools_->dir()));
    EXPECT_FALSE(contains(v["exe-link"], root_env().tmp)) << "/proc/1/exe names a host path";
    if (v["exe-link"].rfind("/memfd:", 0) != 0) {
      EXPECT_NE(v["exe-open"], "ok") << "guest root opened its init's executable";
      EXPECT_NE(v["exe-path"], "ok") << "guest root got an O_PATH fd of its init's executable";
    }
    EXPECT_NE(v["mem-open"], "ok") << "guest root opened its init's memory";
  }
};

// The built-in init (minit, and sysv's) seen from a guest process started by that init
// (its own Landlock domain, where there is one) and from an entrant, and from the host.
TEST_P(GuestEscapeInit, InitIsNoHostBinaryAndOpaqueToTheGuest) {
  const auto& [kind, style] = GetParam();
  const std::set<FileId> copies = tools_->ids();
  Guest g = style == "minit" ? guest("init", kind, "minit",
                                     {"/bin/sh", "-c",
                                      "/vsattack pid1 > /tmp/pid1.tmp 2>&1; "
                                      "mv /tmp/pid1.tmp /tmp/pid1; exec sleep 1000"})
                             : guest("init", kind, "sysv");
  ASSERT_TRUE(build(g));
  put(vdir(g) + "/etc/init.d/rc",
      "#!/bin/sh\nif [ \"$1\" = 3 ]; then /vsattack pid1 > /tmp/pid1.tmp 2>&1; "
      "mv /tmp/pid1.tmp /tmp/pid1; sleep 1000 & fi\nexit 0\n",
      0755);
  auto r = vs(g, {"start"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string inside = vdir(g) + "/tmp/pid1";
  ASSERT_TRUE(wait_for([&] { return fs::exists(inside); }, 5000))
      << "the init's command did not run";
  const pid_t init = init_pid(g);
  ASSERT_GT(init, 0);
  // From the host: the init's executable and command line.
  const std::string proc = "/proc/" + std::to_string(init);
  EXPECT_EQ(copies.count(file_id(proc + "/exe")), 0u)
      << "the guest's init runs a host binary: " << fs::read_symlink(proc + "/exe").string();
  std::string cmdline = slurp(proc + "/cmdline");
  for (char& c : cmdline) {
    if (c == '\0') c = ' ';
  }
  EXPECT_FALSE(contains(cmdline, root_env().tmp)) << "init's command line: " << cmdline;
  EXPECT_TRUE(processes_running(copies).empty()) << joined(processes_running(copies));
  // From inside.
  expect_opaque_init("a process of the init", slurp(inside));
  r = vs(g, {"exec", "/vsattack", "pid1"});
  EXPECT_EQ(r.status, 0) << r.err;
  expect_opaque_init("an entrant", r.out);
}

INSTANTIATE_TEST_SUITE_P(GuestEscape, GuestEscapeInit,
                         ::testing::Combine(kAllKinds, ::testing::Values(std::string("minit"),
                                                                         std::string("sysv"))),
                         [](const ::testing::TestParamInfo<std::tuple<Kind, std::string>>& pi) {
                           return std::string(kind_name(std::get<0>(pi.param))) + "_" +
                                  std::get<1>(pi.param);
                         });

// Class 7 against unshare(1) with a host supervisor (a copy of timeout(1)) as the pid
// namespace's init: its command line names the host path, guest root opens its executable.
TEST_F(GuestEscapeWeak, HostSupervisorAsInitIsOpenToTheGuest) {
  Guest g = guest("weak-init", Kind::kDefault);
  ASSERT_TRUE(build(g));
  const std::string sup = weak_copy("/usr/bin/timeout");
  auto r = run_cmd({"unshare", "--pid", "--fork", "--mount-proc=" + vdir(g) + "/proc", sup, "20",
                    "/usr/sbin/chroot", vdir(g), "/vsattack", "pid1"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto v = pid1_view(r.out);
  EXPECT_TRUE(contains(v["cmdline"], sup)) << r.out;
  EXPECT_EQ(v["exe-open"], "ok") << r.out;
  EXPECT_EQ(file_id(v["exe-link"]), file_id(sup)) << r.out;
}

// ==== 5. The administrator's environment reaches guest code ==============================

enum class EnvPath {
  kStartMinit,
  kStartPlain,
  kStartSysv,
  kStopSysv,
  kRestart,
  kBoot,
  kExec,
  kEnter,
  kEnterTty
};

const char* env_path_name(EnvPath p) {
  switch (p) {
    case EnvPath::kStartMinit:
      return "start_minit";
    case EnvPath::kStartPlain:
      return "start_plain";
    case EnvPath::kStartSysv:
      return "start_sysv";
    case EnvPath::kStopSysv:
      return "stop_sysv";
    case EnvPath::kRestart:
      return "restart";
    case EnvPath::kBoot:
      return "boot";
    case EnvPath::kExec:
      return "exec";
    case EnvPath::kEnter:
      return "enter";
    case EnvPath::kEnterTty:
      return "enter_tty";
  }
  return "?";
}

// The secrets are in this process's environment (so in every tool's) while a test runs.
class GuestEscapeEnvironment : public GuestEscapeBase,
                               public ::testing::WithParamInterface<std::tuple<Kind, EnvPath>> {
 protected:
  void SetUp() override {
    GuestEscapeBase::SetUp();
    for (const auto& [k, v] : kSecrets) ::setenv(k.c_str(), v.c_str(), 1);
  }
  void TearDown() override {
    for (const auto& kv : kSecrets) ::unsetenv(kv.first.c_str());
    GuestEscapeBase::TearDown();
  }
};

constexpr const char* kDumpEnvInit =
    "#!/bin/sh\nenv > /tmp/env.tmp; mv /tmp/env.tmp /tmp/env.out\n"
    "trap 'exit 0' PWR TERM\nwhile :; do sleep 1 & wait; done\n";
constexpr const char* kDumpEnvRc =
    "#!/bin/sh\nenv > /tmp/env.tmp; mv /tmp/env.tmp /tmp/env.rc$1\n"
    "[ \"$1\" = 3 ] && { sleep 1000 & }\nexit 0\n";

// Each path's guest code dumps its environment into the guest's /tmp; besides, every process
// of the guest's context is read from the host (/proc/PID/environ, the init's included).
TEST_P(GuestEscapeEnvironment, SecretsReachNoGuestProcess) {
  const auto [kind, path] = GetParam();
  const std::vector<std::string> dump_cmd = {
      "/bin/sh", "-c", "env > /tmp/env.tmp; mv /tmp/env.tmp /tmp/env.out; exec sleep 1000"};
  Guest g;
  switch (path) {
    case EnvPath::kStartPlain:
      g = guest("env", kind, "plain", {"/sbin/vs-init"});
      break;
    case EnvPath::kStartSysv:
    case EnvPath::kStopSysv:
      g = guest("env", kind, "sysv");
      break;
    case EnvPath::kStartMinit:
    case EnvPath::kRestart:
    case EnvPath::kBoot:
      g = guest("env", kind, "minit", dump_cmd);
      break;
    default:
      g = guest("env", kind, "minit");
      break;
  }
  if (path == EnvPath::kBoot) g.mark = "ge-" + g.name;
  ASSERT_TRUE(build(g));
  put(vdir(g) + "/sbin/vs-init", kDumpEnvInit, 0755);
  put(vdir(g) + "/etc/init.d/rc", kDumpEnvRc, 0755);
  const std::string tmp = vdir(g) + "/tmp/";
  auto file_appears = [&](const std::string& name) {
    return wait_for([&] { return fs::exists(tmp + name); }, 5000);
  };
  std::string dump;               // what the guest code saw
  std::vector<std::string> live;  // host-side: context processes with a secret
  auto check_live = [&] {
    for (auto& l : environments_containing(kSecretNeedles)) live.push_back(l);
  };

  if (path == EnvPath::kBoot) {
    auto r = boot(kind, "start", g.mark);
    ASSERT_EQ(r.status, 0) << r.err;
  } else {
    auto r = vs(g, {"start"});
    ASSERT_EQ(r.status, 0) << r.err;
  }
  switch (path) {
    case EnvPath::kStartMinit:
    case EnvPath::kStartPlain:
    case EnvPath::kBoot:
      ASSERT_TRUE(file_appears("env.out"));
      dump = slurp(tmp + "env.out");
      check_live();
      break;
    case EnvPath::kStartSysv:
      ASSERT_TRUE(file_appears("env.rc3"));
      dump = slurp(tmp + "env.rc3");
      check_live();
      break;
    case EnvPath::kStopSysv: {
      check_live();
      auto r = vs(g, {"stop"});
      ASSERT_EQ(r.status, 0) << r.err;
      ASSERT_TRUE(file_appears("env.rc0"));
      dump = slurp(tmp + "env.rc0");
      break;
    }
    case EnvPath::kRestart: {
      ASSERT_TRUE(file_appears("env.out"));
      fs::remove(tmp + "env.out");
      auto r = vs(g, {"restart"});
      ASSERT_EQ(r.status, 0) << r.err;
      ASSERT_TRUE(file_appears("env.out"));
      dump = slurp(tmp + "env.out");
      check_live();
      break;
    }
    case EnvPath::kExec: {
      Pipe out;
      Spawned p(
          SpawnSpec{vs_argv(g, {"exec", "/bin/sh", "-c", "env; sleep 1"}), -1, out.wr, -1, {}, -1});
      out.close_write();
      Spawned::sleep_ms(500);
      check_live();
      dump = out.drain();
      EXPECT_EQ(p.wait(20000), 0);
      break;
    }
    case EnvPath::kEnter: {
      Pipe in;
      const std::string script = "env > /tmp/env.tmp; mv /tmp/env.tmp /tmp/env.enter; sleep 1\n";
      (void)!::write(in.wr, script.data(), script.size());
      in.close_write();
      Spawned p(SpawnSpec{vs_argv(g, {"enter"}), in.rd, -1, -1, {}, -1});
      Spawned::sleep_ms(500);
      check_live();
      EXPECT_EQ(p.wait(20000), 0);
      ASSERT_TRUE(file_appears("env.enter"));
      dump = slurp(tmp + "env.enter");
      break;
    }
    case EnvPath::kEnterTty: {
      Pty pty;
      ASSERT_TRUE(pty.ok());
      Spawned p(SpawnSpec{vs_argv(g, {"enter"}), pty.slave, pty.slave, pty.slave, {}, pty.slave});
      pty.type("env > /tmp/env.tmp; mv /tmp/env.tmp /tmp/env.enter; sleep 1; exit\n");
      Spawned::sleep_ms(500);
      check_live();
      int st = -1;
      for (int i = 0; i < 1000 && !p.exited(); ++i) {
        (void)Pty::available(pty.master);  // keep the terminal flowing
        Spawned::sleep_ms(10);
      }
      st = p.wait(5000);
      EXPECT_EQ(st, 0);
      ASSERT_TRUE(file_appears("env.enter"));
      dump = slurp(tmp + "env.enter");
      break;
    }
  }
  if (path == EnvPath::kBoot) (void)boot(kind, "stop", g.mark);
  EXPECT_TRUE(contains(dump, "PATH=")) << "no environment dump:\n" << dump;
  EXPECT_TRUE(secrets_in(dump).empty())
      << "the guest code saw: " << joined(secrets_in(dump)) << "in:\n"
      << dump;
  EXPECT_TRUE(live.empty()) << "guest processes hold the administrator's environment:\n"
                            << joined(live);
}

INSTANTIATE_TEST_SUITE_P(
    GuestEscape, GuestEscapeEnvironment,
    ::testing::Combine(kAllKinds,
                       ::testing::Values(EnvPath::kStartMinit, EnvPath::kStartPlain,
                                         EnvPath::kStartSysv, EnvPath::kStopSysv, EnvPath::kRestart,
                                         EnvPath::kBoot, EnvPath::kExec, EnvPath::kEnter,
                                         EnvPath::kEnterTty)),
    [](const ::testing::TestParamInfo<std::tuple<Kind, EnvPath>>& pi) {
      return std::string(kind_name(std::get<0>(pi.param))) + "_" +
             env_path_name(std::get<1>(pi.param));
    });

// Class 5 against chroot(8): the environment goes through.
TEST_F(GuestEscapeWeak, ChrootPassesTheEnvironment) {
  Guest g = guest("weak-env", Kind::kDefault);
  ASSERT_TRUE(build(g));
  for (const auto& [k, v] : kSecrets) ::setenv(k.c_str(), v.c_str(), 1);
  auto r = run_cmd({"/usr/sbin/chroot", vdir(g), "/bin/sh", "-c", "env"});
  for (const auto& kv : kSecrets) ::unsetenv(kv.first.c_str());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "PATH="));
  EXPECT_FALSE(secrets_in(r.out).empty()) << r.out;
  EXPECT_TRUE(contains(r.out, "AWS_SECRET_ACCESS_KEY=vs-secret")) << r.out;
}

// ==== 6. A host file given as stdin/stdout can be rewritten or read back =================

enum class Stdio { kStdinRewrite, kStdinThroughAnotherProcess, kStdoutReadBack, kStopSysvStdin };

const char* stdio_name(Stdio s) {
  switch (s) {
    case Stdio::kStdinRewrite:
      return "stdin_rewrite";
    case Stdio::kStdinThroughAnotherProcess:
      return "stdin_other_process";
    case Stdio::kStdoutReadBack:
      return "stdout_read_back";
    case Stdio::kStopSysvStdin:
      return "stop_sysv_stdin";
  }
  return "?";
}

// "fdN=TARGET" lines: each TARGET must be a pipe or a pty, never a file of the host (or, with
// `dev_null`, the guest's /dev/null: for code the tool runs on its own behalf, like rc 0).
void expect_only_pipes_or_ptys(const std::string& out, int count, bool dev_null = false) {
  static const std::regex ok(R"(^(pipe:\[[0-9]+\]|/dev/pts/[0-9]+)$)");
  static const std::regex ok_null(R"(^(pipe:\[[0-9]+\]|/dev/pts/[0-9]+|/dev/null)$)");
  int seen = 0;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("fd", 0) != 0 || line.find('=') == std::string::npos) continue;
    ++seen;
    std::string target = line.substr(line.find('=') + 1);
    EXPECT_TRUE(std::regex_match(target, dev_null ? ok_null : ok))
        << "the command's " << line.substr(0, line.find('=')) << " is " << target;
  }
  EXPECT_EQ(seen, count) << out;
}

// (The shell's own fds: a command substitution's /proc/self is a subshell with a pipe as 1.)
constexpr const char* kShowFds =
    "for f in 0 1 2; do l=$(readlink /proc/$$/fd/$f); echo \"fd$f=$l\" >&2; done";

class GuestEscapeStdio : public GuestEscapeBase,
                         public ::testing::WithParamInterface<std::tuple<Kind, Stdio>> {};

TEST_P(GuestEscapeStdio, HostFileIsNeitherRewrittenNorReadBack) {
  const auto [kind, variant] = GetParam();
  Guest g = guest("stdio", kind, variant == Stdio::kStopSysvStdin ? "sysv" : "minit");
  ASSERT_TRUE(build(g));
  // A sysv guest's rc 0, run by `vserver stop`: the same attack on stop's stdin.
  put(vdir(g) + "/etc/init.d/rc",
      "#!/bin/sh\nif [ \"$1\" = 0 ]; then echo pwned > /proc/self/fd/0; for f in 0 1 2; do "
      "l=$(readlink /proc/$$/fd/$f); echo \"fd$f=$l\" >> /tmp/rc0-fds; done; fi\n"
      "[ \"$1\" = 3 ] && { sleep 1000 & }\nexit 0\n",
      0755);
  auto r = vs(g, {"start"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string hostfile = t_ + "/hostfile";
  const FileId host_id = [&] {
    put(hostfile, "host secret line\n", 0600);
    return file_id(hostfile);
  }();
  switch (variant) {
    case Stdio::kStdinRewrite: {
      int in = ::open(hostfile.c_str(), O_RDONLY | O_CLOEXEC);
      ASSERT_GE(in, 0);
      Pipe out, err;
      Spawned p(SpawnSpec{vs_argv(g, {"exec", "/bin/sh", "-c",
                                      std::string("echo pwned > /proc/self/fd/0; ") + kShowFds}),
                          in,
                          out.wr,
                          err.wr,
                          {},
                          -1});
      ::close(in);
      out.close_write();
      err.close_write();
      std::string text = err.drain();
      (void)out.drain();
      EXPECT_EQ(p.wait(20000), 0) << text;
      expect_only_pipes_or_ptys(text, 3);
      break;
    }
    case Stdio::kStdinThroughAnotherProcess: {
      int in = ::open(hostfile.c_str(), O_RDONLY | O_CLOEXEC);
      ASSERT_GE(in, 0);
      Spawned a(SpawnSpec{vs_argv(g, {"exec", "/bin/sh", "-c",
                                      "echo $$ > /tmp/victim.tmp; mv /tmp/victim.tmp "
                                      "/tmp/victim.pid; exec sleep 30"}),
                          in,
                          -1,
                          -1,
                          {},
                          -1});
      ::close(in);
      ASSERT_TRUE(wait_for([&] { return fs::exists(vdir(g) + "/tmp/victim.pid"); }, 5000));
      // From the host: no guest process holds the host file.
      auto holders = processes_holding({host_id});
      EXPECT_TRUE(holders.empty()) << "guest processes hold the host file:\n" << joined(holders);
      r = vs(g, {"exec", "/bin/sh", "-c",
                 "p=$(cat /tmp/victim.pid); echo \"fd0=$(readlink /proc/$p/fd/0)\"; "
                 "echo pwned > /proc/$p/fd/0; echo rc=$?"});
      SCOPED_TRACE(r.out + r.err);
      (void)vs(g, {"exec", "/bin/sh", "-c", "kill $(cat /tmp/victim.pid)"});
      (void)a.wait(20000);
      break;
    }
    case Stdio::kStdoutReadBack: {
      int out = ::open(hostfile.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
      ASSERT_GE(out, 0);
      Pipe in, err;
      in.close_write();
      Spawned p(
          SpawnSpec{vs_argv(g, {"exec", "/bin/sh", "-c",
                                std::string(kShowFds) +
                                    "; exec 3>&1; timeout 1 cat /proc/$$/fd/3 > /tmp/stolen 2>&1;"
                                    " echo appended"}),
                    in.rd,
                    out,
                    err.wr,
                    {},
                    -1});
      ::close(out);
      err.close_write();
      std::string text = err.drain();
      EXPECT_EQ(p.wait(20000), 0) << text;
      expect_only_pipes_or_ptys(text, 3);
      const std::string stolen = slurp(vdir(g) + "/tmp/stolen");
      EXPECT_FALSE(contains(stolen, "host secret line")) << "the guest read the host file back";
      EXPECT_TRUE(contains(slurp(hostfile), "appended")) << "the command's output was lost";
      break;
    }
    case Stdio::kStopSysvStdin: {
      int in = ::open(hostfile.c_str(), O_RDONLY | O_CLOEXEC);
      ASSERT_GE(in, 0);
      Pipe out, err;
      Spawned p(SpawnSpec{vs_argv(g, {"stop"}), in, out.wr, err.wr, {}, -1});
      ::close(in);
      out.close_write();
      err.close_write();
      std::string text = err.drain();
      (void)out.drain();
      EXPECT_EQ(p.wait(30000), 0) << text;
      ASSERT_TRUE(fs::exists(vdir(g) + "/tmp/rc0-fds")) << "rc 0 did not run";
      expect_only_pipes_or_ptys(slurp(vdir(g) + "/tmp/rc0-fds"), 3, true);
      break;
    }
  }
  const std::string now = slurp(hostfile);
  EXPECT_EQ(now.substr(0, 17), "host secret line\n") << "the host file was rewritten: " << now;
  EXPECT_FALSE(contains(now, "pwned")) << now;
  EXPECT_EQ(file_id(hostfile), host_id);
}

INSTANTIATE_TEST_SUITE_P(
    GuestEscape, GuestEscapeStdio,
    ::testing::Combine(kAllKinds,
                       ::testing::Values(Stdio::kStdinRewrite, Stdio::kStdinThroughAnotherProcess,
                                         Stdio::kStdoutReadBack, Stdio::kStopSysvStdin)),
    [](const ::testing::TestParamInfo<std::tuple<Kind, Stdio>>& pi) {
      return std::string(kind_name(std::get<0>(pi.param))) + "_" +
             stdio_name(std::get<1>(pi.param));
    });

// Class 6 against chroot(8) with a /proc: stdin rewritten, stdout read back.
TEST_F(GuestEscapeWeak, ChrootRewritesStdinAndReadsStdoutBack) {
  Guest g = guest("weak-stdio", Kind::kDefault);
  ASSERT_TRUE(build(g));
  ASSERT_TRUE(mount_proc(vdir(g) + "/proc"));
  const std::string hostfile = t_ + "/hostfile";
  put(hostfile, "host secret line\n", 0600);
  int in = ::open(hostfile.c_str(), O_RDONLY | O_CLOEXEC);
  Spawned p(
      SpawnSpec{{"/usr/sbin/chroot", vdir(g), "/bin/sh", "-c", "echo pwned > /proc/self/fd/0"},
                in,
                -1,
                -1,
                {},
                -1});
  ::close(in);
  EXPECT_EQ(p.wait(10000), 0);
  EXPECT_EQ(slurp(hostfile), "pwned\n") << "the weak setup's stdin was not rewritten";
  put(hostfile, "host secret line\n", 0600);
  int out = ::open(hostfile.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  Spawned q(SpawnSpec{{"/usr/sbin/chroot", vdir(g), "/bin/sh", "-c",
                       "exec 3>&1; timeout 1 cat /proc/$$/fd/3 > /tmp/stolen 2>&1"},
                      -1,
                      out,
                      -1,
                      {},
                      -1});
  ::close(out);
  (void)q.wait(10000);
  EXPECT_TRUE(contains(slurp(vdir(g) + "/tmp/stolen"), "host secret line"))
      << "the weak setup's stdout was not read back";
}

// ==== 4. exec hands the guest the administrator's terminal ================================

// Left behind in the guest by a command that returned at once: it ignores the hangup, reads
// a line from the terminal it was given after its parent returned, pushes a command into
// that terminal's input (TIOCSTI), and reads /dev/tty.
// (A background job of sh gets /dev/null as stdin: the terminal goes in as fd 3.)
constexpr const char* kTerminalThief =
    "trap '' HUP; exec 3<&0; ( sleep 1; read x <&3; echo \"got:$x\" > /tmp/leak; "
    "/vsattack tiocsti 3 'echo INJECTED' > /tmp/tiocsti 2>&1; "
    "timeout 3 cat /dev/tty > /tmp/ttyleak 2>&1 ) & exit 0";

enum class TermPath { kExec, kEnter, kStopSysv };

// A sysv guest's `rc 0`, run by `vserver stop` from the administrator's terminal: it reads
// what is typed while the stop runs.
constexpr const char* kRcTerminalThief =
    "#!/bin/sh\nif [ \"$1\" = 0 ]; then trap '' HUP TERM; exec 3<&0; "
    "( sleep 1; read x <&3; echo \"got:$x\" > /tmp/leak ) & sleep 2; fi\n"
    "[ \"$1\" = 3 ] && { sleep 1000 & }\nexit 0\n";

class GuestEscapeTerminal : public GuestEscapeBase,
                            public ::testing::WithParamInterface<std::tuple<Kind, TermPath>> {
 protected:
  // After the tool returned: the secret lines typed at the terminal reach no guest process,
  // nothing was pushed into its input, and no guest process holds it.
  void expect_terminal_kept(const Pty& pty, const std::string& dir) {
    auto holders = processes_holding({pty.slave_id});
    EXPECT_TRUE(holders.empty()) << "guest processes hold the administrator's terminal:\n"
                                 << joined(holders);
    Spawned::sleep_ms(200);
    pty.type("vs-tty-secret-1\n");
    Spawned::sleep_ms(1800);
    pty.type("vs-tty-secret-2\n");
    Spawned::sleep_ms(800);
    const std::string input = Pty::available(pty.slave);
    (void)Pty::available(pty.master);
    EXPECT_FALSE(contains(input, "INJECTED"))
        << "the guest pushed input into the terminal: " << input << "\n"
        << slurp(dir + "/tiocsti");
    const std::string leak = slurp(dir + "/leak") + slurp(dir + "/ttyleak");
    EXPECT_FALSE(contains(leak, "vs-tty-secret")) << "the guest read the terminal: " << leak;
  }
};

TEST_P(GuestEscapeTerminal, GuestKeepsNothingOfTheTerminal) {
  const auto [kind, path] = GetParam();
  Guest g = guest("tty", kind, path == TermPath::kStopSysv ? "sysv" : "minit");
  ASSERT_TRUE(build(g));
  put(vdir(g) + "/etc/init.d/rc", kRcTerminalThief, 0755);
  auto r = vs(g, {"start"});
  ASSERT_EQ(r.status, 0) << r.err;
  Pty pty;
  ASSERT_TRUE(pty.ok());
  if (path == TermPath::kStopSysv) {
    // While the stop runs: rc 0 must not hold the terminal, nor read what is typed.
    Spawned p(SpawnSpec{vs_argv(g, {"stop"}), pty.slave, pty.slave, pty.slave, {}, pty.slave});
    Spawned::sleep_ms(500);
    auto holders = processes_holding({pty.slave_id});
    pty.type("vs-tty-secret-0\n");
    for (int i = 0; i < 2000 && !p.exited(); ++i) {
      (void)Pty::available(pty.master);
      Spawned::sleep_ms(10);
    }
    EXPECT_EQ(p.wait(1000), 0);
    EXPECT_TRUE(holders.empty()) << "guest processes hold the administrator's terminal during "
                                    "the stop:\n"
                                 << joined(holders);
    const std::string leak = slurp(vdir(g) + "/tmp/leak");
    EXPECT_FALSE(contains(leak, "vs-tty-secret")) << "rc 0 read the terminal: " << leak;
    return;
  }
  {
    std::vector<std::string> args = {"exec", "/bin/sh", "-c", kTerminalThief};
    if (path == TermPath::kEnter) args = {"enter"};
    Spawned p(SpawnSpec{vs_argv(g, args), pty.slave, pty.slave, pty.slave, {}, pty.slave});
    if (path == TermPath::kEnter) pty.type(std::string(kTerminalThief) + "\n");
    for (int i = 0; i < 2000 && !p.exited(); ++i) {
      (void)Pty::available(pty.master);
      Spawned::sleep_ms(10);
    }
    EXPECT_EQ(p.wait(1000), 0);
  }
  expect_terminal_kept(pty, vdir(g) + "/tmp");
}

INSTANTIATE_TEST_SUITE_P(GuestEscape, GuestEscapeTerminal,
                         ::testing::Combine(kAllKinds,
                                            ::testing::Values(TermPath::kExec, TermPath::kEnter,
                                                              TermPath::kStopSysv)),
                         [](const ::testing::TestParamInfo<std::tuple<Kind, TermPath>>& pi) {
                           const TermPath tp = std::get<1>(pi.param);
                           return std::string(kind_name(std::get<0>(pi.param))) +
                                  (tp == TermPath::kExec    ? "_exec"
                                   : tp == TermPath::kEnter ? "_enter"
                                                            : "_stop_sysv");
                         });

// Class 4 against chroot(8) given the terminal: the leftover reads the line typed after the
// command returned, and (root with every capability) pushes input into the terminal.
TEST_F(GuestEscapeWeak, ChrootHandsTheTerminalOver) {
  Guest g = guest("weak-tty", Kind::kDefault);
  ASSERT_TRUE(build(g));
  ASSERT_TRUE(bind_dev(vdir(g) + "/dev"));
  Pty pty;
  ASSERT_TRUE(pty.ok());
  {
    Spawned p(SpawnSpec{{"/usr/sbin/chroot", vdir(g), "/bin/sh", "-c", kTerminalThief},
                        pty.slave,
                        pty.slave,
                        pty.slave,
                        {},
                        pty.slave});
    EXPECT_EQ(p.wait(10000), 0);
  }
  Spawned::sleep_ms(200);
  pty.type("vs-tty-secret-1\n");
  Spawned::sleep_ms(1800);
  const std::string input = Pty::available(pty.slave);
  EXPECT_TRUE(contains(slurp(vdir(g) + "/tmp/leak"), "vs-tty-secret-1"))
      << "the weak setup's leftover did not read the terminal";
  EXPECT_TRUE(contains(input, "INJECTED")) << "TIOCSTI: " << slurp(vdir(g) + "/tmp/tiocsti");
}

// ==== 3. `vserver A exec` runs in another guest C ========================================

// A and C: dynamic contexts (no `context` key), so C, started after A stopped, gets A's xid
// (lowest free first).
class GuestEscapeXidReuse : public GuestEscapeBase, public ::testing::WithParamInterface<Kind> {
 protected:
  // Starts `args` of A stopped at the test hook; false (a failure) if it does not stop there.
  bool paused(Spawned& p, Pipe& err, const std::string& hook) {
    if (p.stopped_within(10000)) return true;
    const int status = p.wait(20000);
    ADD_FAILURE() << "the tool did not stop at VSERVER_TEST_STOP_AT=" << hook << " (exit status "
                  << status << "): the test hook is missing\n"
                  << err.drain(1000);
    return false;
  }
};

// exec paused after it resolved A; A stops, C starts on its xid; the exec goes on: it must
// not run in C, must fail naming A, and C is untouched.
TEST_P(GuestEscapeXidReuse, PausedExecDoesNotRunInTheNextGuest) {
  const Kind kind = GetParam();
  Guest a = guest("xa", kind), c = guest("xc", kind);
  ASSERT_TRUE(build(a));
  ASSERT_TRUE(build(c));
  auto r = vs(a, {"start"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string xid_a = xid(a);
  Pipe out, err;
  Spawned p(SpawnSpec{vs_argv(a, {"exec", "/bin/sh", "-c", "hostname > /tmp/xid-marker; hostname"}),
                      -1,
                      out.wr,
                      err.wr,
                      {"VSERVER_TEST_STOP_AT=exec-resolved"},
                      -1});
  out.close_write();
  err.close_write();
  if (!paused(p, err, "exec-resolved")) return;
  {
    // A fix may instead close the window with a lock the paused exec holds: then the stop
    // waits for it, the exec runs in A (which still ran when it was resolved), and C, started
    // afterwards, is out of its reach anyway.
    Pipe stop_err;
    Spawned stop(SpawnSpec{vs_argv(a, {"stop"}), -1, -1, stop_err.wr, {}, -1});
    stop_err.close_write();
    if (!wait_for([&] { return stop.exited(); }, 5000)) {
      std::printf("note: the stop of A waits for the paused exec\n");
      ::kill(p.pid(), SIGCONT);
    }
    ASSERT_EQ(stop.wait(30000), 0) << stop_err.drain(1000);
  }
  r = vs(c, {"start"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string xid_c = xid(c);
  const pid_t init_c = init_pid(c);
  SCOPED_TRACE("A had context " + xid_a + ", C got " + xid_c);
  ::kill(p.pid(), SIGCONT);
  const std::string errtext = err.drain();
  const std::string outtext = out.drain();
  const int status = p.wait(20000);
  if (contains(outtext, a.name)) {
    std::printf("note: the exec ran in A before A stopped (the stop waited for it)\n");
  } else {
    EXPECT_NE(status, 0) << "the exec ran although its guest had stopped: " << outtext;
    EXPECT_TRUE(contains(errtext, a.name)) << "the error must name the guest: " << errtext;
  }
  EXPECT_FALSE(contains(outtext, c.name)) << "the exec ran in C: " << outtext;
  EXPECT_FALSE(fs::exists(vdir(c) + "/tmp/xid-marker")) << "the exec wrote into C";
  EXPECT_EQ(vs(c, {"running"}).status, 0) << "C was stopped";
  EXPECT_EQ(init_pid(c), init_c) << "C's init changed";
}

// stop paused after it found A's context; A's init dies on its own, C starts on its xid; the
// stop goes on: C must survive untouched.
TEST_P(GuestEscapeXidReuse, PausedStopDoesNotKillTheNextGuest) {
  const Kind kind = GetParam();
  Guest a = guest("xa", kind), c = guest("xc", kind);
  ASSERT_TRUE(build(a));
  ASSERT_TRUE(build(c));
  auto r = vs(a, {"start"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string xid_a = xid(a);
  const pid_t init_a = init_pid(a);
  ASSERT_GT(init_a, 0);
  Pipe out, err;
  Spawned p(SpawnSpec{
      vs_argv(a, {"stop"}), -1, out.wr, err.wr, {"VSERVER_TEST_STOP_AT=stop-resolved"}, -1});
  out.close_write();
  err.close_write();
  if (!paused(p, err, "stop-resolved")) return;
  ASSERT_EQ(::kill(init_a, SIGKILL), 0);
  ASSERT_TRUE(wait_for([&] { return !fs::exists("/proc/" + std::to_string(init_a)); }, 5000));
  r = vs(c, {"start"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string xid_c = xid(c);
  const pid_t init_c = init_pid(c);
  SCOPED_TRACE("A had context " + xid_a + ", C got " + xid_c);
  ::kill(p.pid(), SIGCONT);
  const std::string errtext = err.drain();
  (void)p.wait(30000);
  SCOPED_TRACE("stop said: " + errtext);
  EXPECT_EQ(vs(c, {"running"}).status, 0) << "the stop of A killed C";
  EXPECT_EQ(init_pid(c), init_c) << "C's init changed";
  r = vs(c, {"exec", "hostname"});
  EXPECT_EQ(trim(r.out), c.name) << r.err;
}

INSTANTIATE_TEST_SUITE_P(GuestEscape, GuestEscapeXidReuse, kAllKinds,
                         [](const ::testing::TestParamInfo<Kind>& pi) {
                           return std::string(kind_name(pi.param));
                         });

// Class 3 with the xid resolved by hand, as the old code did (RUNDIR/guest-A.xid), and the
// command run later by xid (vcontext --migrate, vkill): it lands in C.
TEST_F(GuestEscapeWeak, ResolvedXidReachesTheNextGuest) {
  Guest a = guest("wxa", Kind::kDefault), c = guest("wxc", Kind::kDefault);
  ASSERT_TRUE(build(a));
  ASSERT_TRUE(build(c));
  ASSERT_EQ(vs(a, {"start"}).status, 0);
  const std::string x = trim(slurp(root_env().rundir + "/guest-" + a.name + ".xid"));
  ASSERT_FALSE(x.empty());
  ASSERT_EQ(vs(a, {"stop"}).status, 0);
  ASSERT_EQ(vs(c, {"start"}).status, 0);
  ASSERT_EQ(xid(c), x) << "C did not get A's xid: the window cannot be shown";
  auto r = run_cmd({tools_->path("vcontext"), "--migrate", "--xid", x, "--", "/bin/sh", "-c",
                    "hostname > /tmp/xid-marker; hostname"});
  EXPECT_EQ(trim(r.out), c.name) << "the command meant for A did not run in C: " << r.err;
  EXPECT_TRUE(fs::exists(vdir(c) + "/tmp/xid-marker"));
  // The stop meant for A: by xid, it kills C.
  r = run_cmd({tools_->path("vkill"), "--xid", x, "-s", "KILL"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(wait_for([&] { return vs(c, {"running"}).status != 0; }, 5000))
      << "the kill meant for A did not reach C";
}

// ==== 2. A build method runs guest/template code as host root ============================

// The template's module: a gconv module and an NSS module in one. Loaded, its constructor
// climbs out of a chroot (chroot("x"); chdir("..") x64; chroot(".")) and writes MARKER, a
// path of the test's temp dir on the host; it also notes the load inside the tree.
constexpr const char* kEvilModule = R"(#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
__attribute__((constructor)) static void vs_evil(void) {
  int in = open("/VSEVIL-LOADED", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (in >= 0) { dprintf(in, "loaded pid %d uid %d\n", (int)getpid(), (int)getuid()); close(in); }
  mkdir("vsevil-x", 0700);
  if (chroot("vsevil-x") == 0) {
    for (int i = 0; i < 64; i++) (void)!chdir("..");
    (void)!chroot(".");
  }
  int fd = open(MARKER, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd >= 0) {
    dprintf(fd, "template code ran on the host as uid %d\n", (int)getuid());
    close(fd);
  }
}
int gconv_init(void *step) { (void)step; return 1; }
int gconv(void *a, void *b, void *c, void *d, int e, int f) {
  (void)a; (void)b; (void)c; (void)d; (void)e; (void)f; return 1;
}
void gconv_end(void *step) { (void)step; }
int _nss_vsevil_getpwnam_r(const char *n, void *p, char *b, size_t l, int *e) {
  (void)n; (void)p; (void)b; (void)l; *e = 2; return 0;
}
int _nss_vsevil_getgrnam_r(const char *n, void *g, char *b, size_t l, int *e) {
  (void)n; (void)g; (void)b; (void)l; *e = 2; return 0;
}
)";

// Cheaper than every builtin route between UTF-8, the C locale's charset and glibc's internal
// one: the C-locale conversion libarchive asks iconv for goes through VSEVIL.so.
constexpr const char* kGconvConfig =
    "module INTERNAL ANSI_X3.4-1968// VSEVIL 1\n"
    "module ANSI_X3.4-1968// INTERNAL VSEVIL 1\n"
    "module UTF-8// ANSI_X3.4-1968// VSEVIL 1\n";

constexpr const char* kGconvDir = "usr/lib/x86_64-linux-gnu/gconv/";

enum class Template { kGconvModules, kGconvModulesD, kNss };

const char* template_name(Template t) {
  switch (t) {
    case Template::kGconvModules:
      return "gconv_modules";
    case Template::kGconvModulesD:
      return "gconv_modules_d";
    case Template::kNss:
      return "nss";
  }
  return "?";
}

// Entries of the hostile templates (every one mode 0755).
TarEntry tar_dir(const std::string& name) { return TarEntry(name, AE_IFDIR, "", "", "", 0755); }
TarEntry tar_file(const std::string& name, const std::string& data) {
  return TarEntry(name, AE_IFREG, data, "", "", 0755);
}

// A file owned by names the reader looks up (NSS) to map them to its own ids.
TarEntry owned_by_name(const std::string& name, const std::string& user,
                       const std::string& group) {
  TarEntry e = tar_file(name, "x");
  e.uid = 4242;
  e.gid = 4242;
  e.uname = user;
  e.gname = group;
  return e;
}

class GuestEscapeTemplate : public GuestEscapeBase, public ::testing::WithParamInterface<Template> {
 protected:
  // The module, built now with MARKER = `marker`.
  ::testing::AssertionResult build_module(const std::string& marker) {
    const std::string src = t_ + "/vsevil.c";
    put(src, kEvilModule);
    auto r = run_cmd({"gcc", "-shared", "-fPIC", "-O2", "-DMARKER=\"" + marker + "\"", "-o",
                      t_ + "/vsevil.so", src});
    if (r.status != 0) return ::testing::AssertionFailure() << "gcc: " << r.err;
    module_ = slurp(t_ + "/vsevil.so");
    return ::testing::AssertionSuccess();
  }

  // The hostile template of a variant; its last entry makes the reader call iconv.
  std::vector<TarEntry> hostile(Template t) const {
    std::vector<TarEntry> e = {tar_dir("usr/"), tar_dir("usr/lib/"),
                               tar_dir("usr/lib/x86_64-linux-gnu/"), tar_dir(kGconvDir),
                               tar_dir("etc/")};
    switch (t) {
      case Template::kGconvModules:
        e.push_back(tar_file(std::string(kGconvDir) + "VSEVIL.so", module_));
        e.push_back(tar_file(std::string(kGconvDir) + "gconv-modules", kGconvConfig));
        break;
      case Template::kGconvModulesD:
        e.push_back(tar_file(std::string(kGconvDir) + "VSEVIL.so", module_));
        e.push_back(tar_dir(std::string(kGconvDir) + "gconv-modules.d/"));
        e.push_back(tar_file(std::string(kGconvDir) + "gconv-modules.d/vsevil.conf", kGconvConfig));
        break;
      case Template::kNss:
        e.push_back(tar_dir("lib/"));
        e.push_back(tar_dir("lib/x86_64-linux-gnu/"));
        e.push_back(tar_file("lib/x86_64-linux-gnu/libnss_vsevil.so.2", module_));
        e.push_back(tar_file("usr/lib/x86_64-linux-gnu/libnss_vsevil.so.2", module_));
        e.push_back(tar_file("etc/nsswitch.conf",
                             "passwd: vsevil files\ngroup: vsevil files\nhosts: vsevil files\n"));
        e.push_back(owned_by_name("etc/owned-by-name", "vsevil-user", "vsevil-group"));
        break;
    }
    e.push_back(tar_file("etc/caf\xc3\xa9", "non-ASCII name: converted through iconv"));
    return e;
  }

  std::string module_;
};

// vserver NAME build -m template --source HOSTILE.tar: whatever the outcome, the template's
// code never ran on the host.
TEST_P(GuestEscapeTemplate, TemplateCodeNeverRunsOnTheHost) {
  const std::string marker = t_ + "/HOST-MARKER";
  ASSERT_TRUE(build_module(marker));
  const std::string tarball = t_ + "/hostile.tar.gz";
  ASSERT_NO_FATAL_FAILURE(write_tar(tarball, hostile(GetParam()), true));
  Guest g = guest("tmpl", Kind::kDefault);
  guests_.push_back(g);  // removed at the end if the build made it
  auto r = vs(g, {"build", "-m", "template", "--source", tarball, "-q"});
  SCOPED_TRACE("build exit " + std::to_string(r.status) + ": " + r.err);
  EXPECT_FALSE(fs::exists(marker)) << "the template's module ran as host root: " << slurp(marker);
  if (fs::exists(vdir(g) + "/VSEVIL-LOADED")) {
    std::printf("note: the module was loaded inside the build: %s",
                slurp(vdir(g) + "/VSEVIL-LOADED").c_str());
  }
}

INSTANTIATE_TEST_SUITE_P(GuestEscape, GuestEscapeTemplate,
                         ::testing::Values(Template::kGconvModules, Template::kGconvModulesD,
                                           Template::kNss),
                         [](const ::testing::TestParamInfo<Template>& pi) {
                           return std::string(template_name(pi.param));
                         });

// Class 2 with a naive extraction: libarchive in a chrooted child with every capability (what
// `-m template` did), and a name lookup in the same chroot: both run the module, whose
// marker appears on the host.
class GuestEscapeWeakTemplate : public GuestEscapeTemplate {};

TEST_P(GuestEscapeWeakTemplate, ChrootedExtractionRunsTheModuleOnTheHost) {
  const std::string marker = t_ + "/HOST-MARKER";
  ASSERT_TRUE(build_module(marker));
  const std::string tarball = t_ + "/hostile.tar.gz";
  ASSERT_NO_FATAL_FAILURE(write_tar(tarball, hostile(GetParam()), true));
  const std::string tree = t_ + "/tree";
  fs::create_directories(tree);
  // In a process of its own: glibc reads its gconv configuration once per process, and this
  // one has read the host's already (tests/support/weak_extractor.h).
  put(t_ + "/weak.c", kWeakExtractor);
  auto cc = run_cmd({"gcc", "-o", t_ + "/weak-extract", t_ + "/weak.c", "-larchive"});
  ASSERT_EQ(cc.status, 0) << "gcc: " << cc.err;
  (void)run_cmd({t_ + "/weak-extract", tree, tarball, "vsevil-user"});
  EXPECT_TRUE(fs::exists(marker)) << "the weak extraction did not run the template's module";
}

INSTANTIATE_TEST_SUITE_P(GuestEscape, GuestEscapeWeakTemplate,
                         ::testing::Values(Template::kGconvModules, Template::kGconvModulesD,
                                           Template::kNss),
                         [](const ::testing::TestParamInfo<Template>& pi) {
                           return std::string(template_name(pi.param));
                         });

// Every regular file under `dir` whose content holds `needle`, and the symlinks there.
std::vector<std::string> files_containing(const std::string& dir, const std::string& needle) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::none, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it->is_symlink(ec)) continue;
    if (it->is_regular_file(ec) && contains(slurp(it->path().string()), needle)) {
      out.push_back(it->path().string());
    }
  }
  return out;
}

// A snapshot of the host directory a hostile tree aims at: every path with its content.
std::map<std::string, std::string> snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    out[it->path().string()] = it->is_regular_file(ec) ? slurp(it->path().string()) : "<dir>";
  }
  return out;
}

class GuestEscapeBuild : public GuestEscapeBase {
 protected:
  // $T/host: what the hostile trees point at.
  std::string host_dir() {
    const std::string h = t_ + "/host";
    put(h + "/secret", "vs-host-secret\n", 0600);
    put(h + "/sub/keep", "vs-host-keep\n");
    return h;
  }
};

// clone of a tree whose links lead to the host: copied as links, nothing of the host in.
TEST_F(GuestEscapeBuild, CloneOfAHostileTreeStaysInside) {
  const std::string host = host_dir();
  const auto before = snapshot(host);
  Guest s = guest("csrc", Kind::kDefault), n = guest("cnew", Kind::kDefault);
  ASSERT_TRUE(build(s));
  guests_.push_back(n);
  const std::string v = vdir(s);
  fs::create_symlink(host + "/secret", v + "/etc/shadow-link");
  fs::create_directories(v + "/srv");
  fs::create_symlink(host, v + "/srv/data");
  fs::create_symlink("../../../../../../../../..", v + "/srv/up");
  fs::create_symlink("/", v + "/srv/root");
  auto r = vs(n, {"build", "-m", "clone", "--source", s.name, "-q"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::is_symlink(vdir(n) + "/etc/shadow-link"));
  EXPECT_EQ(fs::read_symlink(vdir(n) + "/srv/data").string(), host);
  EXPECT_TRUE(files_containing(vdir(n), "vs-host-").empty())
      << joined(files_containing(vdir(n), "vs-host-"));
  EXPECT_EQ(snapshot(host), before);
}

// clone of a running guest that flips a directory with a link to the host, and a file with a
// link to a host file (renameat2 RENAME_EXCHANGE) while it is copied, ten times.
TEST_F(GuestEscapeBuild, CloneOfAFlippingSourceStaysInside) {
  const std::string host = host_dir();
  const auto before = snapshot(host);
  Guest s = guest("fsrc", Kind::kDefault, "minit",
                  {"/bin/sh", "-c",
                   "/vsattack flip /srv/a /srv/b 60 & /vsattack flip /srv/f /srv/g 60 & wait; "
                   "exec sleep 1000"});
  ASSERT_TRUE(build(s));
  put(vdir(s) + "/srv/a/file", "guest data\n");
  fs::create_symlink(host, vdir(s) + "/srv/b");
  put(vdir(s) + "/srv/f", "guest data\n");
  fs::create_symlink(host + "/secret", vdir(s) + "/srv/g");
  auto r = vs(s, {"start"});
  ASSERT_EQ(r.status, 0) << r.err;
  int built = 0;
  for (int i = 0; i < 10; ++i) {
    Guest n = guest("fnew", Kind::kDefault);
    guests_.push_back(n);
    r = vs(n, {"build", "-m", "clone", "--source", s.name, "-q"});
    if (r.status == 0) ++built;
    EXPECT_TRUE(files_containing(vdir(n), "vs-host-").empty())
        << "round " << i << ": " << joined(files_containing(vdir(n), "vs-host-"));
    (void)vs(n, {"delete", "--yes"});
  }
  std::printf("note: %d of 10 clones of the flipping source completed\n", built);
  EXPECT_EQ(snapshot(host), before);
}

// busybox --force over a stopped guest whose tree was made hostile: the host stays as it was.
TEST_F(GuestEscapeBuild, BusyboxForceOverAHostileTreeStaysInside) {
  const std::string host = host_dir();
  const auto before = snapshot(host);
  Guest g = guest("bbf", Kind::kDefault);
  ASSERT_TRUE(build(g));
  fs::remove_all(vdir(g) + "/etc");
  fs::create_symlink(host, vdir(g) + "/etc");
  fs::remove(vdir(g) + "/bin/busybox");
  fs::create_symlink(host + "/secret", vdir(g) + "/bin/busybox");
  auto r = vs(g, {"build", "-m", "busybox", "--force", "-q"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(snapshot(host), before);
  EXPECT_TRUE(files_containing(vdir(g), "vs-host-").empty());
}

// Class 2's clone with a naive copy that follows links (cp -rL): the host's file lands in it.
TEST_F(GuestEscapeWeak, NaiveCloneCopiesTheHostIn) {
  const std::string host = t_ + "/host";
  put(host + "/secret", "vs-host-secret\n", 0600);
  const std::string src = t_ + "/source";
  put(src + "/etc/hostname", "source\n");
  fs::create_symlink(host + "/secret", src + "/etc/shadow-link");
  auto r = run_cmd({"cp", "-rL", src, t_ + "/naive-clone"});
  EXPECT_FALSE(files_containing(t_ + "/naive-clone", "vs-host-").empty())
      << "the naive clone did not copy the host's file: " << r.err;
}

}  // namespace
}  // namespace vs::test
