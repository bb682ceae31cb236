// Strict number and signal parsing (lib/base/parse.h, STYLE.md R14): the whole string, no sign,
// no leading zero, no whitespace, no hex, no overflow; errors are usage errors naming the text.
#include "lib/base/parse.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <cstdint>
#include <limits>
#include <string>

#include "lib/base/exit_code.h"

namespace vs {
namespace {

TEST(ParseUint, AcceptsPlainDecimal) {
  auto r = parse_uint("42", 0, 100, "xid");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, 42u);
}

TEST(ParseUint, AcceptsASingleZero) {
  auto r = parse_uint("0", 0, 100, "xid");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, 0u);
}

TEST(ParseUint, AcceptsTheBoundsOfTheRange) {
  auto lo = parse_uint("2", 2, 49151, "xid");
  auto hi = parse_uint("49151", 2, 49151, "xid");
  ASSERT_TRUE(lo);
  ASSERT_TRUE(hi);
  EXPECT_EQ(*lo, 2u);
  EXPECT_EQ(*hi, 49151u);
}

TEST(ParseUint, AcceptsUint64Max) {
  const uint64_t max = std::numeric_limits<uint64_t>::max();
  auto r = parse_uint("18446744073709551615", 0, max, "n");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, max);
}

struct BadCase {
  const char* text;
  uint64_t min;
  uint64_t max;
};

class ParseUintRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(ParseUintRejects, WithAUsageErrorNamingTheText) {
  const BadCase& c = GetParam();
  auto r = parse_uint(c.text, c.min, c.max, "widget count");
  ASSERT_FALSE(r) << "`" << c.text << "` was accepted as " << *r;
  const Error& e = r.error();
  EXPECT_EQ(e.kind, ErrorKind::kUsage);
  EXPECT_EQ(exit_code_for(e), kExitUsage);
  std::string m = e.message();
  EXPECT_NE(m.find("widget count"), std::string::npos) << "names what was parsed: " << m;
  if (c.text[0] != '\0') {
    EXPECT_NE(m.find(c.text), std::string::npos) << "names the bad text: " << m;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Strictness, ParseUintRejects,
    ::testing::Values(BadCase{"042", 0, 100},    // leading zero (octal?)
                      BadCase{"00", 0, 100},     // leading zero
                      BadCase{"+42", 0, 100},    // sign
                      BadCase{"-1", 0, 100},     // sign
                      BadCase{"-0", 0, 100},     // sign
                      BadCase{" 42", 0, 100},    // leading space
                      BadCase{"42 ", 0, 100},    // trailing space
                      BadCase{"4 2", 0, 100},    // inner space
                      BadCase{"42\n", 0, 100},   // newline (see parse_uint_line)
                      BadCase{"\t42", 0, 100},   // tab
                      BadCase{"0x2a", 0, 100},   // hex
                      BadCase{"2a", 0, 100},     // trailing junk
                      BadCase{"42abc", 0, 100},  // trailing junk
                      BadCase{"1e3", 0, 10000},  // exponent
                      BadCase{"4.0", 0, 100},    // decimal point
                      BadCase{"", 0, 100},       // empty
                      BadCase{"99999999999999999999", 0, UINT64_MAX},  // > 2^64-1
                      BadCase{"18446744073709551616", 0, UINT64_MAX},  // 2^64
                      BadCase{"1", 2, 10},                             // below min
                      BadCase{"11", 2, 10},                            // above max
                      BadCase{"0", 1, 10},                             // below min
                      BadCase{"65536", 0, 65535}));                    // above max

TEST(ParseUintLine, AcceptsOneTrailingNewline) {
  auto r = parse_uint_line("42\n", 0, 100, "xid");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, 42u);
}

TEST(ParseUintLine, AcceptsNoNewline) {
  auto r = parse_uint_line("42", 0, 100, "xid");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, 42u);
}

TEST(ParseUintLine, RejectsMoreThanOneNewlineAndOtherJunk) {
  for (const char* text : {"42\n\n", "\n", "", "42\r\n", " 42\n", "42 \n", "\n42", "042\n"}) {
    auto r = parse_uint_line(text, 0, 100, "xid");
    EXPECT_FALSE(r) << "accepted `" << text << "`";
    if (!r) {
      EXPECT_EQ(r.error().kind, ErrorKind::kUsage) << text;
    }
  }
}

TEST(ParseUintLine, StillChecksTheRange) {
  auto r = parse_uint_line("101\n", 0, 100, "xid");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("101"), std::string::npos) << r.error().message();
}

TEST(ParseSignal, AcceptsNamesWithAndWithoutSigPrefixInAnyCase) {
  struct {
    const char* text;
    int sig;
  } cases[] = {
      {"KILL", SIGKILL},    {"SIGKILL", SIGKILL}, {"kill", SIGKILL},    {"sigkill", SIGKILL},
      {"SigKill", SIGKILL}, {"TERM", SIGTERM},    {"SIGTERM", SIGTERM}, {"HUP", SIGHUP},
      {"int", SIGINT},      {"USR1", SIGUSR1},    {"SIGUSR2", SIGUSR2}, {"STOP", SIGSTOP},
      {"CONT", SIGCONT},    {"WINCH", SIGWINCH},  {"CHLD", SIGCHLD},    {"PWR", SIGPWR},
  };
  for (const auto& c : cases) {
    auto r = parse_signal(c.text);
    ASSERT_TRUE(r) << c.text << ": " << r.error().message();
    EXPECT_EQ(*r, c.sig) << c.text;
  }
}

TEST(ParseSignal, AcceptsNumbersZeroToSixtyFour) {
  // 0 is kill(2)'s existence check: a valid number, sent to nobody.
  for (const char* text : {"0", "1", "9", "15", "34", "64"}) {
    auto r = parse_signal(text);
    ASSERT_TRUE(r) << text << ": " << r.error().message();
    EXPECT_EQ(*r, std::stoi(text));
  }
}

TEST(ParseSignal, RejectsOutOfRangeNumbersAndUnknownNames) {
  // parse.h: "a signal name ... or number (0..64)".
  for (const char* text :
       {"65", "99999999999999999999", "-9", "+9", "09", "9 ", " 9", "0x9", "FOO", "SIGFOO", "SIG",
        "", "KILL ", " KILL", "SIGSIGKILL", "SIG_KILL", "KILL9"}) {
    auto r = parse_signal(text);
    EXPECT_FALSE(r) << "accepted `" << text << "` as " << (r ? *r : 0);
    if (!r) {
      EXPECT_EQ(r.error().kind, ErrorKind::kUsage) << text;
      if (text[0] != '\0') {
        EXPECT_NE(r.error().message().find(text), std::string::npos)
            << "names the bad text: " << r.error().message();
      }
    }
  }
}

TEST(SignalName, CanonicalNamesWithoutSig) {
  EXPECT_EQ(signal_name(SIGKILL), "KILL");
  EXPECT_EQ(signal_name(SIGTERM), "TERM");
  EXPECT_EQ(signal_name(SIGHUP), "HUP");
  EXPECT_EQ(signal_name(SIGUSR1), "USR1");
}

TEST(SignalName, UnnamedSignalIsItsNumber) {
  EXPECT_EQ(signal_name(SIGRTMIN + 1), std::to_string(SIGRTMIN + 1));
  EXPECT_EQ(signal_name(64), "64");
}

TEST(SignalName, RoundTripsThroughParseSignal) {
  for (int sig = 1; sig <= 64; ++sig) {
    std::string name = signal_name(sig);
    ASSERT_FALSE(name.empty()) << sig;
    EXPECT_NE(name.rfind("SIG", 0), 0u) << "no SIG prefix: " << name;
    auto r = parse_signal(name);
    ASSERT_TRUE(r) << sig << " -> `" << name << "`: " << r.error().message();
    EXPECT_EQ(*r, sig) << name;
  }
}

}  // namespace
}  // namespace vs
