// bpf(2) for the shim's hand-assembled programs (netbind.cc, unixscope.cc): the call, and
// loading a program with the verifier's last word on a refusal.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <vector>

#include "lib/base/result.h"
#include "lib/base/unique_fd.h"

namespace vs::shim {

/// bpf(cmd, attr, sizeof *attr); -1 and errno on failure.
long bpf_call(int cmd, bpf_attr* attr);

/// Loads a GPL program named `name` (at most 15 characters kept). `attach_btf_id` is a
/// vmlinux BTF id for LSM hooks, 0 otherwise. The first attempt carries no verifier log (it
/// costs the verifier time and us a 64 KiB buffer on every start); a refused program is
/// loaded again with the log, and its last line becomes the error's detail.
Result<UniqueFd> load_bpf_program(const char* name, bpf_prog_type type, uint32_t expected_attach,
                                  uint32_t attach_btf_id, const std::vector<bpf_insn>& insns);

}  // namespace vs::shim
