// build_debootstrap() for real (root, network to a Debian mirror, a few minutes): a minbase
// bookworm tree with --include less, the E42 probe (a package's postinst, run by dpkg in the
// context the build runs package scripts in, tries E01 and E10 and must change nothing on the
// host), and a failing build that must leave nothing behind. Its own suite (`debootstrap`) because
// it downloads: meson test -C build --suite debootstrap. VS_DEBOOTSTRAP_MIRROR overrides the
// mirror.
#include "lib/build/debootstrap.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "lib/build/build.h"
#include "tests/support/root_env.h"
#include "tests/support/run_cmd.h"

namespace vs::test {
namespace {

namespace fs = std::filesystem;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string mirror() {
  const char* m = std::getenv("VS_DEBOOTSTRAP_MIRROR");
  return m && *m ? m : build::kDefaultMirror;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

// Entries of the vdir base other than the finished vdirs: staging and scratch trees.
std::vector<std::string> leftovers() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(root_env().vdirbase)) {
    std::string name = e.path().filename().string();
    if (name.find(".build-") != std::string::npos || name.find(".deboot-") != std::string::npos) {
      out.push_back(name);
    }
  }
  return out;
}

// Mount points below the test's temp tree in a mountinfo (ours, and the host's init's),
// other than the run dir (the context table's own tmpfs).
std::vector<std::string> mounts_under_tmp(const std::string& mountinfo) {
  std::vector<std::string> out;
  std::istringstream in(slurp(mountinfo));
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string id, parent, dev, root, point;
    words >> id >> parent >> dev >> root >> point;
    if (point.rfind(root_env().tmp, 0) == 0 && point != root_env().rundir) {
      out.push_back(point);
    }
  }
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

class Debootstrap : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::access(build::kDebootstrap, X_OK) < 0) return;
    vdir_ = root_env().vdirbase + "/bookworm";
    BuildOptions opts;
    opts.vdir = vdir_;
    opts.hostname = "deb-test";
    opts.shim = shim_config();
    auto r = build_debootstrap(opts, {"-d", "bookworm", "--mirror", mirror(), "--include", "less"});
    built_ = r.has_value();
    if (!r) build_error_ = r.error().message();
    if (r) result_ = *r;
  }
  void SetUp() override {
    if (::access(build::kDebootstrap, X_OK) < 0) {
      GTEST_SKIP() << "needs " << build::kDebootstrap << " (apt-get install debootstrap)";
    }
  }
  static std::string vdir_;
  static bool built_;
  static std::string build_error_;
  static BuildResult result_;
};
BuildResult Debootstrap::result_;
std::string Debootstrap::vdir_;
bool Debootstrap::built_ = false;
std::string Debootstrap::build_error_;

TEST_F(Debootstrap, BuildsAMinbaseBookwormTree) {
  ASSERT_TRUE(built_) << build_error_;
  EXPECT_NE(slurp(vdir_ + "/etc/debian_version").rfind("12.", 0), std::string::npos)
      << slurp(vdir_ + "/etc/debian_version");
  EXPECT_TRUE(fs::is_regular_file(vdir_ + "/usr/bin/dpkg"));
  std::string status = slurp(vdir_ + "/var/lib/dpkg/status");
  EXPECT_GE(count(status, "Status: install ok installed"), 50u) << status.substr(0, 2000);
  EXPECT_NE(status.find("Package: apt\n"), std::string::npos);
  EXPECT_NE(status.find("Package: less\n"), std::string::npos) << "--include less";
  EXPECT_TRUE(fs::is_regular_file(vdir_ + "/usr/bin/less"));
  EXPECT_EQ(count(status, "half-configured") + count(status, "unpacked"), 0u);
  EXPECT_FALSE(fs::exists(vdir_ + "/debootstrap")) << "the second stage did not finish";
  EXPECT_EQ(slurp(vdir_ + "/etc/hostname"), "deb-test\n");
  EXPECT_NE(slurp(vdir_ + "/etc/hosts").find("127.0.1.1\tdeb-test\n"), std::string::npos);
  // minbase has no sysv-rc: the built-in init is the style the tree supports.
  EXPECT_EQ(result_.init_style, "minit");
  EXPECT_GT(result_.files, 5000u) << "the entries of the tree were not counted";
  EXPECT_EQ(fs::status(vdir_).permissions() & fs::perms::all, fs::perms(0755));
  EXPECT_TRUE(leftovers().empty()) << joined(leftovers());
  EXPECT_TRUE(mounts_under_tmp("/proc/self/mountinfo").empty())
      << joined(mounts_under_tmp("/proc/self/mountinfo"));
  EXPECT_TRUE(mounts_under_tmp("/proc/1/mountinfo").empty());
}

// E42: a maintainer script is guest code. It runs where the build runs package scripts
// (build::run_confined with the tree as root, as the second stage does) and tries to reach
// a host file by chroot climbing (E01), to write /proc/sys and sysrq (E10), to rename the
// host and to write a host path it was given. Each attempt must fail and the host state
// must be unchanged; the script's report must exist (silence never passes).
TEST_F(Debootstrap, MaintainerScriptsCannotTouchTheHost) {
  ASSERT_TRUE(built_) << build_error_;
  std::string base = root_env().tmp + "/e42";
  fs::create_directories(base);
  std::string marker = base + "/HOSTMARK", victim = base + "/written-by-postinst";
  spit(marker, "host only\n");
  std::string core_pattern = slurp("/proc/sys/kernel/core_pattern");
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);

  std::string probe = root_env().build_root + "/tests/probe/vsprobe";
  ASSERT_TRUE(fs::exists(probe)) << probe << " was not built";
  fs::copy_file(probe, vdir_ + "/vsprobe", fs::copy_options::overwrite_existing);
  fs::permissions(vdir_ + "/vsprobe", fs::perms(0755));
  std::string pkg = base + "/pkg";
  fs::create_directories(pkg + "/DEBIAN");
  spit(pkg + "/DEBIAN/control",
       "Package: vs-e42\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@example.org>\n"
       "Description: E42 probe\n");
  // Plain shell attempts report "SH escaped" only when they succeed.
  std::string postinst = "#!/bin/sh\nexec >/e42.out 2>&1\n";
  for (const std::string& line : {
           "/vsprobe chroot-escape " + marker,
           std::string("/vsprobe procsys"),
           std::string("/vsprobe hostname"),
           std::string("/vsprobe mount"),
           std::string(
               "echo '|/bin/false' > /proc/sys/kernel/core_pattern && echo 'SH escaped cp'"),
           std::string("echo h > /proc/sysrq-trigger && echo 'SH escaped sysrq'"),
           std::string("hostname e42-evil && echo 'SH escaped hostname'"),
           "echo escaped > " + victim + " && echo 'SH escaped victim'",
           std::string("echo 'postinst done'"),
       }) {
    postinst += line + "\n";
  }
  spit(pkg + "/DEBIAN/postinst", postinst);
  fs::permissions(pkg + "/DEBIAN/postinst", fs::perms(0755));
  auto built =
      run_cmd({"dpkg-deb", "-Zgzip", "--root-owner-group", "--build", pkg, vdir_ + "/vs-e42.deb"});
  ASSERT_EQ(built.status, 0) << built.err;

  shim::ContextTable table(shim_config());
  ASSERT_TRUE(table.prepare());
  build::ConfinedRun run;
  run.root.vdir = vdir_;
  run.argv = {"dpkg", "-i", "/vs-e42.deb"};
  int out = ::memfd_create("dpkg", MFD_CLOEXEC);
  ASSERT_GE(out, 0);
  run.output_fd = out;
  auto code = build::run_confined(table, run);
  ::close(out);
  ASSERT_TRUE(code) << code.error().message();
  EXPECT_EQ(*code, 0);

  std::string report = slurp(vdir_ + "/e42.out");
  std::printf("E42 postinst report:\n%s", report.c_str());  // for the test log
  EXPECT_NE(report.find("postinst done"), std::string::npos) << "the postinst did not run:\n"
                                                             << report;
  EXPECT_EQ(report.find("SH escaped"), std::string::npos) << report;
  EXPECT_EQ(report.find(" escaped "), std::string::npos) << report;
  for (const char* name : {"chroot-escape", "procsys", "hostname", "mount"}) {
    EXPECT_NE(report.find(std::string("PROBE ") + name + " ok"), std::string::npos)
        << name << " did not report as blocked\n"
        << report;
  }
  EXPECT_EQ(count(report, "PROBE "), count(report, " ok ")) << report;
  // The shell's own view of its core_pattern write: a read-only /proc/sys (EROFS).
  EXPECT_NE(report.find("Read-only file system"), std::string::npos) << report;

  EXPECT_EQ(slurp(marker), "host only\n");
  EXPECT_FALSE(fs::exists(victim));
  EXPECT_EQ(slurp("/proc/sys/kernel/core_pattern"), core_pattern);
  char after[256] = {};
  ::gethostname(after, sizeof after - 1);
  EXPECT_STREQ(after, host);
  EXPECT_TRUE(mounts_under_tmp("/proc/self/mountinfo").empty())
      << joined(mounts_under_tmp("/proc/self/mountinfo"));
}

// A failed build: an unknown suite (debootstrap stops at once) and a mirror without the
// suite (it stops after it made its work directory in the staging tree).
void expect_failed_build_leaves_nothing(const std::vector<std::string>& args,
                                        const std::string& why) {
  std::string vdir = root_env().vdirbase + "/failed";
  BuildOptions opts;
  opts.vdir = vdir;
  opts.shim = shim_config();
  auto r = build_debootstrap(opts, args);
  ASSERT_FALSE(r);
  std::printf("error: %s\n", r.error().message().c_str());  // for the test log
  EXPECT_EQ(r.error().kind, ErrorKind::kFailed);
  EXPECT_EQ(r.error().subject, "first stage") << r.error().message();
  // The tail of debootstrap's own output says why.
  EXPECT_NE(r.error().message().find(why), std::string::npos) << r.error().message();
  EXPECT_FALSE(fs::exists(vdir));
  EXPECT_TRUE(leftovers().empty()) << joined(leftovers());
  EXPECT_TRUE(mounts_under_tmp("/proc/self/mountinfo").empty())
      << joined(mounts_under_tmp("/proc/self/mountinfo"));
  EXPECT_TRUE(mounts_under_tmp("/proc/1/mountinfo").empty());
  shim::ContextTable table(shim_config());
  auto contexts = table.list();
  ASSERT_TRUE(contexts) << contexts.error().message();
  EXPECT_TRUE(contexts->empty()) << "a build context was left in the table";
}

TEST_F(Debootstrap, AFailedBuildLeavesNothingBehind) {
  expect_failed_build_leaves_nothing({"-d", "nosuchsuite", "--mirror", mirror()},
                                     "No such script: /usr/share/debootstrap/scripts/nosuchsuite");
  expect_failed_build_leaves_nothing({"-d", "bookworm", "--mirror", mirror() + "/nosuchdir"},
                                     "E: Failed getting release file");
}

// Progress: one line per stage reaches BuildOptions::stage (the tool prints it, terminal or
// not), and nothing reaches the caller's stderr directly.
TEST_F(Debootstrap, ProgressIsOneLinePerStage) {
  BuildOptions opts;
  opts.vdir = root_env().vdirbase + "/loud";
  opts.shim = shim_config();
  std::vector<std::string> lines;
  opts.stage = [&lines](const std::string& l) { lines.push_back(l); };
  int capture = ::memfd_create("stderr", MFD_CLOEXEC);
  ASSERT_GE(capture, 0);
  int saved = ::fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
  ASSERT_GE(saved, 0);
  ::dup2(capture, STDERR_FILENO);
  auto r = build_debootstrap(opts, {"-d", "bookworm", "--mirror", mirror() + "/nosuchdir"});
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  std::string out(4096, '\0');
  ssize_t n = ::pread(capture, out.data(), out.size(), 0);
  ::close(capture);
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("E: Failed getting release file"), std::string::npos)
      << r.error().message();
  EXPECT_EQ(out, "") << "debootstrap's output went to the caller's stderr";
  std::string all = joined(lines);
  EXPECT_NE(all.find("debootstrap: Retrieving"), std::string::npos) << all;
  EXPECT_NE(all.find("debootstrap: E: "), std::string::npos) << all;
  EXPECT_FALSE(fs::exists(opts.vdir));
  EXPECT_TRUE(leftovers().empty()) << joined(leftovers());
}

TEST_F(Debootstrap, BadArgumentsChangeNothing) {
  BuildOptions opts;
  opts.vdir = root_env().vdirbase + "/badargs";
  opts.shim = shim_config();
  auto r = build_debootstrap(opts, {"-d", "bookworm", "--arch", "i386"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kUsage);
  EXPECT_EQ(r.error().subject, "--arch");
  EXPECT_FALSE(fs::exists(opts.vdir));
  EXPECT_TRUE(leftovers().empty()) << joined(leftovers());
}

}  // namespace
}  // namespace vs::test
