// vs::shim::Xid (kernel-shim/xid.h, STYLE.md R14, DESIGN.md "The context"): 0 host, 1 watch,
// 2..49151 static, 49152..65535 dynamic; strict parsing.
#include "kernel-shim/xid.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <type_traits>

namespace vs::shim {
namespace {

TEST(Xid, RangeConstantsMatchTheDesign) {
  EXPECT_EQ(Xid::kHost, 0);
  EXPECT_EQ(Xid::kWatch, 1);
  EXPECT_EQ(Xid::kStaticMin, 2);
  EXPECT_EQ(Xid::kStaticMax, 49151);
  EXPECT_EQ(Xid::kDynamicMin, 49152);
  EXPECT_EQ(Xid::kDynamicMax, 65535);
}

TEST(Xid, ParseAcceptsTheWholeRange) {
  struct {
    const char* text;
    unsigned value;
  } cases[] = {{"0", 0},         {"1", 1},         {"2", 2},        {"42", 42},
               {"49151", 49151}, {"49152", 49152}, {"65535", 65535}};
  for (const auto& c : cases) {
    auto x = Xid::parse(c.text);
    ASSERT_TRUE(x) << c.text << ": " << x.error().message();
    EXPECT_EQ(x->value(), c.value) << c.text;
  }
}

TEST(Xid, ParseRejectsJunk) {
  for (const char* text : {"65536", "-1", "1e3", "", "042", "00", "+5", " 5", "5 ", "5\n", "0x10",
                           "4294967298", "99999999999999999999", "xid", "5a"}) {
    auto x = Xid::parse(text);
    EXPECT_FALSE(x) << "accepted `" << text << "` as " << (x ? x->value() : 0);
    if (!x) {
      EXPECT_EQ(x.error().kind, ErrorKind::kUsage) << text;
      if (text[0] != '\0') {
        EXPECT_NE(x.error().message().find(text), std::string::npos) << x.error().message();
      }
    }
  }
}

TEST(Xid, ParseContextRejectsHostAndWatch) {
  for (const char* text : {"0", "1"}) {
    auto x = Xid::parse_context(text);
    EXPECT_FALSE(x) << "`" << text << "` is reserved, not a context";
    if (!x) {
      EXPECT_EQ(x.error().kind, ErrorKind::kUsage) << text;
    }
  }
}

TEST(Xid, ParseContextAcceptsStaticAndDynamic) {
  struct {
    const char* text;
    unsigned value;
    bool is_static;
  } cases[] = {
      {"2", 2, true}, {"49151", 49151, true}, {"49152", 49152, false}, {"65535", 65535, false}};
  for (const auto& c : cases) {
    auto x = Xid::parse_context(c.text);
    ASSERT_TRUE(x) << c.text << ": " << x.error().message();
    EXPECT_EQ(x->value(), c.value);
    EXPECT_EQ(x->is_static(), c.is_static) << c.text;
    EXPECT_EQ(x->is_dynamic(), !c.is_static) << c.text;
    EXPECT_TRUE(x->is_context()) << c.text;
  }
}

TEST(Xid, ParseContextRejectsWhatParseRejects) {
  for (const char* text : {"65536", "-1", "1e3", "", "02"}) {
    auto x = Xid::parse_context(text);
    EXPECT_FALSE(x) << "accepted `" << text << "`";
    if (!x) {
      EXPECT_EQ(x.error().kind, ErrorKind::kUsage) << text;
    }
  }
}

TEST(Xid, Classification) {
  EXPECT_FALSE(Xid(0).is_context());
  EXPECT_FALSE(Xid(0).is_static());
  EXPECT_FALSE(Xid(0).is_dynamic());
  EXPECT_FALSE(Xid(1).is_context());
  EXPECT_FALSE(Xid(1).is_static());
  EXPECT_FALSE(Xid(1).is_dynamic());
  EXPECT_TRUE(Xid(2).is_static());
  EXPECT_TRUE(Xid(49151).is_static());
  EXPECT_FALSE(Xid(49151).is_dynamic());
  EXPECT_TRUE(Xid(49152).is_dynamic());
  EXPECT_FALSE(Xid(49152).is_static());
  EXPECT_TRUE(Xid(65535).is_dynamic());
  EXPECT_TRUE(Xid(65535).is_context());
}

TEST(Xid, StrRoundTrips) {
  for (unsigned v : {0u, 1u, 2u, 10u, 49151u, 49152u, 65535u}) {
    Xid x(static_cast<uint16_t>(v));
    EXPECT_EQ(x.str(), std::to_string(v));
    auto back = Xid::parse(x.str());
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, x);
  }
}

TEST(Xid, Ordering) {
  EXPECT_EQ(Xid(7), Xid(7));
  EXPECT_NE(Xid(7), Xid(8));
  EXPECT_LT(Xid(2), Xid(49152));
  EXPECT_GT(Xid(65535), Xid(49151));
}

static_assert(!std::is_convertible_v<uint16_t, Xid>, "constructing an Xid is explicit");
static_assert(sizeof(Xid) == sizeof(uint16_t));

}  // namespace
}  // namespace vs::shim
