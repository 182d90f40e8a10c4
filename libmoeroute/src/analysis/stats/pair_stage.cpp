#include "analysis/stats/pair_stage.h"

#include <cstring>

namespace moeroute::detail {

PairStage::PairStage(int n, bool upper) : n_(static_cast<size_t>(n)), upper_(upper), base_(n_), touched_(n_, 0) {
  // Row a holds b in [a, n) (upper) or [0, n): cells before it are Σ_{i<a} (n − i) or a·n.
  size_t offset = 0;
  for (size_t a = 0; a < n_; ++a) {
    base_[a] = upper_ ? offset - a : offset;
    offset += upper_ ? n_ - a : n_;
  }
  cells_.assign(offset, 0);
}

void PairStage::add_pairs_directly(const int32_t* ids, int k) {
  for (int i = 0; i < k; ++i)
    for (int j = i + 1; j < k; ++j) {
      const int64_t a = ids[i] < ids[j] ? ids[i] : ids[j], b = ids[i] < ids[j] ? ids[j] : ids[i];
      ++total_[static_cast<size_t>(a) * n_ + static_cast<size_t>(b)];
    }
}

void PairStage::flush() {
  for (size_t a = 0; a < n_; ++a) {
    if (!touched_[a]) continue;
    const size_t first = upper_ ? a : 0;
    uint16_t* row = cells_.data() + base_[a];
    int64_t* out = total_ + a * n_;
    for (size_t b = first; b < n_; ++b) out[b] += row[b];
    std::memset(row + first, 0, (n_ - first) * sizeof(uint16_t));
    touched_[a] = 0;
  }
  staged_ = 0;
}

}  // namespace moeroute::detail
