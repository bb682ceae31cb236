#include "kernel-shim/bpf_prog.h"

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace vs::shim {

long bpf_call(int cmd, bpf_attr* attr) {
  return ::syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

Result<UniqueFd> create_bpf_map(const char* name, bpf_map_type type, uint32_t key_size,
                                uint32_t value_size, uint32_t max_entries, uint32_t flags) {
  bpf_attr attr{};
  attr.map_type = type;
  attr.key_size = key_size;
  attr.value_size = value_size;
  attr.max_entries = max_entries;
  attr.map_flags = flags;
  std::strncpy(attr.map_name, name, sizeof(attr.map_name) - 1);
  long fd = bpf_call(BPF_MAP_CREATE, &attr);
  if (fd < 0) return sys_error("bpf(BPF_MAP_CREATE)", name);
  return UniqueFd(static_cast<int>(fd));
}

Result<UniqueFd> load_bpf_program(const char* name, bpf_prog_type type, uint32_t expected_attach,
                                  uint32_t attach_btf_id, const std::vector<bpf_insn>& insns) {
  static const char kLicense[] = "GPL";
  bpf_attr attr{};
  attr.prog_type = type;
  attr.expected_attach_type = static_cast<bpf_attach_type>(expected_attach);
  attr.attach_btf_id = attach_btf_id;  // in vmlinux (attach_btf_obj_fd 0)
  attr.insns = reinterpret_cast<uint64_t>(insns.data());
  attr.insn_cnt = static_cast<uint32_t>(insns.size());
  attr.license = reinterpret_cast<uint64_t>(kLicense);
  std::strncpy(attr.prog_name, name, sizeof(attr.prog_name) - 1);
  long fd = bpf_call(BPF_PROG_LOAD, &attr);
  if (fd >= 0) return UniqueFd(static_cast<int>(fd));
  Error e = sys_error("bpf(BPF_PROG_LOAD)", name);
  if (e.code == EPERM) return e;  // refused before the verifier: no log to get
  std::string log(64 * 1024, '\0');
  attr.log_buf = reinterpret_cast<uint64_t>(log.data());
  attr.log_size = static_cast<uint32_t>(log.size());
  attr.log_level = 1;
  long again = bpf_call(BPF_PROG_LOAD, &attr);
  if (again >= 0) return UniqueFd(static_cast<int>(again));  // loaded after all
  log.resize(std::strlen(log.c_str()));
  while (!log.empty() && log.back() == '\n') log.pop_back();
  if (auto nl = log.rfind('\n'); nl != std::string::npos) log = log.substr(nl + 1);
  if (!log.empty()) e.detail = "verifier: " + log;
  return e;
}

}  // namespace vs::shim
