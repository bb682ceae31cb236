// lib/config and lib/guest (DESIGN.md "Guest configuration", STYLE.md R11, SECURITY.md 3):
// vserver.toml, the classic util-vserver files, .defaults, checks between guests, output.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "lib/config/config.h"
#include "tests/support/temp_tree.h"

namespace vs {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    roots_.confdir = tmp_.path() + "/etc";
    roots_.vdirbase = tmp_.path() + "/vservers";
    roots_.rundir = tmp_.path() + "/run";
    std::filesystem::create_directories(roots_.confdir);
  }
  std::string put(const std::string& rel, const std::string& text) {
    std::string p = roots_.confdir + "/" + rel;
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    std::ofstream(p) << text;
    return p;
  }
  std::string toml(const std::string& guest, const std::string& text) {
    return put(guest + "/vserver.toml", text);
  }
  // The message of the error loading `name`, or "OK".
  std::string load_error(const std::string& name) {
    auto g = load_guest(roots_, name);
    return g ? "OK" : g.error().message();
  }

  test::ScopedTempDir tmp_;
  ConfigRoots roots_;
};

TEST_F(ConfigTest, GoodTomlBuildsTheModel) {
  toml("web1", R"(name = "web1"
context = 42
flags = ["persistent"]
namespaces = ["mnt", "pid", "uts", "ipc", "net", "cgroup"]
[uts]
nodename = "web1"
domainname = "example.org"
[[interfaces]]
address = "192.0.2.10/24"
dev = "eth0"
mode = "isolated"
gateway = "192.0.2.1"
nat = true
[[interfaces]]
address = "2001:db8::10"
prefix = 64
[capabilities]
add = ["NET_ADMIN"]
drop = ["CHOWN"]
[rlimits]
nofile = "1024:4096"
[rlimits.nproc]
soft = 100
hard = 200
[limits]
memory = "512M"
pids = 100
[seccomp]
allow = ["keyctl"]
deny = ["ptrace"]
[init]
style = "sysv"
mark = "default"
[scripts]
pre-start = "/usr/local/sbin/prep"
[build]
method = "busybox"
)");
  auto g = load_guest(roots_, "web1");
  ASSERT_TRUE(g) << g.error().message();
  EXPECT_EQ(g->xid->value(), 42);
  EXPECT_EQ(*g->nodename, "web1");
  EXPECT_EQ(*g->domainname, "example.org");
  EXPECT_EQ(g->vdir, roots_.vdirbase + "/web1");
  ASSERT_EQ(g->interfaces.size(), 2u);
  EXPECT_EQ(g->interfaces[0].address, "192.0.2.10");
  EXPECT_EQ(g->interfaces[0].prefix, 24u);
  EXPECT_EQ(g->interfaces[0].mode, NetMode::kIsolated);
  EXPECT_EQ(g->interfaces[0].gateway, "192.0.2.1");
  EXPECT_EQ(g->interfaces[0].nat, std::optional<bool>(true));
  EXPECT_EQ(g->interfaces[1].gateway, "");
  EXPECT_EQ(g->interfaces[1].nat, std::nullopt);
  EXPECT_EQ(g->interfaces[1].prefix, 64u);
  auto net_admin = shim::cap_from_name("NET_ADMIN");
  auto chown = shim::cap_from_name("CHOWN");
  EXPECT_TRUE(g->bcaps & (1ull << *net_admin));
  EXPECT_FALSE(g->bcaps & (1ull << *chown));
  EXPECT_TRUE(g->bcaps & (1ull << *shim::cap_from_name("KILL"))) << "the default set stays";
  EXPECT_EQ(g->bcap_changes, "NET_ADMIN,~CHOWN");
  EXPECT_EQ(g->flags, "persistent");
  EXPECT_EQ(g->rlimits[RLIMIT_NOFILE].soft, 1024u);
  EXPECT_EQ(g->rlimits[RLIMIT_NOFILE].hard, 4096u);
  EXPECT_EQ(g->rlimits[RLIMIT_NPROC].soft, 100u);
  EXPECT_EQ(g->rlimits[RLIMIT_NPROC].hard, 200u);
  EXPECT_EQ(*g->limits.memory, 512u << 20);
  EXPECT_EQ(*g->limits.pids, 100u);
  EXPECT_EQ(g->seccomp.allow, std::vector<std::string>{"keyctl"});
  EXPECT_EQ(g->seccomp.deny, std::vector<std::string>{"ptrace"});
  EXPECT_EQ(g->init_style, InitStyle::kSysv);
  EXPECT_EQ(g->mark, "default");
  EXPECT_EQ(g->scripts["pre-start"], "/usr/local/sbin/prep");
  EXPECT_EQ(*g->build_method, "busybox");
  EXPECT_EQ(g->origins["context"].line, 2);
}

TEST_F(ConfigTest, EveryErrorNamesFileLineKeyAndWhatIsAllowed) {
  struct Case {
    const char* text;
    const char* expect;  // after "FILE:"
  } cases[] = {
      {"context = \"42\"\n", "1: key 'context': wrong type (expected an integer)"},
      {"\n\ncontex = 42\n", "3: key 'contex': unknown key; did you mean 'context'?"},
      {"context = 1\n", "1: key 'context': `1` is not a static context id"},
      {"context = 49152\n", "1: key 'context': `49152` is not a static context id"},
      {"context = -5\n", "1: key 'context': `-5` is not a static context id"},
      {"context = 4.2\n", "1: key 'context': wrong type (expected an integer)"},
      {"[uts]\nsysname = \"x\"\n", "2: key 'uts.sysname': cannot be set on a stock kernel"},
      {"[capabilities]\nadd = [\"CAP_FOO\"]\n", "2: key 'capabilities.add': "},
      {"flags = [\"nosuchflag\"]\n", "1: key 'flags': "},
      {"namespaces = [\"mnt\", \"bogus\"]\n", "1: key 'namespaces': "},
      {"[rlimits]\nnofiles = 5\n", "2: key 'rlimits.nofiles': unknown rlimit (expected one of:"},
      {"[rlimits]\nnofile = \"lots\"\n", "2: key 'rlimits.nofile': "},
      {"[limits]\nmemory = -1\n", "2: key 'limits.memory': "},
      {"[seccomp]\nallow = [\"nosuchcall\"]\n", "2: key 'seccomp.allow': "},
      {"[init]\nstyle = \"systemd\"\n", "2: key 'init.style': unknown style `systemd` (expected plain, sysv or minit)"},
      {"[[interfaces]]\naddress = \"999.1.1.1\"\n", "2: key 'interfaces.0.address': "},
      {"[[interfaces]]\naddress = \"10.0.0.1/33\"\n", "2: key 'interfaces.0.address': "},
      {"[[interfaces]]\naddress = \"fe80::1%eth0\"\n", "2: key 'interfaces.0.address': "},
      {"[[interfaces]]\naddress = \"127.0.0.1\"\n", "2: key 'interfaces.0.address': "},
      {"[[interfaces]]\naddress = \"10.0.0.1\"\nmode = \"bridge\"\n", "3: key 'interfaces.0.mode': unknown mode"},
      {"[[interfaces]]\naddress = \"10.0.0.1\"\ncolour = 1\n", "3: key 'interfaces.0.colour': unknown key"},
      {"[[interfaces]]\naddress = \"10.0.0.1\"\ngateway = \"10.0.0.254\"\n",
       "3: key 'interfaces.0.gateway': only an isolated interface has one (expected mode = "
       "\"isolated\" in the same [[interfaces]])"},
      // A shared address may be masqueraded (vserver's rule), an IPv6 one not.
      {"[[interfaces]]\naddress = \"fd00::1\"\nnat = true\n", "3: key 'interfaces.0.nat': NAT is for IPv4"},
      {"[[interfaces]]\naddress = \"10.0.0.1/24\"\nmode = \"isolated\"\ngateway = \"10.0.0.0.1\"\n",
       "4: key 'interfaces.0.gateway': `10.0.0.0.1` is not an IPv4 or IPv6 address"},
      {"[[interfaces]]\naddress = \"10.0.0.1/24\"\nmode = \"isolated\"\ngateway = \"10.0.0.254/24\"\n",
       "4: key 'interfaces.0.gateway': `10.0.0.254/24` has a prefix (expected a unicast IPv4 or "
       "IPv6 address without /PREFIX)"},
      {"[[interfaces]]\naddress = \"10.0.0.1/24\"\nmode = \"isolated\"\ngateway = \"fd00::1\"\n",
       "4: key 'interfaces.0.gateway': `fd00::1` is not of the family of `10.0.0.1`"},
      {"[[interfaces]]\naddress = \"10.0.0.1/24\"\nmode = \"isolated\"\ngateway = 10\n",
       "4: key 'interfaces.0.gateway': wrong type (expected a string)"},
      {"[[interfaces]]\naddress = \"fd00::2/64\"\nmode = \"isolated\"\nnat = true\n",
       "4: key 'interfaces.0.nat': NAT is for IPv4"},
      {"[[interfaces]]\naddress = \"10.0.0.1/24\"\nmode = \"isolated\"\nnat = \"yes\"\n",
       "4: key 'interfaces.0.nat': wrong type (expected true or false)"},
      {"vdir = \"relative/x\"\n", "1: key 'vdir': "},
      {"x = \"unterminated\n", "1: "},
      {"context = 2\ncontext = 3\n", "2: "},
      // The key named is the one whose value is at fault, at its own line.
      {"[capabilities]\nadd = [\"NET_ADMIN\"]\ndrop = [\"CAP_FOO\"]\n",
       "3: key 'capabilities.drop': unknown capability `~CAP_FOO`"},
      {"[seccomp]\nallow = [\"keyctl\"]\ndeny = [\"keyctl\"]\n",
       "3: key 'seccomp.deny': `seccomp`: syscall `keyctl` given twice"},
      {"[limits]\nmemory = 0\npids = 5\n", "2: key 'limits.memory': `0` is no memory at all"},
      {"[limits]\nmemory = \"1G\"\nmemsw = \"512M\"\n", "3: key 'limits.memsw': memory+swap"},
      {"[[interfaces]]\naddress = \"10.0.0.1\"\n\ndev = \"a/b\"\n",
       "4: key 'interfaces.0.dev': `a/b` is not an interface name"},
      {"[rlimits.nofile]\nsoft = 10\nhard = 5\n",
       "2: key 'rlimits.nofile.soft': `nofile`: soft limit 10 is above the hard limit 5"},
      {"[[interfaces]]\naddress = \"10.0.0.1\"\n[[interfaces]]\ndev = \"eth0\"\n",
       "3: key 'interfaces.1.address': missing (expected one in every [[interfaces]])"},
      {"[init]\nstyel = \"plain\"\n", "2: key 'init.styel': unknown key; did you mean 'style'?"},
      {"[init]\nstop_timeout = 0\n",
       "2: key 'init.stop_timeout': `0` is out of range (expected seconds, 1..3600)"},
      {"[build]\nmethod = \"rsync\"\n",
       "2: key 'build.method': unknown method `rsync` (expected skeleton, busybox, clone, "
       "template, debootstrap or host)"},
  };
  for (const auto& c : cases) {
    std::string file = toml("bad", c.text);
    std::string msg = load_error("bad");
    std::string want = file + ":" + c.expect;
    EXPECT_EQ(msg.compare(0, want.size(), want), 0) << c.text << "\n got: " << msg
                                                    << "\nwant: " << want;
    auto g = load_guest(roots_, "bad");
    if (!g) {
      EXPECT_EQ(g.error().kind, ErrorKind::kUsage) << c.text;
    }
  }
}

TEST_F(ConfigTest, LegacyLayoutIsRead) {
  put("old/context", "42\n");
  put("old/name", "old\n");
  put("old/uts/nodename", "old.example\n");
  put("old/interfaces/00/ip", "192.0.2.7\n");
  put("old/interfaces/00/prefix", "24\n");
  put("old/interfaces/00/dev", "eth0\n");
  put("old/interfaces/00/nodev", "");
  put("old/bcapabilities", "CAP_NET_ADMIN\n!CAP_CHOWN\n");
  put("old/ccapabilities", "");
  put("old/flags", "persistent\n");
  put("old/rlimits/nofile.hard", "4096\n");
  put("old/rlimits/nofile.soft", "1024\n");
  put("old/apps/init/mark", "default\n");
  put("old/apps/init/style", "minit\n");
  put("old/fstab", "none /tmp tmpfs defaults 0 0\n");
  put("old/scripts/pre-start", "#!/bin/sh\n");
  ASSERT_EQ(::symlink((roots_.vdirbase + "/old").c_str(),
                      (roots_.confdir + "/old/vdir").c_str()), 0);
  auto g = load_guest(roots_, "old");
  ASSERT_TRUE(g) << g.error().message();
  EXPECT_EQ(g->xid->value(), 42);
  EXPECT_EQ(*g->nodename, "old.example");
  ASSERT_EQ(g->interfaces.size(), 1u);
  EXPECT_EQ(g->interfaces[0].address, "192.0.2.7");
  EXPECT_EQ(g->interfaces[0].prefix, 24u);
  EXPECT_TRUE(g->interfaces[0].nodev);
  EXPECT_TRUE(g->bcaps & (1ull << *shim::cap_from_name("NET_ADMIN")));
  EXPECT_FALSE(g->bcaps & (1ull << *shim::cap_from_name("CHOWN")));
  EXPECT_TRUE(g->bcaps & (1ull << *shim::cap_from_name("KILL")));
  EXPECT_EQ(g->rlimits[RLIMIT_NOFILE].soft, 1024u);
  EXPECT_EQ(g->rlimits[RLIMIT_NOFILE].hard, 4096u);
  EXPECT_EQ(g->init_style, InitStyle::kMinit);
  EXPECT_EQ(*g->fstab, roots_.confdir + "/old/fstab");
  EXPECT_EQ(g->scripts["pre-start"], roots_.confdir + "/old/scripts/pre-start");
  EXPECT_EQ(g->vdir, roots_.vdirbase + "/old");
}

TEST_F(ConfigTest, LegacyBadValues) {
  struct Case {
    const char* file;
    const char* text;
    const char* expect;
  } cases[] = {
      {"context", "42 ", "context:1: key 'context'"},
      {"context", "0x2a", "context:1: key 'context'"},
      {"context", "052", "context:1: key 'context'"},
      {"context", "+42", "context:1: key 'context'"},
      {"context", "", "context:1: key 'context': empty file"},
      {"context", "42\n43\n", "context:1: key 'context': more than one line"},
      {"uts/machine", "x86\n", "uts/machine: key 'uts.machine': cannot be set"},
      {"interfaces/00/ip", "999.1.1.1\n", "interfaces/00/ip:1: key 'interfaces.0.address'"},
      {"bcapabilities", "CAP_FOO\n", "bcapabilities:1: key 'capabilities.add'"},
      {"scripts/initialize", "", "scripts/initialize: key 'scripts.initialize': unknown script"},
      {"uts/foo", "x\n", "uts/foo: key 'uts.foo': unknown uts file (expected one of: nodename"},
      {"rlimits/nofiles", "5\n", "rlimits/nofiles: key 'rlimits.nofiles': unknown rlimit ("},
      {"rlimits/nofile.x", "5\n", "rlimits/nofile.x: key 'rlimits.nofile.x': unknown rlimit file"},
      {"interfaces/00/dev", "eth0\n", "interfaces/00/ip: key 'interfaces.0.address': missing"},
      {"apps/init/style", "upstart\n", "apps/init/style:1: key 'init.style': unknown style"},
  };
  for (const auto& c : cases) {
    std::filesystem::remove_all(roots_.confdir + "/bad");
    put(std::string("bad/") + c.file, c.text);
    std::string msg = load_error("bad");
    std::string want = roots_.confdir + "/bad/" + c.expect;
    EXPECT_EQ(msg.compare(0, want.size(), want), 0) << c.file << "=" << c.text << "\n got: "
                                                    << msg << "\nwant: " << want;
  }
}

TEST_F(ConfigTest, LegacyFifoAndSymlinkAreRefusedWithoutBlocking) {
  std::filesystem::create_directories(roots_.confdir + "/g");
  ASSERT_EQ(::mkfifo((roots_.confdir + "/g/context").c_str(), 0600), 0);
  EXPECT_NE(load_error("g").find("g/context: key 'context': cannot read"), std::string::npos);
  std::filesystem::remove(roots_.confdir + "/g/context");
  ASSERT_EQ(::symlink("/dev/zero", (roots_.confdir + "/g/context").c_str()), 0);
  EXPECT_NE(load_error("g").find("is a symlink"), std::string::npos) << load_error("g");
}

TEST_F(ConfigTest, VdirSymlinkIsReadAsData) {
  put("a/context", "5\n");
  ASSERT_EQ(::symlink("/etc", (roots_.confdir + "/a/vdir").c_str()), 0);
  auto raw = read_config_dir(roots_.confdir + "/a");
  ASSERT_TRUE(raw) << raw.error().message();
  EXPECT_EQ(raw->at("vdir").text, "/etc");
  put("b/context", "6\n");
  ASSERT_EQ(::symlink("../../vservers/b", (roots_.confdir + "/b/vdir").c_str()), 0);
  auto g = load_guest(roots_, "b");
  ASSERT_TRUE(g) << g.error().message();
  EXPECT_EQ(g->vdir, roots_.vdirbase + "/b");
  // A link to /etc is a path outside the base: refused between guests, never followed.
  auto all = load_all_guests(roots_);
  ASSERT_FALSE(all);
  EXPECT_NE(all.error().message().find("a/vdir: key 'vdir': `/etc` of guest a is the host's /etc"),
            std::string::npos)
      << all.error().message();
}

TEST_F(ConfigTest, SameSettingBothWaysNamesBothFiles) {
  std::string t = toml("both", "\ncontext = 7\n");
  std::string c = put("both/context", "7\n");
  std::string msg = load_error("both");
  EXPECT_NE(msg.find(t + ":2"), std::string::npos) << msg;
  EXPECT_NE(msg.find(c), std::string::npos) << msg;
  std::filesystem::remove(c);
  put("both/bcapabilities", "NET_ADMIN\n");
  toml("both", "[capabilities]\ndrop = [\"CHOWN\"]\n");
  msg = load_error("both");
  EXPECT_NE(msg.find("bcapabilities"), std::string::npos) << msg;
  EXPECT_NE(msg.find("vserver.toml:2"), std::string::npos) << msg;
}

TEST_F(ConfigTest, DefaultsMergeUnderTheGuest) {
  put(".defaults/vserver.toml", "flags = [\"persistent\"]\n[init]\nstyle = \"sysv\"\nmark = \"default\"\n");
  put(".defaults/rlimits/nofile", "512\n");
  toml("g", "context = 9\n[init]\nstyle = \"minit\"\n");
  auto g = load_guest(roots_, "g");
  ASSERT_TRUE(g) << g.error().message();
  EXPECT_EQ(g->init_style, InitStyle::kMinit);
  EXPECT_EQ(g->mark, "default");
  EXPECT_EQ(g->flags, "persistent");
  EXPECT_EQ(g->rlimits[RLIMIT_NOFILE].soft, 512u);
  put(".defaults/context", "3\n");
  EXPECT_NE(load_error("g").find(".defaults/context:1: key 'context': cannot be a default"),
            std::string::npos)
      << load_error("g");
}

TEST(GuestName, HostileNamesAreRefused) {
  for (const char* bad : {"", ".", "..", "../x", "a/b", "-rf", ".defaults", "a b", "a\nb", "a\tb",
                          "a;b", "$(x)", "a*", "x-", "a_b", "a.b", "\xd0\xb5", "a\x7f"}) {
    auto r = validate_guest_name(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::kUsage);
    EXPECT_NE(r.error().message().find("allowed: 1 to 63"), std::string::npos);
  }
  EXPECT_FALSE(validate_guest_name(std::string(64, 'a')));
  for (const std::string& good : {std::string("a"), std::string("web1"), std::string("Web-1"),
                                 std::string("0"), std::string(63, 'z')}) {
    EXPECT_TRUE(validate_guest_name(good)) << good;
  }
}

TEST_F(ConfigTest, DuplicateXidAcrossGuests) {
  toml("a", "context = 10\n");
  toml("b", "\ncontext = 10\n");
  auto all = load_all_guests(roots_);
  ASSERT_FALSE(all);
  std::string msg = all.error().message();
  EXPECT_NE(
      msg.find(roots_.confdir + "/b/vserver.toml:2: key 'context': context 10 of guest b is also"),
      std::string::npos)
      << msg;
  EXPECT_NE(msg.find(roots_.confdir + "/a/vserver.toml:1"), std::string::npos) << msg;
  EXPECT_EQ(all.error().kind, ErrorKind::kUsage);
}

TEST_F(ConfigTest, DuplicateAddressAcrossGuests) {
  toml("a", "[[interfaces]]\naddress = \"2001:db8::1\"\n");
  put("b/interfaces/0/ip", "2001:0db8:0::1\n");
  auto all = load_all_guests(roots_);
  ASSERT_FALSE(all);
  EXPECT_NE(
      all.error().message().find("address 2001:db8::1 of guest b is also an address of guest a"),
      std::string::npos)
      << all.error().message();
}

TEST_F(ConfigTest, OverlappingVdirs) {
  toml("a", "vdir = \"" + roots_.vdirbase + "/a\"\n");
  toml("b", "vdir = \"" + roots_.vdirbase + "/a/sub\"\n");
  auto all = load_all_guests(roots_);
  ASSERT_FALSE(all);
  EXPECT_NE(all.error().message().find("overlaps"), std::string::npos) << all.error().message();
  toml("b", "vdir = \"" + roots_.vdirbase + "/ab\"\n");
  auto ok = load_all_guests(roots_);
  EXPECT_TRUE(ok) << ok.error().message();
}

// Issue 20 item 8: a clash breaks both guests (each naming the other), a bad vdir its own
// guest, a typo its own guest; the others stay usable.
TEST_F(ConfigTest, GuestSetSortsOutBrokenGuestsAndKeepsTheOthers) {
  toml("a", "context = 10\n");
  toml("b", "context = 10\n");
  toml("c", "context = 11\n");
  toml("d", "vdir = \"/usr/lib\"\n");
  toml("e", "context = \"x\"\n");
  toml("f", "vdir = \"/\"\n");
  auto set = load_guest_set(roots_);
  ASSERT_TRUE(set) << set.error().message();
  ASSERT_EQ(set->guests.size(), 1u);
  EXPECT_EQ(set->guests[0].name, "c");
  ASSERT_EQ(set->broken.size(), 5u);
  EXPECT_EQ(set->broken[0].name, "a");
  EXPECT_NE(set->broken[0].error.message().find("context 10 of guest a is also the context of "
                                                "guest b"),
            std::string::npos)
      << set->broken[0].error.message();
  ASSERT_TRUE(set->broken[0].config);
  EXPECT_NE(set->broken[1].error.message().find("of guest b is also the context of guest a"),
            std::string::npos);
  EXPECT_NE(set->broken[2].error.message().find("`/usr/lib` of guest d is inside the host's /usr"),
            std::string::npos)
      << set->broken[2].error.message();
  EXPECT_EQ(set->broken[3].name, "e");
  EXPECT_FALSE(set->broken[3].config);
  EXPECT_NE(set->broken[4].error.message().find("`/` of guest f is the host's /"),
            std::string::npos)
      << set->broken[4].error.message();
  // start's check: the same clash, from the guest being started.
  auto b = load_guest(roots_, "b");
  ASSERT_TRUE(b);
  auto r = check_against_others(*b, roots_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("guest b is also the context of guest a"), std::string::npos);
  auto c = load_guest(roots_, "c");
  ASSERT_TRUE(c);
  EXPECT_TRUE(check_against_others(*c, roots_));
}

// Issue 20 item 8: util-vserver's cgroup files are imported as limits.*; nice, the cgroup
// files without an equivalent, the interface variants and the interfaces/ defaults are
// warned about, never silently ignored.
TEST_F(ConfigTest, ClassicFilesNotUnderstoodAreWarnedAbout) {
  put("u/context", "40\n");
  put("u/cgroup/memory.limit_in_bytes", "64M\n");
  put("u/cgroup/cpu.shares", "512\n");
  put("u/cgroup/blkio.weight", "300\n");
  put("u/nice", "5\n");
  put("u/interfaces/0/ip", "192.0.2.9\n");
  put("u/interfaces/0/mask", "255.255.255.0\n");
  put("u/interfaces/0/disabled", "");
  put("u/interfaces/dev", "eth0\n");
  auto g = load_guest(roots_, "u");
  ASSERT_TRUE(g) << g.error().message();
  EXPECT_EQ(g->limits.memory, 64u << 20);
  EXPECT_EQ(g->limits.cpu_shares, 512u);
  std::string all;
  for (const auto& w : g->warnings) all += w + "\n";
  const std::string d = roots_.confdir + "/u/";
  EXPECT_NE(all.find(d + "cgroup/blkio.weight: not read: a cgroup setting"), std::string::npos)
      << all;
  EXPECT_NE(all.find(d + "nice: not read: "), std::string::npos) << all;
  EXPECT_NE(all.find(d + "interfaces/0/mask: not read: "), std::string::npos) << all;
  EXPECT_NE(all.find(d + "interfaces/0/disabled: not read: "), std::string::npos) << all;
  EXPECT_NE(all.find(d + "interfaces/dev: not read: a default"), std::string::npos) << all;
  EXPECT_EQ(g->warnings.size(), 5u) << all;
}

TEST_F(ConfigTest, FormatIsStableAndJsonHasTheKeys) {
  toml("f", "context = 12\n[uts]\nnodename = \"f\\\"q\"\n[[interfaces]]\naddress = \"10.1.2.3\"\n");
  auto g = load_guest(roots_, "f");
  ASSERT_TRUE(g) << g.error().message();
  std::string text = format_config(*g);
  EXPECT_EQ(text.rfind("name = f\ncontext = 12\nuts.nodename = f\"q\nvdir = ", 0), 0u) << text;
  EXPECT_NE(text.find("interfaces.0.address = 10.1.2.3\ninterfaces.0.prefix = 32\n"),
            std::string::npos);
  std::string json = format_config_json(*g);
  EXPECT_EQ(json.front(), '{');
  EXPECT_EQ(json.substr(json.size() - 2), "}\n");
  EXPECT_NE(json.find("\"context\": 12,"), std::string::npos) << json;
  EXPECT_NE(json.find("\"uts.nodename\": \"f\\\"q\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"interfaces.0.prefix\": 32,"), std::string::npos) << json;
  EXPECT_EQ(format_config(*g), text);
}

TEST_F(ConfigTest, FormatShowsTheIsolatedGatewayAndNat) {
  toml("iso", "[[interfaces]]\naddress = \"10.1.2.3/24\"\nmode = \"isolated\"\ndev = \"br0\"\n"
              "gateway = \"10.1.2.254\"\nnat = false\n");
  auto g = load_guest(roots_, "iso");
  ASSERT_TRUE(g) << g.error().message();
  std::string text = format_config(*g);
  EXPECT_NE(text.find("interfaces.0.nodev = false\ninterfaces.0.gateway = 10.1.2.254\n"
                      "interfaces.0.nat = false\n"),
            std::string::npos)
      << text;
  std::string json = format_config_json(*g);
  EXPECT_NE(json.find("\"interfaces.0.gateway\": \"10.1.2.254\",\n  \"interfaces.0.nat\": false,"),
            std::string::npos)
      << json;
}

// `vserver NAME config` shows the keys in the schema's order, an interface's keys together.
TEST_F(ConfigTest, FormatShowsEveryKeyInTheSchemasOrder) {
  toml("all", R"(name = "all"
context = 77
flags = ["persistent"]
fstab = "/etc/vservers/all/fstab"
[uts]
nodename = "n"
domainname = "d"
[[interfaces]]
address = "10.9.0.1/24"
dev = "br0"
name = "lbl"
mode = "isolated"
gateway = "10.9.0.254"
nat = true
[[interfaces]]
address = "10.9.0.2/24"
[capabilities]
drop = ["CHOWN"]
ccaps = ["set_rlimit"]
[rlimits]
nofile = 64
[limits]
memory = "64M"
memsw = "max"
pids = 10
cpu_shares = 100
cpu_quota_us = 5000
cpu_period_us = 10000
cpuset_cpus = "0"
cpuset_mems = "0"
[seccomp]
allow = ["keyctl"]
[init]
style = "minit"
mark = "m"
command = ["/bin/run", "x"]
stop_signal = "TERM"
stop_timeout = 5
depends = ["a", "b"]
[scripts]
pre-start = "/p/a"
post-stop = "/p/b"
[build]
method = "clone"
source = "a"
)");
  auto g = load_guest(roots_, "all");
  ASSERT_TRUE(g) << g.error().message();
  std::string keys;
  std::string all = format_config(*g);
  for (std::string_view text = all; !text.empty();) {
    size_t nl = text.find('\n');
    keys += std::string(text.substr(0, text.find(" = "))) + " ";
    text.remove_prefix(nl + 1);
  }
  EXPECT_EQ(keys,
            "name label context uts.nodename uts.domainname vdir interfaces.0.address "
            "interfaces.0.prefix interfaces.0.dev interfaces.0.name interfaces.0.mode "
            "interfaces.0.nodev interfaces.0.gateway interfaces.0.nat interfaces.1.address "
            "interfaces.1.prefix interfaces.1.mode interfaces.1.nodev capabilities.bcaps "
            "capabilities.ccaps flags namespaces rlimits.nofile limits.memory limits.memsw "
            "limits.pids limits.cpu_shares limits.cpu_quota_us limits.cpu_period_us "
            "limits.cpuset_cpus limits.cpuset_mems seccomp.profile seccomp.changes init.style "
            "init.mark init.command init.stop_signal init.stop_timeout init.depends "
            "scripts.post-stop scripts.pre-start fstab build.method build.source ");
  std::string json = format_config_json(*g);
  for (const char* raw : {"\"limits.memory\": 67108864,", "\"limits.memsw\": \"max\",",
                          "\"interfaces.0.nat\": true,", "\"init.stop_timeout\": 5,",
                          "\"rlimits.nofile\": \"64:64\","}) {
    EXPECT_NE(json.find(raw), std::string::npos) << raw << "\n" << json;
  }
}

TEST(ConfigRoots, FromEnvAndDefaults) {
  ::unsetenv("VSERVER_CONFDIR");
  ::setenv("VSERVER_VDIRBASE", "/srv/vs", 1);
  ::setenv("VSERVER_RUNDIR", "", 1);
  ConfigRoots r = ConfigRoots::from_env();
  EXPECT_EQ(r.confdir, "/etc/vservers");
  EXPECT_EQ(r.vdirbase, "/srv/vs");
  EXPECT_EQ(r.rundir, "/run/vservers");
  EXPECT_EQ(r.default_vdir("web1"), "/srv/vs/web1");
  ::unsetenv("VSERVER_VDIRBASE");
  ::unsetenv("VSERVER_RUNDIR");
}

}  // namespace
}  // namespace vs
