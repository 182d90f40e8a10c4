// A 16-bit staging table for the per-layer pair counts of the statistics accumulator
// (co-activation, cross-layer first choice): the E×E int64 tables of the state are 128 KB per
// layer at E = 128 and every token increments ~K²/2 random cells of them; staged in 16 bits (and,
// for co-activation, only the upper triangle) they fit in L1. The stage is added into the 64-bit
// table before its increments since the last flush could exceed 2^16 − 1 (no cell can then wrap),
// so the totals are exactly those of counting directly. Private to the stats module.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace moeroute::detail {

class PairStage {
 public:
  /// Cells (a, b) for a, b in [0, n), counted into `total` (n × n, row-major); with `upper`,
  /// only a ≤ b.
  PairStage(int n, bool upper);

  /// Points the stage at another table (flush first).
  void set_total(int64_t* total) { total_ = total; }
  void add(int a, int b) {
    reserve(1);
    ++cells_[base_[static_cast<size_t>(a)] + static_cast<size_t>(b)];
    touched_[static_cast<size_t>(a)] = 1;
  }
  /// Every pair (min, max) of ids[0…k) (upper tables only).
  void add_pairs(const int32_t* ids, int k) {
    const int64_t pairs = static_cast<int64_t>(k) * (k - 1) / 2;
    if (pairs > kLimit) return add_pairs_directly(ids, k);
    reserve(pairs);
    uint16_t* cells = cells_.data();
    const size_t* base = base_.data();
    for (int i = 0; i < k; ++i) {
      const int32_t e = ids[i];
      touched_[static_cast<size_t>(e)] = 1;  // every row a of a pair below is one of the ids
      for (int j = i + 1; j < k; ++j) {
        const int32_t e2 = ids[j];
        const int32_t a = e < e2 ? e : e2, b = e < e2 ? e2 : e;
        ++cells[base[static_cast<size_t>(a)] + static_cast<size_t>(b)];
      }
    }
  }
  /// Adds the staged counts into the table and clears the stage.
  void flush();

 private:
  static constexpr int64_t kLimit = 65535;
  /// One row could wrap a cell (top-k beyond 362): counts it into the table directly.
  void add_pairs_directly(const int32_t* ids, int k);
  void reserve(int64_t increments) {
    if (staged_ + increments > kLimit) flush();
    staged_ += increments;
  }
  size_t n_;
  bool upper_;
  int64_t* total_ = nullptr;
  int64_t staged_ = 0;            // increments since the last flush
  std::vector<uint16_t> cells_;
  std::vector<size_t> base_;      // cell of (a, b) = base_[a] + b
  std::vector<uint32_t> touched_;  // rows a with staged counts (not a char type: stores of it may not alias the other members)
};

}  // namespace moeroute::detail
