// AVX2 versions of the entropy kernels (entropy_kernel.cpp has the portable ones and picks one at
// run time). Same bits as the portable code by construction: the same float operations in the
// same order (the Cephes exp/log steps one for one, no FMA: only `avx2` is enabled, and the file
// is compiled with -ffp-contract=off), each value i summed into double lane i mod 8 in index
// order, the lanes combined by the same tree; values past n enter as exact zeros, which leave a
// lane sum unchanged (no lane sum is −0: they start at +0).
#include "analysis/stats/entropy_kernel_impl.h"

#if MOEROUTE_HAVE_AVX2_KERNELS

#include <immintrin.h>

#include <cstring>
#include <limits>

namespace moeroute::detail {

namespace {

#define MOEROUTE_AVX2 __attribute__((target("avx2"), always_inline)) inline

MOEROUTE_AVX2 __m256 ps(float v) { return _mm256_set1_ps(v); }

// y·x + c[0], then ·x + c[1], …: Horner steps, each a rounded product and a rounded sum.
MOEROUTE_AVX2 __m256 horner(__m256 y, __m256 x, const float* c, int n) {
  for (int i = 0; i < n; ++i) y = _mm256_add_ps(_mm256_mul_ps(y, x), ps(c[i]));
  return y;
}

// expf_inline of entropy_kernel_impl.h on 8 lanes.
MOEROUTE_AVX2 __m256 exp8(__m256 x) {
  x = _mm256_max_ps(ps(-87.33f), x);  // x < −87.33 ? −87.33 : x (a NaN x stays NaN)
  const __m256 magic = ps(12582912.0f);
  const __m256 n = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(x, ps(1.44269504088896341f)), magic), magic);
  __m256 r = _mm256_sub_ps(x, _mm256_mul_ps(n, ps(0.693359375f)));
  r = _mm256_sub_ps(r, _mm256_mul_ps(n, ps(-2.12194440e-4f)));
  const __m256 z = _mm256_mul_ps(r, r);
  static constexpr float kPoly[] = {1.3981999507e-3f, 8.3334519073e-3f, 4.1665795894e-2f, 1.6666665459e-1f,
                                    5.0000001201e-1f};
  __m256 y = horner(ps(1.9875691500e-4f), r, kPoly, 5);
  y = _mm256_add_ps(_mm256_add_ps(_mm256_mul_ps(y, z), r), ps(1.0f));
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvttps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

// logf_inline of entropy_kernel_impl.h on 8 lanes (positive normal x).
MOEROUTE_AVX2 __m256 log8(__m256 x) {
  const __m256i bits = _mm256_castps_si256(x);
  __m256i e = _mm256_sub_epi32(_mm256_and_si256(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(0xff)),
                               _mm256_set1_epi32(126));
  __m256 m = _mm256_castsi256_ps(
      _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x3f000000)));
  const __m256 low = _mm256_cmp_ps(m, ps(0.707106781186547524f), _CMP_LT_OQ);
  e = _mm256_add_epi32(e, _mm256_castps_si256(low));  // low lanes are −1
  m = _mm256_blendv_ps(_mm256_sub_ps(m, ps(1.0f)), _mm256_sub_ps(_mm256_add_ps(m, m), ps(1.0f)), low);
  const __m256 z = _mm256_mul_ps(m, m);
  // The scalar code's `y·m − c` steps as `y·m + (−c)`: IEEE defines a − b as a + (−b), same bits.
  static constexpr float kPoly[] = {-1.1514610310e-1f, 1.1676998740e-1f, -1.2420140846e-1f, 1.4249322787e-1f,
                                    -1.6668057665e-1f, 2.0000714765e-1f, -2.4999993993e-1f, 3.3333331174e-1f};
  __m256 y = horner(ps(7.0376836292e-2f), m, kPoly, 8);
  y = _mm256_mul_ps(_mm256_mul_ps(y, m), z);
  const __m256 fe = _mm256_cvtepi32_ps(e);
  y = _mm256_add_ps(y, _mm256_mul_ps(fe, ps(-2.12194440e-4f)));
  y = _mm256_sub_ps(y, _mm256_mul_ps(ps(0.5f), z));
  return _mm256_add_ps(_mm256_add_ps(m, y), _mm256_mul_ps(fe, ps(0.693359375f)));
}

// The first `valid` lanes set (all ones), the rest zero.
MOEROUTE_AVX2 __m256 first_lanes(int valid) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(valid), idx));
}

MOEROUTE_AVX2 __m256d low4(__m256 v) { return _mm256_cvtps_pd(_mm256_castps256_ps128(v)); }
MOEROUTE_AVX2 __m256d high4(__m256 v) { return _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)); }

// Lanes 0–3 and 4–7 of v widened to double and added to a0, a1.
MOEROUTE_AVX2 void add_wide(__m256 v, __m256d& a0, __m256d& a1) {
  a0 = _mm256_add_pd(a0, low4(v));
  a1 = _mm256_add_pd(a1, high4(v));
}
// The products a·b of v and w widened to double (exact: 24 + 24 bits), added to a0, a1.
MOEROUTE_AVX2 void add_wide_product(__m256 v, __m256 w, __m256d& a0, __m256d& a1) {
  a0 = _mm256_add_pd(a0, _mm256_mul_pd(low4(v), low4(w)));
  a1 = _mm256_add_pd(a1, _mm256_mul_pd(high4(v), high4(w)));
}

MOEROUTE_AVX2 double combine8(__m256d a0, __m256d a1) {
  alignas(32) double lane[8];
  _mm256_store_pd(lane, a0);
  _mm256_store_pd(lane + 4, a1);
  return combine_lanes(lane);
}

}  // namespace

__attribute__((target("avx2"))) double softmax_entropy_bits_avx2(const float* x, int n) {
  // Maximum: lane j of the vector holds the running maximum of x[j], x[j+8], …, exactly as the
  // portable loop's lane_max (MAXPS keeps the second operand when either is NaN, as `a > b ? a : b`).
  __m256 vmax = _mm256_set1_ps(x[0]);
  int i = 0;
  for (; i + 8 <= n; i += 8) vmax = _mm256_max_ps(_mm256_loadu_ps(x + i), vmax);
  alignas(32) float lane_max[8];
  _mm256_store_ps(lane_max, vmax);
  for (int j = 0; i < n; ++i, ++j) lane_max[j] = x[i] > lane_max[j] ? x[i] : lane_max[j];
  float mx = lane_max[0];
  for (int j = 1; j < 8; ++j) mx = lane_max[j] > mx ? lane_max[j] : mx;
  if (!(mx - mx == 0.0f)) return std::numeric_limits<double>::quiet_NaN();
  const __m256 vmx = _mm256_set1_ps(mx);
  __m256d z0 = _mm256_setzero_pd(), z1 = z0, m0 = z0, m1 = z0;
  i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + i), vmx);
    const __m256 e = exp8(d);
    add_wide(e, z0, z1);
    add_wide_product(e, d, m0, m1);
  }
  if (i < n) {
    alignas(32) float tail[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    std::memcpy(tail, x + i, static_cast<size_t>(n - i) * sizeof(float));
    const __m256 keep = first_lanes(n - i);
    const __m256 d = _mm256_and_ps(_mm256_sub_ps(_mm256_load_ps(tail), vmx), keep);
    const __m256 e = _mm256_and_ps(exp8(d), keep);
    add_wide(e, z0, z1);
    add_wide_product(e, d, m0, m1);
  }
  return softmax_entropy_finish(combine8(z0, z1), combine8(m0, m1));
}

__attribute__((target("avx2"))) double distribution_entropy_bits_avx2(const float* p, int n) {
  __m256d s0 = _mm256_setzero_pd(), s1 = s0, t0 = s0, t1 = s0;
  __m256 bad = _mm256_setzero_ps();
  for (int i = 0; i < n; i += 8) {
    __m256 v;
    if (i + 8 <= n) {
      v = _mm256_loadu_ps(p + i);
    } else {  // the tail, padded with zeros (valid values that add nothing)
      alignas(32) float tail[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      std::memcpy(tail, p + i, static_cast<size_t>(n - i) * sizeof(float));
      v = _mm256_load_ps(tail);
    }
    // bad: !(v ≥ 0) || !(v − v == 0), i.e. negative, NaN or infinite.
    bad = _mm256_or_ps(bad, _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_NGE_UQ));
    bad = _mm256_or_ps(bad, _mm256_cmp_ps(_mm256_sub_ps(v, v), _mm256_setzero_ps(), _CMP_NEQ_UQ));
    const __m256 safe = _mm256_max_ps(v, ps(1e-30f));  // v > 1e-30 ? v : 1e-30 (NaN → 1e-30)
    const __m256 positive = _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_GT_OQ);
    const __m256 term = _mm256_and_ps(_mm256_mul_ps(v, log8(safe)), positive);
    add_wide(v, s0, s1);
    add_wide(term, t0, t1);
  }
  return distribution_entropy_finish(combine8(s0, s1), combine8(t0, t1), _mm256_movemask_ps(bad) != 0);
}

}  // namespace moeroute::detail

#endif
