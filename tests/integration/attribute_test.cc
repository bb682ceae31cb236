// vattribute and the confinement of sealed contexts: capability bounds, flags, the classic
// chain `vcontext --create -- vattribute --set -- vcontext --migrate-self --endsetup -- CMD`,
// and later entrants; and vattribute's calls at the API (kernel-shim/attributes.h). Each
// test uses its own static xid (411xx) and leaves no context behind.
#include <gtest/gtest.h>
#include <linux/capability.h>

#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "kernel-shim/attributes.h"
#include "kernel-shim/caps.h"
#include "tests/support/root_env.h"
#include "tests/support/run_cmd.h"
#include "tests/support/sleeper_context.h"

namespace vs::test {
namespace {

using vs::shim::CapMask;

// Persistent contexts here have no pid namespace: one ends with its first process, and a
// context without a process could then take no entrant.
constexpr const char* kNoPid = "mnt,uts,ipc,cgroup";
constexpr const char* kShowCaps = "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb):' /proc/self/status";

CapMask bit(int cap) { return CapMask{1} << cap; }

// "CapBnd:\t000000a80425fb\n..." -> {"CapBnd": mask, ...}
std::map<std::string, CapMask> parse_caps(const std::string& text) {
  std::map<std::string, CapMask> out;
  std::istringstream in(text);
  std::string key, hex;
  while (in >> key >> hex) {
    if (key.size() > 1 && key.back() == ':') key.pop_back();
    out[key] = std::stoull(hex, nullptr, 16);
  }
  return out;
}

CmdResult tool(const std::string& name, std::vector<std::string> args) {
  args.insert(args.begin(), tool_path(name));
  return run_cmd(args);
}

// Releases a persistent context at scope exit (kills what is left in it first).
struct Release {
  std::string xid;
  ~Release() {
    tool("vkill", {"--xid", xid, "-s", "KILL"});
    tool("vcontext", {"--release", "--xid", xid});
  }
};

TEST(Confinement, EndsetupHoldsTheCommandToTheGuestBoundingSet) {
  auto r = tool("vcontext", {"--create", "--silent", "--xid", "41101", "--endsetup", "--", "sh",
                             "-c", kShowCaps});
  ASSERT_EQ(r.status, 0) << r.err;
  auto caps = parse_caps(r.out);
  ASSERT_EQ(caps.size(), 5u) << r.out;
  EXPECT_EQ(caps["CapBnd"], vs::shim::default_guest_bcaps());
  EXPECT_EQ(caps["CapEff"], vs::shim::default_guest_bcaps());
  EXPECT_EQ(caps["CapPrm"], vs::shim::default_guest_bcaps());
  EXPECT_EQ(caps["CapInh"], 0u);
  EXPECT_EQ(caps["CapAmb"], 0u);
  // The defaults lack what a jail must not have.
  for (int cap : {CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_NET_RAW, CAP_MKNOD, CAP_SYS_MODULE,
                  CAP_SYS_RAWIO, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, CAP_SYS_TIME}) {
    EXPECT_EQ(caps["CapBnd"] & bit(cap), 0u) << vs::shim::cap_name(cap);
  }
}

TEST(Confinement, SetupStageKeepsTheAdministratorsCapabilities) {
  auto r = tool("vcontext", {"--create", "--silent", "--xid", "41102", "--", "sh", "-c", kShowCaps});
  ASSERT_EQ(r.status, 0) << r.err;
  // Whatever the administrator's own bounding set is (a test harness may have narrowed it).
  auto mine = parse_caps(run_cmd({"/bin/sh", "-c", kShowCaps}).out);
  EXPECT_EQ(parse_caps(r.out)["CapBnd"], mine["CapBnd"]);
  EXPECT_NE(mine["CapBnd"] & bit(CAP_SYS_ADMIN), 0u);
}

TEST(Confinement, ASealedGuestCannotMountWhileTheSetupChainCan) {
  const std::string try_mount = "mount -t tmpfs vstest /mnt 2>/dev/null && echo MOUNTED";
  auto setup = tool("vcontext", {"--create", "--silent", "--xid", "41103", "--", "sh", "-c",
                                 try_mount});
  EXPECT_NE(setup.out.find("MOUNTED"), std::string::npos) << "control: " << setup.err;
  auto sealed = tool("vcontext", {"--create", "--silent", "--xid", "41103", "--endsetup", "--",
                                  "sh", "-c", try_mount});
  EXPECT_EQ(sealed.out.find("MOUNTED"), std::string::npos);
}

TEST(Confinement, ClassicChainAppliesTheRecordedBoundsAtTheSeal) {
  auto r = tool("vcontext",
                {"--create", "--silent", "--xid", "41104", "--", tool_path("vattribute"), "--set",
                 "--bcap", "~CAP_KILL,NET_ADMIN", "--", tool_path("vcontext"), "--migrate-self",
                 "--endsetup", "--", "sh", "-c",
                 std::string(kShowCaps) + "; " + tool_path("vattribute") + " --rundir " +
                     root_env().rundir + " --cgroup-parent " + root_env().cgroup_parent +
                     " --set --bcap SYS_ADMIN; echo rc=$?"});
  ASSERT_EQ(r.status, 0) << r.err;
  CapMask want = (vs::shim::default_guest_bcaps() & ~bit(CAP_KILL)) | bit(CAP_NET_ADMIN);
  EXPECT_EQ(parse_caps(r.out)["CapBnd"], want) << r.out;
  // From inside a sealed context nothing can be changed: the table is out of reach (4). The
  // sealed command gets a clean environment: the test names its run dir and cgroup parent.
  EXPECT_NE(r.out.find("rc=4"), std::string::npos) << r.out << r.err;
}

TEST(Confinement, LaterEntrantsGetTheContextsBoundsAndTheHostMayChangeThem) {
  Release rel{"41105"};
  auto made = tool("vcontext", {"--create", "--silent", "--xid", "41105", "--persistent",
                                "--namespaces", kNoPid, "--endsetup", "--", "true"});
  ASSERT_EQ(made.status, 0) << made.err;
  auto entrant = tool("vcontext", {"--migrate", "--xid", "41105", "--", "sh", "-c", kShowCaps});
  ASSERT_EQ(entrant.status, 0) << entrant.err;
  EXPECT_EQ(parse_caps(entrant.out)["CapBnd"], vs::shim::default_guest_bcaps());
  EXPECT_EQ(parse_caps(entrant.out)["CapInh"], 0u);

  auto set = tool("vattribute", {"--xid", "41105", "--set", "--bcap", "!chown", "--ccap",
                                 "set_rlimit"});
  ASSERT_EQ(set.status, 0) << set.err;
  entrant = tool("vcontext", {"--migrate", "--xid", "41105", "--", "sh", "-c", kShowCaps});
  ASSERT_EQ(entrant.status, 0) << entrant.err;
  // set_rlimit adds SYS_RESOURCE, if the administrator has it to give (a bounding set
  // never grows).
  CapMask mine = parse_caps(run_cmd({"/bin/sh", "-c", kShowCaps}).out)["CapBnd"];
  EXPECT_EQ(parse_caps(entrant.out)["CapBnd"],
            ((vs::shim::default_guest_bcaps() & ~bit(CAP_CHOWN)) | bit(CAP_SYS_RESOURCE)) & mine);

  auto get = tool("vattribute", {"--xid", "41105", "--get"});
  ASSERT_EQ(get.status, 0) << get.err;
  EXPECT_NE(get.out.find("\nbcaps " +
                         vs::shim::format_caps(vs::shim::default_guest_bcaps() & ~bit(CAP_CHOWN)) +
                         "\n"),
            std::string::npos)
      << get.out;
  EXPECT_NE(get.out.find("\nccaps set_rlimit\n"), std::string::npos) << get.out;
  EXPECT_NE(get.out.find("\nstage running\n"), std::string::npos) << get.out;
}

TEST(Confinement, SealedContextsRunUnderTheSeccompProfileWithPerContextChanges) {
  Release rel{"41109"};
  ASSERT_EQ(tool("vcontext", {"--create", "--silent", "--xid", "41109", "--persistent",
                              "--namespaces", kNoPid, "--endsetup", "--", "true"})
                .status,
            0);
  const std::string probe =
      "unshare -U true 2>/dev/null && echo USERNS; uname >/dev/null 2>&1 && echo UNAME";
  auto r = tool("vcontext", {"--migrate", "--xid", "41109", "--", "sh", "-c", probe});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "UNAME\n");  // no new user namespace; ordinary calls work
  ASSERT_EQ(tool("vattribute", {"--xid", "41109", "--set", "--seccomp", "-uname"}).status, 0);
  r = tool("vcontext", {"--migrate", "--xid", "41109", "--", "sh", "-c", probe});
  EXPECT_EQ(r.out, "");
  auto get = tool("vattribute", {"--xid", "41109", "--get"});
  EXPECT_NE(get.out.find("\nseccomp default -uname\n"), std::string::npos) << get.out;
  ASSERT_EQ(tool("vattribute", {"--xid", "41109", "--set", "--seccomp", "none"}).status, 0);
  r = tool("vcontext", {"--migrate", "--xid", "41109", "--", "sh", "-c", probe});
  EXPECT_EQ(r.out, "USERNS\nUNAME\n");  // control: without the filter both work
  auto bad = tool("vattribute", {"--xid", "41109", "--set", "--seccomp", "fooo"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("`fooo`"), std::string::npos) << bad.err;
}

TEST(Confinement, EntrantsGetTheContextsRlimits) {
  Release rel{"41110"};
  ASSERT_EQ(tool("vcontext", {"--create", "--silent", "--xid", "41110", "--persistent",
                              "--namespaces", kNoPid, "--endsetup", "--", "true"})
                .status,
            0);
  auto set = tool("vlimit", {"--xid", "41110", "--nofile", "100"});
  ASSERT_EQ(set.status, 0) << set.err;
  auto r = tool("vcontext", {"--migrate", "--xid", "41110", "--", "sh", "-c", "ulimit -n; ulimit -Hn"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "100\n100\n");
  // Control: the host's own limit is not 100.
  EXPECT_NE(run_cmd({"/bin/sh", "-c", "ulimit -n"}).out, "100\n");
}

TEST(Confinement, PrivateContextRefusesEntrants) {
  Release rel{"41106"};
  ASSERT_EQ(tool("vcontext", {"--create", "--silent", "--xid", "41106", "--persistent",
                              "--namespaces", kNoPid, "--",
                              "true"})
                .status,
            0);
  ASSERT_EQ(tool("vcontext", {"--migrate", "--xid", "41106", "--", "true"}).status, 0);
  auto set = tool("vattribute", {"--xid", "41106", "--set", "--flag", "private"});
  ASSERT_EQ(set.status, 0) << set.err;
  auto r = tool("vcontext", {"--migrate", "--xid", "41106", "--", "true"});
  EXPECT_EQ(r.status, 4);
  EXPECT_NE(r.err.find("private"), std::string::npos) << r.err;
  ASSERT_EQ(tool("vattribute", {"--xid", "41106", "--set", "--flag", "~private"}).status, 0);
  EXPECT_EQ(tool("vcontext", {"--migrate", "--xid", "41106", "--", "true"}).status, 0);
}

TEST(Confinement, ClearingPersistentLetsTheContextBeReaped) {
  Release rel{"41107"};
  ASSERT_EQ(tool("vcontext", {"--create", "--silent", "--xid", "41107", "--persistent", "--",
                              "true"})
                .status,
            0);
  ASSERT_NE(("\n" + tool("vcontext", {"--list"}).out).find("\n41107\n"), std::string::npos);
  ASSERT_EQ(tool("vattribute", {"--xid", "41107", "--set", "--flag", "~persistent"}).status, 0);
  EXPECT_EQ(("\n" + tool("vcontext", {"--list"}).out).find("\n41107\n"), std::string::npos);
}

TEST(Confinement, BadWordsAreUsageErrorsNamingTheWord) {
  Release rel{"41108"};
  ASSERT_EQ(tool("vcontext", {"--create", "--silent", "--xid", "41108", "--persistent", "--",
                              "true"})
                .status,
            0);
  struct Case {
    std::vector<std::string> args;
    std::string word;
  };
  for (const auto& c : std::vector<Case>{
           {{"--bcap", "CAP_FLY"}, "CAP_FLY"},
           {{"--bcap", "^99"}, "^99"},
           {{"--flag", "virt_mem"}, "lxcfs"},
           {{"--flag", "nosuchflag"}, "nosuchflag"},
           {{"--flag", "hide_netif"}, "net namespace"},  // the context has no net ns
           {{"--ccap", "syslog"}, "not namespaced"},
           {{"--ccap", "frobnicate"}, "frobnicate"},
       }) {
    std::vector<std::string> args = {"--xid", "41108", "--set"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto r = tool("vattribute", args);
    EXPECT_EQ(r.status, 2) << c.args[1] << ": " << r.err;
    EXPECT_NE(r.err.find(c.word), std::string::npos) << r.err;
  }
  // Nothing was recorded by the refused calls.
  auto get = tool("vattribute", {"--xid", "41108", "--get"});
  EXPECT_NE(get.out.find("\nbcaps " + vs::shim::format_caps(vs::shim::default_guest_bcaps()) +
                         "\n"),
            std::string::npos)
      << get.out;
  EXPECT_EQ(tool("vattribute", {"--xid", "41199", "--get"}).status, 3);
  EXPECT_EQ(tool("vattribute", {"--xid", "1", "--get"}).status, 2);
  EXPECT_EQ(tool("vattribute", {"--xid", "41108", "--get", "--bcap", "KILL"}).status, 2);
  auto state_setup = tool("vattribute", {"--xid", "41108", "--set", "--flag", "state_setup"});
  EXPECT_EQ(state_setup.status, 4) << state_setup.err;
}

TEST(Attributes, ChangeRecordsAndReadShowsThem) {
  shim::ContextTable table(shim_config());
  ASSERT_TRUE(table.prepare());
  SleeperContext ctx(table, shim::Xid(41121));
  ASSERT_TRUE(ctx.running());
  auto before = shim::read_attributes(table, shim::Xid(41121));
  ASSERT_TRUE(before) << before.error().message();
  EXPECT_EQ(before->xid, shim::Xid(41121));
  EXPECT_EQ(before->stage, shim::ContextStage::kSetup);
  EXPECT_EQ(before->bcaps, vs::shim::format_caps(vs::shim::default_guest_bcaps()));
  EXPECT_EQ(before->seccomp, "default");
  EXPECT_EQ(("," + before->flags + ",").find(",private,"), std::string::npos) << before->flags;

  shim::AttributeChange change;
  change.bcaps = {"!chown"};
  change.ccaps = {"set_rlimit"};
  change.flags = {"private"};
  change.seccomp = {"-uname"};
  auto r = shim::change_attributes(table, shim::Xid(41121), change);
  ASSERT_TRUE(r) << r.error().message();
  auto after = shim::read_attributes(table, shim::Xid(41121));
  ASSERT_TRUE(after) << after.error().message();
  EXPECT_EQ(after->bcaps,
            vs::shim::format_caps(vs::shim::default_guest_bcaps() & ~bit(CAP_CHOWN)));
  EXPECT_EQ(after->ccaps, "set_rlimit");
  EXPECT_NE(("," + after->flags + ",").find(",private,"), std::string::npos) << after->flags;
  EXPECT_EQ(after->seccomp, "default -uname");

  // --secure: back to the defaults (flags stay).
  shim::AttributeChange secure;
  secure.secure = true;
  ASSERT_TRUE(shim::change_attributes(table, shim::Xid(41121), secure));
  auto reset = shim::read_attributes(table, shim::Xid(41121));
  ASSERT_TRUE(reset) << reset.error().message();
  EXPECT_EQ(reset->bcaps, before->bcaps);
  EXPECT_EQ(reset->ccaps, "");
  EXPECT_EQ(reset->seccomp, "default");
}

TEST(Attributes, ABadWordChangesNothingAndNoContextIsNotFound) {
  shim::ContextTable table(shim_config());
  ASSERT_TRUE(table.prepare());
  SleeperContext ctx(table, shim::Xid(41122));
  ASSERT_TRUE(ctx.running());
  const std::string state_file = table.entry_dir(shim::Xid(41122)) + "/state";
  const std::string before = run_cmd({"cat", state_file}).out;
  ASSERT_FALSE(before.empty());
  shim::AttributeChange change;
  change.bcaps = {"!chown"};  // good, but the flag after it is not: nothing is recorded
  change.flags = {"nosuchflag"};
  auto r = shim::change_attributes(table, shim::Xid(41122), change);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kUsage) << r.error().message();
  EXPECT_NE(r.error().message().find("nosuchflag"), std::string::npos) << r.error().message();
  EXPECT_EQ(run_cmd({"cat", state_file}).out, before);

  auto none = shim::read_attributes(table, shim::Xid(41129));
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().kind, ErrorKind::kNotFound) << none.error().message();
  auto set = shim::change_attributes(table, shim::Xid(41129), change);
  ASSERT_FALSE(set);
  EXPECT_EQ(set.error().kind, ErrorKind::kNotFound) << set.error().message();
}

// A state file that does not parse (context_state.h) is an error naming the file and the
// line, for the API and the tools alike; nothing is changed, nothing crashes.
TEST(Attributes, AMalformedStateFileIsAnErrorNamingIt) {
  shim::ContextTable table(shim_config());
  ASSERT_TRUE(table.prepare());
  SleeperContext ctx(table, shim::Xid(41123));
  ASSERT_TRUE(ctx.running());
  const std::string state_file = table.entry_dir(shim::Xid(41123)) + "/state";
  const std::string good = run_cmd({"cat", state_file}).out;
  ASSERT_NE(good.find("\nattr.seccomp=default\n"), std::string::npos) << good;
  const std::string bad = good + "attr.bcaps=CAP_KILL,junk\n";
  ASSERT_EQ(run_cmd({"sh", "-c", "printf %s \"$1\" > \"$2\"", "sh", bad, state_file}).status, 0);

  auto view = shim::read_attributes(table, shim::Xid(41123));
  ASSERT_FALSE(view);
  const std::string m = view.error().message();
  EXPECT_NE(m.find(state_file + ":"), std::string::npos) << m;
  EXPECT_NE(m.find("attr.bcaps"), std::string::npos) << m;
  EXPECT_NE(m.find("junk"), std::string::npos) << m;

  for (const auto& args : std::vector<std::vector<std::string>>{
           {"vattribute", "--xid", "41123", "--get"},
           {"vattribute", "--xid", "41123", "--set", "--flag", "private"},
           {"chbind", "--xid", "41123", "--show"}}) {
    auto r = tool(args[0], std::vector<std::string>(args.begin() + 1, args.end()));
    EXPECT_EQ(r.status, 1) << args[0] << " " << args[1] << ": " << r.err;
    EXPECT_NE(r.err.find(state_file + ":"), std::string::npos) << r.err;
  }
  EXPECT_EQ(run_cmd({"cat", state_file}).out, bad) << "a failed change rewrote the file";
  ASSERT_EQ(run_cmd({"sh", "-c", "printf %s \"$1\" > \"$2\"", "sh", good, state_file}).status, 0);
}

}  // namespace
}  // namespace vs::test
