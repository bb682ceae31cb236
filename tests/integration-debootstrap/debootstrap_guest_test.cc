// The README's debootstrap session through the `vserver` tool, for real (root, a Debian
// mirror): a bookworm minbase guest built with the default init style starts, runs a command
// and stops; a start whose init style names a file the guest lacks says so and what to do;
// builds killed with SIGKILL in either stage leave no process, and their trees are swept by
// the next delete or build of the guest.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "lib/build/debootstrap.h"
#include "tests/support/bg_process.h"
#include "tests/support/files.h"
#include "tests/support/patience.h"
#include "tests/support/root_env.h"
#include "tests/support/run_cmd.h"

namespace vs::test {
namespace {

namespace fs = std::filesystem;

std::string mirror() {
  const char* m = std::getenv("VS_DEBOOTSTRAP_MIRROR");
  return m && *m ? m : build::kDefaultMirror;
}

CmdResult vserver(std::vector<std::string> args, int timeout_s = 60) {
  args.insert(args.begin(), tool_path("vserver"));
  return run_cmd(args, timeout_s);
}

// Scratch trees of builds of `name` next to its vdir and in the configuration directory.
std::vector<std::string> leftovers_of(const std::string& name) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(root_env().vdirbase)) {
    std::string n = e.path().filename().string();
    if (n.rfind(name + ".", 0) == 0) out.push_back(n);
  }
  for (const auto& e : fs::directory_iterator(root_env().confdir)) {
    std::string n = e.path().filename().string();
    if (n.rfind("." + name + ".", 0) == 0) out.push_back(n);
  }
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

// Processes whose command line holds `needle` (a debootstrap stage: "--foreign",
// "--second-stage").
std::vector<pid_t> processes_with(const std::string& needle) {
  std::vector<pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string n = e.path().filename().string();
    if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmd = slurp(e.path().string() + "/cmdline");
    for (auto& c : cmd) c = c == '\0' ? ' ' : c;
    if (cmd.find("debootstrap") != std::string::npos && cmd.find(needle) != std::string::npos) {
      out.push_back(std::stoi(n));
    }
  }
  return out;
}

bool has_deb(const std::string& staging) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(staging + "/var/cache/apt/archives", ec)) {
    if (e.path().extension() == ".deb") return true;
  }
  return false;
}

class DebootstrapGuest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(build::kDebootstrap, X_OK) < 0) {
      GTEST_SKIP() << "needs " << build::kDebootstrap << " (apt-get install debootstrap)";
    }
  }
};

TEST_F(DebootstrapGuest, BuildsStartsExecsAndStops) {
  const std::string name = "db1", vdir = root_env().vdirbase + "/" + name;
  const std::string toml = root_env().confdir + "/" + name + "/vserver.toml";
  // stderr is a file here, not a terminal: the progress shows all the same, a line a stage.
  auto b = vserver({name, "build", "-m", "debootstrap", "--", "-d", "bookworm", "--mirror",
                    mirror()},
                   1200);
  ASSERT_EQ(b.status, 0) << b.out << b.err;
  std::printf("build's stderr:\n%s", b.err.c_str());  // for the test log
  EXPECT_NE(b.err.find("vserver: debootstrap: Retrieving"), std::string::npos) << b.err;
  EXPECT_NE(b.err.find("vserver: debootstrap: Configuring"), std::string::npos) << b.err;
  size_t lines = 0;
  for (char c : b.err) lines += c == '\n';
  EXPECT_LT(lines, 40u) << "not one line per stage:\n" << b.err;
  // "built db1 (-m debootstrap): VDIR, N entries" with the tree's real size.
  auto comma = b.out.rfind(", ");
  ASSERT_NE(comma, std::string::npos) << b.out;
  EXPECT_GT(std::stoul(b.out.substr(comma + 2)), 5000u) << b.out;
  EXPECT_NE(b.out.find(" entries"), std::string::npos) << b.out;

  EXPECT_NE(slurp(toml).find("style = \"minit\""), std::string::npos) << slurp(toml);
  EXPECT_EQ(slurp(vdir + "/etc/hostname"), name + "\n");
  EXPECT_NE(slurp(vdir + "/etc/hosts").find("\t" + name + "\n"), std::string::npos)
      << slurp(vdir + "/etc/hosts");
  if (fs::exists("/etc/resolv.conf")) {
    EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(vdir + "/etc/resolv.conf")));
    EXPECT_NE(slurp(vdir + "/etc/resolv.conf"), "");
  }
  EXPECT_TRUE(leftovers_of(name).empty()) << joined(leftovers_of(name));

  auto s = vserver({name, "start"});
  ASSERT_EQ(s.status, 0) << s.err;
  auto e = vserver({name, "exec", "cat", "/etc/debian_version", "/proc/sys/kernel/hostname"});
  EXPECT_EQ(e.status, 0) << e.err;
  EXPECT_EQ(e.out.rfind("12.", 0), 0u) << e.out;
  EXPECT_NE(e.out.find("\n" + name + "\n"), std::string::npos) << e.out;
  auto st = vserver({name, "stop"});
  EXPECT_EQ(st.status, 0) << st.err;
  EXPECT_NE(vserver({name, "running"}).status, 0);

  // The same tree with init style plain: no /sbin/init in minbase, and start says so.
  std::string text = slurp(toml);
  text.replace(text.find("style = \"minit\""), 15, "style = \"plain\"");
  std::ofstream(toml, std::ios::trunc) << text;
  auto bad = vserver({name, "start"});
  EXPECT_EQ(bad.status, 1) << bad.err;
  EXPECT_NE(bad.err.find("init style 'plain' runs /sbin/init, which the guest does not have: "
                         "set [init] style = \"minit\" in " + toml),
            std::string::npos)
      << bad.err;
  EXPECT_NE(bad.err.find("sysvinit-core"), std::string::npos) << bad.err;
  EXPECT_NE(vserver({name, "running"}).status, 0);

  auto d = vserver({name, "delete", "--yes"});
  EXPECT_EQ(d.status, 0) << d.err;
  EXPECT_FALSE(fs::exists(vdir));
}

// kill -9 of `vserver NAME build` once a process whose command line holds `stage` runs (and,
// in the first stage, once a package is downloaded); then no debootstrap process is left and
// the scratch trees are there for the next command to sweep.
void kill_build_in(const std::string& name, const std::string& stage) {
  std::string log = root_env().tmp + "/" + name + ".log";
  BgProcess build({tool_path("vserver"), name, "build", "-m", "debootstrap", "--", "-d",
                   "bookworm", "--mirror", mirror()},
                  log);
  bool reached = false;
  for (auto end = Clock::now() + std::chrono::minutes(15); Clock::now() < end;) {
    std::string staging;
    for (const auto& l : leftovers_of(name)) {
      if (l.find(".build-") != std::string::npos) staging = root_env().vdirbase + "/" + l;
    }
    if (!processes_with(stage).empty() &&
        (stage != "--foreign" || (!staging.empty() && has_deb(staging)))) {
      reached = true;
      break;
    }
    if (::kill(build.pid(), 0) < 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(reached) << "the build never reached " << stage << ":\n" << slurp(log);
  ASSERT_EQ(::kill(build.pid(), SIGKILL), 0);
  EXPECT_EQ(build.wait(), 128 + SIGKILL);
  // The stages die with the build (the kernel kills a pid namespace with its init).
  bool gone = false;
  for (auto end = Clock::now() + kPatience; Clock::now() < end && !gone;) {
    gone = processes_with("--foreign").empty() && processes_with("--second-stage").empty();
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(gone) << "debootstrap runs on after its build was killed";
  auto left = leftovers_of(name);
  bool staging = false, scratch = false;
  for (const auto& l : left) {
    staging |= l.find(".build-") != std::string::npos;
    scratch |= l.find(".deboot-") != std::string::npos;
  }
  EXPECT_TRUE(staging) << joined(left);
  EXPECT_TRUE(scratch || stage != "--foreign") << joined(left);
}

TEST_F(DebootstrapGuest, KilledBuildsAreSweptByTheNextDeleteOrBuild) {
  const std::string name = "db2";
  // Killed while downloading: the next delete (of a guest that has no configuration yet)
  // removes the leftovers and says so.
  kill_build_in(name, "--foreign");
  auto d = vserver({name, "delete", "--yes"});
  EXPECT_EQ(d.status, 0) << d.err;
  EXPECT_NE(d.err.find("(left by an interrupted build)"), std::string::npos) << d.err;
  EXPECT_TRUE(leftovers_of(name).empty()) << joined(leftovers_of(name));

  // Killed while dpkg configures: the next build sweeps first (this one fails at once).
  kill_build_in(name, "--second-stage");
  auto b = vserver({name, "build", "-m", "debootstrap", "--", "-d", "nosuchsuite", "--mirror",
                    mirror()},
                   120);
  EXPECT_NE(b.status, 0);
  EXPECT_NE(b.err.find("nosuchsuite"), std::string::npos) << b.err;
  EXPECT_TRUE(leftovers_of(name).empty()) << joined(leftovers_of(name));
  EXPECT_FALSE(fs::exists(root_env().vdirbase + "/" + name));
  EXPECT_TRUE(processes_with("--foreign").empty());
  EXPECT_TRUE(processes_with("--second-stage").empty());
  // Nothing else of the name's: no guest to delete now.
  EXPECT_EQ(vserver({name, "delete", "--yes"}).status, 3);
}

}  // namespace
}  // namespace vs::test
