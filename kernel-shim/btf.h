// A small reader of BTF, the kernel's type information (/sys/kernel/btf/vmlinux): enough to
// find the id of a kernel function (the attach point of a BPF LSM program) and the byte
// offsets of struct members that a hand-assembled program reads, at run time, on the running
// kernel (never hard-coded: they change between kernel builds).
// Format: Documentation/bpf/btf.rst. Only the host's byte order is read.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.h"

namespace vs::shim {

inline constexpr const char* kVmlinuxBtf = "/sys/kernel/btf/vmlinux";

class Btf {
 public:
  /// BTF_KIND_* values.
  enum class Kind : uint8_t {
    kVoid = 0,
    kInt = 1,
    kPtr = 2,
    kArray = 3,
    kStruct = 4,
    kUnion = 5,
    kEnum = 6,
    kFwd = 7,
    kTypedef = 8,
    kVolatile = 9,
    kConst = 10,
    kRestrict = 11,
    kFunc = 12,
    kFuncProto = 13,
    kVar = 14,
    kDatasec = 15,
    kFloat = 16,
    kDeclTag = 17,
    kTypeTag = 18,
    kEnum64 = 19,
  };
  struct Type {
    uint32_t id = 0;
    Kind kind = Kind::kVoid;
    std::string_view name;  ///< empty for anonymous types
    uint32_t vlen = 0;      ///< members, parameters, enumerators
    bool kflag = false;
    uint32_t size_or_type = 0;  ///< size (int, struct, union, enum) or the referred type id
  };
  /// A member of a struct or union, or a parameter of a FUNC_PROTO.
  struct Member {
    std::string_view name;
    uint32_t type = 0;
    uint32_t bit_offset = 0;  ///< 0 for parameters
  };
  /// Where a member sits: the byte offset from the start of the outer struct and its type.
  struct Field {
    uint32_t offset = 0;
    uint32_t type = 0;
  };

  /// Maps (or, where the file cannot be mapped, reads) and parses a BTF file. Errors:
  /// open/read of `path`, or a parse error naming it.
  static Result<Btf> load(const std::string& path = kVmlinuxBtf);
  /// Parses a BTF blob; `subject` names it in errors (op "parse BTF").
  static Result<Btf> parse(std::string data, std::string subject);
  /// Parses `size` bytes at `base`, kept alive by `owner`.
  static Result<Btf> parse(std::shared_ptr<const void> owner, const char* base, size_t size,
                           std::string subject);

  /// The number of type ids (the largest id + 1; id 0 is void).
  [[nodiscard]] uint32_t count() const { return static_cast<uint32_t>(offsets_.size()); }
  /// The type `id`. Errors: an id out of range.
  [[nodiscard]] Result<Type> type(uint32_t id) const;
  /// Members of a struct/union, parameters of a FUNC_PROTO (empty for other kinds).
  [[nodiscard]] std::vector<Member> members(const Type& t) const;
  /// The id of the first type of `kind` named `name`. Errors: ENOENT naming it.
  [[nodiscard]] Result<uint32_t> find(Kind kind, std::string_view name) const;
  /// Follows typedefs and modifiers (const, volatile, restrict, type tags) to the real type.
  [[nodiscard]] Result<uint32_t> resolve(uint32_t id) const;
  /// The parameters of FUNC `name` (through its FUNC_PROTO). Errors: ENOENT, or a FUNC
  /// whose type is not a FUNC_PROTO.
  [[nodiscard]] Result<std::vector<Member>> func_params(std::string_view name) const;
  /// The member `path` ("sk_cgrp_data.cgroup": dots walk into nested structs; anonymous
  /// structs and unions are searched too) of struct `outer`. Errors: ENOENT naming the
  /// member; a bitfield member.
  [[nodiscard]] Result<Field> field(std::string_view outer, std::string_view path) const;
  /// Like field(), but the outer type is given by id.
  [[nodiscard]] Result<Field> field(uint32_t outer, std::string_view path) const;
  /// The struct a pointer type points to, modifiers skipped (0 if it is not a pointer).
  [[nodiscard]] uint32_t pointee(uint32_t ptr_id) const;

 private:
  Btf() = default;
  [[nodiscard]] std::string_view str(uint32_t off) const;
  [[nodiscard]] Result<Field> member(uint32_t outer, std::string_view name) const;

  std::shared_ptr<const void> owner_;  // the mapping or the string that holds the blob
  const char* base_ = nullptr;
  size_t size_ = 0;
  std::string subject_;
  size_t types_ = 0, strs_ = 0, str_len_ = 0;  // start of each section in data_
  std::vector<uint32_t> offsets_;              // id -> offset of its record in data_
};

}  // namespace vs::shim
