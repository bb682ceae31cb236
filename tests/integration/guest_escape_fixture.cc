// The shared fixture of the escape suite (guest_escape_fixture.h).
#include "tests/integration/guest_escape_fixture.h"

#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/files.h"
#include "tests/support/root_env.h"
#include "tests/support/spawned.h"

namespace vs::test {
namespace {

namespace fs = std::filesystem;

// The script every CVE-2019-5736 variant puts where a host tool will exec a guest file.
constexpr const char* kShebangSelf = "#!/proc/self/exe\n";

std::string toml_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

void put(const std::string& p, const std::string& text, mode_t mode) {
  fs::create_directories(fs::path(p).parent_path());
  const std::string tmp = p + ".vsnew";
  std::ofstream(tmp, std::ios::binary | std::ios::trunc) << text;
  ::chmod(tmp.c_str(), mode);
  ::rename(tmp.c_str(), p.c_str());
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

void GuestEscapeBase::SetUp() {
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

void GuestEscapeBase::TearDown() {
  for (auto it = mounts_.rbegin(); it != mounts_.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
  for (const auto& mark : marks_) {
    (void)run_cmd(in_net(Kind::kIsolated, {tools_->path("vserver-boot"), "stop", "--mark", mark}));
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

Guest GuestEscapeBase::guest(const std::string& stem, Kind kind, const std::string& style,
                             std::vector<std::string> command) {
  static int seq = 0;
  Guest g;
  g.name = "ge" + std::to_string(++seq) + "-" + stem;
  g.kind = kind;
  g.style = style;
  g.command = std::move(command);
  // Distinct among the guests a test makes (made before any is built, as `Guest a =
  // guest(...), c = guest(...)` does): two guests with one address are refused at start.
  g.index = (seq - 1) % 100;
  return g;
}

::testing::AssertionResult GuestEscapeBase::build(const Guest& g) {
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
  if (at == std::string::npos) return ::testing::AssertionFailure() << "no init style in " << toml;
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

std::vector<std::string> GuestEscapeBase::in_net(Kind kind, std::vector<std::string> argv) const {
  if (kind != Kind::kIsolated || netns_.empty()) return argv;
  argv.insert(argv.begin(), {"nsenter", "--net=/run/netns/" + netns_, "--"});
  return argv;
}

std::vector<std::string> GuestEscapeBase::vs_argv(const Guest& g,
                                                  std::vector<std::string> args) const {
  args.insert(args.begin(), {tools_->path("vserver"), g.name});
  return in_net(g.kind, std::move(args));
}

CmdResult GuestEscapeBase::vs(const Guest& g, std::vector<std::string> args,
                              int timeout_s) const {
  return run_cmd(vs_argv(g, std::move(args)), timeout_s);
}

CmdResult GuestEscapeBase::boot(Kind kind, const std::string& action, const std::string& mark) {
  if (action == "start") marks_.push_back(mark);
  return run_cmd(in_net(kind, {tools_->path("vserver-boot"), action, "--mark", mark}), 60);
}

std::string GuestEscapeBase::vdir(const Guest& g) { return root_env().vdirbase + "/" + g.name; }

std::string GuestEscapeBase::confdir(const Guest& g) {
  return root_env().confdir + "/" + g.name;
}

std::string GuestEscapeBase::status_field(const Guest& g, const std::string& key) const {
  std::string out = vs(g, {"status"}).out;
  size_t at = out.find(key + " ");
  if (at == std::string::npos) return "";
  std::string v = out.substr(at + key.size() + 1);
  return v.substr(0, v.find_first_of(", \n"));
}

std::string GuestEscapeBase::xid(const Guest& g) const { return status_field(g, "context"); }

pid_t GuestEscapeBase::init_pid(const Guest& g) const {
  std::string p = status_field(g, "pid");
  return p.empty() ? -1 : static_cast<pid_t>(std::stol(p));
}

void GuestEscapeBase::shebang_self(const Guest& g, const std::string& rel) {
  put(vdir(g) + "/" + rel, kShebangSelf, 0755);
}

void GuestEscapeBase::set_root_shell(const Guest& g, const std::string& shell) {
  std::istringstream in(slurp(vdir(g) + "/etc/passwd"));
  std::string out;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("root:", 0) == 0) line = line.substr(0, line.rfind(':') + 1) + shell;
    out += line + "\n";
  }
  put(vdir(g) + "/etc/passwd", out);
}

::testing::AssertionResult GuestEscapeBase::mount_proc(const std::string& dir) {
  fs::create_directories(dir);
  if (::mount("proc", dir.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0) {
    return ::testing::AssertionFailure() << "mount proc on " << dir << ": " << strerror(errno);
  }
  mounts_.push_back(dir);
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult GuestEscapeBase::bind_dev(const std::string& dir) {
  fs::create_directories(dir);
  if (::mount("/dev", dir.c_str(), nullptr, MS_BIND, nullptr) < 0) {
    return ::testing::AssertionFailure() << "bind /dev on " << dir << ": " << strerror(errno);
  }
  mounts_.push_back(dir);
  return ::testing::AssertionSuccess();
}

std::string GuestEscapeBase::weak_copy(const std::string& program) {
  fs::create_directories(t_ + "/weak");
  std::string to = t_ + "/weak/" + fs::path(program).filename().string();
  fs::copy_file(program, to, fs::copy_options::overwrite_existing);
  ::chmod(to.c_str(), 0755);
  return to;
}

}  // namespace vs::test
