// What an interrupted build leaves: a build killed (kill -9, a crash, a power cut) before it
// renamed its trees into place leaves its scratch directories next to the guest's vdir and in
// the configuration directory. The next build or delete of that guest sweeps them, under the
// guest's lock (so no live build of that name owns them).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.h"

namespace vs {

/// True if `entry` (a name in the vdir's parent) is a scratch directory name a build of the
/// vdir named `vdir_name` makes: `vdir_name` + `.build-`, `.deboot-` or `.tpl-` + mkdtemp's six
/// letters or digits. In the configuration directory (`in_confdir`): `.` + the guest's name +
/// `.new-` + six letters or digits. Nothing else, however similar.
bool is_build_leftover(std::string_view vdir_name, std::string_view entry, bool in_confdir);

struct SweepResult {
  std::vector<std::string> removed;  ///< the directories removed (absolute paths)
  std::vector<std::string> failed;   ///< one message per directory that could not be
};

/// Removes the build leftovers of the guest `name` whose tree is `vdir`, in the vdir's parent
/// and in `confdir` (the directory holding every guest's configuration directory): each entry
/// whose name is_build_leftover(), that is a directory (not a symlink: never followed) owned
/// by root, with delete_tree() (no link followed, no mount crossed: a leftover with a mount in
/// it is left and reported). A missing parent or confdir is no leftover. Never fails: what it
/// could not remove is in `failed`.
SweepResult sweep_build_leftovers(const std::string& vdir, const std::string& confdir,
                                  std::string_view name);

}  // namespace vs
