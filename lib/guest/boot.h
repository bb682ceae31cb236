// Boot order (issue 6): which guests `vserver-boot start --mark M` starts, in which waves.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.h"
#include "lib/guest/guest.h"

namespace vs {

/// The guests whose init.mark is `mark`, plus every guest they depend on (init.depends,
/// transitively, whatever its mark), in waves: every guest of a wave depends only on guests of
/// earlier waves, so a wave can start in parallel. Names are sorted within a wave. A
/// dependency on a guest that is not configured, or a cycle, is a kUsage error naming them.
/// Stopping goes through the waves in reverse.
Result<std::vector<std::vector<std::string>>> boot_waves(const std::vector<GuestConfig>& guests,
                                                         std::string_view mark);

}  // namespace vs
