// Directory-fd based file helpers (lib/base/fs_at.h, STYLE.md R4 + R5): open_beneath never
// leaves the tree, read_file_at refuses FIFOs and symlinks, atomic_write_at replaces whole.
// Every test works in its own temp tree (writable by an unprivileged user too).
#include "lib/base/fs_at.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "lib/base/syscall.h"
#include "tests/support/temp_tree.h"

namespace vs {
namespace {

using test::ScopedTempDir;

// --- small helpers that use plain syscalls, not the code under test ---

void put(const std::string& path, const std::string& data, mode_t mode = 0644) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  ASSERT_GE(fd, 0) << path << ": " << strerror(errno);
  ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::close(fd);
}

std::optional<std::string> slurp(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

std::string read_fd(int fd) {
  std::string out;
  char buf[4096];
  off_t off = 0;
  ssize_t n;
  while ((n = ::pread(fd, buf, sizeof buf, off)) > 0) {
    out.append(buf, static_cast<size_t>(n));
    off += n;
  }
  return out;
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

bool same_file(int fd, const std::string& path) {
  struct stat a {
  }, b{};
  if (::fstat(fd, &a) < 0 || ::stat(path.c_str(), &b) < 0) return false;
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

bool is_cloexec(int fd) {
  int flags = ::fcntl(fd, F_GETFD);
  return flags >= 0 && (flags & FD_CLOEXEC);
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return names;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  ::closedir(d);
  return names;
}

mode_t current_umask() {
  mode_t m = ::umask(022);
  ::umask(m);
  return m;
}

// Runs `body` in a forked child and waits at most `seconds`. Returns the child's exit code, or
// nullopt if it had to be killed (it blocked).
std::optional<int> run_with_timeout(const std::function<int()>& body, int seconds) {
  pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) ::_exit(body());
  int pidfd = sys::pidfd_open(pid, 0);
  bool done = true;
  if (pidfd >= 0) {
    struct pollfd p = {pidfd, POLLIN, 0};
    done = ::poll(&p, 1, seconds * 1000) > 0;
    ::close(pidfd);
  }
  if (!done) ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!done) return std::nullopt;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// A temp dir with an "outside" area and a "root" tree that plays a guest root.
class FsAtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    root_ = tmp_.path() + "/root";
    ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
    ASSERT_EQ(::mkdir((root_ + "/etc").c_str(), 0755), 0);
    root_fd_ = ::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(root_fd_, 0);
  }
  void TearDown() override {
    if (root_fd_ >= 0) ::close(root_fd_);
  }

  std::string in_root(const std::string& rel) const { return root_ + "/" + rel; }
  std::string outside(const std::string& rel) const { return tmp_.path() + "/" + rel; }

  ScopedTempDir tmp_;
  std::string root_;
  int root_fd_ = -1;
};

// ------------------------------------------------------------------ open_beneath

TEST_F(FsAtTest, OpenBeneathOpensAFileInTheTree) {
  put(in_root("etc/hostname"), "guest\n");
  auto fd = open_beneath(root_fd_, "etc/hostname", O_RDONLY);
  ASSERT_TRUE(fd) << fd.error().message();
  EXPECT_EQ(read_fd(fd->get()), "guest\n");
  EXPECT_TRUE(is_cloexec(fd->get())) << "R4: O_CLOEXEC is added even when not asked for";
}

TEST_F(FsAtTest, OpenBeneathDotDotCannotEscape) {
  put(outside("secret"), "OUTSIDE");
  for (const char* rel : {"../secret", "../../secret", "../../../../../../secret",
                          "etc/../../secret", "./../secret"}) {
    auto fd = open_beneath(root_fd_, rel, O_RDONLY);
    if (fd) {
      ADD_FAILURE() << rel << " escaped the root and read `" << read_fd(fd->get()) << "`";
      continue;
    }
    EXPECT_EQ(fd.error().code, ENOENT) << rel << ": " << fd.error().message();
    EXPECT_EQ(fd.error().subject, rel) << "the error names the path the caller gave";
  }
  // With the same name inside the tree, ".." at the root stays at the root.
  put(in_root("secret"), "INSIDE");
  for (const char* rel : {"../secret", "../../../../../../secret", "etc/../../secret"}) {
    auto fd = open_beneath(root_fd_, rel, O_RDONLY);
    ASSERT_TRUE(fd) << rel << ": " << fd.error().message();
    EXPECT_EQ(read_fd(fd->get()), "INSIDE") << rel;
    EXPECT_TRUE(same_file(fd->get(), in_root("secret"))) << rel;
  }
}

TEST_F(FsAtTest, OpenBeneathAbsoluteSymlinkResolvesInsideTheRoot) {
  put(in_root("etc/passwd"), "root:x:0:0:INSIDE:/root:/bin/sh\n");
  ASSERT_EQ(::symlink("/etc/passwd", in_root("link").c_str()), 0);
  auto fd = open_beneath(root_fd_, "link", O_RDONLY);
  ASSERT_TRUE(fd) << fd.error().message();
  EXPECT_EQ(read_fd(fd->get()), "root:x:0:0:INSIDE:/root:/bin/sh\n");
  EXPECT_TRUE(same_file(fd->get(), in_root("etc/passwd")));
  EXPECT_FALSE(same_file(fd->get(), "/etc/passwd")) << "reached the host's /etc/passwd";
}

TEST_F(FsAtTest, OpenBeneathAbsoluteSymlinkWithoutInsideTargetFails) {
  // The host has /etc/passwd; the tree does not. Resolving must not fall through to the host.
  ASSERT_EQ(::symlink("/etc/passwd", in_root("link").c_str()), 0);
  auto fd = open_beneath(root_fd_, "link", O_RDONLY);
  ASSERT_FALSE(fd) << "opened the host's /etc/passwd: " << read_fd(fd->get()).substr(0, 40);
  EXPECT_EQ(fd.error().code, ENOENT);
}

TEST_F(FsAtTest, OpenBeneathRelativeSymlinkUpAndOutStaysInside) {
  put(in_root("etc/passwd"), "INSIDE");
  ASSERT_EQ(::symlink("../../../../../../etc/passwd", in_root("etc/up").c_str()), 0);
  auto fd = open_beneath(root_fd_, "etc/up", O_RDONLY);
  ASSERT_TRUE(fd) << fd.error().message();
  EXPECT_TRUE(same_file(fd->get(), in_root("etc/passwd")));
}

TEST_F(FsAtTest, OpenBeneathSymlinkToOutsideAbsolutePathStaysInside) {
  // An absolute symlink to the real (host) path of the outside file.
  put(outside("secret"), "OUTSIDE");
  ASSERT_EQ(::symlink(outside("secret").c_str(), in_root("to-secret").c_str()), 0);
  auto fd = open_beneath(root_fd_, "to-secret", O_RDONLY);
  if (fd) {
    EXPECT_NE(read_fd(fd->get()), "OUTSIDE") << "followed a symlink out of the root";
  }
}

TEST_F(FsAtTest, OpenBeneathDirectorySymlinkInTheMiddle) {
  put(in_root("etc/passwd"), "INSIDE");
  ASSERT_EQ(::symlink("/", in_root("slash").c_str()), 0);
  auto fd = open_beneath(root_fd_, "slash/etc/passwd", O_RDONLY);
  ASSERT_TRUE(fd) << fd.error().message();
  EXPECT_TRUE(same_file(fd->get(), in_root("etc/passwd")));
}

TEST_F(FsAtTest, OpenBeneathAbsoluteRelIsRelativeToTheRoot) {
  put(in_root("etc/passwd"), "INSIDE");
  auto fd = open_beneath(root_fd_, "/etc/passwd", O_RDONLY);
  ASSERT_TRUE(fd) << fd.error().message();
  EXPECT_TRUE(same_file(fd->get(), in_root("etc/passwd")));
}

TEST_F(FsAtTest, OpenBeneathNoSymlinksFlagRefusesSymlinks) {
  put(in_root("etc/passwd"), "INSIDE");
  ASSERT_EQ(::symlink("etc/passwd", in_root("link").c_str()), 0);
  auto fd = open_beneath(root_fd_, "link", O_RDONLY, 0, RESOLVE_NO_SYMLINKS);
  ASSERT_FALSE(fd);
  EXPECT_EQ(fd.error().code, ELOOP);
  EXPECT_EQ(fd.error().subject, "link");
  auto direct = open_beneath(root_fd_, "etc/passwd", O_RDONLY, 0, RESOLVE_NO_SYMLINKS);
  EXPECT_TRUE(direct) << direct.error().message();
}

TEST_F(FsAtTest, OpenBeneathRefusesMagicLinks) {
  int proc_self = ::open("/proc/self", O_PATH | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(proc_self, 0);
  for (const char* rel : {"cwd", "root", "exe"}) {
    auto fd = open_beneath(proc_self, rel, O_PATH);
    EXPECT_FALSE(fd) << rel << " is a magic link and must not be followed";
    if (!fd) {
      EXPECT_EQ(fd.error().code, ELOOP) << rel;
    }
  }
  ::close(proc_self);
}

TEST_F(FsAtTest, OpenBeneathCreateThroughDanglingSymlinkStaysInside) {
  ASSERT_EQ(::mkdir(outside("out").c_str(), 0755), 0);
  std::string target = outside("out/created");
  ASSERT_EQ(::symlink(target.c_str(), in_root("newlink").c_str()), 0);
  auto fd = open_beneath(root_fd_, "newlink", O_WRONLY | O_CREAT, 0644);
  EXPECT_FALSE(exists(target)) << "created " << target << " outside the root";
  (void)fd;  // Failing (the path does not exist inside) or creating inside are both fine.
}

TEST_F(FsAtTest, OpenBeneathCreatesWithMode) {
  auto fd = open_beneath(root_fd_, "etc/new", O_WRONLY | O_CREAT | O_EXCL, 0640);
  ASSERT_TRUE(fd) << fd.error().message();
  struct stat st {};
  ASSERT_EQ(::stat(in_root("etc/new").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640 & ~current_umask());
}

TEST_F(FsAtTest, OpenPathAddsCloexec) {
  put(outside("plain"), "x");
  auto fd = open_path(outside("plain"), O_RDONLY);
  ASSERT_TRUE(fd) << fd.error().message();
  EXPECT_TRUE(is_cloexec(fd->get()));
  auto missing = open_path(outside("missing"), O_RDONLY);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENOENT);
  EXPECT_EQ(missing.error().subject, outside("missing"));
}

// ------------------------------------------------------------------ read_file_at / read_file

TEST_F(FsAtTest, ReadFileAtReadsWholeFile) {
  std::string big(10000, 'x');
  big[9999] = 'y';
  put(in_root("etc/big"), big);
  auto r = read_file_at(root_fd_, "etc/big");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, big);
}

TEST_F(FsAtTest, ReadIntoAtGrowsOneBufferAcrossFiles) {
  std::string big(40000, 'x');
  big[39999] = 'y';
  put(in_root("etc/big"), big);
  put(in_root("etc/small"), "small\n");
  std::vector<char> buf;
  for (ReadEnd end : {ReadEnd::kShort, ReadEnd::kZero}) {
    auto n = read_into_at(root_fd_, "etc/big", buf, end);
    ASSERT_TRUE(n) << n.error().message();
    EXPECT_EQ(std::string(buf.data(), *n), big);
    const size_t grown = buf.size();
    auto m = read_into_at(root_fd_, "etc/small", buf, end);
    ASSERT_TRUE(m) << m.error().message();
    EXPECT_EQ(std::string(buf.data(), *m), "small\n");
    EXPECT_EQ(buf.size(), grown) << "the buffer shrank";
  }
  put(in_root("empty"), "");
  auto e = read_into_at(root_fd_, "empty", buf, ReadEnd::kShort);
  ASSERT_TRUE(e) << e.error().message();
  EXPECT_EQ(*e, 0u);
}

TEST_F(FsAtTest, ReadIntoAtErrorsNameTheFile) {
  std::vector<char> buf;
  auto missing = read_into_at(root_fd_, "etc/none", buf, ReadEnd::kZero);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENOENT);
  EXPECT_EQ(missing.error().subject, "etc/none");
  ASSERT_EQ(::symlink("/etc/passwd", in_root("etc/link").c_str()), 0);
  auto link = read_into_at(root_fd_, "etc/link", buf, ReadEnd::kZero);
  ASSERT_FALSE(link) << "followed a final symlink";
  EXPECT_EQ(link.error().code, ELOOP);
  auto dir = read_into_at(root_fd_, "etc", buf, ReadEnd::kZero);
  ASSERT_FALSE(dir);
  EXPECT_EQ(dir.error().op, "read");
  EXPECT_EQ(dir.error().code, EISDIR);
}

TEST_F(FsAtTest, ReadFileAtEmptyFile) {
  put(in_root("empty"), "");
  auto r = read_file_at(root_fd_, "empty");
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, "");
}

TEST_F(FsAtTest, ReadFileAtRefusesAFifoWithoutBlocking) {
  ASSERT_EQ(::mkfifo(in_root("fifo").c_str(), 0644), 0);
  int dir_fd = root_fd_;
  // In a child, so a blocking open would be killed instead of hanging the test binary.
  auto code = run_with_timeout(
      [dir_fd] {
        auto r = read_file_at(dir_fd, "fifo");
        if (r) return 1;                            // read a FIFO as if it were a file
        if (r.error().subject != "fifo") return 2;  // the error must name the file
        return 0;
      },
      5);
  ASSERT_TRUE(code.has_value()) << "read_file_at blocked on a FIFO";
  EXPECT_NE(*code, 1) << "a FIFO was read like a regular file";
  EXPECT_NE(*code, 2) << "the error does not name `fifo`";
  EXPECT_EQ(*code, 0);
}

TEST_F(FsAtTest, ReadFileAtRefusesAFinalSymlink) {
  put(in_root("etc/real"), "REAL");
  ASSERT_EQ(::symlink("real", in_root("etc/link").c_str()), 0);
  auto r = read_file_at(root_fd_, "etc/link");
  ASSERT_FALSE(r) << "followed the symlink and read `" << *r << "`";
  EXPECT_EQ(r.error().subject, "etc/link");
}

TEST_F(FsAtTest, ReadFileAtRefusesADirectory) {
  auto r = read_file_at(root_fd_, "etc");
  EXPECT_FALSE(r);
}

TEST_F(FsAtTest, ReadFileAtMissingIsEnoent) {
  auto r = read_file_at(root_fd_, "etc/nope");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENOENT);
  EXPECT_EQ(r.error().subject, "etc/nope");
}

TEST_F(FsAtTest, ReadFileAtSizeCap) {
  put(in_root("ten"), "0123456789");
  auto exact = read_file_at(root_fd_, "ten", 10);
  ASSERT_TRUE(exact) << "a file of exactly max_bytes is allowed: " << exact.error().message();
  EXPECT_EQ(*exact, "0123456789");
  auto over = read_file_at(root_fd_, "ten", 9);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, EFBIG);
  EXPECT_EQ(over.error().subject, "ten");
}

TEST_F(FsAtTest, ReadFileAtSizeCapAcrossReads) {
  put(in_root("big"), std::string(10000, 'b'));
  auto over = read_file_at(root_fd_, "big", 9999);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, EFBIG);
  auto exact = read_file_at(root_fd_, "big", 10000);
  ASSERT_TRUE(exact) << exact.error().message();
  EXPECT_EQ(exact->size(), 10000u);
}

TEST_F(FsAtTest, ReadFileDefaultCapIsOneMiB) {
  put(outside("mib"), std::string(size_t{1} << 20, 'm'));
  auto ok_read = read_file(outside("mib"));
  ASSERT_TRUE(ok_read) << ok_read.error().message();
  EXPECT_EQ(ok_read->size(), size_t{1} << 20);
  put(outside("mib1"), std::string((size_t{1} << 20) + 1, 'm'));
  auto over = read_file(outside("mib1"));
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, EFBIG);
}

TEST_F(FsAtTest, ReadFileAbsolutePath) {
  put(outside("abs"), "abs-content");
  auto r = read_file(outside("abs"));
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, "abs-content");
}

// ------------------------------------------------------------------ write_file(_at)

TEST_F(FsAtTest, WriteFileAtOverwritesWithoutTruncating) {
  put(in_root("knob"), "xyz");
  auto w = write_file_at(root_fd_, "knob", "ab");
  ASSERT_TRUE(w) << w.error().message();
  EXPECT_EQ(slurp(in_root("knob")), "abz");
}

TEST_F(FsAtTest, WriteFileAtDoesNotCreate) {
  auto w = write_file_at(root_fd_, "absent", "1");
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, ENOENT);
  EXPECT_EQ(w.error().subject, "absent");
  EXPECT_FALSE(exists(in_root("absent")));
}

TEST_F(FsAtTest, WriteFileAbsolutePath) {
  put(outside("knob"), "0");
  auto w = write_file(outside("knob"), "1");
  ASSERT_TRUE(w) << w.error().message();
  EXPECT_EQ(slurp(outside("knob")), "1");
  auto missing = write_file(outside("dir-missing/knob"), "1");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().subject, outside("dir-missing/knob"));
}

// ------------------------------------------------------------------ atomic_write_at

TEST_F(FsAtTest, AtomicWriteCreatesWithDefaultMode0600) {
  auto w = atomic_write_at(root_fd_, "state", "running\n");
  ASSERT_TRUE(w) << w.error().message();
  EXPECT_EQ(slurp(in_root("state")), "running\n");
  struct stat st {};
  ASSERT_EQ(::stat(in_root("state").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600 & ~current_umask());
}

TEST_F(FsAtTest, AtomicWriteHonoursMode) {
  auto w = atomic_write_at(root_fd_, "pub", "x", 0640);
  ASSERT_TRUE(w) << w.error().message();
  struct stat st {};
  ASSERT_EQ(::stat(in_root("pub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640 & ~current_umask());
}

TEST_F(FsAtTest, AtomicWriteReplacesContentAndLeavesNoTmp) {
  put(in_root("state"), "a much longer old content\n");
  int old_fd = ::open(in_root("state").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(old_fd, 0);
  auto w = atomic_write_at(root_fd_, "state", "new\n");
  ASSERT_TRUE(w) << w.error().message();
  EXPECT_EQ(slurp(in_root("state")), "new\n") << "the whole content is replaced";
  // Replaced by rename, not rewritten in place: the old inode still has the old content.
  EXPECT_EQ(read_fd(old_fd), "a much longer old content\n");
  EXPECT_FALSE(same_file(old_fd, in_root("state")));
  ::close(old_fd);
  for (const auto& name : list_dir(root_)) {
    EXPECT_EQ(name.find(".tmp"), std::string::npos) << "left behind: " << name;
  }
  std::vector<std::string> names = list_dir(root_);
  EXPECT_EQ(names.size(), 2u) << "only etc/ and state expected";
}

TEST_F(FsAtTest, AtomicWriteInSubdirectory) {
  auto w = atomic_write_at(root_fd_, "etc/hostname", "web1\n");
  ASSERT_TRUE(w) << w.error().message();
  EXPECT_EQ(slurp(in_root("etc/hostname")), "web1\n");
  EXPECT_EQ(list_dir(in_root("etc")).size(), 1u);
}

TEST_F(FsAtTest, AtomicWriteReplacesASymlinkInsteadOfFollowingIt) {
  put(outside("victim"), "VICTIM");
  ASSERT_EQ(::symlink(outside("victim").c_str(), in_root("state").c_str()), 0);
  auto w = atomic_write_at(root_fd_, "state", "new");
  ASSERT_TRUE(w) << w.error().message();
  EXPECT_EQ(slurp(outside("victim")), "VICTIM") << "wrote through a symlink";
  struct stat st {};
  ASSERT_EQ(::lstat(in_root("state").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(slurp(in_root("state")), "new");
}

TEST_F(FsAtTest, AtomicWriteFailureLeavesNoTmp) {
  ASSERT_EQ(::mkdir(in_root("adir").c_str(), 0755), 0);
  ASSERT_EQ(::mkdir(in_root("adir/sub").c_str(), 0755), 0);  // rename over a non-empty dir fails
  auto w = atomic_write_at(root_fd_, "adir", "x");
  ASSERT_FALSE(w) << "replaced a directory with a file";
  for (const auto& name : list_dir(root_)) {
    EXPECT_EQ(name.find(".tmp"), std::string::npos) << "left behind after failure: " << name;
  }
  struct stat st {};
  ASSERT_EQ(::lstat(in_root("adir").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST_F(FsAtTest, AtomicWriteEmptyData) {
  put(in_root("state"), "old");
  auto w = atomic_write_at(root_fd_, "state", "");
  ASSERT_TRUE(w) << w.error().message();
  EXPECT_EQ(slurp(in_root("state")), "");
}

// ------------------------------------------------------------------ ensure_dir

TEST_F(FsAtTest, EnsureDirCreatesAndAcceptsExisting) {
  std::string d = outside("newdir");
  auto a = ensure_dir(d, 0750);
  ASSERT_TRUE(a) << a.error().message();
  struct stat st {};
  ASSERT_EQ(::stat(d.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0750 & ~current_umask());
  auto b = ensure_dir(d, 0750);
  EXPECT_TRUE(b) << "an existing directory is success: " << b.error().message();
}

TEST_F(FsAtTest, EnsureDirRefusesAFile) {
  put(outside("file"), "");
  auto r = ensure_dir(outside("file"), 0755);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().subject, outside("file"));
}

TEST_F(FsAtTest, EnsureDirMissingParent) {
  auto r = ensure_dir(outside("no/such/parent"), 0755);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENOENT);
}

}  // namespace
}  // namespace vs
