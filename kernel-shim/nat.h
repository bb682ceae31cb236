// NAT for isolated contexts with nftables: one masquerade rule per guest IPv4 address in
// table `inet vserver`, chain `postrouting`, each tagged with the comment
// "vserver xid <xid>" so a context's rules are found (and removed) by their tag, not by a
// handle that a crash may have lost.
//
// We run the `nft` binary (fixed paths, never $PATH) with the script on stdin rather than
// link libnftables: the shim is linked into every tool (statically, with static_tools),
// libnftables would drag libnftnl, jansson, gmp and xtables into all of them for a step
// that runs once per NAT'ed start; nft's script language is libnftables' input anyway.
// IPv6 is not masqueraded: enabling v6 forwarding would turn off router advertisements on
// the host's uplinks (accept_ra=1 ignores RAs when forwarding), a host change we refuse to
// make implicitly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernel-shim/netbind.h"
#include "kernel-shim/xid.h"
#include "lib/base/result.h"

namespace vs::shim {

/// The nft binary, or a kFailed ENOENT error that says to install nftables.
Result<std::string> nft_path();

/// Runs `nft ARGS` with `script` on stdin inside network namespace `netns_fd` (-1: the
/// caller's). Returns its stdout; a non-zero exit is an error carrying nft's message.
Result<std::string> run_nft(int netns_fd, const std::vector<std::string>& args,
                            const std::string& script);

/// Adds masquerade rules for the v4 addresses of `addrs` leaving by any interface but
/// `inside` (the bridge), and sets net.ipv4.ip_forward=1, in `netns_fd`.
Result<void> add_nat_rules(int netns_fd, Xid xid, const NetBind& addrs, const std::string& inside);

/// Shared mode (netshared.h): masquerades what the v4 addresses of `addrs` send beyond their
/// own prefix, by any interface but lo. Locally sent traffic needs no forwarding: ip_forward
/// is left alone.
Result<void> add_shared_nat_rules(int netns_fd, Xid xid, const NetBind& addrs);

/// Deletes every rule tagged for `xid`, then the table if it has no rule left. A missing
/// table is not an error.
Result<void> remove_nat_rules(int netns_fd, Xid xid);

/// The handles of the rules tagged for `xid` (for tests and `chbind --show`).
Result<std::vector<uint64_t>> nat_rule_handles(int netns_fd, Xid xid);

}  // namespace vs::shim
