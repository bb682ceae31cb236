// lib/monitor: vserver-stat formats, the ps output join of vps, and the cgroup counters
// vserver-stat reads (v1 and v2) from fake cgroup directories.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "kernel-shim/limits.h"
#include "lib/monitor/stat.h"
#include "lib/monitor/stat_format.h"
#include "lib/monitor/vps.h"
#include "tests/support/temp_tree.h"

namespace vs::monitor {
namespace {

ContextStat sample(uint16_t xid, std::string name) {
  ContextStat s;
  s.xid = shim::Xid(xid);
  s.name = std::move(name);
  s.processes = 3;
  s.vsz_bytes = 3 * 1024 * 1024;
  s.created = 1000;
  s.uptime_s = 65;
  s.usage.memory_rss = 64ull << 20;
  s.usage.pids_current = 4;
  s.usage.cpu_user_usec = 1250000;
  s.usage.cpu_system_usec = 20000;
  s.usage.memory_oom_kill = 1;
  s.usage.memory_failcnt = 7;
  s.usage.pids_max_hits = 2;
  s.usage.cpu_nr_throttled = 5;
  return s;
}

TEST(HumanSize, Units) {
  EXPECT_EQ(human_size(0), "0");
  EXPECT_EQ(human_size(1023), "1023");
  EXPECT_EQ(human_size(1536), "1.5K");
  EXPECT_EQ(human_size(64ull << 20), "64.0M");
  EXPECT_EQ(human_size(3ull << 30), "3.0G");
}

TEST(HumanDuration, ThreeRanges) {
  EXPECT_EQ(human_duration_usec(5250000), "0m05s25");
  EXPECT_EQ(human_duration_usec((3 * 3600 + 4 * 60 + 5) * 1000000ull), "3h04m05");
  EXPECT_EQ(human_duration_usec((2 * 86400 + 3 * 3600 + 12 * 60) * 1000000ull), "2d03h12");
}

TEST(StatTable, HeaderRowsAndEscapedName) {
  std::string t = format_stat_table({sample(42, "web1"), sample(43, "\x1b[2J\nevil")}, false);
  EXPECT_EQ(t.substr(0, t.find('\n')),
            "CTX    PROC    VSZ    RSS  userTIME   sysTIME    UPTIME NAME");
  EXPECT_NE(t.find("42        3   3.0M  64.0M   0m01s25   0m00s02   1m05s00 web1\n"),
            std::string::npos)
      << t;
  EXPECT_NE(t.find("\\e[2J\\nevil\n"), std::string::npos) << t;
  EXPECT_EQ(t.find('\x1b'), std::string::npos);
  // Three lines: header and two rows (the newline in the name did not make a fourth).
  EXPECT_EQ(std::count(t.begin(), t.end(), '\n'), 3);
}

TEST(StatTable, FailCountersAndMissingValues) {
  ContextStat s = sample(42, "");
  s.usage.memory_rss.reset();
  s.usage.pids_max_hits.reset();
  std::string t = format_stat_table({s}, true);
  EXPECT_NE(t.find("OOM MEMFAIL PIDFAIL THROTTLED NAME"), std::string::npos) << t;
  EXPECT_NE(t.find("      1       7       -         5 -\n"), std::string::npos) << t;
}

TEST(StatJson, KeysTypesAndNulls) {
  ContextStat s = sample(42, "we\"b\n");
  s.usage.memory_current.reset();
  std::string j = format_stat_json({s, sample(43, "")});
  EXPECT_EQ(j.substr(0, 25), "{\"contexts\":[{\"xid\":42,\"n");
  EXPECT_NE(j.find("\"name\":\"we\\\"b\\n\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"memory_bytes\":null"), std::string::npos);
  EXPECT_NE(j.find("\"rss_bytes\":67108864"), std::string::npos);
  EXPECT_NE(j.find("\"xid\":43,\"name\":null"), std::string::npos);
  EXPECT_EQ(j.back(), '\n');
  EXPECT_EQ(format_stat_json({}), "{\"contexts\":[]}\n");
}

TEST(StatPrometheus, HelpTypeAndEscapedLabels) {
  ContextStat s = sample(42, "a\"b\\c\nd");
  s.usage.memory_current.reset();
  std::string p = format_stat_prometheus({s});
  EXPECT_NE(p.find("# HELP vserver_context_processes "), std::string::npos);
  EXPECT_NE(p.find("# TYPE vserver_context_processes gauge\n"), std::string::npos);
  EXPECT_NE(p.find("# TYPE vserver_context_oom_kills_total counter\n"), std::string::npos);
  EXPECT_NE(p.find("vserver_context_processes{xid=\"42\",name=\"a\\\"b\\\\c\\nd\"} 3\n"),
            std::string::npos)
      << p;
  EXPECT_NE(p.find("vserver_context_cpu_user_seconds_total{xid=\"42\",name=\"a\\\"b\\\\c\\nd\"} "
                   "1.250000\n"),
            std::string::npos);
  EXPECT_EQ(p.find("vserver_context_memory_usage_bytes{"), std::string::npos);
  EXPECT_NE(p.find("vserver_contexts 1\n"), std::string::npos);
  // Every line is a comment or "name{labels} value": no raw newline inside a label.
  size_t pos = 0;
  while (pos < p.size()) {
    size_t end = p.find('\n', pos);
    std::string line = p.substr(pos, end - pos);
    EXPECT_TRUE(line.rfind("# ", 0) == 0 || line.rfind("vserver_", 0) == 0) << line;
    pos = end + 1;
  }
}

TEST(Statm, FirstField) {
  auto p = parse_statm_pages("2345 120 80 10 0 200 0\n");
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, 2345u);
  EXPECT_FALSE(parse_statm_pages("x 1"));
  EXPECT_FALSE(parse_statm_pages(""));
}

TEST(PidColumn, FindsPidNotPpid) {
  auto c = find_pid_column("    PID TTY      STAT   TIME COMMAND");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->word, 0u);
  EXPECT_EQ(c->end, 7u);
  c = find_pid_column("UID          PID    PPID  C STIME TTY          TIME CMD");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->word, 1u);
  EXPECT_EQ(c->end, 16u);
  EXPECT_FALSE(find_pid_column("   PPID COMMAND"));
}

TEST(PidOnLine, AlignedAndShifted) {
  PidColumn col{1, 16};
  auto p = pid_on_line("root           1       0  0 10:00 ?        00:00:01 /sbin/init", col);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->first, 1);
  EXPECT_EQ(p->second, 16u);
  // A long user name pushed the pid right: found by its word index.
  p = pid_on_line("averyveryverylonguser  4242  1  0 10:00 ? 00:00:00 x", col);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->first, 4242);
  EXPECT_FALSE(pid_on_line("garbage", col));
}

TEST(AnnotatePs, InsertsColumnsAfterPid) {
  const std::string ps =
      "    PID TTY      STAT   TIME COMMAND\n"
      "      1 ?        Ss     0:01 /sbin/init\n"
      "   4242 ?        S      0:00 sleep 100\n";
  bool found = false;
  std::string out = annotate_ps(
      ps,
      [](pid_t pid) {
        return pid == 4242 ? ContextLabel{"42", "web1"} : ContextLabel{"0", "MAIN"};
      },
      &found);
  EXPECT_TRUE(found);
  EXPECT_EQ(out,
            "    PID CONTEXT NAME         TTY      STAT   TIME COMMAND\n"
            "      1       0 MAIN         ?        Ss     0:01 /sbin/init\n"
            "   4242      42 web1         ?        S      0:00 sleep 100\n");
}

TEST(AnnotatePs, NoPidColumnLeavesOutputAlone) {
  bool found = true;
  std::string out = annotate_ps("COMMAND\nsleep\n", [](pid_t) { return ContextLabel{}; }, &found);
  EXPECT_FALSE(found);
  EXPECT_EQ(out, "COMMAND\nsleep\n");
}

void put(const std::string& dir, const std::string& name, const std::string& text) {
  std::ofstream(dir + "/" + name) << text;
}

TEST(CgroupCounters, V1Files) {
  vs::test::ScopedTempDir tmp;
  const std::string mem = tmp.path() + "/memory", pids = tmp.path() + "/pids",
                    cpu = tmp.path() + "/cpu", acct = tmp.path() + "/cpuacct";
  for (const auto& d : {mem, pids, cpu, acct}) ::mkdir(d.c_str(), 0700);
  put(mem, "memory.usage_in_bytes", "80000000\n");
  put(mem, "memory.max_usage_in_bytes", "90000000\n");
  put(mem, "memory.failcnt", "12\n");
  put(mem, "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  put(mem, "memory.stat", "cache 100\nrss 5\ntotal_cache 100\ntotal_rss 67108864\n"
                          "total_mapped_file 4096\n");
  put(pids, "pids.current", "3\n");
  put(pids, "pids.events", "max 4\n");
  put(cpu, "cpu.stat", "nr_periods 10\nnr_throttled 6\nthrottled_time 5000000\n");
  put(acct, "cpuacct.usage", "3000000000\n");
  put(acct, "cpuacct.usage_user", "2000000000\n");
  put(acct, "cpuacct.usage_sys", "1000000000\n");
  shim::LimitDirs dirs;
  dirs.memory = shim::LimitDir{shim::CgroupVersion::kV1, mem};
  dirs.pids = shim::LimitDir{shim::CgroupVersion::kV1, pids};
  dirs.cpu = shim::LimitDir{shim::CgroupVersion::kV1, cpu};
  dirs.cpuacct = shim::LimitDir{shim::CgroupVersion::kV1, acct};
  auto u = shim::read_cgroup_usage(dirs);
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_EQ(u->memory_rss, 67108864u + 4096u);
  EXPECT_EQ(u->memory_failcnt, 12u);
  EXPECT_EQ(u->memory_oom_kill, 2u);
  EXPECT_EQ(u->pids_current, 3u);
  EXPECT_EQ(u->pids_max_hits, 4u);
  EXPECT_EQ(u->cpu_nr_throttled, 6u);
  EXPECT_EQ(u->cpu_user_usec, 2000000u);
  EXPECT_EQ(u->cpu_system_usec, 1000000u);
  EXPECT_EQ(u->cpu_usage_usec, 3000000u);
}

TEST(CgroupCounters, V2Files) {
  vs::test::ScopedTempDir tmp;
  const std::string d = tmp.path();
  put(d, "memory.current", "70000000\n");
  put(d, "memory.events", "low 0\nhigh 0\nmax 9\noom 1\noom_kill 1\n");
  put(d, "memory.stat", "anon 67108864\nfile 1000\nfile_mapped 8192\n");
  put(d, "pids.current", "2\n");
  put(d, "pids.events", "max 3\n");
  put(d, "cpu.stat", "usage_usec 300\nuser_usec 200\nsystem_usec 100\nnr_periods 5\n"
                     "nr_throttled 1\nthrottled_usec 50\n");
  shim::LimitDirs dirs;
  dirs.memory = shim::LimitDir{shim::CgroupVersion::kV2, d};
  dirs.pids = shim::LimitDir{shim::CgroupVersion::kV2, d};
  dirs.cpu = shim::LimitDir{shim::CgroupVersion::kV2, d};
  dirs.cpuacct = shim::LimitDir{shim::CgroupVersion::kV2, d};
  auto u = shim::read_cgroup_usage(dirs);
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_EQ(u->memory_rss, 67108864u + 8192u);
  EXPECT_EQ(u->memory_failcnt, 9u);
  EXPECT_EQ(u->memory_oom_kill, 1u);
  EXPECT_EQ(u->pids_max_hits, 3u);
  EXPECT_EQ(u->cpu_user_usec, 200u);
  EXPECT_EQ(u->cpu_system_usec, 100u);
  EXPECT_EQ(u->cpu_nr_throttled, 1u);
}

}  // namespace
}  // namespace vs::monitor
