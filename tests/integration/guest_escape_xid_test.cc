// Escapes of issue 18, class 3 (the catalogue: guest_escape_fixture.h): a command meant for
// guest A, paused after it resolved A, landing in guest C that got A's xid; and its weak setup.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "tests/integration/guest_escape_fixture.h"
#include "tests/integration/vserver_cli.h"
#include "tests/support/files.h"
#include "tests/support/root_env.h"
#include "tests/support/run_cmd.h"
#include "tests/support/spawned.h"

namespace vs::test {
namespace {

namespace fs = std::filesystem;

// ==== 3. `vserver A exec` runs in another guest C ========================================

// A and C: dynamic contexts (no `context` key), so C, started after A stopped, gets A's xid
// (lowest free first).
class GuestEscapeXidReuse : public GuestEscapeBase, public ::testing::WithParamInterface<Kind> {
 protected:
  // Starts `args` of A stopped at the test hook; false (a failure) if it does not stop there.
  bool paused(Spawned& p, Pipe& err, const std::string& hook) {
    if (p.stopped_within(10000)) return true;
    const int status = p.wait(20000);
    ADD_FAILURE() << "the tool did not stop at VSERVER_TEST_STOP_AT=" << hook << " (exit status "
                  << status << "): the test hook is missing\n"
                  << err.drain(1000);
    return false;
  }
};

// exec paused after it resolved A; A stops, C starts on its xid; the exec goes on: it must
// not run in C, must fail naming A, and C is untouched.
TEST_P(GuestEscapeXidReuse, PausedExecDoesNotRunInTheNextGuest) {
  const Kind kind = GetParam();
  Guest a = guest("xa", kind), c = guest("xc", kind);
  ASSERT_TRUE(build(a));
  ASSERT_TRUE(build(c));
  auto r = vs(a, {"start"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string xid_a = xid(a);
  Pipe out, err;
  Spawned p(SpawnSpec{vs_argv(a, {"exec", "/bin/sh", "-c", "hostname > /tmp/xid-marker; hostname"}),
                      -1,
                      out.wr,
                      err.wr,
                      {"VSERVER_TEST_STOP_AT=exec-resolved"},
                      -1});
  out.close_write();
  err.close_write();
  if (!paused(p, err, "exec-resolved")) return;
  {
    // A fix may instead close the window with a lock the paused exec holds: then the stop
    // waits for it, the exec runs in A (which still ran when it was resolved), and C, started
    // afterwards, is out of its reach anyway.
    Pipe stop_err;
    Spawned stop(SpawnSpec{vs_argv(a, {"stop"}), -1, -1, stop_err.wr, {}, -1});
    stop_err.close_write();
    if (!wait_for([&] { return stop.exited(); }, 5000)) {
      std::printf("note: the stop of A waits for the paused exec\n");
      ::kill(p.pid(), SIGCONT);
    }
    ASSERT_EQ(stop.wait(30000), 0) << stop_err.drain(1000);
  }
  r = vs(c, {"start"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string xid_c = xid(c);
  const pid_t init_c = init_pid(c);
  SCOPED_TRACE("A had context " + xid_a + ", C got " + xid_c);
  ::kill(p.pid(), SIGCONT);
  const std::string errtext = err.drain();
  const std::string outtext = out.drain();
  const int status = p.wait(20000);
  if (contains(outtext, a.name)) {
    std::printf("note: the exec ran in A before A stopped (the stop waited for it)\n");
  } else {
    EXPECT_NE(status, 0) << "the exec ran although its guest had stopped: " << outtext;
    EXPECT_TRUE(contains(errtext, a.name)) << "the error must name the guest: " << errtext;
  }
  EXPECT_FALSE(contains(outtext, c.name)) << "the exec ran in C: " << outtext;
  EXPECT_FALSE(fs::exists(vdir(c) + "/tmp/xid-marker")) << "the exec wrote into C";
  EXPECT_EQ(vs(c, {"running"}).status, 0) << "C was stopped";
  EXPECT_EQ(init_pid(c), init_c) << "C's init changed";
}

// stop paused after it found A's context; A's init dies on its own, C starts on its xid; the
// stop goes on: C must survive untouched.
TEST_P(GuestEscapeXidReuse, PausedStopDoesNotKillTheNextGuest) {
  const Kind kind = GetParam();
  Guest a = guest("xa", kind), c = guest("xc", kind);
  ASSERT_TRUE(build(a));
  ASSERT_TRUE(build(c));
  auto r = vs(a, {"start"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string xid_a = xid(a);
  const pid_t init_a = init_pid(a);
  ASSERT_GT(init_a, 0);
  Pipe out, err;
  Spawned p(SpawnSpec{
      vs_argv(a, {"stop"}), -1, out.wr, err.wr, {"VSERVER_TEST_STOP_AT=stop-resolved"}, -1});
  out.close_write();
  err.close_write();
  if (!paused(p, err, "stop-resolved")) return;
  ASSERT_EQ(::kill(init_a, SIGKILL), 0);
  ASSERT_TRUE(wait_for([&] { return !fs::exists("/proc/" + std::to_string(init_a)); }, 5000));
  r = vs(c, {"start"});
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string xid_c = xid(c);
  const pid_t init_c = init_pid(c);
  SCOPED_TRACE("A had context " + xid_a + ", C got " + xid_c);
  ::kill(p.pid(), SIGCONT);
  const std::string errtext = err.drain();
  (void)p.wait(30000);
  SCOPED_TRACE("stop said: " + errtext);
  EXPECT_EQ(vs(c, {"running"}).status, 0) << "the stop of A killed C";
  EXPECT_EQ(init_pid(c), init_c) << "C's init changed";
  r = vs(c, {"exec", "hostname"});
  EXPECT_EQ(trim(r.out), c.name) << r.err;
}

INSTANTIATE_TEST_SUITE_P(GuestEscape, GuestEscapeXidReuse, kAllKinds,
                         [](const ::testing::TestParamInfo<Kind>& pi) {
                           return std::string(kind_name(pi.param));
                         });

// Class 3 with the xid resolved by hand, as the old code did (RUNDIR/guest-A.xid), and the
// command run later by xid (vcontext --migrate, vkill): it lands in C.
TEST_F(GuestEscapeWeak, ResolvedXidReachesTheNextGuest) {
  Guest a = guest("wxa", Kind::kDefault), c = guest("wxc", Kind::kDefault);
  ASSERT_TRUE(build(a));
  ASSERT_TRUE(build(c));
  ASSERT_EQ(vs(a, {"start"}).status, 0);
  const std::string x = trim(slurp(root_env().rundir + "/guest-" + a.name + ".xid"));
  ASSERT_FALSE(x.empty());
  ASSERT_EQ(vs(a, {"stop"}).status, 0);
  ASSERT_EQ(vs(c, {"start"}).status, 0);
  ASSERT_EQ(xid(c), x) << "C did not get A's xid: the window cannot be shown";
  auto r = run_cmd({tools_->path("vcontext"), "--migrate", "--xid", x, "--", "/bin/sh", "-c",
                    "hostname > /tmp/xid-marker; hostname"});
  EXPECT_EQ(trim(r.out), c.name) << "the command meant for A did not run in C: " << r.err;
  EXPECT_TRUE(fs::exists(vdir(c) + "/tmp/xid-marker"));
  // The stop meant for A: by xid, it kills C.
  r = run_cmd({tools_->path("vkill"), "--xid", x, "-s", "KILL"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(wait_for([&] { return vs(c, {"running"}).status != 0; }, 5000))
      << "the kill meant for A did not reach C";
}

}  // namespace
}  // namespace vs::test
