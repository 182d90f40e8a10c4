#include "torch/kernels/row_matmul.h"

#include <atomic>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MOEROUTE_X86 1
#endif

namespace moeroute::detail {

namespace {

constexpr int kLanes = 8;

// The scalar reference: the same eight lanes as the vector code, summed pairwise at the end.
void scalar_rows(const float* const* x_rows, int64_t M, const float* w, int64_t K, int64_t n0, int64_t n1,
                 const float* bias, float* const* y_rows) {
  const int64_t K8 = K / kLanes * kLanes;
  for (int64_t n = n0; n < n1; ++n) {
    const float* wn = w + n * K;
    for (int64_t m = 0; m < M; ++m) {
      const float* x = x_rows[m];
      float lane[kLanes] = {};
      for (int64_t k = 0; k < K8; k += kLanes)
        for (int j = 0; j < kLanes; ++j) lane[j] += x[k + j] * wn[k + j];
      float s = ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
      for (int64_t k = K8; k < K; ++k) s += x[k] * wn[k];
      y_rows[m][n] = bias ? s + bias[n] : s;
    }
  }
}

#ifdef MOEROUTE_X86
__attribute__((target("avx2,fma"))) inline float hsum(__m256 v) {
  const __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
  __m128 s = _mm_add_ps(lo, hi);                // lanes (0+4, 1+5, 2+6, 3+7)
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));      // (0+4)+(2+6), (1+5)+(3+7)
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));  // all
  return _mm_cvtss_f32(s);
}

// R weight rows × T activation rows: R·T accumulators, each weight vector loaded once per T rows.
// The loops over r and t are unrolled so the accumulators live in registers (GCC's -O2 keeps
// them in memory otherwise).
template <int R, int T>
__attribute__((target("avx2,fma"))) void tile(const float* const* x, const float* w, int64_t K, int64_t n,
                                              const float* bias, float* const* y) {
  const int64_t K8 = K / kLanes * kLanes;
  __m256 acc[R][T];
  #pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
    #pragma GCC unroll 8
    for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
  const float* wr[R];
  #pragma GCC unroll 8
  for (int r = 0; r < R; ++r) wr[r] = w + (n + r) * K;
  for (int64_t k = 0; k < K8; k += kLanes) {
    __m256 xv[T];
    #pragma GCC unroll 8
    for (int t = 0; t < T; ++t) xv[t] = _mm256_loadu_ps(x[t] + k);
    #pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256 wv = _mm256_loadu_ps(wr[r] + k);
      #pragma GCC unroll 8
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_fmadd_ps(wv, xv[t], acc[r][t]);
    }
  }
  #pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
    #pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      float s = hsum(acc[r][t]);
      for (int64_t k = K8; k < K; ++k) s += x[t][k] * wr[r][k];
      y[t][n + r] = bias ? s + bias[n + r] : s;
    }
}

template <int T>
__attribute__((target("avx2,fma"))) void rows_of(const float* const* x, const float* w, int64_t K, int64_t n0,
                                                 int64_t n1, const float* bias, float* const* y) {
  int64_t n = n0;
  for (; n + 4 <= n1; n += 4) tile<4, T>(x, w, K, n, bias, y);
  for (; n < n1; ++n) tile<1, T>(x, w, K, n, bias, y);
}

__attribute__((target("avx2,fma"))) void avx2_rows(const float* const* x_rows, int64_t M, const float* w, int64_t K,
                                                   int64_t n0, int64_t n1, const float* bias, float* const* y_rows) {
  int64_t m = 0;
  for (; m + 2 <= M; m += 2) rows_of<2>(x_rows + m, w, K, n0, n1, bias, y_rows + m);
  if (m < M) rows_of<1>(x_rows + m, w, K, n0, n1, bias, y_rows + m);
}

bool cpu_has_avx2() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#endif

std::atomic<bool> g_force_scalar{false};

}  // namespace

void row_matmul(const float* const* x_rows, int64_t M, const float* w, int64_t K, int64_t n0, int64_t n1,
                const float* bias, float* const* y_rows) {
#ifdef MOEROUTE_X86
  static const bool avx2 = cpu_has_avx2();
  if (avx2 && !g_force_scalar.load(std::memory_order_relaxed)) return avx2_rows(x_rows, M, w, K, n0, n1, bias, y_rows);
#endif
  scalar_rows(x_rows, M, w, K, n0, n1, bias, y_rows);
}

const char* row_matmul_isa() {
#ifdef MOEROUTE_X86
  if (cpu_has_avx2() && !g_force_scalar.load()) return "avx2";
#endif
  return "scalar";
}

void row_matmul_force_scalar(bool scalar) { g_force_scalar.store(scalar); }

}  // namespace moeroute::detail
