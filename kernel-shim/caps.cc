#include "kernel-shim/caps.h"

#include <linux/capability.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cctype>
#include <vector>

#include "lib/base/parse.h"

namespace vs::shim {
namespace {

constexpr CapMask bit(int cap) { return CapMask{1} << cap; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

int last_cap() {
  // cap_max_bits() asks the kernel (CAP_LAST_CAP + 1), falling back to libcap's own count.
  int n = static_cast<int>(cap_max_bits());
  return std::clamp(n, 1, 64) - 1;
}

CapMask all_caps() {
  int last = last_cap();
  return last >= 63 ? ~CapMask{0} : (bit(last + 1) - 1);
}

CapMask default_guest_bcaps() {
  return bit(CAP_CHOWN) | bit(CAP_DAC_OVERRIDE) | bit(CAP_FSETID) | bit(CAP_FOWNER) |
         bit(CAP_SETGID) | bit(CAP_SETUID) | bit(CAP_SETFCAP) | bit(CAP_SETPCAP) |
         bit(CAP_NET_BIND_SERVICE) | bit(CAP_SYS_CHROOT) | bit(CAP_KILL) | bit(CAP_AUDIT_WRITE);
}

std::string cap_name(int cap) {
  char* name = cap_to_name(static_cast<cap_value_t>(cap));
  std::string out = name != nullptr ? name : std::to_string(cap);
  cap_free(name);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  // libcap prints numbers for capabilities newer than itself; keep those as ^N.
  if (!out.empty() && std::isdigit(static_cast<unsigned char>(out[0]))) return "^" + out;
  return out;
}

std::optional<int> cap_from_name(std::string_view name) {
  std::string want = lower(name);
  if (want.rfind("cap_", 0) != 0) want = "cap_" + want;
  for (int cap = 0; cap <= last_cap(); ++cap) {
    if (lower(cap_name(cap)) == want) return cap;
  }
  return std::nullopt;
}

Result<CapMask> apply_cap_changes(CapMask base, std::string_view list) {
  CapMask mask = base;
  for (std::string_view word : split_list(list)) {
    std::string_view w = word;
    bool remove = strip_removal(&w);
    if (!remove && (w == "all" || w == "ALL")) {
      mask = all_caps();
      continue;
    }
    if (!remove && (w == "none" || w == "NONE")) {
      mask = 0;
      continue;
    }
    std::optional<int> cap;
    if (!w.empty() && w.front() == '^') {
      auto n = parse_uint(w.substr(1), 0, static_cast<uint64_t>(last_cap()), "capability number");
      if (n) cap = static_cast<int>(*n);
    } else {
      cap = cap_from_name(w);
    }
    if (!cap) {
      return usage_error("capability", "unknown capability `" + std::string(word) +
                                           "` (names as in capabilities(7), e.g. CAP_CHOWN or "
                                           "chown; ^N for number N up to " +
                                           std::to_string(last_cap()) +
                                           "; prefix ~ or ! to remove; all, none)");
    }
    mask = remove ? (mask & ~bit(*cap)) : (mask | bit(*cap));
  }
  return mask;
}

std::string format_caps(CapMask mask) {
  std::string out;
  for (int cap = 0; cap <= 63; ++cap) {
    if ((mask & bit(cap)) == 0) continue;
    if (!out.empty()) out += ',';
    out += cap_name(cap);
  }
  return out;
}

const std::map<std::string, CcapInfo, std::less<>>& ccap_table() {
  static const std::map<std::string, CcapInfo, std::less<>> table = {
      {"set_rlimit", {"set_rlimit", bit(CAP_SYS_RESOURCE), nullptr}},
      {"set_utsname",
       {"set_utsname", 0,
        "not supported on stock kernels: the guest's uts fields are set from the host "
        "(vuname --set)"}},
      {"raw_icmp",
       {"raw_icmp", 0,
        "not supported as a context capability: give the guest CAP_NET_RAW (--bcap NET_RAW) "
        "or use an isolated network with net.ipv4.ping_group_range"}},
      {"syslog",
       {"syslog", 0,
        "not supported on stock kernels: the kernel log is not namespaced; run a syslog "
        "daemon in the guest"}},
      {"secure_mount",
       {"secure_mount", 0,
        "not supported on stock kernels: a guest's mounts come from its fstab at start"}},
      {"secure_remount",
       {"secure_remount", 0,
        "not supported on stock kernels: a guest's mounts come from its fstab at start"}},
      {"binary_mount",
       {"binary_mount", 0,
        "not supported on stock kernels: a guest's mounts come from its fstab at start"}},
      {"quota_ctl",
       {"quota_ctl", 0,
        "not supported on stock kernels: set project quotas on the guest's tree from the "
        "host"}},
      {"admin_mapper",
       {"admin_mapper", 0, "not supported on stock kernels: device-mapper is host-only"}},
      {"admin_cloop",
       {"admin_cloop", 0, "not supported on stock kernels: loop devices are host-only"}},
  };
  return table;
}

Result<std::string> normalize_ccaps(std::string_view current, std::string_view list) {
  std::vector<std::string> have;
  for (std::string_view w : split_list(current)) have.emplace_back(w);
  const auto& table = ccap_table();
  for (std::string_view word : split_list(list)) {
    std::string_view w = word;
    bool remove = strip_removal(&w);
    std::string name = lower(w);
    auto it = table.find(name);
    if (it == table.end()) {
      std::string known;
      for (const auto& [n, info] : table) {
        if (info.refused != nullptr) continue;
        known += (known.empty() ? "" : ", ") + n;
      }
      return usage_error("ccap", "unknown context capability `" + std::string(word) +
                                     "` (supported: " + known + "; prefix ~ or ! to remove)");
    }
    if (it->second.refused != nullptr && !remove) {
      return usage_error("ccap", "context capability `" + name + "` is " + it->second.refused);
    }
    std::erase(have, name);
    if (!remove) have.push_back(name);
  }
  std::sort(have.begin(), have.end());
  std::string out;
  for (const auto& n : have) out += (out.empty() ? "" : ",") + n;
  return out;
}

CapMask ccaps_grant(std::string_view normalized) {
  CapMask m = 0;
  for (std::string_view w : split_list(normalized)) {
    auto it = ccap_table().find(w);
    if (it != ccap_table().end()) m |= it->second.grants;
  }
  return m;
}

Result<void> drop_capabilities(CapMask bcaps) {
  for (int cap = 0; cap <= last_cap(); ++cap) {
    if ((bcaps & bit(cap)) != 0) continue;
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
      return sys_error("drop from the bounding set", cap_name(cap));
    }
  }
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
    return sys_error("clear ambient capabilities", "self");
  }
  cap_t caps = cap_get_proc();
  if (caps == nullptr) return sys_error("read capabilities", "self");
  int err = 0;
  if (cap_clear_flag(caps, CAP_INHERITABLE) != 0) err = errno;
  for (int cap = 0; err == 0 && cap <= last_cap(); ++cap) {
    if ((bcaps & bit(cap)) != 0) continue;
    cap_value_t v = static_cast<cap_value_t>(cap);
    if (cap_set_flag(caps, CAP_PERMITTED, 1, &v, CAP_CLEAR) != 0 ||
        cap_set_flag(caps, CAP_EFFECTIVE, 1, &v, CAP_CLEAR) != 0) {
      err = errno;
    }
  }
  if (err == 0 && cap_set_proc(caps) != 0) err = errno;
  cap_free(caps);
  if (err != 0) return sys_error("set capabilities", "self", err);
  return ok();
}

}  // namespace vs::shim
