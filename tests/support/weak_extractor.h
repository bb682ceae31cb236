// The weak setup of the template attack (issue 18, class 2): a program, built at test time
// with `gcc -larchive`, that extracts a tarball the way build -m template did before: chrooted
// into the new tree with every capability. It runs in a process of its own because glibc reads
// its gconv configuration once per process (a test process has read the host's already).
//   weak-extract TREE TARBALL [USER]   (USER: getpwnam() it afterwards, through NSS)
#pragma once

namespace vs::test {

// The weak setup: what build_template did before issue 18, in a process of its own. It
// opens the tarball, chroots into TREE with every capability, and extracts with the same
// libarchive flags.
inline constexpr const char* kWeakExtractor = R"(#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int argc, char** argv) {
  if (argc != 3 && argc != 4) return 2;
  int tar = open(argv[2], O_RDONLY);
  int root = open(argv[1], O_RDONLY | O_DIRECTORY);
  if (tar < 0 || root < 0 || fchdir(root) < 0 || chroot(".") < 0) return 3;
  umask(022);
  struct archive* in = archive_read_new();
  struct archive* out = archive_write_disk_new();
  archive_read_support_filter_all(in);
  archive_read_support_format_tar(in);
  archive_write_disk_set_options(out,
      ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
      ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
      ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
  if (archive_read_open_fd(in, tar, 1 << 16) != ARCHIVE_OK) return 4;
  for (;;) {
    struct archive_entry* e = NULL;
    int r = archive_read_next_header(in, &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return 5;
    if (archive_write_header(out, e) < ARCHIVE_WARN) return 6;
    const void* buf;
    size_t size;
    la_int64_t off;
    while (archive_read_data_block(in, &buf, &size, &off) == ARCHIVE_OK) {
      archive_write_data_block(out, buf, size, off);
    }
    archive_write_finish_entry(out);
  }
  archive_write_close(out);
  if (argc == 4) (void)getpwnam(argv[3]);  /* a build that looks names up (NSS) */
  return 0;
}
)";


}  // namespace vs::test
