// vcontext against the real kernel: namespaces, init, migrate, pins, reaping, races, errors.
#include <gtest/gtest.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "kernel-shim/cgroup.h"
#include "kernel-shim/context_table.h"
#include "lib/base/fs_at.h"
#include "tests/support/bg_process.h"
#include "tests/support/root_env.h"
#include "tests/support/run_cmd.h"

namespace vs::test {
namespace {

std::string vcontext() { return tool_path("vcontext"); }

std::string state_file(int xid) { return root_env().rundir + "/" + std::to_string(xid) + "/state"; }

// Bounded poll: true once `pred` holds (at most ~10 s).
template <typename F>
bool eventually(F pred) {
  for (int i = 0; i < 1000; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every trace a context leaves: entry dir, lock, cgroup dirs, pin mounts.
std::vector<std::string> leftovers(int xid) {
  std::vector<std::string> found;
  std::string x = std::to_string(xid);
  std::error_code ec;
  for (const auto& p : {root_env().rundir + "/" + x, root_env().rundir + "/" + x + ".lock"}) {
    if (std::filesystem::exists(p, ec)) found.push_back(p);
  }
  auto layout = vs::shim::CgroupLayout::discover();
  if (layout) {
    std::vector<std::string> roots{layout->v2_root};
    for (const auto& h : layout->v1) roots.push_back(h.mount_point);
    for (const auto& r : roots) {
      std::string d = r + "/" + root_env().cgroup_parent + "/" + x;
      if (std::filesystem::exists(d, ec)) found.push_back(d);
    }
  }
  std::string mi = slurp("/proc/self/mountinfo");
  std::string needle = root_env().rundir + "/" + x + "/";
  if (mi.find(needle) != std::string::npos) found.push_back("mount under " + needle);
  return found;
}

TEST(Vcontext, CommandIsPid2UnderBuiltinInitAndSeesOnlyItsProcesses) {
  auto r = run_cmd({vcontext(), "--create", "--xid", "42001", "--", "sh", "-c",
                    "echo pid=$$; ls /proc | grep -c '^[0-9]'"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("New security context is 42001"), std::string::npos) << r.err;
  std::istringstream lines(r.out);
  std::string pidline, count;
  std::getline(lines, pidline);
  std::getline(lines, count);
  EXPECT_EQ(pidline, "pid=2");
  // init, sh, ls and grep at most: the host's processes are not there.
  EXPECT_LE(std::stoi(count), 4) << r.out;
  EXPECT_TRUE(leftovers(42001).empty()) << leftovers(42001)[0];
}

TEST(Vcontext, NoInitMakesCommandPid1) {
  auto r = run_cmd({vcontext(), "--create", "--no-init", "--xid", "42002", "--", "sh", "-c",
                    "echo $$"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "1\n");
}

TEST(Vcontext, BuiltinInitReapsOrphans) {
  // The orphaned background sleeps become init's children; they must not stay zombies.
  auto r = run_cmd({vcontext(), "--create", "--xid", "42003", "--", "sh", "-c",
                    "(sleep 0.1 &) ; (sleep 0.1 &); sleep 0.5; "
                    "grep -l '^State:.*Z' /proc/[0-9]*/status | wc -l"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "0\n");
}

TEST(Vcontext, OwnHostnameAndIpc) {
  struct utsname before {};
  ::uname(&before);
  int key = 0x56530000 + (::getpid() & 0xffff);
  int shm = ::shmget(key, 4096, IPC_CREAT | 0600);
  ASSERT_GE(shm, 0);
  char hex[32];
  std::snprintf(hex, sizeof hex, "0x%08x", key);
  auto r = run_cmd({vcontext(), "--create", "--xid", "42004", "--", "sh", "-c",
                    "hostname ctx-42004; hostname; cat /proc/sysvipc/shm"});
  ::shmctl(shm, IPC_RMID, nullptr);
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "ctx-42004");
  // The host's segment is invisible inside (its key, in decimal, in /proc/sysvipc/shm).
  EXPECT_EQ(r.out.find(" " + std::to_string(key) + " "), std::string::npos) << hex << r.out;
  struct utsname after {};
  ::uname(&after);
  EXPECT_STREQ(before.nodename, after.nodename);
}

TEST(Vcontext, ExitStatusIsTheCommands) {
  EXPECT_EQ(run_cmd({vcontext(), "--create", "--xid", "42005", "--", "sh", "-c", "exit 7"}).status, 7);
  EXPECT_EQ(run_cmd({vcontext(), "--create", "--xid", "42005", "--", "sh", "-c",
                     "kill -TERM $$"}).status, 128 + 15);
  auto r = run_cmd({vcontext(), "--create", "--xid", "42005", "--", "/nonexistent/cmd"});
  EXPECT_EQ(r.status, 127);
  EXPECT_NE(r.err.find("/nonexistent/cmd"), std::string::npos) << r.err;
  EXPECT_TRUE(leftovers(42005).empty());
}

TEST(Vcontext, MigrateSeesTheSameProcessesAndSurvivesTheCreator) {
  std::string log = root_env().tmp + "/bg-42006.log";
  BgProcess bg({vcontext(), "--create", "--xid", "42006", "--", "sleep", "1000"}, log);
  ASSERT_TRUE(eventually([] { return std::filesystem::exists(state_file(42006)); }));
  // Migrate: pid 2 inside is the sleep, and the hostname is the context's own.
  ASSERT_EQ(run_cmd({vcontext(), "--migrate", "--xid", "42006", "--", "hostname", "m42006"}).status, 0);
  auto r = run_cmd({vcontext(), "--migrate", "--xid", "42006", "--", "sh", "-c",
                    "cat /proc/2/cmdline | tr '\\0' ' '; echo; hostname"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "sleep 1000 \nm42006\n");

  // The creator goes away; the context, its pins and its cgroups stay.
  ::kill(bg.pid(), SIGKILL);
  bg.wait();
  r = run_cmd({vcontext(), "--migrate", "--xid", "42006", "--", "hostname"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "m42006\n");
  EXPECT_NE(slurp("/proc/self/mountinfo").find(root_env().rundir + "/42006/ns/pid"),
            std::string::npos);

  // Kill it through its cgroup; the next reader of the table reaps everything.
  vs::shim::ContextTable table(shim_config());
  ASSERT_TRUE(table.prepare());
  auto cg = vs::shim::ContextCgroup::open(table.layout(), table.config().cgroup,
                                          vs::shim::Xid(42006));
  ASSERT_TRUE(cg) << cg.error().message();
  ASSERT_TRUE(cg->kill(SIGKILL)) << "kill";
  r = run_cmd({vcontext(), "--list"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out.find("42006"), std::string::npos) << r.out;
  auto left = leftovers(42006);
  EXPECT_TRUE(left.empty()) << left[0];
}

TEST(Vcontext, ClassicChainSealsTheContext) {
  std::string log = root_env().tmp + "/bg-42007.log";
  BgProcess bg({vcontext(), "--create", "--xid", "42007", "--", vcontext(), "--migrate-self",
                "--endsetup", "--", "sleep", "1000"},
               log);
  ASSERT_TRUE(eventually([] { return slurp(state_file(42007)).find("stage=running") != std::string::npos; }))
      << slurp(log);
  // The table is no longer visible inside, and a second --endsetup is refused.
  auto r = run_cmd({vcontext(), "--migrate", "--xid", "42007", "--", "sh", "-c",
                    "test -e " + root_env().rundir + "/42007/state && echo visible || echo hidden"});
  EXPECT_EQ(r.out, "hidden\n") << r.err;
  r = run_cmd({vcontext(), "--migrate-self", "--xid", "42007", "--endsetup", "--", "true"});
  EXPECT_EQ(r.status, 4) << r.err;
  EXPECT_NE(r.err.find("sealed"), std::string::npos) << r.err;
  ::kill(bg.pid(), SIGTERM);  // forwarded to init, then to the sleep
  EXPECT_EQ(bg.wait(), 128 + 15);
  EXPECT_TRUE(leftovers(42007).empty());
}

TEST(Vcontext, MigrateSelfFromTheHostEntersAndForks) {
  std::string log = root_env().tmp + "/bg-42008.log";
  BgProcess bg({vcontext(), "--create", "--xid", "42008", "--", "sleep", "1000"}, log);
  ASSERT_TRUE(eventually([] { return std::filesystem::exists(state_file(42008)); }));
  auto r = run_cmd({vcontext(), "--migrate-self", "--xid", "42008", "--", "sh", "-c",
                    "cat /proc/2/comm"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "sleep\n");
  ::kill(bg.pid(), SIGTERM);  // forwarded to init, then to the sleep
  EXPECT_EQ(bg.wait(), 128 + 15);
  EXPECT_TRUE(leftovers(42008).empty());
}

TEST(Vcontext, ConcurrentCreateOfOneXidHasOneWinner) {
  std::vector<std::unique_ptr<BgProcess>> procs;
  for (int i = 0; i < 6; ++i) {
    procs.push_back(std::make_unique<BgProcess>(
        std::vector<std::string>{vcontext(), "--create", "--xid", "42009", "--", "sleep", "3"},
        root_env().tmp + "/race-" + std::to_string(i)));
  }
  int winners = 0, refused = 0;
  for (int i = 0; i < 6; ++i) {
    int rc = procs[i]->wait();
    std::string out = slurp(root_env().tmp + "/race-" + std::to_string(i));
    if (rc == 0 && out.find("New security context is 42009") != std::string::npos) ++winners;
    if (rc == 4 && out.find("already exists") != std::string::npos) ++refused;
  }
  EXPECT_EQ(winners, 1);
  EXPECT_EQ(refused, 5);
  EXPECT_TRUE(leftovers(42009).empty());
}

TEST(Vcontext, DynamicXidsAreDistinctUnderConcurrency) {
  constexpr int kN = 12;
  std::vector<std::unique_ptr<BgProcess>> procs;
  for (int i = 0; i < kN; ++i) {
    procs.push_back(std::make_unique<BgProcess>(
        std::vector<std::string>{vcontext(), "--create", "--", "sleep", "1"},
        root_env().tmp + "/dyn-" + std::to_string(i)));
  }
  std::set<int> xids;
  for (int i = 0; i < kN; ++i) {
    ASSERT_EQ(procs[i]->wait(), 0);
    std::string out = slurp(root_env().tmp + "/dyn-" + std::to_string(i));
    auto pos = out.find("New security context is ");
    ASSERT_NE(pos, std::string::npos) << out;
    int x = std::stoi(out.substr(pos + 24));
    EXPECT_GE(x, 49152);
    EXPECT_LE(x, 65535);
    xids.insert(x);
  }
  EXPECT_EQ(xids.size(), static_cast<size_t>(kN));
}

TEST(Vcontext, BadXidsAreUsageErrors) {
  for (std::string bad : {"0", "1", "65536", "-5", "abc", "042", "4x", ""}) {
    auto r = run_cmd({vcontext(), "--create", "--xid", bad, "--", "true"});
    EXPECT_EQ(r.status, 2) << "xid `" << bad << "`: " << r.err;
    EXPECT_NE(r.err.find("xid"), std::string::npos) << r.err;
    if (!bad.empty()) {
      EXPECT_NE(r.err.find("`" + bad + "`"), std::string::npos) << r.err;
    }
  }
  auto r = run_cmd({vcontext(), "--migrate", "--xid", "42999", "--", "true"});
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_NE(r.err.find("42999"), std::string::npos) << r.err;
  r = run_cmd({vcontext(), "--create", "--namespaces", "mnt,bogus", "--", "true"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("bogus"), std::string::npos) << r.err;
  r = run_cmd({vcontext(), "--create", "--migrate", "--xid", "42998", "--", "true"});
  EXPECT_EQ(r.status, 2) << r.err;
  r = run_cmd({vcontext(), "--create"});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_TRUE(leftovers(42998).empty());
}

TEST(Vcontext, PersistentContextOutlivesItsProcessesUntilReleased) {
  // Without a pid namespace, a persistent context can be entered after its process ended.
  auto r = run_cmd({vcontext(), "--create", "--persistent", "--xid", "42010", "--namespaces",
                    "mnt,uts,ipc", "--", "hostname", "keep42010"});
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(std::filesystem::exists(state_file(42010)));
  r = run_cmd({vcontext(), "--list"});
  EXPECT_NE(r.out.find("42010"), std::string::npos);
  r = run_cmd({vcontext(), "--migrate", "--xid", "42010", "--", "hostname"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "keep42010\n");
  EXPECT_EQ(run_cmd({vcontext(), "--release", "--xid", "42010"}).status, 0);
  auto left = leftovers(42010);
  EXPECT_TRUE(left.empty()) << left[0];
}

TEST(Vcontext, CrashedCreatorLeavesNothingTheNextCommandDoesNotClean) {
  // A creator killed mid-start leaves at most an entry whose cgroup is empty; the next
  // reader reaps it, and the xid can be created again.
  vs::shim::ContextTable table(shim_config());
  ASSERT_TRUE(table.prepare());
  vs::shim::Xid x(42011);
  ASSERT_EQ(::mkdir(table.entry_dir(x).c_str(), 0700), 0);
  auto cg = vs::shim::ContextCgroup::create(table.layout(), table.config().cgroup, x);
  ASSERT_TRUE(cg) << cg.error().message();
  auto r = run_cmd({vcontext(), "--create", "--xid", "42011", "--", "true"});
  EXPECT_EQ(r.status, 0) << r.err;
  auto left = leftovers(42011);
  EXPECT_TRUE(left.empty()) << left[0];
}


TEST(Vcontext, UserNamespaceMapsRootToTheContextsIdBlock) {
  auto r = run_cmd({vcontext(), "--create", "--xid", "42012", "--namespaces",
                    "mnt,pid,uts,ipc,user", "--", "sh", "-c", "id -u; cat /proc/self/uid_map"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::istringstream in(r.out);
  std::string uid, inside, outside, count;
  in >> uid >> inside >> outside >> count;
  EXPECT_EQ(uid, "0");  // root inside...
  EXPECT_EQ(inside, "0");
  EXPECT_EQ(outside, std::to_string(42012UL << 16));  // ...an unprivileged id block outside
  EXPECT_EQ(count, "65536");
  EXPECT_TRUE(leftovers(42012).empty());
}

TEST(Vcontext, NetNamespaceHasOnlyLoopback) {
  auto r = run_cmd({vcontext(), "--create", "--xid", "42013", "--namespaces",
                    "mnt,pid,uts,ipc,net", "--", "sh", "-c",
                    "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "lo\n");
}

}  // namespace
}  // namespace vs::test

namespace vs::test {
namespace {

double uptime_of(const std::string& text) { return std::strtod(text.c_str(), nullptr); }

TEST(Vcontext, TimeNamespaceStartsUptimeAtCreationForMembersAndEntrants) {
  auto host = run_cmd({"cat", "/proc/uptime"});
  ASSERT_EQ(host.status, 0);
  auto r = run_cmd({vcontext(), "--create", "--silent", "--xid", "42014", "--persistent",
                    "--namespaces", "mnt,uts,ipc,time", "--", "cat", "/proc/uptime"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_LT(uptime_of(r.out), 5.0) << r.out;
  EXPECT_LT(uptime_of(r.out), uptime_of(host.out) - 1.0) << r.out << " vs host " << host.out;
  // A later entrant joins the same clocks.
  auto e = run_cmd({vcontext(), "--migrate", "--xid", "42014", "--", "cat", "/proc/uptime"});
  EXPECT_EQ(e.status, 0) << e.err;
  EXPECT_LT(uptime_of(e.out), 10.0) << e.out;
  auto get = run_cmd({tool_path("vattribute"), "--xid", "42014", "--get"});
  EXPECT_NE(get.out.find("virt_uptime"), std::string::npos) << get.out;
  EXPECT_EQ(run_cmd({vcontext(), "--release", "--xid", "42014"}).status, 0);
}

}  // namespace
}  // namespace vs::test
