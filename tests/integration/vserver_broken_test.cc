// Issue 20 items 8 and 9, as root with busybox guests: one broken guest never breaks the
// others. A hand-edited duplicate context or address, or `vdir = "/etc"`, is refused at start
// naming both guests; `--list` shows it as broken and lists the rest; vserver-boot skips it
// and starts the others; a running guest whose `context` was edited is still found by its
// name; `vserver-boot stop` stops everything of its mark despite a dangling dependency.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <future>
#include <string>
#include <utility>
#include <vector>

#include "tests/integration/vserver_cli.h"
#include "tests/support/files.h"
#include "tests/support/root_env.h"
#include "tests/support/run_cmd.h"

namespace vs::test {
namespace {

bool fs_exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Top-level keys go before the first table of vserver.toml.
void prepend(const std::string& name, const std::string& keys) {
  write(confdir(name) + "/vserver.toml", keys + "\n" + slurp(confdir(name) + "/vserver.toml"));
}

// Replaces `from` by `to` (once) in the guest's vserver.toml.
void edit(const std::string& name, const std::string& from, const std::string& to) {
  std::string toml = slurp(confdir(name) + "/vserver.toml");
  size_t at = toml.find(from);
  ASSERT_NE(at, std::string::npos) << toml;
  toml.replace(at, from.size(), to);
  write(confdir(name) + "/vserver.toml", toml);
}

// Adds keys to the [init] table the build wrote.
void set_init(const std::string& name, const std::string& keys) {
  edit(name, "[init]\n", "[init]\n" + keys);
}

CmdResult boot(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {tool_path("vserver-boot")};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_cmd(argv, 90);
}

// The line of `name` in `vserver --list`.
std::string list_line(const std::string& out, const std::string& name) {
  size_t at = ("\n" + out).find("\n" + name + " ");
  if (at == std::string::npos) return "";
  return out.substr(at, out.find('\n', at) - at);
}

// Editing `context` of a running guest: still running for status, list and start, and
// stop stops the context it really has.
TEST(VserverBroken, ARunningGuestIsFoundByNameAfterItsContextWasEdited) {
  const std::string name = "brk-edit";
  build(name);
  prepend(name, "context = 41201");
  ASSERT_EQ(vserver({name, "start"}).status, 0);
  edit(name, "context = 41201", "context = 41202");
  auto r = vserver({name, "status"});
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(has(r.out, "is running: context 41201")) << r.out;
  r = vserver({name, "start"});
  EXPECT_EQ(r.status, 4) << r.err;
  EXPECT_TRUE(has(r.err, "already running (context 41201)")) << r.err;
  r = vserver({"--list"});
  EXPECT_TRUE(has(list_line(r.out, name), "running  41201")) << r.out;
  r = vserver({name, "stop"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(vserver({name, "running"}).status, 1);
  // Started again: its new context.
  ASSERT_EQ(vserver({name, "start"}).status, 0);
  EXPECT_TRUE(has(vserver({name, "status"}).out, "context 41202"));
  remove_guest(name);
}

// A duplicate static context: start refused naming both guests (exit 2), nothing started;
// --list shows both broken with the reason, lists the third guest, exits 1.
TEST(VserverBroken, DuplicateContextRefusedAtStartAndListedAsBroken) {
  build("brk-ctx-a");
  build("brk-ctx-b");
  build("brk-ctx-ok");
  prepend("brk-ctx-a", "context = 41211");
  ASSERT_EQ(vserver({"brk-ctx-a", "start"}).status, 0);
  prepend("brk-ctx-b", "context = 41211");
  auto r = vserver({"brk-ctx-b", "start"});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_TRUE(has(r.err,
                  "vserver.toml:1: key 'context': context 41211 of guest brk-ctx-b is "
                  "also the context of guest brk-ctx-a"))
      << r.err;
  EXPECT_EQ(vserver({"brk-ctx-b", "running"}).status, 1);
  r = vserver({"--list"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_TRUE(has(list_line(r.out, "brk-ctx-a"), "broken   41211")) << r.out;
  EXPECT_TRUE(has(list_line(r.out, "brk-ctx-b"), "broken   41211")) << r.out;
  EXPECT_TRUE(has(list_line(r.out, "brk-ctx-ok"), "stopped")) << r.out;
  EXPECT_TRUE(has(r.err, "vserver: brk-ctx-a is broken (and running): ")) << r.err;
  EXPECT_TRUE(has(r.err, "vserver: brk-ctx-b is broken: ")) << r.err;
  r = vserver({"--list", "--json"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(has(r.out, "\"name\": \"brk-ctx-a\", \"state\": \"broken\", \"context\": 41211"))
      << r.out;
  EXPECT_TRUE(has(r.out, "\"running\": true, \"problem\": \"")) << r.out;
  EXPECT_TRUE(has(r.out, "\"running\": false, \"problem\": null")) << r.out;
  // The running one still stops.
  EXPECT_EQ(vserver({"brk-ctx-a", "stop"}).status, 0);
  for (const char* g : {"brk-ctx-a", "brk-ctx-b", "brk-ctx-ok"}) remove_guest(g);
}

// A duplicate address and a vdir that is the host's /etc: refused at start (exit 2, both
// guests named), before anything runs; the other guests are unaffected.
TEST(VserverBroken, DuplicateAddressAndSystemVdirRefusedAtStart) {
  build("brk-ip-a");
  build("brk-ip-b");
  const std::string itf = "\n[[interfaces]]\naddress = \"192.0.2.77\"\nnodev = true\n";
  std::string a = slurp(confdir("brk-ip-a") + "/vserver.toml");
  write(confdir("brk-ip-a") + "/vserver.toml", a + itf);
  std::string b = slurp(confdir("brk-ip-b") + "/vserver.toml");
  write(confdir("brk-ip-b") + "/vserver.toml", b + itf);
  auto r = vserver({"brk-ip-b", "start"});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_TRUE(has(r.err,
                  "address 192.0.2.77 of guest brk-ip-b is also an address of guest "
                  "brk-ip-a"))
      << r.err;
  EXPECT_EQ(vserver({"brk-ip-b", "running"}).status, 1);

  build("brk-etc");
  prepend("brk-etc", "vdir = \"/etc\"");
  r = vserver({"brk-etc", "start"});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_TRUE(has(r.err, "key 'vdir': `/etc` of guest brk-etc is the host's /etc")) << r.err;
  EXPECT_EQ(vserver({"brk-etc", "running"}).status, 1);
  r = vserver({"--list"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(has(list_line(r.out, "brk-etc"), "broken")) << r.out;
  EXPECT_TRUE(has(list_line(r.out, "brk-ip-a"), "broken")) << r.out;
  for (const char* g : {"brk-ip-a", "brk-ip-b"}) remove_guest(g);
  // delete refuses to remove a tree that is the host's.
  r = vserver({"brk-etc", "delete", "--yes"});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_TRUE(has(r.err, "delete brk-etc: ")) << r.err;
  EXPECT_TRUE(has(slurp("/etc/passwd"), "root:"));
  // Only the configuration goes.
  run_cmd({"rm", "-rf", confdir("brk-etc")});
  // The unused tree its build made.
  run_cmd({"rm", "-rf", vdir("brk-etc")});
}

// vserver-boot: a broken guest of the mark is skipped with its reason, the others start,
// the exit code is 1; -v prints one line per guest.
TEST(VserverBroken, BootSkipsABrokenGuestAndStartsTheOthers) {
  for (const char* g : {"brk-boot-a", "brk-boot-b", "brk-boot-c"}) {
    build(g);
    set_init(g, "mark = \"brkboot\"\n");
  }
  prepend("brk-boot-b", "vdir = \"/etc\"");
  auto r = boot({"start", "--mark", "brkboot", "-v"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_TRUE(has(r.err, "vserver-boot: not starting brk-boot-b: ")) << r.err;
  EXPECT_TRUE(has(r.out, "vserver-boot: start brk-boot-a: started")) << r.out;
  EXPECT_TRUE(has(r.out, "vserver-boot: start brk-boot-c: started")) << r.out;
  EXPECT_EQ(vserver({"brk-boot-a", "running"}).status, 0);
  EXPECT_EQ(vserver({"brk-boot-b", "running"}).status, 1);
  EXPECT_EQ(vserver({"brk-boot-c", "running"}).status, 0);
  r = boot({"stop", "--mark", "brkboot", "-v"});
  EXPECT_EQ(r.status, 1) << r.err;  // the broken guest is still a problem
  EXPECT_TRUE(has(r.out, "vserver-boot: stop brk-boot-a: stopped")) << r.out;
  EXPECT_TRUE(has(r.out, "vserver-boot: stop brk-boot-b: was not running")) << r.out;
  EXPECT_EQ(vserver({"brk-boot-a", "running"}).status, 1);
  EXPECT_EQ(vserver({"brk-boot-c", "running"}).status, 1);
  for (const char* g : {"brk-boot-a", "brk-boot-c"}) remove_guest(g);
  run_cmd({"rm", "-rf", confdir("brk-boot-b"), vdir("brk-boot-b")});
}

// vserver-boot stop: a dangling dependency (the guest it names was deleted) does not stop
// the stop; every running guest of the mark is stopped, dependents first; exit 1 with the
// problem named.
TEST(VserverBroken, BootStopStopsEverythingDespiteADanglingDependency) {
  const std::string log = root_env().tmp + "/brk-stop.log";
  const std::string script = root_env().tmp + "/brk-stop-script";
  write(script, "#!/bin/sh\necho \"$1 $2\" >> " + log + "\n", 0755);
  const std::string hooks = "[scripts]\npre-stop = \"" + script + "\"\n";
  build("brk-stop-db", hooks);
  build("brk-stop-web", hooks);
  build("brk-stop-gone");
  set_init("brk-stop-db", "mark = \"brkstop\"\n");
  set_init("brk-stop-web", "mark = \"brkstop\"\ndepends = [\"brk-stop-db\"]\n");
  set_init("brk-stop-db", "depends = [\"brk-stop-gone\"]\n");
  auto r = boot({"start", "--mark", "brkstop"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(vserver({"brk-stop-gone", "running"}).status, 0);
  ASSERT_EQ(vserver({"brk-stop-gone", "stop"}).status, 0);
  remove_guest("brk-stop-gone");
  r = boot({"stop", "--mark", "brkstop"});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_TRUE(has(r.err,
                  "brk-stop-db depends on brk-stop-gone, which is not configured "
                  "(ignored to stop)"))
      << r.err;
  EXPECT_EQ(vserver({"brk-stop-db", "running"}).status, 1);
  EXPECT_EQ(vserver({"brk-stop-web", "running"}).status, 1);
  EXPECT_EQ(slurp(log), "pre-stop brk-stop-web\npre-stop brk-stop-db\n");
  // To start, the guest with the dangling dependency and its dependent are left out.
  r = boot({"start", "--mark", "brkstop"});
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(has(r.err,
                  "not starting brk-stop-web: brk-stop-web depends on brk-stop-db, "
                  "which is not started"))
      << r.err;
  EXPECT_EQ(vserver({"brk-stop-web", "running"}).status, 1);
  for (const char* g : {"brk-stop-db", "brk-stop-web"}) remove_guest(g);
}

// Build flags that the configuration refuses are said as flag errors (exit 2), not as a
// line of the vserver.toml the build has not written; nothing is built.
TEST(VserverBroken, BuildFlagErrorsNameTheFlag) {
  auto r = vserver({"brk-flag", "build", "-m", "busybox", "-q", "--context", "1"});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_TRUE(has(r.err, "invalid `--context`: ")) << r.err;
  EXPECT_FALSE(has(r.err, "vserver.toml")) << r.err;
  r = vserver({"brk-flag", "build", "-m", "busybox", "-q", "--interface", "127.0.0.1"});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_TRUE(has(r.err, "invalid `--interface`: ")) << r.err;
  EXPECT_FALSE(has(r.err, "vserver.toml:")) << r.err;
  build("brk-flag-a");
  prepend("brk-flag-a", "context = 41231");
  r = vserver({"brk-flag", "build", "-m", "busybox", "-q", "--context", "41231"});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_TRUE(has(r.err,
                  "invalid `--context`: context 41231 of guest brk-flag is also the "
                  "context of guest brk-flag-a"))
      << r.err;
  EXPECT_FALSE(fs_exists(confdir("brk-flag")));
  EXPECT_FALSE(fs_exists(vdir("brk-flag")));
  remove_guest("brk-flag-a");
}

// vserver NAME wait (vserver@.service's ExecStart): runs as long as the guest does and ends
// with it, 0; on a guest that is not running, 4.
TEST(VserverBroken, WaitEndsWhenTheGuestEnds) {
  const std::string name = "brk-wait";
  build(name);
  EXPECT_EQ(vserver({name, "wait"}).status, 4);
  ASSERT_EQ(vserver({name, "start"}).status, 0);
  auto waiter = std::async(std::launch::async, [&] { return vserver({name, "wait"}, 60); });
  EXPECT_EQ(waiter.wait_for(std::chrono::milliseconds(500)), std::future_status::timeout)
      << "wait ended while the guest runs";
  // The guest's init dies (killed from the host, not a stop): the waiter ends.
  auto st = vserver({name, "status"});
  const size_t at = st.out.find("init pid ");
  ASSERT_NE(at, std::string::npos) << st.out;
  const pid_t init = std::stoi(st.out.substr(at + 9));
  ASSERT_EQ(::kill(init, SIGKILL), 0);
  ASSERT_EQ(waiter.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  EXPECT_EQ(vserver({name, "running"}).status, 1);
  auto w = waiter.get();
  EXPECT_EQ(w.status, 0) << w.err;
  remove_guest(name);
}

// vserver-boot status (the sysv script's): LSB codes, 0 every guest of the mark runs, 3 not.
TEST(VserverBroken, BootStatusFollowsLsb) {
  build("brk-st-a");
  build("brk-st-b");
  set_init("brk-st-a", "mark = \"brkst\"\n");
  set_init("brk-st-b", "mark = \"brkst\"\n");
  auto r = boot({"status", "--mark", "brkst"});
  EXPECT_EQ(r.status, 3) << r.err;
  EXPECT_EQ(r.out, "brk-st-a stopped\nbrk-st-b stopped\n");
  ASSERT_EQ(vserver({"brk-st-a", "start"}).status, 0);
  r = boot({"status", "--mark", "brkst"});
  EXPECT_EQ(r.status, 3);
  EXPECT_EQ(r.out, "brk-st-a running\nbrk-st-b stopped\n");
  ASSERT_EQ(vserver({"brk-st-b", "start"}).status, 0);
  EXPECT_EQ(boot({"status", "--mark", "brkst"}).status, 0);
  r = boot({"status", "--mark", "brk-no-such-mark"});
  EXPECT_EQ(r.status, 3);
  EXPECT_TRUE(has(r.out, "no guest has mark brk-no-such-mark")) << r.out;
  for (const char* g : {"brk-st-a", "brk-st-b"}) remove_guest(g);
}

// The systemd units as configured, checked by systemd-analyze verify (systemd is not PID 1
// here: their semantics are documented in vserver-boot(8)), with SBINDIR pointed at the
// built tools.
TEST(VserverBroken, SystemdUnitsVerify) {
  if (run_cmd({"sh", "-c", "command -v systemd-analyze"}).status != 0) {
    GTEST_SKIP() << "no systemd-analyze";
  }
  const std::string tools = root_env().build_root + "/tools";
  const std::string dir = root_env().tmp + "/units";
  run_cmd({"mkdir", "-p", dir});
  for (const auto& [unit, instance] : std::vector<std::pair<std::string, std::string>>{
           {"vserver@.service", "vserver@web1.service"},
           {"vservers-boot@.service", "vservers-boot@default.service"}}) {
    std::string text = slurp(tools + "/" + unit);
    const size_t at = text.find("ExecStop=");
    ASSERT_NE(at, std::string::npos) << text;
    // The configured SBINDIR: what precedes "/vserver" in the ExecStop line.
    const size_t start = text.find('/', at);
    const std::string sbindir = text.substr(start, text.find("/vserver", start) - start);
    for (size_t p; (p = text.find(sbindir + "/vserver")) != std::string::npos;) {
      text.replace(p, sbindir.size(), tools);
    }
    write(dir + "/" + instance, text);
    auto r = run_cmd({"systemd-analyze", "verify", "--man=no", dir + "/" + instance});
    EXPECT_EQ(r.status, 0) << instance << ": " << r.err << r.out;
    EXPECT_EQ(r.err, "") << instance;
  }
}

}  // namespace
}  // namespace vs::test
