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
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace moeroute::test {

/// measured ≤ bound, and the pair logged to $MOEROUTE_TOLERANCE_LOG when it is set (a line
/// "what<TAB>measured<TAB>bound"): scripts/cpu-kernel-matrix.sh reports how close each kernel
/// setting came to its bounds.
inline bool within(const std::string& what, double measured, double bound) {
  if (const char* log = std::getenv("MOEROUTE_TOLERANCE_LOG"); log && *log) {
    std::ofstream out(log, std::ios::app);
    out << what << '\t' << measured << '\t' << bound << '\n';
  }
  return measured <= bound;
}

inline double max_abs(const std::vector<float>& v) {
  double m = 0;
  for (float x : v) m = std::max(m, std::fabs(double(x)));
  return m;
}

/// The largest |a_i − b_i|, in double; +inf when the sizes differ (a shape error is never within a bound).
inline double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return HUGE_VAL;
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(double(a[i]) - double(b[i])));
  return m;
}

/// γ_n = n·u/(1−n·u) for float32: one fp32 sum of n terms, in any order, is within γ_n·Σ|terms| of
/// the exact sum.
inline double fp32_gamma(int64_t n) {
  const double u = std::ldexp(1.0, -24);
  const double nd = static_cast<double>(n);
  return nd * u / (1 - nd * u);
}

/// The bound above: `scale` the largest |entry|, `longest_reduction` n, `chained` reductions in a row.
inline double fp32_reorder_tolerance(double scale, int64_t longest_reduction, int chained) {
  return 2.0 * chained * fp32_gamma(longest_reduction) * scale;
}

// Host computations in double (divergences, statistics, means) checked against a value computed
// by hand or by NumPy/SciPy: each side rounds each elementary operation — +, −, ×, ÷, √, and the
// libm functions exp, log, log2 (glibc: < 1 ulp) — with relative error at most 2u, u = 2^-53. A
// result reached through `ops` such operations, whose intermediate values are at most `scale` in
// magnitude and not cancelled (condition number O(1)), is off the exact value by at most
// 2 · ops · u · scale to first order; two such evaluations (ours, the reference's) differ by at
// most twice that. Where a subtraction of near-equal terms amplifies error, callers pass the
// amplification in `scale` (e.g. the size of the terms rather than of their difference).

/// u of IEEE double.
constexpr double kF64Unit = 0x1p-53;
/// u of IEEE single (float32).
constexpr double kF32Unit = 0x1p-24;

/// Two double evaluations of a quantity through at most `ops` rounded operations on values of
/// magnitude ≤ `scale` agree within this (see above).
constexpr double fp64_tolerance(double ops, double scale = 1.0) { return 4.0 * ops * kF64Unit * scale; }

/// The same for float32 arithmetic (or float32 inputs rounded `ops` times).
constexpr double fp32_tolerance(double ops, double scale = 1.0) { return 4.0 * ops * kF32Unit * scale; }

/// Chained reductions per decoder layer as counted above (q/k/v, scores, weighted sum, o, router,
/// expert up, expert down).
constexpr int kReductionsPerLayer = 7;

/// A network run in a low-precision dtype (bf16: 8 significand bits, f16: 11) against float32:
/// LibTorch accumulates the products of a reduction in float32, so the dominant error is each
/// op's output rounded to the dtype, a relative 2^-bits (half an ulp) at each of the `chained` ops
/// in a row; to first order they add up. Entries of size ≤ `scale` then agree within
///     chained · 2^-bits · scale   (plus the float32 reorder bound, orders of magnitude smaller).
inline double low_precision_tolerance(double scale, int chained, int significand_bits) {
  return chained * std::ldexp(1.0, -significand_bits) * scale;
}

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
