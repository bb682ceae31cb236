#include "kernel-shim/btf.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "lib/base/eintr.h"
#include "lib/base/unique_fd.h"

namespace vs::shim {
namespace {

constexpr uint16_t kMagic = 0xeB9F;

// struct btf_header (include/uapi/linux/btf.h), as in the file.
struct Header {
  uint16_t magic;
  uint8_t version;
  uint8_t flags;
  uint32_t hdr_len;
  uint32_t type_off;
  uint32_t type_len;
  uint32_t str_off;
  uint32_t str_len;
};

uint32_t u32_at(const char* d, size_t off) {
  uint32_t v;
  std::memcpy(&v, d + off, sizeof v);
  return v;
}

// Bytes that follow the 12-byte common record of a type of this kind.
size_t extra_bytes(Btf::Kind kind, uint32_t vlen) {
  switch (kind) {
    case Btf::Kind::kInt:
    case Btf::Kind::kVar:
    case Btf::Kind::kDeclTag:
      return 4;
    case Btf::Kind::kArray:
      return 12;
    case Btf::Kind::kStruct:
    case Btf::Kind::kUnion:
    case Btf::Kind::kDatasec:
    case Btf::Kind::kEnum64:
      return 12 * static_cast<size_t>(vlen);
    case Btf::Kind::kEnum:
    case Btf::Kind::kFuncProto:
      return 8 * static_cast<size_t>(vlen);
    default:
      return 0;
  }
}

Error parse_error(const std::string& subject, std::string detail) {
  return make_error(ErrorKind::kFailed, "parse BTF", subject, std::move(detail), EINVAL);
}

}  // namespace

Result<Btf> Btf::load(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return sys_error("open", path);
  // Mapped where the kernel allows it (vmlinux BTF, 6.16): only the pages looked at are
  // read, against some 1300 page-sized reads otherwise.
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && st.st_size > 0) {
    const auto len = static_cast<size_t>(st.st_size);
    void* p = ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (p != MAP_FAILED) {
      std::shared_ptr<const void> owner(
          p, [len](const void* q) { ::munmap(const_cast<void*>(q), len); });
      return parse(std::move(owner), static_cast<const char*>(p), len, path);
    }
  }
  // sysfs reports no useful size for the file: read until EOF, in large chunks.
  std::string data;
  size_t used = 0;
  for (;;) {
    if (data.size() - used < (1 << 20)) data.resize(used + (8 << 20));
    ssize_t n =
        retry_eintr([&] { return ::read(fd.get(), data.data() + used, data.size() - used); });
    if (n < 0) return sys_error("read", path);
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  data.resize(used);
  return parse(std::move(data), path);
}

Result<Btf> Btf::parse(std::string data, std::string subject) {
  auto owned = std::make_shared<const std::string>(std::move(data));
  const char* base = owned->data();
  const size_t size = owned->size();
  return parse(std::move(owned), base, size, std::move(subject));
}

Result<Btf> Btf::parse(std::shared_ptr<const void> owner, const char* base, size_t size,
                       std::string subject) {
  Btf b;
  const char* data = base;
  if (size < sizeof(Header)) return parse_error(subject, "shorter than a BTF header");
  Header h;
  std::memcpy(&h, data, sizeof h);
  if (h.magic != kMagic) return parse_error(subject, "not BTF of this byte order (bad magic)");
  if (h.version != 1) {
    return parse_error(subject, "BTF version " + std::to_string(h.version) + " (expected 1)");
  }
  const uint64_t types = uint64_t{h.hdr_len} + h.type_off, strs = uint64_t{h.hdr_len} + h.str_off;
  if (h.hdr_len < sizeof(Header) || types + h.type_len > size || strs + h.str_len > size ||
      (types & 3) != 0) {
    return parse_error(subject, "a section lies outside the file");
  }
  b.types_ = types;
  b.strs_ = strs;
  b.str_len_ = h.str_len;
  b.offsets_.reserve(h.type_len / 16);  // most records are 12..24 bytes
  b.offsets_.push_back(0);              // id 0: void
  size_t p = types;
  const size_t end = types + h.type_len;
  while (p < end) {
    if (end - p < 12) return parse_error(subject, "a truncated type record");
    const uint32_t info = u32_at(data, p + 4);
    const auto kind = static_cast<Kind>((info >> 24) & 0x1f);
    if (static_cast<uint8_t>(kind) > static_cast<uint8_t>(Kind::kEnum64) || kind == Kind::kVoid) {
      return parse_error(subject, "type " + std::to_string(b.offsets_.size()) +
                                      " has unknown kind " +
                                      std::to_string(static_cast<int>(kind)));
    }
    const size_t len = 12 + extra_bytes(kind, info & 0xffff);
    if (end - p < len) return parse_error(subject, "a truncated type record");
    b.offsets_.push_back(static_cast<uint32_t>(p));
    p += len;
  }
  b.owner_ = std::move(owner);
  b.base_ = base;
  b.size_ = size;
  b.subject_ = std::move(subject);
  return b;
}

std::string_view Btf::str(uint32_t off) const {
  if (off >= str_len_) return {};
  const char* s = base_ + strs_ + off;
  return {s, ::strnlen(s, str_len_ - off)};
}

Result<Btf::Type> Btf::type(uint32_t id) const {
  if (id == 0) return Type{};
  if (id >= offsets_.size()) {
    return make_error(ErrorKind::kFailed, "BTF type", subject_,
                      "id " + std::to_string(id) + " is out of range", ERANGE);
  }
  const size_t p = offsets_[id];
  const uint32_t info = u32_at(base_, p + 4);
  Type t;
  t.id = id;
  t.name = str(u32_at(base_, p));
  t.kind = static_cast<Kind>((info >> 24) & 0x1f);
  t.vlen = info & 0xffff;
  t.kflag = (info >> 31) != 0;
  t.size_or_type = u32_at(base_, p + 8);
  return t;
}

std::vector<Btf::Member> Btf::members(const Type& t) const {
  std::vector<Member> out;
  const bool composite = t.kind == Kind::kStruct || t.kind == Kind::kUnion;
  if (!composite && t.kind != Kind::kFuncProto) return out;
  const size_t stride = composite ? 12 : 8;
  const size_t base = offsets_[t.id] + 12;
  for (uint32_t i = 0; i < t.vlen; ++i) {
    const size_t p = base + i * stride;
    Member m;
    m.name = str(u32_at(base_, p));
    m.type = u32_at(base_, p + 4);
    if (composite) m.bit_offset = u32_at(base_, p + 8);
    out.push_back(m);
  }
  return out;
}

Result<uint32_t> Btf::find(Kind kind, std::string_view name) const {
  const auto want = static_cast<uint32_t>(kind);
  for (uint32_t id = 1; id < offsets_.size(); ++id) {
    const size_t p = offsets_[id];
    if (((u32_at(base_, p + 4) >> 24) & 0x1f) != want) continue;
    if (str(u32_at(base_, p)) == name) return id;
  }
  return make_error(ErrorKind::kFailed, "BTF lookup", std::string(name),
                    "not in " + subject_ + " (kind " + std::to_string(want) + ")", ENOENT);
}

Result<uint32_t> Btf::resolve(uint32_t id) const {
  for (int depth = 0; depth < 32; ++depth) {
    auto t = type(id);
    if (!t) return std::move(t).error();
    switch (t->kind) {
      case Kind::kTypedef:
      case Kind::kVolatile:
      case Kind::kConst:
      case Kind::kRestrict:
      case Kind::kTypeTag:
        id = t->size_or_type;
        break;
      default:
        return id;
    }
  }
  return make_error(ErrorKind::kFailed, "BTF type", subject_,
                    "a chain of typedefs and modifiers loops at id " + std::to_string(id), ELOOP);
}

uint32_t Btf::pointee(uint32_t ptr_id) const {
  auto r = resolve(ptr_id);
  if (!r) return 0;
  auto t = type(*r);
  if (!t || t->kind != Kind::kPtr) return 0;
  auto to = resolve(t->size_or_type);
  return to ? *to : 0;
}

Result<std::vector<Btf::Member>> Btf::func_params(std::string_view name) const {
  auto id = find(Kind::kFunc, name);
  if (!id) return std::move(id).error();
  auto func = type(*id);
  if (!func) return std::move(func).error();
  auto proto = type(func->size_or_type);
  if (!proto) return std::move(proto).error();
  if (proto->kind != Kind::kFuncProto) {
    return make_error(ErrorKind::kFailed, "BTF lookup", std::string(name),
                      "its type is not a FUNC_PROTO", EINVAL);
  }
  return members(*proto);
}

Result<Btf::Field> Btf::member(uint32_t outer, std::string_view name) const {
  auto rid = resolve(outer);
  if (!rid) return std::move(rid).error();
  auto t = type(*rid);
  if (!t) return std::move(t).error();
  if (t->kind != Kind::kStruct && t->kind != Kind::kUnion) {
    return make_error(ErrorKind::kFailed, "BTF lookup", std::string(name),
                      "type " + std::to_string(*rid) + " is not a struct or union", EINVAL);
  }
  for (const Member& m : members(*t)) {
    const uint32_t bits = t->kflag ? m.bit_offset & 0xffffff : m.bit_offset;
    const bool bitfield = t->kflag && (m.bit_offset >> 24) != 0;
    if (m.name == name) {
      if (bitfield || bits % 8 != 0) {
        return make_error(ErrorKind::kFailed, "BTF lookup", std::string(name), "is a bitfield",
                          EINVAL);
      }
      return Field{bits / 8, m.type};
    }
    if (m.name.empty()) {
      // An anonymous struct or union: its members are the outer one's.
      auto inner = member(m.type, name);
      if (inner) return Field{bits / 8 + inner->offset, inner->type};
    }
  }
  return make_error(ErrorKind::kFailed, "BTF lookup", std::string(name),
                    "no such member in `" + std::string(t->name) + "`", ENOENT);
}

Result<Btf::Field> Btf::field(uint32_t outer, std::string_view path) const {
  Field at{0, outer};
  while (!path.empty()) {
    const size_t dot = path.find('.');
    const std::string_view name = path.substr(0, dot);
    auto m = member(at.type, name);
    if (!m) return std::move(m).error();
    at = Field{at.offset + m->offset, m->type};
    path = dot == std::string_view::npos ? std::string_view() : path.substr(dot + 1);
  }
  return at;
}

Result<Btf::Field> Btf::field(std::string_view outer, std::string_view path) const {
  auto id = find(Kind::kStruct, outer);
  if (!id) return std::move(id).error();
  auto f = field(*id, path);
  if (!f) return std::move(f).error().wrap("struct " + std::string(outer));
  return f;
}

}  // namespace vs::shim
