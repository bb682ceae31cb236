// lib/base/escape: terminal, JSON and Prometheus escaping of guest-controlled text.
#include "lib/base/escape.h"

#include <gtest/gtest.h>

#include <string>

namespace vs {
namespace {

TEST(EscapeTerminal, KeepsPrintableAscii) {
  EXPECT_EQ(escape_terminal("web1 sleep 10"), "web1 sleep 10");
}

TEST(EscapeTerminal, EscapesControlBytesAndBackslash) {
  EXPECT_EQ(escape_terminal("a\nb\tc\rd\x1b[31me\\f"), "a\\nb\\tc\\rd\\e[31me\\\\f");
  EXPECT_EQ(escape_terminal(std::string("x\0y", 3)), "x\\x00y");
  EXPECT_EQ(escape_terminal("\x7f\x07"), "\\x7f\\x07");
}

TEST(EscapeTerminal, EscapesEveryNonAsciiByte) {
  // U+009B (CSI as a C1 control) and U+202E (right-to-left override), UTF-8 encoded.
  EXPECT_EQ(escape_terminal("\xc2\x9b" "2J"), "\\xc2\\x9b2J");
  EXPECT_EQ(escape_terminal("\xe2\x80\xae"), "\\xe2\\x80\\xae");
}

TEST(EscapeTerminal, CapsLength) {
  std::string big(1000, 'a');
  std::string out = escape_terminal(big, 10);
  EXPECT_EQ(out, "aaaaaaaaaa...");
  EXPECT_EQ(escape_terminal("abc", 3), "abc");
}

TEST(JsonString, EscapesQuotesBackslashesControls) {
  EXPECT_EQ(json_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(json_string("\n\t\r\b\f"), "\"\\n\\t\\r\\b\\f\"");
  EXPECT_EQ(json_string("\x1b[0m\x01\x7f"), "\"\\u001b[0m\\u0001\\u007f\"");
  EXPECT_EQ(json_string(std::string("\0", 1)), "\"\\u0000\"");
}

TEST(JsonString, KeepsValidUtf8AndEscapesInvalidBytes) {
  EXPECT_EQ(json_string("caf\xc3\xa9"), "\"caf\xc3\xa9\"");
  EXPECT_EQ(json_string("\xff\xfe"), "\"\\u00ff\\u00fe\"");
  // Truncated sequence, overlong '/', surrogate half.
  EXPECT_EQ(json_string("\xe2\x82"), "\"\\u00e2\\u0082\"");
  EXPECT_EQ(json_string("\xc0\xaf"), "\"\\u00c0\\u00af\"");
  EXPECT_EQ(json_string("\xed\xa0\x80"), "\"\\u00ed\\u00a0\\u0080\"");
}

TEST(PrometheusLabel, EscapesPerTheFormat) {
  EXPECT_EQ(prometheus_label("web1"), "web1");
  EXPECT_EQ(prometheus_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(prometheus_label("\x1b\xff"), "\\\\x1b\\\\xff");
}

}  // namespace
}  // namespace vs
