// Namespace names and lists (kernel-shim/ns.h): parse_ns_list, format_ns_list,
// default_namespaces and the kNamespaces table. Names are those of /proc/PID/ns/.
#include <gtest/gtest.h>
#include <linux/sched.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "kernel-shim/ns.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace vs::shim {
namespace {

struct Known {
  const char* name;
  NsSet flag;
};

// From namespaces(7) and clone(2): the /proc/PID/ns name and the CLONE_NEW* flag of each kind.
const Known kKnown[] = {
    {"user", CLONE_NEWUSER},     {"mnt", CLONE_NEWNS},    {"pid", CLONE_NEWPID},
    {"uts", CLONE_NEWUTS},       {"ipc", CLONE_NEWIPC},   {"net", CLONE_NEWNET},
    {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
};

NsSet all_flags() {
  NsSet all = 0;
  for (const auto& k : kKnown) all |= k.flag;
  return all;
}

TEST(NsTable, EveryKindHasTheKernelNameAndFlag) {
  ASSERT_EQ(kNamespaces.size(), std::size(kKnown));
  NsSet seen = 0;
  for (const auto& info : kNamespaces) {
    bool found = false;
    for (const auto& k : kKnown) {
      if (std::string(info.name) == k.name) {
        found = true;
        EXPECT_EQ(info.clone_flag, k.flag) << info.name;
      }
    }
    EXPECT_TRUE(found) << "unknown namespace name in kNamespaces: " << info.name;
    EXPECT_EQ(seen & info.clone_flag, 0u) << "listed twice: " << info.name;
    seen |= info.clone_flag;
  }
  EXPECT_EQ(seen, all_flags());
}

TEST(NsTable, NamesExistUnderProcSelfNs) {
  for (const auto& info : kNamespaces) {
    std::string path = std::string("/proc/self/ns/") + info.name;
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  }
}

TEST(NsTable, UserIsJoinedFirst) {
  EXPECT_EQ(std::string(kNamespaces[0].name), "user");
  EXPECT_EQ(kNamespaces[0].type, NsType::kUser);
}

TEST(NsDefault, IsMntPidUtsIpcCgroup) {
  EXPECT_EQ(default_namespaces(),
            NsSet{CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP});
}

TEST(ParseNsList, TwoNames) {
  auto r = parse_ns_list("mnt,pid");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, NsSet{CLONE_NEWNS | CLONE_NEWPID});
}

TEST(ParseNsList, OrderDoesNotMatter) {
  auto a = parse_ns_list("pid,mnt,net");
  ASSERT_TRUE(a) << a.error().message();
  EXPECT_EQ(*a, NsSet{CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET});
}

TEST(ParseNsList, EverySingleName) {
  for (const auto& k : kKnown) {
    auto r = parse_ns_list(k.name);
    ASSERT_TRUE(r) << k.name << ": " << r.error().message();
    EXPECT_EQ(*r, k.flag) << k.name;
  }
}

TEST(ParseNsList, AllEight) {
  auto r = parse_ns_list("mnt,pid,uts,ipc,net,cgroup,user,time");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, all_flags());
}

TEST(ParseNsList, DuplicateIsAnError) {
  for (const char* list : {"mnt,mnt", "pid,mnt,pid"}) {
    auto r = parse_ns_list(list);
    ASSERT_FALSE(r) << "accepted `" << list << "`";
    EXPECT_EQ(r.error().kind, ErrorKind::kUsage);
    std::string m = r.error().message();
    const char* dup = std::string(list) == "mnt,mnt" ? "mnt" : "pid";
    EXPECT_NE(m.find(dup), std::string::npos) << "names the duplicate: " << m;
  }
}

TEST(ParseNsList, UnknownNameListsWhatIsAllowed) {
  auto r = parse_ns_list("foo");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kUsage);
  std::string m = r.error().message();
  EXPECT_NE(m.find("foo"), std::string::npos) << m;
  for (const auto& k : kKnown) EXPECT_NE(m.find(k.name), std::string::npos) << k.name << ": " << m;
}

TEST(ParseNsList, UnknownAmongKnown) {
  auto r = parse_ns_list("mnt,network,pid");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::kUsage);
  EXPECT_NE(r.error().message().find("network"), std::string::npos) << r.error().message();
}

TEST(ParseNsList, EmptyAndMalformedListsAreErrors) {
  for (const char* list : {"", ",", "mnt,", ",mnt", "mnt,,pid", "mnt pid", " mnt", "mnt ",
                           "mnt;pid", "mount", "ns", "newns"}) {
    auto r = parse_ns_list(list);
    EXPECT_FALSE(r) << "accepted `" << list << "` as " << (r ? *r : 0);
    if (!r) {
      EXPECT_EQ(r.error().kind, ErrorKind::kUsage) << list;
    }
  }
}

TEST(FormatNsList, HeaderExample) {
  EXPECT_EQ(format_ns_list(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS), "mnt,pid,uts");
}

TEST(FormatNsList, SingleKind) {
  for (const auto& k : kKnown) EXPECT_EQ(format_ns_list(k.flag), k.name);
}

TEST(FormatNsList, RoundTripsEverySubset) {
  std::vector<NsSet> flags;
  for (const auto& k : kKnown) flags.push_back(k.flag);
  for (unsigned mask = 1; mask < (1u << flags.size()); ++mask) {
    NsSet set = 0;
    for (size_t i = 0; i < flags.size(); ++i) {
      if (mask & (1u << i)) set |= flags[i];
    }
    std::string text = format_ns_list(set);
    auto back = parse_ns_list(text);
    ASSERT_TRUE(back) << "`" << text << "`: " << back.error().message();
    EXPECT_EQ(*back, set) << text;
  }
}

}  // namespace
}  // namespace vs::shim
