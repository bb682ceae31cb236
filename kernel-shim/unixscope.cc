#include "kernel-shim/unixscope.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <sstream>

#include "kernel-shim/bpf_prog.h"
#include "kernel-shim/btf.h"

namespace vs::shim {
namespace {

// lsm_list_modules(2) and the BPF LSM's id (Linux 6.8, include/uapi/linux/lsm.h: 109; 110
// is Landlock's); not in the headers of the build machine yet. The number is the same on
// every architecture.
constexpr long kSysLsmListModules = 461;
constexpr uint64_t kLsmIdBpf = 109;

// struct landlock_ruleset_attr as of ABI 6 (the build machine's header stops at ABI 1) and
// the scope bit.
struct LandlockRulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};
constexpr uint64_t kLandlockScopeAbstractUnixSocket = 1U << 0;
constexpr uint32_t kLandlockCreateRulesetVersion = 1U << 0;

// How many cgroups, from the peer's own upwards, are compared with the context's: a guest's
// sockets may live in sub-cgroups down to 15 levels below its own. Deeper ones count as
// foreign (the check fails closed).
constexpr int kMaxDepth = 16;

using Prog = BpfAsm;

constexpr uint8_t R0 = BPF_REG_0, R1 = BPF_REG_1, R2 = BPF_REG_2, R3 = BPF_REG_3, R6 = BPF_REG_6,
                  R9 = BPF_REG_9;

// Offsets the programs read, from BTF. All loads of kernel pointers are checked by the
// verifier against the same BTF (and fault-safe), so a wrong offset is refused at load.
struct Offsets {
  uint32_t socket_sk = 0;      // struct socket.sk
  uint32_t unix_addr = 0;      // struct unix_sock.addr
  uint32_t addr_path0 = 0;     // struct unix_address.name[0].sun_path[0]
  uint32_t sock_cgroup = 0;    // struct unix_sock.sk.sk_cgrp_data.cgroup
  uint32_t cgroup_kn = 0;      // struct cgroup.kn
  uint32_t kn_id = 0;          // struct kernfs_node.id
  uint32_t cgroup_parent = 0;  // struct cgroup.self.parent (a css)
  uint32_t css_cgroup = 0;     // struct cgroup_subsys_state.cgroup
};

Result<Offsets> offsets_from(const Btf& btf) {
  Offsets o;
  struct Want {
    uint32_t* out;
    const char* outer;
    const char* path;
  };
  uint32_t name = 0, path = 0;
  const Want wants[] = {
      {&o.socket_sk, "socket", "sk"},
      {&o.unix_addr, "unix_sock", "addr"},
      {&name, "unix_address", "name"},
      {&path, "sockaddr_un", "sun_path"},
      {&o.sock_cgroup, "unix_sock", "sk.sk_cgrp_data.cgroup"},
      {&o.cgroup_kn, "cgroup", "kn"},
      {&o.kn_id, "kernfs_node", "id"},
      {&o.cgroup_parent, "cgroup", "self.parent"},
      {&o.css_cgroup, "cgroup_subsys_state", "cgroup"},
  };
  for (const auto& w : wants) {
    auto f = btf.field(w.outer, w.path);
    if (!f) return std::move(f).error();
    *w.out = f->offset;
  }
  o.addr_path0 = name + path;
  // A load's offset is a signed 16-bit field.
  for (uint32_t off : {o.socket_sk, o.unix_addr, o.addr_path0, o.sock_cgroup, o.cgroup_kn, o.kn_id,
                       o.cgroup_parent, o.css_cgroup}) {
    if (off > 0x7fff) {
      return make_error(ErrorKind::kFailed, "BTF lookup", "unix socket offsets",
                        "an offset (" + std::to_string(off) + ") does not fit a load", ERANGE);
    }
  }
  return o;
}

// Where the program finds the socket it judges.
enum class Entry {
  kStreamPeer,  // LSM unix_stream_connect(sock, other, newsk): arg 1, a struct sock *
  kSendPeer,    // LSM unix_may_send(sock, other): arg 1, a struct socket *
  kOwnSocket,   // cgroup/connect_unix: the connecting socket itself (tests)
};

std::vector<bpf_insn> build(const Offsets& o, Entry entry, uint64_t cgroup_id) {
  Prog p;
  int allow = p.label(), deny = p.label();
  switch (entry) {
    case Entry::kStreamPeer:
      p.ldx(BPF_DW, R1, R1, 8);  // the LSM context is the hook's arguments as u64s
      break;
    case Entry::kSendPeer:
      p.ldx(BPF_DW, R1, R1, 8);
      p.jeq_imm(R1, 0, allow);
      p.ldx(BPF_DW, R1, R1, o.socket_sk);
      p.jeq_imm(R1, 0, allow);
      break;
    case Entry::kOwnSocket:
      p.ldx(BPF_DW, R1, R1, offsetof(bpf_sock_addr, sk));
      p.jeq_imm(R1, 0, allow);
      break;
  }
  p.call(BPF_FUNC_skc_to_unix_sock);
  p.jeq_imm(R0, 0, allow);
  p.mov(R6, R0);
  // Unnamed (socketpair) and path-bound peers pass.
  p.ldx(BPF_DW, R2, R6, o.unix_addr);
  p.jeq_imm(R2, 0, allow);
  p.ldx(BPF_B, R3, R2, o.addr_path0);
  p.jne_imm(R3, 0, allow);
  // An abstract peer passes if its socket was made in the context's cgroup subtree.
  p.ldx(BPF_DW, R1, R6, o.sock_cgroup);
  p.ld_imm64(R9, cgroup_id);
  for (int level = 0; level < kMaxDepth; ++level) {
    p.jeq_imm(R1, 0, deny);
    p.ldx(BPF_DW, R2, R1, o.cgroup_kn);
    p.ldx(BPF_DW, R2, R2, o.kn_id);
    p.jeq_reg(R2, R9, allow);
    if (level + 1 < kMaxDepth) {
      p.ldx(BPF_DW, R1, R1, o.cgroup_parent);
      p.ldx(BPF_DW, R1, R1, o.css_cgroup);
    }
  }
  p.bind(deny);
  p.ret(0);  // BPF_LSM_CGROUP: 0 refuses with EPERM
  p.bind(allow);
  p.ret(1);
  return p.finish();
}


}  // namespace

BpfLsmStatus bpf_lsm_status() {
  std::vector<uint64_t> ids(32);
  uint32_t size = static_cast<uint32_t>(ids.size() * sizeof(uint64_t));
  long n = ::syscall(kSysLsmListModules, ids.data(), &size, 0U);
  if (n >= 0) {
    ids.resize(static_cast<size_t>(n));
    bool bpf = std::find(ids.begin(), ids.end(), kLsmIdBpf) != ids.end();
    return {bpf, "lsm_list_modules"};
  }
  const int e = errno;
  std::ifstream in("/sys/kernel/security/lsm");
  std::string list;
  if (in && std::getline(in, list)) {
    std::stringstream ss(list);
    for (std::string name; std::getline(ss, name, ',');) {
      if (name == "bpf") return {true, "/sys/kernel/security/lsm"};
    }
    return {false, "/sys/kernel/security/lsm"};
  }
  const char* what = strerrorname_np(e);
  return {false, std::string("unknown: lsm_list_modules ") + (what ? what : "failed") +
                     ", no /sys/kernel/security/lsm"};
}

Result<uint64_t> cgroup_id_of(int cgroup_fd) {
  struct {
    file_handle fh;
    uint64_t id;
  } h{};
  h.fh.handle_bytes = sizeof(uint64_t);
  int mount_id = 0;
  if (::name_to_handle_at(cgroup_fd, "", &h.fh, &mount_id, AT_EMPTY_PATH) < 0) {
    return sys_error("name_to_handle_at", "cgroup fd " + std::to_string(cgroup_fd));
  }
  uint64_t id;
  std::memcpy(&id, h.fh.f_handle, sizeof id);
  return id;
}

Result<std::vector<UnixScopeProg>> load_unix_scope(const Btf& btf, uint64_t cgroup_id) {
  auto o = offsets_from(btf);
  if (!o) return std::move(o).error();
  struct Hook {
    const char* name;
    const char* func;
    Entry entry;
  };
  const Hook hooks[] = {{"vs_unix_stream", kUnixStreamHook, Entry::kStreamPeer},
                        {"vs_unix_send", kUnixSendHook, Entry::kSendPeer}};
  std::vector<UnixScopeProg> out;
  for (const auto& h : hooks) {
    auto id = btf.find(Btf::Kind::kFunc, h.func);
    if (!id) return std::move(id).error();
    auto fd = load_bpf_program(h.name, BPF_PROG_TYPE_LSM, BPF_LSM_CGROUP, *id, build(*o, h.entry, cgroup_id));
    if (!fd) return std::move(fd).error();
    out.push_back({h.func, std::move(*fd)});
  }
  return out;
}

Result<UniqueFd> load_unix_scope_self_check(const Btf& btf, uint64_t cgroup_id) {
  auto o = offsets_from(btf);
  if (!o) return std::move(o).error();
  return load_bpf_program("vs_unix_selfchk", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, kAttachUnixConnect, 0,
              build(*o, Entry::kOwnSocket, cgroup_id));
}

Result<void> lsm_cgroup_loadable(const Btf& btf) {
  auto id = btf.find(Btf::Kind::kFunc, kUnixStreamHook);
  if (!id) return std::move(id).error();
  Prog p;
  p.ret(1);
  auto fd = load_bpf_program("vs_lsm_probe", BPF_PROG_TYPE_LSM, BPF_LSM_CGROUP, *id, p.finish());
  if (!fd) return std::move(fd).error();
  return ok();
}

Result<UnixScope> scope_abstract_unix(int cgroup_fd) {
  const std::string what = "scope abstract unix sockets";
  auto lsm = bpf_lsm_status();
  if (!lsm.active) {
    return UnixScope{false,
                     "the BPF LSM is not active (`bpf` is not in the kernel's LSM list, "
                     "see lsm= on its command line; " +
                         lsm.detail + ")"};
  }
  // A kernel that refuses every BPF LSM program says EPERM before it looks at the program;
  // one that loads them refuses this one (no attach id) with EINVAL. Asked before the BTF is
  // parsed, which is most of the cost.
  {
    Prog p;
    p.ret(1);
    auto fd = load_bpf_program("vs_lsm_probe", BPF_PROG_TYPE_LSM, BPF_LSM_CGROUP, 0, p.finish());
    if (!fd && fd.error().code == EPERM) {
      return UnixScope{
          false, "the kernel refuses to load BPF LSM programs (" + fd.error().message() + ")"};
    }
  }
  auto id = cgroup_id_of(cgroup_fd);
  if (!id) return std::move(id).error().wrap(what);
  auto btf = Btf::load();
  if (!btf) return std::move(btf).error().wrap(what);
  auto progs = load_unix_scope(*btf, *id);
  if (!progs) {
    // Is it this kernel that cannot load a BPF_LSM_CGROUP program at all (older than 6.0,
    // lockdown, a distribution patch), or ours that is wrong? Only the first is a missing
    // feature; the second fails the creation.
    if (auto probe = lsm_cgroup_loadable(*btf); !probe) {
      return UnixScope{false, "the kernel cannot load a BPF_LSM_CGROUP program (" +
                                  probe.error().message() + ")"};
    }
    return std::move(progs).error().wrap(what);
  }
  // Both are loaded (verified) before the first attach: a refused program leaves the cgroup
  // as it was.
  for (const auto& p : *progs) {
    bpf_attr attr{};
    attr.target_fd = static_cast<uint32_t>(cgroup_fd);
    attr.attach_bpf_fd = static_cast<uint32_t>(p.fd.get());
    attr.attach_type = BPF_LSM_CGROUP;
    if (bpf_call(BPF_PROG_ATTACH, &attr) < 0) {
      return sys_error("bpf(BPF_PROG_ATTACH)", p.hook).wrap(what);
    }
  }
  return UnixScope{true, ""};
}

long landlock_abi() {
  return ::syscall(SYS_landlock_create_ruleset, nullptr, 0, kLandlockCreateRulesetVersion);
}

Result<void> landlock_scope_abstract_unix() {
  LandlockRulesetAttr attr{0, 0, kLandlockScopeAbstractUnixSocket};
  UniqueFd ruleset(
      static_cast<int>(::syscall(SYS_landlock_create_ruleset, &attr, sizeof attr, 0U)));
  if (!ruleset) return sys_error("landlock_create_ruleset", "abstract unix socket scope");
  if (::syscall(SYS_landlock_restrict_self, ruleset.get(), 0U) < 0) {
    return sys_error("landlock_restrict_self", "abstract unix socket scope");
  }
  return ok();
}

Result<uint32_t> count_unix_scope(int cgroup_fd) {
  bpf_attr attr{};
  attr.query.target_fd = static_cast<uint32_t>(cgroup_fd);
  attr.query.attach_type = BPF_LSM_CGROUP;
  if (bpf_call(BPF_PROG_QUERY, &attr) < 0) return sys_error("bpf(BPF_PROG_QUERY)", "BPF_LSM_CGROUP");
  return attr.query.prog_cnt;
}

}  // namespace vs::shim
