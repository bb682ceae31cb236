// A guest's users, read from its own /etc/passwd and /etc/group as data: never through NSS,
// which would load the guest's libraries into a host process (DESIGN.md "Security stance").
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.h"

namespace vs {

struct GuestUser {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  ///< supplementary groups: those of /etc/group naming the user
  std::string home = "/";
  std::string shell = "/bin/sh";
};

/// Finds `who` (a user name, or a decimal uid) in the passwd text; the supplementary groups
/// come from the group text. A number not in passwd is accepted as uid=gid=that number with
/// home "/" (as su and runuser do). Unknown name: kNotFound "no user NAME in FILE".
Result<GuestUser> find_guest_user(std::string_view passwd, std::string_view group,
                                  std::string_view who, const std::string& passwd_file);

/// Reads etc/passwd and etc/group beneath the guest root open at `root_fd` (RESOLVE_IN_ROOT,
/// size-capped; a missing group file is empty) and calls find_guest_user().
Result<GuestUser> lookup_guest_user(int root_fd, const std::string& vdir, std::string_view who);

}  // namespace vs
