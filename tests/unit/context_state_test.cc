// The state file of a context: round trip and strict parsing.
#include <gtest/gtest.h>
#include <sched.h>

#include "kernel-shim/context_table.h"

namespace vs::shim {
namespace {

TEST(ContextState, RoundTrip) {
  ContextState st;
  st.xid = Xid(4242);
  st.stage = ContextStage::kRunning;
  st.namespaces = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS;
  st.persistent = true;
  st.init_pid = 1234;
  st.init_start = 987654321;
  st.creator_pid = 1200;
  st.created = 1700000000;
  st.name = "web1";
  st.unix_scope = "landlock";
  st.ns_inodes["mnt"] = 4026532001;
  st.ns_inodes["uts"] = 4026532002;
  st.attrs["bcaps"] = "CHOWN,KILL";
  st.attrs["rlimit.nofile"] = "1024:4096";
  auto back = ContextState::parse(st.serialize(), "state");
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(back->xid, Xid(4242));
  EXPECT_EQ(back->stage, ContextStage::kRunning);
  EXPECT_EQ(back->namespaces, st.namespaces);
  EXPECT_TRUE(back->persistent);
  EXPECT_EQ(back->init_pid, 1234);
  EXPECT_EQ(back->init_start, 987654321u);
  EXPECT_EQ(back->creator_pid, 1200);
  EXPECT_EQ(back->created, 1700000000);
  EXPECT_EQ(back->name, "web1");
  EXPECT_EQ(back->unix_scope, "landlock");
  EXPECT_EQ(back->ns_inodes, st.ns_inodes);
  EXPECT_EQ(back->attrs, st.attrs);
}

TEST(ContextState, RejectsBadInput) {
  struct Case {
    const char* text;
    const char* why;
  };
  const Case cases[] = {
      {"", "no xid"},
      {"stage=setup\n", "no xid"},
      {"xid=42\nstage=bogus\n", "stage"},
      {"xid=42\npersistent=2\n", "persistent"},
      {"xid=042\n", "bad xid"},
      {"xid=42\ninit_pid=-1\n", "init_pid"},
      {"xid=42\nnoequals\n", "key=value"},
      {"xid=42\ncolour=blue\n", "unknown key"},
      {"xid=42\nnamespaces=mnt,foo\n", "namespaces"},
      {"xid=42\nns.foo=1\n", "unknown key"},
      {"xid=42\nunix_scope=apparmor\n", "unix_scope"},
  };
  for (const auto& c : cases) {
    auto r = ContextState::parse(c.text, "/run/x/state");
    ASSERT_FALSE(r) << c.text;
    EXPECT_NE(r.error().message().find(c.why), std::string::npos)
        << c.text << " -> " << r.error().message();
    EXPECT_NE(r.error().message().find("/run/x/state"), std::string::npos);
  }
}

TEST(ContextState, LineNumberInError) {
  auto r = ContextState::parse("xid=42\nstage=setup\nstage=nope\n", "f");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("f:3"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace vs::shim
