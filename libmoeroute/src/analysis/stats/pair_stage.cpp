#include "analysis/stats/pair_stage.h"

#include <algorithm>
#include <cstring>

namespace moeroute::detail {

PairStage::PairStage(int n, bool upper, int per_row)
    : n_(static_cast<size_t>(n)), upper_(upper), limit_(65535 / std::max(per_row, 1)), base_(n_), touched_(n_, 0) {
  // Row a holds b in [a, n) (upper) or [0, n): cells before it are Σ_{i<a} (n − i) or a·n.
  size_t offset = 0;
  for (size_t a = 0; a < n_; ++a) {
    base_[a] = upper_ ? offset - a : offset;
    offset += upper_ ? n_ - a : n_;
  }
  cells_.assign(offset, 0);
}

void PairStage::flush(int64_t* total) {
  for (size_t a = 0; a < n_; ++a) {
    if (!touched_[a]) continue;
    const size_t first = upper_ ? a : 0;
    uint16_t* row = cells_.data() + base_[a];
    int64_t* out = total + a * n_;
    for (size_t b = first; b < n_; ++b) out[b] += row[b];
    std::memset(row + first, 0, (n_ - first) * sizeof(uint16_t));
    touched_[a] = 0;
  }
  rows_ = 0;
}

}  // namespace moeroute::detail
