// lib/build/guest_etc (a guest-made tree's /etc names, resolver, init style and size),
// lib/build/leftovers (what killed builds leave), the debootstrap progress lines and init
// style packages, and the start's message for a missing init. No root needed: temp trees.
#include "lib/build/guest_etc.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "lib/build/debootstrap.h"
#include "lib/build/guest_build.h"
#include "lib/build/leftovers.h"
#include "lib/guest/guest.h"
#include "tests/support/temp_tree.h"

namespace vs::build {
namespace {

namespace fs = std::filesystem;
using vs::test::ScopedTempDir;

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void spit(const std::string& path, const std::string& text, fs::perms mode = fs::perms(0644)) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  fs::permissions(path, mode);
}

class Tree : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    root_ = tmp_.path() + "/root";
    outside_ = tmp_.path() + "/outside";
    fs::create_directories(root_ + "/etc");
    fs::create_directories(outside_);
    fd_ = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(fd_, 0);
  }
  void TearDown() override {
    if (fd_ >= 0) ::close(fd_);
  }
  ScopedTempDir tmp_;
  std::string root_, outside_;
  int fd_ = -1;
};

TEST_F(Tree, NamesReplaceGuestLinksWithoutFollowingThem) {
  spit(outside_ + "/victim", "host file\n");
  fs::create_symlink(outside_ + "/victim", root_ + "/etc/hostname");
  fs::create_symlink("../../outside/victim", root_ + "/etc/hosts");
  ASSERT_TRUE(write_etc_names(fd_, "db1"));
  EXPECT_EQ(slurp(outside_ + "/victim"), "host file\n");
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(root_ + "/etc/hostname")));
  EXPECT_EQ(slurp(root_ + "/etc/hostname"), "db1\n");
  EXPECT_NE(slurp(root_ + "/etc/hosts").find("127.0.1.1\tdb1\n"), std::string::npos);
  EXPECT_NE(slurp(root_ + "/etc/hosts").find("127.0.0.1\tlocalhost\n"), std::string::npos);
  EXPECT_EQ(fs::status(root_ + "/etc/hosts").permissions(), fs::perms(0644));
  // A guest-made file of our temporary name is no obstacle (a FIFO would hang an open).
  ASSERT_EQ(::mkfifo((root_ + "/etc/.hostname.vserver-new").c_str(), 0600), 0);
  ASSERT_TRUE(write_etc_names(fd_, "db2"));
  EXPECT_EQ(slurp(root_ + "/etc/hostname"), "db2\n");
  EXPECT_FALSE(fs::exists(fs::symlink_status(root_ + "/etc/.hostname.vserver-new")));
}

TEST_F(Tree, AnEtcSymlinkIsRefused) {
  fs::remove(root_ + "/etc");
  fs::create_symlink(outside_, root_ + "/etc");
  auto r = write_etc_names(fd_, "db1");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("the guest's etc"), std::string::npos)
      << r.error().message();
  EXPECT_FALSE(fs::exists(outside_ + "/hostname"));
  EXPECT_FALSE(copy_host_resolver(fd_, outside_ + "/none"));
}

TEST_F(Tree, ResolverCopiedAsContentsOnlyWhenTheGuestHasNone) {
  spit(outside_ + "/resolv.real", "nameserver 192.0.2.53\n");
  fs::create_symlink(outside_ + "/resolv.real", outside_ + "/resolv.conf");
  auto r = copy_host_resolver(fd_, outside_ + "/resolv.conf");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(*r);
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(root_ + "/etc/resolv.conf")));
  EXPECT_EQ(slurp(root_ + "/etc/resolv.conf"), "nameserver 192.0.2.53\n");
  // The guest's own (here a dangling link, e.g. to systemd-resolved's stub) stays.
  fs::remove(root_ + "/etc/resolv.conf");
  fs::create_symlink("/run/systemd/resolve/stub-resolv.conf", root_ + "/etc/resolv.conf");
  r = copy_host_resolver(fd_, outside_ + "/resolv.conf");
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  EXPECT_TRUE(fs::is_symlink(root_ + "/etc/resolv.conf"));
  // A host without one copies nothing.
  fs::remove(root_ + "/etc/resolv.conf");
  r = copy_host_resolver(fd_, outside_ + "/missing");
  ASSERT_TRUE(r);
  EXPECT_FALSE(*r);
  EXPECT_FALSE(fs::exists(fs::symlink_status(root_ + "/etc/resolv.conf")));
}

TEST_F(Tree, InitStyleFromTheProgramsInTheTree) {
  EXPECT_EQ(detect_init_style(fd_), "minit");
  EXPECT_FALSE(tree_has_program(fd_, "/sbin/init"));
  // merged /usr: /sbin -> usr/sbin resolves inside the tree.
  fs::create_directories(root_ + "/usr/sbin");
  fs::create_symlink("usr/sbin", root_ + "/sbin");
  spit(root_ + "/usr/sbin/init", "#!/bin/sh\n", fs::perms(0755));
  EXPECT_TRUE(tree_has_program(fd_, "/sbin/init"));
  EXPECT_EQ(detect_init_style(fd_), "minit") << "plain is never guessed";
  // An absolute link resolves in the tree, not on the host (whose /bin/sh exists).
  fs::create_directories(root_ + "/etc/init.d");
  fs::create_symlink("/bin/sh", root_ + "/etc/init.d/rc");
  EXPECT_FALSE(tree_has_program(fd_, "/etc/init.d/rc"));
  fs::remove(root_ + "/etc/init.d/rc");
  spit(root_ + "/etc/init.d/rc", "#!/bin/sh\n", fs::perms(0644));
  EXPECT_FALSE(tree_has_program(fd_, "/etc/init.d/rc")) << "not executable";
  fs::permissions(root_ + "/etc/init.d/rc", fs::perms(0755));
  EXPECT_EQ(detect_init_style(fd_), "sysv");
  EXPECT_EQ(init_style_program("plain"), "/sbin/init");
  EXPECT_EQ(init_style_program("sysv"), "/etc/init.d/rc");
  EXPECT_EQ(init_style_program("minit"), "");
}

TEST_F(Tree, CountsEntriesWithoutFollowingLinks) {
  fs::create_directories(root_ + "/a/b");
  spit(root_ + "/a/b/f", "x");
  fs::create_directory_symlink(outside_, root_ + "/a/out");
  spit(outside_ + "/1", "");
  spit(outside_ + "/2", "");
  auto n = count_entries(fd_);
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(*n, 5u);  // etc, a, a/b, a/b/f, a/out
}

TEST(InitStylePackages, EachStyleBringsItsProgram) {
  EXPECT_EQ(init_style_packages("sysv"), (std::vector<std::string>{"sysv-rc"}));
  EXPECT_EQ(init_style_packages("plain"),
            (std::vector<std::string>{"sysvinit-core", "sysv-rc"}));
  EXPECT_TRUE(init_style_packages("minit").empty());
  auto a = parse_debootstrap_args({"-d", "bookworm", "--include", "less,sysv-rc"});
  ASSERT_TRUE(a);
  auto b = with_packages(*a, init_style_packages("plain"));
  EXPECT_EQ(b.include, (std::vector<std::string>{"less", "sysv-rc", "sysvinit-core"}));
  auto argv = first_stage_argv(b, "/target");
  EXPECT_NE(std::find(argv.begin(), argv.end(), "--include=less,sysv-rc,sysvinit-core"),
            argv.end());
}

TEST(StageLines, OneLinePerStageAndEveryWarning) {
  StageLines s;
  std::vector<std::string> all;
  // Pieces end anywhere, as pipe reads do.
  for (std::string_view piece :
       {"I: Retrieving InRelease \nI: Checking Rel", "ease signature\nI: Retrieving Packages \n",
        "I: Validating Packages \nI: Retrieving adduser 3.134\nI: Validating adduser 3.134\n",
        "I: Retrieving apt 2.6\nsome other output\nI: Validating apt 2.6\n",
        "W: Cannot check Release signature\nI: Extracting adduser...\nI: Extracting apt...\n",
        "I: Unpacking required packages...\nI: Unpacking libc6:amd64...\n",
        "I: Configuring required packages...\nI: Configuring libc6:amd64...\n",
        "I: Unpacking the base system...\nI: Unpacking apt...\n",
        "E: Couldn't find these debs: x\r\nI: Configuring the base"}) {
    for (auto& l : s.feed(piece)) all.push_back(l);
  }
  EXPECT_EQ(all, (std::vector<std::string>{
                     "debootstrap: Retrieving InRelease ",
                     "debootstrap: Checking Release signature",
                     "debootstrap: Validating Packages ",
                     "debootstrap: W: Cannot check Release signature",
                     "debootstrap: Extracting adduser...",
                     "debootstrap: Unpacking required packages...",
                     "debootstrap: Configuring required packages...",
                     "debootstrap: Unpacking the base system...",
                     "debootstrap: E: Couldn't find these debs: x",
                 }));
  EXPECT_EQ(s.feed(" system...\n"),
            (std::vector<std::string>{"debootstrap: Configuring the base system..."}));
}

TEST(BuildLeftovers, OnlyTheExactScratchNamesOfThatGuest) {
  EXPECT_TRUE(is_build_leftover("db1", "db1.build-Ab12cD", false));
  EXPECT_TRUE(is_build_leftover("db1", "db1.deboot-xxxxxx", false));
  EXPECT_TRUE(is_build_leftover("db1", "db1.tpl-000000", false));
  EXPECT_TRUE(is_build_leftover("db1", ".db1.new-aZ09aZ", true));
  for (const char* other : {"db1", "db10.build-Ab12cD", "db1.build-Ab12c", "db1.build-Ab12cDe",
                            "db1.build-Ab12c.", "db1.build-Ab/2cD", "db1.other-Ab12cD",
                            "xdb1.build-Ab12cD", ".db1.new-aZ09aZ", "db1.build-"}) {
    EXPECT_FALSE(is_build_leftover("db1", other, false)) << other;
  }
  EXPECT_FALSE(is_build_leftover("db1", "db1.build-Ab12cD", true));
  EXPECT_FALSE(is_build_leftover("db1", ".db10.new-aZ09aZ", true));
  EXPECT_FALSE(is_build_leftover("", ".build-Ab12cD", false));
}

TEST(BuildLeftovers, SweepRemovesRootsDirectoriesAndFollowsNoLink) {
  ScopedTempDir tmp;
  const std::string base = tmp.path() + "/vservers", conf = tmp.path() + "/etc";
  const std::string outside = tmp.path() + "/outside";
  fs::create_directories(base + "/db1.build-aaaaaa/etc");
  spit(base + "/db1.build-aaaaaa/etc/x", "x");
  fs::create_directories(base + "/db1.deboot-bbbbbb");
  fs::create_directories(base + "/db1");           // the guest's tree: never touched
  fs::create_directories(base + "/db2.build-cccccc");  // another guest's
  fs::create_directories(outside + "/keep");
  fs::create_directory_symlink(outside, base + "/db1.tpl-dddddd");
  spit(base + "/db1.build-eeeeee", "a file, not a tree");
  fs::create_directories(conf + "/.db1.new-ffffff");
  fs::create_directories(conf + "/db1");
  auto r = sweep_build_leftovers(base + "/db1", conf, "db1");
  EXPECT_TRUE(r.failed.empty());
  EXPECT_TRUE(fs::exists(base + "/db1"));
  EXPECT_TRUE(fs::exists(base + "/db2.build-cccccc"));
  EXPECT_TRUE(fs::exists(outside + "/keep")) << "a symlink was followed";
  EXPECT_TRUE(fs::is_symlink(base + "/db1.tpl-dddddd"));
  EXPECT_TRUE(fs::is_regular_file(base + "/db1.build-eeeeee"));
  EXPECT_TRUE(fs::exists(conf + "/db1"));
  if (::geteuid() == 0) {
    EXPECT_EQ(r.removed, (std::vector<std::string>{base + "/db1.build-aaaaaa",
                                                   base + "/db1.deboot-bbbbbb",
                                                   conf + "/.db1.new-ffffff"}));
    EXPECT_FALSE(fs::exists(base + "/db1.build-aaaaaa"));
    EXPECT_FALSE(fs::exists(conf + "/.db1.new-ffffff"));
  } else {
    // Not root's: no build made them, so they stay.
    EXPECT_TRUE(r.removed.empty());
    EXPECT_TRUE(fs::exists(base + "/db1.build-aaaaaa"));
  }
  // Nothing there at all is no error.
  auto none = sweep_build_leftovers(tmp.path() + "/missing/db1", tmp.path() + "/missing", "db1");
  EXPECT_TRUE(none.removed.empty());
  EXPECT_TRUE(none.failed.empty());
}

TEST(InitialConfig, TheStyleTheTreeSupportsWins) {
  GuestBuildRequest req;
  req.name = "db1";
  req.method = "debootstrap";
  EXPECT_NE(initial_config(req).find("style = \"plain\""), std::string::npos);
  EXPECT_NE(initial_config(req, "minit").find("style = \"minit\""), std::string::npos);
  req.init_style = "sysv";
  EXPECT_NE(initial_config(req).find("style = \"sysv\""), std::string::npos);
}

TEST(InitExecHint, SaysWhichStyleRunsWhichFileAndWhatToDo) {
  GuestConfig g;
  g.name = "db1";
  g.init_style = InitStyle::kPlain;
  EXPECT_EQ(init_exec_hint(g, ENOENT, "/etc/vservers/db1/vserver.toml"),
            "init style 'plain' runs /sbin/init, which the guest does not have: set [init] "
            "style = \"minit\" in /etc/vservers/db1/vserver.toml (the built-in init, which needs "
            "nothing of the guest), or install an init in the guest (Debian: sysvinit-core)");
  g.init_style = InitStyle::kSysv;
  std::string sysv = init_exec_hint(g, EACCES, "F");
  EXPECT_NE(sysv.find("init style 'sysv' runs /etc/init.d/rc, which the guest cannot run "
                      "(Permission denied)"),
            std::string::npos)
      << sysv;
  EXPECT_NE(sysv.find("install sysv-rc"), std::string::npos) << sysv;
  g.init_style = InitStyle::kMinit;
  EXPECT_EQ(init_exec_hint(g, ENOENT, "F"), "");
  g.init_command = {"/usr/sbin/mydaemon", "-f"};
  EXPECT_NE(init_exec_hint(g, ENOENT, "F").find("[init] command runs /usr/sbin/mydaemon (init "
                                                "style 'minit'), which the guest does not have: "
                                                "fix [init] command in F"),
            std::string::npos);
}

}  // namespace
}  // namespace vs::build
