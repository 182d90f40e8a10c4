// Divergences against hand-computed values (docs/metrics.md gives the formulas).
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "fp_tolerance.h"
#include "moeroute/divergence.h"
#include "moeroute/error.h"

using namespace moeroute;
using test::fp64_tolerance;

namespace {
// Each term of these sums (E ≤ 4 experts) takes at most 6 rounded operations (m, ratio, log2 or
// sqrt, product, the ½, the running sum), on values ≤ 1, log2 ≤ 1/ln 2 · |ln x|: ≤ 6·E ops of
// scale ≤ 4 (log2 of ratios ≥ 1/4 is ≤ 2; KL's smoothed log2(1/q0) ≈ 33 is scaled where used).
constexpr double kOps = 6 * 4;
}  // namespace

TEST_CASE("identical distributions have zero divergence", "[divergence]") {
  const std::vector<double> p{0.1, 0.2, 0.3, 0.4};
  for (Divergence d : {Divergence::JSD, Divergence::KL, Divergence::TotalVariation, Divergence::Hellinger})
    // Hellinger is √(1 − Σ√(p·p)): the sum's rounding δ ≤ fp64_tolerance(kOps) becomes √δ.
    CHECK(divergence(d, p.data(), p.data(), p.size()) ==
          Approx(0.0).epsilon(0).margin(d == Divergence::Hellinger ? std::sqrt(fp64_tolerance(kOps)) : fp64_tolerance(kOps, 4)));
}

TEST_CASE("disjoint distributions reach the maximum", "[divergence]") {
  const std::vector<double> p{1, 0}, q{0, 1};
  CHECK(jsd(p.data(), q.data(), 2) == Approx(1.0).epsilon(0).margin(fp64_tolerance(kOps, 4)));
  CHECK(total_variation(p.data(), q.data(), 2) == Approx(1.0).epsilon(0).margin(fp64_tolerance(kOps)));
  CHECK(hellinger(p.data(), q.data(), 2) == Approx(1.0).epsilon(0).margin(fp64_tolerance(kOps)));
  // KL(p‖q) with q smoothed: q_0 = (0 + 1e-10) / (1 + 2e-10) → log2(1 / q_0).
  const double q0 = 1e-10 / (1 + 2e-10);
  CHECK(kl_divergence(p.data(), q.data(), 2) == Approx(std::log2(1.0 / q0)).epsilon(0).margin(fp64_tolerance(kOps, 34)));
}

TEST_CASE("hand-computed values with zeros in one distribution", "[divergence]") {
  const std::vector<double> p{0.5, 0.5}, q{1.0, 0.0};
  // m = (0.75, 0.25); KL(p‖m) = ½log2(2/3) + ½log2(2) = 0.2075187496; KL(q‖m) = log2(4/3) = 0.4150374993.
  // The literal is the exact value to 16 digits (≤ 1e-16 off), within the bound.
  CHECK(jsd(p.data(), q.data(), 2) == Approx(0.3112781244591328).epsilon(0).margin(fp64_tolerance(kOps, 4)));
  CHECK(jsd(q.data(), p.data(), 2) == Approx(0.3112781244591328).epsilon(0).margin(fp64_tolerance(kOps, 4)));
  CHECK(total_variation(p.data(), q.data(), 2) == Approx(0.5).epsilon(0).margin(fp64_tolerance(kOps)));
  // 1 − √½ ≈ 0.29 is no cancellation; the outer √ halves relative error.
  CHECK(hellinger(p.data(), q.data(), 2) == Approx(std::sqrt(1.0 - std::sqrt(0.5))).epsilon(0).margin(fp64_tolerance(kOps)));
  // KL(q‖p) = 1·log2(1/0.5) = 1, and the smoothing moves it by ≈ E·ε/ln 2 ≈ 3e-10 (first order in
  // ε = 1e-10); 1e-9 bounds that with room for the rounding (≤ 1e-14).
  CHECK(kl_divergence(q.data(), p.data(), 2) == Approx(1.0).epsilon(0).margin(1e-9));
}

TEST_CASE("a three-expert example computed by hand", "[divergence]") {
  const std::vector<double> p{0.7, 0.2, 0.1}, q{0.1, 0.2, 0.7};
  // m = (0.4, 0.2, 0.4): JSD = ½[0.7log2(0.7/0.4) + 0.1log2(0.1/0.4)] · 2 (symmetric) = 0.3651484...
  const double expected = 0.7 * std::log2(0.7 / 0.4) + 0.1 * std::log2(0.1 / 0.4);
  CHECK(jsd(p.data(), q.data(), 3) == Approx(expected).epsilon(0).margin(fp64_tolerance(kOps, 4)));
  // The hand value to 5 decimals (the earlier 0.36518 was off by 3e-5, inside the old 1e-4).
  CHECK(expected == Approx(0.36515).epsilon(0).margin(0.5e-5));
  CHECK(total_variation(p.data(), q.data(), 3) == Approx(0.6).epsilon(0).margin(fp64_tolerance(kOps)));
}

TEST_CASE("divergence names round-trip and unknown names are rejected", "[divergence]") {
  for (Divergence d : {Divergence::JSD, Divergence::KL, Divergence::TotalVariation, Divergence::Hellinger})
    CHECK(parse_divergence(to_string(d)) == d);
  CHECK_THROWS_WITH(parse_divergence("js"), Catch::Contains("jsd, kl, tv, hellinger"));
}
