// What the GuestRoot tests (guest_root_test.cc, guest_root_hostile_test.cc) share: plain-
// syscall helpers (not the code under test), the checks made inside the guest, entering the
// guest root as pid 1 of fresh namespaces, and the fixture with its busybox guest tree, host
// marker and victim files.
#pragma once

#include <errno.h>
#include <gtest/gtest.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <set>
#include <string>
#include <vector>

#include "lib/mount/guest_root.h"
#include "tests/support/files.h"
#include "tests/support/root_env.h"

namespace vs::test {

// --- plain-syscall helpers (not the code under test) ---

inline void put(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
}

inline std::string err(int code) { return ::strerrordesc_np(code) ? ::strerrordesc_np(code) : "?"; }

// 0 if open(path, flags) succeeded, else its errno.
int open_errno(const std::string& path, int flags, mode_t mode = 0644);

std::set<std::string> list_dir(const std::string& path);

std::string join(const std::set<std::string>& s);

// Mount points (field 5 of mountinfo, octal escapes decoded), in order.
std::vector<std::string> mount_points(const std::string& mountinfo = "/proc/self/mountinfo");

inline bool under(const std::string& path, const std::string& dir) {
  return path == dir || path.rfind(dir + "/", 0) == 0;
}

long fs_type(const std::string& path);

unsigned long vfs_flags(const std::string& path);

// Collects failures inside the guest; the text travels back to the test through a pipe.
class Checks {
 public:
  void fail(const std::string& m) { out_ += m + "\n"; }
  void expect(bool ok, const std::string& m) {
    if (!ok) fail(m);
  }
  // An operation that must fail with `want` (rc: 0 = it succeeded, else its errno).
  void expect_errno(int rc, int want, const std::string& what) {
    if (rc == 0)
      fail(what + ": succeeded, expected " + err(want));
    else if (rc != want)
      fail(what + ": " + err(rc) + ", expected " + err(want));
  }
  void expect_one_of(int rc, std::initializer_list<int> want, const std::string& what) {
    if (rc == 0)
      fail(what + ": succeeded, expected it refused");
    else if (std::find(want.begin(), want.end(), rc) == want.end())
      fail(what + ": " + err(rc));
  }
  [[nodiscard]] const std::string& result() const { return out_; }

 private:
  std::string out_;
};

inline int rc_of(int syscall_rc) { return syscall_rc == 0 ? 0 : errno; }

// Runs in a run_in_child body: new mount + pid namespaces (plus `extra_ns`) with shared
// propagation, then a fork. The grandchild, pid 1 of the new pid namespace, calls
// enter_guest_root and then `inside`. When `on_error` is given the setup must fail: the
// grandchild first checks that every mount made before the refusal lies in the vdir, then
// hands the error to `on_error`.
std::string in_guest(const GuestRootSpec& spec, const std::function<std::string()>& inside,
                     const std::function<std::string(const Error&)>& on_error = {},
                     int extra_ns = 0);

// Expects a refusal whose message names `path` and says `what`.
std::function<std::string(const Error&)> refusal(const std::string& path, const std::string& what);

// Each test gets $T (base) holding a busybox guest tree, a host marker and victim files.
class GuestRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    base_ = root_env().tmp + "/guest-root-" + info->name();
    vdir_ = base_ + "/guest";
    std::filesystem::create_directories(vdir_);
    for (const char* d : {"bin", "proc", "sys", "dev", "etc", "tmp", "srv"}) {
      std::filesystem::create_directory(vdir_ + "/" + d);
    }
    std::filesystem::copy_file("/bin/busybox", vdir_ + "/bin/busybox");
    std::filesystem::permissions(vdir_ + "/bin/busybox", std::filesystem::perms(0755));
    std::filesystem::create_symlink("busybox", vdir_ + "/bin/sh");
    put(vdir_ + "/marker", "guest");
    host_marker_ = base_ + "/HOSTMARK";
    put(host_marker_, "host");
    victim_ = base_ + "/victim";
    put(victim_, "precious\n");
    victim2_ = base_ + "/victim2";
    put(victim2_, "precious too\n");
    ASSERT_EQ(::stat(victim_.c_str(), &victim_st_), 0);
    ASSERT_EQ(::stat(victim2_.c_str(), &victim2_st_), 0);
    spec_.vdir = vdir_;
  }

  void TearDown() override {
    // Host state after the guest is gone: victims byte-identical and untouched, no mount left.
    EXPECT_EQ(slurp(victim_), "precious\n");
    EXPECT_EQ(slurp(victim2_), "precious too\n");
    struct stat now {};
    ASSERT_EQ(::stat(victim_.c_str(), &now), 0);
    EXPECT_EQ(now.st_mtim.tv_sec, victim_st_.st_mtim.tv_sec);
    EXPECT_EQ(now.st_mtim.tv_nsec, victim_st_.st_mtim.tv_nsec);
    for (const auto& mp : mount_points()) EXPECT_FALSE(under(mp, base_)) << "left mounted: " << mp;
    std::error_code ec;
    std::filesystem::remove_all(base_, ec);
  }

  void replace_with_symlink(const std::string& guest_dir, const std::string& to) {
    std::filesystem::remove_all(vdir_ + guest_dir);
    std::filesystem::create_symlink(to, vdir_ + guest_dir);
  }

  std::string base_, vdir_, host_marker_, victim_, victim2_;
  struct stat victim_st_ {
  }, victim2_st_{};
  GuestRootSpec spec_;
};

}  // namespace vs::test
