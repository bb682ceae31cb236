// Escapes of issue 18, class 2 (the catalogue: guest_escape_fixture.h): a build method running
// guest or template code as host root. A hostile template (a gconv or NSS module) for
// `-m template`, a hostile or flipping source for `-m clone`, a hostile tree under
// `-m busybox --force`; each with its weak setup.
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include "tests/integration/guest_escape_fixture.h"
#include "tests/support/files.h"
#include "tests/support/run_cmd.h"
#include "tests/support/tar_writer.h"
#include "tests/support/weak_extractor.h"

namespace vs::test {
namespace {

namespace fs = std::filesystem;

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
