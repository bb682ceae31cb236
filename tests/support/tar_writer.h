// Tarballs for tests, written with libarchive: the templates of the build tests and the
// hostile templates of the escape tests (tests/integration/build_test.cc, template_test.cc,
// guest_escape_build_test.cc).
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <locale.h>
#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace vs::test {

struct TarEntry {
  TarEntry(std::string n, int t = AE_IFREG, std::string d = "", std::string l = "",
           std::string h = "", mode_t m = 0644, dev_t r = 0)
      : name(std::move(n)), type(t), data(std::move(d)), link(std::move(l)),
        hardlink(std::move(h)), mode(m), rdev(r) {}
  std::string name;
  int type = AE_IFREG;
  std::string data;     // file content
  std::string link;     // symlink target
  std::string hardlink;
  mode_t mode = 0644;
  dev_t rdev = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string uname, gname;  // owner names, recorded beside uid and gid where set
  std::vector<std::pair<std::string, std::string>> xattrs;  // name, value
};

/// A gzipped pax tarball. An entry gets a pax header only where it needs one, so an entry
/// without anything pax needs is a plain ustar one (a reader sets up its charset conversion
/// at the first pax header: the gconv files of a hostile template are extracted before it).
/// With `utf8` it is written in the C.UTF-8 locale (this thread only), so that a non-ASCII
/// name is recorded as a UTF-8 pax `path` (as tar does on a UTF-8 system) rather than as
/// binary. Failures are test failures.
inline void write_tar(const std::string& path, const std::vector<TarEntry>& entries,
                      bool utf8 = false) {
  locale_t loc = nullptr, old = nullptr;
  if (utf8) {
    loc = ::newlocale(LC_ALL_MASK, "C.UTF-8", nullptr);
    ASSERT_NE(loc, nullptr) << "the C.UTF-8 locale";
    old = ::uselocale(loc);
  }
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_add_filter_gzip(a);
  bool opened = archive_write_open_filename(a, path.c_str()) == ARCHIVE_OK;
  EXPECT_TRUE(opened) << path << ": " << archive_error_string(a);
  for (const auto& e : entries) {
    if (!opened) break;
    struct archive_entry* ent = archive_entry_new();
    archive_entry_set_pathname(ent, e.name.c_str());
    archive_entry_set_filetype(ent, static_cast<unsigned>(e.type));
    archive_entry_set_perm(ent, e.mode);
    archive_entry_set_uid(ent, e.uid);
    archive_entry_set_gid(ent, e.gid);
    if (!e.uname.empty()) archive_entry_set_uname(ent, e.uname.c_str());
    if (!e.gname.empty()) archive_entry_set_gname(ent, e.gname.c_str());
    archive_entry_set_mtime(ent, 1600000000, 0);
    if (!e.link.empty()) archive_entry_set_symlink(ent, e.link.c_str());
    if (!e.hardlink.empty()) archive_entry_set_hardlink(ent, e.hardlink.c_str());
    if (e.rdev) archive_entry_set_rdev(ent, e.rdev);
    for (const auto& [n, v] : e.xattrs) {
      archive_entry_xattr_add_entry(ent, n.c_str(), v.data(), v.size());
    }
    if (e.type == AE_IFREG && e.hardlink.empty()) archive_entry_set_size(ent, e.data.size());
    EXPECT_EQ(archive_write_header(a, ent), ARCHIVE_OK) << e.name << ": "
                                                        << archive_error_string(a);
    if (!e.data.empty()) {
      EXPECT_EQ(archive_write_data(a, e.data.data(), e.data.size()),
                static_cast<la_ssize_t>(e.data.size()))
          << e.name << ": " << archive_error_string(a);
    }
    archive_entry_free(ent);
  }
  EXPECT_EQ(archive_write_close(a), ARCHIVE_OK) << path << ": " << archive_error_string(a);
  archive_write_free(a);
  if (utf8) {
    ::uselocale(old);
    ::freelocale(loc);
  }
}

}  // namespace vs::test
