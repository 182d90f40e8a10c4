// Fast Epanechnikov and top-hat KDEs. On its support (−1, 1) each kernel's density and upper
// tail is a polynomial of degree ≤ 3 in u, so the Taylor expansion of fast_gaussian.cpp is exact
// at order 3. With cells of width δ = h/K (K = 16), for a query in cell m:
//   cells |m − j| ≤ K − 2 lie wholly inside the support: precomputed coefficients T_a[m];
//   cells K − 1 ≤ |m − j| ≤ K + 1 straddle x ± h: split at the boundary by binary search and
//     summed with per-point prefix moments;
//   cells further above count 1 (tails), further away 0.
// What is left is rounding (docs/kde.md, "Fast evaluation").
#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "analysis/kde_cells.h"
#include "analysis/kde_fast.h"
#include "analysis/kde_kernels.h"

namespace moeroute::detail {

namespace {

constexpr int64_t kCellsPerBandwidth = 16;  // K
constexpr int kTerms = 4;                   // cubic polynomials
constexpr std::array<double, kTerms> kFactorial{1, 1, 2, 6};

using Derivatives = std::array<double, kTerms>;

// G, G′, G″, G‴ at u of the kernel's upper tail (tail) or density.
Derivatives derivatives(KdeKernel kernel, bool tail, double u) {
  if (kernel == KdeKernel::Epanechnikov)
    return tail ? Derivatives{0.5 - 0.75 * u + 0.25 * u * u * u, -0.75 + 0.75 * u * u, 1.5 * u, 1.5}
                : Derivatives{0.75 * (1 - u * u), -1.5 * u, -1.5, 0};
  return tail ? Derivatives{0.5 - 0.5 * u, -0.5, 0, 0} : Derivatives{0.5, 0, 0, 0};
}

class FastCompact final : public FastKde {
 public:
  explicit FastCompact(const KernelDensity& kde) : kernel_(kde.kernel()), data_(kde.sorted_data()) {
    n_ = static_cast<double>(data_.size());
    inv_h_ = 1.0 / kde.bandwidth();
    lattice_ = make_lattice(data_, kde.bandwidth() / kCellsPerBandwidth);
    cells_ = bin_sorted(data_, lattice_);
    // Signed moments (−1)ᵇ Σ (dᵢ/h)ᵇ/b!: per point the exclusive prefix within its cell, per cell the total.
    prefix_.assign(data_.size() * kTerms, 0.0);
    totals_.assign(cells_.size() * kTerms, 0.0);
    for (std::size_t j = 0; j < cells_.size(); ++j) {
      double run[kTerms] = {0, 0, 0, 0};
      for (int64_t i = cells_.begin[j]; i < cells_.begin[j + 1]; ++i) {
        const std::size_t pi = static_cast<std::size_t>(i);
        std::copy(run, run + kTerms, &prefix_[pi * kTerms]);
        const double d = -lattice_.offset(data_[pi], cells_.index[j], inv_h_);
        double pw = 1;
        for (int b = 0; b < kTerms; ++b) {
          run[b] += pw;
          pw *= d / (b + 1);
        }
      }
      std::copy(run, run + kTerms, &totals_[j * kTerms]);
    }
    ranges_ = active_ranges(cells_, kCellsPerBandwidth - 2);
    tail_t_.assign(ranges_.total * kTerms, 0.0);
    pdf_t_.assign(ranges_.total * kTerms, 0.0);
    for_each_active_cell(cells_, ranges_, kCellsPerBandwidth - 2,
                         [&](int64_t m, std::size_t slot, std::size_t jb, std::size_t je) {
                           for (std::size_t j = jb; j < je; ++j) {
                             accumulate(&totals_[j * kTerms], m - cells_.index[j], true, &tail_t_[slot * kTerms]);
                             accumulate(&totals_[j * kTerms], m - cells_.index[j], false, &pdf_t_[slot * kTerms]);
                           }
                           for (int a = 0; a < kTerms; ++a) {
                             tail_t_[slot * kTerms + static_cast<std::size_t>(a)] /= kFactorial[static_cast<std::size_t>(a)];
                             pdf_t_[slot * kTerms + static_cast<std::size_t>(a)] /= kFactorial[static_cast<std::size_t>(a)];
                           }
                         });
    // Rounding only: positions (|Δu| ≤ 8u·span/h moves a tail by ≤ max k · |Δu|) and sums whose
    // terms total ≤ 2 per point over chains of ≤ max_count + (2K + 3)·16 additions.
    const double span = static_cast<double>(data_.back()) - data_.front() + 3 * kde.bandwidth();
    const double du = 8 * kUnitRoundoff * span * inv_h_;
    const double chain = static_cast<double>(cells_.max_count) + static_cast<double>(2 * kCellsPerBandwidth + 3) * 16;
    const double sums = 2.02 * kUnitRoundoff * chain;
    const bool epan = kernel_ == KdeKernel::Epanechnikov;
    tail_bound_ = (epan ? 0.75 : 0.5) * du + sums;
    // The top-hat density jumps at ±h, but points there are classified by the same comparison
    // as the exact sum, so only the sums' rounding remains.
    density_bound_ = ((epan ? 1.5 * du : 0.0) + sums) * inv_h_;
  }

  double upper_tail(double x) const override { return std::clamp(evaluate(x, true) / n_, 0.0, 1.0); }
  double density(double x) const override { return std::max(0.0, evaluate(x, false) * inv_h_ / n_); }
  double tail_error_bound() const override { return tail_bound_; }
  double density_error_bound() const override { return density_bound_; }

 private:
  // Adds one cell's (signed) moments `mom`, at cell offset s = m − j, to the coefficients of the
  // tail (tail) or the density.
  void accumulate(const double* mom, int64_t s, bool tail, double* coef) const {
    const Derivatives g = derivatives(kernel_, tail, static_cast<double>(s) / kCellsPerBandwidth);
    for (int a = 0; a < kTerms; ++a)
      for (int b = 0; a + b < kTerms; ++b) coef[a] += mom[b] * g[static_cast<std::size_t>(a + b)];
  }

  // Σ over data [i0, i1) (all within the support) of G(uᵢ), through the cells they fall in;
  // cell c is at or before the one holding i0.
  double partial_sum(int64_t i0, int64_t i1, std::size_t c, int64_t m, double e, bool tail) const {
    double sum = 0;
    for (; c < cells_.size() && cells_.begin[c] < i1; ++c) {
      const int64_t lo = std::max(i0, cells_.begin[c]), hi = std::min(i1, cells_.begin[c + 1]);
      if (lo >= hi) continue;
      double mom[kTerms], t[kTerms] = {0, 0, 0, 0};
      for (int b = 0; b < kTerms; ++b) mom[b] = moment_prefix(c, hi, b) - moment_prefix(c, lo, b);
      accumulate(mom, m - cells_.index[c], tail, t);
      double s = t[kTerms - 1] / kFactorial[kTerms - 1];
      for (int a = kTerms - 2; a >= 0; --a) s = s * e + t[a] / kFactorial[static_cast<std::size_t>(a)];
      sum += s;
    }
    return sum;
  }

  double moment_prefix(std::size_t cell, int64_t i, int b) const {
    return i == cells_.begin[cell + 1] ? totals_[cell * kTerms + static_cast<std::size_t>(b)]
                                       : prefix_[static_cast<std::size_t>(i) * kTerms + static_cast<std::size_t>(b)];
  }

  double evaluate(double x, bool tail) const {
    const int64_t m = lattice_.cell_of(x), K = kCellsPerBandwidth;
    const double e = lattice_.offset(x, m, inv_h_);
    double sum = 0;
    if (const std::size_t slot = ranges_.slot(m); slot != ActiveRanges::npos) {
      const double* t = &(tail ? tail_t_ : pdf_t_)[slot * kTerms];
      double s = t[kTerms - 1];
      for (int a = kTerms - 2; a >= 0; --a) s = s * e + t[a];
      sum += s;
    }
    // Non-empty cells: [c0, c1) lower boundary (m − K − 1 … m − K + 1), [c1, c2) inside,
    // [c2, c3) upper boundary (m + K − 1 … m + K + 1), then everything above. One search, then
    // short scans (at most 2K cells).
    const std::size_t c0 = cells_.first_at_or_above(m - K - 1);
    auto next = [&](std::size_t c, int64_t below) {
      while (c < cells_.size() && cells_.index[c] < below) ++c;
      return c;
    };
    const std::size_t c1 = next(c0, m - K + 2), c2 = next(c1, m + K - 1), c3 = next(c2, m + K + 2);
    auto u_of = [&](int64_t i) { return (x - data_[static_cast<std::size_t>(i)]) * inv_h_; };
    // Lower boundary: points with u ≥ 1 are outside; the rest (u < 1) inside.
    const int64_t lower_end = cells_.begin[c1];
    const int64_t in = partition(cells_.begin[c0], lower_end, [&](int64_t i) { return u_of(i) >= 1; });
    sum += partial_sum(in, lower_end, c0, m, e, tail);
    // Upper boundary: u > −1 inside; u ≤ −1 wholly above x (tail 1, density 0).
    const int64_t upper_begin = cells_.begin[c2], upper_end = cells_.begin[c3];
    const int64_t out = partition(upper_begin, upper_end, [&](int64_t i) { return u_of(i) > -1; });
    sum += partial_sum(upper_begin, out, c2, m, e, tail);
    if (tail) sum += static_cast<double>(upper_end - out) + static_cast<double>(cells_.begin.back() - upper_end);
    return sum;
  }

  // First i in [lo, hi) for which pred is false (pred true on a prefix).
  template <typename Pred>
  static int64_t partition(int64_t lo, int64_t hi, Pred pred) {
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (pred(mid)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  KdeKernel kernel_;
  const std::vector<float>& data_;
  double n_ = 0, inv_h_ = 1;
  CellLattice lattice_;
  DataCells cells_;
  ActiveRanges ranges_;
  std::vector<double> prefix_, totals_;  // [point or cell, b]
  std::vector<double> tail_t_, pdf_t_;   // [slot, a], divided by a!
  double tail_bound_ = 0, density_bound_ = 0;
};

}  // namespace

std::unique_ptr<FastKde> make_fast_compact(const KernelDensity& kde) { return std::make_unique<FastCompact>(kde); }

}  // namespace moeroute::detail
