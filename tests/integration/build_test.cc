// lib/build on the real kernel (root): each method end to end into root_env().tmp, hostile
// tarballs and clone sources (SECURITY.md E41), delete with guest-made links to host files
// and a bind mount inside the tree (E35). Host victims are compared by content and mtime.
#include "lib/build/build.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "tests/integration/build_support.h"
#include "tests/support/root_env.h"
#include "tests/support/run_cmd.h"
#include "tests/support/tar_writer.h"

namespace vs {
namespace {

namespace fs = std::filesystem;
using test::expect_untouched;
using test::slurp;
using test::TarEntry;
using test::Victim;
using test::victim;
using test::write_tar;

// Path -> description (type, mode, owner, size, content or link target) of a whole tree.
std::map<std::string, std::string> snapshot(const std::string& root) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    std::string p = it->path().string();
    struct stat st {};
    ::lstat(p.c_str(), &st);
    std::string d = std::to_string(st.st_mode) + ":" + std::to_string(st.st_uid) + ":" +
                    std::to_string(st.st_gid) + ":";
    if (S_ISLNK(st.st_mode)) {
      d += "->" + fs::read_symlink(p).string();
    } else if (S_ISREG(st.st_mode)) {
      d += std::to_string(st.st_size) + ":" + std::to_string(std::hash<std::string>{}(slurp(p)));
    }
    out[p.substr(root.size())] = d;
  }
  return out;
}

class Build : public test::BuildDirs {};

TEST_F(Build, SkeletonHasLayoutAndEtc) {
  auto o = opts();
  o.hostname = "web1";
  auto r = build_skeleton(o);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_TRUE(r->warnings.empty());
  for (const char* d : {"bin", "dev", "etc", "proc", "root", "sys", "tmp", "usr/bin", "var/log"}) {
    EXPECT_TRUE(fs::is_directory(o.vdir + "/" + d)) << d;
  }
  struct stat st {};
  ASSERT_EQ(::stat((o.vdir + "/tmp").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777u);
  ASSERT_EQ(::stat(o.vdir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  EXPECT_EQ(slurp(o.vdir + "/etc/hostname"), "web1\n");
  EXPECT_NE(slurp(o.vdir + "/etc/passwd").find("root:x:0:0:"), std::string::npos);
  EXPECT_NE(slurp(o.vdir + "/etc/passwd").find("nobody:"), std::string::npos);
  EXPECT_NE(slurp(o.vdir + "/etc/hosts").find("web1"), std::string::npos);
  EXPECT_TRUE(fs::exists(o.vdir + "/etc/fstab"));
  EXPECT_TRUE(fs::exists(o.vdir + "/etc/group"));
}

TEST_F(Build, ExistingVdirRefusedUnlessForced) {
  auto o = opts();
  ASSERT_TRUE(build_skeleton(o));
  std::ofstream(o.vdir + "/marker") << "old";
  auto again = build_skeleton(o);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, ErrorKind::kWrongState);
  EXPECT_TRUE(fs::exists(o.vdir + "/marker"));
  o.force = true;
  auto forced = build_skeleton(o);
  ASSERT_TRUE(forced) << forced.error().message();
  EXPECT_FALSE(fs::exists(o.vdir + "/marker"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_ + "/vservers"), fs::directory_iterator()),
            1);
}

TEST_F(Build, BadHostnameLeavesNothing) {
  auto o = opts();
  o.hostname = "a\nb";
  auto r = build_skeleton(o);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kUsage);
  expect_nothing_left();
}

TEST_F(Build, BusyboxRunsShellInChroot) {
  auto o = opts();
  auto t0 = std::chrono::steady_clock::now();
  auto r = build_busybox(o);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - t0).count();
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_LT(ms, 1000) << "busybox build took " << ms << " ms";
  EXPECT_EQ(fs::read_symlink(o.vdir + "/bin/sh"), "busybox");
  EXPECT_EQ(fs::read_symlink(o.vdir + "/sbin/init"), "/bin/busybox");
  EXPECT_GT(r->files, 100u);
  auto c = test::run_cmd({"/usr/sbin/chroot", o.vdir, "/bin/sh", "-c", "echo ok"});
  EXPECT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(c.out, "ok\n");
}

// A vdir base on another filesystem than the host's busybox: copy_file_range refuses
// (EXDEV) and the build copies by hand.
TEST_F(Build, BusyboxOntoTmpfs) {
  const std::string base = dir_ + "/vservers";
  ASSERT_EQ(::mount("vserver-test", base.c_str(), "tmpfs", 0, "mode=0700,size=64m"), 0)
      << std::strerror(errno);
  auto o = opts();
  auto r = build_busybox(o);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(fs::file_size(o.vdir + "/bin/busybox"), fs::file_size("/bin/busybox"));
  auto c = test::run_cmd({"/usr/sbin/chroot", o.vdir, "/bin/sh", "-c", "echo ok"});
  EXPECT_EQ(c.status, 0) << c.err;
  EXPECT_EQ(c.out, "ok\n");
}

TEST_F(Build, BusyboxRefusesDynamicBinary) {
  auto r = build_busybox(opts(), "/bin/true");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().detail.find("PT_INTERP"), std::string::npos) << r.error().message();
  expect_nothing_left();
}

TEST_F(Build, CloneIsIdenticalAndCopiesLinksAsLinks) {
  auto src = opts("src");
  ASSERT_TRUE(build_busybox(src));
  Victim v = victim(dir_ + "/host/shadow");
  fs::remove(src.vdir + "/etc/shadow");
  fs::create_symlink(v.path, src.vdir + "/etc/shadow");
  ASSERT_EQ(::chmod(v.path.c_str(), 0), 0);  // reading it would need to follow the link
  ASSERT_EQ(::mknod((src.vdir + "/dev/null").c_str(), S_IFCHR | 0666, makedev(1, 3)), 0);
  std::ofstream(src.vdir + "/etc/motd") << "hello";
  ASSERT_EQ(::link((src.vdir + "/etc/motd").c_str(), (src.vdir + "/root/motd").c_str()), 0);
  ASSERT_EQ(::chmod((src.vdir + "/bin/busybox").c_str(), 04755), 0);

  auto o = opts();
  uint64_t progress_calls = 0;
  o.progress = [&](const BuildProgress&) { ++progress_calls; };
  auto r = build_clone(o, src.vdir);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_GE(progress_calls, 1u);
  EXPECT_EQ(r->skipped_devices, 1u);
  EXPECT_FALSE(fs::exists(fs::symlink_status(o.vdir + "/dev/null")));
  auto a = snapshot(src.vdir), b = snapshot(o.vdir);
  a.erase("/dev/null");
  EXPECT_EQ(a, b);
  EXPECT_EQ(fs::read_symlink(o.vdir + "/etc/shadow"), v.path);
  struct stat s1 {}, s2 {};
  ASSERT_EQ(::stat((o.vdir + "/etc/motd").c_str(), &s1), 0);
  ASSERT_EQ(::stat((o.vdir + "/root/motd").c_str(), &s2), 0);
  EXPECT_EQ(s1.st_ino, s2.st_ino) << "hardlink not kept";
  ASSERT_EQ(::stat((o.vdir + "/bin/busybox").c_str(), &s1), 0);
  EXPECT_EQ(s1.st_mode & 07777, 04755u);
  ::chmod(v.path.c_str(), 0644);
  expect_untouched(v);
  // E18: the clone's copy is its own.
  std::ofstream(o.vdir + "/etc/motd") << "changed";
  EXPECT_EQ(slurp(src.vdir + "/etc/motd"), "hello");
}

// `build -m clone --hostname H` with a source whose etc/hostname is a symlink (to a host
// file here): the link is not followed, the host file is unchanged, and the tool says that
// the hostname was not written, naming the path and what to do (issue 18). A regular
// etc/hostname is rewritten without a word.
TEST_F(Build, CloneHostnameSymlinkIsReported) {
  auto src = opts("src");
  ASSERT_TRUE(build_skeleton(src));
  auto plain = opts("plain");
  ASSERT_TRUE(build_skeleton(plain));
  Victim v = victim(dir_ + "/host/hostname");
  fs::remove(src.vdir + "/etc/hostname");
  fs::create_symlink(v.path, src.vdir + "/etc/hostname");
  auto clone = [&](const std::string& name, const std::string& source) {
    return test::run_cmd({test::tool_path("vserver-build"), "--confdir", dir_ + "/etc",
                          "--vdirbase", dir_ + "/vservers", name, "-m", "clone", "--source",
                          source, "--hostname", "h1", "-q"});
  };
  auto r = clone("c1", src.vdir);
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string vdir = dir_ + "/vservers/c1";
  EXPECT_NE(r.err.find("vserver: warning: hostname `h1` not written: write `etc/hostname`: a "
                       "symlink, which is not followed; to name the guest there, make `" +
                       vdir + "/etc/hostname` a regular file holding `h1`"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(fs::read_symlink(vdir + "/etc/hostname"), v.path);
  expect_untouched(v);

  r = clone("c2", plain.vdir);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(slurp(dir_ + "/vservers/c2/etc/hostname"), "h1\n");
  EXPECT_EQ(slurp(plain.vdir + "/etc/hostname"), "vserver\n");
}

TEST_F(Build, TemplateExtractsNormalTarball) {
  std::string tar = dir_ + "/t.tar.gz";
  write_tar(tar, {{"./", AE_IFDIR, "", "", "", 0755},
                  {"./etc/", AE_IFDIR, "", "", "", 0755},
                  {"./etc/hostname", AE_IFREG, "tpl\n"},
                  {"./bin/", AE_IFDIR, "", "", "", 0755},
                  {"./bin/su", AE_IFREG, "su", "", "", 04755},
                  {"./etc/alt", AE_IFLNK, "", "/etc/hostname"},
                  {"./etc/hard", AE_IFREG, "", "", "etc/hostname"},
                  {"./dev/", AE_IFDIR, "", "", "", 0755},
                  {"./dev/null", AE_IFCHR, "", "", "", 0666, makedev(1, 3)}});
  auto o = opts();
  auto r = build_template(o, tar);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->skipped_devices, 1u);
  EXPECT_EQ(slurp(o.vdir + "/etc/hostname"), "tpl\n");
  EXPECT_EQ(slurp(o.vdir + "/etc/hard"), "tpl\n");
  EXPECT_EQ(fs::read_symlink(o.vdir + "/etc/alt"), "/etc/hostname");
  EXPECT_FALSE(fs::exists(fs::symlink_status(o.vdir + "/dev/null")));
  struct stat st {};
  ASSERT_EQ(::stat((o.vdir + "/bin/su").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1600000000);
}

struct Hostile {
  const char* what;
  std::vector<TarEntry> entries;
  const char* named;
};

TEST_F(Build, TemplateRefusesHostileEntries) {
  Victim v = victim(dir_ + "/host/victim");
  std::string rel_victim = "../../../host/victim";
  std::vector<Hostile> cases = {
      {"dotdot", {{"ok", AE_IFREG, "x"}, {"../x", AE_IFREG, "evil"}}, "../x"},
      {"dotdot-victim", {{rel_victim, AE_IFREG, "evil"}}, "../../../host/victim"},
      {"absolute", {{v.path, AE_IFREG, "evil"}}, nullptr},
      {"symlink-escape",
       {{"a", AE_IFLNK, "", dir_ + "/host"}, {"a/victim", AE_IFREG, "evil"}},
       "a/victim"},
      {"hardlink-abs", {{"passwd", AE_IFREG, "", "", "/etc/passwd"}}, "passwd"},
      {"hardlink-dotdot", {{"p", AE_IFREG, "", "", "../../etc/passwd"}}, "p"},
      {"bad-at-end",
       {{"etc/", AE_IFDIR, "", "", "", 0755}, {"etc/f", AE_IFREG, "data"},
        {"etc/../../y", AE_IFREG, "z"}},
       "etc/../../y"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    std::string tar = dir_ + "/" + c.what + ".tar.gz";
    write_tar(tar, c.entries);
    auto r = build_template(opts(), tar);
    ASSERT_FALSE(r);
    std::string named = c.named ? c.named : v.path;
    EXPECT_EQ(r.error().subject, named) << r.error().message();
    EXPECT_EQ(r.error().code, EPERM) << r.error().message();
    expect_nothing_left();
    expect_untouched(v);
    EXPECT_FALSE(fs::exists(dir_ + "/x"));
    EXPECT_FALSE(fs::exists(dir_ + "/y"));
  }
}

TEST_F(Build, DeleteDoesNotFollowGuestLinks) {
  auto o = opts();
  ASSERT_TRUE(build_busybox(o));
  Victim v1 = victim(dir_ + "/host/victim");
  Victim v2 = victim(dir_ + "/host/victim2");
  fs::create_directories(dir_ + "/host/hostdir");
  Victim v3 = victim(dir_ + "/host/hostdir/file");
  fs::create_directories(o.vdir + "/var/lock");
  fs::create_symlink(dir_ + "/host/hostdir", o.vdir + "/var/lock/subsys");
  fs::create_symlink(v1.path, o.vdir + "/run/utmp");
  fs::create_symlink(v2.path, o.vdir + "/etc/mtab");
  fs::create_symlink("../../../../host", o.vdir + "/root/up");
  auto r = delete_tree(o.vdir);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_GT(r->removed, 100u);
  EXPECT_FALSE(fs::exists(fs::symlink_status(o.vdir)));
  expect_untouched(v1);
  expect_untouched(v2);
  expect_untouched(v3);
}

TEST_F(Build, DeleteRefusesMountInside) {
  auto o = opts();
  ASSERT_TRUE(build_skeleton(o));
  Victim v = victim(dir_ + "/host/mounted");
  ASSERT_EQ(::mount((dir_ + "/host").c_str(), (o.vdir + "/mnt").c_str(), nullptr, MS_BIND,
                    nullptr), 0);
  auto r = delete_tree(o.vdir);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kWrongState);
  EXPECT_EQ(r.error().subject, o.vdir + "/mnt") << r.error().message();
  EXPECT_TRUE(fs::exists(o.vdir + "/etc/passwd")) << "refusal must remove nothing";
  expect_untouched(v);
  auto forced = o;
  forced.force = true;
  EXPECT_FALSE(build_skeleton(forced));
  ASSERT_EQ(::umount2((o.vdir + "/mnt").c_str(), MNT_DETACH), 0);
  ASSERT_TRUE(delete_tree(o.vdir));
  expect_untouched(v);
  auto missing = delete_tree(o.vdir);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound);
}

TEST_F(Build, HostGuestListsBinds) {
  auto o = opts();
  auto r = build_host(o);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_NE(std::find(r->host_binds.begin(), r->host_binds.end(), "/usr"), r->host_binds.end());
  for (const auto& b : r->host_binds) EXPECT_TRUE(fs::is_directory(o.vdir + b)) << b;
  if (fs::is_symlink("/bin")) {
    EXPECT_EQ(fs::read_symlink(o.vdir + "/bin"), fs::read_symlink("/bin"));
  }
  EXPECT_TRUE(fs::exists(o.vdir + "/etc/passwd"));
  EXPECT_TRUE(fs::is_directory(o.vdir + "/var/log"));
}

}  // namespace
}  // namespace vs
