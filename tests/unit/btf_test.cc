// vs::shim::Btf (kernel-shim/btf.h): a hand-made BTF blob (every path of the reader, bad
// input) and the running kernel's /sys/kernel/btf/vmlinux (what unixscope.cc relies on).
#include "kernel-shim/btf.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

namespace vs::shim {
namespace {

// Builds a BTF blob: header, type records, string section.
class BlobBuilder {
 public:
  BlobBuilder() { strs_.push_back('\0'); }
  uint32_t str(const std::string& s) {
    if (s.empty()) return 0;
    auto off = static_cast<uint32_t>(strs_.size());
    strs_ += s;
    strs_.push_back('\0');
    return off;
  }
  uint32_t type(const std::string& name, Btf::Kind kind, uint32_t vlen, uint32_t size_or_type,
                bool kflag = false) {
    put(str(name));
    put((static_cast<uint32_t>(kind) << 24) | vlen | (kflag ? 1u << 31 : 0));
    put(size_or_type);
    return ++count_;
  }
  void put(uint32_t v) {
    char b[4];
    std::memcpy(b, &v, 4);
    types_.append(b, 4);
  }
  std::string blob(uint16_t magic = 0xeB9F) const {
    std::string out(24, '\0');
    uint32_t hdr[6] = {24, 0, static_cast<uint32_t>(types_.size()),
                       static_cast<uint32_t>(types_.size()), static_cast<uint32_t>(strs_.size())};
    std::memcpy(out.data(), &magic, 2);
    out[2] = 1;  // version
    std::memcpy(out.data() + 4, hdr, sizeof(uint32_t) * 5);
    return out + types_ + strs_;
  }

 private:
  std::string types_, strs_;
  uint32_t count_ = 0;
};

// struct inner { int a; int b; };
// struct outer { int x; union { int u; struct inner in; }; int bits:3; struct inner *p; };
// int f(struct outer *o, int n);
struct Sample {
  std::string blob;
  uint32_t int_id, inner_id, outer_id, ptr_id, const_ptr_id, proto_id, func_id;
};
Sample sample() {
  BlobBuilder b;
  Sample s;
  s.int_id = b.type("int", Btf::Kind::kInt, 0, 4);
  b.put(32);  // int encoding: 32 bits
  s.inner_id = b.type("inner", Btf::Kind::kStruct, 2, 8);
  for (auto [n, off] : {std::pair{"a", 0u}, std::pair{"b", 32u}}) {
    b.put(b.str(n));
    b.put(s.int_id);
    b.put(off);
  }
  const uint32_t anon = b.type("", Btf::Kind::kUnion, 2, 8);
  b.put(b.str("u"));
  b.put(s.int_id);
  b.put(0);
  b.put(b.str("in"));
  b.put(s.inner_id);
  b.put(0);
  s.outer_id = b.type("outer", Btf::Kind::kStruct, 4, 24, true);
  b.put(b.str("x"));
  b.put(s.int_id);
  b.put(0);
  b.put(0);
  b.put(anon);
  b.put(32);
  b.put(b.str("bits"));
  b.put(s.int_id);
  b.put((3u << 24) | 96);
  b.put(b.str("p"));
  const uint32_t ptr_to_inner = s.outer_id + 1;
  b.put(ptr_to_inner);
  b.put(128);
  s.ptr_id = b.type("", Btf::Kind::kPtr, 0, s.inner_id);
  EXPECT_EQ(s.ptr_id, ptr_to_inner);
  const uint32_t ptr_outer = b.type("", Btf::Kind::kPtr, 0, s.outer_id);
  s.const_ptr_id = b.type("", Btf::Kind::kConst, 0, ptr_outer);
  s.proto_id = b.type("", Btf::Kind::kFuncProto, 2, s.int_id);
  b.put(b.str("o"));
  b.put(s.const_ptr_id);
  b.put(b.str("n"));
  b.put(s.int_id);
  s.func_id = b.type("f", Btf::Kind::kFunc, 0, s.proto_id);
  s.blob = b.blob();
  return s;
}

TEST(Btf, FindsTypesByKindAndName) {
  Sample s = sample();
  auto btf = Btf::parse(s.blob, "sample");
  ASSERT_TRUE(btf) << btf.error().message();
  EXPECT_EQ(btf->count(), s.func_id + 1);
  auto f = btf->find(Btf::Kind::kFunc, "f");
  ASSERT_TRUE(f) << f.error().message();
  EXPECT_EQ(*f, s.func_id);
  EXPECT_EQ(*btf->find(Btf::Kind::kStruct, "outer"), s.outer_id);
  auto missing = btf->find(Btf::Kind::kStruct, "f");  // a FUNC, not a struct
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENOENT);
  EXPECT_EQ(missing.error().subject, "f");
  EXPECT_FALSE(btf->type(s.func_id + 1));
}

TEST(Btf, ReadsFunctionParameters) {
  Sample s = sample();
  auto btf = Btf::parse(s.blob, "sample");
  ASSERT_TRUE(btf);
  auto params = btf->func_params("f");
  ASSERT_TRUE(params) << params.error().message();
  ASSERT_EQ(params->size(), 2u);
  EXPECT_EQ((*params)[0].name, "o");
  EXPECT_EQ((*params)[1].name, "n");
  // const, then a pointer, to struct outer.
  EXPECT_EQ(btf->pointee((*params)[0].type), s.outer_id);
  EXPECT_EQ(btf->pointee((*params)[1].type), 0u);
  EXPECT_FALSE(btf->func_params("outer"));
}

TEST(Btf, FindsMembersThroughAnonymousUnionsAndPaths) {
  Sample s = sample();
  auto btf = Btf::parse(s.blob, "sample");
  ASSERT_TRUE(btf);
  auto x = btf->field("outer", "x");
  ASSERT_TRUE(x) << x.error().message();
  EXPECT_EQ(x->offset, 0u);
  auto u = btf->field("outer", "u");
  ASSERT_TRUE(u) << u.error().message();
  EXPECT_EQ(u->offset, 4u);
  auto b = btf->field("outer", "in.b");
  ASSERT_TRUE(b) << b.error().message();
  EXPECT_EQ(b->offset, 8u);
  EXPECT_EQ(b->type, s.int_id);
  auto p = btf->field("outer", "p");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->offset, 16u);
  EXPECT_EQ(btf->pointee(p->type), s.inner_id);
  auto bits = btf->field("outer", "bits");
  ASSERT_FALSE(bits);
  EXPECT_NE(bits.error().message().find("bitfield"), std::string::npos) << bits.error().message();
  auto none = btf->field("outer", "in.c");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, ENOENT);
  EXPECT_NE(none.error().message().find("struct outer"), std::string::npos)
      << none.error().message();
  EXPECT_FALSE(btf->field("outer", "x.y"));  // x is an int
}

TEST(Btf, RefusesBadBlobs) {
  Sample s = sample();
  EXPECT_FALSE(Btf::parse("", "empty"));
  EXPECT_FALSE(Btf::parse(s.blob.substr(0, 30), "truncated"));
  BlobBuilder swapped;
  auto bad_magic = Btf::parse(swapped.blob(0x9FeB), "swapped");
  ASSERT_FALSE(bad_magic);
  EXPECT_EQ(bad_magic.error().subject, "swapped");
  EXPECT_EQ(bad_magic.error().op, "parse BTF");
  std::string v2 = s.blob;
  v2[2] = 2;
  EXPECT_FALSE(Btf::parse(v2, "v2"));
  // A type record cut in the middle: the type section claims 4 bytes more than the file has.
  std::string cut = s.blob;
  uint32_t type_len;
  std::memcpy(&type_len, cut.data() + 12, 4);
  type_len -= 4;
  std::memcpy(cut.data() + 12, &type_len, 4);
  EXPECT_FALSE(Btf::parse(cut, "cut"));
  // An unknown kind.
  std::string kind = s.blob;
  kind[24 + 7] = 0x1f;  // the first type's info, top byte
  EXPECT_FALSE(Btf::parse(kind, "kind"));
}

// The running kernel's BTF: what the abstract unix socket programs need is there and
// consistent (kernel-shim/unixscope.cc).
class VmlinuxBtf : public ::testing::Test {
 protected:
  void SetUp() override {
    struct stat st {};
    if (::stat(kVmlinuxBtf, &st) != 0) {
      GTEST_SKIP() << "no " << kVmlinuxBtf << " (kernel without CONFIG_DEBUG_INFO_BTF)";
    }
    auto b = Btf::load();
    ASSERT_TRUE(b) << b.error().message();
    btf_.emplace(std::move(*b));
  }
  std::optional<Btf> btf_;
};

TEST_F(VmlinuxBtf, LsmUnixHooksAreFunctionsWithTheExpectedParameters) {
  auto stream = btf_->func_params("bpf_lsm_unix_stream_connect");
  ASSERT_TRUE(stream) << stream.error().message();
  ASSERT_EQ(stream->size(), 3u);
  auto sock = btf_->find(Btf::Kind::kStruct, "sock");
  auto socket = btf_->find(Btf::Kind::kStruct, "socket");
  ASSERT_TRUE(sock && socket);
  // The peer (second argument) is what the program reads: a struct sock * here ...
  EXPECT_EQ(btf_->pointee((*stream)[1].type), *sock);
  EXPECT_EQ((*stream)[1].name, "other");
  auto send = btf_->func_params("bpf_lsm_unix_may_send");
  ASSERT_TRUE(send) << send.error().message();
  ASSERT_EQ(send->size(), 2u);
  // ... and a struct socket * there.
  EXPECT_EQ(btf_->pointee((*send)[1].type), *socket);
  auto fid = btf_->find(Btf::Kind::kFunc, "bpf_lsm_unix_may_send");
  ASSERT_TRUE(fid);
  auto ft = btf_->type(*fid);
  ASSERT_TRUE(ft);
  auto proto = btf_->type(ft->size_or_type);
  ASSERT_TRUE(proto);
  EXPECT_EQ(proto->kind, Btf::Kind::kFuncProto);
}

TEST_F(VmlinuxBtf, NestedPathsAddUp) {
  auto whole = btf_->field("unix_sock", "sk.sk_cgrp_data.cgroup");
  ASSERT_TRUE(whole) << whole.error().message();
  auto sk = btf_->field("unix_sock", "sk");
  auto data = btf_->field("sock", "sk_cgrp_data");
  auto cg = btf_->field("sock_cgroup_data", "cgroup");
  ASSERT_TRUE(sk && data && cg);
  EXPECT_EQ(sk->offset, 0u);  // a unix_sock starts with its sock: the kernel casts between them
  EXPECT_EQ(whole->offset, sk->offset + data->offset + cg->offset);
  auto cgroup = btf_->find(Btf::Kind::kStruct, "cgroup");
  ASSERT_TRUE(cgroup);
  EXPECT_EQ(btf_->pointee(whole->type), *cgroup);
  // struct cgroup begins with its own css, whose parent is the parent cgroup's css.
  auto self = btf_->field("cgroup", "self");
  ASSERT_TRUE(self);
  EXPECT_EQ(self->offset, 0u);
  auto parent = btf_->field("cgroup", "self.parent");
  auto css_parent = btf_->field("cgroup_subsys_state", "parent");
  ASSERT_TRUE(parent && css_parent);
  EXPECT_EQ(parent->offset, css_parent->offset);
  auto addr = btf_->field("unix_sock", "addr");
  ASSERT_TRUE(addr);
  EXPECT_GT(addr->offset, 0u);
  auto ua = btf_->find(Btf::Kind::kStruct, "unix_address");
  ASSERT_TRUE(ua);
  EXPECT_EQ(btf_->pointee(addr->type), *ua);
  auto id = btf_->field("kernfs_node", "id");
  ASSERT_TRUE(id) << id.error().message();
}

}  // namespace
}  // namespace vs::shim
