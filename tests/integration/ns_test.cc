// The calling process in new namespaces or a context's (kernel-shim/ns.h new_namespaces,
// ns_enter.h) and a context's uname fields (uts.h), at the API, as root. Whatever moves the
// calling process runs in run_in_child. Xids 41411..41419.
#include "kernel-shim/ns.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "kernel-shim/ns_enter.h"
#include "kernel-shim/uts.h"
#include "tests/support/root_env.h"
#include "tests/support/run_in_child.h"
#include "tests/support/sleeper_context.h"

namespace vs::test {
namespace {

using shim::ContextTable;
using shim::Xid;

std::string host_name() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

std::string first_line(const std::string& path) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[512];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n > 0) out.assign(buf, static_cast<size_t>(n));
  return out.substr(0, out.find('\n'));
}

TEST(NewNamespaces, WithoutPidTheCallerGoesOnInThem) {
  const std::string host = host_name();
  run_in_child([]() -> std::string {
    auto moved = shim::new_namespaces(CLONE_NEWUTS | CLONE_NEWNS);
    if (!moved) return moved.error().message();
    if (*moved) return "forked without a pid or time namespace";
    if (::sethostname("vs-ns-test", 10) < 0) return "sethostname failed";
    return "";
  });
  EXPECT_EQ(host_name(), host);
}

TEST(NewNamespaces, PidForksAndTheParentGetsTheChildsExitCode) {
  run_in_child([]() -> std::string {
    auto moved = shim::new_namespaces(CLONE_NEWPID | CLONE_NEWNS);
    if (!moved) return moved.error().message();
    if (!*moved) {
      // The child: pid 1 of the new pid namespace, whose /proc it sees.
      const bool one = ::getpid() == 1 && first_line("/proc/self/stat").rfind("1 (", 0) == 0;
      ::_exit(one ? 7 : 1);
    }
    if (**moved != 7) return "child ended with " + std::to_string(**moved) + ", not 7";
    return "";
  });
}

TEST(NewNamespaces, AnUnknownFlagIsTheUnshareError) {
  run_in_child([]() -> std::string {
    auto moved = shim::new_namespaces(CLONE_NEWUTS | CLONE_PARENT);
    if (moved) return "unshare accepted CLONE_PARENT";
    if (moved.error().op != "unshare") return moved.error().message();
    return "";
  });
}

TEST(Uts, SetAndGetInsideTheContextOnly) {
  ContextTable table(shim_config());
  ASSERT_TRUE(table.prepare());
  const std::string host = host_name();
  SleeperContext ctx(table, Xid(41411));
  ASSERT_TRUE(ctx.running());
  shim::UtsChange change;
  change.nodename = "guest-uts";
  change.domainname = "example.test";
  auto set = shim::set_uts(table, Xid(41411), change);
  ASSERT_TRUE(set) << set.error().message();
  auto got = shim::get_uts(table, Xid(41411));
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_EQ(got->nodename, "guest-uts");
  EXPECT_EQ(got->domainname, "example.test");
  EXPECT_FALSE(got->sysname.empty());
  EXPECT_EQ(host_name(), host);

  // The same name through its uts namespace, joined by the caller (in a child here).
  run_in_child([&table]() -> std::string {
    auto moved = shim::enter_context_namespaces(table, Xid(41411), CLONE_NEWUTS);
    if (!moved) return moved.error().message();
    if (*moved) return "forked without a pid namespace";
    return host_name() == "guest-uts" ? "" : "hostname inside is " + host_name();
  });
  // Every namespace of the context (pid: a fork, the child inside).
  run_in_child([&table]() -> std::string {
    auto moved = shim::enter_context_namespaces(table, Xid(41411), 0);
    if (!moved) return moved.error().message();
    if (!*moved) ::_exit(host_name() == "guest-uts" ? 0 : 1);
    return **moved == 0 ? "" : "the child inside saw another hostname";
  });
}

TEST(Uts, BadValuesAndMissingContexts) {
  for (const auto& [field, value] : std::initializer_list<std::pair<const char*, std::string>>{
           {"release", "x"},
           {"nodename", "a\nb"},
           {"nodename", "-lead"},
           {"nodename", "a b"},
           {"nodename", ""},
           {"domainname", "a\tb"},
           {"nodename", std::string(65, 'a')}}) {
    auto r = shim::check_uts_value(field, value);
    ASSERT_FALSE(r) << field << "=" << value;
    EXPECT_EQ(r.error().kind, ErrorKind::kUsage) << r.error().message();
  }
  EXPECT_TRUE(shim::check_uts_value("nodename", std::string(64, 'a')));
  EXPECT_TRUE(shim::check_uts_value("domainname", "example.test"));

  ContextTable table(shim_config());
  ASSERT_TRUE(table.prepare());
  auto get = shim::get_uts(table, Xid(41419));
  ASSERT_FALSE(get);
  EXPECT_EQ(get.error().kind, ErrorKind::kNotFound) << get.error().message();
  shim::UtsChange change;
  change.nodename = "x";
  auto set = shim::set_uts(table, Xid(41419), change);
  ASSERT_FALSE(set);
  EXPECT_EQ(set.error().kind, ErrorKind::kNotFound) << set.error().message();
  auto enter = shim::enter_context_namespaces(table, Xid(41419), 0);
  ASSERT_FALSE(enter);
  EXPECT_EQ(enter.error().kind, ErrorKind::kNotFound) << enter.error().message();
}

TEST(Uts, ANamespaceTheContextLacksCannotBeEntered) {
  ContextTable table(shim_config());
  ASSERT_TRUE(table.prepare());
  SleeperContext ctx(table, Xid(41412), CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC);
  ASSERT_TRUE(ctx.running());
  auto got = shim::get_uts(table, Xid(41412));
  ASSERT_FALSE(got) << "read the uname of a context without a uts namespace";
  EXPECT_EQ(got.error().kind, ErrorKind::kUsage) << got.error().message();
  EXPECT_NE(got.error().message().find("context 41412"), std::string::npos)
      << got.error().message();
}

}  // namespace
}  // namespace vs::test
