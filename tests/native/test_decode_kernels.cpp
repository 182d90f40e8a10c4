// The decode step's raw-row kernels (src/torch/kernels/decode_rows.h, route_rows.h) against
// float64 references, each within the bound of its own float32 roundings (u = 2^-24 per rounded
// operation, γ_n for an n-term sum: tests/fp_tolerance.h), and on exactly representable values
// exactly — checks of indexing that no tolerance can blur.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <vector>

#include "fp_tolerance.h"
#include "torch/kernels/decode_rows.h"
#include "torch/kernels/route_rows.h"

using namespace moeroute::detail;
using moeroute::test::fp32_gamma;
using moeroute::test::kF32Unit;
using moeroute::test::within;

namespace {

std::vector<float> uniform(size_t n, float lo, float hi, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = u(rng);
  return v;
}

// exp(x − max) / Σ in double.
std::vector<double> softmax64(const std::vector<double>& x) {
  const double m = *std::max_element(x.begin(), x.end());
  std::vector<double> p(x.size());
  double s = 0;
  for (size_t i = 0; i < x.size(); ++i) s += p[i] = std::exp(x[i] - m);
  for (auto& v : p) v /= s;
  return p;
}

// Relative error of a float32 softmax over values whose spread (max − min) is `range` and whose
// inputs carry absolute errors up to `input_error`: x − max rounds (u·range, then amplified by exp's
// condition |x − max| ≤ range), expf (< 1 ulp: 2u), the sum's conversion to float (u), the
// reciprocal (u), the product (u); the sum's own error is the weighted mean of its terms'. Each
// value's error appears in its own term and in the sum: twice the per-term bound, to first order.
double softmax_relative_bound(double range, double input_error) {
  return 2 * ((range + 2) * kF32Unit + 2 * input_error) + 3 * kF32Unit;
}

}  // namespace

TEST_CASE("rms_norm_rows equals a float64 reference", "[kernels]") {
  std::mt19937 rng(1);
  for (int64_t n : {1, 3, 4, 64, 515}) {
    const int64_t rows = 3;
    const auto x = uniform(static_cast<size_t>(rows * n), -3, 3, rng);
    const auto w = uniform(static_cast<size_t>(n), -2, 2, rng);
    const float eps = 1e-6f;
    std::vector<float> y(x.size());
    rms_norm_rows(x.data(), rows, n, w.data(), eps, y.data());
    for (int64_t r = 0; r < rows; ++r) {
      double ms = 0;
      for (int64_t i = 0; i < n; ++i) ms += double(x[r * n + i]) * x[r * n + i];
      const double inv = 1 / std::sqrt(ms / double(n) + double(eps));
      for (int64_t i = 0; i < n; ++i) {
        const double ref = double(w[i]) * (double(x[r * n + i]) * inv);
        // Roundings of one value: the mean's conversion, + eps, √ (half its input's error, plus
        // its own), 1/·, x·, w·: at most 6 u relative to first order.
        INFO("n " << n << " row " << r << " i " << i);
        CHECK(within("rms_norm_rows vs float64", std::fabs(y[r * n + i] - ref),
                     moeroute::test::fp32_tolerance(6, std::fabs(ref))));
      }
    }
  }
  // In place, and exact where every step is: x = ±2 → mean 4, eps 0 → 1/√4 = 0.5.
  std::vector<float> x{2, -2, 2, -2}, w{1, 2, 3, 4};
  rms_norm_rows(x.data(), 1, 4, w.data(), 0.0f, x.data());
  CHECK(x == std::vector<float>{1, -2, 3, -4});
}

TEST_CASE("rotary_head rotates the halves as rotate_half does", "[kernels]") {
  std::mt19937 rng(2);
  for (int64_t D : {2, 8, 64, 128}) {
    const auto x = uniform(static_cast<size_t>(D), -4, 4, rng);
    const auto c = uniform(static_cast<size_t>(D), -1, 1, rng), s = uniform(static_cast<size_t>(D), -1, 1, rng);
    std::vector<float> y(static_cast<size_t>(D));
    rotary_head(x.data(), c.data(), s.data(), D, y.data());
    const int64_t half = D / 2;
    for (int64_t d = 0; d < D; ++d) {
      const double rot = d < half ? -double(x[d + half]) : double(x[d - half]);
      const double a = double(x[d]) * c[d], b = rot * s[d];
      // Two rounded products and one rounded sum: ≤ u·(|a| + |b|) + u·|a + b| ≤ 2u·(|a| + |b|).
      CHECK(within("rotary_head vs float64", std::fabs(y[d] - (a + b)), 2 * kF32Unit * (std::fabs(a) + std::fabs(b))));
    }
  }
  // Exact: x = 1..8, cos = 1, sin = 2 → y[d] = x[d] + 2·rotate_half(x)[d].
  std::vector<float> x{1, 2, 3, 4, 5, 6, 7, 8}, c(8, 1.0f), s(8, 2.0f), y(8);
  rotary_head(x.data(), c.data(), s.data(), 8, y.data());
  CHECK(y == std::vector<float>{1 - 10, 2 - 12, 3 - 14, 4 - 16, 5 + 2, 6 + 4, 7 + 6, 8 + 8});
}

TEST_CASE("softmax_row equals a float64 softmax", "[kernels]") {
  std::mt19937 rng(3);
  for (int64_t n : {1, 2, 7, 64, 300}) {
    auto x = uniform(static_cast<size_t>(n), -8, 8, rng);
    std::vector<double> xd(x.begin(), x.end());
    const auto ref = softmax64(xd);
    const double range = *std::max_element(xd.begin(), xd.end()) - *std::min_element(xd.begin(), xd.end());
    softmax_row(x.data(), n);
    for (int64_t i = 0; i < n; ++i)
      CHECK(within("softmax_row vs float64", std::fabs(x[i] - ref[i]), softmax_relative_bound(range, 0) * ref[i]));
  }
  std::vector<float> inf{-std::numeric_limits<float>::infinity(), 0.0f};
  softmax_row(inf.data(), 2);
  CHECK(inf == std::vector<float>{0.0f, 1.0f});
}

TEST_CASE("attend_rows equals float64 attention over the key range", "[kernels]") {
  std::mt19937 rng(4);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int64_t D : {8, 64})
    for (int64_t M : {1, 4})
      for (bool sinks : {false, true})
        for (auto [lo, hi] : {std::pair<int64_t, int64_t>{0, 0}, {0, 12}, {5, 12}, {12, 12}}) {
          const int64_t keys = 16;
          const auto q = uniform(static_cast<size_t>(M * D), -1, 1, rng);
          auto k = uniform(static_cast<size_t>(keys * D), -1, 1, rng), v = uniform(static_cast<size_t>(keys * D), -2, 2, rng);
          // Keys outside lo..hi are what the mask hides: NaN there must not reach the output.
          for (int64_t j = 0; j < keys; ++j)
            if (j < lo || j > hi)
              for (int64_t d = 0; d < D; ++d) k[j * D + d] = v[j * D + d] = nan;
          const auto sink = uniform(static_cast<size_t>(M), -1, 1, rng);
          const float scaling = 1.0f / std::sqrt(float(D));
          std::vector<float> scores(static_cast<size_t>(M * (hi - lo + 1))), out(static_cast<size_t>(M * D), nan);
          std::vector<const float*> qr;
          std::vector<float*> orow;
          for (int64_t m = 0; m < M; ++m) {
            qr.push_back(q.data() + m * D);
            orow.push_back(out.data() + m * D);
          }
          attend_rows(qr.data(), M, k.data(), v.data(), D, lo, hi, scaling, sinks ? sink.data() : nullptr, scores.data(),
                      orow.data());
          for (int64_t m = 0; m < M; ++m) {
            std::vector<double> s;
            double score_error = 0;  // the float32 scores' absolute error: γ_D Σ|q·k| + the × scaling
            for (int64_t j = lo; j <= hi; ++j) {
              double dot = 0, mag = 0;
              for (int64_t d = 0; d < D; ++d) {
                dot += double(q[m * D + d]) * k[j * D + d];
                mag += std::fabs(double(q[m * D + d]) * k[j * D + d]);
              }
              s.push_back(dot * scaling);
              score_error = std::max(score_error, fp32_gamma(D) * mag * scaling + kF32Unit * std::fabs(dot * scaling));
            }
            if (sinks) s.push_back(sink[m]);
            const auto p = softmax64(s);
            const double range = *std::max_element(s.begin(), s.end()) - *std::min_element(s.begin(), s.end());
            const double rho = softmax_relative_bound(range, score_error);
            for (int64_t d = 0; d < D; ++d) {
              double ref = 0, mag = 0;
              for (int64_t j = lo; j <= hi; ++j) {
                ref += p[j - lo] * v[j * D + d];
                mag += p[j - lo] * std::fabs(v[j * D + d]);
              }
              // The weighted sum's own float32 error (γ over hi − lo + 1 products) and the
              // probabilities' relative error ρ carried through it.
              INFO("D " << D << " M " << M << " sinks " << sinks << " keys " << lo << ".." << hi << " m " << m << " d " << d);
              CHECK(within("attend_rows vs float64", std::fabs(out[m * D + d] - ref),
                           (fp32_gamma(hi - lo + 1) + rho) * mag));
            }
          }
        }
}

TEST_CASE("attend_rows: one key gives its value; a dominant sink gives almost nothing", "[kernels]") {
  const int64_t D = 4;
  std::vector<float> q{1, 0, 0, 0}, k{1, 1, 1, 1, 2, 2, 2, 2}, v{1, 2, 3, 4, 5, 6, 7, 8}, scores(2), out(4);
  const float* qr[1] = {q.data()};
  float* orow[1] = {out.data()};
  attend_rows(qr, 1, k.data(), v.data(), D, 1, 1, 1.0f, nullptr, scores.data(), orow);
  CHECK(out == std::vector<float>{5, 6, 7, 8});  // softmax over one key is exactly 1
  // Sink logit 0 against a score of ln 3: p = 3/4, up to ln 3's rounding (≈ 1e-7, far below 1e-5).
  const float sink = 0.0f;
  q = {std::log(3.0f) / 2, 0, 0, 0};
  attend_rows(qr, 1, k.data(), v.data(), D, 1, 1, 1.0f, &sink, scores.data(), orow);
  for (int d = 0; d < 4; ++d) CHECK(std::fabs(out[d] - 0.75 * v[4 + d]) < 1e-5 * v[4 + d]);
}

TEST_CASE("combine_rows equals Σ_j y·w in float64", "[kernels]") {
  std::mt19937 rng(5);
  const int64_t N = 5, k = 8, H = 33;
  const auto y = uniform(static_cast<size_t>(N * k * H), -3, 3, rng), w = uniform(static_cast<size_t>(N * k), 0, 1, rng);
  std::vector<float> out(static_cast<size_t>(N * H), -7.0f);
  combine_rows(y.data(), w.data(), 1, N - 1, k, H, out.data());
  for (int64_t n = 0; n < N; ++n)
    for (int64_t h = 0; h < H; ++h) {
      if (n == 0 || n == N - 1) {
        CHECK(out[n * H + h] == -7.0f);  // rows outside n0..n1 untouched
        continue;
      }
      double ref = 0, mag = 0;
      for (int64_t j = 0; j < k; ++j) {
        ref += double(y[(n * k + j) * H + h]) * w[n * k + j];
        mag += std::fabs(double(y[(n * k + j) * H + h]) * w[n * k + j]);
      }
      CHECK(within("combine_rows vs float64", std::fabs(out[n * H + h] - ref), fp32_gamma(k) * mag));
    }
}

namespace {

// The reference rule in double: ids by value, best first (lower id first among equals).
void route64(const std::vector<float>& z, int64_t E, int64_t k, RowRouting rule, bool renorm, std::vector<int64_t>& ids,
             std::vector<double>& w) {
  std::vector<double> v(z.begin(), z.end());
  if (rule == RowRouting::SoftmaxTopK) v = softmax64(v);
  std::vector<int64_t> order(static_cast<size_t>(E));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return v[a] > v[b]; });
  ids.assign(order.begin(), order.begin() + k);
  w.clear();
  for (int64_t j = 0; j < k; ++j) w.push_back(v[ids[j]]);
  if (rule == RowRouting::TopKSoftmax) w = softmax64(w);
  if (rule == RowRouting::SoftmaxTopK && renorm) {
    const double s = std::accumulate(w.begin(), w.end(), 0.0);
    for (auto& x : w) x /= s;
  }
}

}  // namespace

TEST_CASE("route_rows picks the float64 reference's experts and weights", "[kernels]") {
  std::mt19937 rng(6);
  for (auto rule : {RowRouting::SoftmaxTopK, RowRouting::TopKSoftmax})
    for (bool renorm : {false, true})
      for (auto [E, k] : {std::pair<int64_t, int64_t>{64, 8}, {16, 4}, {8, 8}, {5, 1}}) {
        const int64_t N = 3;
        // Distinct logits 0.05 apart, shuffled: far above any rounding, so the ids are certain.
        std::vector<float> z(static_cast<size_t>(N * E));
        for (int64_t r = 0; r < N; ++r) {
          std::vector<int64_t> perm(static_cast<size_t>(E));
          std::iota(perm.begin(), perm.end(), 0);
          std::shuffle(perm.begin(), perm.end(), rng);
          for (int64_t e = 0; e < E; ++e) z[r * E + e] = 0.05f * float(perm[e]) - 1.0f;
        }
        std::vector<int64_t> ids(static_cast<size_t>(N * k));
        std::vector<float> w(static_cast<size_t>(N * k));
        REQUIRE(route_rows(z.data(), N, E, k, rule, renorm, ids.data(), w.data()));
        for (int64_t r = 0; r < N; ++r) {
          std::vector<float> row(z.begin() + r * E, z.begin() + (r + 1) * E);
          std::vector<int64_t> rid;
          std::vector<double> rw;
          route64(row, E, k, rule, renorm, rid, rw);
          CHECK(std::vector<int64_t>(ids.begin() + r * k, ids.begin() + (r + 1) * k) == rid);
          // The softmax's bound over what it ranges (all E, or the k chosen); renormalising adds a
          // float32 sum of k (γ_k) and a division (u), and the sum carries the values' error.
          const double range = 0.05 * double(rule == RowRouting::SoftmaxTopK ? E - 1 : k - 1);
          double rel = softmax_relative_bound(range, 0);
          if (rule == RowRouting::SoftmaxTopK && renorm) rel = 2 * rel + fp32_gamma(k) + kF32Unit;
          for (int64_t j = 0; j < k; ++j)
            CHECK(within("route_rows vs float64", std::fabs(w[r * k + j] - rw[j]), rel * rw[j]));
        }
      }
}

TEST_CASE("route_rows leaves ties and NaN to at::topk", "[kernels]") {
  const int64_t E = 8, k = 2;
  std::vector<int64_t> ids(k);
  std::vector<float> w(k);
  for (auto rule : {RowRouting::SoftmaxTopK, RowRouting::TopKSoftmax}) {
    // A tie inside the top k (order), at the k-th / (k+1)-th boundary (set): refused.
    std::vector<float> order_tie{0, 3, 1, 3, 0, 0, 0, 0}, set_tie{0, 3, 1, 2, 2, 0, 0, 0};
    CHECK_FALSE(route_rows(order_tie.data(), 1, E, k, rule, true, ids.data(), w.data()));
    CHECK_FALSE(route_rows(set_tie.data(), 1, E, k, rule, true, ids.data(), w.data()));
    // Ties below rank k + 1 decide nothing: routed, the top two being 3 then 2.
    std::vector<float> low_tie{0, 3, 1, 2, 0, 0, 0, 0};
    REQUIRE(route_rows(low_tie.data(), 1, E, k, rule, true, ids.data(), w.data()));
    CHECK(ids == std::vector<int64_t>{1, 3});
    std::vector<float> with_nan{0, 3, 1, std::numeric_limits<float>::quiet_NaN(), 0, 0, 0, 0};
    CHECK_FALSE(route_rows(with_nan.data(), 1, E, k, rule, true, ids.data(), w.data()));
    // k = E: every expert, best first; a tie anywhere decides the order.
    std::vector<float> all{0.5f, 2, -1}, all_tie{2, 2, -1};
    std::vector<int64_t> ids3(3);
    std::vector<float> w3(3);
    REQUIRE(route_rows(all.data(), 1, 3, 3, rule, false, ids3.data(), w3.data()));
    CHECK(ids3 == std::vector<int64_t>{1, 0, 2});
    CHECK_FALSE(route_rows(all_tie.data(), 1, 3, 3, rule, false, ids3.data(), w3.data()));
  }
}
