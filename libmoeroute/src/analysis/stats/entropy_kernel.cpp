#include "analysis/stats/entropy_kernel.h"

#include "analysis/stats/entropy_kernel_impl.h"

namespace moeroute::detail {

namespace {

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

double softmax_entropy_bits_portable(const float* x, int n) {
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
  const double zl[kLanes] = {z0[0], z0[1], z0[2], z0[3], z1[0], z1[1], z1[2], z1[3]};
  const double ml[kLanes] = {m0[0], m0[1], m0[2], m0[3], m1[0], m1[1], m1[2], m1[3]};
  return softmax_entropy_finish(combine_lanes(zl), combine_lanes(ml));  // NaN for a NaN logit below the maximum
}

double distribution_entropy_bits_portable(const float* p, int n) {
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
  return distribution_entropy_finish(combine_lanes(s), combine_lanes(plogp), bad);
}

// The AVX2 kernels where the CPU has them (same bits, faster), chosen once.
namespace {
struct Kernels {
  double (*softmax)(const float*, int) = softmax_entropy_bits_portable;
  double (*distribution)(const float*, int) = distribution_entropy_bits_portable;
  Kernels() {
#if MOEROUTE_HAVE_AVX2_KERNELS
    if (__builtin_cpu_supports("avx2")) {
      softmax = softmax_entropy_bits_avx2;
      distribution = distribution_entropy_bits_avx2;
    }
#endif
  }
};
const Kernels& kernels() {
  static const Kernels k;
  return k;
}
}  // namespace

double softmax_entropy_bits(const float* x, int n) { return kernels().softmax(x, n); }
double distribution_entropy_bits(const float* p, int n) { return kernels().distribution(p, n); }
const char* entropy_kernel_isa() { return kernels().softmax == softmax_entropy_bits_portable ? "portable" : "avx2"; }

}  // namespace moeroute::detail
