// main() for the integration tests: root, real kernel. Before any test, the process moves
// into a private mount namespace so no test mount reaches the host, makes one temp tree
// (run dir, config dir, vdir base) and uses its own cgroup parent, all removed at exit.
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "kernel-shim/cgroup.h"
#include "tests/support/root_env.h"
#include "tests/support/skip_listener.h"

namespace vs::test {
namespace {
RootEnv g_env;
}

const RootEnv& root_env() { return g_env; }

vs::shim::ShimConfig shim_config() {
  vs::shim::ShimConfig c;
  c.rundir = g_env.rundir;
  c.cgroup.parent = g_env.cgroup_parent;
  return c;
}

std::string tool_path(const std::string& name) { return g_env.build_root + "/tools/" + name; }

namespace {

void remove_cgroup_parents() {
  auto layout = vs::shim::CgroupLayout::discover();
  if (!layout) return;
  std::vector<std::string> roots;
  if (!layout->v2_root.empty()) roots.push_back(layout->v2_root);
  for (const auto& h : layout->v1) roots.push_back(h.mount_point);
  for (const auto& r : roots) {
    std::string dir = r + "/" + g_env.cgroup_parent;
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec)) continue;
    // Children first (contexts a failed test left behind: their processes are killed
    // through the v2 cgroup.kill first), then the parent.
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      if (!e.is_directory(ec)) continue;
      std::string kill = e.path().string() + "/cgroup.kill";
      if (FILE* f = std::fopen(kill.c_str(), "we")) {
        std::fputs("1", f);
        std::fclose(f);
        ::usleep(100 * 1000);
      }
      ::rmdir(e.path().c_str());
    }
    if (::rmdir(dir.c_str()) < 0) {
      std::fprintf(stderr, "test cleanup: rmdir %s: %s\n", dir.c_str(), strerror(errno));
    }
  }
}

}  // namespace
}  // namespace vs::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (::geteuid() != 0) {
    std::fprintf(stderr, "SKIPPED: integration tests need root (run them as root: "
                         "meson test -C build --suite integration)\n");
    return 77;
  }
  // First of all: a private mount namespace, propagation private before any mount (R8).
  if (::unshare(CLONE_NEWNS) < 0 || ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) {
    std::fprintf(stderr, "integration: private mount namespace: %s\n", strerror(errno));
    return 1;
  }
  char tmpl[] = "/tmp/vserver-test-XXXXXX";
  if (!::mkdtemp(tmpl)) {
    std::perror("mkdtemp");
    return 1;
  }
  auto& env = const_cast<vs::test::RootEnv&>(vs::test::root_env());
  env.tmp = tmpl;
  env.rundir = env.tmp + "/run";
  env.confdir = env.tmp + "/etc";
  env.vdirbase = env.tmp + "/vservers";
  for (const auto& d : {env.confdir, env.vdirbase}) ::mkdir(d.c_str(), 0700);
  env.cgroup_parent = "vserver-test-" + std::to_string(::getpid());
  const char* build = ::getenv("VS_BUILD_ROOT");
  env.build_root = build ? build : ".";
  // Tools started by tests find the same roots through the environment.
  ::setenv("VSERVER_RUNDIR", env.rundir.c_str(), 1);
  ::setenv("VSERVER_CONFDIR", env.confdir.c_str(), 1);
  ::setenv("VSERVER_VDIRBASE", env.vdirbase.c_str(), 1);
  ::setenv("VSERVER_CGROUP_PARENT", env.cgroup_parent.c_str(), 1);

  auto* skips = new vs::test::SkipListener;
  ::testing::UnitTest::GetInstance()->listeners().Append(skips);
  int rc = RUN_ALL_TESTS();

  // The mount namespace dies with us, taking every pin and the run dir tmpfs with it; the
  // cgroups do not, so remove them explicitly.
  vs::test::remove_cgroup_parents();
  // The run dir is a tmpfs mount point in our namespace (ContextTable::prepare): rmdir of it
  // would fail with EBUSY and leave the temp tree behind on the host.
  ::umount2(env.rundir.c_str(), MNT_DETACH);
  std::error_code ec;
  std::filesystem::remove_all(env.tmp, ec);
  if (rc == 0 && skips->all_skipped()) return 77;
  return rc;
}
