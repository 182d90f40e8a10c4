// Internals of the entropy kernels shared by the portable code (entropy_kernel.cpp) and the AVX2
// code (entropy_kernel_avx2.cpp): the scalar exp and log both implement lane by lane, and the
// final steps. Private to the stats module.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>

#include "analysis/stats/entropy_kernel.h"

#if defined(__x86_64__) && defined(__GNUC__)
#define MOEROUTE_HAVE_AVX2_KERNELS 1
#else
#define MOEROUTE_HAVE_AVX2_KERNELS 0
#endif

namespace moeroute::detail {

inline constexpr double kLn2 = 0.693147180559945309417232121458;
inline constexpr int kLanes = 8;  // fixed summation lanes: the order of every sum is part of the result

inline float bits_to_float(int32_t b) {
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
inline int32_t float_to_bits(float f) {
  int32_t b;
  std::memcpy(&b, &f, 4);
  return b;
}

// Cephes expf: x = n·ln2 + r with |r| ≤ ln2/2, a degree-5 polynomial for e^r, then 2^n from the
// exponent bits. Round-to-nearest of x·log2(e) by the 1.5·2^23 trick (exact IEEE arithmetic).
inline __attribute__((always_inline)) float expf_inline(float x) {
  x = x < -87.33f ? -87.33f : x;
  const float magic = 12582912.0f;
  const float n = (x * 1.44269504088896341f + magic) - magic;
  float r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  const float z = r * r;
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * z + r + 1.0f;
  return y * bits_to_float((static_cast<int32_t>(n) + 127) << 23);
}

// Cephes logf for normal positive x: x = m·2^e with m in [√½, √2), a degree-8 polynomial in m − 1.
inline __attribute__((always_inline)) float logf_inline(float x) {
  const int32_t bits = float_to_bits(x);
  int32_t e = ((bits >> 23) & 0xff) - 126;
  float m = bits_to_float((bits & 0x007fffff) | 0x3f000000);  // [0.5, 1)
  const bool low = m < 0.707106781186547524f;
  e -= low ? 1 : 0;
  m = low ? m + m - 1.0f : m - 1.0f;
  const float z = m * m;
  float y = 7.0376836292e-2f;
  y = y * m - 1.1514610310e-1f;
  y = y * m + 1.1676998740e-1f;
  y = y * m - 1.2420140846e-1f;
  y = y * m + 1.4249322787e-1f;
  y = y * m - 1.6668057665e-1f;
  y = y * m + 2.0000714765e-1f;
  y = y * m - 2.4999993993e-1f;
  y = y * m + 3.3333331174e-1f;
  y = y * m * z;
  const float fe = static_cast<float>(e);
  y = y + fe * -2.12194440e-4f;
  y = y - 0.5f * z;
  return m + y + fe * 0.693359375f;
}

/// ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)): the fixed tree that combines the lanes.
inline double combine_lanes(const double* lane) {
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

/// H = ln Z − M / Z in bits, from Z = Σ e_i and M = Σ e_i d_i (NaN when M is not finite: a NaN logit).
inline double softmax_entropy_finish(double zs, double ms) {
  if (!(ms - ms == 0.0)) return std::numeric_limits<double>::quiet_NaN();
  const double h = det_log(zs) - ms / zs;
  return (h < 0.0 ? 0.0 : h) / kLn2;
}

/// H = ln S − T / S in bits, from S = Σ p and T = Σ p ln p; NaN for a bad input or S = 0.
inline double distribution_entropy_finish(double total, double plogp, bool bad) {
  if (bad || !(total > 0.0)) return std::numeric_limits<double>::quiet_NaN();
  const double h = det_log(total) - plogp / total;
  return (h < 0.0 ? 0.0 : h) / kLn2;
}

#if MOEROUTE_HAVE_AVX2_KERNELS
/// The AVX2 kernels (call only where the CPU has AVX2); same results as the portable ones.
double softmax_entropy_bits_avx2(const float* x, int n);
double distribution_entropy_bits_avx2(const float* p, int n);
#endif

}  // namespace moeroute::detail
