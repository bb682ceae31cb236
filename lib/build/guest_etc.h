// Finishing a tree that guest code made (debootstrap's second stage ran its maintainer
// scripts in it): the names and resolver in its /etc, the init style it supports, and its
// size. The tree is hostile by then: every step resolves beneath its root fd without
// following a symlink out (RESOLVE_IN_ROOT, and RESOLVE_NO_SYMLINKS where a file is
// written), and nothing is opened for writing that could block or be a device (a file is
// replaced by renaming a new one over it, never written in place).
#pragma once

#include <cstdint>
#include <string>

#include "lib/base/result.h"

namespace vs::build {

/// Replaces etc/hostname (the hostname) and etc/hosts (localhost and the hostname) of the tree
/// `root_fd`, each by a new regular file renamed over whatever is there (a symlink is
/// replaced, not followed). etc must be a directory, not a symlink.
Result<void> write_etc_names(int root_fd, const std::string& hostname);

/// When the tree has no etc/resolv.conf (not even a symlink), copies the contents of
/// `host_file` (the host's /etc/resolv.conf, its symlinks followed on the host) there as a
/// regular file 0644. Returns whether it copied; a host without the file copies nothing.
Result<bool> copy_host_resolver(int root_fd, const std::string& host_file = "/etc/resolv.conf");

/// The program an init style runs, as the guest sees it (/sbin/init, /etc/init.d/rc), or
/// empty for minit (built in).
std::string init_style_program(const std::string& style);

/// Whether the tree has an executable regular file at `path` (absolute, inside the guest),
/// resolving its symlinks inside the tree (a merged-/usr /sbin -> usr/sbin counts).
bool tree_has_program(int root_fd, const std::string& path);

/// The init style a tree supports when none was asked for: sysv when it has /etc/init.d/rc
/// (sysv-rc, which sysvinit-core also brings), else minit (the built-in init, which needs
/// nothing of the tree). Never plain: a /sbin/init (systemd's, say) is no proof that it runs
/// in a context; plain is the admin's choice (--init-style plain).
std::string detect_init_style(int root_fd);

/// Counts the entries of the tree (every file, directory, link ... below the root, the root
/// not counted), without following symlinks or crossing into another filesystem.
Result<uint64_t> count_entries(int root_fd);

}  // namespace vs::build
