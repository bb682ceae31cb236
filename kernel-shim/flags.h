// Context flags: util-vserver's names, each mapped to what does its job on a stock kernel.
//
// A flag is either recorded (it changes what the shim does: persistent, private), implied
// (the mechanism is always in place in a context that has the namespace it needs: accepted,
// checked, recorded for display) or refused by name with the reason and what to use instead.
#pragma once

#include <sched.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kernel-shim/ns.h"
#include "lib/base/result.h"

namespace vs::shim {

enum class FlagKind { kRecorded, kImplied, kRefused };

struct FlagInfo {
  const char* name;
  FlagKind kind;
  NsSet needs;       ///< namespaces the context must have for the flag to hold
  const char* what;  ///< the mechanism, or (kRefused) why not and what to use instead
};

/// Every flag name this implementation knows, in util-vserver's order.
const std::vector<FlagInfo>& flag_table();
const FlagInfo* find_flag(std::string_view name);

/// Applies a change list ("private,~persistent"; `~` or `!` removes) to the normalized list
/// `current`, for a context with namespaces `ns`. Unknown and refused flags, and implied ones
/// whose namespace the context lacks, are usage errors naming the word. state_setup cannot
/// be set (a sealed context does not return to setup) and lock cannot be cleared.
Result<std::string> apply_flag_changes(std::string_view current, std::string_view list, NsSet ns);

/// True if `flag` is in a normalized list.
bool has_flag(std::string_view normalized, std::string_view flag);

}  // namespace vs::shim
