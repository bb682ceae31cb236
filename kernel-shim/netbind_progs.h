// The cgroup-BPF programs of netbind.h, built for one context (netbind_progs.cc).
#pragma once

#include <linux/bpf.h>

#include <vector>

#include "kernel-shim/netbind.h"
#include "kernel-shim/xid.h"

namespace vs::shim {

struct NetBindPrograms {
  std::vector<bpf_insn> bind4, bind6, connect4, connect6, sendmsg4, sendmsg6, ingress, egress;
};

/// The eight programs for context `xid` with addresses `bind`; `lb4_fd` and `lb6_fd` are its
/// loopback port maps (hash, u32 port -> u32), which the programs reference.
NetBindPrograms build_net_bind_programs(Xid xid, const NetBind& bind, int lb4_fd, int lb6_fd);

}  // namespace vs::shim
