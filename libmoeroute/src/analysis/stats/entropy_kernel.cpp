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

constexpr int kBlock = 64;

typedef double V4d __attribute__((vector_size(32)));
typedef float V4f __attribute__((vector_size(16)));

// Four floats at p as doubles (a macro: a function returning V4d would change ABI by target).
#define MOEROUTE_V4D(p, out)                    \
  do {                                          \
    V4f f_;                                     \
    std::memcpy(&f_, (p), sizeof f_);           \
    (out) = __builtin_convertvector(f_, V4d);   \
  } while (0)

inline double combine(const double* lane) {
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

}  // namespace

float det_expf(float x) { return expf_inline(x); }
float det_logf(float x) { return logf_inline(x); }

namespace {
constexpr double kReciprocalOdd[] = {1.0,      1.0 / 3,  1.0 / 5,  1.0 / 7,  1.0 / 9,  1.0 / 11,
                                     1.0 / 13, 1.0 / 15, 1.0 / 17, 1.0 / 19, 1.0 / 21, 1.0 / 23};
}  // namespace

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
  // s · (1 + s²/3 + s⁴/5 + … + s²²/23), Horner form with constant reciprocals.
  double sum = 1.0 / 23;
  for (int k = 21; k >= 1; k -= 2) sum = sum * s2 + kReciprocalOdd[k / 2];
  sum = sum * s;
  return 2.0 * sum + e * kLn2;
}

// Two clones: baseline x86-64 and AVX2. Both round every operation the same way (IEEE, no FMA:
// -ffp-contract=off), so they return the same bits; only the speed differs.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define MOEROUTE_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define MOEROUTE_CLONES
#endif

MOEROUTE_CLONES double softmax_entropy_bits(const float* x, int n) {
  // Maximum over fixed lanes (max is exact, so the order does not matter; lanes let it vectorise).
  float lane_max[kLanes];
  for (int j = 0; j < kLanes; ++j) lane_max[j] = x[0];
  int i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) lane_max[j] = x[i + j] > lane_max[j] ? x[i + j] : lane_max[j];
  for (int j = 0; i < n; ++i, ++j) lane_max[j] = x[i] > lane_max[j] ? x[i] : lane_max[j];
  float mx = lane_max[0];
  for (int j = 1; j < kLanes; ++j) mx = lane_max[j] > mx ? lane_max[j] : mx;
  if (!(mx - mx == 0.0f)) return std::numeric_limits<double>::quiet_NaN();  // NaN or ±inf maximum
  // H = ln Z − Σ e_i d_i / Z with d = x − max, e = exp(d), Z = Σ e (nats). Blocks of kBlock
  // values: exp into a buffer (one vectorised loop), then sums in double over 8 fixed lanes held
  // in two 4-wide vectors (value i always lands in lane i mod 8; a block is padded with zeros to
  // a multiple of 8), combined by a fixed tree. GCC's vector extensions keep the lanes explicit,
  // so every instruction set computes the same sums.
  alignas(32) float d[kBlock], e[kBlock];
  V4d z0 = {0, 0, 0, 0}, z1 = z0, m0 = z0, m1 = z0;
  for (int b = 0; b < n; b += kBlock) {
    const int m = n - b < kBlock ? n - b : kBlock;
    for (int k = 0; k < m; ++k) {
      d[k] = x[b + k] - mx;
      e[k] = expf_inline(d[k]);
    }
    const int padded = (m + 7) & ~7;
    for (int k = m; k < padded; ++k) d[k] = e[k] = 0.0f;
    for (int k = 0; k < padded; k += 8) {
      V4d ea, eb, da, db;
      MOEROUTE_V4D(e + k, ea);
      MOEROUTE_V4D(e + k + 4, eb);
      MOEROUTE_V4D(d + k, da);
      MOEROUTE_V4D(d + k + 4, db);
      z0 += ea;
      z1 += eb;
      m0 += ea * da;
      m1 += eb * db;
    }
  }
  const double zs = ((z0[0] + z0[1]) + (z0[2] + z0[3])) + ((z1[0] + z1[1]) + (z1[2] + z1[3]));
  const double ms = ((m0[0] + m0[1]) + (m0[2] + m0[3])) + ((m1[0] + m1[1]) + (m1[2] + m1[3]));
  if (!(ms - ms == 0.0)) return std::numeric_limits<double>::quiet_NaN();  // a NaN logit below the maximum
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
