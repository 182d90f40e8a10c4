#include "analysis/stats/entropy_kernel.h"

#include <cstdint>
#include <cstring>
#include <limits>

namespace moeroute::detail {

namespace {

constexpr double kLn2 = 0.693147180559945309417232121458;
constexpr int kLanes = 8;  // fixed summation lanes: the order of every sum is part of the result

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

inline double combine(const double* lane) {
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

}  // namespace

float det_expf(float x) { return expf_inline(x); }
float det_logf(float x) { return logf_inline(x); }

double det_log(double x) {
  // x = m·2^e, m in [√½, √2); ln m = 2·atanh(s), s = (m − 1)/(m + 1), |s| ≤ 0.1716: the series
  // s + s³/3 + … reaches double precision by s^23.
  uint64_t bits;
  std::memcpy(&bits, &x, 8);
  int e = static_cast<int>((bits >> 52) & 0x7ff) - 1022;
  bits = (bits & 0x000fffffffffffffULL) | 0x3fe0000000000000ULL;  // [0.5, 1)
  double m;
  std::memcpy(&m, &bits, 8);
  if (m < 0.70710678118654752440) {
    m = m + m;
    --e;
  }
  const double s = (m - 1.0) / (m + 1.0);
  const double s2 = s * s;
  double term = s, sum = 0.0;
  for (int k = 1; k <= 23; k += 2) {
    sum = sum + term / k;
    term = term * s2;
  }
  return 2.0 * sum + e * kLn2;
}

double softmax_entropy_bits(const float* x, int n) {
  float mx = x[0];
  for (int i = 1; i < n; ++i) mx = x[i] > mx ? x[i] : mx;
  if (!(mx - mx == 0.0f)) return std::numeric_limits<double>::quiet_NaN();  // NaN or ±inf maximum
  // H = ln Z − Σ e_i d_i / Z with d = x − max, e = exp(d), Z = Σ e (nats).
  double z[kLanes] = {0}, moment[kLanes] = {0};
  bool nan = false;
  int i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) {
      const float d = x[i + j] - mx;
      const float e = expf_inline(d);
      z[j] += static_cast<double>(e);
      moment[j] += static_cast<double>(e) * static_cast<double>(d);
    }
  for (int j = 0; i < n; ++i, ++j) {
    const float d = x[i] - mx;
    const float e = expf_inline(d);
    z[j] += static_cast<double>(e);
    moment[j] += static_cast<double>(e) * static_cast<double>(d);
  }
  const double zs = combine(z), ms = combine(moment);
  nan = !(ms - ms == 0.0);  // a NaN logit below the maximum
  if (nan) return std::numeric_limits<double>::quiet_NaN();
  const double h = det_log(zs) - ms / zs;
  return (h < 0.0 ? 0.0 : h) / kLn2;
}

double distribution_entropy_bits(const float* p, int n) {
  // H = ln S − Σ p ln p / S with S = Σ p (nats); 0 · ln 0 = 0.
  double s[kLanes] = {0}, plogp[kLanes] = {0};
  bool bad = false;
  for (int i = 0; i < n; ++i) {
    const float v = p[i];
    bad = bad || !(v >= 0.0f) || !(v - v == 0.0f);
    const float safe = v > 1e-30f ? v : 1e-30f;
    const float term = v > 0.0f ? v * logf_inline(safe) : 0.0f;
    s[i % kLanes] += static_cast<double>(v);
    plogp[i % kLanes] += static_cast<double>(term);
  }
  const double total = combine(s);
  if (bad || !(total > 0.0)) return std::numeric_limits<double>::quiet_NaN();
  const double h = det_log(total) - combine(plogp) / total;
  return (h < 0.0 ? 0.0 : h) / kLn2;
}

}  // namespace moeroute::detail
