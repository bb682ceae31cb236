// vs::retry_eintr: the one loop that restarts a syscall interrupted by a signal.
#pragma once

#include <errno.h>

namespace vs {

/// Calls `f` (a syscall wrapper that returns -1 and sets errno on failure) again for as long
/// as it fails with EINTR, and returns its last result; errno is that of the last call.
/// Only for calls that may simply be repeated with the same arguments: a poll() or wait with
/// a deadline must recompute its remaining timeout instead, so it keeps its own loop.
template <typename F>
auto retry_eintr(F&& f) -> decltype(f()) {
  for (;;) {
    auto r = f();
    if (!(r == -1 && errno == EINTR)) return r;
  }
}

}  // namespace vs
