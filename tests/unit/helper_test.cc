// The guest helper's C++ side (kernel-shim/helper.h) without running it: the argv builders,
// the embedded image, and the sealed memfd open_helper() gives. Running it is in
// tests/integration/helper_test.cc.
#include "kernel-shim/helper.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

namespace vs::shim {
namespace {

using Argv = std::vector<std::string>;

TEST(HelperArgv, InitPlainCommand) {
  InitArgs a;
  a.argv = {"/sbin/init", "-z"};
  EXPECT_EQ(helper_init_argv(a), (Argv{"vserver-init", "--", "/sbin/init", "-z"}));
}

TEST(HelperArgv, InitEveryOption) {
  InitArgs a;
  a.argv = {"sh", "-c", "exec sleep 1"};
  a.stays = true;
  a.kill_after_ms = 300;
  a.report_fd = 7;
  a.title = "vserver web1";
  EXPECT_EQ(helper_init_argv(a), (Argv{"vserver-init", "-r", "7", "-s", "-k", "300", "-t",
                                       "vserver web1", "--", "sh", "-c", "exec sleep 1"}));
}

TEST(HelperArgv, InitStaysWithoutCommand) {
  InitArgs a;
  a.stays = true;
  EXPECT_EQ(helper_init_argv(a), (Argv{"vserver-init", "-s", "-k", "5000", "--"}));
}

TEST(HelperArgv, InitCommandThatLooksLikeOptions) {
  // Everything after `--` is the command's, even what the helper would take as its own.
  InitArgs a;
  a.argv = {"-s", "--", "-r", "3"};
  EXPECT_EQ(helper_init_argv(a), (Argv{"vserver-init", "--", "-s", "--", "-r", "3"}));
}

TEST(HelperArgv, Exec) {
  EXPECT_EQ(helper_exec_argv({"ls", "-l"}, 4), (Argv{"vserver-exec", "-r", "4", "--", "ls", "-l"}));
  EXPECT_EQ(helper_exec_argv({"ls"}, -1), (Argv{"vserver-exec", "--", "ls"}));
}

template <typename T>
T read_at(std::string_view image, size_t off) {
  T v{};
  if (off + sizeof v <= image.size()) std::memcpy(&v, image.data() + off, sizeof v);
  return v;
}

TEST(HelperImage, IsAStaticElfOfThisMachineInOnePage) {
  std::string_view image = helper_image();
  ASSERT_GE(image.size(), sizeof(Elf64_Ehdr));
  auto eh = read_at<Elf64_Ehdr>(image, 0);
  ASSERT_EQ(std::memcmp(eh.e_ident, ELFMAG, SELFMAG), 0) << "no ELF magic";
  EXPECT_EQ(eh.e_ident[EI_CLASS], ELFCLASS64);
  EXPECT_EQ(eh.e_ident[EI_DATA], ELFDATA2LSB);
#if defined(__x86_64__)
  EXPECT_EQ(eh.e_machine, EM_X86_64);
#elif defined(__aarch64__)
  EXPECT_EQ(eh.e_machine, EM_AARCH64);
#else
#error "the helper is built for x86_64 and aarch64 only"
#endif
  // A static-pie: position-independent, loaded at a random base, nothing to relocate.
  EXPECT_EQ(eh.e_type, ET_DYN);
  ASSERT_EQ(eh.e_phentsize, sizeof(Elf64_Phdr));
  int loads = 0;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    auto ph = read_at<Elf64_Phdr>(image, eh.e_phoff + i * sizeof(Elf64_Phdr));
    EXPECT_NE(ph.p_type, static_cast<Elf64_Word>(PT_INTERP)) << "needs a dynamic loader";
    EXPECT_NE(ph.p_type, static_cast<Elf64_Word>(PT_DYNAMIC)) << "has relocation metadata";
    if (ph.p_type != PT_LOAD) continue;
    ++loads;
    EXPECT_EQ(ph.p_flags & PF_W, 0U) << "a writable segment costs a page per guest";
    EXPECT_LE(ph.p_memsz, 4096U);
  }
  EXPECT_EQ(loads, 1);
  EXPECT_LE(image.size(), 4096U) << "more than one page of memfd per guest";
}

TEST(OpenHelper, GivesASealedCloseOnExecCopyOfTheImage) {
  auto fd = open_helper();
  ASSERT_TRUE(fd) << fd.error().message();
  const int f = fd->get();

  EXPECT_EQ(::fcntl(f, F_GET_SEALS), F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE);
  EXPECT_EQ(::fcntl(f, F_GETFD), FD_CLOEXEC);

  std::string_view image = helper_image();
  struct stat st {};
  ASSERT_EQ(::fstat(f, &st), 0);
  EXPECT_EQ(static_cast<size_t>(st.st_size), image.size());
  EXPECT_TRUE(st.st_mode & S_IXUSR)
      << "memfd without exec permission: mode " << std::oct << st.st_mode;
  std::string content(image.size() + 1, '\0');
  ssize_t n = ::pread(f, content.data(), content.size(), 0);
  ASSERT_EQ(n, static_cast<ssize_t>(image.size()));
  content.resize(static_cast<size_t>(n));
  EXPECT_TRUE(content == image) << "memfd content differs from helper_image()";

  // Every way to change it is refused.
  errno = 0;
  EXPECT_EQ(::pwrite(f, "x", 1, 0), -1);
  EXPECT_EQ(errno, EPERM);
  errno = 0;
  EXPECT_EQ(::pwrite(f, "x", 1, static_cast<off_t>(image.size())), -1);
  EXPECT_EQ(errno, EPERM);
  errno = 0;
  EXPECT_EQ(::ftruncate(f, 0), -1);
  EXPECT_EQ(errno, EPERM);
  errno = 0;
  EXPECT_EQ(::mmap(nullptr, 4096, PROT_WRITE, MAP_SHARED, f, 0), MAP_FAILED);
  EXPECT_EQ(errno, EPERM);
  errno = 0;
  EXPECT_EQ(::fcntl(f, F_ADD_SEALS, F_SEAL_FUTURE_WRITE), -1);
  EXPECT_EQ(errno, EPERM);
  // Also through a new open file description of the same memfd.
  std::string path = "/proc/self/fd/" + std::to_string(f);
  int again = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (again >= 0) {
    errno = 0;
    EXPECT_EQ(::write(again, "x", 1), -1);
    EXPECT_EQ(errno, EPERM);
    ::close(again);
  }
}

}  // namespace
}  // namespace vs::shim
