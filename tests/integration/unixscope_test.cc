// Abstract unix sockets of contexts on the host's network stack (SECURITY.md E27,
// kernel-shim/unixscope.h). Contexts are made with vcontext in the test process's network
// namespace (no net namespace: the shared stack), or with one (isolated). A python helper is
// the host listener, the guest services and the clients. Static xids 413xx.
//
// The scope holds by one of two mechanisms: the BPF LSM programs, on a kernel that loads
// BPF_PROG_TYPE_LSM, else a Landlock abstract-socket scope (ABI 6). The tests of what a
// context can reach run with whichever this kernel has (and say which); those of one
// mechanism's own workings skip, naming the reason, where it is not the one in use, and
// SharedStackContextIsScopedOrWarned checks what happens with neither. The programs' body
// (address and cgroup checks) is also run as a cgroup/connect_unix program on the caller's
// own socket, which any 6.7+ kernel loads.
#include "kernel-shim/unixscope.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kernel-shim/btf.h"
#include "kernel-shim/cgroup.h"
#include "kernel-shim/context.h"
#include "lib/base/scope_exit.h"
#include "tests/support/bg_process.h"
#include "tests/support/root_env.h"
#include "tests/support/run_cmd.h"

namespace vs::test {
namespace {

using vs::shim::Xid;

constexpr const char* kPython = "/usr/bin/python3";
constexpr const char* kShared = "mnt,pid,uts,ipc";
constexpr const char* kIsolated = "mnt,pid,uts,ipc,net";

// NAME is an abstract name without its leading NUL ("vstest-123-a"), or a path (with '/').
//   serve KIND NAME READY STOP LOG   KIND stream|dgram; one line to LOG per connection or
//                                    datagram; READY appears once bound
//   connect NAME [OUT] / send NAME   "OK", or "ERR <errno>" (to OUT if given)
//   self NAME                        serve and connect in one process pair (fork): "OK"/"ERR"
constexpr const char* kHelper = R"PY(
import os, socket, sys, time
def addr(n): return n if '/' in n else '\0' + n
mode = sys.argv[1]
if mode == 'serve':
    kind, name, ready, stop, log = sys.argv[2:7]
    t = socket.SOCK_STREAM if kind == 'stream' else socket.SOCK_DGRAM
    s = socket.socket(socket.AF_UNIX, t)
    s.bind(addr(name))
    if kind == 'stream': s.listen(8)
    open(ready + '.tmp', 'w').close(); os.rename(ready + '.tmp', ready)
    s.settimeout(0.1); end = time.time() + 60
    while time.time() < end and not os.path.exists(stop):
        try:
            if kind == 'stream':
                c, _ = s.accept(); c.sendall(b'HELLO\n'); c.close()
            else:
                s.recv(100)
            with open(log, 'a') as f: f.write('got\n')
        except (socket.timeout, OSError): pass
elif mode == 'connect':
    out = open(sys.argv[3], 'w') if len(sys.argv) > 3 else sys.stdout
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.settimeout(5)
    try:
        s.connect(addr(sys.argv[2])); print('OK', s.makefile().readline().strip(), file=out)
    except OSError as e: print('ERR', e.errno, file=out)
elif mode == 'send':
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.sendto(b'x', addr(sys.argv[2])); print('OK')
    except OSError as e: print('ERR', e.errno)
    c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        c.connect(addr(sys.argv[2])); c.send(b'y'); print('OK')
    except OSError as e: print('ERR', e.errno)
elif mode == 'self':
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(addr(sys.argv[2])); s.listen(1)
    if os.fork() == 0:
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            c.connect(addr(sys.argv[2])); print('OK', flush=True)
        except OSError as e: print('ERR', e.errno, flush=True)
        os._exit(0)
    os.wait()
)PY";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool wait_for_file(const std::string& path, int ms = 10000) {
  for (int i = 0; i < ms / 50; ++i) {
    if (::access(path.c_str(), F_OK) == 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

// Why the BPF LSM programs cannot be used here, or nothing.
std::optional<std::string> lsm_unusable() {
  auto st = vs::shim::bpf_lsm_status();
  if (!st.active) return "the BPF LSM is not active (" + st.detail + ")";
  auto btf = vs::shim::Btf::load();
  if (!btf) return "no kernel BTF: " + btf.error().message();
  if (auto r = vs::shim::lsm_cgroup_loadable(*btf); !r) {
    return "this kernel refuses BPF_PROG_TYPE_LSM programs: " + r.error().message();
  }
  return std::nullopt;
}

#define NEEDS_BPF_LSM()                                                       \
  do {                                                                        \
    if (auto why = lsm_unusable()) GTEST_SKIP() << "needs BPF LSM: " << *why; \
  } while (0)

// The mechanism a shared-stack context gets here (ContextState::unix_scope): "bpf-lsm",
// "landlock", or "" with the reason in `why`.
std::string scope_mechanism(std::string* why = nullptr) {
  auto lsm = lsm_unusable();
  if (!lsm) return "bpf-lsm";
  long abi = vs::shim::landlock_abi();
  if (abi >= vs::shim::kLandlockScopeAbi) return "landlock";
  if (why) *why = *lsm + "; Landlock ABI " + std::to_string(abi) + " (the scope needs 6)";
  return "";
}

#define NEEDS_UNIX_SCOPE()                                                     \
  do {                                                                         \
    std::string why;                                                           \
    if (scope_mechanism(&why).empty()) GTEST_SKIP() << "needs BPF LSM or Landlock ABI 6: " << why; \
    std::fprintf(stderr, "abstract unix scope by %s\n", scope_mechanism().c_str()); \
  } while (0)

std::string unique(const std::string& what) {
  return "vstest-" + std::to_string(::getpid()) + "-" + what;
}

class UnixScope : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    helper_ = root_env().tmp + "/unixhelper.py";
    std::ofstream(helper_) << kHelper;
  }
  static std::string tmp(const std::string& name) { return root_env().tmp + "/" + name; }

  // argv that runs the helper in a new context XID (namespaces `ns`).
  static std::vector<std::string> in_context(const std::string& xid, const char* ns,
                                             const std::vector<std::string>& args) {
    std::vector<std::string> v{tool_path("vcontext"), "--create", "--silent", "--xid", xid,
                               "--namespaces",        ns,         "--",       kPython, helper_};
    v.insert(v.end(), args.begin(), args.end());
    return v;
  }
  static std::vector<std::string> on_host(const std::vector<std::string>& args) {
    std::vector<std::string> v{kPython, helper_};
    v.insert(v.end(), args.begin(), args.end());
    return v;
  }
  static inline std::string helper_;
};

// A listener in the background; stopped and reaped at scope exit.
struct Listener {
  std::string ready, stop, log;
  BgProcess proc;
  Listener(const std::string& tag, std::vector<std::string> argv)
      : ready(root_env().tmp + "/" + tag + ".ready"),
        stop(root_env().tmp + "/" + tag + ".stop"),
        log(root_env().tmp + "/" + tag + ".log"),
        proc(fill(argv, tag), root_env().tmp + "/" + tag + ".out") {}
  ~Listener() {
    std::ofstream(stop) << "";
    proc.wait();
  }
  // The argv holds READY, STOP and LOG placeholders.
  static std::vector<std::string>& fill(std::vector<std::string>& argv, const std::string& tag) {
    for (auto& a : argv) {
      if (a == "READY") a = root_env().tmp + "/" + tag + ".ready";
      if (a == "STOP") a = root_env().tmp + "/" + tag + ".stop";
      if (a == "LOG") a = root_env().tmp + "/" + tag + ".log";
    }
    for (const char* ext : {".ready", ".stop", ".log"}) {
      ::unlink((root_env().tmp + "/" + tag + ext).c_str());
    }
    return argv;
  }
  // Lines the listener logged (connections accepted, datagrams received).
  [[nodiscard]] size_t received() const {
    std::string s = read_file(log);
    return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
  }
  // received(), once it reached `n` (the listener logs after it answered), or after 2 s.
  [[nodiscard]] size_t received_at_least(size_t n) const {
    for (int i = 0; i < 40 && received() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return received();
  }
};

// Runs argv in context `xid` with spawn_in_context (as vserver exec does) and waits for it.
// spawn_in_context moves the caller's children into the context's pid namespace (it is
// meant for a tool that exits next): the test process's own is restored after.
void run_entrant(int xid, const std::vector<std::string>& argv) {
  UniqueFd own_pid_ns(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(own_pid_ns);
  vs::shim::ContextTable table(shim_config());
  ASSERT_TRUE(table.prepare());
  auto ctx = vs::shim::open_context(table, Xid(static_cast<uint16_t>(xid)));
  ASSERT_TRUE(ctx) << ctx.error().message();
  auto child = vs::shim::spawn_in_context(table, *ctx, argv, vs::shim::RunOptions{});
  ASSERT_EQ(::setns(own_pid_ns.get(), CLONE_NEWPID), 0) << std::strerror(errno);
  ASSERT_TRUE(child) << child.error().message();
  ASSERT_TRUE(child->wait());
}

// BPF_LSM_CGROUP programs on the context's v2 cgroup; -1 (and a test failure) if that cannot
// be asked.
int lsm_programs_of(int xid) {
  auto layout = vs::shim::CgroupLayout::discover();
  EXPECT_TRUE(layout);
  if (!layout) return -1;
  auto cg =
      vs::shim::ContextCgroup::open(*layout, shim_config().cgroup, Xid(static_cast<uint16_t>(xid)));
  EXPECT_TRUE(cg) << cg.error().message();
  if (!cg) return -1;
  auto n = vs::shim::count_unix_scope(cg->v2_fd());
  EXPECT_TRUE(n) << n.error().message();
  return n ? static_cast<int>(*n) : -1;
}

// ---- the programs' body, as cgroup/connect_unix on the caller's own socket ---------------

// Connects (stream) to `server` from a child in cgroup `dir`, the client socket bound first
// to `bind_to` (abstract name, a path, or "" for none). Returns "connected" or the errno text.
std::string connect_from(const std::string& dir, const std::string& server,
                         const std::string& bind_to) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) < 0) return "pipe2";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    int e = 0;
    int procs = ::open((dir + "/cgroup.procs").c_str(), O_WRONLY | O_CLOEXEC);
    if (procs < 0 || ::write(procs, "0", 1) != 1) ::_exit(100);
    auto addr_of = [](const std::string& n, socklen_t* len) {
      sockaddr_un a{};
      a.sun_family = AF_UNIX;
      const bool path = n.find('/') != std::string::npos;
      std::memcpy(a.sun_path + (path ? 0 : 1), n.data(), n.size());
      *len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + n.size() + 1);
      return a;
    };
    int c = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    socklen_t len = 0;
    if (!bind_to.empty()) {
      if (bind_to.find('/') != std::string::npos) ::unlink(bind_to.c_str());
      sockaddr_un b = addr_of(bind_to, &len);
      if (::bind(c, reinterpret_cast<sockaddr*>(&b), len) < 0) ::_exit(101);
    }
    sockaddr_un s = addr_of(server, &len);
    if (::connect(c, reinterpret_cast<sockaddr*>(&s), len) < 0) e = errno;
    (void)!::write(fds[1], &e, sizeof e);
    ::_exit(0);
  }
  ::close(fds[1]);
  int e = -1;
  (void)!::read(fds[0], &e, sizeof e);
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (e < 0) return "child failed with status " + std::to_string(status);
  return e == 0 ? "connected" : std::strerror(e);
}

TEST_F(UnixScope, ProgramBodyTellsOwnFromForeignAbstractSockets) {
  auto layout = vs::shim::CgroupLayout::discover();
  ASSERT_TRUE(layout) << layout.error().message();
  ASSERT_FALSE(layout->v2_root.empty());
  const std::string dir = layout->v2_root + "/" + root_env().cgroup_parent + "/unixscope";
  const std::string sub = dir + "/sub";
  ::mkdir((layout->v2_root + "/" + root_env().cgroup_parent).c_str(), 0755);
  ASSERT_EQ(::mkdir(dir.c_str(), 0755), 0) << std::strerror(errno);
  // The test main removes one level below its parent cgroup: this one goes here, even when
  // an assertion ends the test early.
  ScopeExit remove_dirs([&] {
    ::rmdir(sub.c_str());
    ::rmdir(dir.c_str());
  });
  ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0) << std::strerror(errno);
  UniqueFd cgfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(cgfd);
  auto btf = vs::shim::Btf::load();
  ASSERT_TRUE(btf) << btf.error().message();
  auto id = vs::shim::cgroup_id_of(cgfd.get());
  ASSERT_TRUE(id) << id.error().message();

  const std::string server = unique("body");
  int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path + 1, server.data(), server.size());
  const auto slen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + server.size());
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&sa), slen), 0);
  ASSERT_EQ(::listen(s, 16), 0);
  auto drain = [s] {
    int n = 0;
    for (int c; (c = ::accept4(s, nullptr, nullptr, SOCK_CLOEXEC)) >= 0; ++n) ::close(c);
    return n;
  };

  for (bool own : {true, false}) {
    // The cgroup's own id, then one that is not in the chain: what a foreign peer looks like.
    auto prog = vs::shim::load_unix_scope_self_check(*btf, own ? *id : *id + 1000000);
    ASSERT_TRUE(prog) << prog.error().message() << " " << prog.error().detail;
    bpf_attr attr{};
    attr.target_fd = static_cast<uint32_t>(cgfd.get());
    attr.attach_bpf_fd = static_cast<uint32_t>(prog->get());
    attr.attach_type = vs::shim::kAttachUnixConnect;
    ASSERT_EQ(::syscall(__NR_bpf, BPF_PROG_ATTACH, &attr, sizeof attr), 0) << std::strerror(errno);
    for (const std::string& where : {dir, sub}) {
      SCOPED_TRACE(where + (own ? " own" : " foreign"));
      EXPECT_EQ(connect_from(where, server, ""), "connected");
      EXPECT_EQ(connect_from(where, server, tmp("body-client.sock")), "connected");
      EXPECT_EQ(connect_from(where, server, unique("body-client")),
                own ? "connected" : std::strerror(EPERM));
    }
    EXPECT_EQ(drain(), own ? 6 : 4);
  }
  ::close(s);
  cgfd.reset();
  EXPECT_EQ(::rmdir(sub.c_str()), 0);
  EXPECT_EQ(::rmdir(dir.c_str()), 0) << std::strerror(errno);
}

// ---- the scope of shared-stack contexts (BPF LSM programs or Landlock) --------------------

TEST_F(UnixScope, HostAbstractListenersAreUnreachableFromASharedStackContext) {
  NEEDS_UNIX_SCOPE();
  const std::string stream = unique("hs"), dgram = unique("hd");
  Listener ls("hs", on_host({"serve", "stream", stream, "READY", "STOP", "LOG"}));
  Listener ld("hd", on_host({"serve", "dgram", dgram, "READY", "STOP", "LOG"}));
  ASSERT_TRUE(wait_for_file(ls.ready) && wait_for_file(ld.ready));
  // Control: the host reaches them.
  auto control = run_cmd(on_host({"connect", stream}));
  ASSERT_EQ(control.out, "OK HELLO\n") << control.err;
  const size_t before = ls.received_at_least(1);
  ASSERT_EQ(before, 1u);

  auto c = run_cmd(in_context("41301", kShared, {"connect", stream}));
  EXPECT_EQ(c.out, "ERR 1\n") << c.err;  // EPERM: refused by the scope, not ECONNREFUSED
  auto d = run_cmd(in_context("41301", kShared, {"send", dgram}));
  EXPECT_EQ(d.out, "ERR 1\nERR 1\n") << d.err;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(ls.received(), before);
  EXPECT_EQ(ld.received(), 0u);
}

TEST_F(UnixScope, GuestsOwnAbstractSocketsWorkForItsProcessesAndEntrants) {
  NEEDS_UNIX_SCOPE();
  const std::string mechanism = scope_mechanism();
  const std::string name = unique("own");
  // Two processes of one context.
  auto self = run_cmd(in_context("41302", kShared, {"self", unique("own-self")}));
  EXPECT_EQ(self.out, "OK\n") << self.err;
  // A service in the context, a process that joins it later.
  Listener l("own",
             in_context("41303", kShared, {"serve", "stream", name, "READY", "STOP", "LOG"}));
  ASSERT_TRUE(wait_for_file(l.ready)) << read_file(tmp("own.out"));
  vs::shim::ContextTable table(shim_config());
  ASSERT_TRUE(table.prepare());
  auto state = table.lookup(Xid(41303));
  ASSERT_TRUE(state) << state.error().message();
  EXPECT_EQ(vs::shim::unix_scope_name(state->unix_scope), mechanism);
  EXPECT_EQ(lsm_programs_of(41303), mechanism == "bpf-lsm" ? 2 : 0);
  // The programs let an entrant reach the context's sockets; a Landlock domain cannot be
  // joined, so an entrant has one of its own beside the guest's and cannot (unixscope.h).
  const std::string entrant_sees = mechanism == "bpf-lsm" ? "OK HELLO\n" : "ERR 1\n";
  const std::string out = tmp("own-entrant.out");
  run_entrant(41303, {kPython, helper_, "connect", name, out});
  EXPECT_EQ(read_file(out), entrant_sees);
  auto migrated = run_cmd({tool_path("vcontext"), "--migrate", "--xid", "41303", "--", kPython,
                           helper_, "connect", name});
  EXPECT_EQ(migrated.out, entrant_sees) << migrated.err;
  const size_t reached = mechanism == "bpf-lsm" ? 2 : 0;
  EXPECT_EQ(l.received_at_least(reached), reached);
}

TEST_F(UnixScope, EntrantsCannotReachTheHostsAbstractListeners) {
  NEEDS_UNIX_SCOPE();
  const std::string host = unique("eh");
  Listener h("eh", on_host({"serve", "stream", host, "READY", "STOP", "LOG"}));
  Listener g("eg", in_context("41312", kShared,
                              {"serve", "stream", unique("eg"), "READY", "STOP", "LOG"}));
  ASSERT_TRUE(wait_for_file(h.ready));
  ASSERT_TRUE(wait_for_file(g.ready)) << read_file(tmp("eg.out"));
  const std::string out = tmp("eh-entrant.out");
  run_entrant(41312, {kPython, helper_, "connect", host, out});
  EXPECT_EQ(read_file(out), "ERR 1\n");
  auto migrated = run_cmd({tool_path("vcontext"), "--migrate", "--xid", "41312", "--", kPython,
                           helper_, "connect", host});
  EXPECT_EQ(migrated.out, "ERR 1\n") << migrated.err;
  // A process the entrant leaves behind is scoped too (it inherits the entrant's scope).
  const std::string script = std::string(kPython) + " " + helper_ + " connect " + host + " & wait";
  auto daemon = run_cmd(
      {tool_path("vcontext"), "--migrate", "--xid", "41312", "--", "/bin/sh", "-c", script});
  EXPECT_EQ(daemon.out, "ERR 1\n") << daemon.err;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(h.received(), 0u);
}

TEST_F(UnixScope, GuestCannotReachAnotherGuestsAbstractSockets) {
  NEEDS_UNIX_SCOPE();
  const std::string name = unique("a");
  Listener a("ga", in_context("41304", kShared, {"serve", "stream", name, "READY", "STOP", "LOG"}));
  ASSERT_TRUE(wait_for_file(a.ready)) << read_file(tmp("ga.out"));
  auto b = run_cmd(in_context("41305", kShared, {"connect", name}));
  EXPECT_EQ(b.out, "ERR 1\n") << b.err;
  EXPECT_EQ(a.received(), 0u);
}

// ---- the BPF LSM programs on contexts --------------------------------------------------

TEST_F(UnixScope, ProgramsGoWithTheContext) {
  NEEDS_BPF_LSM();
  auto r = run_cmd(in_context("41306", kShared, {"connect", unique("none")}));
  ASSERT_EQ(r.status, 0) << r.err;
  // Reaped: no program of ours is left anywhere (the cgroup's programs are freed with it,
  // asynchronously).
  run_cmd({tool_path("vcontext"), "--list"});
  bool left = true;
  for (int i = 0; i < 100 && left; ++i) {
    left = false;
    uint32_t id = 0;
    for (;;) {
      bpf_attr a{};
      a.start_id = id;
      if (::syscall(__NR_bpf, BPF_PROG_GET_NEXT_ID, &a, sizeof a) < 0) break;
      id = a.next_id;
      bpf_attr g{};
      g.prog_id = id;
      int fd = static_cast<int>(::syscall(__NR_bpf, BPF_PROG_GET_FD_BY_ID, &g, sizeof g));
      if (fd < 0) continue;
      bpf_prog_info info{};
      bpf_attr q{};
      q.info.bpf_fd = static_cast<uint32_t>(fd);
      q.info.info_len = sizeof info;
      q.info.info = reinterpret_cast<uint64_t>(&info);
      if (::syscall(__NR_bpf, BPF_OBJ_GET_INFO_BY_FD, &q, sizeof q) == 0 &&
          std::strncmp(info.name, "vs_unix_", 8) == 0) {
        left = true;
      }
      ::close(fd);
    }
    if (left) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_FALSE(left) << "a vs_unix_* program outlived its context";
}

// ---- what holds on every kernel -----------------------------------------------------------

TEST_F(UnixScope, PathSocketsStayReachable) {
  const std::string path = tmp("hostpath.sock");
  ::unlink(path.c_str());
  Listener l("hp", on_host({"serve", "stream", path, "READY", "STOP", "LOG"}));
  ASSERT_TRUE(wait_for_file(l.ready));
  auto r = run_cmd(in_context("41307", kShared, {"connect", path}));
  EXPECT_EQ(r.out, "OK HELLO\n") << r.err;
  EXPECT_EQ(l.received_at_least(1), 1u);
  ::unlink(path.c_str());
}

TEST_F(UnixScope, IsolatedContextGetsNoProgramAndHasItsOwnAbstractNames) {
  const std::string name = unique("iso");
  Listener host("iso", on_host({"serve", "stream", name, "READY", "STOP", "LOG"}));
  ASSERT_TRUE(wait_for_file(host.ready));
  // Its own namespace: the host's name is not there (ECONNREFUSED, not our EPERM) ...
  auto r = run_cmd(in_context("41308", kIsolated, {"connect", name}));
  EXPECT_EQ(r.out, "ERR " + std::to_string(ECONNREFUSED) + "\n") << r.err;
  EXPECT_EQ(host.received(), 0u);
  // ... its own sockets work, and its cgroup has no program of ours.
  Listener own("iso2", in_context("41309", kIsolated,
                                  {"serve", "stream", unique("iso2"), "READY", "STOP", "LOG"}));
  ASSERT_TRUE(wait_for_file(own.ready)) << read_file(tmp("iso2.out"));
  EXPECT_EQ(lsm_programs_of(41309), 0);
  auto self = run_cmd(in_context("41310", kIsolated, {"self", unique("iso-self")}));
  EXPECT_EQ(self.out, "OK\n") << self.err;
}

TEST_F(UnixScope, SharedStackContextIsScopedOrWarned) {
  // Without --silent, so the warning shows.
  Listener l("warn",
             {tool_path("vcontext"), "--create", "--xid", "41311", "--namespaces", kShared, "--",
              kPython, helper_, "serve", "stream", unique("warn"), "READY", "STOP", "LOG"});
  ASSERT_TRUE(wait_for_file(l.ready)) << read_file(tmp("warn.out"));
  const std::string err = read_file(tmp("warn.out"));
  const std::string mechanism = scope_mechanism();
  vs::shim::ContextTable table(shim_config());
  ASSERT_TRUE(table.prepare());
  auto state = table.lookup(Xid(41311));
  ASSERT_TRUE(state) << state.error().message();
  EXPECT_EQ(vs::shim::unix_scope_name(state->unix_scope), mechanism);
  EXPECT_EQ(lsm_programs_of(41311), mechanism == "bpf-lsm" ? 2 : 0);
  if (mechanism.empty()) {
    // The context runs, unconfined, and the administrator is told so once, with the reason.
    EXPECT_NE(err.find("vcontext: warning: context 41311 shares the host's network stack and "
                       "can reach the host's abstract unix sockets: "),
              std::string::npos)
        << err;
    EXPECT_EQ(err.find("warning"), err.rfind("warning")) << err;
  } else {
    EXPECT_EQ(err.find("warning"), std::string::npos) << err;
  }
}

}  // namespace
}  // namespace vs::test
