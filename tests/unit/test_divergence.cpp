// Divergences against hand-computed values (docs/metrics.md gives the formulas).
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "moeroute/divergence.h"
#include "moeroute/error.h"

using namespace moeroute;

TEST_CASE("identical distributions have zero divergence", "[divergence]") {
  const std::vector<double> p{0.1, 0.2, 0.3, 0.4};
  for (Divergence d : {Divergence::JSD, Divergence::KL, Divergence::TotalVariation, Divergence::Hellinger})
    CHECK(divergence(d, p.data(), p.data(), p.size()) == Approx(0.0).margin(1e-12));
}

TEST_CASE("disjoint distributions reach the maximum", "[divergence]") {
  const std::vector<double> p{1, 0}, q{0, 1};
  CHECK(jsd(p.data(), q.data(), 2) == Approx(1.0).epsilon(1e-15));
  CHECK(total_variation(p.data(), q.data(), 2) == Approx(1.0));
  CHECK(hellinger(p.data(), q.data(), 2) == Approx(1.0));
  // KL(p‖q) with q smoothed: q_0 = (0 + 1e-10) / (1 + 2e-10) → log2(1 / q_0).
  const double q0 = 1e-10 / (1 + 2e-10);
  CHECK(kl_divergence(p.data(), q.data(), 2) == Approx(std::log2(1.0 / q0)).epsilon(1e-12));
}

TEST_CASE("hand-computed values with zeros in one distribution", "[divergence]") {
  const std::vector<double> p{0.5, 0.5}, q{1.0, 0.0};
  // m = (0.75, 0.25); KL(p‖m) = ½log2(2/3) + ½log2(2) = 0.2075187496; KL(q‖m) = log2(4/3) = 0.4150374993.
  CHECK(jsd(p.data(), q.data(), 2) == Approx(0.3112781244591328).epsilon(1e-12));
  CHECK(jsd(q.data(), p.data(), 2) == Approx(0.3112781244591328).epsilon(1e-12));
  CHECK(total_variation(p.data(), q.data(), 2) == Approx(0.5));
  CHECK(hellinger(p.data(), q.data(), 2) == Approx(std::sqrt(1.0 - std::sqrt(0.5))).epsilon(1e-12));
  // KL(q‖p) = 1·log2(1/0.5) = 1 (the smoothing moves it by ~1e-10).
  CHECK(kl_divergence(q.data(), p.data(), 2) == Approx(1.0).epsilon(1e-9));
}

TEST_CASE("a three-expert example computed by hand", "[divergence]") {
  const std::vector<double> p{0.7, 0.2, 0.1}, q{0.1, 0.2, 0.7};
  // m = (0.4, 0.2, 0.4): JSD = ½[0.7log2(0.7/0.4) + 0.1log2(0.1/0.4)] · 2 (symmetric) = 0.3651817...
  const double expected = 0.7 * std::log2(0.7 / 0.4) + 0.1 * std::log2(0.1 / 0.4);
  CHECK(jsd(p.data(), q.data(), 3) == Approx(expected).epsilon(1e-14));
  CHECK(expected == Approx(0.36518).epsilon(1e-4));
  CHECK(total_variation(p.data(), q.data(), 3) == Approx(0.6));
}

TEST_CASE("divergence names round-trip and unknown names are rejected", "[divergence]") {
  for (Divergence d : {Divergence::JSD, Divergence::KL, Divergence::TotalVariation, Divergence::Hellinger})
    CHECK(parse_divergence(to_string(d)) == d);
  CHECK_THROWS_WITH(parse_divergence("js"), Catch::Contains("jsd, kl, tv, hellinger"));
}
