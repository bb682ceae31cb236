// vs::ScopeExit and vs::Transaction (STYLE.md R16): undo steps that run unless committed.
#pragma once

#include <functional>
#include <utility>
#include <vector>

namespace vs {

template <typename F>
class [[nodiscard]] ScopeExit {
 public:
  explicit ScopeExit(F f) : f_(std::move(f)) {}
  ScopeExit(const ScopeExit&) = delete;
  ScopeExit& operator=(const ScopeExit&) = delete;
  ~ScopeExit() {
    if (armed_) f_();
  }
  void dismiss() { armed_ = false; }

 private:
  F f_;
  bool armed_ = true;
};

/// Undo steps run in reverse order on destruction unless commit() was called. Undo steps are
/// best effort: they must not throw and must not touch the Error being returned.
class Transaction {
 public:
  Transaction() = default;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction() { rollback(); }

  void on_rollback(std::function<void()> undo) { undo_.push_back(std::move(undo)); }
  void commit() { undo_.clear(); }
  void rollback() {
    while (!undo_.empty()) {
      auto f = std::move(undo_.back());
      undo_.pop_back();
      f();
    }
  }

 private:
  std::vector<std::function<void()>> undo_;
};

}  // namespace vs
