#include "torch/kernels/decode_rows.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "torch/kernels/row_matmul.h"

namespace moeroute::detail {

namespace {

// Four float lanes (GCC/Clang vector extension: SSE on any x86-64, NEON on ARM) — the loops
// below are too short for -O2's cost model to vectorise them itself.
using F4 = float __attribute__((vector_size(16)));

// y[0..n) += a · x[0..n), each product rounded, then each sum.
void axpy(float a, const float* x, float* y, int64_t n) {
  const F4 av = {a, a, a, a};
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    F4 xv, yv;
    std::memcpy(&xv, x + i, sizeof xv);
    std::memcpy(&yv, y + i, sizeof yv);
    const F4 p = av * xv;
    yv += p;
    std::memcpy(y + i, &yv, sizeof yv);
  }
  for (; i < n; ++i) {
    const float p = a * x[i];
    y[i] += p;
  }
}

}  // namespace

void rms_norm_rows(const float* x, int64_t rows, int64_t n, const float* weight, float eps, float* y) {
  for (int64_t r = 0; r < rows; ++r, x += n, y += n) {
    // Four double partial sums: exact enough that any float32 order is within its own bound of
    // this, and no serial dependency on one accumulator.
    double s[4] = {0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4)
      for (int j = 0; j < 4; ++j) s[j] += double(x[i + j]) * double(x[i + j]);
    for (; i < n; ++i) s[0] += double(x[i]) * double(x[i]);
    const auto variance = static_cast<float>(((s[0] + s[1]) + (s[2] + s[3])) / static_cast<double>(n));
    const float inv = 1.0f / std::sqrt(variance + eps);  // at::rsqrt on float: 1 / sqrt, both rounded
    for (int64_t k = 0; k < n; ++k) y[k] = weight[k] * (x[k] * inv);
  }
}

void rotary_head(const float* x, const float* cos, const float* sin, int64_t D, float* y) {
  const int64_t half = D / 2;
  for (int64_t d = 0; d < half; ++d) {
    const float a = x[d] * cos[d], b = -x[d + half] * sin[d];
    y[d] = a + b;
  }
  for (int64_t d = half; d < D; ++d) {
    const float a = x[d] * cos[d], b = x[d - half] * sin[d];
    y[d] = a + b;
  }
}

void softmax_row(float* x, int64_t n) {
  const float m = *std::max_element(x, x + n);
  double s[4] = {0, 0, 0, 0};
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - m);
    s[i & 3] += x[i];
  }
  const float inv = 1.0f / static_cast<float>((s[0] + s[1]) + (s[2] + s[3]));
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void attend_rows(const float* const* q, int64_t M, const float* keys, const float* values, int64_t D, int64_t lo,
                 int64_t hi, float scaling, const float* sinks, float* scores, float* const* out) {
  const int64_t n = hi - lo + 1;
  // Score rows by pointer for row_matmul: q[m] · keys[lo + j] for j < n.
  float* rows[64];
  for (int64_t m0 = 0; m0 < M; m0 += 64) {
    const int64_t mm = std::min<int64_t>(64, M - m0);
    for (int64_t m = 0; m < mm; ++m) rows[m] = scores + (m0 + m) * n;
    row_matmul(q + m0, mm, keys + lo * D, D, 0, n, nullptr, rows);
  }
  for (int64_t m = 0; m < M; ++m) {
    float* p = scores + m * n;
    for (int64_t j = 0; j < n; ++j) p[j] *= scaling;
    if (!sinks) {
      softmax_row(p, n);
    } else {
      // transformers' gpt-oss: cat(scores, sink) − its max, softmax, sink dropped. The softmax's
      // own max is then exactly 0, so this is exp(s − max(scores, sink)) over scores and sink.
      const float sink = sinks[m];
      const float mx = std::max(*std::max_element(p, p + n), sink);
      double s = std::exp(sink - mx);
      for (int64_t j = 0; j < n; ++j) {
        p[j] = std::exp(p[j] - mx);
        s += p[j];
      }
      const float inv = 1.0f / static_cast<float>(s);
      for (int64_t j = 0; j < n; ++j) p[j] *= inv;
    }
    float* o = out[m];
    std::fill(o, o + D, 0.0f);
    for (int64_t j = 0; j < n; ++j) axpy(p[j], values + (lo + j) * D, o, D);
  }
}

void combine_rows(const float* y, const float* w, int64_t n0, int64_t n1, int64_t k, int64_t H, float* out) {
  for (int64_t n = n0; n < n1; ++n) {
    float* o = out + n * H;
    const float* yn = y + n * k * H;
    const float* wn = w + n * k;
    std::fill(o, o + H, 0.0f);
    for (int64_t j = 0; j < k; ++j) axpy(wn[j], yn + j * H, o, H);
  }
}

}  // namespace moeroute::detail
