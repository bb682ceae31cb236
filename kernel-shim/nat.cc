#include "kernel-shim/nat.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "kernel-shim/netiso.h"
#include "lib/base/child.h"
#include "lib/base/fs_at.h"
#include "lib/base/parse.h"
#include "lib/base/unique_fd.h"

namespace vs::shim {
namespace {

constexpr const char* kTable = "inet vserver";
constexpr const char* kChain = "postrouting";

Result<UniqueFd> memfd_with(const char* name, const std::string& data) {
  UniqueFd fd(::memfd_create(name, MFD_CLOEXEC));
  if (!fd) return sys_error("memfd_create", name);
  if (!data.empty() &&
      ::write(fd.get(), data.data(), data.size()) != static_cast<ssize_t>(data.size())) {
    return sys_error("write", name);
  }
  if (::lseek(fd.get(), 0, SEEK_SET) < 0) return sys_error("lseek", name);
  return fd;
}

std::string read_all(int fd) {
  std::string out;
  if (::lseek(fd, 0, SEEK_SET) < 0) return out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

std::string addr_only(const NetAddress& a) {
  auto s = format_net_address(a);
  return s.substr(0, s.find('/'));
}

}  // namespace

Result<std::string> nft_path() {
  for (const char* p : {"/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"}) {
    if (::access(p, X_OK) == 0) return std::string(p);
  }
  return make_error(ErrorKind::kFailed, "find", "nft",
                    "no nft binary in /usr/sbin, /sbin or /usr/bin (install nftables)", ENOENT);
}

Result<std::string> run_nft(int netns_fd, const std::vector<std::string>& args,
                            const std::string& script) {
  auto nft = nft_path();
  if (!nft) return std::move(nft).error();
  auto in = memfd_with("nft-in", script);
  if (!in) return std::move(in).error();
  auto out = memfd_with("nft-out", "");
  if (!out) return std::move(out).error();
  auto err = memfd_with("nft-err", "");
  if (!err) return std::move(err).error();
  std::vector<std::string> argv{*nft};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<char*> cargv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  char* const envp[] = {nullptr};
  auto child = Child::spawn(CloneSpec{}, [&]() -> int {
    if (netns_fd >= 0 && ::setns(netns_fd, CLONE_NEWNET) < 0) return 126;
    // dup2 clears close-on-exec on the copies: only these three reach nft.
    if (::dup2(in->get(), 0) < 0 || ::dup2(out->get(), 1) < 0 || ::dup2(err->get(), 2) < 0) {
      return 126;
    }
    ::execve(cargv[0], cargv.data(), envp);
    return 127;
  });
  if (!child) return std::move(child).error();
  auto status = child->wait();
  if (!status) return std::move(status).error();
  std::string so = read_all(out->get());
  if (status->as_exit_code() != 0) {
    std::string se = read_all(err->get());
    // nft's first error line says it all ("Error: Could not process rule: ...").
    std::string first = se.substr(0, se.find('\n'));
    if (first.empty()) first = "exit code " + std::to_string(status->as_exit_code());
    std::string cmd = "nft";
    for (const auto& a : args) cmd += " " + a;
    return make_error(ErrorKind::kFailed, cmd, "", first,
                      se.find("No such file or directory") != std::string::npos ? ENOENT : EIO);
  }
  return so;
}

Result<void> add_nat_rules(int netns_fd, Xid xid, const NetBind& addrs, const std::string& inside) {
  if (addrs.v4.empty()) return ok();
  std::string script = std::string("add table ") + kTable + "\n" + "add chain " + kTable + " " +
                       kChain +
                       " { type nat hook postrouting priority srcnat; policy accept; }\n";
  for (const auto& a : addrs.v4) {
    script += std::string("add rule ") + kTable + " " + kChain + " ip saddr " + addr_only(a) +
              " oifname != \"" + inside + "\" masquerade comment \"" + nat_comment(xid) + "\"\n";
  }
  if (auto r = run_nft(netns_fd, {"-f", "-"}, script); !r) {
    return std::move(r).error().wrap("NAT for context " + xid.str());
  }
  // Forwarding is what NAT is for; it is per network namespace, set in the host's.
  UniqueFd self(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!self) return sys_error("open", "/proc/thread-self/ns/net");
  if (netns_fd >= 0 && ::setns(netns_fd, CLONE_NEWNET) < 0) return sys_error("setns", "host");
  auto w = write_file("/proc/sys/net/ipv4/ip_forward", "1");
  if (netns_fd >= 0 && ::setns(self.get(), CLONE_NEWNET) < 0) {
    return sys_error("setns back to the caller's network namespace", "");
  }
  if (!w) return std::move(w).error().wrap("NAT for context " + xid.str());
  return ok();
}

Result<void> add_shared_nat_rules(int netns_fd, Xid xid, const NetBind& addrs) {
  if (addrs.v4.empty()) return ok();
  std::string script = std::string("add table ") + kTable + "\n" + "add chain " + kTable + " " +
                       kChain +
                       " { type nat hook postrouting priority srcnat; policy accept; }\n";
  for (const auto& a : addrs.v4) {
    // The address's own network (nft wants the host bits clear).
    NetAddress net = a;
    for (int bit = a.prefix; bit < 32; ++bit) {
      net.bytes[static_cast<size_t>(bit / 8)] &= static_cast<uint8_t>(~(0x80u >> (bit % 8)));
    }
    script += std::string("add rule ") + kTable + " " + kChain + " ip saddr " + addr_only(a) +
              " ip daddr != " + format_net_address(net) + " oifname != \"lo\" masquerade comment \"" +
              nat_comment(xid) + "\"\n";
  }
  if (auto r = run_nft(netns_fd, {"-f", "-"}, script); !r) {
    return std::move(r).error().wrap("NAT for context " + xid.str());
  }
  return ok();
}

Result<std::vector<uint64_t>> nat_rule_handles(int netns_fd, Xid xid) {
  std::vector<uint64_t> out;
  auto listing = run_nft(netns_fd, {"-a", "list", "chain", "inet", "vserver", kChain}, "");
  if (!listing) {
    if (listing.error().code == ENOENT) return out;  // no table, no chain: no rule
    return std::move(listing).error();
  }
  const std::string tag = "comment \"" + nat_comment(xid) + "\"";
  std::string_view text = *listing;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    size_t at = line.find(tag);
    size_t h = line.rfind("# handle ");
    if (at == std::string_view::npos || h == std::string_view::npos || h < at) continue;
    // The tag must be the whole comment: "vserver xid 4" is not "vserver xid 41".
    if (line.substr(at + tag.size(), 1) != " ") continue;
    auto n = parse_uint(line.substr(h + 9), 0, UINT64_MAX, "nft handle");
    if (n) out.push_back(*n);
  }
  return out;
}

Result<void> remove_nat_rules(int netns_fd, Xid xid) {
  auto handles = nat_rule_handles(netns_fd, xid);
  if (!handles) return std::move(handles).error();
  std::string script;
  for (uint64_t h : *handles) {
    script += std::string("delete rule ") + kTable + " " + kChain + " handle " +
              std::to_string(h) + "\n";
  }
  if (!script.empty()) {
    if (auto r = run_nft(netns_fd, {"-f", "-"}, script); !r) return std::move(r).error();
  }
  // The table goes with its last rule (callers hold the network lock: no add races this).
  auto rest = run_nft(netns_fd, {"-a", "list", "chain", "inet", "vserver", kChain}, "");
  if (rest && rest->find("# handle ") != std::string::npos) {
    bool any_rule = false;
    std::string_view text = *rest;
    while (!text.empty()) {
      size_t nl = text.find('\n');
      std::string_view line = text.substr(0, nl);
      text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
      if (line.find("# handle ") != std::string_view::npos &&
          line.find("table ") == std::string_view::npos &&
          line.find("chain ") == std::string_view::npos) {
        any_rule = true;
      }
    }
    if (!any_rule) {
      if (auto r = run_nft(netns_fd, {"delete", "table", "inet", "vserver"}, ""); !r) {
        return std::move(r).error();
      }
    }
  }
  return ok();
}

}  // namespace vs::shim
