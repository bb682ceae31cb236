// Escaping of guest-controlled text (SECURITY.md: guest data is data): the one place that
// turns bytes a guest chose (process names, argv, hostnames, names read from a state file)
// into text that is safe on a terminal, in JSON and in the Prometheus text format.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace vs {

/// Bytes kept by escape_terminal() by default: a guest name is at most 63, a comm 15.
inline constexpr size_t kTerminalCap = 256;

/// Text safe to print on a terminal: printable ASCII (0x20..0x7e) is kept, except the
/// backslash which becomes `\\`; \n, \t, \r, ESC become `\n`, `\t`, `\r`, `\e`; every other
/// byte (controls, DEL, every byte >= 0x80, so no C1 control, bidi override or invalid
/// UTF-8 can reach the terminal) becomes `\xHH`. At most `max_bytes` input bytes are
/// shown; a longer input ends with `...`.
std::string escape_terminal(std::string_view s, size_t max_bytes = kTerminalCap);

/// A JSON string literal, quotes included, that is always valid JSON: `"` and `\` escaped,
/// control bytes as \uXXXX (\n \t \r \b \f short forms), valid UTF-8 kept as is, and every
/// byte of an invalid UTF-8 sequence as \u00XX (its Latin-1 code point), so the output is
/// valid UTF-8 whatever the input.
std::string json_string(std::string_view s);

/// The value of a Prometheus label (text exposition format 0.0.4), without the quotes:
/// `\` -> `\\`, `"` -> `\"`, newline -> `\n`; other control bytes and invalid UTF-8 bytes
/// become `\\xHH` text (the format has no other escapes, and must stay valid UTF-8).
std::string prometheus_label(std::string_view s);

}  // namespace vs
