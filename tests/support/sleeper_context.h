// A context made at the API (create_and_run, detached) for tests of the shim's context
// operations: `sleep 60` under the built-in init (pid 1 inside), whose first process is the
// test's child. Killed, reaped and its entry removed at scope exit if the test left it.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <string>
#include <utility>

#include "kernel-shim/context.h"

namespace vs::test {

class SleeperContext {
 public:
  SleeperContext(const shim::ContextTable& table, shim::Xid xid,
                 shim::NsSet namespaces = shim::default_namespaces(), std::string name = "")
      : table_(table), xid_(xid) {
    shim::CreateSpec spec;
    spec.xid = xid;
    spec.name = std::move(name);
    spec.namespaces = namespaces;
    spec.detach = true;
    spec.init_stays = true;
    spec.argv = {"/bin/sleep", "60"};
    auto rc = shim::create_and_run(table, spec, nullptr);
    if (!rc) {
      ADD_FAILURE() << rc.error().message();
      return;
    }
    if (auto st = table.read_state(xid)) first_ = st->init_pid;
  }
  SleeperContext(const SleeperContext&) = delete;
  SleeperContext& operator=(const SleeperContext&) = delete;
  ~SleeperContext() {
    if (auto cg = shim::ContextCgroup::open(table_.layout(), table_.config().cgroup, xid_)) {
      (void)cg->kill(SIGKILL);
    }
    if (first_ > 0) ::waitpid(first_, nullptr, 0);
    (void)table_.reap(xid_, true, true);
  }

  [[nodiscard]] bool running() const { return first_ > 0; }
  /// Host pid of the context's first process (0 if the creation failed).
  [[nodiscard]] pid_t first() const { return first_; }
  /// Waits for the first process: its exit code, or 128 + signal; -1 if there is none.
  int wait() {
    int status = 0;
    if (first_ <= 0 || ::waitpid(first_, &status, 0) != first_) return -1;
    first_ = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  /// True while a process is in the context.
  [[nodiscard]] bool populated() const {
    auto alive = table_.alive(xid_);
    return alive && *alive;
  }

 private:
  const shim::ContextTable& table_;
  shim::Xid xid_;
  pid_t first_ = 0;
};

}  // namespace vs::test
