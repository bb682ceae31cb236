#include "kernel-shim/netbind.h"

#include <arpa/inet.h>
#include <linux/bpf.h>
#include <netinet/in.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <optional>

#include "kernel-shim/bpf_prog.h"
#include "kernel-shim/cgroup.h"
#include "kernel-shim/context_table.h"
#include "kernel-shim/netbind_progs.h"
#include "kernel-shim/netiso.h"
#include "lib/base/parse.h"
#include "lib/base/unique_fd.h"

namespace vs::shim {
namespace {

Result<void> attach(int cgroup_fd, int prog_fd, bpf_attach_type type, const char* name) {
  bpf_attr attr{};
  attr.target_fd = static_cast<uint32_t>(cgroup_fd);
  attr.attach_bpf_fd = static_cast<uint32_t>(prog_fd);
  attr.attach_type = type;
  attr.attach_flags = 0;
  if (bpf_call(BPF_PROG_ATTACH, &attr) < 0) return sys_error("bpf(BPF_PROG_ATTACH)", name);
  return ok();
}

}  // namespace

Result<NetAddress> parse_net_address(std::string_view text) {
  std::string s(text);
  NetAddress a;
  std::string addr = s;
  std::string prefix;
  if (auto slash = s.find('/'); slash != std::string::npos) {
    addr = s.substr(0, slash);
    prefix = s.substr(slash + 1);
  }
  if (addr.find(':') != std::string::npos) {
    a.family = AF_INET6;
    if (::inet_pton(AF_INET6, addr.c_str(), a.bytes.data()) != 1) {
      return usage_error("--ip", "`" + s + "` is not an IPv6 address");
    }
  } else {
    a.family = AF_INET;
    if (::inet_pton(AF_INET, addr.c_str(), a.bytes.data()) != 1) {
      return usage_error("--ip", "`" + s + "` is not an IPv4 address (dotted quad)");
    }
  }
  int max = a.family == AF_INET ? 32 : 128;
  a.prefix = max;
  if (s.find('/') != std::string::npos) {
    auto p = parse_uint(prefix, 0, static_cast<uint64_t>(max), "prefix");
    if (!p) return std::move(p).error().wrap("--ip `" + s + "`");
    a.prefix = static_cast<int>(*p);
  }
  const auto& b = a.bytes;
  bool bad = false;
  if (a.family == AF_INET) {
    bad = (b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 0) || b[0] == 127 || b[0] >= 224;
  } else {
    static const std::array<uint8_t, 16> kAny{}, kLo{0, 0, 0, 0, 0, 0, 0, 0,
                                                    0, 0, 0, 0, 0, 0, 0, 1};
    bool is_mapped = std::all_of(b.begin(), b.begin() + 10, [](uint8_t x) { return x == 0; }) &&
                     b[10] == 0xff && b[11] == 0xff;
    bad = b == kAny || b == kLo || b[0] == 0xff || is_mapped;
  }
  if (bad) {
    return usage_error("--ip", "`" + s +
                                   "`: unspecified, loopback, multicast and v4-mapped addresses "
                                   "cannot be a context's");
  }
  return a;
}

std::string format_net_address(const NetAddress& a) {
  char buf[INET6_ADDRSTRLEN] = {};
  ::inet_ntop(a.family, a.bytes.data(), buf, sizeof(buf));
  return std::string(buf) + "/" + std::to_string(a.prefix);
}

std::vector<NetAddress> NetBind::all() const {
  std::vector<NetAddress> out = v4;
  out.insert(out.end(), v6.begin(), v6.end());
  return out;
}

Result<NetBind> make_net_bind(const std::vector<NetAddress>& addrs) {
  NetBind b;
  for (const auto& a : addrs) {
    auto& list = a.family == AF_INET ? b.v4 : b.v6;
    if (std::find(list.begin(), list.end(), a) != list.end()) {
      return usage_error("--ip", "`" + format_net_address(a) + "` is given twice");
    }
    list.push_back(a);
  }
  return b;
}

std::array<uint8_t, 4> loopback_v4(Xid xid) {
  return {127, static_cast<uint8_t>(xid.value() >> 8), static_cast<uint8_t>(xid.value() & 0xff),
          1};
}

std::string loopback_str(Xid xid) {
  auto b = loopback_v4(xid);
  return "127." + std::to_string(b[1]) + "." + std::to_string(b[2]) + ".1";
}

Result<void> attach_net_bind(int cgroup_fd, Xid xid, const NetBind& bind) {
  // The loopback maps live as long as the programs that use them (they hold the maps).
  UniqueFd maps[2];
  const char* names[2] = {"vs_lback4", "vs_lback6"};
  for (int i = 0; i < 2; ++i) {
    auto m = create_bpf_map(names[i], BPF_MAP_TYPE_HASH, 4, 4, 65536, BPF_F_NO_PREALLOC);
    if (!m) return std::move(m).error().wrap("bind context " + xid.str());
    maps[i] = std::move(*m);
  }
  NetBindPrograms built = build_net_bind_programs(xid, bind, maps[0].get(), maps[1].get());
  struct Prog {
    const char* name;
    bpf_prog_type type;
    bpf_attach_type attach;
    std::vector<bpf_insn> insns;
  };
  const Prog progs[] = {
      {"vs_bind4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_BIND, built.bind4},
      {"vs_bind6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_BIND, built.bind6},
      {"vs_connect4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT, built.connect4},
      {"vs_connect6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_INET6_CONNECT, built.connect6},
      {"vs_sendmsg4", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP4_SENDMSG, built.sendmsg4},
      {"vs_sendmsg6", BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_CGROUP_UDP6_SENDMSG, built.sendmsg6},
      {"vs_ingress", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_INGRESS,
       built.ingress},
      {"vs_egress", BPF_PROG_TYPE_CGROUP_SKB, BPF_CGROUP_INET_EGRESS,
       built.egress},
  };
  // Everything is loaded (verified) before the first attach, so a program the verifier
  // rejects leaves the cgroup as it was.
  std::vector<UniqueFd> fds;
  for (const auto& pr : progs) {
    auto fd = load_bpf_program(pr.name, pr.type, pr.attach, 0, pr.insns);
    if (!fd) return std::move(fd).error().wrap("bind context " + xid.str());
    fds.push_back(std::move(*fd));
  }
  for (size_t i = 0; i < fds.size(); ++i) {
    if (auto r = attach(cgroup_fd, fds[i].get(), progs[i].attach, progs[i].name); !r) {
      return std::move(r).error().wrap("bind context " + xid.str());
    }
  }
  return ok();
}

Result<void> refuse_taken_addresses(const ContextTable& table, Xid xid, const NetBind& bind) {
  // No reaping here (the reaper takes the network lock the caller holds): dead entries are
  // skipped instead. A context being created is alive (its first process is in its cgroup).
  // The state is read first and liveness checked only on a clash: one file per context.
  auto xids = table.entries();
  if (!xids) return std::move(xids).error();
  for (Xid other : *xids) {
    if (other == xid) continue;
    auto ost = table.read_state(other);
    if (!ost) continue;
    const NetBind& theirs = ost->net.addrs;
    if (theirs.empty()) continue;
    for (const auto& mine : bind.all()) {
      for (const auto& t : theirs.all()) {
        if (mine != t) continue;
        auto live = table.alive(other);
        if (!live || !*live) break;
        auto addr = format_net_address(mine);
        return make_error(
            ErrorKind::kUsage, "invalid", "--ip",
            "`" + addr.substr(0, addr.find('/')) + "` belongs to context " + other.str(),
            EADDRINUSE);
      }
    }
  }
  return ok();
}

Result<void> apply_net_bind(const ContextTable& table, Xid xid, const NetBind& bind) {
  const std::string what = "bind context " + xid.str();
  if (bind.empty()) return usage_error("--ip", "at least one address is needed");
  auto lk = table.lock(xid, true);
  if (!lk) return std::move(lk).error().wrap(what);
  return apply_net_bind_locked(table, xid, bind);
}

Result<void> apply_net_bind_locked(const ContextTable& table, Xid xid, const NetBind& bind,
                                   const ContextCgroup* cg) {
  const std::string what = "bind context " + xid.str();
  if (bind.empty()) return usage_error("--ip", "at least one address is needed");
  auto st = table.read_state(xid);
  if (!st) return std::move(st).error();
  if (st->net.isolated) {
    return make_error(ErrorKind::kWrongState, "bind", "context " + xid.str(),
                      "it is in isolated network mode (its addresses are on its eth0)", EINVAL);
  }
  auto nl = net_lock(table);
  if (!nl) return std::move(nl).error().wrap(what);
  if (auto r = refuse_taken_addresses(table, xid, bind); !r) return r;
  std::optional<ContextCgroup> opened;
  if (cg == nullptr) {
    auto o = ContextCgroup::open(table.layout(), table.config().cgroup, xid);
    if (!o) return std::move(o).error().wrap(what);
    opened.emplace(std::move(*o));
    cg = &*opened;
  }
  if (auto r = attach_net_bind(cg->v2_fd(), xid, bind); !r) return r;
  st->net.addrs = bind;
  if (auto r = table.write_state(*st); !r) return std::move(r).error().wrap(what);
  return ok();
}

}  // namespace vs::shim
