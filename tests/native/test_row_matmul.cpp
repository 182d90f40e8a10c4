// row_matmul (src/torch/kernels) against a float64 reference, for the AVX2 and the scalar
// implementation: every output within the fp32 bound of a reordered sum (tests/fp_tolerance.h's
// reasoning for one reduction: |error| ≤ γ_n · Σ|x_k·w_k| with n = K + 1 terms, the bias counted),
// rows reached through pointers (gathered inputs, scattered outputs), outputs outside [n0, n1)
// untouched.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "fp_tolerance.h"
#include "torch/kernels/row_matmul.h"

using namespace moeroute::detail;
using moeroute::test::fp32_gamma;

namespace {

void check_shape(int64_t M, int64_t N, int64_t K, bool with_bias, int64_t n0, int64_t n1, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-2.0f, 2.0f);
  std::vector<float> w(static_cast<size_t>(N * K)), bias(static_cast<size_t>(N));
  for (auto& v : w) v = u(rng);
  for (auto& v : bias) v = u(rng);
  // Input rows in a shuffled order inside a larger buffer; outputs interleaved with a sentinel.
  const int64_t stride_in = K + 3, stride_out = N + 5;
  std::vector<float> xbuf(static_cast<size_t>((M + 1) * stride_in)), ybuf(static_cast<size_t>((M + 1) * stride_out), -7.0f);
  for (auto& v : xbuf) v = u(rng);
  std::vector<const float*> x(static_cast<size_t>(M));
  std::vector<float*> y(static_cast<size_t>(M));
  for (int64_t m = 0; m < M; ++m) {
    x[static_cast<size_t>(m)] = xbuf.data() + ((m * 7 + 1) % (M + 1)) * stride_in + 1;
    y[static_cast<size_t>(m)] = ybuf.data() + (M - m) * stride_out + 2;
  }
  row_matmul(x.data(), M, w.data(), K, n0, n1, with_bias ? bias.data() : nullptr, y.data());
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      const float got = y[static_cast<size_t>(m)][n];
      if (n < n0 || n >= n1) {
        CHECK(got == -7.0f);
        continue;
      }
      double ref = with_bias ? bias[static_cast<size_t>(n)] : 0.0, mag = std::fabs(with_bias ? bias[static_cast<size_t>(n)] : 0.0f);
      for (int64_t k = 0; k < K; ++k) {
        const double p = double(x[static_cast<size_t>(m)][k]) * w[static_cast<size_t>(n * K + k)];
        ref += p;
        mag += std::fabs(p);
      }
      INFO("M " << M << " N " << N << " K " << K << " m " << m << " n " << n);
      // One fp32 sum against the exact one (ref in float64 is exact to ~2^-53·mag, negligible).
      CHECK(moeroute::test::within("row_matmul vs float64", std::fabs(got - ref), fp32_gamma(K + 1) * mag));
    }
}

}  // namespace

TEST_CASE("row_matmul equals a float64 reference within fp32 reordering", "[kernels]") {
  for (bool scalar : {false, true}) {
    row_matmul_force_scalar(scalar);
    INFO("isa " << row_matmul_isa());
    std::mt19937 rng(scalar ? 2 : 1);
    // K: below one 8-lane step, steps of 8 and 32 with tails (M = 1 runs the one-row kernel), long rows.
    for (int64_t M : {1, 2, 3, 5, 17})
      for (int64_t K : {1, 7, 8, 9, 45, 64, 515, 1100})
        for (int64_t N : {1, 3, 4, 9, 33}) {
          check_shape(M, N, K, false, 0, N, rng);
          check_shape(M, N, K, true, 0, N, rng);
          if (N > 2) check_shape(M, N, K, true, 1, N - 1, rng);  // a block inside the rows
        }
  }
  row_matmul_force_scalar(false);
}

TEST_CASE("row_matmul on exactly representable values is exact", "[kernels]") {
  // Small integers: every product and partial sum is exact in fp32, so any order gives the same
  // bits — a check of indexing that no tolerance can blur.
  for (bool scalar : {false, true}) {
    row_matmul_force_scalar(scalar);
    const int64_t M = 3, N = 6, K = 21;
    std::vector<float> w(N * K), x(M * K), y(M * N), b(N);
    for (int64_t i = 0; i < N * K; ++i) w[static_cast<size_t>(i)] = static_cast<float>((i * 5) % 7 - 3);
    for (int64_t i = 0; i < M * K; ++i) x[static_cast<size_t>(i)] = static_cast<float>((i * 3) % 5 - 2);
    for (int64_t n = 0; n < N; ++n) b[static_cast<size_t>(n)] = static_cast<float>(n);
    const float* xr[M] = {x.data(), x.data() + K, x.data() + 2 * K};
    float* yr[M] = {y.data(), y.data() + N, y.data() + 2 * N};
    row_matmul(xr, M, w.data(), K, 0, N, b.data(), yr);
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        float ref = b[static_cast<size_t>(n)];
        for (int64_t k = 0; k < K; ++k) ref += x[static_cast<size_t>(m * K + k)] * w[static_cast<size_t>(n * K + k)];
        CHECK(y[static_cast<size_t>(m * N + n)] == ref);
      }
  }
  row_matmul_force_scalar(false);
}

namespace {

uint16_t to_bf16_bits(float f) {  // truncation: any bfloat16 value will do as a weight
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return static_cast<uint16_t>(u >> 16);
}

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

}  // namespace

TEST_CASE("16-bit weights widen exactly", "[kernels]") {
  CHECK(bf16_to_float(0x3f80) == 1.0f);
  CHECK(bf16_to_float(0xc0a0) == -5.0f);
  CHECK(bf16_to_float(0x0001) == std::ldexp(1.0f, -133));  // the smallest subnormal
  CHECK(std::isinf(bf16_to_float(0xff80)));
  CHECK(f16_to_float(0x3c00) == 1.0f);
  CHECK(f16_to_float(0xc500) == -5.0f);
  CHECK(f16_to_float(0x7bff) == 65504.0f);               // the largest finite
  CHECK(f16_to_float(0x0001) == std::ldexp(1.0f, -24));  // the smallest subnormal
  CHECK(f16_to_float(0x03ff) == std::ldexp(1023.0f, -24));
  CHECK(f16_to_float(0x0400) == std::ldexp(1.0f, -14));  // the smallest normal
  CHECK(bits_of(f16_to_float(0x8000)) == 0x80000000u);   // −0
  CHECK(std::isinf(f16_to_float(0xfc00)));
  CHECK(f16_to_float(0xfc00) < 0);
  CHECK(std::isnan(f16_to_float(0x7e00)));
  // Every float16 value: widening then rounding back (to nearest, as a float32 → float16
  // conversion does) returns it — checked as: the widened value has at most 11 significant bits
  // and lies in float16's range, and distinct codes widen to distinct values (zeros aside).
  std::vector<float> seen;
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const auto code = static_cast<uint16_t>(h);
    if ((code & 0x7c00) == 0x7c00) continue;  // inf, NaN
    const float f = f16_to_float(code);
    REQUIRE(std::fabs(f) <= 65504.0f);
    int e = 0;
    const double m = std::frexp(double(f), &e);  // f = m·2^e, |m| in [0.5, 1)
    CHECK(std::ldexp(m, 11) == std::trunc(std::ldexp(m, 11)));
    seen.push_back(f);
  }
  std::sort(seen.begin(), seen.end());
  CHECK(std::unique(seen.begin(), seen.end()) - seen.begin() == static_cast<std::ptrdiff_t>(seen.size()) - 1);  // ±0
}

TEST_CASE("row_matmul on 16-bit weights equals float32 on the widened weights, bit for bit", "[kernels]") {
  for (bool scalar : {false, true}) {
    row_matmul_force_scalar(scalar);
    for (WeightFormat format : {WeightFormat::BF16, WeightFormat::F16}) {
      INFO("isa " << row_matmul_isa(format) << (format == WeightFormat::BF16 ? " bf16" : " f16"));
      std::mt19937 rng(7);
      std::uniform_real_distribution<float> u(-2.0f, 2.0f);
      std::uniform_int_distribution<int> code(0, 0x7bff);  // finite float16 magnitudes
      for (int64_t M : {1, 2, 3, 5})
        for (int64_t K : {1, 7, 8, 9, 45, 64, 515, 1100}) {
          const int64_t N = 11;  // rows 1..10: blocks of four widened rows and a partial one
          // The matrix after one leading row of another: an expert's slice of a fused tensor.
          std::vector<uint16_t> w16(static_cast<size_t>((N + 1) * K));
          std::vector<float> wide(static_cast<size_t>(N * K)), bias(static_cast<size_t>(N)), x(static_cast<size_t>(M * K));
          for (size_t i = 0; i < w16.size(); ++i) {
            const auto sign = static_cast<uint16_t>(rng() & 0x8000u);
            w16[i] = format == WeightFormat::BF16 ? to_bf16_bits(u(rng)) : static_cast<uint16_t>(code(rng) | sign);
            if (i >= static_cast<size_t>(K))
              wide[i - static_cast<size_t>(K)] = format == WeightFormat::BF16 ? bf16_to_float(w16[i]) : f16_to_float(w16[i]);
          }
          for (auto& v : bias) v = u(rng);
          for (auto& v : x) v = u(rng);
          std::vector<float> y16(static_cast<size_t>(M * N), -7.0f), y32(y16.size(), -7.0f);
          std::vector<const float*> xr;
          std::vector<float*> r16, r32;
          for (int64_t m = 0; m < M; ++m) {
            xr.push_back(x.data() + m * K);
            r16.push_back(y16.data() + m * N);
            r32.push_back(y32.data() + m * N);
          }
          row_matmul(xr.data(), M, WeightView{w16.data(), format}.advanced(K), K, 1, N, bias.data(), r16.data());
          row_matmul(xr.data(), M, wide.data(), K, 1, N, bias.data(), r32.data());
          INFO("M " << M << " K " << K);
          CHECK(y16 == y32);  // rows 1..N-1 computed, row 0 untouched (-7) in both
        }
    }
  }
  row_matmul_force_scalar(false);
}
