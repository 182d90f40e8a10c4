// A 16-bit staging table for the per-layer pair counts of the statistics accumulator
// (co-activation, cross-layer first choice): the E×E int64 tables of the state are 128 KB per
// layer at E = 128 and every token increments ~K²/2 random cells of them; staged in 16 bits (and,
// for co-activation, only the upper triangle) they fit in L1. The staged counts are added into the
// 64-bit table before any cell could reach 2^16, so the totals are exactly those of counting
// directly. Private to the stats module.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace moeroute::detail {

class PairStage {
 public:
  /// Cells (a, b) for a, b in [0, n); with `upper`, only a ≤ b. `per_row`: the most increments
  /// one row can add to one cell (flushes come every floor(65535 / per_row) rows).
  PairStage(int n, bool upper, int per_row);

  void add(int a, int b) {
    ++cells_[base_[static_cast<size_t>(a)] + static_cast<size_t>(b)];
    touched_[static_cast<size_t>(a)] = 1;
  }
  /// Every pair (min, max) of ids[0…k) (upper tables only).
  void add_pairs(const int32_t* ids, int k) {
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
  /// Ends a row; adds the staged counts into `total` (n × n, row-major) when another row could
  /// overflow a cell.
  void end_row(int64_t* total) {
    if (++rows_ == limit_) flush(total);
  }
  /// Adds the staged counts into `total` and clears the stage.
  void flush(int64_t* total);

 private:
  size_t n_;
  bool upper_;
  int64_t rows_ = 0, limit_;
  std::vector<uint16_t> cells_;
  std::vector<size_t> base_;     // cell of (a, b) = base_[a] + b
  std::vector<uint32_t> touched_;  // rows a with staged counts (not a char type: stores of it may not alias the other members)
};

}  // namespace moeroute::detail
