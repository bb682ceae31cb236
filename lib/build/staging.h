// The common part of every build method: a staging tree `<vdir>.build-XXXXXX` next to the
// vdir, removed unless commit() renamed it into place.
#pragma once

#include <string>

#include "lib/base/result.h"
#include "lib/base/unique_fd.h"
#include "lib/build/build.h"

namespace vs::build {

class Staging {
 public:
  /// Refuses an existing vdir without opts.force (kWrongState) and, with force, an old tree
  /// that delete_tree() would refuse; then creates the staging directory (0700).
  static Result<Staging> begin(const BuildOptions& opts, BuildResult& result);

  Staging(Staging&& other) noexcept;
  Staging& operator=(Staging&&) = delete;
  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;
  /// Removes the staging tree unless committed (best effort, R16).
  ~Staging();

  [[nodiscard]] int root_fd() const { return root_.get(); }
  [[nodiscard]] const std::string& path() const { return path_; }

  /// Gives the root `root_mode`, then renames the staging tree to the vdir (exchanging and
  /// deleting the old tree when forced).
  Result<void> commit(mode_t root_mode = 0755);

 private:
  Staging() = default;
  std::string vdir_;
  std::string path_;
  UniqueFd root_;
  bool force_ = false;
  bool done_ = false;
};

/// Writes the skeleton layout and /etc beneath `root_fd`. `with_system_dirs` false leaves out
/// bin, sbin, lib and usr (the host method makes those itself).
Result<void> write_skeleton(int root_fd, const std::string& hostname, bool with_system_dirs);

}  // namespace vs::build
