// vlimit and vsched end to end (root): rlimits recorded in the context's state, cgroup
// limits written and shown, bad input, unknown contexts, the host, a context's own limits
// before it is sealed. Each test uses its own xid (447xx) and releases every context it made.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernel-shim/cgroup.h"
#include "kernel-shim/limits.h"
#include "tests/support/cgroup_env.h"
#include "tests/support/files.h"
#include "tests/support/root_env.h"
#include "tests/support/run_cmd.h"

namespace vs::shim {
namespace {

using test::exists;
using test::slurp;

std::string tool(const char* name) { return test::tool_path(name); }
std::string state_file(int xid) {
  return test::root_env().rundir + "/" + std::to_string(xid) + "/state";
}

// A persistent context made with vcontext (mnt, uts, ipc: it can be entered after its first
// process ended), released at scope exit.
class PersistentContext {
 public:
  explicit PersistentContext(int xid, bool sealed = false) : xid_(std::to_string(xid)) {
    std::vector<std::string> argv{tool("vcontext"), "--create", "--persistent", "--silent",
                                  "--xid",          xid_,       "--namespaces", "mnt,uts,ipc"};
    if (sealed) argv.push_back("--endsetup");
    argv.insert(argv.end(), {"--", "true"});
    auto r = test::run_cmd(argv);
    ok_ = r.status == 0;
    EXPECT_EQ(r.status, 0) << r.err;
  }
  ~PersistentContext() { release(); }
  PersistentContext(const PersistentContext&) = delete;
  PersistentContext& operator=(const PersistentContext&) = delete;
  [[nodiscard]] bool ok() const { return ok_; }
  void release() {
    if (!ok_) return;
    ok_ = false;
    auto r = test::run_cmd({tool("vcontext"), "--release", "--xid", xid_});
    EXPECT_EQ(r.status, 0) << r.err;
  }

 private:
  std::string xid_;
  bool ok_ = false;
};

// The limit directories of a context made by the tools.
LimitDirs dirs_of(int xid) {
  auto cg = ContextCgroup::open(layout(), spec(), Xid(static_cast<uint16_t>(xid)));
  if (!cg) {
    ADD_FAILURE() << cg.error().message();
    return {};
  }
  return LimitDirs::resolve(layout(), *cg);
}

test::CmdResult vlimit(std::vector<std::string> args) {
  args.insert(args.begin(), tool("vlimit"));
  return test::run_cmd(args);
}
test::CmdResult vsched(std::vector<std::string> args) {
  args.insert(args.begin(), tool("vsched"));
  return test::run_cmd(args);
}

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(LimitTools, VlimitRecordsRlimitsWritesCgroupLimitsAndShowsThem) {
  PersistentContext ctx(44710);
  ASSERT_TRUE(ctx.ok());
  auto r = vlimit({"--xid", "44710", "--memory", "32M", "--nofile", "100"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(has_line(slurp(state_file(44710)), "attr.rlimit.nofile=100:100"))
      << slurp(state_file(44710));
  auto dirs = dirs_of(44710);
  ASSERT_TRUE(dirs.memory);
  EXPECT_EQ(slurp(knob(*dirs.memory, "memory.limit_in_bytes", "memory.max")), "33554432\n");

  auto show = vlimit({"--xid", "44710", "--show"});
  ASSERT_EQ(show.status, 0) << show.err;
  EXPECT_TRUE(has_line(show.out, "rlimit.nofile 100:100")) << show.out;
  EXPECT_TRUE(has_line(show.out, "memory.limit 33554432")) << show.out;
  EXPECT_NE(show.out.find("\nmemory.current "), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("\npids.current "), std::string::npos) << show.out;
  auto json = vlimit({"--xid", "44710", "--show", "--json"});
  ASSERT_EQ(json.status, 0) << json.err;
  EXPECT_EQ(json.out.substr(0, 2), "{\"");
  EXPECT_NE(json.out.find("\"rlimit.nofile\":\"100:100\""), std::string::npos) << json.out;
  EXPECT_NE(json.out.find("\"memory.limit\":33554432"), std::string::npos) << json.out;
  auto all = vlimit({"--xid", "44710", "-a"});
  ASSERT_EQ(all.status, 0) << all.err;
  EXPECT_TRUE(has_line(all.out, "rlimit.core -")) << all.out;

  // -S and -H change one half; a soft limit above the hard one changes nothing.
  r = vlimit({"--xid", "44710", "-S", "--nofile", "50"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(has_line(slurp(state_file(44710)), "attr.rlimit.nofile=50:100"));
  r = vlimit({"--xid", "44710", "-H", "--nofile", "40"});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("--nofile"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("above the hard limit 40"), std::string::npos) << r.err;
  EXPECT_TRUE(has_line(slurp(state_file(44710)), "attr.rlimit.nofile=50:100"));

  ctx.release();
  EXPECT_FALSE(exists(test::root_env().rundir + "/44710"));
  EXPECT_FALSE(exists(layout().v2_root + "/" + spec().parent + "/44710"));
}

TEST(LimitTools, BadNamesAndValuesAreExit2AndChangeNothing) {
  PersistentContext ctx(44711);
  ASSERT_TRUE(ctx.ok());
  struct Case {
    std::vector<std::string> args;
    std::vector<std::string> in_err;
  };
  const Case cases[] = {
      {{"--nofil", "5"}, {"--nofil", "--nofile", "--memory"}},
      {{"--core", "0", "--nofile", "abc"}, {"--nofile", "`abc`", "inf"}},
      {{"--as", "64MB"}, {"--as", "64MB", "64K"}},
      {{"--nice", "41"}, {"--nice", "0..40"}},
      {{"--memory", "12Q"}, {"--memory", "12Q", "max"}},
      {{"--pids", "-1"}, {"--pids"}},
      {{"--cpuset-cpus", "3-1"}, {"cpuset cpus", "3-1"}},
      {{"--memory", "64M", "--memsw", "32M"}, {"memsw", "below the memory limit"}},
  };
  const std::string before = slurp(state_file(44711));
  auto dirs = dirs_of(44711);
  ASSERT_TRUE(dirs.memory);
  const std::string mem_file = knob(*dirs.memory, "memory.limit_in_bytes", "memory.max");
  const std::string mem_before = slurp(mem_file);
  for (const auto& c : cases) {
    std::vector<std::string> args{"--xid", "44711"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto r = vlimit(args);
    EXPECT_EQ(r.status, 2) << c.args[0] << ": " << r.err;
    for (const auto& word : c.in_err) {
      EXPECT_NE(r.err.find(word), std::string::npos) << "`" << word << "` not in: " << r.err;
    }
    EXPECT_EQ(r.err.find("Usage:"), std::string::npos) << "printed the whole help";
  }
  EXPECT_EQ(slurp(state_file(44711)), before) << "a refused command changed the state";
  EXPECT_EQ(slurp(mem_file), mem_before);
}

TEST(LimitTools, UnknownContextIsExit3) {
  for (const auto& r :
       {vlimit({"--xid", "44719", "--nofile", "5"}), vlimit({"--xid", "44719", "--show"}),
        vsched({"--xid", "44719", "--show"})}) {
    EXPECT_EQ(r.status, 3) << r.err;
    EXPECT_NE(r.err.find("44719"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(exists(test::root_env().rundir + "/44719"));
}

TEST(LimitTools, OnTheHostWithoutXidTheCommandGetsTheLimits) {
  auto r = vlimit({"--nofile", "77", "--", "sh", "-c", "ulimit -Sn; ulimit -Hn"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "77\n77\n");
  struct rlimit mine {};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &mine), 0);
  r = vlimit({"-S", "--nofile", "33", "--", "sh", "-c", "ulimit -Sn; ulimit -Hn"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "33\n" + format_rlimit_value(mine.rlim_max) + "\n");
  // The host has no context cgroup.
  r = vlimit({"--memory", "32M", "--", "true"});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find("--xid"), std::string::npos) << r.err;
  r = vlimit({"--nofile", "5", "--", "/nonexistent/cmd"});
  EXPECT_EQ(r.status, 127) << r.err;
}

TEST(LimitTools, InsideAContextOnlyItsOwnLimitsAndOnlyBeforeItIsSealed) {
  PersistentContext open_ctx(44712);
  PersistentContext sealed_ctx(44713, /*sealed=*/true);
  ASSERT_TRUE(open_ctx.ok());
  ASSERT_TRUE(sealed_ctx.ok());
  auto inside = [](const char* xid, std::vector<std::string> args) {
    // A sealed command's environment is clean: the run dir and cgroup parent are named.
    std::vector<std::string> argv{tool("vcontext"), "--migrate", "--xid", xid, "--",
                                  tool("vlimit"), "--rundir", test::root_env().rundir,
                                  "--cgroup-parent", test::root_env().cgroup_parent};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::run_cmd(argv);
  };
  // Unsealed: its own context, found from the caller's cgroup.
  auto r = inside("44712", {"--nofile", "55"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(has_line(slurp(state_file(44712)), "attr.rlimit.nofile=55:55"));
  // Another context: refused without telling whether it exists.
  r = inside("44712", {"--xid", "44713", "--show"});
  EXPECT_EQ(r.status, 4) << r.err;
  EXPECT_NE(r.err.find("only the host"), std::string::npos) << r.err;
  r = inside("44712", {"--xid", "44718", "--show"});
  EXPECT_EQ(r.status, 4) << r.err;
  // Sealed: no change from inside (the context table is not even visible there), the host
  // still can.
  const std::string before = slurp(state_file(44713));
  r = inside("44713", {"--nofile", "55"});
  EXPECT_TRUE(r.status == 3 || r.status == 4) << r.status << " " << r.err;
  EXPECT_EQ(slurp(state_file(44713)), before);
  r = vlimit({"--xid", "44713", "--nofile", "66"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(has_line(slurp(state_file(44713)), "attr.rlimit.nofile=66:66"));
}

TEST(VschedTool, SetsSharesWeightAndQuotaThroughTheLimitsInterface) {
  PersistentContext ctx(44714);
  ASSERT_TRUE(ctx.ok());
  auto dirs = dirs_of(44714);
  ASSERT_TRUE(dirs.cpu);
  const bool v1 = dirs.cpu->version == CgroupVersion::kV1;
  auto r = vsched({"--xid", "44714", "--quota", "20%", "--cpu-shares", "512"});
  ASSERT_EQ(r.status, 0) << r.err;
  if (v1) {
    EXPECT_EQ(slurp(dirs.cpu->path + "/cpu.cfs_quota_us"), "20000\n");
    EXPECT_EQ(slurp(dirs.cpu->path + "/cpu.shares"), "512\n");
  } else {
    EXPECT_EQ(slurp(dirs.cpu->path + "/cpu.max"), "20000 100000\n");
    EXPECT_EQ(slurp(dirs.cpu->path + "/cpu.weight"), "50\n");
  }
  auto show = vsched({"--xid", "44714", "--show"});
  ASSERT_EQ(show.status, 0) << show.err;
  EXPECT_TRUE(has_line(show.out, "cpu.quota_us 20000")) << show.out;
  EXPECT_TRUE(has_line(show.out, "cpu.period_us 100000")) << show.out;
  EXPECT_TRUE(has_line(show.out, "cpu.shares 512")) << show.out;
  EXPECT_TRUE(has_line(show.out, "cpu.weight 50")) << show.out;
  EXPECT_NE(show.out.find("cpu.nr_throttled "), std::string::npos) << show.out;
  EXPECT_EQ(show.out.find("memory."), std::string::npos) << "vsched shows cpu only";

  // A weight is the same scale; a new period with a percentage; then no quota.
  r = vsched({"--xid", "44714", "--weight", "200", "--quota", "50%", "--period-us", "50000"});
  ASSERT_EQ(r.status, 0) << r.err;
  show = vsched({"--xid", "44714", "--show"});
  EXPECT_TRUE(has_line(show.out, "cpu.shares 2048")) << show.out;
  EXPECT_TRUE(has_line(show.out, "cpu.quota_us 25000")) << show.out;
  EXPECT_TRUE(has_line(show.out, "cpu.period_us 50000")) << show.out;
  r = vsched({"--xid", "44714", "--quota", "max"});
  ASSERT_EQ(r.status, 0) << r.err;
  if (v1) {
    EXPECT_EQ(slurp(dirs.cpu->path + "/cpu.cfs_quota_us"), "-1\n");
  }
  show = vsched({"--xid", "44714", "--show", "--json"});
  EXPECT_NE(show.out.find("\"cpu.quota_us\":\"max\""), std::string::npos) << show.out;

  for (const auto& bad :
       std::vector<std::vector<std::string>>{{"--quota", "0%"},
                                             {"--quota", "20%%"},
                                             {"--weight", "5", "--cpu-shares", "5"},
                                             {"--quota", "1%", "--period-us", "50000"},
                                             {"--cpu-shares", "1"},
                                             {"--period-us", "999"},
                                             {}}) {
    std::vector<std::string> args{"--xid", "44714"};
    args.insert(args.end(), bad.begin(), bad.end());
    auto b = vsched(args);
    EXPECT_EQ(b.status, 2) << (bad.empty() ? "(none)" : bad[0]) << ": " << b.err;
  }
  show = vsched({"--xid", "44714", "--show"});
  EXPECT_TRUE(has_line(show.out, "cpu.period_us 50000")) << "a refused command changed it";
}

}  // namespace
}  // namespace vs::shim
