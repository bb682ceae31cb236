#include "lib/base/parse.h"

#include <signal.h>
#include <string.h>

#include <array>
#include <cctype>
#include <charconv>
#include <string>

namespace vs {

Result<uint64_t> parse_uint(std::string_view text, uint64_t min, uint64_t max,
                            std::string_view what) {
  auto bad = [&](std::string why) {
    return usage_error(std::string(what),
                       "`" + std::string(text) + "` " + why + " (expected a decimal number " +
                           std::to_string(min) + ".." + std::to_string(max) + ")");
  };
  if (text.empty()) return bad("is empty");
  for (char c : text) {
    if (c < '0' || c > '9') return bad("is not a plain decimal number");
  }
  if (text.size() > 1 && text[0] == '0') return bad("has a leading zero");
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec == std::errc::result_out_of_range) return bad("is out of range");
  if (ec != std::errc() || end != text.data() + text.size()) return bad("is not a number");
  if (value < min || value > max) return bad("is out of range");
  return value;
}

Result<uint64_t> parse_uint_line(std::string_view text, uint64_t min, uint64_t max,
                                 std::string_view what) {
  if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  return parse_uint(text, min, max, what);
}

namespace {

struct SigName {
  int sig;
  const char* name;
};

constexpr std::array<SigName, 31> kSignals{{
    {SIGHUP, "HUP"},     {SIGINT, "INT"},       {SIGQUIT, "QUIT"},   {SIGILL, "ILL"},
    {SIGTRAP, "TRAP"},   {SIGABRT, "ABRT"},     {SIGBUS, "BUS"},     {SIGFPE, "FPE"},
    {SIGKILL, "KILL"},   {SIGUSR1, "USR1"},     {SIGSEGV, "SEGV"},   {SIGUSR2, "USR2"},
    {SIGPIPE, "PIPE"},   {SIGALRM, "ALRM"},     {SIGTERM, "TERM"},   {SIGSTKFLT, "STKFLT"},
    {SIGCHLD, "CHLD"},   {SIGCONT, "CONT"},     {SIGSTOP, "STOP"},   {SIGTSTP, "TSTP"},
    {SIGTTIN, "TTIN"},   {SIGTTOU, "TTOU"},     {SIGURG, "URG"},     {SIGXCPU, "XCPU"},
    {SIGXFSZ, "XFSZ"},   {SIGVTALRM, "VTALRM"}, {SIGPROF, "PROF"},   {SIGWINCH, "WINCH"},
    {SIGIO, "IO"},       {SIGPWR, "PWR"},       {SIGSYS, "SYS"},
}};

}  // namespace

Result<int> parse_signal(std::string_view text) {
  if (!text.empty() && text[0] >= '0' && text[0] <= '9') {
    auto n = parse_uint(text, 0, SIGRTMAX, "signal");
    if (!n) return std::move(n).error();
    return static_cast<int>(*n);
  }
  std::string upper;
  for (char c : text) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string_view name = upper;
  if (name.substr(0, 3) == "SIG") name.remove_prefix(3);
  for (const auto& s : kSignals) {
    if (name == s.name) return s.sig;
  }
  return usage_error("signal", "unknown signal `" + std::string(text) +
                                   "` (expected a name like TERM, KILL, HUP or a number)");
}

std::string signal_name(int sig) {
  for (const auto& s : kSignals) {
    if (s.sig == sig) return s.name;
  }
  return std::to_string(sig);
}

std::vector<std::string_view> split_list(std::string_view list) {
  auto sep = [](char c) { return c == ',' || std::isspace(static_cast<unsigned char>(c)); };
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < list.size()) {
    while (i < list.size() && sep(list[i])) ++i;
    size_t j = i;
    while (j < list.size() && !sep(list[j])) ++j;
    if (j > i) out.push_back(list.substr(i, j - i));
    i = j;
  }
  return out;
}

bool strip_removal(std::string_view* word) {
  if (!word->empty() && (word->front() == '~' || word->front() == '!')) {
    word->remove_prefix(1);
    return true;
  }
  return false;
}

}  // namespace vs
