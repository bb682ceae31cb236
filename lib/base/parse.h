// Strict number parsing (STYLE.md R14): the whole string, no sign, no junk, no overflow.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "lib/base/result.h"

namespace vs {

/// Parses a decimal unsigned integer in [min, max]. Rejects empty input, signs, leading zeros
/// (octal ambiguity: "052"), whitespace, hex and trailing junk. `what` names the value in
/// the error ("xid", "signal"). Errors are usage errors (exit 2).
Result<uint64_t> parse_uint(std::string_view text, uint64_t min, uint64_t max,
                            std::string_view what);

/// Like parse_uint but accepts one trailing '\n' (the content of a one-value file).
Result<uint64_t> parse_uint_line(std::string_view text, uint64_t min, uint64_t max,
                                 std::string_view what);

/// Parses a signal name ("KILL", "SIGKILL", "kill") or number (0..64; 0 is kill(2)'s
/// existence check).
Result<int> parse_signal(std::string_view text);

/// The words of a change list ("a,~b c"): split on commas and blanks, empty words dropped.
std::vector<std::string_view> split_list(std::string_view list);
/// Strips a leading `~` or `!` from a change-list word; true if there was one (a removal).
bool strip_removal(std::string_view* word);

/// The canonical name of a signal without "SIG" ("KILL"), or the number as text.
std::string signal_name(int sig);

}  // namespace vs
