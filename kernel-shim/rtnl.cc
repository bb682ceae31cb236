#include "kernel-shim/rtnl.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "lib/base/eintr.h"

namespace vs::shim {

// One request: nlmsghdr, a fixed header (ifinfomsg, ifaddrmsg, rtmsg), attributes. A fixed
// buffer, so pointers into it stay valid while it grows; overflowing it is an EMSGSIZE
// error at send time, never a write past it.
class Rtnl::Msg {
 public:
  Msg(uint16_t type, uint16_t flags) {
    auto* h = hdr();
    h->nlmsg_len = NLMSG_HDRLEN;
    h->nlmsg_type = type;
    h->nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
  }
  nlmsghdr* hdr() { return reinterpret_cast<nlmsghdr*>(buf_); }
  [[nodiscard]] bool overflowed() const { return overflow_; }

  template <typename T>
  T* fixed() {
    return static_cast<T*>(reserve(NLMSG_ALIGN(sizeof(T))));
  }
  void put(uint16_t type, const void* data, size_t len) {
    auto* a = static_cast<rtattr*>(reserve(RTA_SPACE(len)));
    if (!a) return;
    a->rta_type = type;
    a->rta_len = static_cast<uint16_t>(RTA_LENGTH(len));
    if (len) std::memcpy(RTA_DATA(a), data, len);
  }
  void put_str(uint16_t type, const std::string& s) { put(type, s.c_str(), s.size() + 1); }
  void put_u32(uint16_t type, uint32_t v) { put(type, &v, sizeof v); }
  size_t nest_start(uint16_t type) {
    size_t at = hdr()->nlmsg_len;
    put(type, nullptr, 0);
    return at;
  }
  void nest_end(size_t at) {
    if (overflow_) return;
    auto* a = reinterpret_cast<rtattr*>(buf_ + at);
    a->rta_len = static_cast<uint16_t>(hdr()->nlmsg_len - at);
  }

 private:
  void* reserve(size_t n) {
    size_t at = hdr()->nlmsg_len;
    if (overflow_ || at + n > sizeof buf_) {
      overflow_ = true;
      return nullptr;
    }
    std::memset(buf_ + at, 0, n);
    hdr()->nlmsg_len = static_cast<uint32_t>(at + n);
    return buf_ + at;
  }
  alignas(nlmsghdr) char buf_[4096] = {};
  bool overflow_ = false;
};

namespace {

// Big enough for a dump batch of links with all their attributes.
constexpr size_t kRecvSize = 64 * 1024;

// The attributes that follow a fixed header of `fixed` bytes, by type (the last of each).
template <size_t N>
struct Attrs {
  const rtattr* tb[N] = {};
  void parse(const rtattr* a, int len) {
    for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
      unsigned short type = a->rta_type & NLA_TYPE_MASK;
      if (type < N) tb[type] = a;
    }
  }
  void parse_msg(const nlmsghdr* m, size_t fixed) {
    const char* p = reinterpret_cast<const char*>(NLMSG_DATA(m)) + NLMSG_ALIGN(fixed);
    int len = static_cast<int>(m->nlmsg_len) - static_cast<int>(NLMSG_SPACE(fixed));
    parse(reinterpret_cast<const rtattr*>(p), len);
  }
  void parse_nested(const rtattr* a) {
    parse(static_cast<const rtattr*>(RTA_DATA(a)), static_cast<int>(RTA_PAYLOAD(a)));
  }
};

std::string attr_str(const rtattr* a) {
  if (!a) return {};
  const char* s = static_cast<const char*>(RTA_DATA(a));
  return std::string(s, strnlen(s, RTA_PAYLOAD(a)));
}

uint32_t attr_u32(const rtattr* a) {
  uint32_t v = 0;
  if (a && RTA_PAYLOAD(a) >= sizeof v) std::memcpy(&v, RTA_DATA(a), sizeof v);
  return v;
}

ifinfomsg* put_ifinfo(Rtnl::Msg& m, int index);

}  // namespace

Result<Rtnl> Rtnl::bound(UniqueFd fd, const std::string& what) {
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&local), sizeof local) < 0) {
    return sys_error("bind netlink socket", what);
  }
  return Rtnl(std::move(fd));
}

Result<Rtnl> Rtnl::open() {
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (!fd) return sys_error("socket(NETLINK_ROUTE)", "");
  return bound(std::move(fd), "host");
}

Result<Rtnl> Rtnl::open_in(int netns_fd, const std::string& what) {
  UniqueFd self(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!self) return sys_error("open", "/proc/thread-self/ns/net");
  if (::setns(netns_fd, CLONE_NEWNET) < 0) return sys_error("setns", what);
  UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  Error err = sys_error("socket(NETLINK_ROUTE)", what);
  // Back home before anything else: the rest of the caller must not run in `what`. A
  // socket keeps the namespace it was made in.
  if (::setns(self.get(), CLONE_NEWNET) < 0) {
    return sys_error("setns back to the caller's network namespace", what);
  }
  if (!fd) return err;
  return bound(std::move(fd), what);
}

namespace {

// Sends `m` to the kernel.
Result<void> send_msg(int fd, nlmsghdr* h, const std::string& op, const std::string& subject) {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  ssize_t n = retry_eintr([&] {
    return ::sendto(fd, h, h->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel);
  });
  if (n < 0) return sys_error(op, subject);
  return ok();
}

// Receives answers to `seq` until an ack/error (dump = false) or NLMSG_DONE (dump = true),
// running `fn` on each data message.
Result<void> receive(int fd, uint32_t seq, bool dump, const std::string& op,
                     const std::string& subject,
                     const std::function<void(const nlmsghdr*)>& fn) {
  std::vector<char> buf(kRecvSize);
  for (;;) {
    ssize_t n = retry_eintr([&] { return ::recv(fd, buf.data(), buf.size(), 0); });
    if (n < 0) return sys_error(op, subject);
    // NLMSG_OK/NLMSG_NEXT, without their signed/unsigned comparison.
    size_t left = static_cast<size_t>(n);
    for (const char* p = buf.data(); left >= sizeof(nlmsghdr);) {
      const auto* m = reinterpret_cast<const nlmsghdr*>(p);
      if (m->nlmsg_len < sizeof(nlmsghdr) || m->nlmsg_len > left) break;
      size_t step = std::min<size_t>(NLMSG_ALIGN(m->nlmsg_len), left);
      p += step;
      left -= step;
      if (m->nlmsg_seq != seq) continue;  // a stale answer to an earlier request
      if (m->nlmsg_type == NLMSG_DONE) return ok();
      if (m->nlmsg_type == NLMSG_ERROR) {
        const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(m));
        if (e->error == 0) return ok();
        return sys_error(op, subject, -e->error);
      }
      if (fn) fn(m);
    }
    // An ack is its own datagram, a dump may take many: read on until either ends.
    (void)dump;
  }
}

ifinfomsg* put_ifinfo(Rtnl::Msg& m, int index) {
  auto* ifm = m.fixed<ifinfomsg>();
  if (ifm) {
    ifm->ifi_family = AF_UNSPEC;
    ifm->ifi_index = index;
  }
  return ifm;
}

}  // namespace

Result<void> Rtnl::request(Msg& m, const std::string& op, const std::string& subject) {
  if (m.overflowed()) return sys_error(op, subject, EMSGSIZE);
  nlmsghdr* h = m.hdr();
  h->nlmsg_flags |= NLM_F_ACK;
  h->nlmsg_seq = ++seq_;
  if (auto r = send_msg(fd_.get(), h, op, subject); !r) return r;
  return receive(fd_.get(), seq_, false, op, subject, nullptr);
}

Result<void> Rtnl::dump(Msg& m, const std::string& op,
                        const std::function<void(const nlmsghdr*)>& fn) {
  nlmsghdr* h = m.hdr();
  h->nlmsg_seq = ++seq_;
  if (auto r = send_msg(fd_.get(), h, op, ""); !r) return r;
  return receive(fd_.get(), seq_, true, op, "", fn);
}

Result<std::vector<LinkInfo>> Rtnl::links() {
  Msg m(RTM_GETLINK, NLM_F_DUMP);
  put_ifinfo(m, 0);
  std::vector<LinkInfo> out;
  auto r = dump(m, "RTM_GETLINK", [&](const nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWLINK) return;
    const auto* ifm = static_cast<const ifinfomsg*>(NLMSG_DATA(h));
    Attrs<IFLA_MAX + 1> t;
    t.parse_msg(h, sizeof *ifm);
    LinkInfo li;
    li.index = ifm->ifi_index;
    li.up = (ifm->ifi_flags & IFF_UP) != 0;
    li.name = attr_str(t.tb[IFLA_IFNAME]);
    li.alias = attr_str(t.tb[IFLA_IFALIAS]);
    li.master = static_cast<int>(attr_u32(t.tb[IFLA_MASTER]));
    if (t.tb[IFLA_LINKINFO]) {
      Attrs<IFLA_INFO_MAX + 1> info;
      info.parse_nested(t.tb[IFLA_LINKINFO]);
      li.kind = attr_str(info.tb[IFLA_INFO_KIND]);
    }
    out.push_back(std::move(li));
  });
  if (!r) return std::move(r).error();
  return out;
}

Result<LinkInfo> Rtnl::link(const std::string& name) {
  auto all = links();
  if (!all) return std::move(all).error();
  for (auto& l : *all) {
    if (l.name == name) return std::move(l);
  }
  return make_error(ErrorKind::kNotFound, "find interface", name, "no such interface", ENODEV);
}

Result<void> Rtnl::add_bridge(const std::string& name, const std::string& alias) {
  {
    Msg m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    put_ifinfo(m, 0);
    m.put_str(IFLA_IFNAME, name);
    size_t info = m.nest_start(IFLA_LINKINFO);
    m.put_str(IFLA_INFO_KIND, "bridge");
    m.nest_end(info);
    if (auto r = request(m, "create bridge", name); !r) return r;
  }
  auto made = link(name);
  if (!made) return std::move(made).error();
  // The alias is set apart: a new link's creation does not take IFLA_IFALIAS.
  Msg m(RTM_NEWLINK, 0);
  put_ifinfo(m, made->index);
  m.put_str(IFLA_IFALIAS, alias);
  return request(m, "set alias", name);
}

Result<void> Rtnl::add_veth(const std::string& host, const std::string& peer,
                            int peer_netns_fd) {
  Msg m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  put_ifinfo(m, 0);
  m.put_str(IFLA_IFNAME, host);
  size_t info = m.nest_start(IFLA_LINKINFO);
  m.put_str(IFLA_INFO_KIND, "veth");
  size_t data = m.nest_start(IFLA_INFO_DATA);
  size_t p = m.nest_start(VETH_INFO_PEER);
  // The peer's own ifinfomsg, then its attributes: born in the guest's namespace, so
  // there is no moment at which it sits on the host under a guest's name.
  put_ifinfo(m, 0);
  m.put_str(IFLA_IFNAME, peer);
  m.put_u32(IFLA_NET_NS_FD, static_cast<uint32_t>(peer_netns_fd));
  m.nest_end(p);
  m.nest_end(data);
  m.nest_end(info);
  return request(m, "create veth pair", host + " <-> " + peer);
}

Result<void> Rtnl::add_macvlan(const std::string& name, int parent_index, int netns_fd) {
  Msg m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  put_ifinfo(m, 0);
  m.put_str(IFLA_IFNAME, name);
  m.put_u32(IFLA_LINK, static_cast<uint32_t>(parent_index));
  m.put_u32(IFLA_NET_NS_FD, static_cast<uint32_t>(netns_fd));
  size_t info = m.nest_start(IFLA_LINKINFO);
  m.put_str(IFLA_INFO_KIND, "macvlan");
  size_t data = m.nest_start(IFLA_INFO_DATA);
  m.put_u32(IFLA_MACVLAN_MODE, MACVLAN_MODE_BRIDGE);
  m.nest_end(data);
  m.nest_end(info);
  return request(m, "create macvlan", name);
}

Result<void> Rtnl::set_master(int index, int master, const std::string& subject) {
  Msg m(RTM_NEWLINK, 0);
  put_ifinfo(m, index);
  m.put_u32(IFLA_MASTER, static_cast<uint32_t>(master));
  return request(m, "attach to bridge", subject);
}

Result<void> Rtnl::set_up(int index, const std::string& subject) {
  Msg m(RTM_NEWLINK, 0);
  ifinfomsg* ifm = put_ifinfo(m, index);
  ifm->ifi_change = IFF_UP;
  ifm->ifi_flags = IFF_UP;
  return request(m, "set up", subject);
}

Result<void> Rtnl::del_link(int index, const std::string& subject) {
  Msg m(RTM_DELLINK, 0);
  put_ifinfo(m, index);
  auto r = request(m, "delete interface", subject);
  if (!r && r.error().code == ENODEV) {
    return make_error(ErrorKind::kNotFound, "delete interface", subject, "no such interface",
                      ENODEV);
  }
  return r;
}

namespace {

// The fixed header and address attributes of RTM_NEWADDR / RTM_DELADDR.
void put_addr(Rtnl::Msg& m, int index, const NetAddress& a) {
  auto* ifa = m.fixed<ifaddrmsg>();
  if (!ifa) return;
  ifa->ifa_family = static_cast<uint8_t>(a.family);
  ifa->ifa_prefixlen = static_cast<uint8_t>(a.prefix);
  ifa->ifa_scope = RT_SCOPE_UNIVERSE;
  ifa->ifa_index = static_cast<uint32_t>(index);
  // No duplicate address detection: the address is usable at once (a service binds it
  // right after start), and duplicates between contexts are refused before (netbind.h).
  if (a.family == AF_INET6) ifa->ifa_flags = IFA_F_NODAD;
  size_t len = a.family == AF_INET ? 4 : 16;
  m.put(IFA_LOCAL, a.bytes.data(), len);
  m.put(IFA_ADDRESS, a.bytes.data(), len);
}

}  // namespace

Result<void> Rtnl::add_address(int index, const NetAddress& a, const std::string& subject,
                               const std::string& label, uint8_t proto) {
  Msg m(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
  put_addr(m, index, a);
  if (!label.empty() && a.family == AF_INET) m.put_str(IFA_LABEL, label.substr(0, IFNAMSIZ - 1));
  if (proto != 0) m.put(IFA_PROTO, &proto, sizeof proto);
  return request(m, "add address " + format_net_address(a), subject);
}

Result<void> Rtnl::del_address(int index, const NetAddress& a, const std::string& subject) {
  Msg m(RTM_DELADDR, 0);
  put_addr(m, index, a);
  auto r = request(m, "delete address " + format_net_address(a), subject);
  if (!r && (r.error().code == EADDRNOTAVAIL || r.error().code == ENODEV)) {
    return make_error(ErrorKind::kNotFound, "delete address " + format_net_address(a), subject,
                      "no such address", r.error().code);
  }
  return r;
}

Result<std::vector<NetAddress>> Rtnl::addresses(int index) {
  auto all = all_addresses();
  if (!all) return std::move(all).error();
  std::vector<NetAddress> out;
  for (const auto& a : *all) {
    if (a.index == index) out.push_back(a.addr);
  }
  return out;
}

Result<std::vector<AddrInfo>> Rtnl::all_addresses() {
  Msg m(RTM_GETADDR, NLM_F_DUMP);
  m.fixed<ifaddrmsg>()->ifa_family = AF_UNSPEC;
  std::vector<AddrInfo> out;
  auto r = dump(m, "RTM_GETADDR", [&](const nlmsghdr* h) {
    if (h->nlmsg_type != RTM_NEWADDR) return;
    const auto* am = static_cast<const ifaddrmsg*>(NLMSG_DATA(h));
    if (am->ifa_family != AF_INET && am->ifa_family != AF_INET6) return;
    Attrs<IFA_MAX + 1> t;
    t.parse_msg(h, sizeof *am);
    const rtattr* at = t.tb[IFA_LOCAL] ? t.tb[IFA_LOCAL] : t.tb[IFA_ADDRESS];
    size_t len = am->ifa_family == AF_INET ? 4 : 16;
    if (!at || RTA_PAYLOAD(at) != len) return;
    AddrInfo info;
    info.index = static_cast<int>(am->ifa_index);
    info.addr.family = am->ifa_family;
    info.addr.prefix = am->ifa_prefixlen;
    std::memcpy(info.addr.bytes.data(), RTA_DATA(at), len);
    info.label = attr_str(t.tb[IFA_LABEL]);
    if (t.tb[IFA_PROTO] && RTA_PAYLOAD(t.tb[IFA_PROTO]) >= 1) {
      info.proto = *static_cast<const uint8_t*>(RTA_DATA(t.tb[IFA_PROTO]));
    }
    out.push_back(std::move(info));
  });
  if (!r) return std::move(r).error();
  return out;
}

Result<void> Rtnl::add_default_route(const NetAddress& gw, int index,
                                     const std::string& subject) {
  Msg m(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
  auto* rtm = m.fixed<rtmsg>();
  rtm->rtm_family = static_cast<uint8_t>(gw.family);
  rtm->rtm_table = RT_TABLE_MAIN;
  rtm->rtm_protocol = RTPROT_BOOT;
  rtm->rtm_scope = RT_SCOPE_UNIVERSE;
  rtm->rtm_type = RTN_UNICAST;
  m.put(RTA_GATEWAY, gw.bytes.data(), gw.family == AF_INET ? 4 : 16);
  m.put_u32(RTA_OIF, static_cast<uint32_t>(index));
  auto addr = format_net_address(gw);
  return request(m, "add default route via " + addr.substr(0, addr.find('/')), subject);
}

}  // namespace vs::shim
