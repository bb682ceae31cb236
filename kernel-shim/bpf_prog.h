// bpf(2) for the shim's hand-assembled programs (netbind.cc, unixscope.cc): the call, and
// loading a program with the verifier's last word on a refusal.
#pragma once

#include <linux/bpf.h>

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "lib/base/result.h"
#include "lib/base/unique_fd.h"

namespace vs::shim {

/// A tiny eBPF assembler: the instructions the shim's programs use, plus forward labels.
class BpfAsm {
 public:
  int label() {
    targets_.push_back(-1);
    return static_cast<int>(targets_.size()) - 1;
  }
  void bind(int l) { targets_[l] = static_cast<int>(code_.size()); }
  /// True if a jump goes to `l` (the verifier rejects unreachable code).
  [[nodiscard]] bool used(int l) const {
    return std::any_of(fixups_.begin(), fixups_.end(), [l](auto f) { return f.second == l; });
  }

  void emit(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    bpf_insn i{};
    i.code = code;
    i.dst_reg = dst & 0xf;
    i.src_reg = src & 0xf;
    i.off = off;
    i.imm = imm;
    code_.push_back(i);
  }
  void mov(uint8_t dst, uint8_t src) { emit(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0); }
  void mov32_imm(uint8_t dst, uint32_t imm) {
    emit(BPF_ALU | BPF_MOV | BPF_K, dst, 0, 0, static_cast<int32_t>(imm));
  }
  void ld_imm64(uint8_t dst, uint64_t v) {
    emit(BPF_LD | BPF_DW | BPF_IMM, dst, 0, 0, static_cast<int32_t>(v & 0xffffffffu));
    emit(0, 0, 0, 0, static_cast<int32_t>(v >> 32));
  }
  /// dst = the map `fd` (BPF_PSEUDO_MAP_FD: the loader puts the map's address there).
  void ld_map_fd(uint8_t dst, int fd) {
    emit(BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, fd);
    emit(0, 0, 0, 0, 0);
  }
  /// 64-bit move of a sign-extended immediate.
  void mov_imm(uint8_t dst, int32_t imm) { emit(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm); }
  void add_imm(uint8_t dst, int32_t imm) { emit(BPF_ALU64 | BPF_ADD | BPF_K, dst, 0, 0, imm); }
  void and32_imm(uint8_t dst, uint32_t imm) {
    emit(BPF_ALU | BPF_AND | BPF_K, dst, 0, 0, static_cast<int32_t>(imm));
  }
  /// A load of `size` (BPF_B, BPF_H, BPF_W, BPF_DW) from src + off.
  void ldx(uint8_t size, uint8_t dst, uint8_t src, uint32_t off) {
    emit(BPF_LDX | BPF_MEM | size, dst, src, static_cast<int16_t>(off), 0);
  }
  void ldx_w(uint8_t dst, uint8_t src, int16_t off) { emit(BPF_LDX | BPF_MEM | BPF_W, dst, src, off, 0); }
  void stx_w(uint8_t dst, int16_t off, uint8_t src) { emit(BPF_STX | BPF_MEM | BPF_W, dst, src, off, 0); }
  void stx_h(uint8_t dst, int16_t off, uint8_t src) { emit(BPF_STX | BPF_MEM | BPF_H, dst, src, off, 0); }
  void st_w(uint8_t dst, int16_t off, uint32_t imm) {
    emit(BPF_ST | BPF_MEM | BPF_W, dst, 0, off, static_cast<int32_t>(imm));
  }
  void st_h(uint8_t dst, int16_t off, uint16_t imm) { emit(BPF_ST | BPF_MEM | BPF_H, dst, 0, off, imm); }
  void st_dw(uint8_t dst, int16_t off, int32_t imm) { emit(BPF_ST | BPF_MEM | BPF_DW, dst, 0, off, imm); }
  // 32-bit compares (jeq, jne): addresses are full u32 values, a 64-bit compare would
  // sign-extend the immediate. 64-bit ones: jeq_imm, jne_imm, jeq_reg, jgt_reg.
  void jeq(uint8_t reg, uint32_t imm, int l) { jump(BPF_JMP32 | BPF_JEQ | BPF_K, reg, 0, imm, l); }
  void jne(uint8_t reg, uint32_t imm, int l) { jump(BPF_JMP32 | BPF_JNE | BPF_K, reg, 0, imm, l); }
  void jeq_imm(uint8_t reg, int32_t imm, int l) {
    jump(BPF_JMP | BPF_JEQ | BPF_K, reg, 0, static_cast<uint32_t>(imm), l);
  }
  void jne_imm(uint8_t reg, int32_t imm, int l) {
    jump(BPF_JMP | BPF_JNE | BPF_K, reg, 0, static_cast<uint32_t>(imm), l);
  }
  void jeq_reg(uint8_t a, uint8_t b, int l) { jump(BPF_JMP | BPF_JEQ | BPF_X, a, b, 0, l); }
  void jgt_reg(uint8_t a, uint8_t b, int l) { jump(BPF_JMP | BPF_JGT | BPF_X, a, b, 0, l); }
  void ja(int l) { jump(BPF_JMP | BPF_JA, 0, 0, 0, l); }
  void call(int32_t helper) { emit(BPF_JMP | BPF_CALL, 0, 0, 0, helper); }
  void ret(int32_t v) {
    emit(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, v);
    emit(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  }

  std::vector<bpf_insn> finish() {
    for (auto [at, l] : fixups_) code_[at].off = static_cast<int16_t>(targets_[l] - at - 1);
    return code_;
  }

 private:
  void jump(uint8_t code, uint8_t a, uint8_t b, uint32_t imm, int l) {
    fixups_.push_back({static_cast<int>(code_.size()), l});
    emit(code, a, b, 0, static_cast<int32_t>(imm));
  }
  std::vector<bpf_insn> code_;
  std::vector<int> targets_;
  std::vector<std::pair<int, int>> fixups_;
};

/// bpf(cmd, attr, sizeof *attr); -1 and errno on failure.
long bpf_call(int cmd, bpf_attr* attr);

/// Creates a map (BPF_MAP_CREATE) named `name` (at most 15 characters kept).
Result<UniqueFd> create_bpf_map(const char* name, bpf_map_type type, uint32_t key_size,
                                uint32_t value_size, uint32_t max_entries, uint32_t flags);

/// Loads a GPL program named `name` (at most 15 characters kept). `attach_btf_id` is a
/// vmlinux BTF id for LSM hooks, 0 otherwise. The first attempt carries no verifier log (it
/// costs the verifier time and us a 64 KiB buffer on every start); a refused program is
/// loaded again with the log, and its last line becomes the error's detail.
Result<UniqueFd> load_bpf_program(const char* name, bpf_prog_type type, uint32_t expected_attach,
                                  uint32_t attach_btf_id, const std::vector<bpf_insn>& insns);

}  // namespace vs::shim
