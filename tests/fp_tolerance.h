// Tolerances for two fp32 evaluations of one network that differ only in the order of their sums:
// a cached decode step against a full forward, a padded batch against a row alone, one CPU's GEMM
// blocking against another's (LibTorch, OpenBLAS and oneDNN pick kernels by CPU: AVX-512, AVX2, NEON).
//
// A sum of n products in any order has error at most γ_n·Σ|a_i·b_i|, γ_n = n·u/(1−n·u), u = 2^-24
// (Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., §3.1); two orders differ by at
// most twice that. A network of `chained` reductions one after another (per layer: the q/k/v
// projections, attention scores, the weighted sum over keys, the output projection, the router,
// expert up and down) compounds these relative errors, to first order, additively; RMSNorm and
// softmax pass relative error on without growing it beyond their condition, O(1) at the magnitudes
// of these models. So two evaluations of a quantity whose entries reach `scale` agree within
//     2 · chained · γ_n · scale,   n = the longest single reduction.
// This is a worst-case bound, and a machine-independent one; it still lies orders of magnitude below
// what a real defect moves (a dropped key or a wrong mask shifts router logits by O(0.1·scale)).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace moeroute::test {

inline double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, std::fabs(double(x)));
  return m;
}

/// The bound above: `scale` the largest |entry|, `longest_reduction` n, `chained` reductions in a row.
inline double fp32_reorder_tolerance(double scale, int64_t longest_reduction, int chained) {
  const double u = std::ldexp(1.0, -24);
  const double n = static_cast<double>(longest_reduction);
  return 2.0 * chained * (n * u / (1 - n * u)) * scale;
}

/// Chained reductions per decoder layer as counted above (q/k/v, scores, weighted sum, o, router,
/// expert up, expert down).
constexpr int kReductionsPerLayer = 7;

/// Top-k ids (best first, [rows, k]) of two evaluations agree, except where the reference's logits
/// ([rows, experts]) of the two ids that differ lie within `tol` of each other: there, a reordered
/// sum may legitimately swap them.
inline bool topk_agree_outside_ties(const std::vector<int32_t>& a, const std::vector<int32_t>& b,
                                    const std::vector<float>& ref_logits, int k, int experts, double tol) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] == b[i]) continue;
    const size_t row = i / static_cast<size_t>(k);
    const float* z = ref_logits.data() + row * static_cast<size_t>(experts);
    if (std::fabs(double(z[a[i]]) - z[b[i]]) > 2 * tol) return false;
  }
  return true;
}

}  // namespace moeroute::test
