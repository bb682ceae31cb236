// Escapes of issue 18, class 5 (the catalogue: guest_escape_fixture.h): the administrator's
// environment reaching guest code, on every path that starts guest code, and its weak setup.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "tests/integration/guest_escape_fixture.h"
#include "tests/support/files.h"
#include "tests/support/host_watch.h"
#include "tests/support/pty.h"
#include "tests/support/run_cmd.h"
#include "tests/support/spawned.h"

namespace vs::test {
namespace {

namespace fs = std::filesystem;

// The secrets of class 5, in the administrator's environment.
const std::vector<std::pair<std::string, std::string>> kSecrets = {
    {"SSH_AUTH_SOCK", "/tmp/agent.sock"},
    {"AWS_SECRET_ACCESS_KEY", "vs-secret"},
    {"http_proxy", "http://user:pw@proxy"},
};
// What must not appear in a guest process's environment: the secrets, and the host paths
// of the administrator's own settings (the run dir and configuration of the host tools).
const std::vector<std::string> kSecretNeedles = {
    "SSH_AUTH_SOCK=",   "AWS_SECRET_ACCESS_KEY=", "http_proxy=",
    "vs-secret",        "user:pw@proxy",          "VSERVER_RUNDIR=",
    "VSERVER_CONFDIR=", "VSERVER_VDIRBASE=",      "VSERVER_CGROUP_PARENT="};

std::vector<std::string> secrets_in(const std::string& env_text) {
  std::vector<std::string> found;
  for (const auto& n : kSecretNeedles) {
    if (contains(env_text, n)) found.push_back(n);
  }
  return found;
}

// ==== 5. The administrator's environment reaches guest code ==============================

enum class EnvPath {
  kStartMinit,
  kStartPlain,
  kStartSysv,
  kStopSysv,
  kRestart,
  kBoot,
  kExec,
  kEnter,
  kEnterTty
};

const char* env_path_name(EnvPath p) {
  switch (p) {
    case EnvPath::kStartMinit:
      return "start_minit";
    case EnvPath::kStartPlain:
      return "start_plain";
    case EnvPath::kStartSysv:
      return "start_sysv";
    case EnvPath::kStopSysv:
      return "stop_sysv";
    case EnvPath::kRestart:
      return "restart";
    case EnvPath::kBoot:
      return "boot";
    case EnvPath::kExec:
      return "exec";
    case EnvPath::kEnter:
      return "enter";
    case EnvPath::kEnterTty:
      return "enter_tty";
  }
  return "?";
}

// The secrets are in this process's environment (so in every tool's) while a test runs.
class GuestEscapeEnvironment : public GuestEscapeBase,
                               public ::testing::WithParamInterface<std::tuple<Kind, EnvPath>> {
 protected:
  void SetUp() override {
    GuestEscapeBase::SetUp();
    for (const auto& [k, v] : kSecrets) ::setenv(k.c_str(), v.c_str(), 1);
  }
  void TearDown() override {
    for (const auto& kv : kSecrets) ::unsetenv(kv.first.c_str());
    GuestEscapeBase::TearDown();
  }
};

constexpr const char* kDumpEnvInit =
    "#!/bin/sh\nenv > /tmp/env.tmp; mv /tmp/env.tmp /tmp/env.out\n"
    "trap 'exit 0' PWR TERM\nwhile :; do sleep 1 & wait; done\n";
constexpr const char* kDumpEnvRc =
    "#!/bin/sh\nenv > /tmp/env.tmp; mv /tmp/env.tmp /tmp/env.rc$1\n"
    "[ \"$1\" = 3 ] && { sleep 1000 & }\nexit 0\n";

// Each path's guest code dumps its environment into the guest's /tmp; besides, every process
// of the guest's context is read from the host (/proc/PID/environ, the init's included).
TEST_P(GuestEscapeEnvironment, SecretsReachNoGuestProcess) {
  const auto [kind, path] = GetParam();
  const std::vector<std::string> dump_cmd = {
      "/bin/sh", "-c", "env > /tmp/env.tmp; mv /tmp/env.tmp /tmp/env.out; exec sleep 1000"};
  Guest g;
  switch (path) {
    case EnvPath::kStartPlain:
      g = guest("env", kind, "plain", {"/sbin/vs-init"});
      break;
    case EnvPath::kStartSysv:
    case EnvPath::kStopSysv:
      g = guest("env", kind, "sysv");
      break;
    case EnvPath::kStartMinit:
    case EnvPath::kRestart:
    case EnvPath::kBoot:
      g = guest("env", kind, "minit", dump_cmd);
      break;
    default:
      g = guest("env", kind, "minit");
      break;
  }
  if (path == EnvPath::kBoot) g.mark = "ge-" + g.name;
  ASSERT_TRUE(build(g));
  put(vdir(g) + "/sbin/vs-init", kDumpEnvInit, 0755);
  put(vdir(g) + "/etc/init.d/rc", kDumpEnvRc, 0755);
  const std::string tmp = vdir(g) + "/tmp/";
  auto file_appears = [&](const std::string& name) {
    return wait_for([&] { return fs::exists(tmp + name); }, 5000);
  };
  std::string dump;               // what the guest code saw
  std::vector<std::string> live;  // host-side: context processes with a secret
  auto check_live = [&] {
    for (auto& l : environments_containing(kSecretNeedles)) live.push_back(l);
  };

  if (path == EnvPath::kBoot) {
    auto r = boot(kind, "start", g.mark);
    ASSERT_EQ(r.status, 0) << r.err;
  } else {
    auto r = vs(g, {"start"});
    ASSERT_EQ(r.status, 0) << r.err;
  }
  switch (path) {
    case EnvPath::kStartMinit:
    case EnvPath::kStartPlain:
    case EnvPath::kBoot:
      ASSERT_TRUE(file_appears("env.out"));
      dump = slurp(tmp + "env.out");
      check_live();
      break;
    case EnvPath::kStartSysv:
      ASSERT_TRUE(file_appears("env.rc3"));
      dump = slurp(tmp + "env.rc3");
      check_live();
      break;
    case EnvPath::kStopSysv: {
      check_live();
      auto r = vs(g, {"stop"});
      ASSERT_EQ(r.status, 0) << r.err;
      ASSERT_TRUE(file_appears("env.rc0"));
      dump = slurp(tmp + "env.rc0");
      break;
    }
    case EnvPath::kRestart: {
      ASSERT_TRUE(file_appears("env.out"));
      fs::remove(tmp + "env.out");
      auto r = vs(g, {"restart"});
      ASSERT_EQ(r.status, 0) << r.err;
      ASSERT_TRUE(file_appears("env.out"));
      dump = slurp(tmp + "env.out");
      check_live();
      break;
    }
    case EnvPath::kExec: {
      Pipe out;
      Spawned p(
          SpawnSpec{vs_argv(g, {"exec", "/bin/sh", "-c", "env; sleep 1"}), -1, out.wr, -1, {}, -1});
      out.close_write();
      Spawned::sleep_ms(500);
      check_live();
      dump = out.drain();
      EXPECT_EQ(p.wait(20000), 0);
      break;
    }
    case EnvPath::kEnter: {
      Pipe in;
      const std::string script = "env > /tmp/env.tmp; mv /tmp/env.tmp /tmp/env.enter; sleep 1\n";
      (void)!::write(in.wr, script.data(), script.size());
      in.close_write();
      Spawned p(SpawnSpec{vs_argv(g, {"enter"}), in.rd, -1, -1, {}, -1});
      Spawned::sleep_ms(500);
      check_live();
      EXPECT_EQ(p.wait(20000), 0);
      ASSERT_TRUE(file_appears("env.enter"));
      dump = slurp(tmp + "env.enter");
      break;
    }
    case EnvPath::kEnterTty: {
      Pty pty;
      ASSERT_TRUE(pty.ok());
      Spawned p(SpawnSpec{vs_argv(g, {"enter"}), pty.slave, pty.slave, pty.slave, {}, pty.slave});
      pty.type("env > /tmp/env.tmp; mv /tmp/env.tmp /tmp/env.enter; sleep 1; exit\n");
      Spawned::sleep_ms(500);
      check_live();
      int st = -1;
      for (int i = 0; i < 1000 && !p.exited(); ++i) {
        (void)Pty::available(pty.master);  // keep the terminal flowing
        Spawned::sleep_ms(10);
      }
      st = p.wait(5000);
      EXPECT_EQ(st, 0);
      ASSERT_TRUE(file_appears("env.enter"));
      dump = slurp(tmp + "env.enter");
      break;
    }
  }
  if (path == EnvPath::kBoot) (void)boot(kind, "stop", g.mark);
  EXPECT_TRUE(contains(dump, "PATH=")) << "no environment dump:\n" << dump;
  EXPECT_TRUE(secrets_in(dump).empty())
      << "the guest code saw: " << joined(secrets_in(dump)) << "in:\n"
      << dump;
  EXPECT_TRUE(live.empty()) << "guest processes hold the administrator's environment:\n"
                            << joined(live);
}

INSTANTIATE_TEST_SUITE_P(
    GuestEscape, GuestEscapeEnvironment,
    ::testing::Combine(kAllKinds,
                       ::testing::Values(EnvPath::kStartMinit, EnvPath::kStartPlain,
                                         EnvPath::kStartSysv, EnvPath::kStopSysv, EnvPath::kRestart,
                                         EnvPath::kBoot, EnvPath::kExec, EnvPath::kEnter,
                                         EnvPath::kEnterTty)),
    [](const ::testing::TestParamInfo<std::tuple<Kind, EnvPath>>& pi) {
      return std::string(kind_name(std::get<0>(pi.param))) + "_" +
             env_path_name(std::get<1>(pi.param));
    });

// Class 5 against chroot(8): the environment goes through.
TEST_F(GuestEscapeWeak, ChrootPassesTheEnvironment) {
  Guest g = guest("weak-env", Kind::kDefault);
  ASSERT_TRUE(build(g));
  for (const auto& [k, v] : kSecrets) ::setenv(k.c_str(), v.c_str(), 1);
  auto r = run_cmd({"/usr/sbin/chroot", vdir(g), "/bin/sh", "-c", "env"});
  for (const auto& kv : kSecrets) ::unsetenv(kv.first.c_str());
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "PATH="));
  EXPECT_FALSE(secrets_in(r.out).empty()) << r.out;
  EXPECT_TRUE(contains(r.out, "AWS_SECRET_ACCESS_KEY=vs-secret")) << r.out;
}

}  // namespace
}  // namespace vs::test
