#include "torch/kernels/row_matmul.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MOEROUTE_X86 1
#endif

namespace moeroute::detail {

float bf16_to_float(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &wide, sizeof f);
  return f;
}

float f16_to_float(uint16_t bits) {
  const uint32_t exp = (bits >> 10) & 0x1fu, mant = bits & 0x3ffu;
  const bool negative = (bits & 0x8000u) != 0;
  uint32_t wide;
  if (exp == 0x1f) {
    wide = 0x7f800000u | (mant << 13);  // inf, NaN (payload kept)
  } else if (exp != 0) {
    wide = ((exp + 112u) << 23) | (mant << 13);  // rebias 15 → 127
  } else {
    const float sub = std::ldexp(static_cast<float>(mant), -24);  // subnormal or zero: mant·2⁻²⁴, exact
    return negative ? -sub : sub;
  }
  if (negative) wide |= 0x80000000u;
  float f;
  std::memcpy(&f, &wide, sizeof f);
  return f;
}

namespace {

constexpr int kLanes = 8;

struct WidenF32 {
  using T = float;
  static float get(const float* p) { return *p; }
};
struct WidenBF16 {
  using T = uint16_t;
  static float get(const uint16_t* p) { return bf16_to_float(*p); }
};
struct WidenF16 {
  using T = uint16_t;
  static float get(const uint16_t* p) { return f16_to_float(*p); }
};

// One activation row walks one weight row at a time with four 8-lane accumulators (32 columns
// per step): one sequential memory stream, where the four-row tile below runs four. Measured on
// a Zen 3 (AVX2) and a Zen 4 (AVX-512) machine (docs/performance.md, "the row kernels"): 1.2–2×
// the tile's bytes per second on rows of K ≤ 1024 in every format and, on the Zen 4, 1.7× on
// 16-bit rows of K = 2048; on float32 rows of K = 2048 from 10 % slower (Zen 3) to equal. The choice depends on M alone, never on the format, so a product on
// 16-bit weights stays bit for bit the float32 kernel's on the widened weights.
bool one_row(int64_t M) { return M == 1; }

// The scalar reference of the one-row order: lanes j of the four accumulators, the 8-column
// steps after the last 32-column one into the first, then (a0 + a1) + (a2 + a3) and the eight
// lanes pairwise as below.
template <typename Widen>
void scalar_one_row(const float* x, const typename Widen::T* w, int64_t K, int64_t n0, int64_t n1, const float* bias,
                    float* y) {
  const int64_t K32 = K / (4 * kLanes) * (4 * kLanes), K8 = K / kLanes * kLanes;
  for (int64_t n = n0; n < n1; ++n) {
    const typename Widen::T* wn = w + n * K;
    float acc[4][kLanes] = {};
    for (int64_t k = 0; k < K32; k += 4 * kLanes)
      for (int a = 0; a < 4; ++a)
        for (int j = 0; j < kLanes; ++j) acc[a][j] += x[k + a * kLanes + j] * Widen::get(wn + k + a * kLanes + j);
    for (int64_t k = K32; k < K8; k += kLanes)
      for (int j = 0; j < kLanes; ++j) acc[0][j] += x[k + j] * Widen::get(wn + k + j);
    float lane[kLanes];
    for (int j = 0; j < kLanes; ++j) lane[j] = (acc[0][j] + acc[1][j]) + (acc[2][j] + acc[3][j]);
    float s = ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
    for (int64_t k = K8; k < K; ++k) s += x[k] * Widen::get(wn + k);
    y[n] = bias ? s + bias[n] : s;
  }
}

// The scalar reference: the same eight lanes as the vector code, summed pairwise at the end.
template <typename Widen>
void scalar_rows(const float* const* x_rows, int64_t M, const typename Widen::T* w, int64_t K, int64_t n0, int64_t n1,
                 const float* bias, float* const* y_rows) {
  if (one_row(M)) return scalar_one_row<Widen>(x_rows[0], w, K, n0, n1, bias, y_rows[0]);
  const int64_t K8 = K / kLanes * kLanes;
  for (int64_t n = n0; n < n1; ++n) {
    const typename Widen::T* wn = w + n * K;
    for (int64_t m = 0; m < M; ++m) {
      const float* x = x_rows[m];
      float lane[kLanes] = {};
      for (int64_t k = 0; k < K8; k += kLanes)
        for (int j = 0; j < kLanes; ++j) lane[j] += x[k + j] * Widen::get(wn + k + j);
      float s = ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
      for (int64_t k = K8; k < K; ++k) s += x[k] * Widen::get(wn + k);
      y_rows[m][n] = bias ? s + bias[n] : s;
    }
  }
}

#ifdef MOEROUTE_X86
#define MOEROUTE_AVX2 __attribute__((target("avx2,fma,f16c")))

// Eight stored elements → eight float32 lanes.
struct LoadF32 : WidenF32 {
  MOEROUTE_AVX2 static __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
};
struct LoadBF16 : WidenBF16 {
  MOEROUTE_AVX2 static __m256 load8(const uint16_t* p) {
    const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
  }
};
struct LoadF16 : WidenF16 {
  MOEROUTE_AVX2 static __m256 load8(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
};

MOEROUTE_AVX2 inline float hsum(__m256 v) {
  const __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
  __m128 s = _mm_add_ps(lo, hi);                // lanes (0+4, 1+5, 2+6, 3+7)
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));      // (0+4)+(2+6), (1+5)+(3+7)
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));  // all
  return _mm_cvtss_f32(s);
}

// R weight rows × T activation rows: R·T accumulators, each weight vector loaded once per T rows.
// The loops over r and t are unrolled so the accumulators live in registers (GCC's -O2 keeps
// them in memory otherwise).
template <typename Load, int R, int T>
MOEROUTE_AVX2 void tile(const float* const* x, const typename Load::T* w, int64_t K, int64_t n, const float* bias,
                        float* const* y) {
  const int64_t K8 = K / kLanes * kLanes;
  __m256 acc[R][T];
  #pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
    #pragma GCC unroll 8
    for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
  const typename Load::T* wr[R];
  #pragma GCC unroll 8
  for (int r = 0; r < R; ++r) wr[r] = w + (n + r) * K;
  for (int64_t k = 0; k < K8; k += kLanes) {
    __m256 xv[T];
    #pragma GCC unroll 8
    for (int t = 0; t < T; ++t) xv[t] = _mm256_loadu_ps(x[t] + k);
    #pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const __m256 wv = Load::load8(wr[r] + k);
      #pragma GCC unroll 8
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_fmadd_ps(wv, xv[t], acc[r][t]);
    }
  }
  #pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
    #pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      float s = hsum(acc[r][t]);
      for (int64_t k = K8; k < K; ++k) s += x[t][k] * Load::get(wr[r] + k);
      y[t][n + r] = bias ? s + bias[n + r] : s;
    }
}

template <typename Load, int T>
MOEROUTE_AVX2 void rows_of(const float* const* x, const typename Load::T* w, int64_t K, int64_t n0, int64_t n1,
                           const float* bias, float* const* y) {
  int64_t n = n0;
  for (; n + 4 <= n1; n += 4) tile<Load, 4, T>(x, w, K, n, bias, y);
  for (; n < n1; ++n) tile<Load, 1, T>(x, w, K, n, bias, y);
}

// The one-row order (scalar_one_row) in AVX2.
template <typename Load>
MOEROUTE_AVX2 void avx2_one_row(const float* x, const typename Load::T* w, int64_t K, int64_t n0, int64_t n1,
                                const float* bias, float* y) {
  const int64_t K32 = K / (4 * kLanes) * (4 * kLanes), K8 = K / kLanes * kLanes;
  for (int64_t n = n0; n < n1; ++n) {
    const typename Load::T* wn = w + n * K;
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    for (int64_t k = 0; k < K32; k += 4 * kLanes) {
      a0 = _mm256_fmadd_ps(Load::load8(wn + k), _mm256_loadu_ps(x + k), a0);
      a1 = _mm256_fmadd_ps(Load::load8(wn + k + kLanes), _mm256_loadu_ps(x + k + kLanes), a1);
      a2 = _mm256_fmadd_ps(Load::load8(wn + k + 2 * kLanes), _mm256_loadu_ps(x + k + 2 * kLanes), a2);
      a3 = _mm256_fmadd_ps(Load::load8(wn + k + 3 * kLanes), _mm256_loadu_ps(x + k + 3 * kLanes), a3);
    }
    for (int64_t k = K32; k < K8; k += kLanes) a0 = _mm256_fmadd_ps(Load::load8(wn + k), _mm256_loadu_ps(x + k), a0);
    float s = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (int64_t k = K8; k < K; ++k) s += x[k] * Load::get(wn + k);
    y[n] = bias ? s + bias[n] : s;
  }
}

template <typename Load>
MOEROUTE_AVX2 void avx2_tiles(const float* const* x_rows, int64_t M, const typename Load::T* w, int64_t K, int64_t n0,
                              int64_t n1, const float* bias, float* const* y_rows) {
  int64_t m = 0;
  for (; m + 2 <= M; m += 2) rows_of<Load, 2>(x_rows + m, w, K, n0, n1, bias, y_rows + m);
  if (m < M) rows_of<Load, 1>(x_rows + m, w, K, n0, n1, bias, y_rows + m);
}

// Three or more activation rows against 16-bit weights (a prefill): each block of four weight
// rows is widened once into a float32 buffer (in L1) and multiplied there by the float32 tiles, so
// the conversion runs once per weight instead of once per pair of activation rows. Widening is
// exact and every output keeps its accumulation order, so the result is bit for bit the same.
constexpr int64_t kWidenBlock = 4;

template <typename Load>
MOEROUTE_AVX2 void avx2_widened_tiles(const float* const* x_rows, int64_t M, const typename Load::T* w, int64_t K,
                                      int64_t n0, int64_t n1, const float* bias, float* const* y_rows) {
  thread_local std::vector<float> block;
  thread_local std::vector<float*> y;
  block.resize(static_cast<size_t>(kWidenBlock * K));
  y.resize(static_cast<size_t>(M));
  const int64_t K8 = K / kLanes * kLanes;
  for (int64_t n = n0; n < n1; n += kWidenBlock) {
    const int64_t rows = std::min(kWidenBlock, n1 - n);
    for (int64_t r = 0; r < rows; ++r) {
      const typename Load::T* src = w + (n + r) * K;
      float* dst = block.data() + r * K;
      for (int64_t k = 0; k < K8; k += kLanes) _mm256_storeu_ps(dst + k, Load::load8(src + k));
      for (int64_t k = K8; k < K; ++k) dst[k] = Load::get(src + k);
    }
    for (int64_t m = 0; m < M; ++m) y[static_cast<size_t>(m)] = y_rows[m] + n;
    avx2_tiles<LoadF32>(x_rows, M, block.data(), K, 0, rows, bias ? bias + n : nullptr, y.data());
  }
}

template <typename Load>
MOEROUTE_AVX2 void avx2_rows(const float* const* x_rows, int64_t M, const typename Load::T* w, int64_t K, int64_t n0,
                             int64_t n1, const float* bias, float* const* y_rows) {
  if (one_row(M)) return avx2_one_row<Load>(x_rows[0], w, K, n0, n1, bias, y_rows[0]);
  if constexpr (!std::is_same_v<typename Load::T, float>)
    if (M >= 3) return avx2_widened_tiles<Load>(x_rows, M, w, K, n0, n1, bias, y_rows);
  avx2_tiles<Load>(x_rows, M, w, K, n0, n1, bias, y_rows);
}

bool cpu_has(WeightFormat format) {
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  // GCC's __builtin_cpu_supports knows no "f16c"; CPUID leaf 1, ECX bit 29.
  if (format != WeightFormat::F16) return avx2;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  __asm__("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(1), "c"(0));
  return avx2 && (ecx & (1u << 29)) != 0;
}
#endif

std::atomic<bool> g_force_scalar{false};

bool use_avx2(WeightFormat format) {
#ifdef MOEROUTE_X86
  static const bool has[3] = {cpu_has(WeightFormat::F32), cpu_has(WeightFormat::BF16), cpu_has(WeightFormat::F16)};
  return has[static_cast<int>(format)] && !g_force_scalar.load(std::memory_order_relaxed);
#else
  (void)format;
  return false;
#endif
}

}  // namespace

void row_matmul(const float* const* x_rows, int64_t M, WeightView w, int64_t K, int64_t n0, int64_t n1,
                const float* bias, float* const* y_rows) {
  const auto* f32 = static_cast<const float*>(w.data);
  const auto* u16 = static_cast<const uint16_t*>(w.data);
#ifdef MOEROUTE_X86
  if (use_avx2(w.format)) {
    switch (w.format) {
      case WeightFormat::F32: return avx2_rows<LoadF32>(x_rows, M, f32, K, n0, n1, bias, y_rows);
      case WeightFormat::BF16: return avx2_rows<LoadBF16>(x_rows, M, u16, K, n0, n1, bias, y_rows);
      case WeightFormat::F16: return avx2_rows<LoadF16>(x_rows, M, u16, K, n0, n1, bias, y_rows);
    }
  }
#endif
  switch (w.format) {
    case WeightFormat::F32: return scalar_rows<WidenF32>(x_rows, M, f32, K, n0, n1, bias, y_rows);
    case WeightFormat::BF16: return scalar_rows<WidenBF16>(x_rows, M, u16, K, n0, n1, bias, y_rows);
    case WeightFormat::F16: return scalar_rows<WidenF16>(x_rows, M, u16, K, n0, n1, bias, y_rows);
  }
}

const char* row_matmul_isa(WeightFormat format) { return use_avx2(format) ? "avx2" : "scalar"; }

void row_matmul_force_scalar(bool scalar) { g_force_scalar.store(scalar); }

}  // namespace moeroute::detail
