// The kernels of moeroute/kde.h in standard units u = (x − xᵢ)/h: density k(u), upper tail
// s(u) = ∫_u^∞ k, and their derivatives (the fast evaluators expand them in Taylor series).
#pragma once

#include <cmath>

#include "moeroute/kde.h"

namespace moeroute::detail {

inline constexpr double kInvSqrt2Pi = 0.398942280401432677939946059934;  // 1/√(2π)
inline constexpr double kInvSqrt2 = 0.707106781186547524400844362105;    // 1/√2

inline double gaussian_pdf(double u) { return kInvSqrt2Pi * std::exp(-0.5 * u * u); }
/// Φ(−u) = ½ erfc(u/√2): accurate in both tails (1 − Φ(u) is not for u ≫ 0).
inline double gaussian_upper_tail(double u) { return 0.5 * std::erfc(u * kInvSqrt2); }

/// Kernel density k(u); compact kernels are 0 outside (−1, 1).
inline double kernel_density(KdeKernel kernel, double u) {
  switch (kernel) {
    case KdeKernel::Gaussian: return gaussian_pdf(u);
    case KdeKernel::Epanechnikov: return std::abs(u) < 1 ? 0.75 * (1 - u * u) : 0.0;
    case KdeKernel::Tophat: return std::abs(u) < 1 ? 0.5 : 0.0;
  }
  return 0.0;
}

/// Kernel upper tail s(u) = P(U ≥ u): 1 for u ≤ −1 and 0 for u ≥ 1 on compact kernels.
/// Epanechnikov: (1 − u)²(2 + u)/4, the factored form that keeps precision near u = 1.
inline double kernel_upper_tail(KdeKernel kernel, double u) {
  switch (kernel) {
    case KdeKernel::Gaussian: return gaussian_upper_tail(u);
    case KdeKernel::Epanechnikov: return u <= -1 ? 1.0 : u >= 1 ? 0.0 : (1 - u) * (1 - u) * (2 + u) / 4;
    case KdeKernel::Tophat: return u <= -1 ? 1.0 : u >= 1 ? 0.0 : (1 - u) / 2;
  }
  return 0.0;
}

/// The probabilists' Hermite polynomials He_0 … He_kmax at u into he[0 … kmax]
/// (He_{k+1} = u He_k − k He_{k−1}); the Gaussian's derivatives are φ⁽ᵏ⁾(u) = (−1)ᵏ He_k(u) φ(u).
inline void hermite_e(double u, int kmax, double* he) {
  he[0] = 1;
  if (kmax >= 1) he[1] = u;
  for (int k = 1; k < kmax; ++k) he[k + 1] = u * he[k] - k * he[k - 1];
}

}  // namespace moeroute::detail
