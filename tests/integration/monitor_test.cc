// vps, vserver-stat and vserver-info against real contexts made by vcontext, with known
// workloads: N sleeping processes, a 64 MiB memory hog, a process with a hostile name; and
// against a busybox guest started with `vserver NAME start`.
// Each test uses its own static xid (411xx) and kills every context it made.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "kernel-shim/cgroup.h"
#include "kernel-shim/context_table.h"
#include "tests/support/root_env.h"
#include "tests/support/run_cmd.h"

namespace vs::test {
namespace {

using vs::shim::Xid;

void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
  ::nanosleep(&ts, nullptr);
}

size_t context_procs(uint16_t xid) {
  auto layout = vs::shim::CgroupLayout::discover();
  if (!layout) return 0;
  auto cg = vs::shim::ContextCgroup::open(*layout, shim_config().cgroup, Xid(xid));
  if (!cg) return 0;
  auto pids = cg->pids();
  return pids ? pids->size() : 0;
}

// `vcontext --create --no-init --xid XID -- CMD...` in the background; vkill'ed and reaped
// at scope exit.
class Workload {
 public:
  Workload(uint16_t xid, const std::vector<std::string>& cmd) : xid_(xid) {
    std::vector<std::string> argv = {tool_path("vcontext"), "--create", "--silent", "--no-init",
                                     "--xid", std::to_string(xid), "--"};
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  Workload(const Workload&) = delete;
  Workload& operator=(const Workload&) = delete;
  ~Workload() {
    run_cmd({tool_path("vkill"), "--xid", std::to_string(xid_), "-s", "KILL"});
    for (int i = 0; i < 1500; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      sleep_ms(20);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  /// Waits (at most 20 s) until the context has `n` processes and its state is recorded.
  bool wait_procs(size_t n) const {
    vs::shim::ContextTable table(shim_config());
    for (int i = 0; i < 1000; ++i) {
      if (context_procs(xid_) == n && table.read_state(Xid(xid_))) return true;
      sleep_ms(20);
    }
    return false;
  }

 private:
  uint16_t xid_;
  pid_t pid_ = -1;
};

std::string write_temp(const std::string& name, const std::string& text) {
  std::string path = root_env().tmp + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// Runs a python3 check over `text` (in the file named by sys.argv[1]); its exit status.
CmdResult py_check(const std::string& text, const std::string& code) {
  return run_cmd({"python3", "-c", code, write_temp("py-input", text)});
}

// The row of `xid` in vserver-stat --json, checked by python3: prints "key=value" lines.
std::string json_row(uint16_t xid) {
  auto r = run_cmd({tool_path("vserver-stat"), "--json"});
  EXPECT_EQ(r.status, 0) << r.err;
  auto py = py_check(r.out,
                     "import json,sys\n"
                     "d=json.load(open(sys.argv[1]))\n"
                     "rows=[c for c in d['contexts'] if c['xid']==" + std::to_string(xid) + "]\n"
                     "assert len(rows)==1, rows\n"
                     "for k,v in sorted(rows[0].items()): print('%s=%r' % (k, v))\n");
  EXPECT_EQ(py.status, 0) << py.err << r.out;
  return py.out;
}

uint64_t field(const std::string& rows, const std::string& key) {
  auto at = rows.find(key + "=");
  if (at == std::string::npos) return UINT64_MAX;
  return std::stoull(rows.substr(at + key.size() + 1));
}

TEST(Monitor, SleepersGiveProcessCount) {
  constexpr uint16_t kXid = 41101;
  constexpr int kSleepers = 5;
  std::string script;
  for (int i = 0; i < kSleepers; ++i) script += "sleep 1000 & ";
  script += "wait";
  Workload w(kXid, {"/bin/sh", "-c", script});
  // sh (pid 1 of the context, --no-init) and its sleepers.
  ASSERT_TRUE(w.wait_procs(kSleepers + 1));
  std::string row = json_row(kXid);
  EXPECT_EQ(field(row, "processes"), kSleepers + 1u) << row;
  EXPECT_EQ(field(row, "tasks"), kSleepers + 1u) << row;
  EXPECT_GT(field(row, "vsz_bytes"), 0u) << row;
  EXPECT_NE(row.find("name=None"), std::string::npos) << row;  // anonymous context

  auto table = run_cmd({tool_path("vserver-stat")});
  ASSERT_EQ(table.status, 0) << table.err;
  EXPECT_NE(table.out.find("\n41101     6 "), std::string::npos) << table.out;

  auto vps = run_cmd({tool_path("vps"), "ax"});
  ASSERT_EQ(vps.status, 0) << vps.err;
  EXPECT_NE(vps.out.substr(0, vps.out.find('\n')).find("PID CONTEXT NAME"), std::string::npos)
      << vps.out;
  size_t sleepers = 0, pos = 0;
  while ((pos = vps.out.find("   41101 -", pos)) != std::string::npos) {
    ++sleepers;
    ++pos;
  }
  EXPECT_EQ(sleepers, kSleepers + 1u) << vps.out;
  // Our own process is the host's.
  EXPECT_NE(vps.out.find(std::to_string(::getpid()) + "       0 MAIN"), std::string::npos);
}

TEST(Monitor, MemoryHogRss) {
  constexpr uint16_t kXid = 41102;
  constexpr uint64_t kMiB = 1 << 20;
  // bytes * n writes every page: 64 MiB resident, plus the interpreter's own.
  Workload w(kXid, {"python3", "-c",
                    "import time\nb = b'\\x01' * (64 << 20)\nopen('/dev/null','w')\n"
                    "time.sleep(1000)\n"});
  ASSERT_TRUE(w.wait_procs(1));
  uint64_t rss = 0;
  std::string row;
  for (int i = 0; i < 200 && rss < 64 * kMiB; ++i) {
    row = json_row(kXid);
    rss = field(row, "rss_bytes");
    if (rss == UINT64_MAX) break;
    sleep_ms(50);
  }
  // Tolerance: 64 MiB up to 64 + 32 MiB (python3 itself is about 10 MiB here).
  EXPECT_GE(rss, 64 * kMiB) << row;
  EXPECT_LE(rss, 96 * kMiB) << row;
  EXPECT_GE(field(row, "vsz_bytes"), 64 * kMiB) << row;
  EXPECT_GE(field(row, "memory_bytes"), 64 * kMiB) << row;
}

TEST(Monitor, HostileNamesAreEscaped) {
  constexpr uint16_t kXid = 41103;
  const std::string evil = "\x1b]0;pwned\x07\x1b[2J";
  Workload w(kXid, {"python3", "-c",
                    "import ctypes,time\n"
                    "ctypes.CDLL(None).prctl(15, b'\\x1b[31mEV\\nIL\\r', 0, 0, 0)\n"
                    "time.sleep(1000)\n",
                    evil, "line\nbreak"});
  ASSERT_TRUE(w.wait_procs(1));
  // The comm is set right after start: wait for it.
  for (int i = 0; i < 250; ++i) {
    auto r = run_cmd({tool_path("vps"), "-eo", "pid,comm"});
    if (r.out.find("EV") != std::string::npos) break;
    sleep_ms(20);
  }
  // A guest name with control bytes in the state file (as if a guest had written it).
  vs::shim::ContextTable table(shim_config());
  ASSERT_TRUE(table.prepare());
  auto st = table.read_state(Xid(kXid));
  ASSERT_TRUE(st) << st.error().message();
  st->name = "web\x1b[2J\x07\xc2\x9b";
  ASSERT_TRUE(table.write_state(*st));

  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"ax"}, {"-eo", "pid,comm,args"}, {"aux"}}) {
    std::vector<std::string> argv = {tool_path("vps")};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_cmd(argv);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << args[0];
    EXPECT_EQ(r.out.find('\x07'), std::string::npos) << args[0];
    EXPECT_EQ(r.out.find('\r'), std::string::npos) << args[0];
    EXPECT_EQ(r.out.find("\xc2\x9b"), std::string::npos) << args[0];
    EXPECT_NE(r.out.find("  41103 web\\e[2J\\x07\\xc2\\x9b"), std::string::npos) << r.out;
    // The newline inside argv did not start a line of its own.
    EXPECT_EQ(r.out.find("\nbreak"), std::string::npos) << r.out;
  }
  auto table_out = run_cmd({tool_path("vserver-stat"), "--fail-counters"});
  ASSERT_EQ(table_out.status, 0) << table_out.err;
  EXPECT_EQ(table_out.out.find('\x1b'), std::string::npos);
  EXPECT_NE(table_out.out.find(" web\\e[2J\\x07\\xc2\\x9b\n"), std::string::npos)
      << table_out.out;
  std::string row = json_row(kXid);
  EXPECT_NE(row.find("name='web\\x1b[2J\\x07\\x9b'"), std::string::npos) << row;

  auto prom = run_cmd({tool_path("vserver-stat"), "--prometheus"});
  ASSERT_EQ(prom.status, 0) << prom.err;
  EXPECT_EQ(prom.out.find('\x1b'), std::string::npos);
  auto py = py_check(prom.out,
                     "import re,sys\n"
                     "lab=r'[a-z_]+=\"(?:[^\"\\\\\\n]|\\\\[\\\\\"n])*\"'\n"
                     "pat=re.compile(r'^[a-z_:]+(\\{'+lab+'(,'+lab+')*\\})? [0-9.e+-]+$')\n"
                     "for l in open(sys.argv[1], encoding='utf-8'):\n"
                     "  l=l.rstrip('\\n')\n"
                     "  if l.startswith('# HELP ') or l.startswith('# TYPE '): continue\n"
                     "  assert pat.match(l), l\n");
  EXPECT_EQ(py.status, 0) << py.err << prom.out;
}

TEST(Monitor, JsonSchema) {
  constexpr uint16_t kXid = 41104;
  Workload w(kXid, {"/bin/sleep", "1000"});
  ASSERT_TRUE(w.wait_procs(1));
  auto r = run_cmd({tool_path("vserver-stat"), "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto py = py_check(
      r.out,
      "import json,sys\n"
      "d=json.load(open(sys.argv[1]))\n"
      "assert list(d.keys())==['contexts']\n"
      "ints=['xid','processes','vsz_bytes','created','uptime_seconds']\n"
      "opt=['tasks','rss_bytes','memory_bytes','cpu_user_usec','cpu_system_usec','cpu_usec',\n"
      "     'oom_kills','memory_limit_hits','pids_limit_hits','cpu_periods',\n"
      "     'cpu_throttled_periods','cpu_throttled_usec']\n"
      "assert d['contexts']\n"
      "for c in d['contexts']:\n"
      "  assert set(c)==set(ints+opt+['name']), sorted(c)\n"
      "  for k in ints: assert type(c[k]) is int and c[k]>=0, k\n"
      "  for k in opt: assert c[k] is None or (type(c[k]) is int and c[k]>=0), k\n"
      "  assert c['name'] is None or type(c['name']) is str\n"
      "c=[c for c in d['contexts'] if c['xid']==" + std::to_string(kXid) + "][0]\n"
      "assert c['processes']==1 and c['tasks']==1, c\n"
      "for k in ['rss_bytes','cpu_user_usec','cpu_system_usec','oom_kills',\n"
      "          'memory_limit_hits','pids_limit_hits','cpu_throttled_periods']:\n"
      "  assert c[k] is not None, k\n");
  EXPECT_EQ(py.status, 0) << py.err << r.out;
}

TEST(Monitor, EmptyPersistentContextThenReaped) {
  const std::string xid = "41107";
  auto made = run_cmd({tool_path("vcontext"), "--create", "--persistent", "--silent", "--xid", xid,
                       "--namespaces", "mnt,uts,ipc", "--", "/bin/true"});
  ASSERT_EQ(made.status, 0) << made.err;
  std::string row = json_row(41107);
  EXPECT_EQ(field(row, "processes"), 0u) << row;
  auto released = run_cmd({tool_path("vcontext"), "--release", "--xid", xid});
  ASSERT_EQ(released.status, 0) << released.err;
  auto r = run_cmd({tool_path("vserver-stat"), "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.find("\"xid\":41107"), std::string::npos) << r.out;
  EXPECT_EQ(run_cmd({tool_path("vserver-info"), xid, "RUNNING"}).status, 1);
}

TEST(Monitor, VserverInfo) {
  constexpr uint16_t kXid = 41105;
  Workload w(kXid, {"/bin/sleep", "1000"});
  ASSERT_TRUE(w.wait_procs(1));
  const std::string info = tool_path("vserver-info");
  EXPECT_EQ(run_cmd({info, "41105", "RUNNING"}).status, 0);
  EXPECT_EQ(run_cmd({info, "41106", "RUNNING"}).status, 1);
  auto ctx = run_cmd({info, "41105", "CONTEXT"});
  EXPECT_EQ(ctx.status, 0);
  EXPECT_EQ(ctx.out, "41105\n");
  EXPECT_EQ(run_cmd({info, "41106", "CONTEXT"}).status, 1);
  EXPECT_EQ(run_cmd({info, "41105", "XIDTYPE"}).out, "static\n");
  EXPECT_EQ(run_cmd({info, "50000", "XIDTYPE"}).out, "dynamic\n");
  auto init = run_cmd({info, "41105", "INITPID"});
  EXPECT_EQ(init.status, 0) << init.err;
  EXPECT_GT(std::stol(init.out), 1);

  auto refused = run_cmd({info, "41105", "APIVER"});
  EXPECT_EQ(refused.status, 2);
  EXPECT_NE(refused.err.find("APIVER"), std::string::npos) << refused.err;
  EXPECT_EQ(run_cmd({info, "41105", "NOSUCH"}).status, 2);

  // A guest with an empty configuration: the defaults.
  const std::string cfg = root_env().confdir + "/mon1";
  ::mkdir(cfg.c_str(), 0700);
  std::ofstream(cfg + "/vserver.toml") << "";
  auto vdir = run_cmd({info, "mon1", "VDIR"});
  EXPECT_EQ(vdir.status, 0) << vdir.err;
  EXPECT_EQ(vdir.out, root_env().vdirbase + "/mon1\n");
  EXPECT_EQ(run_cmd({info, "mon1", "CFGDIR"}).out, cfg + "\n");
  EXPECT_EQ(run_cmd({info, "mon1", "RUNNING"}).status, 1);
  EXPECT_EQ(run_cmd({info, "nosuch", "VDIR"}).status, 3);
  EXPECT_EQ(run_cmd({info, "../x", "VDIR"}).status, 2);

  auto sys = run_cmd({info, "-", "SYSINFO"});
  EXPECT_EQ(sys.status, 0) << sys.err;
  for (const char* key : {"kernel.release: ", "ns.pid: yes", "cgroup.v2: ", "seccomp: yes",
                          "landlock.abi: ", "pidfd_open: yes", "clone3: yes", "openat2: yes",
                          "bpf.cgroup.bind4: yes", "bpf.lsm: ",
                          "landlock.scope_abstract_unix: "}) {
    EXPECT_NE(sys.out.find(key), std::string::npos) << key << "\n" << sys.out;
  }
}

// ---- a guest started with `vserver NAME start` ----

CmdResult vserver(std::vector<std::string> args) {
  args.insert(args.begin(), tool_path("vserver"));
  return run_cmd(args, 60);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A busybox guest whose minit runs sh with two sleepers (4 processes), stopped and deleted
// at scope exit.
class StartedGuest {
 public:
  explicit StartedGuest(std::string name) : name_(std::move(name)) {
    built_ = vserver({name_, "build", "-m", "busybox", "--quiet"});
    if (built_.status != 0) return;
    const std::string toml_path = root_env().confdir + "/" + name_ + "/vserver.toml";
    std::string toml = slurp(toml_path);
    size_t at = toml.find("style = \"minit\"");
    if (at == std::string::npos) {
      built_.status = -1;
      built_.err = "no minit style in " + toml;
      return;
    }
    toml.insert(at + 15, "\ncommand = [\"/bin/sh\", \"-c\", \"sleep 1000 & sleep 1000 & wait\"]");
    std::ofstream(toml_path, std::ios::trunc) << toml;
    started_ = vserver({name_, "start"});
  }
  StartedGuest(const StartedGuest&) = delete;
  StartedGuest& operator=(const StartedGuest&) = delete;
  ~StartedGuest() {
    (void)vserver({name_, "stop", "--kill"});
    (void)vserver({name_, "delete", "--yes"});
  }
  /// Empty if built and started, else why not.
  [[nodiscard]] std::string failure() const {
    if (built_.status != 0) return "build: " + built_.err;
    if (started_.status != 0) return "start: " + started_.err;
    return "";
  }

 private:
  std::string name_;
  CmdResult built_;
  CmdResult started_;
};

// The xid of a running guest from `vserver-info NAME CONTEXT`.
std::optional<uint16_t> info_context(const std::string& name) {
  auto r = run_cmd({tool_path("vserver-info"), name, "CONTEXT"});
  if (r.status != 0 || r.out.empty() || r.out.back() != '\n') return std::nullopt;
  auto x = Xid::parse(std::string_view(r.out).substr(0, r.out.size() - 1));
  if (!x || !x->is_context()) return std::nullopt;
  return x->value();
}

// The pids of a context, waiting (at most 20 s) until there are `n`.
std::vector<pid_t> wait_context_pids(uint16_t xid, size_t n) {
  auto layout = vs::shim::CgroupLayout::discover();
  if (!layout) return {};
  for (int i = 0; i < 1000; ++i) {
    auto cg = vs::shim::ContextCgroup::open(*layout, shim_config().cgroup, Xid(xid));
    if (cg) {
      auto pids = cg->pids();
      if (pids && pids->size() == n) return *pids;
    }
    sleep_ms(20);
  }
  return {};
}

// The CONTEXT and NAME words vps printed after each pid ("PID" -> "CONTEXT NAME").
std::map<pid_t, std::string> vps_columns(const std::string& out) {
  std::map<pid_t, std::string> cols;
  std::istringstream in(out);
  std::string line;
  std::getline(in, line);  // header: PID CONTEXT NAME TTY STAT TIME COMMAND
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string pid, ctx, name;
    words >> pid >> ctx >> name;
    cols[static_cast<pid_t>(std::stol(pid))] = ctx + " " + name;
  }
  return cols;
}

TEST(Monitor, StartedGuestInVpsStatAndInfo) {
  const std::string name = "mon-started";
  StartedGuest guest(name);
  ASSERT_EQ(guest.failure(), "");
  const std::string info = tool_path("vserver-info");
  EXPECT_EQ(run_cmd({info, name, "RUNNING"}).status, 0);
  auto xid = info_context(name);
  ASSERT_TRUE(xid.has_value());
  // The xid the start recorded is the one vserver-info names.
  auto status = vserver({name, "status"});
  EXPECT_NE(status.out.find("context " + std::to_string(*xid)), std::string::npos)
      << status.out;
  // minit, sh and two sleepers.
  std::vector<pid_t> pids = wait_context_pids(*xid, 4);
  ASSERT_EQ(pids.size(), 4u);

  // vps: every process of the guest carries its xid and name, and nothing else does.
  auto vps = run_cmd({tool_path("vps"), "ax"});
  ASSERT_EQ(vps.status, 0) << vps.err;
  auto cols = vps_columns(vps.out);
  const std::string mine = std::to_string(*xid) + " " + name;
  for (pid_t p : pids) {
    ASSERT_TRUE(cols.count(p)) << p << "\n" << vps.out;
    EXPECT_EQ(cols[p], mine) << p;
  }
  size_t labelled = 0;
  for (const auto& [pid, c] : cols) labelled += c == mine ? 1 : 0;
  EXPECT_EQ(labelled, pids.size()) << vps.out;
  EXPECT_EQ(cols[::getpid()], "0 MAIN");

  // A process moved into a sub-cgroup of the context is not in the context's own
  // cgroup.procs: vps must still name its context (the per-pid fallback).
  auto layout = vs::shim::CgroupLayout::discover();
  ASSERT_TRUE(layout.has_value());
  const std::string sub = layout->v2_root + "/" + root_env().cgroup_parent + "/" +
                          std::to_string(*xid) + "/mon-sub";
  ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0) << sub;
  std::ofstream(sub + "/cgroup.procs") << pids.back();
  EXPECT_NE(slurp(sub + "/cgroup.procs").find(std::to_string(pids.back())), std::string::npos);
  vps = run_cmd({tool_path("vps"), "-e", "-o", "pid,comm"});
  ASSERT_EQ(vps.status, 0) << vps.err;
  cols = vps_columns(vps.out);
  EXPECT_EQ(cols[pids.back()], mine) << vps.out;
  EXPECT_EQ(cols[pids.front()], mine) << vps.out;

  // vserver-stat: one row with the guest's name and all four processes (also the one in
  // the sub-cgroup).
  auto table = run_cmd({tool_path("vserver-stat")});
  ASSERT_EQ(table.status, 0) << table.err;
  std::string row;
  std::istringstream lines(table.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(std::to_string(*xid) + " ", 0) == 0) row = line;
  }
  ASSERT_FALSE(row.empty()) << table.out;
  std::istringstream words(row);
  std::string ctx, procs;
  words >> ctx >> procs;
  EXPECT_EQ(procs, "4") << row;
  EXPECT_EQ(row.substr(row.rfind(' ') + 1), name) << row;
  std::string json = json_row(*xid);
  EXPECT_NE(json.find("name='" + name + "'"), std::string::npos) << json;
  EXPECT_EQ(field(json, "processes"), 4u) << json;

  // Stopped: no longer running, no context, and vps shows none of its processes.
  auto stopped = vserver({name, "stop", "--kill"});
  ASSERT_EQ(stopped.status, 0) << stopped.err;
  EXPECT_EQ(run_cmd({info, name, "RUNNING"}).status, 1);
  EXPECT_EQ(run_cmd({info, name, "CONTEXT"}).status, 1);
  vps = run_cmd({tool_path("vps"), "ax"});
  ASSERT_EQ(vps.status, 0) << vps.err;
  EXPECT_EQ(vps.out.find(" " + name), std::string::npos) << vps.out;
}

}  // namespace
}  // namespace vs::test
