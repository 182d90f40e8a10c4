// Fast Gaussian KDE: with data point xᵢ in cell j (offset dᵢ from its centre) and query x in
// cell m (offset e), u = (x − xᵢ)/h = u₀ + t with u₀ = (m − j)δ/h and t = (e − dᵢ)/h, |t| < δ/h.
// Taylor-expanding the kernel G (Φ(−u) for tails, φ(u) for densities) to order p in t and the
// binomial (e − d)ᵏ gives
//   Σᵢ G(uᵢ) ≈ Σ_a (e/h)ᵃ/a! · T_a[m],   T_a[m] = Σ_j Σ_{b ≤ p−a} (−1)ᵇ M_{j,b} G⁽ᵃ⁺ᵇ⁾(u₀),
// with cell moments M_{j,b} = Σ_{i∈j} (dᵢ/h)ᵇ/b!. T is precomputed for every cell within
// R = 10 bandwidths of data; data further above a query count 1 (tails), further away 0.
// The error bound of each part is derived in docs/kde.md, "Fast evaluation".
#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "analysis/kde_cells.h"
#include "analysis/kde_fast.h"
#include "analysis/kde_kernels.h"

namespace moeroute::detail {

namespace {

constexpr int kOrder = 6;            // p: Taylor order
constexpr int kTerms = kOrder + 1;   // coefficients per cell
constexpr double kReach = 10;        // R: bandwidths beyond which a data point counts 0 or 1
// max_u |He_k(u) φ(u)| for k = 0 … 7 (max |φ⁽ᵏ⁾|), from a 10⁻⁵ grid on [−15, 15], rounded up.
constexpr std::array<double, 8> kMaxHermitePhi{0.39894228040144, 0.24197072451915, 0.39894228040144,
                                               0.55058783948506, 1.19682684120430, 2.30710592954932,
                                               5.98413420602150, 14.1779771207782};
constexpr std::array<double, 8> kFactorial{1, 1, 2, 6, 24, 120, 720, 5040};

// max |Q⁽ᵏ⁾| for the tail Q(u) = Φ(−u): 1 for k = 0, max |φ⁽ᵏ⁻¹⁾| after.
double max_tail_derivative(int k) { return k == 0 ? 1.0 : kMaxHermitePhi[static_cast<std::size_t>(k - 1)]; }

class FastGaussian final : public FastKde {
 public:
  FastGaussian(const KernelDensity& kde, double tolerance) : n_(static_cast<double>(kde.size())) {
    const std::vector<float>& data = kde.sorted_data();
    h_ = kde.bandwidth();
    inv_h_ = 1.0 / h_;
    // Cell width from the Taylor bound r^(p+1)/(p+1)! · max|Q⁽ᵖ⁺¹⁾| ≤ tolerance, r = δ/h.
    ratio_ = std::min(0.5, std::pow(tolerance * kFactorial[kTerms] / max_tail_derivative(kTerms), 1.0 / kTerms));
    reach_ = static_cast<int64_t>(std::ceil(kReach / ratio_));
    lattice_ = make_lattice(data, ratio_ * h_);
    cells_ = bin_sorted(data, lattice_);
    ranges_ = active_ranges(cells_, reach_);

    // Signed cell moments (−1)ᵇ M_{j,b}.
    std::vector<double> moments(cells_.size() * kTerms, 0.0);
    for (std::size_t j = 0; j < cells_.size(); ++j) {
      double* mj = &moments[j * kTerms];
      for (int64_t i = cells_.begin[j]; i < cells_.begin[j + 1]; ++i) {
        const double d = -lattice_.offset(data[static_cast<std::size_t>(i)], cells_.index[j], inv_h_);
        double pw = 1;
        for (int b = 0; b < kTerms; ++b) {
          mj[b] += pw;
          pw *= d / (b + 1);
        }
      }
    }
    // Kernel derivatives at u₀ = s·δ/h, s ∈ [−reach, reach].
    const std::size_t width = static_cast<std::size_t>(2 * reach_ + 1);
    std::vector<double> tail_k(width * kTerms), pdf_k(width * kTerms);
    for (std::size_t s = 0; s < width; ++s) {
      const double u0 = (static_cast<double>(s) - static_cast<double>(reach_)) * ratio_, phi = gaussian_pdf(u0);
      double he[kTerms];
      hermite_e(u0, kOrder, he);
      tail_k[s * kTerms] = gaussian_upper_tail(u0);
      for (int k = 0; k < kTerms; ++k) {
        const double dphi = (k % 2 ? -1.0 : 1.0) * he[k] * phi;  // φ⁽ᵏ⁾(u₀)
        pdf_k[s * kTerms + static_cast<std::size_t>(k)] = dphi;
        if (k + 1 < kTerms) tail_k[s * kTerms + static_cast<std::size_t>(k) + 1] = -dphi;  // Q⁽ᵏ⁺¹⁾ = −φ⁽ᵏ⁾
      }
    }
    tail_t_.assign(ranges_.total * kTerms, 0.0);
    pdf_t_.assign(ranges_.total * kTerms, 0.0);
    for_each_active_cell(cells_, ranges_, reach_, [&](int64_t m, std::size_t slot, std::size_t jb, std::size_t je) {
      double* tt = &tail_t_[slot * kTerms];
      double* pt = &pdf_t_[slot * kTerms];
      for (std::size_t j = jb; j < je; ++j) {
        const std::size_t s = static_cast<std::size_t>(m - cells_.index[j] + reach_);
        const double* mj = &moments[j * kTerms];
        const double* tk = &tail_k[s * kTerms];
        const double* pk = &pdf_k[s * kTerms];
        for (int a = 0; a < kTerms; ++a)
          for (int b = 0; a + b < kTerms; ++b) {
            tt[a] += mj[b] * tk[a + b];
            pt[a] += mj[b] * pk[a + b];
          }
      }
      tt[0] += static_cast<double>(cells_.count_above(m + reach_));
      for (int a = 0; a < kTerms; ++a) {  // fold 1/a! in for Horner's rule
        tt[a] /= kFactorial[static_cast<std::size_t>(a)];
        pt[a] /= kFactorial[static_cast<std::size_t>(a)];
      }
    });
    compute_bounds(static_cast<double>(data.back()) - data.front());
  }

  double upper_tail(double x) const override {
    const int64_t m = lattice_.cell_of(x);
    const std::size_t slot = ranges_.slot(m);
    if (slot == ActiveRanges::npos) return static_cast<double>(cells_.count_above(m)) / n_;
    return std::clamp(horner(&tail_t_[slot * kTerms], lattice_.offset(x, m, inv_h_)) / n_, 0.0, 1.0);
  }

  double density(double x) const override {
    const int64_t m = lattice_.cell_of(x);
    const std::size_t slot = ranges_.slot(m);
    if (slot == ActiveRanges::npos) return 0.0;
    return std::max(0.0, horner(&pdf_t_[slot * kTerms], lattice_.offset(x, m, inv_h_)) * inv_h_ / n_);
  }

  double tail_error_bound() const override { return tail_bound_; }
  double density_error_bound() const override { return density_bound_; }

 private:
  static double horner(const double* t, double e) {
    double s = t[kTerms - 1];
    for (int a = kTerms - 2; a >= 0; --a) s = s * e + t[a];
    return s;
  }

  // docs/kde.md, "Fast evaluation": Taylor remainder + truncation at R + rounding of positions
  // + rounding of the sums.
  void compute_bounds(double data_range) {
    const double r = ratio_;
    const double taylor = std::pow(r, kTerms) / kFactorial[kTerms];
    const double u = kUnitRoundoff;
    // |Δu| from rounding x − origin and the cell centres, over the span active cells cover.
    const double du = 8 * u * (data_range + static_cast<double>(reach_ + 1) * lattice_.delta) * inv_h_;
    // Longest chain of additions into one result: a cell's points, then cells × terms.
    const double chain = static_cast<double>(cells_.max_count) + static_cast<double>(2 * reach_ + 2) * kTerms;
    double tail_terms = 0, pdf_terms = 0;  // Σ_k rᵏ/k! max|G⁽ᵏ⁾|: bounds the sum of |terms| per point
    for (int k = 0; k < kTerms; ++k) {
      tail_terms += std::pow(r, k) / kFactorial[static_cast<std::size_t>(k)] * max_tail_derivative(k);
      pdf_terms += std::pow(r, k) / kFactorial[static_cast<std::size_t>(k)] * kMaxHermitePhi[static_cast<std::size_t>(k)];
    }
    tail_bound_ = taylor * max_tail_derivative(kTerms) + gaussian_upper_tail(kReach - r) +
                  kMaxHermitePhi[0] * du + 1.01 * u * chain * tail_terms;
    density_bound_ = (taylor * kMaxHermitePhi[kTerms] + gaussian_pdf(kReach - r) + kMaxHermitePhi[1] * du +
                      1.01 * u * chain * pdf_terms) * inv_h_;
  }

  double n_, h_ = 1, inv_h_ = 1, ratio_ = 0.5;
  int64_t reach_ = 0;
  CellLattice lattice_;
  DataCells cells_;
  ActiveRanges ranges_;
  std::vector<double> tail_t_, pdf_t_;  // [slot, a], divided by a!
  double tail_bound_ = 0, density_bound_ = 0;
};

}  // namespace

std::unique_ptr<FastKde> make_fast_gaussian(const KernelDensity& kde, double tolerance) {
  return std::make_unique<FastGaussian>(kde, tolerance);
}

}  // namespace moeroute::detail
